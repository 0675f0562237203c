//! What a call keeps until its response body is done: its cancellation and call timeout
//! ([`CallWatch`]), its dispatcher slot, and the events that end it ([`CallGuard`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use tokio::time::Instant;

use crate::dispatcher::Slot;
use crate::{CallContext, Error, ErrorKind};

/// Watches a call's cancellation token and its deadline. The future that waits for either is
/// made the first time the call has to wait, so a call that never waits allocates nothing here.
pub(crate) struct CallWatch {
    context: CallContext,
    deadline: Option<(Instant, Duration)>,
    waiting: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    timed_out: bool,
    uri: Uri,
}

impl CallWatch {
    /// Watches `context`, with a call timeout of `timeout` counted from `start`.
    pub(crate) fn new(
        context: CallContext,
        timeout: Option<Duration>,
        start: Instant,
        uri: Uri,
    ) -> Self {
        CallWatch {
            context,
            deadline: timeout.map(|timeout| (start + timeout, timeout)),
            waiting: None,
            timed_out: false,
            uri,
        }
    }

    pub(crate) fn context(&self) -> &CallContext {
        &self.context
    }

    pub(crate) fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The error that ended the call, if it was canceled or its time is up, without waiting.
    pub(crate) fn interrupted(&mut self) -> Option<Error> {
        if let Some((deadline, _)) = self.deadline
            && !self.timed_out
            && Instant::now() >= deadline
        {
            self.time_out();
        }
        if self.timed_out {
            return Some(self.timeout_error());
        }
        self.context
            .is_canceled()
            .then(|| Error::new(ErrorKind::Canceled, "Canceled").with_url(self.uri.to_string()))
    }

    /// Ready with the error once the call is canceled or its time is up.
    pub(crate) fn poll_interrupt(&mut self, cx: &mut Context<'_>) -> Poll<Error> {
        if let Some(error) = self.interrupted() {
            return Poll::Ready(error);
        }
        let token = self.context.cancel_token().clone();
        let deadline = self.deadline.map(|(deadline, _)| deadline);
        let waiting = self.waiting.get_or_insert_with(|| {
            Box::pin(async move {
                match deadline {
                    Some(deadline) => tokio::select! {
                        () = token.cancelled_owned() => {}
                        () = tokio::time::sleep_until(deadline) => {}
                    },
                    None => token.cancelled_owned().await,
                }
            })
        });
        match waiting.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.waiting = None;
                match self.interrupted() {
                    Some(error) => Poll::Ready(error),
                    // Woken by a timer that fired a hair early: wait again.
                    None => self.poll_interrupt(cx),
                }
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Ends the call for its timeout: its token is canceled so that every layer below stops.
    fn time_out(&mut self) {
        self.timed_out = true;
        self.context.cancel();
    }

    fn timeout_error(&self) -> Error {
        let timeout = self
            .deadline
            .map(|(_, timeout)| timeout)
            .unwrap_or_default();
        Error::new(
            ErrorKind::Timeout,
            format!("call timed out after {timeout:?}"),
        )
        .with_url(self.uri.to_string())
    }
}

/// Held by a response body until it ends: then the call ends (`call_end`, or `call_failed`
/// with the body's error) and its dispatcher slot is given back. Dropping it early also ends
/// the call successfully, as closing a body early does in OkHttp.
pub(crate) struct CallGuard {
    watch: CallWatch,
    slot: Option<Slot>,
    finished: bool,
}

impl CallGuard {
    pub(crate) fn new(watch: CallWatch, slot: Option<Slot>) -> Self {
        CallGuard {
            watch,
            slot,
            finished: false,
        }
    }

    pub(crate) fn interrupted(&mut self) -> Option<Error> {
        self.watch.interrupted()
    }

    pub(crate) fn poll_interrupt(&mut self, cx: &mut Context<'_>) -> Poll<Error> {
        self.watch.poll_interrupt(cx)
    }

    /// Ends the call: successfully (`None`) or with `error`. Only the first call counts.
    pub(crate) fn finish(&mut self, error: Option<&Error>) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        // The slot goes back before the listener hears the end, as in OkHttp.
        drop(self.slot.take());
        let listener = self.watch.context.listener();
        match error {
            None => listener.call_end(),
            Some(error) => listener.call_failed(error),
        }
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.finish(None);
    }
}

//! What a call keeps until its response body is done: its cancellation and call timeout
//! ([`CallWatch`]), its dispatcher slot, and the events that end it ([`CallGuard`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use tokio::time::{Instant, Sleep};

use crate::cancel_wait::CancelWait;

use crate::deadline::deadline_after;
use crate::dispatcher::Slot;
use crate::{CallContext, Error, ErrorKind};

/// Watches a call's cancellation and its deadline. The watch of a call owns its context's
/// waker slot, which `cancel` wakes, so waiting for the cancellation costs no future while the
/// context has no token (once someone asks for the token, it may be canceled directly and the
/// watch waits on it); a timer is made only when a call with a timeout has to wait.
pub(crate) struct CallWatch {
    /// The call's context, and the wait for its cancellation.
    cancel: CancelWait,
    deadline: Option<(Instant, Duration)>,
    /// Wakes the call at its deadline, made the first time the call waits.
    timer: Option<Pin<Box<Sleep>>>,
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
        context.start_watch();
        CallWatch {
            cancel: CancelWait::new(context),
            deadline: timeout.map(|timeout| (deadline_after(start, timeout), timeout)),
            timer: None,
            timed_out: false,
            uri,
        }
    }

    pub(crate) fn context(&self) -> &CallContext {
        self.cancel.context()
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
        self.context()
            .is_canceled()
            .then(|| Error::new(ErrorKind::Canceled, "Canceled").with_url(self.uri.to_string()))
    }

    /// Ready with the error once the call is canceled or its time is up.
    pub(crate) fn poll_interrupt(&mut self, cx: &mut Context<'_>) -> Poll<Error> {
        loop {
            if let Some(error) = self.interrupted() {
                return Poll::Ready(error);
            }
            if self.cancel.poll_canceled(cx) {
                continue;
            }
            let Some((deadline, _)) = self.deadline else {
                return Poll::Pending;
            };
            let timer = self
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            match timer.as_mut().poll(cx) {
                // Woken by a timer that may have fired a hair early: check again.
                Poll::Ready(()) => self.timer = None,
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Stops waiting: the timer and the token wait, if any, are dropped.
    fn stop(&mut self) {
        self.timer = None;
        self.cancel.stop();
    }

    /// Ends the call for its timeout: its token is canceled so that every layer below stops.
    fn time_out(&mut self) {
        self.timed_out = true;
        self.context().cancel();
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

impl Drop for CallWatch {
    fn drop(&mut self) {
        self.context().end_watch();
    }
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

    /// The call's context.
    pub(crate) fn context(&self) -> &CallContext {
        self.watch.context()
    }

    /// The URL the call was made for.
    pub(crate) fn uri(&self) -> &Uri {
        &self.watch.uri
    }

    /// Whether the call ended.
    pub(crate) fn is_finished(&self) -> bool {
        self.finished
    }

    /// Ends the call: successfully (`None`) or with `error`. Only the first call counts. The
    /// watch stops waiting (its timer and token wait are dropped).
    pub(crate) fn finish(&mut self, error: Option<&Error>) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        self.watch.stop();
        // The slot goes back before the listener hears the end, as in OkHttp.
        drop(self.slot.take());
        let listener = self.watch.context().listener();
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::task::Waker;

    use super::*;
    use crate::NoEvents;
    use crate::counting_waker::CountingWaker;

    fn watch(context: &CallContext, timeout: Option<Duration>) -> CallWatch {
        let uri = Uri::from_static("http://watch.test/");
        CallWatch::new(context.clone(), timeout, Instant::now(), uri)
    }

    #[tokio::test]
    async fn cancel_wakes_every_watch_of_a_context_and_interrupts_them() {
        let context = CallContext::new(Arc::new(NoEvents));
        let mut owner = watch(&context, None);
        let mut other = watch(&context, None);
        assert!(owner.cancel.owns_waker_slot() && !other.cancel.owns_waker_slot());
        let (owner_wakes, owner_waker) = CountingWaker::new();
        let (other_wakes, other_waker) = CountingWaker::new();
        for _ in 0..2 {
            assert!(
                owner
                    .poll_interrupt(&mut Context::from_waker(&owner_waker))
                    .is_pending()
            );
            assert!(
                other
                    .poll_interrupt(&mut Context::from_waker(&other_waker))
                    .is_pending()
            );
        }
        // The other watch asked for the token: the owner was woken once to wait on it.
        assert_eq!(owner_wakes.count(), 1);

        context.cancel();
        assert_eq!(owner_wakes.count(), 2);
        assert_eq!(other_wakes.count(), 1);
        for (watch, waker) in [(&mut owner, &owner_waker), (&mut other, &other_waker)] {
            match watch.poll_interrupt(&mut Context::from_waker(waker)) {
                Poll::Ready(error) => assert_eq!(error.kind(), ErrorKind::Canceled),
                Poll::Pending => panic!("a canceled call still waits"),
            }
        }
    }

    #[tokio::test]
    async fn the_owner_lets_the_slot_go_and_a_later_cancel_wakes_nothing_stale() {
        let context = CallContext::new(Arc::new(NoEvents));
        let (wakes, waker) = CountingWaker::new();
        let mut owner = watch(&context, None);
        assert!(
            owner
                .poll_interrupt(&mut Context::from_waker(&waker))
                .is_pending()
        );
        drop(owner);
        context.cancel();
        assert_eq!(wakes.count(), 0);
    }

    /// A call is watched while a watch lives; after the owner ends, the next watch owns the
    /// waker slot.
    #[test]
    fn a_context_is_watched_while_a_watch_lives() {
        let context = CallContext::new(Arc::new(NoEvents));
        assert!(!context.is_watched());
        let owner = watch(&context, None);
        let other = watch(&context, None);
        assert!(context.is_watched());
        drop(owner);
        assert!(context.is_watched());
        // The owner gave the slot back: a later watch owns it, though the other still watches.
        let later = watch(&context, None);
        assert!(later.cancel.owns_waker_slot() && !other.cancel.owns_waker_slot());
        drop((other, later));
        assert!(!context.is_watched());
        let next = watch(&context, None);
        assert!(next.cancel.owns_waker_slot() && context.is_watched());
    }

    #[tokio::test]
    async fn a_token_canceled_directly_interrupts_the_watch() {
        fn interrupted(watch: &mut CallWatch, waker: &Waker) -> bool {
            match watch.poll_interrupt(&mut Context::from_waker(waker)) {
                Poll::Ready(error) => error.kind() == ErrorKind::Canceled,
                Poll::Pending => false,
            }
        }
        // The token is asked for while the watch waits in the slot (as a layer below does),
        // then canceled by its holder, never through `CallContext::cancel`.
        let context = CallContext::new(Arc::new(NoEvents));
        let (wakes, waker) = CountingWaker::new();
        let mut waiting = watch(&context, None);
        assert!(!interrupted(&mut waiting, &waker));
        let token = context.cancel_token().clone();
        assert_eq!(wakes.count(), 1, "woken to wait on the token");
        assert!(!interrupted(&mut waiting, &waker));
        token.cancel();
        assert_eq!(wakes.count(), 2);
        assert!(interrupted(&mut waiting, &waker));

        // A context made with the caller's token (a child of its own, canceled from above).
        let parent = tokio_util::sync::CancellationToken::new();
        let context = CallContext::with_token(Arc::new(NoEvents), parent.child_token());
        let (wakes, waker) = CountingWaker::new();
        let mut waiting = watch(&context, None);
        assert!(!interrupted(&mut waiting, &waker));
        parent.cancel();
        assert_eq!(wakes.count(), 1);
        assert!(interrupted(&mut waiting, &waker));
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_call_times_out_at_its_deadline_and_cancels_its_context() {
        let context = CallContext::new(Arc::new(NoEvents));
        let mut watch = watch(&context, Some(Duration::from_secs(2)));
        let error = std::future::poll_fn(|cx| watch.poll_interrupt(cx)).await;
        assert_eq!(error.kind(), ErrorKind::Timeout);
        assert!(context.is_canceled());
    }
}

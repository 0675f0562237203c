//! File I/O off the async workers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use crate::{Error, ErrorKind};

/// Blocking work running on tokio's blocking pool; outside a runtime (a store dropped or
/// polled by a plain executor) it runs in place, where blocking harms no async worker.
#[derive(Debug)]
pub(super) enum Blocking<T> {
    Spawned(JoinHandle<T>),
    Done(Option<T>),
}

// Nothing in `Blocking` is pinned: the join handle is `Unpin` and the finished value is
// only moved out.
impl<T> Unpin for Blocking<T> {}

impl<T: Send + 'static> Blocking<T> {
    /// Starts `work`. Dropping the returned value detaches it: the work still completes.
    pub(super) fn spawn(work: impl FnOnce() -> T + Send + 'static) -> Self {
        match Handle::try_current() {
            Ok(handle) => Blocking::Spawned(handle.spawn_blocking(work)),
            Err(_) => Blocking::Done(Some(work())),
        }
    }
}

impl<T> Future for Blocking<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut *self {
            Blocking::Spawned(handle) => Pin::new(handle).poll(cx).map_err(|error| {
                Error::new(ErrorKind::Io, "cache store I/O task failed").with_source(error)
            }),
            Blocking::Done(value) => Poll::Ready(value.take().ok_or_else(|| {
                Error::new(
                    ErrorKind::Io,
                    "cache store I/O task polled after completion",
                )
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_on_the_blocking_pool_inside_a_runtime() {
        let task = Blocking::spawn(|| std::thread::current().name().map(str::to_owned));
        assert!(matches!(task, Blocking::Spawned(_)));
        task.await.unwrap();
    }

    #[test]
    fn runs_in_place_outside_a_runtime() {
        let task = Blocking::spawn(|| 7);
        assert!(matches!(task, Blocking::Done(Some(7))));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut task = task;
        assert!(matches!(
            Pin::new(&mut task).poll(&mut cx),
            Poll::Ready(Ok(7))
        ));
        assert!(matches!(
            Pin::new(&mut task).poll(&mut cx),
            Poll::Ready(Err(_))
        ));
    }
}

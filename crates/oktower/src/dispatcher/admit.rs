//! Admission without the layer: how the [`Client`](crate::Client) takes a slot for a call and
//! keeps it in the call's response body.

use std::future::poll_fn;
use std::task::Poll;

use http::Uri;

use super::Dispatcher;
use super::shared::Registration;
use crate::{CallContext, Error};

/// A call's place in the dispatcher: running once admitted; dropping it gives the slot back
/// (or leaves the queue).
pub(crate) type Slot = Registration;

/// Fires `dispatcher_queue_end` when the wait ends, however it ends (admitted, or the waiting
/// future dropped because the call was canceled or timed out).
struct QueueWait<'a>(&'a CallContext);

impl Drop for QueueWait<'_> {
    fn drop(&mut self) {
        self.0.listener().dispatcher_queue_end();
    }
}

impl Dispatcher {
    /// Waits for a slot for a call to `uri`. A call that must wait hears
    /// `dispatcher_queue_start` and `dispatcher_queue_end`. The caller races this future with
    /// the call's cancellation and timeout; dropping it leaves the queue.
    pub(crate) async fn admit(&self, uri: &Uri, context: &CallContext) -> Result<Slot, Error> {
        let (registration, admitted) = self.shared().arrive(uri, context.clone());
        if admitted {
            return Ok(registration);
        }
        context.listener().dispatcher_queue_start();
        let _wait = QueueWait(context);
        poll_fn(|cx| {
            if registration.poll_admitted(cx.waker()) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        Ok(registration)
    }
}

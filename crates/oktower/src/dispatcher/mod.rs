//! The dispatcher: OkHttp's `Dispatcher` as the top layer of the stack.
//!
//! A [`Dispatcher`] lets at most [`max_requests`](Dispatcher::max_requests) calls (64 by
//! default) run at once, and at most [`max_requests_per_host`](Dispatcher::max_requests_per_host)
//! (5 by default) to one host name; other calls wait. [`DispatcherLayer`] puts a service's
//! calls through it: a [`Dispatched`] call takes its place when it is made, waits for its
//! turn, then goes to the inner service, and holds its slot until its
//! [`ResponseBody`] is read to the end, fails or is dropped (or the call fails). Like
//! OkHttp's:
//!
//! - **Order.** Waiting calls are served first in, first out per host. When a slot frees,
//!   the oldest waiting call whose host is below its limit goes next, exactly the call
//!   OkHttp's `promoteAndExecute` scan would pick. It is found without a scan: hosts with
//!   waiters and room are kept ordered by their oldest waiter, so admitting, promoting and
//!   leaving cost `O(log n)` whatever the queue's length.
//! - **Events.** A call that must wait hears `dispatcher_queue_start` when it is made and
//!   `dispatcher_queue_end` when it leaves the queue (its turn came, or it was canceled) on
//!   the [`EventListener`](crate::EventListener) of its [`CallContext`](crate::CallContext).
//!   Calls admitted at once hear neither.
//! - **Cancellation.** A waiting call whose `CallContext` is canceled ends at once with
//!   [`ErrorKind::Canceled`](crate::ErrorKind::Canceled) and leaves the queue; a dropped
//!   call leaves it too. [`Dispatcher::cancel_all`] cancels every waiting and running call.
//! - **Idle.** [`Dispatcher::idle_callback`] runs each time the last call finishes, and
//!   [`Dispatcher::idle`] waits for that.
//!
//! # Different from OkHttp: every call is dispatched
//!
//! OkHttp's limits apply only to `enqueue`d calls; `execute()` runs at once on the caller's
//! thread. Here there is no such split (an `async` call is both), so the limits apply to
//! every call that goes through the layer. Put the layer elsewhere, or give a client a
//! dispatcher with high limits, to opt out.
//!
//! # The nested call deadlock
//!
//! A call holds its slot until its response body is done. If handling one call waits for
//! another call through the same dispatcher — an application layer or an authenticator
//! that fetches a token from the same host, a layer that makes a follow-up request itself —
//! the outer call holds a slot while the inner one waits for one. With a per-host limit of
//! 5 and 5 such calls running, every inner call waits for a slot that only its own outer
//! call can free: all of them hang. Make nested calls with a separate client (or at least a
//! separate `Dispatcher`), or finish the outer call before making the inner one.
//!
//! ```
//! use http_body_util::BodyExt;
//! use oktower::{Dispatcher, DispatcherLayer, Error};
//! use tower::{Service, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let dispatcher = Dispatcher::with_limits(64, 1);
//! let server = tower::service_fn(|_request: http::Request<()>| async {
//!     Ok::<_, Error>(http::Response::new(http_body_util::Full::new(bytes::Bytes::from("ok"))))
//! });
//! let mut client = tower::ServiceBuilder::new()
//!     .layer(DispatcherLayer::new(dispatcher.clone()))
//!     .service(server);
//!
//! let first = client.ready().await.unwrap()
//!     .call(http::Request::get("http://a.test/1").body(()).unwrap()).await.unwrap();
//! // a.test has one slot, held by the first response's body: the second call waits.
//! let second = client.ready().await.unwrap()
//!     .call(http::Request::get("http://a.test/2").body(()).unwrap());
//! assert_eq!(dispatcher.queued_calls_count(), 1);
//!
//! // Reading the first body to its end frees the slot for the second call.
//! first.into_body().collect().await.unwrap();
//! let second = second.await.unwrap();
//! assert_eq!(dispatcher.running_calls_count(), 1);
//! drop(second);
//! dispatcher.idle().await;
//! # });
//! ```

mod admission;
mod admit;
mod body;
mod future;
mod handle;
mod layer;
mod service;
mod shared;
#[cfg(test)]
mod tests;

pub(crate) use admit::Slot;
pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use handle::Dispatcher;
pub use layer::DispatcherLayer;
pub use service::Dispatched;

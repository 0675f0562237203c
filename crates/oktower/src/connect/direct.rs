//! How the connect layer calls the service below it with an [`Exchange`]: directly when that
//! service is [`CallServer`] itself (or the client's network seam without user layers), handing
//! over the exchange and its lease; through the request's extensions otherwise, where network
//! layers read the exchange and `CallServer` finds it.
//!
//! The direct call saves, on every request, boxing the exchange into the extension map, the
//! lookup that finds it again, and dropping it there. It is chosen by type: [`Connect`] is
//! generic over its inner service, and `Any` tells whether that service is `CallServer`.
//!
//! [`Connect`]: super::Connect

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use tower_service::Service;

use super::call_server::{CallServer, CallServerFuture};
use super::exchange::Exchange;
use crate::connection::lease::Lease;
use crate::stack::{NetworkResponse, NetworkSeam, Seam};
use crate::{Error, ErrorKind, RequestBody, ResponseBody};

pin_project_lite::pin_project! {
    /// The future of the service below the connect layer, or of the direct call into
    /// [`CallServer`].
    #[project = InnerFutureProjection]
    pub(crate) enum InnerFuture<F> {
        /// Through the inner service.
        Service { #[pin] future: F },
        /// Directly into `CallServer`.
        Direct { future: CallServerFuture },
    }
}

/// Sends `request` on `exchange` (whose connection `lease` holds) with `inner`.
pub(crate) fn call_inner<S, R>(
    inner: &mut S,
    mut request: Request<RequestBody>,
    exchange: &Exchange,
    lease: Lease,
) -> InnerFuture<S::Future>
where
    S: Service<Request<RequestBody>, Response = Response<R>, Error = Error> + 'static,
{
    if is_call_server(inner) {
        return InnerFuture::Direct {
            future: CallServer::send_on(exchange.clone(), lease, request),
        };
    }
    exchange.put_lease(lease);
    request.extensions_mut().insert(exchange.clone());
    InnerFuture::Service {
        future: inner.call(request),
    }
}

/// Whether `inner` is `CallServer`, alone or as a network seam without user layers.
fn is_call_server<S: 'static>(inner: &S) -> bool {
    let inner: &dyn Any = inner;
    inner.is::<CallServer>() || matches!(inner.downcast_ref::<NetworkSeam>(), Some(Seam::Direct(_)))
}

impl<F> InnerFuture<F> {
    /// Whether the request went through the inner service, with the exchange (and its lease)
    /// in its extensions, rather than directly into `CallServer`.
    pub(crate) fn is_through_service(&self) -> bool {
        matches!(self, InnerFuture::Service { .. })
    }
}

impl<F, R> Future for InnerFuture<F>
where
    F: Future<Output = Result<Response<R>, Error>>,
    R: 'static,
{
    type Output = Result<Response<R>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            InnerFutureProjection::Service { future } => future.poll(cx),
            InnerFutureProjection::Direct { future } => {
                Poll::Ready(ready!(future.as_mut().poll(cx)).and_then(as_inner_response))
            }
        }
    }
}

/// `response`, from the direct call, as the inner service's response type, which it is: the
/// direct call is only made when the inner service is `CallServer`, whose response it is.
fn as_inner_response<R: 'static>(response: NetworkResponse) -> Result<Response<R>, Error> {
    let mut slot: Option<Response<R>> = None;
    let place: &mut dyn Any = &mut slot;
    if let Some(place) = place.downcast_mut::<Option<Response<ResponseBody>>>() {
        *place = Some(response);
    }
    slot.ok_or_else(|| {
        Error::new(
            ErrorKind::Builder,
            "the connect layer called CallServer directly for another service",
        )
    })
}

//! The concrete stack a [`Client`](crate::Client) runs, and its two seams for user layers.
//!
//! ```text
//! application seam   [user layers] over FollowUp → Bridge → [Cache] → Connect → network seam
//! network seam       [user layers] over CallServer
//! ```
//!
//! Without user layers a seam is the service below it, called directly. With user layers the
//! whole stack of them is boxed once ([`Seam::Boxed`]), so a request pays one boxed call per
//! seam however many layers it holds.
//!
//! ```
//! use oktower::{Client, RequestBody};
//! use tower::ServiceBuilder;
//!
//! // Two application layers (one boxed seam) and one network layer (another).
//! let client = Client::builder()
//!     .layer(ServiceBuilder::new().map_request(|mut request: http::Request<RequestBody>| {
//!         request.headers_mut().insert("x-app", http::HeaderValue::from_static("1"));
//!         request
//!     }))
//!     .layer(ServiceBuilder::new().map_response(|response: http::Response<oktower::Body>| response))
//!     .network_layer(ServiceBuilder::new().map_request(|request: http::Request<RequestBody>| request))
//!     .build()
//!     .unwrap();
//! # let _ = client;
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use tower::util::BoxCloneSyncService;
use tower_service::Service;

use crate::client_body::StackBody;
pub use crate::network_guard::{NetworkEntry, NetworkExit};
use crate::{Body, BoxError, Bridge, CallServer, Connect, Error, FollowUp, RequestBody};

/// What the network seam answers: the connection's response.
pub(crate) type NetworkResponse = Response<crate::ResponseBody>;
/// The network seam: the user's network layers over [`CallServer`].
pub type NetworkSeam = Seam<CallServer, NetworkResponse>;
/// The stack between the two seams.
pub(crate) type Core = FollowUp<Bridge<MaybeCache<Connect<NetworkSeam>>>>;
/// The stack between the seams (follow-up, bridge, cache, connect, network seam), answering
/// with the client's [`Body`].
pub type CoreService = tower::util::MapResponse<Core, fn(Response<StackBody>) -> Response<Body>>;
/// The application seam: the user's application layers over the follow-up layer and below.
pub type ApplicationSeam = Seam<CoreService, Response<Body>>;

/// A seam of the stack: the service below called directly, or user layers over it, boxed once.
///
/// User layers receive a `Seam` as their inner service; it is a
/// `tower::Service<http::Request<RequestBody>>` that is `Clone + Send + Sync`.
pub enum Seam<S, R> {
    /// No user layers: the service below.
    Direct(S),
    /// User layers over the service below, boxed.
    Boxed(BoxCloneSyncService<Request<RequestBody>, R, Error>),
}

impl<S: Clone, R> Clone for Seam<S, R> {
    fn clone(&self) -> Self {
        match self {
            Seam::Direct(service) => Seam::Direct(service.clone()),
            Seam::Boxed(service) => Seam::Boxed(service.clone()),
        }
    }
}

impl<S, R> std::fmt::Debug for Seam<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Seam::Direct(_) => "Seam::Direct",
            Seam::Boxed(_) => "Seam::Boxed",
        })
    }
}

impl<S, R> Service<Request<RequestBody>> for Seam<S, R>
where
    S: Service<Request<RequestBody>, Response = R, Error = Error>,
{
    type Response = R;
    type Error = Error;
    type Future = SeamFuture<S::Future, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self {
            Seam::Direct(service) => service.poll_ready(cx),
            Seam::Boxed(service) => service.poll_ready(cx),
        }
    }

    fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
        match self {
            Seam::Direct(service) => SeamFuture {
                inner: SeamFutureKind::Direct {
                    future: service.call(request),
                },
            },
            Seam::Boxed(service) => SeamFuture {
                inner: SeamFutureKind::Boxed {
                    future: service.call(request),
                },
            },
        }
    }
}

type BoxedFuture<R> = Pin<Box<dyn Future<Output = Result<R, Error>> + Send>>;

pin_project_lite::pin_project! {
    /// The future of a [`Seam`].
    pub struct SeamFuture<F, R> {
        #[pin]
        inner: SeamFutureKind<F, R>,
    }
}

pin_project_lite::pin_project! {
    #[project = SeamFutureProjection]
    enum SeamFutureKind<F, R> {
        Direct { #[pin] future: F },
        Boxed { future: BoxedFuture<R> },
    }
}

impl<F, R> Future for SeamFuture<F, R>
where
    F: Future<Output = Result<R, Error>>,
{
    type Output = Result<R, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.project() {
            SeamFutureProjection::Direct { future } => future.poll(cx),
            SeamFutureProjection::Boxed { future } => future.as_mut().poll(cx),
        }
    }
}

/// Puts user layers over a seam: `Fn(seam) -> seam`, made once when the client is built and
/// kept so that [`Client::new_builder`](crate::Client::new_builder) clients inherit them.
pub(crate) type SeamLayers<S, R> = Arc<dyn Fn(Seam<S, R>) -> Seam<S, R> + Send + Sync>;

/// The application layers `layers` as a [`SeamLayers`] function (boxing their stack once).
pub(crate) fn application_layers<L, RB>(layers: L) -> SeamLayers<CoreService, Response<Body>>
where
    L: tower_layer::Layer<ApplicationSeam> + Send + Sync + 'static,
    L::Service:
        Service<Request<RequestBody>, Response = Response<RB>> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request<RequestBody>>>::Error: Into<BoxError>,
    <L::Service as Service<Request<RequestBody>>>::Future: Send + 'static,
    RB: http_body::Body<Data = Bytes> + Send + 'static,
    RB::Error: Into<BoxError>,
{
    Arc::new(move |inner| {
        let layered = layers.layer(inner);
        let adapted = tower::ServiceExt::map_err(
            tower::ServiceExt::map_response(layered, |response: Response<RB>| {
                response.map(Body::new)
            }),
            |error| Error::from_boxed(error.into()),
        );
        Seam::Boxed(BoxCloneSyncService::new(adapted))
    })
}

/// The network layers `layers` as a [`SeamLayers`] function (boxing their stack once), with
/// the checks that they call the service below exactly once and keep the host and port.
pub(crate) fn network_layers<L>(layers: L) -> SeamLayers<CallServer, NetworkResponse>
where
    L: tower_layer::Layer<NetworkExit<NetworkSeam>> + Send + Sync + 'static,
    L::Service:
        Service<Request<RequestBody>, Response = NetworkResponse> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request<RequestBody>>>::Error: Into<BoxError>,
    <L::Service as Service<Request<RequestBody>>>::Future: Send + 'static,
{
    Arc::new(move |inner| {
        let layered = layers.layer(NetworkExit::new(inner));
        let adapted = tower::ServiceExt::map_err(layered, |error| Error::from_boxed(error.into()));
        Seam::Boxed(BoxCloneSyncService::new(NetworkEntry::new(adapted)))
    })
}

/// Two [`SeamLayers`] one over the other: `outer`'s layers see the call first.
pub(crate) fn stacked<S: 'static, R: 'static>(
    outer: Option<SeamLayers<S, R>>,
    inner: Option<SeamLayers<S, R>>,
) -> Option<SeamLayers<S, R>> {
    match (outer, inner) {
        (None, layers) | (layers, None) => layers,
        (Some(outer), Some(inner)) => Some(Arc::new(move |seam| outer(inner(seam)))),
    }
}

/// The cache layer when the client has one, or the service below it unchanged (its body
/// wrapped as the cache's network body, without boxing).
#[derive(Clone, Debug)]
pub enum MaybeCache<S> {
    /// A cache over the service below.
    Cached(crate::Cache<S>),
    /// No cache.
    Direct(S),
}

impl<S, RB> Service<Request<RequestBody>> for MaybeCache<S>
where
    S: Service<Request<RequestBody>, Response = Response<RB>, Error = Error>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    RB: http_body::Body<Data = Bytes, Error = Error> + Send + 'static,
{
    type Response = Response<crate::cache::ResponseBody<RB>>;
    type Error = Error;
    type Future = MaybeCacheFuture<S::Future, RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        match self {
            MaybeCache::Cached(cache) => cache.poll_ready(cx),
            MaybeCache::Direct(service) => service.poll_ready(cx),
        }
    }

    fn call(&mut self, request: Request<RequestBody>) -> Self::Future {
        let inner = match self {
            MaybeCache::Cached(cache) => MaybeCacheKind::Cached {
                future: cache.call(request),
            },
            MaybeCache::Direct(service) => MaybeCacheKind::Direct {
                future: service.call(request),
            },
        };
        MaybeCacheFuture { inner }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`MaybeCache`].
    pub struct MaybeCacheFuture<F, RB> {
        #[pin]
        inner: MaybeCacheKind<F, RB>,
    }
}

pin_project_lite::pin_project! {
    #[project = MaybeCacheProjection]
    enum MaybeCacheKind<F, RB> {
        Cached { future: crate::cache::ResponseFuture<RB> },
        Direct { #[pin] future: F },
    }
}

impl<F, RB> Future for MaybeCacheFuture<F, RB>
where
    F: Future<Output = Result<Response<RB>, Error>>,
{
    type Output = Result<Response<crate::cache::ResponseBody<RB>>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().inner.project() {
            MaybeCacheProjection::Cached { future } => Pin::new(future).poll(cx),
            MaybeCacheProjection::Direct { future } => future.poll(cx).map(|outcome| {
                outcome.map(|response| response.map(crate::cache::ResponseBody::network))
            }),
        }
    }
}

#[cfg(test)]
mod future_size_tests {
    use super::*;

    /// Every call holds this future in its own: it was 1.35 KB when the follow-up layer's
    /// future held room for its rare states (a retried request, a 401 awaiting an answer, a
    /// pending follow-up) inline.
    #[test]
    fn the_stack_future_stays_small() {
        let size =
            std::mem::size_of::<<ApplicationSeam as Service<Request<RequestBody>>>::Future>();
        assert!(size <= 640, "the stack's future grew to {size} bytes");
    }
}

//! `Cache<S>`: the service that answers from the store when it may, around an inner HTTP
//! service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::flow::respond;
use super::layer::CacheShared;
use super::{ResponseBody, ResponseFuture};
use crate::Error;

/// OkHttp's `CacheInterceptor` around an inner service `S`. Built by
/// [`CacheLayer`](super::CacheLayer); see the [module documentation](super).
///
/// It sits under the bridge, so what it stores is what the server sent (a gzip body stays
/// gzip, and `Vary: Accept-Encoding` sees the bridge's `Accept-Encoding`).
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::{BodyExt, Full};
/// use oktower::{CacheOutcome, Error, MemoryStore};
/// use oktower::cache::CacheLayer;
/// use tower::{Layer, ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = service_fn(|_request: http::Request<()>| async {
///     let response = http::Response::builder()
///         .header("cache-control", "max-age=60")
///         .body(Full::new(Bytes::from_static(b"hello")).map_err(|never| match never {}))
///         .unwrap();
///     Ok::<_, Error>(response)
/// });
/// let layer = CacheLayer::new(MemoryStore::new(1 << 20));
/// let cache = layer.layer(server);
///
/// let first = cache.clone().oneshot(http::Request::get("http://a.test/").body(()).unwrap()).await.unwrap();
/// assert_eq!(first.extensions().get::<CacheOutcome>(), Some(&CacheOutcome::Miss));
/// assert_eq!(first.into_body().collect().await.unwrap().to_bytes(), "hello");
///
/// let second = cache.oneshot(http::Request::get("http://a.test/").body(()).unwrap()).await.unwrap();
/// assert_eq!(second.extensions().get::<CacheOutcome>(), Some(&CacheOutcome::Hit));
/// assert_eq!(second.into_body().collect().await.unwrap().to_bytes(), "hello");
/// assert_eq!((layer.request_count(), layer.network_count(), layer.hit_count()), (2, 1, 1));
/// # }
/// ```
#[derive(Clone)]
pub struct Cache<S> {
    inner: S,
    shared: Arc<CacheShared>,
}

impl<S> Cache<S> {
    pub(super) fn with_shared(inner: S, shared: Arc<CacheShared>) -> Self {
        Cache { inner, shared }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, RB> Service<Request<B>> for Cache<S>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
    RB: Body<Data = Bytes, Error = Error> + Send + 'static,
{
    type Response = Response<ResponseBody<RB>>;
    type Error = Error;
    type Future = ResponseFuture<RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The ready service serves this call; the clone is readied for the next.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::new(respond(Arc::clone(&self.shared), ready, request))
    }
}

impl<S: fmt::Debug> fmt::Debug for Cache<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

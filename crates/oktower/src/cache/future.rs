//! `cache::ResponseFuture`: the future of a [`Cache`](super::Cache) call.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;

use super::ResponseBody;
use crate::Error;

type Boxed<RB> = Pin<Box<dyn Future<Output = Result<Response<ResponseBody<RB>>, Error>> + Send>>;

/// The future of a [`Cache`](super::Cache) call: the store lookup, then the cached response,
/// the network, or both. One allocation per call: the steps await the store, whose futures
/// are boxed anyway.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::{BodyExt, Empty};
/// use oktower::{Error, MemoryStore};
/// use oktower::cache::{CacheLayer, ResponseFuture};
/// use tower::{Layer, Service, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = service_fn(|_request: http::Request<Empty<Bytes>>| async {
///     Ok::<_, Error>(http::Response::new(Empty::<Bytes>::new().map_err(|never| match never {})))
/// });
/// let mut cache = CacheLayer::new(MemoryStore::new(1 << 20)).layer(server);
/// let request = http::Request::get("http://example.com/").body(Empty::new()).unwrap();
/// let future: ResponseFuture<_> = cache.call(request);
/// assert_eq!(future.await.unwrap().status(), 200);
/// # }
/// ```
pub struct ResponseFuture<RB> {
    inner: Boxed<RB>,
}

impl<RB> ResponseFuture<RB> {
    pub(super) fn new(
        future: impl Future<Output = Result<Response<ResponseBody<RB>>, Error>> + Send + 'static,
    ) -> Self {
        ResponseFuture {
            inner: Box::pin(future),
        }
    }
}

impl<RB> Future for ResponseFuture<RB> {
    type Output = Result<Response<ResponseBody<RB>>, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

impl<RB> fmt::Debug for ResponseFuture<RB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

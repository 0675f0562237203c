//! `bridge::ResponseFuture`: the response half of the bridge, run when the inner service
//! answers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::header::SET_COOKIE;
use http::{Response, Uri};
use http_body::Body;
use pin_project_lite::pin_project;

use super::ResponseBody;
use super::decompression::decompress;
use super::layer::BridgeConfig;
use crate::BoxError;

/// What the response half needs to know about its request.
pub(super) struct ResponseState {
    pub(super) config: Arc<BridgeConfig>,
    pub(super) url: Uri,
    /// The bridge added `Accept-Encoding`, so it decodes what it asked for.
    pub(super) decompress: bool,
    pub(super) is_head: bool,
}

impl ResponseState {
    /// Gives the jar the response's cookies and decodes its body if the bridge asked for the
    /// coding.
    fn finish<B>(self, response: Response<B>) -> Response<ResponseBody<B>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<BoxError>,
    {
        if let Some(jar) = &self.config.cookie_jar
            && response.headers().contains_key(SET_COOKIE)
        {
            let mut set_cookie = response.headers().get_all(SET_COOKIE).iter();
            jar.set_cookies(&self.url, &mut set_cookie);
        }
        if self.decompress {
            let limit = self.config.max_decompressed_size;
            decompress(response, self.is_head, limit, self.url)
        } else {
            response.map(ResponseBody::plain)
        }
    }
}

pin_project! {
    /// The future of a [`Bridge`](super::Bridge) call: the inner service's future, then the
    /// response side of the bridge (cookies saved, body decoded). No allocation of its own.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::Empty;
    /// use oktower::Bridge;
    /// use oktower::bridge::ResponseFuture;
    /// use tower::{Service, service_fn};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut bridge = Bridge::new(service_fn(|_request: http::Request<Empty<Bytes>>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(Empty::<Bytes>::new()))
    /// }));
    /// let request = http::Request::get("http://example.com/").body(Empty::new()).unwrap();
    /// let future: ResponseFuture<_> = bridge.call(request);
    /// assert_eq!(future.await.unwrap().status(), 200);
    /// # }
    /// ```
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        state: Option<ResponseState>,
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn new(inner: F, state: Option<ResponseState>) -> Self {
        ResponseFuture { inner, state }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        Poll::Ready(Ok(match this.state.take() {
            Some(state) => state.finish(response),
            None => response.map(ResponseBody::plain),
        }))
    }
}

impl<F> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

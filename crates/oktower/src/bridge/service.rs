//! `Bridge<S>`: the service that applies the bridge's rules around an inner HTTP service.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Method, Request, Response, Version};
use http_body::Body;
use tower_service::Service;

use super::future::ResponseState;
use super::layer::BridgeConfig;
use super::request_headers::{BodyLength, RequestHead, add_request_headers};
use super::{ResponseBody, ResponseFuture};
use crate::BoxError;

/// OkHttp's `BridgeInterceptor` around an inner service `S`: completes each request's headers,
/// keeps cookies, and decodes compressed responses. Built by [`BridgeLayer`](super::BridgeLayer)
/// (or [`Bridge::new`] with the defaults); see the [module documentation](super).
///
/// The bridge adds no failure of its own to calls: its error is `S::Error`. Response bodies
/// fail with [`crate::Error`] (see [`ResponseBody`]).
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Empty;
/// use oktower::Bridge;
/// use tower::{ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // A server that echoes the request headers it was sent.
/// let server = service_fn(|request: http::Request<Empty<Bytes>>| async move {
///     let mut response = http::Response::new(Empty::<Bytes>::new());
///     *response.headers_mut() = request.headers().clone();
///     Ok::<_, std::convert::Infallible>(response)
/// });
/// let request = http::Request::get("http://example.com:8080/").body(Empty::new()).unwrap();
/// let response = Bridge::new(server).oneshot(request).await.unwrap();
/// let sent = response.headers();
/// assert_eq!(sent["host"], "example.com:8080");
/// assert_eq!(sent["accept-encoding"], "gzip, deflate, br, zstd");
/// assert!(sent["user-agent"].to_str().unwrap().starts_with("oktower/"));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Bridge<S> {
    inner: S,
    config: Arc<BridgeConfig>,
}

impl<S> Bridge<S> {
    /// `inner` behind a bridge with the default settings of [`BridgeLayer::new`](super::BridgeLayer::new).
    pub fn new(inner: S) -> Self {
        Self::with_config(inner, Arc::default())
    }

    pub(super) fn with_config(inner: S, config: Arc<BridgeConfig>) -> Self {
        Bridge { inner, config }
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

impl<S, B, RB> Service<Request<B>> for Bridge<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
    B: Body,
    RB: Body<Data = Bytes>,
    RB::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody<RB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let config = &self.config;
        let (mut parts, body) = request.into_parts();
        let cookies = config
            .cookie_jar
            .as_ref()
            .and_then(|jar| jar.cookies(&parts.uri));
        let head = RequestHead {
            method: &parts.method,
            uri: &parts.uri,
            version: if config.http2_only {
                Version::HTTP_2
            } else {
                parts.version
            },
            body: BodyLength::of(&body),
        };
        let decompress =
            add_request_headers(&head, &mut parts.headers, &config.user_agent, cookies);
        // The response needs the request's URL only for the jar and for decoding errors.
        let state = (decompress || config.cookie_jar.is_some()).then(|| ResponseState {
            config: Arc::clone(config),
            url: parts.uri.clone(),
            decompress,
            is_head: parts.method == Method::HEAD,
        });
        let future = self.inner.call(Request::from_parts(parts, body));
        ResponseFuture::new(future, state)
    }
}

//! `FollowUp<S>`: the follow-up service.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::ResponseFuture;
use super::layer::Settings;
use crate::{Error, FollowUpLayer, ReplayBody};

/// Sends each request through `S`, then retries it after recoverable failures and follows up
/// its responses (redirects, authentication challenges, 408, 421 and 503 retries) as OkHttp's
/// `RetryAndFollowUpInterceptor` does. Made by [`FollowUpLayer`], which holds its settings.
///
/// `S` is cloned once per call (the ready service serves the first attempt; the clone, made
/// ready again, the others), so it should be cheap to clone, as tower services are. Request
/// bodies must be [`ReplayBody`] so that follow-ups can send them again.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use oktower::{Error, FollowUp};
/// use tower::{Service, ServiceExt};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// // An inner service that redirects `/old` to `/new`.
/// let inner = tower::service_fn(|request: http::Request<Full<Bytes>>| async move {
///     let response = if request.uri().path() == "/old" {
///         http::Response::builder().status(301).header("location", "/new").body(Full::<Bytes>::default())
///     } else {
///         http::Response::builder().status(200).body(Full::<Bytes>::default())
///     };
///     Ok::<_, Error>(response.unwrap())
/// });
/// let mut service = FollowUp::new(inner);
/// let request = http::Request::get("http://a.test/old").body(Full::default()).unwrap();
/// let response = service.ready().await.unwrap().call(request).await.unwrap();
/// assert_eq!(response.status(), 200);
/// let prior = oktower::PriorResponse::of(&response).unwrap();
/// assert_eq!(prior.status(), 301);
/// # });
/// ```
#[derive(Clone)]
pub struct FollowUp<S> {
    inner: S,
    settings: Arc<Settings>,
}

impl<S> FollowUp<S> {
    /// `inner` wrapped with OkHttp's default settings (see [`FollowUpLayer`] for others).
    pub fn new(inner: S) -> Self {
        FollowUp::with_settings(inner, FollowUpLayer::new().settings().clone())
    }

    pub(crate) fn with_settings(inner: S, settings: Arc<Settings>) -> Self {
        FollowUp { inner, settings }
    }

    /// A layer with OkHttp's defaults.
    pub fn layer() -> FollowUpLayer {
        FollowUpLayer::new()
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, RB> Service<Request<B>> for FollowUp<S>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Error> + Clone,
    B: ReplayBody,
    RB: http_body::Body + Send + 'static,
{
    type Response = Response<RB>;
    type Error = Error;
    type Future = ResponseFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The ready service serves this call; the clone is readied for the next.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::start(ready, self.settings.clone(), request)
    }
}

impl<S: fmt::Debug> fmt::Debug for FollowUp<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FollowUp")
            .field("inner", &self.inner)
            .field("policy", &self.settings.policy)
            .finish_non_exhaustive()
    }
}

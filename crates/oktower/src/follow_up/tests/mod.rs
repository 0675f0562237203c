//! The follow-up layer over a scripted inner service: a queue of canned responses and
//! failures that records every request it receives.

mod auth;
mod redirects;
mod retries;

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri, request, response};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use tower::{Layer, Service, ServiceExt};

use crate::{CallContext, Error, ErrorKind, EventListener, FollowUpLayer, ReplayBody, RequestSent};

/// A response body that counts how many are alive.
#[derive(Debug)]
pub(super) struct Probe {
    alive: Arc<AtomicUsize>,
}

/// An empty body, so that the follow-up layer can read it off.
impl Body for Probe {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Error>>> {
        std::task::Poll::Ready(None)
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        self.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A request body that can be read once.
pub(super) struct OneShot(Option<Bytes>);

impl OneShot {
    pub(super) fn new(text: &'static str) -> Self {
        OneShot(Some(Bytes::from_static(text.as_bytes())))
    }
}

impl Body for OneShot {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.take().map(|data| Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }
}

impl ReplayBody for OneShot {
    fn try_clone(&self) -> Option<Self> {
        None
    }

    fn empty() -> Self {
        OneShot(None)
    }
}

/// One scripted answer.
pub(super) enum Step {
    Respond(response::Parts),
    Fail(Error),
}

/// A response with `status` and `headers`.
pub(super) fn respond(status: u16, headers: &[(&str, &str)]) -> Step {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    Step::Respond(builder.body(()).unwrap().into_parts().0)
}

/// A redirect to `location`.
pub(super) fn redirect(status: u16, location: &str) -> Step {
    respond(status, &[("location", location)])
}

/// A failure of `kind`.
pub(super) fn fail(kind: ErrorKind, sent: RequestSent) -> Step {
    Step::Fail(Error::new(kind, format!("{kind:?} failure")).with_request_sent(sent))
}

/// A request as the inner service received it.
#[derive(Debug)]
pub(super) struct Received {
    pub(super) method: Method,
    pub(super) uri: Uri,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
    /// How many extensions the request carried.
    pub(super) extension_count: usize,
    /// Whether its extensions held a call context.
    pub(super) has_context: bool,
    /// The `Tag` in its extensions.
    pub(super) tag: Option<Tag>,
    /// Response bodies alive when this request arrived.
    pub(super) bodies_alive: usize,
}

/// A user's extension, to follow through the requests of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tag(pub(super) u32);

/// The scripted inner service's shared state.
#[derive(Clone, Default)]
pub(super) struct Script {
    steps: Arc<Mutex<VecDeque<Step>>>,
    received: Arc<Mutex<Vec<Received>>>,
    alive: Arc<AtomicUsize>,
    /// Canceled when the request with this index (from 0) arrives.
    cancel_at: Arc<Mutex<Option<(usize, CallContext)>>>,
}

impl Script {
    pub(super) fn new(steps: impl IntoIterator<Item = Step>) -> Self {
        let script = Script::default();
        script.steps.lock().unwrap().extend(steps);
        script
    }

    pub(super) fn cancel_at(&self, index: usize, context: &CallContext) {
        *self.cancel_at.lock().unwrap() = Some((index, context.clone()));
    }

    pub(super) fn received(&self) -> std::sync::MutexGuard<'_, Vec<Received>> {
        self.received.lock().unwrap()
    }

    pub(super) fn bodies_alive(&self) -> usize {
        self.alive.load(Ordering::SeqCst)
    }

    /// The inner service: answers each request with the next step.
    pub(super) fn service<B>(
        &self,
    ) -> impl Service<Request<B>, Response = Response<Probe>, Error = Error> + Clone
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: std::fmt::Debug,
    {
        let script = self.clone();
        tower::service_fn(move |request: Request<B>| {
            let script = script.clone();
            async move {
                let (head, body) = request.into_parts();
                let body = body.collect().await.unwrap().to_bytes();
                let index = {
                    let mut received = script.received.lock().unwrap();
                    received.push(Received {
                        method: head.method,
                        uri: head.uri,
                        headers: head.headers,
                        body: String::from_utf8(body.to_vec()).unwrap(),
                        extension_count: head.extensions.len(),
                        has_context: CallContext::of(&head.extensions).is_some(),
                        tag: head.extensions.get::<Tag>().copied(),
                        bodies_alive: script.alive.load(Ordering::SeqCst),
                    });
                    received.len() - 1
                };
                if let Some((at, context)) = &*script.cancel_at.lock().unwrap()
                    && *at == index
                {
                    context.cancel();
                }
                let step = script.steps.lock().unwrap().pop_front();
                match step.expect("the script has a step for every request") {
                    Step::Respond(head) => {
                        script.alive.fetch_add(1, Ordering::SeqCst);
                        let probe = Probe {
                            alive: script.alive.clone(),
                        };
                        Ok(Response::from_parts(head, probe))
                    }
                    Step::Fail(error) => Err(error),
                }
            }
        })
    }
}

/// Runs `request` through `layer` over `script`.
pub(super) async fn run<B>(
    layer: FollowUpLayer,
    script: &Script,
    request: Request<B>,
) -> Result<Response<Probe>, Error>
where
    B: ReplayBody<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Debug,
{
    layer.layer(script.service()).oneshot(request).await
}

/// A GET of `uri` with an empty, replayable body.
pub(super) fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri).body(Full::default()).unwrap()
}

/// A POST of `text` to `uri`.
pub(super) fn post(uri: &str, text: &'static str) -> Request<Full<Bytes>> {
    Request::post(uri)
        .header("content-type", "text/plain")
        .header("content-length", text.len())
        .body(Full::new(Bytes::from_static(text.as_bytes())))
        .unwrap()
}

/// Records the follow-up layer's events as text.
#[derive(Default)]
pub(super) struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    pub(super) fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl EventListener for Recorder {
    fn retry_decision(&self, error: &Error, retry: bool) {
        let kind = error.kind();
        self.0
            .lock()
            .unwrap()
            .push(format!("retry {kind:?} {retry}"));
    }

    fn follow_up_decision(&self, response: &response::Parts, next: Option<&request::Parts>) {
        let status = response.status.as_u16();
        let event = match next {
            Some(next) => format!("follow {status} -> {} {}", next.method, next.uri),
            None => format!("follow {status} -> none"),
        };
        self.0.lock().unwrap().push(event);
    }
}

/// `request` carrying a call context that reports to a new recorder.
pub(super) fn with_recorder<B>(
    mut request: Request<B>,
) -> (Request<B>, Arc<Recorder>, CallContext) {
    let recorder = Arc::new(Recorder::default());
    let context = CallContext::new(recorder.clone());
    request.extensions_mut().insert(context.clone());
    (request, recorder, context)
}

pub(super) fn status(response: &Result<Response<Probe>, Error>) -> StatusCode {
    response.as_ref().expect("a response").status()
}

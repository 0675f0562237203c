//! Unit tests of the cache layer over a scripted inner service and a `MemoryStore`.

mod network;
mod serving;
mod stale;

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Request, Response, response};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt};

use super::*;
use crate::{CallContext, Error, ErrorKind, EventListener};

/// A body of scripted frames; an `Err` item fails the body there.
pub(super) struct TestBody {
    chunks: VecDeque<Result<Bytes, Error>>,
}

impl TestBody {
    pub(super) fn text(text: &'static str) -> Self {
        let chunks = if text.is_empty() {
            VecDeque::new()
        } else {
            VecDeque::from([Ok(Bytes::from_static(text.as_bytes()))])
        };
        TestBody { chunks }
    }

    pub(super) fn failing_after(text: &'static str) -> Self {
        TestBody {
            chunks: VecDeque::from([
                Ok(Bytes::from_static(text.as_bytes())),
                Err(Error::new(ErrorKind::Io, "connection reset mid-body")),
            ]),
        }
    }

    pub(super) fn chunks(parts: &[&'static str]) -> Self {
        TestBody {
            chunks: parts
                .iter()
                .map(|part| Ok(Bytes::from_static(part.as_bytes())))
                .collect(),
        }
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        Poll::Ready(self.chunks.pop_front().map(|chunk| chunk.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }
}

/// What the scripted server answers: a response or a failure.
pub(super) enum Scripted {
    Answer(Response<TestBody>),
    Fail,
}

/// A scripted inner service that records the requests it gets.
#[derive(Clone, Default)]
pub(super) struct Server {
    script: Arc<Mutex<VecDeque<Scripted>>>,
    pub(super) seen: Arc<Mutex<Vec<http::request::Parts>>>,
}

impl Server {
    pub(super) fn enqueue(&self, response: Response<TestBody>) {
        self.script
            .lock()
            .unwrap()
            .push_back(Scripted::Answer(response));
    }

    pub(super) fn enqueue_failure(&self) {
        self.script.lock().unwrap().push_back(Scripted::Fail);
    }

    pub(super) fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub(super) fn last_request(&self) -> http::request::Parts {
        self.seen
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a request")
    }
}

impl Service<Request<()>> for Server {
    type Response = Response<TestBody>;
    type Error = Error;
    type Future = std::future::Ready<Result<Response<TestBody>, Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        self.seen.lock().unwrap().push(request.into_parts().0);
        let next = self.script.lock().unwrap().pop_front();
        std::future::ready(match next {
            Some(Scripted::Answer(response)) => Ok(response),
            Some(Scripted::Fail) | None => Err(Error::new(ErrorKind::Connect, "refused")),
        })
    }
}

/// A clock the test moves.
#[derive(Clone)]
pub(super) struct TestClock(Arc<AtomicU64>);

pub(super) const START: u64 = 1_700_000_000;

impl TestClock {
    pub(super) fn new() -> Self {
        TestClock(Arc::new(AtomicU64::new(START)))
    }

    pub(super) fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    pub(super) fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

/// Records the cache events in order.
#[derive(Default)]
pub(super) struct Events(Mutex<Vec<String>>);

impl Events {
    pub(super) fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl EventListener for Events {
    fn satisfaction_failure(&self, response: &response::Parts) {
        self.0
            .lock()
            .unwrap()
            .push(format!("SatisfactionFailure {}", response.status.as_u16()));
    }
    fn cache_hit(&self, response: &response::Parts) {
        self.0
            .lock()
            .unwrap()
            .push(format!("CacheHit {}", response.status.as_u16()));
    }
    fn cache_miss(&self) {
        self.0.lock().unwrap().push("CacheMiss".into());
    }
    fn cache_conditional_hit(&self, cached: &response::Parts) {
        self.0
            .lock()
            .unwrap()
            .push(format!("CacheConditionalHit {}", cached.status.as_u16()));
    }
}

/// A layer, its store and clock, and a server.
pub(super) struct Fixture {
    pub(super) layer: CacheLayer,
    pub(super) store: MemoryStore,
    pub(super) clock: TestClock,
    pub(super) server: Server,
    pub(super) events: Arc<Events>,
}

impl Fixture {
    pub(super) fn new() -> Self {
        let store = MemoryStore::new(1 << 20);
        let clock = TestClock::new();
        let now = clock.clone();
        let layer = CacheLayer::new(store.clone()).clock(move || now.now());
        Fixture {
            layer,
            store,
            clock,
            server: Server::default(),
            events: Arc::default(),
        }
    }

    pub(super) fn cache(&self) -> Cache<Server> {
        self.layer.layer(self.server.clone())
    }

    /// Sends `request` with the events listener and returns the response.
    pub(super) async fn send(
        &self,
        mut request: Request<()>,
    ) -> Result<Response<ResponseBody<TestBody>>, Error> {
        request
            .extensions_mut()
            .insert(CallContext::new(self.events.clone()));
        self.cache().oneshot(request).await
    }

    /// Sends `request` and reads the body: outcome, status, body text.
    pub(super) async fn fetch(&self, request: Request<()>) -> (CacheOutcome, u16, String) {
        let response = self.send(request).await.expect("response");
        let outcome = *response
            .extensions()
            .get::<CacheOutcome>()
            .expect("outcome");
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        (outcome, status, String::from_utf8_lossy(&body).into_owned())
    }

    pub(super) fn stats(&self) -> (u64, u64, u64) {
        let stats = self.layer.stats();
        (stats.requests, stats.network, stats.hits)
    }
}

pub(super) fn get(url: &str) -> Request<()> {
    Request::get(url).body(()).unwrap()
}

pub(super) fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

pub(super) fn response(
    status: u16,
    headers: &[(&str, &str)],
    body: TestBody,
) -> Response<TestBody> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).unwrap()
}

pub(super) fn ok(headers: &[(&str, &str)], body: &'static str) -> Response<TestBody> {
    response(200, headers, TestBody::text(body))
}

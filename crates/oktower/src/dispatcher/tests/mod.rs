//! Tests of the dispatcher layer, polling calls by hand (deterministic) or on a runtime
//! (under load). The inner service answers at once; a call's slot is then held by its
//! response body, so tests decide when calls finish by reading or dropping bodies.

mod cancel;
mod idle_events;
mod limits;
mod load;
mod slots;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame};
use tower_service::Service;

use super::{Dispatched, Dispatcher, ResponseBody, ResponseFuture};
use crate::counting_waker::CountingWaker;
use crate::{CallContext, Error, ErrorKind, EventListener};

/// The inner service: records each request it is called with ("host/path"), answers at
/// once with a body chosen by the path, and counts calls in flight (until their body drops).
#[derive(Clone, Default)]
struct TestService {
    started: Arc<Mutex<Vec<String>>>,
    contexts: Arc<Mutex<Vec<Option<CallContext>>>>,
    ready_polls: Arc<AtomicUsize>,
    /// When set, readiness fails.
    unready: Arc<std::sync::atomic::AtomicBool>,
    in_flight: Arc<InFlight>,
}

#[derive(Default)]
struct InFlight {
    counts: Mutex<(usize, HashMap<String, usize>)>,
    max_total: AtomicUsize,
    max_per_host: AtomicUsize,
}

/// Decrements the in-flight counts of its host when dropped.
struct InFlightGuard {
    in_flight: Arc<InFlight>,
    host: String,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut counts = self.in_flight.counts.lock().unwrap();
        counts.0 -= 1;
        *counts.1.get_mut(&self.host).unwrap() -= 1;
    }
}

impl InFlight {
    fn enter(self: &Arc<Self>, host: &str) -> InFlightGuard {
        let mut counts = self.counts.lock().unwrap();
        counts.0 += 1;
        let per_host = counts.1.entry(host.to_owned()).or_default();
        *per_host += 1;
        let per_host = *per_host;
        self.max_total.fetch_max(counts.0, Ordering::SeqCst);
        self.max_per_host.fetch_max(per_host, Ordering::SeqCst);
        InFlightGuard {
            in_flight: self.clone(),
            host: host.to_owned(),
        }
    }
}

/// A response body: the frames still to come (`Err` for a failure).
struct TestBody {
    frames: VecDeque<Result<Bytes, Error>>,
    _guard: InFlightGuard,
}

impl std::fmt::Debug for TestBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestBody")
            .field("frames", &self.frames.len())
            .finish()
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        Poll::Ready(self.frames.pop_front().map(|frame| frame.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
    }
}

impl Service<Request<()>> for TestService {
    type Response = Response<TestBody>;
    type Error = Error;
    type Future = std::future::Ready<Result<Response<TestBody>, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.ready_polls.fetch_add(1, Ordering::SeqCst);
        if self.unready.load(Ordering::SeqCst) {
            return Poll::Ready(Err(Error::new(ErrorKind::Connect, "inner not ready")));
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        let host = request.uri().host().unwrap_or("").to_owned();
        let path = request.uri().path().to_owned();
        self.started.lock().unwrap().push(format!("{host}{path}"));
        let context = CallContext::of(request.extensions()).cloned();
        self.contexts.lock().unwrap().push(context);
        if path == "/error" {
            return std::future::ready(Err(Error::new(ErrorKind::Io, "inner failure")));
        }
        let frames = match path.as_str() {
            "/empty" => VecDeque::new(),
            "/fail" => VecDeque::from([Err(Error::new(ErrorKind::Io, "body failure"))]),
            "/two" => VecDeque::from([Ok(Bytes::from("a")), Ok(Bytes::from("b"))]),
            _ => VecDeque::from([Ok(Bytes::from("x"))]),
        };
        let body = TestBody {
            frames,
            _guard: self.in_flight.enter(&host),
        };
        std::future::ready(Ok(Response::new(body)))
    }
}

type Call = Pin<Box<ResponseFuture<TestService, ()>>>;
type Answer = Result<Response<ResponseBody<TestBody>>, Error>;

/// A dispatched test service and its dispatcher.
struct Harness {
    dispatcher: Dispatcher,
    service: Dispatched<TestService>,
    inner: TestService,
}

impl Harness {
    fn new(max_requests: usize, max_requests_per_host: usize) -> Self {
        let dispatcher = Dispatcher::with_limits(max_requests, max_requests_per_host);
        let inner = TestService::default();
        Harness {
            service: Dispatched::new(inner.clone(), dispatcher.clone()),
            dispatcher,
            inner,
        }
    }

    fn call(&mut self, uri: &str) -> Call {
        self.call_request(Request::get(uri).body(()).unwrap())
    }

    fn call_request(&mut self, request: Request<()>) -> Call {
        Box::pin(self.service.call(request))
    }

    /// A call whose request carries `context`.
    fn call_with(&mut self, uri: &str, context: &CallContext) -> Call {
        let mut request = Request::get(uri).body(()).unwrap();
        request.extensions_mut().insert(context.clone());
        self.call_request(request)
    }

    /// "host/path" of each request the inner service got, in order.
    fn started(&self) -> Vec<String> {
        self.inner.started.lock().unwrap().clone()
    }

    /// (running, queued).
    fn counts(&self) -> (usize, usize) {
        (
            self.dispatcher.running_calls_count(),
            self.dispatcher.queued_calls_count(),
        )
    }
}

/// Polls `future` once with `waker` (a no-op waker if `None`).
fn poll_with<F: Future + Unpin>(future: &mut F, waker: Option<&Waker>) -> Poll<F::Output> {
    let waker = waker.unwrap_or(Waker::noop());
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

/// Polls `call` once; it must answer.
fn answer(call: &mut Call) -> Answer {
    match poll_with(call, None) {
        Poll::Ready(answer) => answer,
        Poll::Pending => panic!("the call is still waiting"),
    }
}

/// Polls `call` once; it must succeed.
fn succeed(call: &mut Call) -> Response<ResponseBody<TestBody>> {
    answer(call).expect("the call succeeds")
}

/// Polls `call` once; it must still wait.
fn assert_waiting(call: &mut Call) {
    assert!(poll_with(call, None).is_pending(), "the call should wait");
}

/// A listener that records the dispatcher events it hears.
#[derive(Default)]
struct Recorder(Mutex<Vec<&'static str>>);

impl Recorder {
    fn events(&self) -> Vec<&'static str> {
        self.0.lock().unwrap().clone()
    }
}

impl EventListener for Recorder {
    fn dispatcher_queue_start(&self) {
        self.0.lock().unwrap().push("queue_start");
    }
    fn dispatcher_queue_end(&self) {
        self.0.lock().unwrap().push("queue_end");
    }
}

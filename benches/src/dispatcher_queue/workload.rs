//! The calls of the dispatcher queue scenario: requests tagged with their host and their place
//! in that host's arrival order, and an inner service that records the order in which calls
//! reach it and answers at once with a one-byte body (which holds the call's slot until it is
//! dropped).

use std::future::{Ready, ready};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use oktower::dispatcher::ResponseBody;
use oktower::{CallContext, Error, NoEvents};
use tower_service::Service;

/// Which host a call goes to and its position among that host's calls (0 for the first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallTag {
    /// The host's index (`h<index>.test`).
    pub host: u32,
    /// The call's position in its host's arrival order.
    pub seq: u32,
}

impl CallTag {
    /// The tag a request's URI names: `http://h<host>.test/<seq>`, as [`RequestMaker`] makes
    /// them. Read from the URI rather than carried in the extensions, so that the request is
    /// what a client's call is (its URI and its context) and the memory counted per queued
    /// call holds nothing of the benchmark's own.
    pub fn of(uri: &http::Uri) -> Option<CallTag> {
        let host = uri.host()?.strip_prefix('h')?.strip_suffix(".test")?;
        let seq = uri.path().strip_prefix('/')?;
        Some(CallTag {
            host: host.parse().ok()?,
            seq: seq.parse().ok()?,
        })
    }
}

/// The body a running call holds: dropping it finishes the call and frees its slot.
pub type HeldBody = ResponseBody<Full<Bytes>>;

/// The inner service: records each call's [`CallTag`] as the call reaches it, and answers at
/// once with `200 OK` and a one-byte body.
#[derive(Clone, Debug)]
pub struct RecordingServer {
    log: Arc<Mutex<Vec<CallTag>>>,
}

impl RecordingServer {
    /// A server whose log has room for `capacity` calls (so that recording does not allocate
    /// while promotions are measured).
    pub fn with_capacity(capacity: usize) -> Self {
        RecordingServer {
            log: Arc::new(Mutex::new(Vec::with_capacity(capacity))),
        }
    }

    /// The calls that reached the server so far, in order.
    pub fn log(&self) -> Vec<CallTag> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Service<Request<()>> for RecordingServer {
    type Response = Response<Full<Bytes>>;
    type Error = Error;
    type Future = Ready<Result<Response<Full<Bytes>>, Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        if let Some(tag) = CallTag::of(request.uri()) {
            self.log
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(tag);
        }
        ready(Ok(Response::new(Full::new(Bytes::from_static(b"x")))))
    }
}

/// Makes the requests of the scenario: call `i` goes to host `i % hosts`, so the hosts take
/// turns; its URI names its [`CallTag`], and it carries a [`CallContext`] recording the call's
/// timings, as a `Client`'s call's does (so that the memory counted is a client call's, and
/// the dispatcher need not make a context).
#[derive(Debug)]
pub struct RequestMaker {
    hosts: u32,
    next: u64,
    listener: Arc<NoEvents>,
}

impl RequestMaker {
    /// Requests spread over `hosts` hosts (at least 1).
    pub fn new(hosts: u32) -> Self {
        RequestMaker {
            hosts: hosts.max(1),
            next: 0,
            listener: Arc::new(NoEvents),
        }
    }

    /// The next request: `GET http://h<host>.test/<seq>`.
    pub fn next_request(&mut self) -> Request<()> {
        let index = self.next;
        self.next += 1;
        let tag = CallTag {
            host: (index % u64::from(self.hosts)) as u32,
            seq: (index / u64::from(self.hosts)) as u32,
        };
        let uri = format!("http://h{}.test/{}", tag.host, tag.seq);
        let mut request = Request::get(uri).body(()).expect("a valid request URI");
        request
            .extensions_mut()
            .insert(CallContext::recording_timings(self.listener.clone()));
        request
    }

    /// How many requests were made.
    pub fn made(&self) -> u64 {
        self.next
    }
}

/// Checks that every host's calls reached the server in their arrival order (`seq` 0, 1, 2,
/// ...), with no call missing or repeated. Returns the number of calls checked.
pub fn check_fifo_per_host(log: &[CallTag], hosts: u32) -> Result<usize, String> {
    let mut expected = vec![0u32; hosts as usize];
    for (position, tag) in log.iter().enumerate() {
        let next = expected
            .get_mut(tag.host as usize)
            .ok_or_else(|| format!("call {position} went to unknown host {}", tag.host))?;
        if tag.seq != *next {
            return Err(format!(
                "call {position}: host {} served seq {} where {} was next",
                tag.host, tag.seq, next
            ));
        }
        *next += 1;
    }
    Ok(log.len())
}

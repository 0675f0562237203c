//! How long each phase of a call took: [`Timings`], recorded from the call's events by a
//! [`TimingsRecorder`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU16, AtomicU64, Ordering};
use std::time::Duration;

use http::{HeaderMap, StatusCode, request, response};
use tokio::time::Instant;

use crate::{ConnectionInfo, Error, EventListener, Handshake, NoEvents, Protocol, Proxy};

/// How long each phase of one call took, from the [`EventListener`] hooks it fired (what curl
/// reports as `time_namelookup`, `time_connect`, ..., per phase rather than cumulatively).
///
/// A phase that did not happen, or has not ended yet, is `None`: a call on a pooled connection
/// has no `dns`, `connect` or `tls`; a cache hit has no network phase at all. A phase that
/// repeats within a call (a redirect to another host looks its name up again, a failed route
/// is followed by another connect attempt) is the time during which at least one such phase
/// was in progress: repeats one after another add up, attempts that overlap (happy eyeballs
/// racing two addresses) count once.
///
/// ```
/// use std::sync::Arc;
/// use oktower::{EventListener, NoEvents, TimingsRecorder};
///
/// let recorder = TimingsRecorder::new(Arc::new(NoEvents));
/// recorder.call_start(&"http://a.test/".parse().unwrap());
/// recorder.dns_start("a.test");
/// recorder.dns_end("a.test", &[]);
/// recorder.call_end();
///
/// let timings = recorder.timings();
/// assert!(timings.dns.is_some());
/// assert!(timings.total.is_some());
/// assert_eq!(timings.connect, None); // no connect events: a pooled connection
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timings {
    /// Waiting in the dispatcher's queue: `dispatcher_queue_start` → `dispatcher_queue_end`.
    /// `None` when the call did not have to wait.
    pub queued: Option<Duration>,
    /// Resolving host names: `dns_start` → `dns_end`, for every lookup of the call (a lookup
    /// that failed never ends and is not counted). `None` for IP literals, pooled connections
    /// and proxies that resolve the name themselves.
    pub dns: Option<Duration>,
    /// Opening connections: `connect_start` → `connect_end` or `connect_failed`. It includes
    /// the TLS handshake, a proxy tunnel and failed attempts. `None` when the call opened no
    /// connection.
    pub connect: Option<Duration>,
    /// TLS handshakes: `secure_connect_start` → `secure_connect_end`, part of `connect`.
    pub tls: Option<Duration>,
    /// Writing requests: `request_headers_start` → `request_headers_end`, plus
    /// `request_body_start` → `request_body_end` when a body was sent, for every request of
    /// the call. A wait for `100 Continue` between head and body is not included.
    pub request_sent: Option<Duration>,
    /// Waiting for the final response (Chrome's "Waiting (TTFB)"): from the end of writing its
    /// request (the `request_body_end` of that exchange if the body was written before the
    /// response arrived, its `request_headers_end` otherwise) to its `response_headers_end`.
    /// `None` until a response head arrived, and while a later request awaits its response.
    pub time_to_first_byte: Option<Duration>,
    /// The whole call: `call_start` → `call_end` or `call_failed`, whichever came first. The
    /// client fires `call_end` once the response body was read to its end, so this includes
    /// reading the body. `None` while the call runs.
    pub total: Option<Duration>,
    /// Whether the last connection the call acquired was already open (pooled, coalesced, or
    /// opened by another call), rather than opened by this call. `None` when the call acquired
    /// no connection.
    pub connection_reused: Option<bool>,
    /// Follow-up requests made (redirects, authentication challenges, retries the server asked
    /// for): `follow_up_decision` with a next request.
    pub follow_ups: u32,
    /// Requests retried after a failure: `retry_decision` with `retry` true.
    pub retries: u32,
}

/// Low bits of a [`Phase`]'s state: the instant its open interval started.
const OPENED_AT_MASK: u64 = (1 << OPEN_COUNT_SHIFT) - 1;
/// High bits of a [`Phase`]'s state: how many of its intervals are open.
const OPEN_COUNT_SHIFT: u32 = 56;
const ONE_OPEN: u64 = 1 << OPEN_COUNT_SHIFT;
const MAX_OPEN: u64 = u64::MAX >> OPEN_COUNT_SHIFT;

/// A phase that may repeat and overlap: the length of the union of its intervals, kept with
/// atomics (one compare-and-swap per start or end).
#[derive(Default)]
struct Phase {
    /// The count of open intervals (high 8 bits) and when the first of them opened, in
    /// nanoseconds since the recorder's origin (low 56 bits: about 2 years).
    state: AtomicU64,
    /// Nanoseconds during which at least one interval was open, over the closed stretches,
    /// plus one; zero while no stretch has closed.
    total: AtomicU64,
}

impl Phase {
    fn start(&self, at: u64) {
        let at = at.min(OPENED_AT_MASK);
        // A refused update means `MAX_OPEN` intervals are open at once: the extra one is not
        // counted, so the stretch may close early. Not reachable by a real call.
        let _ = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                match state >> OPEN_COUNT_SHIFT {
                    0 => Some(ONE_OPEN | at),
                    MAX_OPEN => None,
                    _ => Some(state + ONE_OPEN),
                }
            });
    }

    fn end(&self, at: u64) {
        let at = at.min(OPENED_AT_MASK);
        let updated = self
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |state| {
                match state >> OPEN_COUNT_SHIFT {
                    0 => None, // an end without a start: ignored
                    1 => Some(0),
                    _ => Some(state - ONE_OPEN),
                }
            });
        if let Ok(state) = updated
            && state >> OPEN_COUNT_SHIFT == 1
        {
            let stretch = at.saturating_sub(state & OPENED_AT_MASK);
            // Never refused: the closure always answers.
            let _ = self
                .total
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |total| {
                    Some(total.max(1).saturating_add(stretch))
                });
        }
    }

    fn duration(&self) -> Option<Duration> {
        let total = self.total.load(Ordering::Acquire);
        total.checked_sub(1).map(Duration::from_nanos)
    }
}

/// One instant, in nanoseconds since the recorder's origin plus one (zero: not yet).
#[derive(Default)]
struct Mark(AtomicU64);

impl Mark {
    /// Records `at`, replacing an earlier instant.
    fn set(&self, at: u64) {
        self.0.store(at.saturating_add(1), Ordering::Release);
    }

    /// Records `at` unless an instant was recorded already.
    fn set_first(&self, at: u64) {
        let _ =
            self.0
                .compare_exchange(0, at.saturating_add(1), Ordering::AcqRel, Ordering::Acquire);
    }

    fn get(&self) -> Option<u64> {
        self.0.load(Ordering::Acquire).checked_sub(1)
    }
}

/// Adds one to `count`, saturating.
fn count_one(count: &AtomicU16) {
    // Never refused: the closure always answers.
    let _ = count.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
        Some(n.saturating_add(1))
    });
}

/// `connection_reused`: no connection acquired yet.
const NOT_ACQUIRED: u8 = 0;
/// `connection_reused`: the last connection acquired was opened by the call.
const OPENED: u8 = 1;
/// `connection_reused`: the last connection acquired was already open.
const REUSED: u8 = 2;

/// An [`EventListener`] that records when the phases of a call started and ended, and tells an
/// inner listener of every event. [`timings`](Self::timings) reads the [`Timings`] at any time.
///
/// Recording is a clock read and an atomic update or two per event; no lock, no allocation.
/// Instants come from tokio's clock, so tests with `tokio::time::pause()` get exact durations.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use oktower::{EventListener, NoEvents, TimingsRecorder};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let recorder = TimingsRecorder::new(Arc::new(NoEvents));
/// recorder.call_start(&"http://a.test/".parse().unwrap());
/// recorder.dns_start("a.test");
/// tokio::time::advance(Duration::from_millis(20)).await;
/// recorder.dns_end("a.test", &[]);
/// assert_eq!(recorder.timings().dns, Some(Duration::from_millis(20)));
/// assert_eq!(recorder.timings().total, None); // the call is still running
/// # }
/// ```
pub struct TimingsRecorder {
    inner: Arc<dyn EventListener>,
    origin: Instant,
    call_start: Mark,
    call_end: Mark,
    queued: Phase,
    dns: Phase,
    connect: Phase,
    tls: Phase,
    request_headers: Phase,
    request_body: Phase,
    request_headers_end: Mark,
    request_body_end: Mark,
    response_headers_end: Mark,
    /// A connection was opened since the last `connection_acquired`.
    opened_connection: AtomicBool,
    connection_reused: AtomicU8,
    /// Counts, saturating (a call makes at most 20 follow-ups); 16 bits keep the recorder,
    /// which every call a client makes carries, 8 bytes smaller.
    follow_ups: AtomicU16,
    retries: AtomicU16,
}

impl TimingsRecorder {
    /// A recorder that tells `inner` of every event, with its origin now.
    pub fn new(inner: Arc<dyn EventListener>) -> Self {
        TimingsRecorder::with_origin(inner, Instant::now())
    }

    /// A recorder whose instants count from `origin` (at or before the first event).
    pub(crate) fn with_origin(inner: Arc<dyn EventListener>, origin: Instant) -> Self {
        TimingsRecorder {
            inner,
            origin,
            call_start: Mark::default(),
            call_end: Mark::default(),
            queued: Phase::default(),
            dns: Phase::default(),
            connect: Phase::default(),
            tls: Phase::default(),
            request_headers: Phase::default(),
            request_body: Phase::default(),
            request_headers_end: Mark::default(),
            request_body_end: Mark::default(),
            response_headers_end: Mark::default(),
            opened_connection: AtomicBool::new(false),
            connection_reused: AtomicU8::new(NOT_ACQUIRED),
            follow_ups: AtomicU16::new(0),
            retries: AtomicU16::new(0),
        }
    }

    /// The listener every event is forwarded to.
    pub fn inner(&self) -> &Arc<dyn EventListener> {
        &self.inner
    }

    /// The timings so far: phases that have not ended yet are `None`.
    pub fn timings(&self) -> Timings {
        let span = |start: Option<u64>, end: Option<u64>| match (start, end) {
            (Some(start), Some(end)) => end.checked_sub(start).map(Duration::from_nanos),
            _ => None,
        };
        let request_sent = match (
            self.request_headers.duration(),
            self.request_body.duration(),
        ) {
            (Some(head), body) => Some(head + body.unwrap_or_default()),
            (None, _) => None,
        };
        let response = self.response_headers_end.get();
        let headers_end = self.request_headers_end.get();
        let request_end = match (headers_end, self.request_body_end.get(), response) {
            // The body ended after this exchange's head and before its response.
            (Some(head), Some(body), Some(response)) if head <= body && body <= response => {
                Some(body)
            }
            _ => headers_end,
        };
        Timings {
            queued: self.queued.duration(),
            dns: self.dns.duration(),
            connect: self.connect.duration(),
            tls: self.tls.duration(),
            request_sent,
            time_to_first_byte: span(request_end, response),
            total: span(self.call_start.get(), self.call_end.get()),
            connection_reused: match self.connection_reused.load(Ordering::Acquire) {
                OPENED => Some(false),
                REUSED => Some(true),
                _ => None,
            },
            follow_ups: u32::from(self.follow_ups.load(Ordering::Acquire)),
            retries: u32::from(self.retries.load(Ordering::Acquire)),
        }
    }

    /// Nanoseconds since the origin, on tokio's clock.
    fn now(&self) -> u64 {
        self.since_origin(Instant::now())
    }

    /// Nanoseconds from the origin to `at`.
    fn since_origin(&self, at: Instant) -> u64 {
        let elapsed = at.saturating_duration_since(self.origin);
        u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
    }

    /// `call_start` at `at`, an instant the caller read for itself.
    pub(crate) fn call_start_at(&self, at: Instant, uri: &http::Uri) {
        self.call_start.set_first(self.since_origin(at));
        self.inner.call_start(uri);
    }

    /// `request_headers_start` and `request_headers_end` at `at`, an instant the caller read
    /// for itself (the exchange does, for its read timeout): one clock read for three uses.
    pub(crate) fn request_headers_at(&self, at: Instant, request: &request::Parts) {
        let at = self.since_origin(at);
        self.request_headers.start(at);
        self.inner.request_headers_start();
        self.request_headers.end(at);
        self.request_headers_end.set(at);
        self.inner.request_headers_end(request);
    }

    /// `response_headers_end` at `at`, an instant the caller read for itself.
    pub(crate) fn response_headers_end_at(&self, at: Instant, response: &response::Parts) {
        self.response_headers_end.set(self.since_origin(at));
        self.inner.response_headers_end(response);
    }
}

impl Default for TimingsRecorder {
    /// A recorder forwarding to no listener.
    fn default() -> Self {
        TimingsRecorder::new(Arc::new(NoEvents))
    }
}

impl std::fmt::Debug for TimingsRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimingsRecorder")
            .field("timings", &self.timings())
            .finish_non_exhaustive()
    }
}

impl EventListener for TimingsRecorder {
    fn call_start(&self, uri: &http::Uri) {
        self.call_start.set_first(self.now());
        self.inner.call_start(uri);
    }
    fn dispatcher_queue_start(&self) {
        self.queued.start(self.now());
        self.inner.dispatcher_queue_start();
    }
    fn dispatcher_queue_end(&self) {
        self.queued.end(self.now());
        self.inner.dispatcher_queue_end();
    }
    fn proxy_select_start(&self, uri: &http::Uri) {
        self.inner.proxy_select_start(uri);
    }
    fn proxy_select_end(&self, uri: &http::Uri, proxies: &[Proxy]) {
        self.inner.proxy_select_end(uri, proxies);
    }
    fn dns_start(&self, host: &str) {
        self.dns.start(self.now());
        self.inner.dns_start(host);
    }
    fn dns_end(&self, host: &str, addresses: &[IpAddr]) {
        self.dns.end(self.now());
        self.inner.dns_end(host, addresses);
    }
    fn connect_start(&self, socket_addr: SocketAddr, proxy: &Proxy) {
        self.connect.start(self.now());
        self.inner.connect_start(socket_addr, proxy);
    }
    fn secure_connect_start(&self) {
        self.tls.start(self.now());
        self.inner.secure_connect_start();
    }
    fn secure_connect_end(&self, handshake: Option<&Handshake>) {
        self.tls.end(self.now());
        self.inner.secure_connect_end(handshake);
    }
    fn connect_end(&self, socket_addr: SocketAddr, proxy: &Proxy, protocol: Option<Protocol>) {
        self.connect.end(self.now());
        if protocol.is_some() {
            self.opened_connection.store(true, Ordering::Release);
        }
        self.inner.connect_end(socket_addr, proxy, protocol);
    }
    fn connect_failed(
        &self,
        socket_addr: SocketAddr,
        proxy: &Proxy,
        protocol: Option<Protocol>,
        error: &Error,
    ) {
        self.connect.end(self.now());
        self.inner
            .connect_failed(socket_addr, proxy, protocol, error);
    }
    fn connection_acquired(&self, connection: &ConnectionInfo) {
        let opened = self.opened_connection.swap(false, Ordering::AcqRel);
        let reused = if opened { OPENED } else { REUSED };
        self.connection_reused.store(reused, Ordering::Release);
        self.inner.connection_acquired(connection);
    }
    fn connection_released(&self, connection: &ConnectionInfo) {
        self.inner.connection_released(connection);
    }
    fn request_headers_start(&self) {
        self.request_headers.start(self.now());
        self.inner.request_headers_start();
    }
    fn request_headers_end(&self, request: &request::Parts) {
        let now = self.now();
        self.request_headers.end(now);
        self.request_headers_end.set(now);
        self.inner.request_headers_end(request);
    }
    fn request_body_start(&self) {
        self.request_body.start(self.now());
        self.inner.request_body_start();
    }
    fn request_body_end(&self, byte_count: u64) {
        let now = self.now();
        self.request_body.end(now);
        self.request_body_end.set(now);
        self.inner.request_body_end(byte_count);
    }
    fn request_failed(&self, error: &Error) {
        self.inner.request_failed(error);
    }
    fn response_headers_start(&self) {
        self.inner.response_headers_start();
    }
    fn informational_response(&self, status: StatusCode, headers: &HeaderMap) {
        self.inner.informational_response(status, headers);
    }
    fn response_headers_end(&self, response: &response::Parts) {
        self.response_headers_end.set(self.now());
        self.inner.response_headers_end(response);
    }
    fn response_body_start(&self) {
        self.inner.response_body_start();
    }
    fn response_body_end(&self, byte_count: u64) {
        self.inner.response_body_end(byte_count);
    }
    fn response_failed(&self, error: &Error) {
        self.inner.response_failed(error);
    }
    fn call_end(&self) {
        self.call_end.set_first(self.now());
        self.inner.call_end();
    }
    fn call_failed(&self, error: &Error) {
        self.call_end.set_first(self.now());
        self.inner.call_failed(error);
    }
    fn canceled(&self) {
        self.inner.canceled();
    }
    fn satisfaction_failure(&self, response: &response::Parts) {
        self.inner.satisfaction_failure(response);
    }
    fn cache_hit(&self, response: &response::Parts) {
        self.inner.cache_hit(response);
    }
    fn cache_miss(&self) {
        self.inner.cache_miss();
    }
    fn cache_conditional_hit(&self, cached: &response::Parts) {
        self.inner.cache_conditional_hit(cached);
    }
    fn retry_decision(&self, error: &Error, retry: bool) {
        if retry {
            count_one(&self.retries);
        }
        self.inner.retry_decision(error, retry);
    }
    fn follow_up_decision(&self, response: &response::Parts, next: Option<&request::Parts>) {
        if next.is_some() {
            count_one(&self.follow_ups);
        }
        self.inner.follow_up_decision(response, next);
    }
}

#[cfg(test)]
#[path = "timings_tests.rs"]
mod tests;

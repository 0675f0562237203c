//! Serving stale responses beyond OkHttp: RFC 5861's `stale-while-revalidate` and
//! `stale-if-error`, as pure decisions.

use std::time::SystemTime;

use http::{StatusCode, request};

use super::cache_control::CacheControl;
use super::entry::CachedResponse;
use super::freshness::{Freshness, ResponseFacts};
use super::strategy::unusable;

/// How the network failed to answer a request whose stored response could stand in.
///
/// ```
/// use http::StatusCode;
/// use oktower::NetworkFailure;
///
/// assert!(NetworkFailure::Error.is_error());
/// assert!(NetworkFailure::Status(StatusCode::BAD_GATEWAY).is_error());
/// assert!(!NetworkFailure::Status(StatusCode::NOT_FOUND).is_error());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NetworkFailure {
    /// No response: DNS, connect, TLS, I/O or timeout failure.
    Error,
    /// The origin answered with this status.
    Status(StatusCode),
}

impl NetworkFailure {
    /// Whether this is an error in RFC 5861's sense: no response, or a 500, 502, 503 or 504.
    pub fn is_error(self) -> bool {
        match self {
            NetworkFailure::Error => true,
            NetworkFailure::Status(status) => matches!(status.as_u16(), 500 | 502 | 503 | 504),
        }
    }
}

/// Whether `cached` may answer `request` at `now` in place of `failure` (RFC 5861 §4,
/// `stale-if-error`), a decision OkHttp does not make.
///
/// Yes when the failure is an error ([`NetworkFailure::is_error`]); the entry could serve the
/// request at all (an HTTPS entry has its handshake, the status is cacheable, nobody said
/// `no-store`); neither the request nor the response says `no-cache`, and the response does
/// not say `must-revalidate` (RFC 9111 §4.2.4: those forbid serving stale); and the entry is
/// stale by at most the `stale-if-error` window, the request's when it has one (the client's
/// permission), else the response's. Without a window the answer is no.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::{Method, Request, Response, Uri};
/// use oktower::{CachedResponse, NetworkFailure, stale_if_error};
///
/// let received = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let (response, ()) = Response::builder()
///     .header("cache-control", "max-age=60, stale-if-error=600")
///     .body(())
///     .unwrap()
///     .into_parts();
/// let entry = CachedResponse::new(Uri::from_static("http://a.test/"), Method::GET, &response)
///     .with_times(received, received);
/// let (request, ()) = Request::get("http://a.test/").body(()).unwrap().into_parts();
///
/// let in_window = received + Duration::from_secs(300);
/// assert!(stale_if_error(in_window, &request, &entry, NetworkFailure::Error));
/// let too_late = received + Duration::from_secs(3600);
/// assert!(!stale_if_error(too_late, &request, &entry, NetworkFailure::Error));
/// ```
pub fn stale_if_error(
    now: SystemTime,
    request: &request::Parts,
    cached: &CachedResponse,
    failure: NetworkFailure,
) -> bool {
    if !failure.is_error() {
        return false;
    }
    let request_caching = CacheControl::parse(&request.headers);
    let facts = ResponseFacts::of(&cached.headers);
    let response_caching = facts.cache_control;
    if unusable(request, &request_caching, cached, &response_caching).is_some()
        || request_caching.no_cache()
        || response_caching.no_cache()
        || response_caching.must_revalidate()
    {
        return false;
    }
    let Some(window) = request_caching
        .stale_if_error()
        .or(response_caching.stale_if_error())
    else {
        return false;
    };
    facts.freshness(cached, now).staleness() <= window
}

/// Whether a stale response may be served at once while it is revalidated in the background
/// (RFC 5861 §3): the response has a `stale-while-revalidate` window it is still within, and
/// nothing forbids serving stale — the response's `no-cache` or `must-revalidate` — or asks
/// for a bound of its own — the request's `max-age` or `min-fresh` (a client that states
/// how fresh it wants the response gets a validated one).
pub(crate) fn within_stale_while_revalidate(
    request_caching: &CacheControl,
    response_caching: &CacheControl,
    freshness: &Freshness,
) -> bool {
    let Some(window) = response_caching.stale_while_revalidate() else {
        return false;
    };
    !response_caching.no_cache()
        && !response_caching.must_revalidate()
        && request_caching.max_age().is_none()
        && request_caching.min_fresh().is_none()
        && freshness.staleness() <= window
}

#[cfg(test)]
#[path = "stale_tests.rs"]
mod tests;

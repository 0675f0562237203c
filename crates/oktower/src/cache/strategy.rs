//! OkHttp's `CacheStrategy`: given a request and a stored response, use the cache, the network,
//! or both (a conditional request).

use std::time::{Duration, SystemTime};

use http::header::{EXPIRES, HeaderName, HeaderValue, IF_MODIFIED_SINCE, IF_NONE_MATCH};
use http::uri::Scheme;
use http::{HeaderMap, StatusCode, request};

use super::cache_control::CacheControl;
use super::entry::CachedResponse;
use super::freshness::{Freshness, ResponseFacts};
use super::outcome::CacheOutcome;
use super::stale;

/// What to do with a request, given what the cache holds for it: OkHttp 5.4's
/// `CacheStrategy.Factory.compute`, with RFC 9111 where OkHttp departs from it.
///
/// [`compute`](Self::compute) is pure: it reads the clock only through `now`, sends nothing,
/// and allocates nothing. The caller (the cache layer) acts on the answer:
///
/// - [`Hit`](Self::Hit) / [`StaleHit`](Self::StaleHit): serve the stored response, no network;
/// - [`StaleWhileRevalidate`](Self::StaleWhileRevalidate): serve it and revalidate in the
///   background (RFC 5861 §3, beyond OkHttp);
/// - [`Conditional`](Self::Conditional): send the request with the [`Condition`] added; a
///   `304` means the stored response is good (merge its headers), anything else replaces it;
/// - [`Network`](Self::Network): send the request as it is;
/// - [`Unsatisfiable`](Self::Unsatisfiable): the request said `only-if-cached` and the cache
///   cannot answer: reply with a synthetic `504 Unsatisfiable Request (only-if-cached)`.
///
/// Departures from OkHttp, after RFC 9111: no `Warning: 110` / `113` headers are added to
/// served responses (RFC 9111 obsoletes `Warning`); [`outcome`](Self::outcome) tells a stale
/// hit from a fresh one instead, and [`Freshness::is_heuristic`] tells a heuristic lifetime. An
/// unreadable `Expires` means "already expired" (§5.3) instead of being ignored. A repeated
/// directive takes its first value (§4.2.1). The `Last-Modified` heuristic applies only to
/// statuses cacheable by default or to `public` responses (§4.2.2).
///
/// The candidate must already match the request (URL, method, `Vary`:
/// [`CachedResponse::matches`]); the strategy judges only its freshness and usability.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::{Method, Request, Response, Uri};
/// use oktower::{CacheStrategy, CachedResponse, Condition};
///
/// let received = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let (response, ()) = Response::builder()
///     .header("cache-control", "max-age=60")
///     .header("etag", "\"v1\"")
///     .body(())
///     .unwrap()
///     .into_parts();
/// let entry = CachedResponse::new(Uri::from_static("http://a.test/"), Method::GET, &response)
///     .with_times(received, received);
/// let (request, ()) = Request::get("http://a.test/").body(()).unwrap().into_parts();
///
/// let soon = CacheStrategy::compute(received + Duration::from_secs(10), &request, Some(&entry));
/// assert!(matches!(soon, CacheStrategy::Hit { .. }));
///
/// let later = CacheStrategy::compute(received + Duration::from_secs(70), &request, Some(&entry));
/// let CacheStrategy::Conditional { condition, .. } = later else { panic!("{later:?}") };
/// assert_eq!(condition, Condition::IfNoneMatch(&"\"v1\"".parse().unwrap()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheStrategy<'a> {
    /// Serve the stored response without the network: it satisfies the request's freshness
    /// needs.
    Hit {
        /// The response to serve.
        cached: &'a CachedResponse,
        /// Its age and lifetime now.
        freshness: Freshness,
    },
    /// Serve the stored response without the network although it is stale (or fresh for
    /// less than the request's `min-fresh`, or older than its `max-age`): the request's
    /// `max-stale` accepts it.
    StaleHit {
        /// The response to serve.
        cached: &'a CachedResponse,
        /// Its age and lifetime now.
        freshness: Freshness,
    },
    /// Serve the stale response now and revalidate it in the background, sending the request
    /// with `condition` (or unconditionally when the response has no validator): the response
    /// is within its `stale-while-revalidate` window (RFC 5861 §3).
    StaleWhileRevalidate {
        /// The response to serve.
        cached: &'a CachedResponse,
        /// Its age and lifetime now.
        freshness: Freshness,
        /// The validator for the background request, if the response has one.
        condition: Option<Condition<'a>>,
    },
    /// Send the request with `condition` added; on a `304`, serve `cached` with merged
    /// headers; on anything else, use the network response.
    Conditional {
        /// The response being validated.
        cached: &'a CachedResponse,
        /// The validator to add to the request.
        condition: Condition<'a>,
    },
    /// Send the request unchanged; the cache has nothing usable.
    Network(NetworkReason),
    /// The request is `only-if-cached` and the cache cannot satisfy it: answer with a
    /// synthetic `504 Unsatisfiable Request (only-if-cached)`.
    Unsatisfiable,
}

/// Why a request goes to the network without the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NetworkReason {
    /// Nothing is stored for the request.
    NoCachedResponse,
    /// The request is HTTPS and the stored response has no TLS handshake.
    MissingHandshake,
    /// The stored response should not have been stored: its status is not cacheable, or it
    /// says `no-store`.
    NotCacheable,
    /// The request says `no-store`.
    RequestNoStore,
    /// The request says `no-cache` (or `Pragma: no-cache`).
    RequestNoCache,
    /// The request carries its own `If-Modified-Since` or `If-None-Match`: the caller
    /// validates, so the cache stays out of it.
    ClientConditions,
    /// The stored response is stale and has no `ETag`, `Last-Modified` or `Date` to validate
    /// it with.
    NoValidator,
}

impl NetworkReason {
    /// Whether the request itself opted out of the cache (`no-store`, `no-cache`, its own
    /// conditions), as opposed to the cache having nothing usable.
    pub fn is_bypass(self) -> bool {
        matches!(
            self,
            NetworkReason::RequestNoStore
                | NetworkReason::RequestNoCache
                | NetworkReason::ClientConditions
        )
    }
}

/// The validator added to a conditional request, borrowed from the stored headers: the
/// `ETag` as `If-None-Match`, else `Last-Modified` (or, lacking it, `Date`) as
/// `If-Modified-Since`, the server's own text unchanged.
///
/// ```
/// use http::HeaderMap;
/// use oktower::Condition;
///
/// let etag = "\"v1\"".parse().unwrap();
/// let mut headers = HeaderMap::new();
/// Condition::IfNoneMatch(&etag).apply_to(&mut headers);
/// assert_eq!(headers["if-none-match"], "\"v1\"");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition<'a> {
    /// `If-None-Match: <ETag>`.
    IfNoneMatch(&'a HeaderValue),
    /// `If-Modified-Since: <Last-Modified or Date>`.
    IfModifiedSince(&'a HeaderValue),
}

impl Condition<'_> {
    /// The request header name.
    pub fn name(&self) -> HeaderName {
        match self {
            Condition::IfNoneMatch(_) => IF_NONE_MATCH,
            Condition::IfModifiedSince(_) => IF_MODIFIED_SINCE,
        }
    }

    /// The value, as the server sent it.
    pub fn value(&self) -> &HeaderValue {
        match self {
            Condition::IfNoneMatch(value) | Condition::IfModifiedSince(value) => value,
        }
    }

    /// Adds the condition to a request's headers.
    pub fn apply_to(&self, headers: &mut HeaderMap) {
        headers.append(self.name(), self.value().clone());
    }
}

impl<'a> CacheStrategy<'a> {
    /// Decides how to answer `request` at `now`, given the stored response that matches it.
    pub fn compute(
        now: SystemTime,
        request: &request::Parts,
        cached: Option<&'a CachedResponse>,
    ) -> CacheStrategy<'a> {
        let request_caching = CacheControl::parse(&request.headers);
        let candidate = candidate(now, request, &request_caching, cached);
        if !request_caching.only_if_cached() {
            return candidate;
        }
        // Forbidden from using the network: serve what may be served, else fail.
        match candidate {
            CacheStrategy::StaleWhileRevalidate {
                cached, freshness, ..
            } => CacheStrategy::StaleHit { cached, freshness },
            CacheStrategy::Conditional { .. } | CacheStrategy::Network(_) => {
                CacheStrategy::Unsatisfiable
            }
            served => served,
        }
    }

    /// Whether `response` to a request with `request_headers` may be stored and later
    /// served (OkHttp's `CacheStrategy.isCacheable`): its status is 200, 203, 204, 300, 301,
    /// 404, 405, 410, 414, 501 or 308, or 302 / 307 with explicit freshness (`Expires`,
    /// `max-age`, `public` or `private`; `s-maxage` is for shared caches); and neither side
    /// says `no-store`. The caller also checks the method and [`has_vary_all`](crate::has_vary_all).
    pub fn is_cacheable(
        status: StatusCode,
        response_headers: &HeaderMap,
        request_headers: &HeaderMap,
    ) -> bool {
        response_is_cacheable(
            status,
            response_headers,
            &CacheControl::parse(response_headers),
        ) && !CacheControl::parse(request_headers).no_store()
    }

    /// The stored response this strategy serves or validates, if any.
    pub fn cached_response(&self) -> Option<&'a CachedResponse> {
        match *self {
            CacheStrategy::Hit { cached, .. }
            | CacheStrategy::StaleHit { cached, .. }
            | CacheStrategy::StaleWhileRevalidate { cached, .. }
            | CacheStrategy::Conditional { cached, .. } => Some(cached),
            CacheStrategy::Network(_) | CacheStrategy::Unsatisfiable => None,
        }
    }

    /// Whether the caller must send a request before answering (a background revalidation
    /// does not count).
    pub fn uses_network(&self) -> bool {
        matches!(
            self,
            CacheStrategy::Conditional { .. } | CacheStrategy::Network(_)
        )
    }

    /// The outcome this strategy settles, or `None` for a conditional request, whose outcome
    /// depends on the answer ([`CacheOutcome::after_validation`]).
    pub fn outcome(&self) -> Option<CacheOutcome> {
        match self {
            CacheStrategy::Hit { .. } => Some(CacheOutcome::Hit),
            CacheStrategy::StaleHit { .. } | CacheStrategy::StaleWhileRevalidate { .. } => {
                Some(CacheOutcome::StaleHit)
            }
            CacheStrategy::Conditional { .. } => None,
            CacheStrategy::Network(reason) if reason.is_bypass() => Some(CacheOutcome::Bypass),
            CacheStrategy::Network(_) => Some(CacheOutcome::Miss),
            CacheStrategy::Unsatisfiable => Some(CacheOutcome::Unsatisfiable),
        }
    }
}

/// Why `cached` cannot serve `request` at all, whatever its freshness.
pub(crate) fn unusable(
    request: &request::Parts,
    request_caching: &CacheControl,
    cached: &CachedResponse,
    response_caching: &CacheControl,
) -> Option<NetworkReason> {
    if request.uri.scheme() == Some(&Scheme::HTTPS) && cached.handshake.is_none() {
        Some(NetworkReason::MissingHandshake)
    } else if !response_is_cacheable(cached.status, &cached.headers, response_caching) {
        Some(NetworkReason::NotCacheable)
    } else if request_caching.no_store() {
        Some(NetworkReason::RequestNoStore)
    } else {
        None
    }
}

/// OkHttp's `computeCandidate`: the strategy as if the request may use the network.
fn candidate<'a>(
    now: SystemTime,
    request: &request::Parts,
    request_caching: &CacheControl,
    cached: Option<&'a CachedResponse>,
) -> CacheStrategy<'a> {
    let Some(cached) = cached else {
        return CacheStrategy::Network(NetworkReason::NoCachedResponse);
    };
    let facts = ResponseFacts::of(&cached.headers);
    let response_caching = facts.cache_control;
    if let Some(reason) = unusable(request, request_caching, cached, &response_caching) {
        return CacheStrategy::Network(reason);
    }
    if request_caching.no_cache() {
        return CacheStrategy::Network(NetworkReason::RequestNoCache);
    }
    if request.headers.contains_key(IF_MODIFIED_SINCE)
        || request.headers.contains_key(IF_NONE_MATCH)
    {
        return CacheStrategy::Network(NetworkReason::ClientConditions);
    }

    let freshness = facts.freshness(cached, now);
    let age = freshness.age();
    let mut fresh = freshness.lifetime();
    if let Some(max_age) = request_caching.max_age() {
        fresh = fresh.min(max_age);
    }
    let min_fresh = request_caching.min_fresh().unwrap_or(Duration::ZERO);
    let max_stale = match request_caching.max_stale() {
        Some(max_stale) if !response_caching.must_revalidate() => max_stale,
        _ => Duration::ZERO,
    };
    let needed = age.saturating_add(min_fresh);
    if !response_caching.no_cache() && needed < fresh.saturating_add(max_stale) {
        return if needed < fresh {
            CacheStrategy::Hit { cached, freshness }
        } else {
            CacheStrategy::StaleHit { cached, freshness }
        };
    }

    let condition = condition(&facts);
    if stale::within_stale_while_revalidate(request_caching, &response_caching, &freshness) {
        return CacheStrategy::StaleWhileRevalidate {
            cached,
            freshness,
            condition,
        };
    }
    match condition {
        Some(condition) => CacheStrategy::Conditional { cached, condition },
        None => CacheStrategy::Network(NetworkReason::NoValidator),
    }
}

/// The validator for a conditional request: `ETag`, else `Last-Modified`, else `Date`.
fn condition<'a>(facts: &ResponseFacts<'a>) -> Option<Condition<'a>> {
    if let Some(etag) = facts.etag {
        Some(Condition::IfNoneMatch(etag))
    } else if let Some((_, last_modified)) = facts.last_modified {
        Some(Condition::IfModifiedSince(last_modified))
    } else {
        facts
            .served
            .map(|(_, date)| Condition::IfModifiedSince(date))
    }
}

/// The response half of OkHttp's `isCacheable`.
fn response_is_cacheable(status: StatusCode, headers: &HeaderMap, caching: &CacheControl) -> bool {
    let status_allows = match status.as_u16() {
        200 | 203 | 204 | 300 | 301 | 404 | 405 | 410 | 414 | 501 | 308 => true,
        302 | 307 => {
            headers.contains_key(EXPIRES)
                || caching.max_age().is_some()
                || caching.is_public()
                || caching.is_private()
        }
        _ => false,
    };
    status_allows && !caching.no_store()
}

#[cfg(test)]
#[path = "strategy_tests/mod.rs"]
mod tests;

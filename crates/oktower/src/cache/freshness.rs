//! Freshness lifetime (RFC 9111 §4.2.1, §4.2.2) and age (§4.2.3) of a stored response.

use std::time::{Duration, SystemTime};

use http::header::{AGE, DATE, ETAG, EXPIRES, HeaderValue, LAST_MODIFIED};
use http::{HeaderMap, StatusCode};

use super::cache_control::{CacheControl, parse_delta_seconds};
use super::entry::CachedResponse;

/// How fresh a stored response is at one moment (RFC 9111 §4.2): its current age against its
/// freshness lifetime.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::{Method, Response, Uri};
/// use oktower::CachedResponse;
///
/// let received = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
/// let (response, ()) = Response::builder()
///     .header("cache-control", "max-age=60")
///     .body(())
///     .unwrap()
///     .into_parts();
/// let entry = CachedResponse::new(Uri::from_static("http://a.test/"), Method::GET, &response)
///     .with_times(received, received);
///
/// let later = entry.freshness(received + Duration::from_secs(90));
/// assert_eq!(later.age(), Duration::from_secs(90));
/// assert_eq!(later.lifetime(), Duration::from_secs(60));
/// assert!(!later.is_fresh());
/// assert_eq!(later.staleness(), Duration::from_secs(30));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Freshness {
    age: Duration,
    lifetime: Duration,
    heuristic: bool,
}

impl Freshness {
    /// The response's current age (RFC 9111 §4.2.3): the age it had when received (the larger
    /// of `Age` and the apparent age from `Date`), plus the time the exchange took, plus the
    /// time it has been stored.
    pub fn age(&self) -> Duration {
        self.age
    }

    /// How long the response stays fresh after it was generated: `max-age`, else `Expires`
    /// minus `Date`, else 10 % of the time since `Last-Modified` (the heuristic), else zero.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Whether the lifetime comes from the `Last-Modified` heuristic.
    pub fn is_heuristic(&self) -> bool {
        self.heuristic
    }

    /// Whether the response is still fresh: its lifetime exceeds its age.
    pub fn is_fresh(&self) -> bool {
        self.lifetime > self.age
    }

    /// How long the response has been stale (zero while fresh).
    pub fn staleness(&self) -> Duration {
        self.age.saturating_sub(self.lifetime)
    }
}

impl CachedResponse {
    /// How fresh the response is at `now`.
    pub fn freshness(&self, now: SystemTime) -> Freshness {
        ResponseFacts::of(&self.headers).freshness(self, now)
    }
}

/// An `Expires` field: absent, unreadable (which RFC 9111 §5.3 says means "already expired";
/// OkHttp ignores it), or a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expires {
    Absent,
    Invalid,
    At(SystemTime),
}

/// What the stored headers say about freshness and validation, read once, allocation free.
/// The first field line of each name counts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ResponseFacts<'a> {
    pub(crate) cache_control: CacheControl,
    /// `Date`, parsed, with its text.
    pub(crate) served: Option<(SystemTime, &'a HeaderValue)>,
    pub(crate) expires: Expires,
    /// `Last-Modified`, parsed, with its text.
    pub(crate) last_modified: Option<(SystemTime, &'a HeaderValue)>,
    pub(crate) etag: Option<&'a HeaderValue>,
    /// `Age` in seconds, if readable.
    pub(crate) age_seconds: Option<u32>,
}

impl<'a> ResponseFacts<'a> {
    pub(crate) fn of(headers: &'a HeaderMap) -> Self {
        let dated = |value: &'a HeaderValue| parse_date(value).map(|date| (date, value));
        ResponseFacts {
            cache_control: CacheControl::parse(headers),
            served: headers.get(DATE).and_then(dated),
            expires: match headers.get(EXPIRES) {
                None => Expires::Absent,
                Some(value) => parse_date(value).map_or(Expires::Invalid, Expires::At),
            },
            last_modified: headers.get(LAST_MODIFIED).and_then(dated),
            etag: headers.get(ETAG),
            age_seconds: headers
                .get(AGE)
                .and_then(|value| parse_delta_seconds(value.as_bytes().trim_ascii())),
        }
    }

    pub(crate) fn freshness(&self, entry: &CachedResponse, now: SystemTime) -> Freshness {
        let (lifetime, heuristic) = self.lifetime(entry);
        Freshness {
            age: self.age(entry, now),
            lifetime,
            heuristic,
        }
    }

    /// The freshness lifetime, and whether it is heuristic.
    fn lifetime(&self, entry: &CachedResponse) -> (Duration, bool) {
        if let Some(max_age) = self.cache_control.max_age() {
            return (max_age, false);
        }
        match self.expires {
            Expires::At(expires) => {
                let served = self.served.map_or(entry.received_at, |(date, _)| date);
                return (elapsed(served, expires), false);
            }
            Expires::Invalid => return (Duration::ZERO, false),
            Expires::Absent => {}
        }
        let heuristic_allowed =
            is_heuristically_cacheable(entry.status) || self.cache_control.is_public();
        // OkHttp (after RFC 2616) uses no heuristic for URLs with a query.
        if let Some((last_modified, _)) = self.last_modified
            && entry.url.query().is_none()
            && heuristic_allowed
        {
            let served = self.served.map_or(entry.sent_at, |(date, _)| date);
            return (elapsed(last_modified, served) / 10, true);
        }
        (Duration::ZERO, false)
    }

    /// The current age at `now`, RFC 9111 §4.2.3.
    fn age(&self, entry: &CachedResponse, now: SystemTime) -> Duration {
        let apparent_age = self
            .served
            .map_or(Duration::ZERO, |(date, _)| elapsed(date, entry.received_at));
        let age_header = Duration::from_secs(u64::from(self.age_seconds.unwrap_or(0)));
        let received_age = apparent_age.max(age_header);
        let response_delay = elapsed(entry.sent_at, entry.received_at);
        let resident_time = elapsed(entry.received_at, now);
        received_age
            .saturating_add(response_delay)
            .saturating_add(resident_time)
    }
}

/// `to - from`, or zero when `to` is earlier.
pub(crate) fn elapsed(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or(Duration::ZERO)
}

/// An HTTP date (IMF-fixdate, RFC 850 or asctime), or `None`.
pub(crate) fn parse_date(value: &HeaderValue) -> Option<SystemTime> {
    httpdate::parse_http_date(value.to_str().ok()?.trim()).ok()
}

/// The codes RFC 9110 §15.1 makes cacheable by default, so a heuristic lifetime may apply.
fn is_heuristically_cacheable(status: StatusCode) -> bool {
    matches!(
        status.as_u16(),
        200 | 203 | 204 | 206 | 300 | 301 | 308 | 404 | 405 | 410 | 414 | 501
    )
}

#[cfg(test)]
#[path = "freshness_tests.rs"]
mod tests;

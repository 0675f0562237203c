//! `Cache-Control` directives, OkHttp's `CacheControl`: parsed leniently from request or
//! response headers, built for requests, rendered back to a header value.

use std::fmt;
use std::time::Duration;

use http::HeaderMap;
use http::header::{CACHE_CONTROL, HeaderValue, PRAGMA};

/// The largest number of seconds a directive holds: `2^31 - 1`. Larger values, and values too
/// large for any integer, saturate to it (RFC 9111 §1.2.2 asks for at least `2^31`; this is
/// also OkHttp's `Int.MAX_VALUE`, so `FORCE_CACHE` renders as OkHttp renders it).
pub(crate) const MAX_DELTA_SECONDS: u32 = i32::MAX as u32;

/// The caching directives of a request or a response.
///
/// Parsed with OkHttp's leniency ([`parse`](Self::parse)): every `Cache-Control` and `Pragma`
/// field line is read, directive names ignore case, values may be quoted, `;` separates like
/// `,`, and unknown directives are skipped. Numbers saturate at `2^31 - 1` seconds, a negative
/// number reads as `0`, and a value that is not a number leaves the directive unset (except
/// `max-stale`, which then means "any staleness"). When a directive appears twice, its first
/// readable value wins (RFC 9111 §4.2.1; OkHttp keeps the last).
///
/// Beyond OkHttp, the RFC 5861 extensions `stale-while-revalidate` and `stale-if-error` are
/// read too.
///
/// Parsing allocates nothing: the value is `Copy`, and [`Display`](fmt::Display) renders it.
///
/// ```
/// use std::time::Duration;
/// use http::HeaderMap;
/// use oktower::CacheControl;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("cache-control", "public, max-age=\"60\"".parse().unwrap());
/// headers.append("cache-control", "must-revalidate".parse().unwrap());
/// let parsed = CacheControl::parse(&headers);
/// assert!(parsed.is_public() && parsed.must_revalidate());
/// assert_eq!(parsed.max_age(), Some(Duration::from_secs(60)));
///
/// let request = CacheControl::builder().max_stale(Duration::from_secs(30)).build();
/// assert_eq!(request.to_string(), "max-stale=30");
/// assert_eq!(CacheControl::FORCE_NETWORK.to_string(), "no-cache");
/// assert_eq!(CacheControl::FORCE_CACHE.to_string(), "max-stale=2147483647, only-if-cached");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CacheControl {
    no_cache: bool,
    no_store: bool,
    max_age: Option<u32>,
    s_max_age: Option<u32>,
    private: bool,
    public: bool,
    must_revalidate: bool,
    max_stale: Option<u32>,
    min_fresh: Option<u32>,
    only_if_cached: bool,
    no_transform: bool,
    immutable: bool,
    stale_while_revalidate: Option<u32>,
    stale_if_error: Option<u32>,
}

impl CacheControl {
    /// A request directive that forces a network response: `no-cache`. A stored response is
    /// not used, not even to validate it.
    pub const FORCE_NETWORK: CacheControl = CacheControl::builder().no_cache().build();

    /// A request directive that forces a cached response, however stale: `only-if-cached,
    /// max-stale=2147483647`. Without a stored response the call gets a `504`.
    pub const FORCE_CACHE: CacheControl = CacheControl::builder()
        .only_if_cached()
        .max_stale(Duration::from_secs(MAX_DELTA_SECONDS as u64))
        .build();

    /// A builder of request directives.
    pub const fn builder() -> CacheControlBuilder {
        CacheControlBuilder {
            inner: CacheControl {
                no_cache: false,
                no_store: false,
                max_age: None,
                s_max_age: None,
                private: false,
                public: false,
                must_revalidate: false,
                max_stale: None,
                min_fresh: None,
                only_if_cached: false,
                no_transform: false,
                immutable: false,
                stale_while_revalidate: None,
                stale_if_error: None,
            },
        }
    }

    /// The directives of every `Cache-Control` and `Pragma` field in `headers`.
    pub fn parse(headers: &HeaderMap) -> CacheControl {
        let mut parsed = CacheControl::default();
        for value in headers.get_all(CACHE_CONTROL) {
            parsed.read_field(value.as_bytes());
        }
        for value in headers.get_all(PRAGMA) {
            parsed.read_field(value.as_bytes());
        }
        parsed
    }

    /// `no-cache`: in a response, a stored copy must be validated before each use; in a
    /// request, the stored copy is not used at all.
    pub fn no_cache(&self) -> bool {
        self.no_cache
    }

    /// `no-store`: nothing of this exchange may be stored.
    pub fn no_store(&self) -> bool {
        self.no_store
    }

    /// `max-age`: in a response, how long it is fresh; in a request, the oldest response the
    /// client accepts.
    pub fn max_age(&self) -> Option<Duration> {
        seconds(self.max_age)
    }

    /// `s-maxage`: the lifetime for shared caches; parsed, but a private cache ignores it.
    pub fn s_max_age(&self) -> Option<Duration> {
        seconds(self.s_max_age)
    }

    /// `private`: only a private cache (like this one) may store the response.
    pub fn is_private(&self) -> bool {
        self.private
    }

    /// `public`: any cache may store the response.
    pub fn is_public(&self) -> bool {
        self.public
    }

    /// `must-revalidate`: once stale, the response must be validated before use; a request's
    /// `max-stale` does not apply.
    pub fn must_revalidate(&self) -> bool {
        self.must_revalidate
    }

    /// `max-stale`: how stale a response the client accepts (`Some(2^31 - 1 seconds)` when the
    /// directive has no value).
    pub fn max_stale(&self) -> Option<Duration> {
        seconds(self.max_stale)
    }

    /// `min-fresh`: how long the response must stay fresh for the client to accept it.
    pub fn min_fresh(&self) -> Option<Duration> {
        seconds(self.min_fresh)
    }

    /// `only-if-cached`: the client wants a stored response or nothing (a `504`).
    pub fn only_if_cached(&self) -> bool {
        self.only_if_cached
    }

    /// `no-transform`: intermediaries must not transform the content.
    pub fn no_transform(&self) -> bool {
        self.no_transform
    }

    /// `immutable`: the content will not change while fresh. Parsed only; like OkHttp, it
    /// does not extend freshness.
    pub fn immutable(&self) -> bool {
        self.immutable
    }

    /// `stale-while-revalidate` (RFC 5861 §3): how long after expiry the response may be
    /// served while it is revalidated in the background.
    pub fn stale_while_revalidate(&self) -> Option<Duration> {
        seconds(self.stale_while_revalidate)
    }

    /// `stale-if-error` (RFC 5861 §4): how long after expiry the response may be served when
    /// the origin fails or answers 500, 502, 503 or 504.
    pub fn stale_if_error(&self) -> Option<Duration> {
        seconds(self.stale_if_error)
    }

    /// Whether no directive is set.
    pub fn is_empty(&self) -> bool {
        *self == CacheControl::default()
    }

    /// The directives as a `Cache-Control` value, or `None` when there are none.
    pub fn to_header_value(&self) -> Option<HeaderValue> {
        if self.is_empty() {
            return None;
        }
        // Only ASCII letters, digits, '-', '=', ',' and spaces are written.
        HeaderValue::from_str(&self.to_string()).ok()
    }

    /// Reads the directives of one field line.
    fn read_field(&mut self, value: &[u8]) {
        let mut pos = 0;
        while pos < value.len() {
            let start = pos;
            pos = index_of_any(value, b"=,;", pos);
            let directive = trim(&value[start..pos]);
            let parameter = if pos == value.len() || value[pos] == b',' || value[pos] == b';' {
                pos += 1;
                None
            } else {
                pos = skip_whitespace(value, pos + 1);
                if pos < value.len() && value[pos] == b'"' {
                    let start = pos + 1;
                    let end = index_of_any(value, b"\"", start);
                    pos = end + 1;
                    Some(&value[start..end])
                } else {
                    let start = pos;
                    pos = index_of_any(value, b",;", pos);
                    Some(trim(&value[start..pos]))
                }
            };
            self.apply(directive, parameter);
        }
    }

    fn apply(&mut self, directive: &[u8], parameter: Option<&[u8]>) {
        let is = |name: &str| directive.eq_ignore_ascii_case(name.as_bytes());
        let delta = parameter.and_then(parse_delta_seconds);
        if is("no-cache") {
            self.no_cache = true;
        } else if is("no-store") {
            self.no_store = true;
        } else if is("max-age") {
            self.max_age = self.max_age.or(delta);
        } else if is("s-maxage") {
            self.s_max_age = self.s_max_age.or(delta);
        } else if is("private") {
            self.private = true;
        } else if is("public") {
            self.public = true;
        } else if is("must-revalidate") {
            self.must_revalidate = true;
        } else if is("max-stale") {
            self.max_stale = self.max_stale.or(Some(delta.unwrap_or(MAX_DELTA_SECONDS)));
        } else if is("min-fresh") {
            self.min_fresh = self.min_fresh.or(delta);
        } else if is("only-if-cached") {
            self.only_if_cached = true;
        } else if is("no-transform") {
            self.no_transform = true;
        } else if is("immutable") {
            self.immutable = true;
        } else if is("stale-while-revalidate") {
            self.stale_while_revalidate = self.stale_while_revalidate.or(delta);
        } else if is("stale-if-error") {
            self.stale_if_error = self.stale_if_error.or(delta);
        }
    }
}

impl fmt::Display for CacheControl {
    /// OkHttp's rendering order, then the RFC 5861 extensions; directives joined by `", "`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = DirectiveWriter { f, first: true };
        out.flag(self.no_cache, "no-cache")?;
        out.flag(self.no_store, "no-store")?;
        out.value(self.max_age, "max-age")?;
        out.value(self.s_max_age, "s-maxage")?;
        out.flag(self.private, "private")?;
        out.flag(self.public, "public")?;
        out.flag(self.must_revalidate, "must-revalidate")?;
        out.value(self.max_stale, "max-stale")?;
        out.value(self.min_fresh, "min-fresh")?;
        out.flag(self.only_if_cached, "only-if-cached")?;
        out.flag(self.no_transform, "no-transform")?;
        out.flag(self.immutable, "immutable")?;
        out.value(self.stale_while_revalidate, "stale-while-revalidate")?;
        out.value(self.stale_if_error, "stale-if-error")
    }
}

/// Writes directives separated by `", "`.
struct DirectiveWriter<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    first: bool,
}

impl DirectiveWriter<'_, '_> {
    fn separator(&mut self) -> fmt::Result {
        if !std::mem::take(&mut self.first) {
            self.f.write_str(", ")?;
        }
        Ok(())
    }

    fn flag(&mut self, on: bool, name: &str) -> fmt::Result {
        if on {
            self.separator()?;
            self.f.write_str(name)?;
        }
        Ok(())
    }

    fn value(&mut self, seconds: Option<u32>, name: &str) -> fmt::Result {
        if let Some(seconds) = seconds {
            self.separator()?;
            write!(self.f, "{name}={seconds}")?;
        }
        Ok(())
    }
}

/// Builds request directives, OkHttp's `CacheControl.Builder`. Durations are truncated to
/// whole seconds and saturate at `2^31 - 1` seconds.
///
/// ```
/// use std::time::Duration;
/// use oktower::CacheControl;
///
/// let directives = CacheControl::builder()
///     .max_age(Duration::from_secs(600))
///     .min_fresh(Duration::from_millis(1_500))
///     .no_transform()
///     .build();
/// assert_eq!(directives.to_string(), "max-age=600, min-fresh=1, no-transform");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CacheControlBuilder {
    inner: CacheControl,
}

impl CacheControlBuilder {
    /// Adds `no-cache`: don't accept an unvalidated stored response.
    pub const fn no_cache(mut self) -> Self {
        self.inner.no_cache = true;
        self
    }

    /// Adds `no-store`: don't store the response.
    pub const fn no_store(mut self) -> Self {
        self.inner.no_store = true;
        self
    }

    /// Adds `max-age`: accept a stored response at most this old.
    pub const fn max_age(mut self, max_age: Duration) -> Self {
        self.inner.max_age = Some(clamp_seconds(max_age));
        self
    }

    /// Adds `max-stale`: accept a stored response stale by at most this much.
    pub const fn max_stale(mut self, max_stale: Duration) -> Self {
        self.inner.max_stale = Some(clamp_seconds(max_stale));
        self
    }

    /// Adds `min-fresh`: accept a stored response only if it stays fresh this much longer.
    pub const fn min_fresh(mut self, min_fresh: Duration) -> Self {
        self.inner.min_fresh = Some(clamp_seconds(min_fresh));
        self
    }

    /// Adds `only-if-cached`: use a stored response or fail with a `504`.
    pub const fn only_if_cached(mut self) -> Self {
        self.inner.only_if_cached = true;
        self
    }

    /// Adds `no-transform`.
    pub const fn no_transform(mut self) -> Self {
        self.inner.no_transform = true;
        self
    }

    /// Adds `immutable`.
    pub const fn immutable(mut self) -> Self {
        self.inner.immutable = true;
        self
    }

    /// Adds `stale-if-error` (RFC 5861): on a network failure or a 5xx, accept a stored
    /// response stale by at most this much.
    pub const fn stale_if_error(mut self, stale_if_error: Duration) -> Self {
        self.inner.stale_if_error = Some(clamp_seconds(stale_if_error));
        self
    }

    /// The directives.
    pub const fn build(self) -> CacheControl {
        self.inner
    }
}

/// Reads a delta-seconds value leniently: digits (an optional `+`) saturate at `2^31 - 1`; a
/// negative number reads as `0`; anything else is `None`.
pub(crate) fn parse_delta_seconds(text: &[u8]) -> Option<u32> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if negative {
        return Some(0);
    }
    let mut value: u32 = 0;
    for digit in digits {
        value = value
            .saturating_mul(10)
            .saturating_add(u32::from(digit - b'0'))
            .min(MAX_DELTA_SECONDS);
    }
    Some(value)
}

const fn clamp_seconds(duration: Duration) -> u32 {
    let seconds = duration.as_secs();
    if seconds > MAX_DELTA_SECONDS as u64 {
        MAX_DELTA_SECONDS
    } else {
        seconds as u32
    }
}

fn seconds(value: Option<u32>) -> Option<Duration> {
    value.map(|seconds| Duration::from_secs(u64::from(seconds)))
}

fn index_of_any(value: &[u8], set: &[u8], from: usize) -> usize {
    value[from..]
        .iter()
        .position(|byte| set.contains(byte))
        .map_or(value.len(), |offset| from + offset)
}

fn skip_whitespace(value: &[u8], from: usize) -> usize {
    let from = from.min(value.len());
    value[from..]
        .iter()
        .position(|byte| *byte != b' ' && *byte != b'\t')
        .map_or(value.len(), |offset| from + offset)
}

fn trim(value: &[u8]) -> &[u8] {
    value.trim_ascii()
}

#[cfg(test)]
#[path = "cache_control_tests.rs"]
mod tests;

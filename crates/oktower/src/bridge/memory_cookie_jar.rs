//! The provided cookie jar: RFC 6265 storage in memory, with the public suffix list enforced.

use std::cmp::Reverse;
use std::fmt;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use cookie_store::{CookieError, CookieStore, RawCookie};
use http::{HeaderValue, Uri};
use time::OffsetDateTime;
use url::Url;

use super::CookieJar;

/// A [`CookieJar`] that keeps cookies in memory for the life of the jar, with the rules of
/// RFC 6265 (on [`cookie_store`](https://docs.rs/cookie_store)) and these safeguards:
///
/// - **Public suffixes** (with the compiled-in list of the [`psl`](https://docs.rs/psl)
///   crate): a cookie whose `Domain` is a public suffix (`com`, `co.uk`, `github.io`) is
///   refused, unless the `Domain` is exactly the request's host, in which case it becomes a
///   host-only cookie (RFC 6265 §5.3 step 5). Only suffixes the list names count: a `Domain`
///   under an unlisted top-level name (`localhost`, `test`) is not refused.
/// - **`Secure`**: a `Secure` cookie is accepted only from an `https` response and sent only
///   over `https` (as OkHttp and RFC 6265bis do; plain `http://localhost` is not an
///   exception).
/// - **Domain and path matching**: a cookie without `Domain` goes back only to the host that
///   set it; with `Domain`, to that domain and its subdomains. A cookie goes only to its path
///   and the paths below it (`/api` matches `/api` and `/api/v1`, not `/apix`); without
///   `Path`, its path is the directory of the URL that set it.
/// - **Expiry**: `Max-Age` (preferred) or `Expires`; a cookie that has expired is no longer
///   sent, and an expired `Set-Cookie` deletes the cookie it names. Cookies without either
///   live as long as the jar.
///
/// Cookies are sent longest path first (RFC 6265 §5.4); cookies with paths of equal length
/// come in no particular order.
///
/// Share one jar between clients with an `Arc`.
///
/// ```
/// use http::{HeaderValue, Uri};
/// use oktower::{CookieJar, MemoryCookieJar};
///
/// let jar = MemoryCookieJar::new();
/// let url: Uri = "https://www.example.co.uk/account".parse().unwrap();
/// let set_cookie = [
///     HeaderValue::from_static("session=abc; Domain=example.co.uk; Path=/; Secure"),
///     HeaderValue::from_static("tracker=1; Domain=co.uk"), // a public suffix: refused
/// ];
/// jar.set_cookies(&url, &mut set_cookie.iter());
///
/// let other: Uri = "https://shop.example.co.uk/".parse().unwrap();
/// assert_eq!(jar.cookies(&other).unwrap(), "session=abc");
/// let elsewhere: Uri = "https://other.co.uk/".parse().unwrap();
/// assert!(jar.cookies(&elsewhere).is_none());
/// ```
#[derive(Default)]
pub struct MemoryCookieJar {
    store: RwLock<CookieStore>,
}

/// Why a `Set-Cookie` was not stored.
#[derive(Debug)]
enum Rejection {
    /// Not UTF-8, or not a cookie.
    Unparsable,
    /// `Secure` from a response that did not come over `https`.
    SecureOverInsecure,
    /// A `Domain` that is a public suffix other than the request's host.
    PublicSuffix,
    /// Refused by the store: a domain mismatch, or an already expired cookie.
    Store(#[cfg_attr(not(test), allow(dead_code, reason = "read by the tests"))] CookieError),
}

/// What RFC 6265 §5.3 step 5 does with a cookie's `Domain` attribute.
#[derive(Debug, PartialEq, Eq)]
enum DomainRule {
    /// Not a public suffix: keep it (the store checks that it domain-matches the host).
    Keep,
    /// A public suffix identical to the request's host: drop the attribute (host-only).
    HostOnly,
    /// A public suffix that is not the request's host: ignore the cookie.
    Reject,
}

impl MemoryCookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores one `Set-Cookie` value as if a response to `url` had sent it; whether it was
    /// accepted. Handy to seed a jar with a session cookie.
    ///
    /// ```
    /// use http::Uri;
    /// use oktower::{CookieJar, MemoryCookieJar};
    ///
    /// let jar = MemoryCookieJar::new();
    /// let url: Uri = "https://example.com/".parse().unwrap();
    /// assert!(jar.add_cookie_str("theme=dark", &url));
    /// assert!(!jar.add_cookie_str("theme=dark; Domain=com", &url));
    /// assert_eq!(jar.cookies(&url).unwrap(), "theme=dark");
    /// ```
    pub fn add_cookie_str(&self, set_cookie: &str, url: &Uri) -> bool {
        let Some(url) = url_of(url) else {
            return false;
        };
        insert(&mut self.write(), set_cookie, &url).is_ok()
    }

    /// Removes every cookie.
    pub fn clear(&self) {
        self.write().clear();
    }

    /// The `Cookie` header for a request to `url` at time `now`.
    fn cookies_at(&self, url: &Uri, now: OffsetDateTime) -> Option<HeaderValue> {
        let url = url_of(url)?;
        let over_https = url.scheme() == "https";
        let store = self.read();
        let mut matching: Vec<_> = store
            .iter_any()
            .filter(|cookie| {
                !cookie.expires_by(&now)
                    && cookie.matches(&url)
                    && (over_https || cookie.secure() != Some(true))
            })
            .collect();
        if matching.is_empty() {
            return None;
        }
        matching.sort_by_key(|cookie| Reverse(cookie.path.len()));
        let mut header = String::new();
        for cookie in matching {
            if !header.is_empty() {
                header.push_str("; ");
            }
            header.push_str(cookie.name());
            header.push('=');
            header.push_str(cookie.value());
        }
        HeaderValue::try_from(header).ok()
    }

    fn read(&self) -> RwLockReadGuard<'_, CookieStore> {
        self.store.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, CookieStore> {
        self.store.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl CookieJar for MemoryCookieJar {
    fn set_cookies(&self, url: &Uri, set_cookie: &mut dyn Iterator<Item = &HeaderValue>) {
        let Some(url) = url_of(url) else {
            return;
        };
        let mut store = self.write();
        for value in set_cookie {
            if let Ok(text) = std::str::from_utf8(value.as_bytes()) {
                // A refused cookie is dropped, as a browser drops it.
                let _ = insert(&mut store, text, &url);
            }
        }
    }

    fn cookies(&self, url: &Uri) -> Option<HeaderValue> {
        self.cookies_at(url, OffsetDateTime::now_utc())
    }
}

impl fmt::Debug for MemoryCookieJar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Cookie values are credentials: show only how many there are.
        f.debug_struct("MemoryCookieJar")
            .field("cookies", &self.read().iter_unexpired().count())
            .finish()
    }
}

/// Stores the cookie `set_cookie` received from `url`, after the checks the store does not
/// make itself.
fn insert(store: &mut CookieStore, set_cookie: &str, url: &Url) -> Result<(), Rejection> {
    let mut cookie = RawCookie::parse(set_cookie).map_err(|_| Rejection::Unparsable)?;
    if cookie.secure() == Some(true) && url.scheme() != "https" {
        return Err(Rejection::SecureOverInsecure);
    }
    if let (Some(domain), Some(host)) = (cookie.domain(), url.host_str()) {
        match domain_rule(&canonical_domain(domain), host) {
            DomainRule::Keep => {}
            DomainRule::HostOnly => cookie.unset_domain(),
            DomainRule::Reject => return Err(Rejection::PublicSuffix),
        }
    }
    store
        .insert_raw(&cookie, url)
        .map(drop)
        .map_err(Rejection::Store)
}

/// RFC 6265 §5.3 step 5 for the canonical `domain` attribute and the request's `host`.
fn domain_rule(domain: &str, host: &str) -> DomainRule {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let is_public_suffix = psl::suffix(domain.as_bytes())
        .is_some_and(|suffix| suffix.is_known() && suffix.as_bytes() == domain.as_bytes());
    if !is_public_suffix {
        DomainRule::Keep
    } else if domain == host {
        DomainRule::HostOnly
    } else {
        DomainRule::Reject
    }
}

/// A `Domain` attribute as the store compares it: IDNA-mapped to lower-case ASCII.
fn canonical_domain(domain: &str) -> String {
    let domain = domain.trim();
    match url::Host::parse(domain) {
        Ok(url::Host::Domain(ascii)) => ascii,
        _ => domain.to_ascii_lowercase(),
    }
}

/// `uri` as the store's URL type; `None` without a scheme and host.
fn url_of(uri: &Uri) -> Option<Url> {
    uri.scheme()?;
    uri.host()?;
    Url::parse(&uri.to_string()).ok()
}

#[cfg(test)]
#[path = "memory_cookie_jar_tests.rs"]
mod tests;

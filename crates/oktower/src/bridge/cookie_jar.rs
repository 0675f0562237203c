//! The cookie policy seam: OkHttp's `CookieJar`.

use std::sync::Arc;

use http::{HeaderValue, Uri};

/// Where the bridge keeps cookies: it hands the jar the `Set-Cookie` headers of every response
/// and asks it for the `Cookie` header of every request (OkHttp's `saveFromResponse` and
/// `loadForRequest`).
///
/// The bridge runs under the follow-up layer, so the jar sees each network exchange: the
/// `Set-Cookie` headers of redirects, `401`s and `304`s too, and each redirected request is
/// asked about with its own URL (a redirect to another host gets that host's cookies only).
///
/// Implementations decide what to accept and what to send back: domain and path matching,
/// `Secure`, expiry, public suffixes. [`MemoryCookieJar`](crate::MemoryCookieJar) does all of
/// that in memory; [`NoCookies`], the default, keeps nothing. Both methods run on every
/// request, so they should be quick, and they must not block on I/O.
///
/// ```
/// use std::sync::Mutex;
/// use http::{HeaderValue, Uri};
/// use oktower::CookieJar;
///
/// /// Sends one fixed cookie everywhere and records what servers set.
/// #[derive(Default)]
/// struct Recording {
///     received: Mutex<Vec<String>>,
/// }
///
/// impl CookieJar for Recording {
///     fn set_cookies(&self, _url: &Uri, set_cookie: &mut dyn Iterator<Item = &HeaderValue>) {
///         let mut received = self.received.lock().unwrap();
///         received.extend(set_cookie.filter_map(|value| value.to_str().ok().map(str::to_owned)));
///     }
///
///     fn cookies(&self, _url: &Uri) -> Option<HeaderValue> {
///         Some(HeaderValue::from_static("session=fixed"))
///     }
/// }
///
/// let jar = Recording::default();
/// let url: Uri = "https://example.com/".parse().unwrap();
/// let header = HeaderValue::from_static("id=1; Path=/");
/// jar.set_cookies(&url, &mut std::iter::once(&header));
/// assert_eq!(*jar.received.lock().unwrap(), ["id=1; Path=/"]);
/// assert_eq!(jar.cookies(&url).unwrap(), "session=fixed");
/// ```
pub trait CookieJar: Send + Sync {
    /// Takes the `Set-Cookie` header values of a response to a request for `url`. Called only
    /// when the response has at least one. Cookies the jar refuses are dropped silently, as a
    /// browser drops them.
    fn set_cookies(&self, url: &Uri, set_cookie: &mut dyn Iterator<Item = &HeaderValue>);

    /// The `Cookie` header value (`name=value; name2=value2`) to send with a request for
    /// `url`, or `None` to send no cookies.
    fn cookies(&self, url: &Uri) -> Option<HeaderValue>;
}

impl<T: CookieJar + ?Sized> CookieJar for Arc<T> {
    fn set_cookies(&self, url: &Uri, set_cookie: &mut dyn Iterator<Item = &HeaderValue>) {
        (**self).set_cookies(url, set_cookie);
    }

    fn cookies(&self, url: &Uri) -> Option<HeaderValue> {
        (**self).cookies(url)
    }
}

/// The default [`CookieJar`]: accepts no cookies and sends none (OkHttp's `NO_COOKIES`).
///
/// ```
/// use http::{HeaderValue, Uri};
/// use oktower::{CookieJar, NoCookies};
///
/// let url: Uri = "https://example.com/".parse().unwrap();
/// let header = HeaderValue::from_static("id=1");
/// NoCookies.set_cookies(&url, &mut std::iter::once(&header));
/// assert!(NoCookies.cookies(&url).is_none());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoCookies;

impl CookieJar for NoCookies {
    fn set_cookies(&self, _url: &Uri, _set_cookie: &mut dyn Iterator<Item = &HeaderValue>) {}

    fn cookies(&self, _url: &Uri) -> Option<HeaderValue> {
        None
    }
}

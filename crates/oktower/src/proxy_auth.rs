//! Authenticating to HTTP proxies, OkHttp's `proxyAuthenticator`.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::header::{HeaderValue, PROXY_AUTHENTICATE};
use http::response;

use crate::{ProxyCredentials, Route};

/// The `Proxy-Authenticate` value of the synthetic `407` an authenticator is shown before each
/// `CONNECT`, so that it can authenticate preemptively (OkHttp's `"OkHttp-Preemptive"`).
pub const PREEMPTIVE_CHALLENGE: &str = "OkHttp-Preemptive";

/// Answers an HTTP proxy's `407 Proxy Authentication Required` with the `Proxy-Authorization`
/// value to retry with, or `None` to give up.
///
/// For `CONNECT` tunnels it is asked twice over:
///
/// - before each `CONNECT`, with a synthetic `407` whose `Proxy-Authenticate` is
///   [`PREEMPTIVE_CHALLENGE`] (see [`is_preemptive`]): an answer is sent with the first
///   `CONNECT`, `None` sends it without credentials. (Not asked when the proxy has
///   [credentials](crate::ProxyCredentials) of its own: those are sent preemptively as
///   `Basic`.)
/// - for each real `407`: `None` fails the connection with "Failed to authenticate with proxy";
///   a value is sent with the next `CONNECT`, at most 21 in all.
///
/// Only the proxy ever sees the value: a tunnel's `CONNECT` carries no application headers.
///
/// ```
/// use http::HeaderValue;
/// use oktower::{ProxyAuthenticator, Route, is_preemptive};
///
/// /// A token for the proxy, sent only when the proxy asks for it.
/// struct Token(HeaderValue);
///
/// impl ProxyAuthenticator for Token {
///     fn authenticate(&self, _route: &Route, response: &http::response::Parts) -> Option<HeaderValue> {
///         if is_preemptive(response) {
///             None
///         } else {
///             Some(self.0.clone())
///         }
///     }
/// }
/// # let _ = Token(HeaderValue::from_static("Bearer t"));
/// ```
pub trait ProxyAuthenticator: Send + Sync + 'static {
    /// The `Proxy-Authorization` value to send through `route`'s proxy after `response` (a
    /// `407` head), or `None` to give up.
    fn authenticate(&self, route: &Route, response: &response::Parts) -> Option<HeaderValue>;
}

impl<T: ProxyAuthenticator + ?Sized> ProxyAuthenticator for std::sync::Arc<T> {
    fn authenticate(&self, route: &Route, response: &response::Parts) -> Option<HeaderValue> {
        (**self).authenticate(route, response)
    }
}

/// Whether `response` is the synthetic challenge shown before a `CONNECT` (see
/// [`ProxyAuthenticator`]) rather than a proxy's real `407`.
pub fn is_preemptive(response: &response::Parts) -> bool {
    response
        .headers
        .get_all(PROXY_AUTHENTICATE)
        .iter()
        .any(|value| value.as_bytes() == PREEMPTIVE_CHALLENGE.as_bytes())
}

/// An authenticator that never authenticates (OkHttp's `Authenticator.NONE`), the default.
///
/// ```
/// use oktower::{NoProxyAuth, ProxyAuthenticator};
/// # use std::sync::Arc;
/// # use oktower::{Address, NoProxy, Proxy, Route, Scheme, SystemDns};
/// # let address = Address::builder(Scheme::Https, "a.test", 443, Arc::new(SystemDns), Arc::new(NoProxy)).build();
/// # let route = Route::new(address, Proxy::http("127.0.0.1", 3128), "127.0.0.1:3128".parse().unwrap());
/// let (challenge, ()) = http::Response::builder().status(407).body(()).unwrap().into_parts();
/// assert!(NoProxyAuth.authenticate(&route, &challenge).is_none());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProxyAuth;

impl ProxyAuthenticator for NoProxyAuth {
    fn authenticate(&self, _route: &Route, _response: &response::Parts) -> Option<HeaderValue> {
        None
    }
}

/// HTTP Basic authentication to the proxy with fixed credentials (encoded as UTF-8): sent
/// preemptively before each `CONNECT`, and in answer to every `407` that offers a `Basic`
/// challenge (`None` when the proxy only offers other schemes).
///
/// It answers every time with the same value, as OkHttp's authenticators commonly do, so a
/// proxy that keeps refusing it is tried until the tunnel's 21-attempt limit.
///
/// ```
/// use oktower::BasicProxyAuth;
///
/// let auth = BasicProxyAuth::new("user", "pass");
/// assert_eq!(auth.header_value(), "Basic dXNlcjpwYXNz");
/// ```
#[derive(Clone)]
pub struct BasicProxyAuth {
    value: HeaderValue,
}

impl BasicProxyAuth {
    /// Basic authentication as `username` with `password`.
    pub fn new(username: &str, password: &str) -> Self {
        BasicProxyAuth {
            value: basic_value(username, password),
        }
    }

    /// Basic authentication with `credentials`.
    pub fn from_credentials(credentials: &ProxyCredentials) -> Self {
        BasicProxyAuth::new(&credentials.username, &credentials.password)
    }

    /// The `Proxy-Authorization` value sent: `Basic base64(username:password)`.
    pub fn header_value(&self) -> &HeaderValue {
        &self.value
    }
}

impl ProxyAuthenticator for BasicProxyAuth {
    fn authenticate(&self, _route: &Route, response: &response::Parts) -> Option<HeaderValue> {
        let basic_offered = response
            .headers
            .get_all(PROXY_AUTHENTICATE)
            .iter()
            .any(|value| offers_basic(value.as_bytes()));
        (is_preemptive(response) || basic_offered).then(|| self.value.clone())
    }
}

impl fmt::Debug for BasicProxyAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicProxyAuth")
            .field("value", &"<redacted>")
            .finish()
    }
}

/// `Basic base64(username:password)`, marked sensitive.
pub(crate) fn basic_value(username: &str, password: &str) -> HeaderValue {
    let encoded = STANDARD.encode(format!("{username}:{password}"));
    let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
        .expect("\"Basic \" and base64 are visible ASCII, a valid header value");
    value.set_sensitive(true);
    value
}

/// Whether a `Proxy-Authenticate` value offers the `Basic` scheme: one of its comma-separated
/// challenges starts with the token `Basic`.
fn offers_basic(value: &[u8]) -> bool {
    value.split(|&b| b == b',').any(|challenge| {
        let challenge = challenge.trim_ascii_start();
        let scheme_end = challenge
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(challenge.len());
        challenge[..scheme_end].eq_ignore_ascii_case(b"basic")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, NoProxy, Proxy, Scheme, SystemDns};
    use std::sync::Arc;

    fn route() -> Route {
        let address = Address::builder(
            Scheme::Https,
            "a.test",
            443,
            Arc::new(SystemDns),
            Arc::new(NoProxy),
        );
        let proxy = Proxy::http("127.0.0.1", 3128);
        Route::new(address.build(), proxy, "127.0.0.1:3128".parse().unwrap())
    }

    fn challenge(values: &[&str]) -> response::Parts {
        let mut builder = http::Response::builder().status(407);
        for value in values {
            builder = builder.header(PROXY_AUTHENTICATE, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn basic_answers_preemptive_and_basic_challenges_only() {
        let auth = BasicProxyAuth::new("Aladdin", "open sesame");
        let expected = "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==";
        assert_eq!(auth.header_value(), expected);
        assert!(auth.header_value().is_sensitive());
        let route = route();
        let answer = |values: &[&str]| auth.authenticate(&route, &challenge(values));
        assert_eq!(answer(&[PREEMPTIVE_CHALLENGE]).unwrap(), expected);
        assert_eq!(answer(&["Basic realm=\"proxy\""]).unwrap(), expected);
        assert_eq!(answer(&["basic"]).unwrap(), expected);
        assert_eq!(
            answer(&["Digest realm=\"a\", nonce=\"b\", Basic realm=\"c\""]).unwrap(),
            expected
        );
        assert_eq!(
            answer(&["Digest realm=\"p\"", "Basic realm=\"p\""]).unwrap(),
            expected
        );
        assert!(answer(&["Digest realm=\"proxy\", nonce=\"n\""]).is_none());
        assert!(answer(&["Basicish realm=\"proxy\""]).is_none());
        assert!(answer(&[]).is_none());
        assert!(!format!("{auth:?}").contains("QWxh"));
    }

    #[test]
    fn credentials_encode_as_utf8() {
        let credentials = ProxyCredentials {
            username: "us\u{e9}r".to_owned(),
            password: "p:w".to_owned(),
        };
        let auth = BasicProxyAuth::from_credentials(&credentials);
        assert_eq!(auth.header_value(), "Basic dXPDqXI6cDp3");
    }
}

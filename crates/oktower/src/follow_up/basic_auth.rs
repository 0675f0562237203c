//! HTTP Basic authentication (RFC 7617) for origin servers.

use std::fmt;

use http::HeaderMap;
use http::header::{AUTHORIZATION, HeaderValue};

use crate::proxy_auth::basic_value;
use crate::{AuthContext, AuthFuture, Authenticator};

/// Answers a `401` that offers the `Basic` scheme with fixed credentials (encoded as UTF-8,
/// RFC 7617's `charset="UTF-8"`), once: when the refused request already carried these
/// credentials, it gives up, so wrong credentials end in the `401` instead of 20 retries.
/// Other schemes (`Digest`, `Bearer`, ...) are declined.
///
/// ```
/// use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
/// use oktower::{AuthContext, Authenticator, BasicAuthenticator};
///
/// let auth = BasicAuthenticator::new("Aladdin", "open sesame");
/// assert_eq!(auth.header_value(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
///
/// let (request, ()) = http::Request::get("https://a.test/").body(()).unwrap().into_parts();
/// let (response, ()) = http::Response::builder()
///     .status(401)
///     .header(WWW_AUTHENTICATE, "Basic realm=\"staff\"")
///     .body(())
///     .unwrap()
///     .into_parts();
/// let answer = auth.authenticate(&AuthContext::new(&request, &response, None));
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let headers = runtime.block_on(answer).unwrap().unwrap();
/// assert_eq!(headers[AUTHORIZATION], "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
/// ```
#[derive(Clone)]
pub struct BasicAuthenticator {
    value: HeaderValue,
}

impl BasicAuthenticator {
    /// Basic authentication as `username` with `password`.
    pub fn new(username: &str, password: &str) -> Self {
        BasicAuthenticator {
            value: basic_value(username, password),
        }
    }

    /// The `Authorization` value sent: `Basic base64(username:password)`, marked sensitive.
    pub fn header_value(&self) -> &HeaderValue {
        &self.value
    }
}

impl Authenticator for BasicAuthenticator {
    fn authenticate(&self, context: &AuthContext<'_>) -> AuthFuture {
        let offered = context
            .challenges()
            .iter()
            .any(|challenge| challenge.is_scheme("Basic"));
        if !offered || context.authorization() == Some(&self.value) {
            return AuthFuture::give_up();
        }
        let mut headers = HeaderMap::with_capacity(1);
        headers.insert(AUTHORIZATION, self.value.clone());
        AuthFuture::headers(headers)
    }
}

impl fmt::Debug for BasicAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuthenticator")
            .field("value", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{PROXY_AUTHENTICATE, WWW_AUTHENTICATE};

    fn answer(
        auth: &BasicAuthenticator,
        sent: Option<&str>,
        status: u16,
        challenges: &[&str],
    ) -> Option<HeaderMap> {
        let mut request = http::Request::get("https://a.test/");
        if let Some(sent) = sent {
            request = request.header(AUTHORIZATION, sent);
        }
        let (request, ()) = request.body(()).unwrap().into_parts();
        let mut response = http::Response::builder().status(status);
        for challenge in challenges {
            response = response
                .header(WWW_AUTHENTICATE, *challenge)
                .header(PROXY_AUTHENTICATE, *challenge);
        }
        let (response, ()) = response.body(()).unwrap().into_parts();
        auth.authenticate(&AuthContext::new(&request, &response, None))
            .now_or_later()
            .unwrap()
            .unwrap()
    }

    #[test]
    fn answers_basic_challenges_once() {
        let auth = BasicAuthenticator::new("user", "pass");
        let expected = "Basic dXNlcjpwYXNz";
        let headers = answer(&auth, None, 401, &["Basic realm=\"a\""]).unwrap();
        assert_eq!(headers[AUTHORIZATION], expected);
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(headers.len(), 1);
        // Other credentials were refused: try these.
        let headers = answer(&auth, Some("Basic b3RoZXI6eA=="), 401, &["basic"]).unwrap();
        assert_eq!(headers[AUTHORIZATION], expected);
        // These credentials were refused: give up.
        assert!(answer(&auth, Some(expected), 401, &["Basic realm=\"a\""]).is_none());
        // Basic among several challenges.
        let several = [
            "Digest realm=\"a\", nonce=\"n\"",
            "Negotiate, Basic realm=\"b\"",
        ];
        assert!(answer(&auth, None, 401, &several).is_some());
    }

    #[test]
    fn declines_other_schemes_and_no_challenge() {
        let auth = BasicAuthenticator::new("user", "pass");
        assert!(answer(&auth, None, 401, &["Digest realm=\"a\", nonce=\"n\""]).is_none());
        assert!(answer(&auth, None, 401, &["Bearer"]).is_none());
        assert!(answer(&auth, None, 401, &["Basicish realm=a"]).is_none());
        assert!(answer(&auth, None, 401, &[]).is_none());
        // A 200 has no challenges to answer.
        assert!(answer(&auth, None, 200, &["Basic realm=a"]).is_none());
    }

    #[test]
    fn debug_hides_credentials() {
        let auth = BasicAuthenticator::new("user", "pass");
        assert!(!format!("{auth:?}").contains("dXNl"));
    }
}

//! Bearer token authentication (RFC 6750) for origin servers.

use std::fmt;
use std::sync::Arc;

use http::HeaderMap;
use http::header::{AUTHORIZATION, HeaderValue};

use crate::{AuthContext, AuthFuture, Authenticator, Error, ErrorKind};

/// Supplies the bearer token a [`BearerAuthenticator`] sends.
///
/// Asked after each `401` the authenticator answers, with the token the server just refused
/// (`None` when the refused request carried no bearer token): return a fresh token, or `None`
/// to give up. The answer may be computed later (a refresh over the network) with
/// [`AuthFuture::new`].
///
/// A fixed token is a provider: `String` and `&'static str` answer with themselves, and give
/// up once they were refused.
///
/// ```
/// use std::sync::Mutex;
/// use oktower::{AuthFuture, TokenProvider};
///
/// /// Hands out the next token of a list each time one is refused.
/// struct Rotating(Mutex<Vec<String>>);
///
/// impl TokenProvider for Rotating {
///     fn token(&self, _refused: Option<&str>) -> AuthFuture<Option<String>> {
///         AuthFuture::ready(self.0.lock().unwrap().pop())
///     }
/// }
/// let rotating = Rotating(Mutex::new(vec!["t2".to_owned(), "t1".to_owned()]));
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert_eq!(runtime.block_on(rotating.token(None)).unwrap().as_deref(), Some("t1"));
/// ```
pub trait TokenProvider: Send + Sync + 'static {
    /// The token to send after `refused` was refused, or `None` to give up.
    fn token(&self, refused: Option<&str>) -> AuthFuture<Option<String>>;
}

impl<T: TokenProvider + ?Sized> TokenProvider for Arc<T> {
    fn token(&self, refused: Option<&str>) -> AuthFuture<Option<String>> {
        (**self).token(refused)
    }
}

impl TokenProvider for String {
    fn token(&self, refused: Option<&str>) -> AuthFuture<Option<String>> {
        AuthFuture::ready((refused != Some(self.as_str())).then(|| self.clone()))
    }
}

impl TokenProvider for &'static str {
    fn token(&self, refused: Option<&str>) -> AuthFuture<Option<String>> {
        AuthFuture::ready((refused != Some(*self)).then(|| (*self).to_owned()))
    }
}

/// Answers a `401` with `Authorization: Bearer <token>` from a [`TokenProvider`].
///
/// It answers when the response offers the `Bearer` scheme, or offers no challenge at all
/// (many APIs send a bare `401`), and declines other schemes. It gives up when the provider
/// has no token, or returns the very token that was just refused (which would loop). A token
/// that cannot be a header value fails the call with an [`ErrorKind::Builder`] error.
///
/// ```
/// use http::header::AUTHORIZATION;
/// use oktower::{AuthContext, Authenticator, BearerAuthenticator};
///
/// let auth = BearerAuthenticator::new("t0ken");
/// let (request, ()) = http::Request::get("https://api.test/").body(()).unwrap().into_parts();
/// let (response, ()) = http::Response::builder().status(401).body(()).unwrap().into_parts();
/// let answer = auth.authenticate(&AuthContext::new(&request, &response, None));
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let headers = runtime.block_on(answer).unwrap().unwrap();
/// assert_eq!(headers[AUTHORIZATION], "Bearer t0ken");
/// ```
#[derive(Clone)]
pub struct BearerAuthenticator {
    provider: Arc<dyn TokenProvider>,
}

impl BearerAuthenticator {
    /// Bearer authentication with tokens from `provider`.
    pub fn new(provider: impl TokenProvider) -> Self {
        BearerAuthenticator {
            provider: Arc::new(provider),
        }
    }
}

impl Authenticator for BearerAuthenticator {
    fn authenticate(&self, context: &AuthContext<'_>) -> AuthFuture {
        let challenges = context.challenges();
        let offered = challenges.is_empty()
            || challenges
                .iter()
                .any(|challenge| challenge.is_scheme("Bearer"));
        if !offered {
            return AuthFuture::give_up();
        }
        let refused = context.authorization().and_then(bearer_token);
        let refused_owned = refused.map(str::to_owned);
        self.provider.token(refused).and_then(move |token| {
            let Some(token) = token.filter(|token| Some(token) != refused_owned.as_ref()) else {
                return Ok(None);
            };
            let mut value = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
                Error::new(
                    ErrorKind::Builder,
                    "the bearer token is not a valid header value",
                )
            })?;
            value.set_sensitive(true);
            let mut headers = HeaderMap::with_capacity(1);
            headers.insert(AUTHORIZATION, value);
            Ok(Some(headers))
        })
    }
}

/// The token of a `Bearer <token>` authorization.
fn bearer_token(authorization: &HeaderValue) -> Option<&str> {
    let value = authorization.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("Bearer")
        .then(|| token.trim_start())
}

impl fmt::Debug for BearerAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerAuthenticator")
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::WWW_AUTHENTICATE;
    use std::sync::Mutex;

    fn context_parts(
        sent: Option<&str>,
        challenges: &[&str],
    ) -> (http::request::Parts, http::response::Parts) {
        let mut request = http::Request::get("https://api.test/");
        if let Some(sent) = sent {
            request = request.header(AUTHORIZATION, sent);
        }
        let mut response = http::Response::builder().status(401);
        for challenge in challenges {
            response = response.header(WWW_AUTHENTICATE, *challenge);
        }
        (
            request.body(()).unwrap().into_parts().0,
            response.body(()).unwrap().into_parts().0,
        )
    }

    async fn answer(
        auth: &BearerAuthenticator,
        sent: Option<&str>,
        challenges: &[&str],
    ) -> Result<Option<HeaderMap>, Error> {
        let (request, response) = context_parts(sent, challenges);
        auth.authenticate(&AuthContext::new(&request, &response, None))
            .await
    }

    #[tokio::test]
    async fn fixed_tokens_are_sent_once() {
        let auth = BearerAuthenticator::new("abc");
        let headers = answer(&auth, None, &["Bearer realm=\"api\""])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(headers[AUTHORIZATION], "Bearer abc");
        assert!(headers[AUTHORIZATION].is_sensitive());
        // A bare 401 is answered too.
        assert!(answer(&auth, None, &[]).await.unwrap().is_some());
        // A stale token is replaced.
        assert!(
            answer(&auth, Some("Bearer old"), &["Bearer"])
                .await
                .unwrap()
                .is_some()
        );
        // The same token was refused: give up.
        assert!(
            answer(&auth, Some("Bearer abc"), &["Bearer"])
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            answer(&auth, Some("bearer  abc"), &["Bearer"])
                .await
                .unwrap()
                .is_none()
        );
        let owned = BearerAuthenticator::new("xyz".to_owned());
        assert!(
            answer(&owned, Some("Bearer xyz"), &[])
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            answer(&owned, Some("Basic xyz"), &[])
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn other_schemes_are_declined() {
        let auth = BearerAuthenticator::new("abc");
        assert!(
            answer(&auth, None, &["Basic realm=a"])
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            answer(&auth, None, &["Basic realm=a, Bearer"])
                .await
                .unwrap()
                .is_some()
        );
    }

    /// Refreshes asynchronously and records what it was told was refused.
    struct Refreshing {
        refused: Mutex<Vec<Option<String>>>,
        next: &'static str,
    }

    impl TokenProvider for Refreshing {
        fn token(&self, refused: Option<&str>) -> AuthFuture<Option<String>> {
            self.refused
                .lock()
                .unwrap()
                .push(refused.map(str::to_owned));
            let next = self.next;
            AuthFuture::new(async move {
                tokio::task::yield_now().await;
                Ok(Some(next.to_owned()))
            })
        }
    }

    #[tokio::test]
    async fn providers_may_refresh_later_and_hear_the_refused_token() {
        let provider = Arc::new(Refreshing {
            refused: Mutex::new(Vec::new()),
            next: "fresh",
        });
        let auth = BearerAuthenticator::new(provider.clone());
        let headers = answer(
            &auth,
            Some("Bearer stale"),
            &["Bearer error=\"invalid_token\""],
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(headers[AUTHORIZATION], "Bearer fresh");
        assert!(answer(&auth, None, &[]).await.unwrap().is_some());
        // Returning the refused token again gives up.
        assert!(
            answer(&auth, Some("Bearer fresh"), &[])
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(
            *provider.refused.lock().unwrap(),
            vec![Some("stale".to_owned()), None, Some("fresh".to_owned())]
        );
    }

    #[tokio::test]
    async fn invalid_tokens_fail_the_call() {
        let auth = BearerAuthenticator::new("bad\ntoken");
        let error = answer(&auth, None, &[]).await.unwrap_err();
        assert!(error.is_builder());
        assert!(format!("{auth:?}").starts_with("BearerAuthenticator"));
    }
}

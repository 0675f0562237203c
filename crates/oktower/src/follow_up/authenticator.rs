//! Answering `401 Unauthorized`, OkHttp's `Authenticator`.

use std::sync::Arc;

use http::header::{AUTHORIZATION, HeaderValue};
use http::{request, response};

use crate::{AuthFuture, Challenge, Route};

/// Answers a `401 Unauthorized` with the headers to retry the request with (usually
/// `Authorization`), or gives up, in which case the `401` is the call's response.
///
/// The follow-up layer asks it for every `401` while the call may follow up (each retry counts
/// toward the 20 follow-ups of a call) and only when the request body can be sent again (see
/// [`ReplayBody`](crate::ReplayBody)). The answer's headers replace the request's values for
/// the same names; everything else of the request is sent again unchanged.
///
/// Unlike OkHttp's `Authenticator`, which returns a whole new request, this one returns only
/// headers: the body stays with the follow-up layer, which knows whether it can be replayed.
/// The answer is an [`AuthFuture`]: free when known at once (the common case), a boxed future
/// when it needs I/O, such as refreshing a token.
///
/// `407 Proxy Authentication Required` goes to the
/// [`ProxyAuthenticator`](crate::ProxyAuthenticator) instead, the one CONNECT tunnels use.
///
/// An authenticator should give up when the request already carried the credentials it would
/// send, or a server that keeps refusing them is asked 20 times. [`BasicAuthenticator`] and
/// [`BearerAuthenticator`] do.
///
/// [`BasicAuthenticator`]: crate::BasicAuthenticator
/// [`BearerAuthenticator`]: crate::BearerAuthenticator
///
/// ```
/// use http::header::{AUTHORIZATION, HeaderMap, HeaderValue};
/// use oktower::{AuthContext, AuthFuture, Authenticator};
///
/// /// Sends an API key, once, to servers that ask for the `ApiKey` scheme.
/// struct ApiKey(HeaderValue);
///
/// impl Authenticator for ApiKey {
///     fn authenticate(&self, context: &AuthContext<'_>) -> AuthFuture {
///         let asked = context.challenges().iter().any(|c| c.is_scheme("ApiKey"));
///         if !asked || context.authorization() == Some(&self.0) {
///             return AuthFuture::give_up();
///         }
///         let mut headers = HeaderMap::new();
///         headers.insert(AUTHORIZATION, self.0.clone());
///         AuthFuture::headers(headers)
///     }
/// }
///
/// let (request, ()) = http::Request::get("https://api.test/").body(()).unwrap().into_parts();
/// let (response, ()) = http::Response::builder()
///     .status(401)
///     .header("WWW-Authenticate", "ApiKey realm=\"api\"")
///     .body(())
///     .unwrap()
///     .into_parts();
/// let key = ApiKey(HeaderValue::from_static("ApiKey k-123"));
/// let context = AuthContext::new(&request, &response, None);
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let headers = runtime.block_on(key.authenticate(&context)).unwrap().unwrap();
/// assert_eq!(headers[AUTHORIZATION], "ApiKey k-123");
/// ```
pub trait Authenticator: Send + Sync + 'static {
    /// The headers to retry with after the `401` in `context`, or `None` to give up.
    fn authenticate(&self, context: &AuthContext<'_>) -> AuthFuture;
}

impl<T: Authenticator + ?Sized> Authenticator for Arc<T> {
    fn authenticate(&self, context: &AuthContext<'_>) -> AuthFuture {
        (**self).authenticate(context)
    }
}

/// What an [`Authenticator`] is shown: the request that was refused (its head), the `401`
/// response (its head) and, when known, the route of the connection it came on.
#[derive(Clone, Copy, Debug)]
pub struct AuthContext<'a> {
    request: &'a request::Parts,
    response: &'a response::Parts,
    route: Option<&'a Route>,
}

impl<'a> AuthContext<'a> {
    /// A context for `response`, the answer to `request` over `route`.
    pub fn new(
        request: &'a request::Parts,
        response: &'a response::Parts,
        route: Option<&'a Route>,
    ) -> Self {
        AuthContext {
            request,
            response,
            route,
        }
    }

    /// The head of the request that was refused.
    pub fn request(&self) -> &'a request::Parts {
        self.request
    }

    /// The head of the refusing response.
    pub fn response(&self) -> &'a response::Parts {
        self.response
    }

    /// The route of the connection the response came on, when the layers below said (they put
    /// a [`ConnectionInfo`](crate::ConnectionInfo) in the response's extensions).
    pub fn route(&self) -> Option<&'a Route> {
        self.route
    }

    /// The response's challenges (`WWW-Authenticate` of a `401`, `Proxy-Authenticate` of a
    /// `407`).
    pub fn challenges(&self) -> Vec<Challenge> {
        Challenge::of_response(self.response)
    }

    /// The `Authorization` the refused request carried, if any: credentials that were just
    /// refused.
    pub fn authorization(&self) -> Option<&'a HeaderValue> {
        self.request.headers.get(AUTHORIZATION)
    }
}

/// Never authenticates (OkHttp's `Authenticator.NONE`), the default: a `401` is the call's
/// response.
///
/// ```
/// use oktower::{AuthContext, Authenticator, NoAuthenticator};
///
/// let (request, ()) = http::Request::new(()).into_parts();
/// let (response, ()) = http::Response::builder().status(401).body(()).unwrap().into_parts();
/// let answer = NoAuthenticator.authenticate(&AuthContext::new(&request, &response, None));
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert!(runtime.block_on(answer).unwrap().is_none());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoAuthenticator;

impl Authenticator for NoAuthenticator {
    fn authenticate(&self, _context: &AuthContext<'_>) -> AuthFuture {
        AuthFuture::give_up()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Address, NoProxy, Proxy, Scheme, SystemDns};
    use http::header::WWW_AUTHENTICATE;

    #[test]
    fn context_exposes_heads_route_and_challenges() {
        let (request, ()) = http::Request::get("https://a.test/")
            .header(AUTHORIZATION, "Basic old")
            .body(())
            .unwrap()
            .into_parts();
        let (response, ()) = http::Response::builder()
            .status(401)
            .header(WWW_AUTHENTICATE, "Basic realm=a, Bearer")
            .body(())
            .unwrap()
            .into_parts();
        let address = Address::builder(
            Scheme::Https,
            "a.test",
            443,
            Arc::new(SystemDns),
            Arc::new(NoProxy),
        )
        .build();
        let route = Route::new(address, Proxy::Direct, "127.0.0.1:443".parse().unwrap());
        let context = AuthContext::new(&request, &response, Some(&route));
        assert_eq!(context.request().uri, "https://a.test/");
        assert_eq!(context.response().status, 401);
        assert_eq!(context.route(), Some(&route));
        assert_eq!(context.authorization().unwrap(), "Basic old");
        let schemes: Vec<_> = context
            .challenges()
            .iter()
            .map(|c| c.scheme().to_owned())
            .collect();
        assert_eq!(schemes, ["Basic", "Bearer"]);
    }

    #[test]
    fn no_authenticator_gives_up_and_arcs_delegate() {
        let (request, ()) = http::Request::new(()).into_parts();
        let (response, ()) = http::Response::builder()
            .status(401)
            .header(WWW_AUTHENTICATE, "Basic realm=a")
            .body(())
            .unwrap()
            .into_parts();
        let context = AuthContext::new(&request, &response, None);
        let shared: Arc<dyn Authenticator> = Arc::new(NoAuthenticator);
        for answer in [
            NoAuthenticator.authenticate(&context),
            shared.authenticate(&context),
        ] {
            assert!(answer.now_or_later().unwrap().unwrap().is_none());
        }
    }
}

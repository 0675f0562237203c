//! `Dispatched<S>`: the dispatcher's service.

use std::borrow::Cow;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::{Dispatcher, ResponseBody, ResponseFuture};
use crate::uri_authority::HostPort;
use crate::{CallContext, Error, NoEvents};

/// Sends each request through `S` once the [`Dispatcher`] gives it a slot, and holds the slot
/// until the response body ends, fails or is dropped (or the call fails). Made by
/// [`DispatcherLayer`](super::DispatcherLayer).
///
/// Always ready: a call takes its place in the queue when `call` is invoked, and `S` is
/// cloned for it and made ready only after the call is admitted, so waiting calls never hold
/// the inner service's readiness (a connection permit, a buffer slot).
///
/// A request without a [`CallContext`] gets one (with no event listener), so that
/// [`Dispatcher::cancel_all`] can reach it and the layers below see its cancellation.
///
/// ```
/// use oktower::{Dispatched, Dispatcher, Error};
/// use tower::{Service, ServiceExt};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let dispatcher = Dispatcher::new();
/// let inner = tower::service_fn(|_request: http::Request<()>| async {
///     Ok::<_, Error>(http::Response::new(http_body_util::Full::new(bytes::Bytes::from("hi"))))
/// });
/// let mut service = Dispatched::new(inner, dispatcher.clone());
/// let request = http::Request::get("http://a.test/").body(()).unwrap();
/// let response = service.ready().await.unwrap().call(request).await.unwrap();
/// // The call holds its slot until its body is read to the end or dropped.
/// assert_eq!(dispatcher.running_calls_count(), 1);
/// drop(response);
/// assert_eq!(dispatcher.running_calls_count(), 0);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct Dispatched<S> {
    inner: S,
    dispatcher: Dispatcher,
}

impl<S> Dispatched<S> {
    /// `inner`, admitting its calls through `dispatcher`.
    pub fn new(inner: S, dispatcher: Dispatcher) -> Self {
        Dispatched { inner, dispatcher }
    }

    /// The dispatcher.
    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, RB> Service<Request<B>> for Dispatched<S>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Error> + Clone,
    RB: http_body::Body,
{
    type Response = Response<ResponseBody<RB>>;
    type Error = Error;
    type Future = ResponseFuture<S, B>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let context = match CallContext::of(request.extensions()) {
            Some(context) => context.clone(),
            None => {
                let context = CallContext::new(Arc::new(NoEvents));
                request.extensions_mut().insert(context.clone());
                context
            }
        };
        let (registration, admitted) = self
            .dispatcher
            .shared()
            .arrive(request.uri(), context.clone());
        // A queued call waits for its cancellation too; an admitted one needs not.
        let queued = (!admitted).then_some(context);
        ResponseFuture::new(registration, queued, self.inner.clone(), request)
    }
}

/// The key a call counts against: the host of its URI's `authority`, lower-cased (borrowed
/// when it already is), or `""` without one. The host is what [`http::Uri::host`] returns
/// (after any `user@`, up to the port; an IPv6 literal with its brackets), as the shared
/// [`HostPort`] split finds it.
pub(super) fn host_key(authority: &str) -> Cow<'_, str> {
    let host = HostPort::host_of(authority);
    if host.bytes().any(|byte| byte.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

#[cfg(test)]
mod tests {
    use super::host_key;

    fn authority_of(uri: &http::Uri) -> &str {
        uri.authority().map_or("", |authority| authority.as_str())
    }

    proptest::proptest! {
        /// Any authority `http` accepts, made of the characters that matter to the split and
        /// to the case: the key is `http`'s host, lower-cased.
        #[test]
        fn any_authority_gives_http_host_lower_cased(text in "[a-cA-C0-9@:\\[\\]]{0,16}") {
            let Ok(parsed) = format!("http://{text}/").parse::<http::Uri>() else {
                return Ok(());
            };
            let expected = parsed.host().unwrap_or("").to_ascii_lowercase();
            proptest::prop_assert_eq!(host_key(authority_of(&parsed)), expected);
        }
    }

    /// `host_key` finds the same host as `http::Uri::host`, lower-cased.
    #[test]
    fn host_key_matches_uri_host_lower_cased() {
        for uri in [
            "http://a.test/",
            "http://A.Test:8080/x",
            "https://user:pw@Example.COM:443/",
            "http://u@v@host.test/",
            "http://[::1]:80/",
            "http://[FE80::1]/",
            "http://xn--bcher-kva.test/",
            "http://h/",
            "/relative/only",
            "http://127.0.0.1:9/",
            "http://Upper.Test/",
            "http://user:Pass@Host.Test:81/",
            "http://user@[::1]:8080/",
            "http://a:1@b/",
        ] {
            let parsed: http::Uri = uri.parse().unwrap();
            let expected = parsed.host().unwrap_or("").to_ascii_lowercase();
            let key = host_key(authority_of(&parsed));
            assert_eq!(key, expected, "{uri}");
            let lower = !parsed
                .host()
                .unwrap_or("")
                .bytes()
                .any(|b| b.is_ascii_uppercase());
            assert_eq!(matches!(key, std::borrow::Cow::Borrowed(_)), lower, "{uri}");
        }
    }
}

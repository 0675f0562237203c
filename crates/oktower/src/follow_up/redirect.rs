//! Building the request that follows a redirect (OkHttp's `buildRedirectRequest`), pure.

use http::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, COOKIE, HOST, LOCATION, PROXY_AUTHORIZATION,
    TRANSFER_ENCODING,
};
use http::{Method, StatusCode, Uri, request, response};
use url::Url;

use super::decision::Policy;

/// The request a redirect leads to.
#[derive(Debug)]
pub(crate) struct Redirect {
    /// Its head: the previous request's, with the new URI and method and without the headers
    /// that must not follow.
    pub(crate) head: request::Parts,
    /// Whether the previous request's body is sent again; if not, an empty body is.
    pub(crate) keep_body: bool,
}

/// The request that follows `response`, a 300, 301, 302, 303, 307 or 308 answer to `request`,
/// or `None` when the redirect is not followed and the response is final:
///
/// - redirects are off (`follow_redirects`);
/// - there is no `Location`, it is not UTF-8 or not a URL, or it resolves (against the request
///   URI) to a scheme other than `http` and `https`;
/// - it switches between `http` and `https` while `follow_ssl_redirects` is off;
/// - the request URI is not absolute (nothing to resolve against, no origin to compare).
///
/// The method and body change as OkHttp 5.4's: `GET` and `HEAD` stay as they are; 307 and 308
/// keep any method and its body; `PROPFIND` keeps its method and body; any other method becomes
/// `GET` without a body, and then `Content-Length`, `Content-Type` and `Transfer-Encoding` go.
///
/// Beyond OkHttp, for the user's credentials: when the origin (scheme, host, port) changes,
/// `Authorization`, `Cookie` and `Proxy-Authorization` are removed (OkHttp removes only
/// `Authorization`; cookies from a cookie jar are added again, for the new URL, by the bridge
/// layer below), and so is `Host`, which named the old origin. With
/// `keep_authorization_on_https_upgrade`, `Authorization` stays on a same-host `http` to
/// `https` redirect.
pub(crate) fn redirect(
    request: &request::Parts,
    response: &response::Parts,
    policy: &Policy,
) -> Option<Redirect> {
    if !policy.follow_redirects {
        return None;
    }
    let location = response.headers.get_all(LOCATION).iter().next_back()?;
    let location = std::str::from_utf8(location.as_bytes()).ok()?;
    let base = absolute_url(&request.uri)?;
    let mut target = base.join(location).ok()?;
    if !matches!(target.scheme(), "http" | "https") {
        return None;
    }
    target.set_fragment(None);
    let uri: Uri = target.as_str().parse().ok()?;
    if target.scheme() != base.scheme() && !policy.follow_ssl_redirects {
        return None;
    }

    let mut head = request.clone();
    let mut keep_body = true;
    if permits_request_body(&head.method) {
        let code = response.status;
        let keeps_method_and_body = head.method.as_str() == "PROPFIND"
            || code == StatusCode::TEMPORARY_REDIRECT
            || code == StatusCode::PERMANENT_REDIRECT;
        if !keeps_method_and_body {
            head.method = Method::GET;
            keep_body = false;
            head.headers.remove(TRANSFER_ENCODING);
            head.headers.remove(CONTENT_LENGTH);
            head.headers.remove(CONTENT_TYPE);
        }
    }

    if target.origin() != base.origin() {
        let https_upgrade =
            base.scheme() == "http" && target.scheme() == "https" && base.host() == target.host();
        if !(https_upgrade && policy.keep_authorization_on_https_upgrade) {
            head.headers.remove(AUTHORIZATION);
        }
        head.headers.remove(COOKIE);
        head.headers.remove(PROXY_AUTHORIZATION);
        head.headers.remove(HOST);
    }
    head.uri = uri;
    Some(Redirect { head, keep_body })
}

/// Whether `method` may carry a body (OkHttp's `HttpMethod.permitsRequestBody`): all but `GET`
/// and `HEAD`.
fn permits_request_body(method: &Method) -> bool {
    method != Method::GET && method != Method::HEAD
}

/// `uri` as a URL, when it is absolute.
fn absolute_url(uri: &Uri) -> Option<Url> {
    uri.scheme()?;
    uri.authority()?;
    Url::parse(&uri.to_string()).ok()
}

#[cfg(test)]
mod tests;

//! The responses a call followed up before its final one.

use std::fmt;
use std::sync::Arc;

use http::{HeaderMap, Method, StatusCode, Uri, Version, response};

/// A response the follow-up layer did not return but followed up (a redirect, an
/// authentication challenge, a 408, 421 or 503 it retried), OkHttp's `priorResponse`.
///
/// The final response carries the newest one in its extensions; each links to the one before
/// it, so the chain reads newest first and ends at the call's first response. Only the heads
/// are kept (status, version, headers, and the method and URI of the request that got the
/// response): bodies were closed before the next request was sent, and extensions are not kept
/// (they may hold what lower layers attached to the exchange). Cheap to clone.
///
/// ```
/// use oktower::PriorResponse;
///
/// fn redirect_chain<B>(response: &http::Response<B>) -> Vec<String> {
///     PriorResponse::of(response)
///         .map(|prior| prior.iter().map(|p| format!("{} {}", p.status().as_u16(), p.uri())).collect())
///         .unwrap_or_default()
/// }
/// assert!(redirect_chain(&http::Response::new(())).is_empty());
/// ```
#[derive(Clone)]
pub struct PriorResponse {
    inner: Arc<Inner>,
}

struct Inner {
    method: Method,
    uri: Uri,
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    prior: Option<PriorResponse>,
}

impl PriorResponse {
    /// The head of a response to `method uri`, linked to the response before it.
    pub(crate) fn new(
        method: Method,
        uri: Uri,
        head: response::Parts,
        prior: Option<PriorResponse>,
    ) -> Self {
        PriorResponse {
            inner: Arc::new(Inner {
                method,
                uri,
                status: head.status,
                version: head.version,
                headers: head.headers,
                prior,
            }),
        }
    }

    /// The response `response` followed up last, if any.
    pub fn of<B>(response: &http::Response<B>) -> Option<&PriorResponse> {
        response.extensions().get::<PriorResponse>()
    }

    /// Its status.
    pub fn status(&self) -> StatusCode {
        self.inner.status
    }

    /// Its HTTP version.
    pub fn version(&self) -> Version {
        self.inner.version
    }

    /// Its headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// The method of the request it answered.
    pub fn method(&self) -> &Method {
        &self.inner.method
    }

    /// The URI of the request it answered.
    pub fn uri(&self) -> &Uri {
        &self.inner.uri
    }

    /// The response followed up before this one, if any.
    pub fn prior_response(&self) -> Option<&PriorResponse> {
        self.inner.prior.as_ref()
    }

    /// This response and those before it, newest first.
    pub fn iter(&self) -> impl Iterator<Item = &PriorResponse> {
        std::iter::successors(Some(self), |prior| prior.prior_response())
    }
}

impl fmt::Debug for PriorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PriorResponse")
            .field("method", &self.inner.method)
            .field("uri", &self.inner.uri)
            .field("status", &self.inner.status)
            .field("version", &self.inner.version)
            .field("headers", &self.inner.headers)
            .field("prior", &self.inner.prior)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(status: u16) -> response::Parts {
        http::Response::builder()
            .status(status)
            .header("location", format!("/{status}"))
            .version(Version::HTTP_2)
            .extension(7u8)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    #[test]
    fn chains_read_newest_first() {
        let first = PriorResponse::new(
            Method::POST,
            "http://a.test/1".parse().unwrap(),
            head(302),
            None,
        );
        let second = PriorResponse::new(
            Method::GET,
            "http://a.test/2".parse().unwrap(),
            head(401),
            Some(first),
        );
        assert_eq!(second.status(), 401);
        assert_eq!(second.version(), Version::HTTP_2);
        assert_eq!(second.headers()["location"], "/401");
        assert_eq!(second.method(), Method::GET);
        assert_eq!(second.prior_response().unwrap().method(), Method::POST);
        let walked: Vec<_> = second
            .iter()
            .map(|p| (p.status().as_u16(), p.uri().path().to_owned()))
            .collect();
        assert_eq!(walked, [(401, "/2".to_owned()), (302, "/1".to_owned())]);
        assert!(format!("{second:?}").contains("302"));

        let mut response = http::Response::new(());
        assert!(PriorResponse::of(&response).is_none());
        response.extensions_mut().insert(second.clone());
        assert_eq!(PriorResponse::of(&response).unwrap().iter().count(), 2);
    }
}

/// The URL that answered a call's final response, in the response's extensions when the call
/// followed at least one redirect or other follow-up (otherwise it is the request's URL).
///
/// ```
/// use oktower::follow_up::FinalUri;
///
/// let mut response = http::Response::new(());
/// response.extensions_mut().insert(FinalUri("https://b.test/".parse().unwrap()));
/// assert_eq!(response.extensions().get::<FinalUri>().unwrap().0, "https://b.test/");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalUri(pub Uri);

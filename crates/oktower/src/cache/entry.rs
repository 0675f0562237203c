//! What the cache keeps of a response besides its body, OkHttp's `Cache.Entry`.

use std::time::SystemTime;

use http::{HeaderMap, Method, Response, StatusCode, Uri, Version, response};

use super::{uri, vary};
use crate::Handshake;

/// A stored response without its body: the URL and method it answers, the request header
/// values its `Vary` names, the status, version and headers, when the request was sent and
/// the response received (local clock), and for HTTPS the TLS handshake.
///
/// [`encode`](Self::encode) and [`decode`](Self::decode) turn it into the bytes a store keeps.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use http::{HeaderMap, Method, Response, Uri};
/// use oktower::CachedResponse;
///
/// let mut request_headers = HeaderMap::new();
/// request_headers.insert("accept-language", "fr-CA".parse().unwrap());
/// let (response, ()) = Response::builder()
///     .header("cache-control", "max-age=60")
///     .header("vary", "Accept-Language")
///     .body(())
///     .unwrap()
///     .into_parts();
/// let sent = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// let entry = CachedResponse::new(Uri::from_static("http://a.test/"), Method::GET, &response)
///     .with_vary_headers_from(&request_headers)
///     .with_times(sent, sent + Duration::from_millis(40));
///
/// assert_eq!(entry.vary_headers()["accept-language"], "fr-CA");
/// assert!(entry.matches(&Uri::from_static("http://a.test/"), &Method::GET, &request_headers));
/// assert_eq!(CachedResponse::decode(&entry.encode()).unwrap(), entry);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedResponse {
    pub(super) url: Uri,
    pub(super) method: Method,
    pub(super) vary_headers: HeaderMap,
    pub(super) status: StatusCode,
    pub(super) version: Version,
    pub(super) headers: HeaderMap,
    pub(super) sent_at: SystemTime,
    pub(super) received_at: SystemTime,
    pub(super) handshake: Option<Handshake>,
}

impl CachedResponse {
    /// An entry for `response`, answering `method` on `url` (the URL it is cached under:
    /// the request's, or its [`CacheUrlOverride`](crate::CacheUrlOverride), with the method
    /// the lookup uses, GET). Both times start at the Unix epoch and there is no handshake
    /// until set.
    pub fn new(url: Uri, method: Method, response: &response::Parts) -> Self {
        CachedResponse {
            url,
            method,
            vary_headers: HeaderMap::new(),
            status: response.status,
            version: response.version,
            headers: response.headers.clone(),
            sent_at: SystemTime::UNIX_EPOCH,
            received_at: SystemTime::UNIX_EPOCH,
            handshake: None,
        }
    }

    /// Keeps the values that `request_headers` (the headers sent on the network, so those a
    /// lower layer added take part) has for the fields the response's `Vary` names.
    pub fn with_vary_headers_from(mut self, request_headers: &HeaderMap) -> Self {
        self.vary_headers = vary::varying_request_headers(&self.headers, request_headers);
        self
    }

    /// Sets the stored varying request headers as they are.
    pub fn with_vary_headers(mut self, vary_headers: HeaderMap) -> Self {
        self.vary_headers = vary_headers;
        self
    }

    /// Sets when the request was sent and the response received, by the local clock.
    pub fn with_times(mut self, sent_at: SystemTime, received_at: SystemTime) -> Self {
        self.sent_at = sent_at;
        self.received_at = received_at;
        self
    }

    /// Sets the TLS handshake of the connection the response came on.
    pub fn with_handshake(mut self, handshake: Option<Handshake>) -> Self {
        self.handshake = handshake;
        self
    }

    /// The URL the entry answers.
    pub fn url(&self) -> &Uri {
        &self.url
    }

    /// The request method the entry answers.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The request header values the response varies on.
    pub fn vary_headers(&self) -> &HeaderMap {
        &self.vary_headers
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response's HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The response headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// When the request was sent, by the local clock.
    pub fn sent_at(&self) -> SystemTime {
        self.sent_at
    }

    /// When the response was received, by the local clock.
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }

    /// The TLS handshake, for a response that came over HTTPS.
    pub fn handshake(&self) -> Option<&Handshake> {
        self.handshake.as_ref()
    }

    /// Whether the entry answers a request for `method` on `url` with `request_headers`
    /// (OkHttp's `Entry.matches`): the same resource, the same method, and for every field
    /// the stored `Vary` names, the same values in the same order.
    pub fn matches(&self, url: &Uri, method: &Method, request_headers: &HeaderMap) -> bool {
        uri::same_resource(&self.url, url)
            && self.method == method
            && vary::vary_matches(&self.headers, &self.vary_headers, request_headers)
    }

    /// The response head to serve: status, version and headers, with `Handshake` in the
    /// extensions when there is one. The caller attaches the stored body.
    pub fn to_response(&self) -> Response<()> {
        let mut response = Response::new(());
        *response.status_mut() = self.status;
        *response.version_mut() = self.version;
        *response.headers_mut() = self.headers.clone();
        if let Some(handshake) = &self.handshake {
            response.extensions_mut().insert(handshake.clone());
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use http::header::{ACCEPT_ENCODING, ACCEPT_LANGUAGE};
    use rustls::{CipherSuite, ProtocolVersion};

    use super::*;

    fn response(headers: &[(&str, &str)]) -> response::Parts {
        let mut builder = Response::builder().status(203).version(Version::HTTP_2);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn new_entry_copies_the_response_head() {
        let parts = response(&[("content-type", "text/plain")]);
        let entry = CachedResponse::new(Uri::from_static("http://a.test/x"), Method::GET, &parts);
        assert_eq!(entry.status(), StatusCode::NON_AUTHORITATIVE_INFORMATION);
        assert_eq!(entry.version(), Version::HTTP_2);
        assert_eq!(entry.headers()["content-type"], "text/plain");
        assert_eq!(entry.url(), "http://a.test/x");
        assert_eq!(entry.method(), Method::GET);
        assert_eq!(entry.sent_at(), SystemTime::UNIX_EPOCH);
        assert!(entry.handshake().is_none());
        assert!(entry.vary_headers().is_empty());
    }

    #[test]
    fn varying_request_headers_are_taken_from_the_network_request() {
        let parts = response(&[("vary", "Accept-Encoding, accept-language")]);
        let mut request = HeaderMap::new();
        request.insert(ACCEPT_ENCODING, "gzip".parse().unwrap());
        request.append(ACCEPT_LANGUAGE, "fr".parse().unwrap());
        request.append(ACCEPT_LANGUAGE, "en".parse().unwrap());
        request.insert("user-agent", "x".parse().unwrap());
        let entry = CachedResponse::new(Uri::from_static("http://a.test/"), Method::GET, &parts)
            .with_vary_headers_from(&request);
        assert_eq!(entry.vary_headers().len(), 3);
        let languages: Vec<_> = entry
            .vary_headers()
            .get_all(ACCEPT_LANGUAGE)
            .iter()
            .collect();
        assert_eq!(languages, ["fr", "en"]);
        assert!(!entry.vary_headers().contains_key("user-agent"));
    }

    #[test]
    fn matches_requires_same_resource_method_and_vary_values() {
        let parts = response(&[("vary", "Accept-Language")]);
        let mut request = HeaderMap::new();
        request.insert(ACCEPT_LANGUAGE, "fr".parse().unwrap());
        let url = Uri::from_static("http://a.test/x");
        let entry =
            CachedResponse::new(url.clone(), Method::GET, &parts).with_vary_headers_from(&request);
        assert!(entry.matches(&url, &Method::GET, &request));
        assert!(entry.matches(
            &Uri::from_static("HTTP://A.test:80/x"),
            &Method::GET,
            &request
        ));
        assert!(!entry.matches(&url, &Method::HEAD, &request));
        assert!(!entry.matches(&Uri::from_static("http://a.test/y"), &Method::GET, &request));
        let mut other = HeaderMap::new();
        other.insert(ACCEPT_LANGUAGE, "en".parse().unwrap());
        assert!(!entry.matches(&url, &Method::GET, &other));
    }

    #[test]
    fn response_head_carries_status_headers_and_handshake() {
        let handshake = Handshake::new(
            ProtocolVersion::TLSv1_3,
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            Vec::new(),
            Vec::new(),
        );
        let parts = response(&[("etag", "\"v1\"")]);
        let sent = SystemTime::UNIX_EPOCH + Duration::from_secs(5);
        let entry = CachedResponse::new(Uri::from_static("https://a.test/"), Method::GET, &parts)
            .with_times(sent, sent + Duration::from_secs(1))
            .with_handshake(Some(handshake.clone()));
        let head = entry.to_response();
        assert_eq!(head.status(), StatusCode::NON_AUTHORITATIVE_INFORMATION);
        assert_eq!(head.version(), Version::HTTP_2);
        assert_eq!(head.headers()["etag"], "\"v1\"");
        assert_eq!(head.extensions().get::<Handshake>(), Some(&handshake));
        assert_eq!(entry.received_at(), sent + Duration::from_secs(1));
    }
}

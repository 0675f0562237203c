//! Invalidation after unsafe requests (RFC 9111 §4.4).

use http::header::{CONTENT_LOCATION, LOCATION};
use http::{HeaderMap, Method, Uri, request};

use super::uri;

/// Whether a request with `method` invalidates stored responses: every method that is not
/// safe. Safe are GET, HEAD, OPTIONS and TRACE (RFC 9110 §9.2.1), QUERY, and WebDAV's
/// PROPFIND, REPORT and SEARCH; everything else, known or not, invalidates (OkHttp lists POST,
/// PATCH, PUT, DELETE and MOVE; RFC 9111 §4.4 says any unsafe method).
///
/// ```
/// use http::Method;
/// use oktower::invalidates_cache;
///
/// assert!(invalidates_cache(&Method::POST));
/// assert!(invalidates_cache(&Method::from_bytes(b"MOVE").unwrap()));
/// assert!(!invalidates_cache(&Method::GET));
/// ```
pub fn invalidates_cache(method: &Method) -> bool {
    !matches!(
        method.as_str(),
        "GET" | "HEAD" | "OPTIONS" | "TRACE" | "QUERY" | "PROPFIND" | "REPORT" | "SEARCH"
    )
}

/// The URLs whose stored responses an unsafe `request` invalidates once a response with
/// `response_headers` arrives, whatever its status (RFC 9111 §4.4 requires it for non-error
/// statuses; OkHttp, and this cache, invalidate on errors too, since the request may have
/// changed the resource anyway): the request's own URL, then the `Location` and
/// `Content-Location` URLs, resolved against it, when they have the same origin (scheme, host
/// and port) — a server must not be able to evict another origin's entries. Each URL appears
/// once. Empty for a safe method.
///
/// The cache layer calls this when it did not store the response; a POST carrying a
/// [`CacheUrlOverride`](crate::CacheUrlOverride) whose response was stored is a cacheable
/// query, not an update.
///
/// ```
/// use http::{HeaderMap, Request};
/// use oktower::{CacheKey, invalidated_uris};
///
/// let (request, ()) = Request::post("https://a.test/items").body(()).unwrap().into_parts();
/// let mut response = HeaderMap::new();
/// response.insert("location", "/items/7".parse().unwrap());
/// response.insert("content-location", "https://other.test/items/7".parse().unwrap());
///
/// let urls = invalidated_uris(&request, &response);
/// assert_eq!(urls, ["https://a.test/items", "https://a.test/items/7"]);
/// let keys: Vec<CacheKey> = urls.iter().map(CacheKey::for_uri).collect();
/// assert_eq!(keys.len(), 2);
/// ```
pub fn invalidated_uris(request: &request::Parts, response_headers: &HeaderMap) -> Vec<Uri> {
    if !invalidates_cache(&request.method) {
        return Vec::new();
    }
    let mut urls = vec![request.uri.clone()];
    for name in [LOCATION, CONTENT_LOCATION] {
        let Some(reference) = response_headers
            .get(name)
            .and_then(|value| value.to_str().ok())
        else {
            continue;
        };
        let Some(target) = uri::resolve(&request.uri, reference) else {
            continue;
        };
        if uri::same_origin(&request.uri, &target)
            && !urls.iter().any(|url| uri::same_resource(url, &target))
        {
            urls.push(target);
        }
    }
    urls
}

#[cfg(test)]
mod tests {
    use http::{HeaderValue, Request};

    use super::*;

    fn request(method: &str, url: &str) -> request::Parts {
        Request::builder()
            .method(method)
            .uri(url)
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn unsafe_methods_invalidate() {
        for method in [
            "POST", "PUT", "PATCH", "DELETE", "MOVE", "COPY", "CONNECT", "PURGE",
        ] {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert!(invalidates_cache(&method), "{method}");
        }
    }

    #[test]
    fn safe_methods_do_not_invalidate() {
        for method in [
            "GET", "HEAD", "OPTIONS", "TRACE", "QUERY", "PROPFIND", "REPORT", "SEARCH",
        ] {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert!(!invalidates_cache(&method), "{method}");
            let parts = request(method.as_str(), "http://a.test/x");
            assert!(invalidated_uris(&parts, &headers(&[("location", "/y")])).is_empty());
        }
    }

    #[test]
    fn unsafe_request_invalidates_its_own_url() {
        for method in ["POST", "PUT", "PATCH", "DELETE"] {
            let parts = request(method, "http://a.test/x?q=1");
            assert_eq!(
                invalidated_uris(&parts, &HeaderMap::new()),
                ["http://a.test/x?q=1"]
            );
        }
    }

    #[test]
    fn same_origin_location_and_content_location_are_invalidated() {
        let parts = request("PUT", "https://a.test/items/7");
        let response = headers(&[
            ("location", "https://A.TEST:443/items/7/v2"),
            ("content-location", "../list"),
        ]);
        assert_eq!(
            invalidated_uris(&parts, &response),
            [
                "https://a.test/items/7",
                "https://A.TEST:443/items/7/v2",
                "https://a.test/list"
            ]
        );
    }

    #[test]
    fn other_origins_are_never_invalidated() {
        let parts = request("POST", "https://a.test/items");
        let response = headers(&[
            ("location", "http://a.test/items/1"),
            ("content-location", "https://a.test:8443/items/1"),
        ]);
        assert_eq!(
            invalidated_uris(&parts, &response),
            ["https://a.test/items"]
        );
        let response = headers(&[("location", "//evil.test/items/1")]);
        assert_eq!(
            invalidated_uris(&parts, &response),
            ["https://a.test/items"]
        );
    }

    #[test]
    fn a_location_equal_to_the_request_url_is_listed_once() {
        let parts = request("DELETE", "https://a.test/items/1");
        let response = headers(&[("location", "/items/1"), ("content-location", "1")]);
        assert_eq!(
            invalidated_uris(&parts, &response),
            ["https://a.test/items/1"]
        );
    }

    #[test]
    fn unreadable_locations_are_skipped() {
        let parts = request("POST", "https://a.test/items");
        let mut response = HeaderMap::new();
        response.insert(LOCATION, HeaderValue::from_bytes(b"/caf\xc3\xa9").unwrap());
        response.insert(CONTENT_LOCATION, HeaderValue::from_static("/with space"));
        assert_eq!(
            invalidated_uris(&parts, &response),
            ["https://a.test/items"]
        );
    }
}

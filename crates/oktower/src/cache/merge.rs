//! Freshening a stored response with a `304 Not Modified` (RFC 9111 §4.3.4 and §3.2), OkHttp's
//! `CacheInterceptor.combine`.

use std::time::SystemTime;

use http::HeaderMap;
use http::header::{
    CONNECTION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderName,
    PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE, WARNING,
};

use super::entry::CachedResponse;
use super::vary;

/// The headers of a stored response freshened by a `304`'s: each field the `304` carries
/// replaces the stored field of that name, except
///
/// - content fields (`Content-Length`, `Content-Encoding`, `Content-Type`, `Content-Range`):
///   they describe the stored body, which the `304` does not replace, so they are kept. A
///   `304` claiming another `Content-Encoding` therefore cannot make a gzip body read as
///   plain text (RFC 9111 §3.2 allows this exception "to assure integrity of the stored
///   response");
/// - hop-by-hop fields (`Connection`, `Keep-Alive`, `Proxy-Authenticate`,
///   `Proxy-Authorization`, `TE`, `Trailer(s)`, `Transfer-Encoding`, `Upgrade`,
///   `Proxy-Connection`) and fields the `304`'s `Connection` lists: never taken from the `304`;
///   stored ones are kept.
///
/// Stored `Warning` values with a 1xx code are dropped, as OkHttp does (RFC 7234 §4.3.4).
///
/// ```
/// use http::HeaderMap;
/// use oktower::merge_not_modified;
///
/// let mut stored = HeaderMap::new();
/// stored.insert("content-encoding", "gzip".parse().unwrap());
/// stored.insert("cache-control", "max-age=60".parse().unwrap());
/// stored.insert("x-kept", "stored".parse().unwrap());
/// let mut not_modified = HeaderMap::new();
/// not_modified.insert("content-encoding", "identity".parse().unwrap());
/// not_modified.insert("cache-control", "max-age=600".parse().unwrap());
///
/// let merged = merge_not_modified(&stored, &not_modified);
/// assert_eq!(merged["content-encoding"], "gzip");
/// assert_eq!(merged["cache-control"], "max-age=600");
/// assert_eq!(merged["x-kept"], "stored");
/// ```
pub fn merge_not_modified(stored: &HeaderMap, not_modified: &HeaderMap) -> HeaderMap {
    // Both maps fit the header map limit; their union could only overflow it with tens of
    // thousands of distinct names, and then the excess is dropped instead of panicking.
    let mut merged = HeaderMap::try_with_capacity(stored.keys_len().max(not_modified.keys_len()))
        .unwrap_or_default();
    for (name, value) in stored {
        if name == WARNING && value.as_bytes().first() == Some(&b'1') {
            continue; // 1xx warnings describe freshness, which the 304 just renewed
        }
        if !not_modified.contains_key(name) || !updatable(name, not_modified) {
            let _ = merged.try_append(name.clone(), value.clone());
        }
    }
    for (name, value) in not_modified {
        if updatable(name, not_modified) {
            let _ = merged.try_append(name.clone(), value.clone());
        }
    }
    merged
}

impl CachedResponse {
    /// This entry freshened by a `304` to a conditional request: headers merged with
    /// [`merge_not_modified`], the varying request headers taken again from the conditional
    /// request's `request_headers` (the `304` may name other `Vary` fields), and the
    /// exchange's times. The URL, method, status, version and handshake stay those of the
    /// stored response, as its body does.
    pub fn revalidated(
        &self,
        not_modified: &HeaderMap,
        request_headers: &HeaderMap,
        sent_at: SystemTime,
        received_at: SystemTime,
    ) -> CachedResponse {
        let headers = merge_not_modified(&self.headers, not_modified);
        CachedResponse {
            url: self.url.clone(),
            method: self.method.clone(),
            vary_headers: vary::varying_request_headers(&headers, request_headers),
            status: self.status,
            version: self.version,
            headers,
            sent_at,
            received_at,
            handshake: self.handshake.clone(),
        }
    }
}

/// Whether a `304`'s field `name` replaces the stored one.
fn updatable(name: &HeaderName, not_modified: &HeaderMap) -> bool {
    !is_content_specific(name) && !is_hop_by_hop(name) && !listed_in_connection(name, not_modified)
}

fn is_content_specific(name: &HeaderName) -> bool {
    name == CONTENT_LENGTH
        || name == CONTENT_ENCODING
        || name == CONTENT_TYPE
        || name == CONTENT_RANGE
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    name == CONNECTION
        || name == PROXY_AUTHENTICATE
        || name == PROXY_AUTHORIZATION
        || name == TE
        || name == TRAILER
        || name == TRANSFER_ENCODING
        || name == UPGRADE
        || matches!(
            name.as_str(),
            "keep-alive" | "trailers" | "proxy-connection"
        )
}

fn listed_in_connection(name: &HeaderName, headers: &HeaderMap) -> bool {
    headers.get_all(CONNECTION).iter().any(|value| {
        value.to_str().is_ok_and(|value| {
            value
                .split(',')
                .any(|option| option.trim().eq_ignore_ascii_case(name.as_str()))
        })
    })
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;

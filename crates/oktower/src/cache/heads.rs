//! The response heads the cache layer puts on a response, OkHttp's `cacheResponse` and
//! `networkResponse`.

use http::{HeaderMap, StatusCode, Version};

/// A response head without its body: status, version and headers.
///
/// ```
/// use http::{HeaderMap, StatusCode, Version};
/// use oktower::cache::ResponseHead;
///
/// let head = ResponseHead::new(StatusCode::OK, Version::HTTP_11, HeaderMap::new());
/// assert_eq!(head.status(), StatusCode::OK);
/// assert!(head.headers().is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
}

impl ResponseHead {
    /// A head of these parts.
    pub fn new(status: StatusCode, version: Version, headers: HeaderMap) -> Self {
        ResponseHead {
            status,
            version,
            headers,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

/// In a response's extensions when the stored response took part in it (OkHttp's
/// `Response.cacheResponse`): a hit, a stale hit, or a conditional request, with the stored
/// head as it was before any `304` merge.
///
/// ```
/// use http::{HeaderMap, StatusCode, Version};
/// use oktower::cache::{CacheResponseHead, ResponseHead};
///
/// let marker = CacheResponseHead(ResponseHead::new(StatusCode::OK, Version::HTTP_11, HeaderMap::new()));
/// assert_eq!(marker.0.status(), 200);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheResponseHead(pub ResponseHead);

/// In a response's extensions when the network answered (OkHttp's
/// `Response.networkResponse`): a miss, a bypass, or a conditional request, whose `304` head
/// this then is.
///
/// ```
/// use http::{HeaderMap, StatusCode, Version};
/// use oktower::cache::{NetworkResponseHead, ResponseHead};
///
/// let marker = NetworkResponseHead(ResponseHead::new(StatusCode::NOT_MODIFIED, Version::HTTP_11, HeaderMap::new()));
/// assert_eq!(marker.0.status(), 304);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetworkResponseHead(pub ResponseHead);

//! Cache keys: the SHA-256 of a URL, and OkHttp 5's `cacheUrlOverride`.

use std::fmt;

use http::{Method, Uri, request};
use sha2::{Digest, Sha256};

use super::uri;

/// The key of a cache entry: the lowercase hex SHA-256 of the URL's canonical text (lowercase
/// scheme and host, no default port, `/` for an empty path), so `HTTP://Example.com:80` and
/// `http://example.com/` share an entry. OkHttp uses the MD5 of the URL; a store only needs the
/// key to be stable and collision-free.
///
/// ```
/// use http::Uri;
/// use oktower::CacheKey;
///
/// let key = CacheKey::for_uri(&Uri::from_static("http://Example.com:80"));
/// assert_eq!(key, CacheKey::for_uri(&Uri::from_static("http://example.com/")));
/// assert_eq!(key.as_str().len(), 64);
/// assert_eq!(CacheKey::parse(key.as_str()), Some(key));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey {
    hex: String,
}

impl CacheKey {
    /// The key of `uri`. A URI without a scheme or host is keyed by its text as given.
    pub fn for_uri(uri: &Uri) -> CacheKey {
        match uri::canonical(uri) {
            Some(text) => CacheKey::for_text(&text),
            None => CacheKey::for_text(&uri.to_string()),
        }
    }

    /// The key a request is stored and looked up under: its [`CacheUrlOverride`] when it
    /// carries one that applies (see [`cache_uri`]), else its URI.
    pub fn for_request(request: &request::Parts) -> CacheKey {
        CacheKey::for_uri(cache_uri(request))
    }

    /// A key from its text (64 lowercase hex digits), as a store lists them; `None` otherwise.
    pub fn parse(text: &str) -> Option<CacheKey> {
        let valid = text.len() == 64
            && text
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
        valid.then(|| CacheKey {
            hex: text.to_owned(),
        })
    }

    /// The 64 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.hex
    }

    fn for_text(text: &str) -> CacheKey {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let digest = Sha256::digest(text.as_bytes());
        let mut hex = String::with_capacity(64);
        for byte in digest.iter() {
            hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
        }
        CacheKey { hex }
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex)
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({})", self.hex)
    }
}

/// A request extension that stores and looks up the request's response under another URL,
/// OkHttp 5's `Request.cacheUrlOverride`: a POST or QUERY whose answer depends only on the
/// URL you name becomes cacheable like a GET of that URL.
///
/// Honoured for GET, QUERY and POST only; other methods keep their own URL.
///
/// ```
/// use http::{Method, Request, Uri};
/// use oktower::{CacheKey, CacheUrlOverride, cache_uri};
///
/// let mut request = Request::builder()
///     .method(Method::POST)
///     .uri("https://api.test/search")
///     .body(())
///     .unwrap();
/// let key_url = Uri::from_static("https://api.test/search?q=rust");
/// request.extensions_mut().insert(CacheUrlOverride::new(key_url.clone()));
/// let (parts, ()) = request.into_parts();
/// assert_eq!(cache_uri(&parts), &key_url);
/// assert_eq!(CacheKey::for_request(&parts), CacheKey::for_uri(&key_url));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheUrlOverride {
    uri: Uri,
}

impl CacheUrlOverride {
    /// Caches the request's response under `uri`.
    pub fn new(uri: Uri) -> Self {
        CacheUrlOverride { uri }
    }

    /// The URL the response is cached under.
    pub fn uri(&self) -> &Uri {
        &self.uri
    }
}

/// The URL `request` is cached under: its [`CacheUrlOverride`] when it has one and its method
/// is GET, QUERY or POST (OkHttp's `requestForCache`), else its own URI.
pub fn cache_uri(request: &request::Parts) -> &Uri {
    match request.extensions.get::<CacheUrlOverride>() {
        Some(cache_override) if honours_override(&request.method) => cache_override.uri(),
        _ => &request.uri,
    }
}

/// Whether a [`CacheUrlOverride`] applies to `method`: GET, QUERY and POST.
pub(crate) fn honours_override(method: &Method) -> bool {
    method == Method::GET || method == Method::POST || method.as_str() == "QUERY"
}

#[cfg(test)]
mod tests {
    use http::Request;

    use super::*;

    fn parts(method: &str, url: &str, cache_override: Option<&str>) -> request::Parts {
        let mut request = Request::builder().method(method).uri(url).body(()).unwrap();
        if let Some(cache_override) = cache_override {
            request
                .extensions_mut()
                .insert(CacheUrlOverride::new(cache_override.parse().unwrap()));
        }
        request.into_parts().0
    }

    #[test]
    fn key_is_sha256_hex_of_the_canonical_url() {
        // printf 'http://example.com/' | sha256sum
        assert_eq!(
            CacheKey::for_uri(&Uri::from_static("http://example.com/")).as_str(),
            "2a1b402420ef46577471cdc7409b0fa2c6a204db316e59ade2d805435489a067"
        );
        assert_ne!(
            CacheKey::for_uri(&Uri::from_static("http://example.com/a")),
            CacheKey::for_uri(&Uri::from_static("http://example.com/b"))
        );
    }

    #[test]
    fn equivalent_urls_share_a_key() {
        let a = CacheKey::for_uri(&Uri::from_static("HTTPS://Example.COM:443"));
        let b = CacheKey::for_uri(&Uri::from_static("https://example.com/"));
        assert_eq!(a, b);
        assert_eq!(format!("{a}"), a.as_str());
    }

    #[test]
    fn parse_accepts_only_64_lowercase_hex_digits() {
        let key = CacheKey::for_uri(&Uri::from_static("http://a.test/"));
        assert_eq!(CacheKey::parse(key.as_str()).as_ref(), Some(&key));
        assert_eq!(CacheKey::parse(&key.as_str().to_uppercase()), None);
        assert_eq!(CacheKey::parse(&key.as_str()[1..]), None);
        assert_eq!(CacheKey::parse("journal"), None);
    }

    #[test]
    fn override_applies_to_get_query_and_post_only() {
        for method in ["GET", "POST", "QUERY"] {
            let request = parts(method, "http://a.test/x", Some("http://a.test/key"));
            assert_eq!(cache_uri(&request), "http://a.test/key", "{method}");
            assert_eq!(
                CacheKey::for_request(&request),
                CacheKey::for_uri(&Uri::from_static("http://a.test/key"))
            );
        }
        for method in ["PUT", "DELETE", "PATCH", "HEAD"] {
            let request = parts(method, "http://a.test/x", Some("http://a.test/key"));
            assert_eq!(cache_uri(&request), "http://a.test/x", "{method}");
        }
        let plain = parts("GET", "http://a.test/x", None);
        assert_eq!(cache_uri(&plain), "http://a.test/x");
    }
}

//! What the server saw of one request.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Version};

/// One request as the server received it, taken with
/// [`MockWebServer::take_request`](crate::MockWebServer::take_request).
///
/// Requests the server could not parse are recorded too, with [`failure`](Self::failure) set, so a
/// test sees a malformed request instead of a silent timeout.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub(crate) method: String,
    pub(crate) target: String,
    pub(crate) version: Version,
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) trailers: Vec<(HeaderName, HeaderValue)>,
    pub(crate) body: Bytes,
    pub(crate) body_size: u64,
    pub(crate) chunk_sizes: Vec<usize>,
    pub(crate) sni: Option<String>,
    pub(crate) tls: bool,
    pub(crate) connection_index: usize,
    pub(crate) exchange_index: usize,
    pub(crate) failure: Option<String>,
    pub(crate) received_at: Instant,
}

impl RecordedRequest {
    pub(crate) fn new(connection_index: usize, exchange_index: usize) -> Self {
        RecordedRequest {
            method: String::new(),
            target: String::new(),
            version: Version::HTTP_11,
            headers: Vec::new(),
            trailers: Vec::new(),
            body: Bytes::new(),
            body_size: 0,
            chunk_sizes: Vec::new(),
            sni: None,
            tls: false,
            connection_index,
            exchange_index,
            failure: None,
            received_at: Instant::now(),
        }
    }

    /// The request method, as sent (`GET`, `CONNECT`, ...). Empty when the request line could not
    /// be read.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target as sent: origin form (`/path?q`), absolute form
    /// (`http://host/path`, through a proxy), authority form (`host:443`, for `CONNECT`), or the
    /// `:path` pseudo-header on HTTP/2.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The path and query of the target, whatever form the target had.
    pub fn path(&self) -> &str {
        let target = self.target.as_str();
        match target.find("://") {
            Some(scheme_end) => {
                let rest = &target[scheme_end + 3..];
                rest.find('/').map_or("/", |slash| &rest[slash..])
            }
            None => target,
        }
    }

    /// The HTTP version of the request (`HTTP/1.0`, `HTTP/1.1` or `HTTP/2.0`).
    pub fn version(&self) -> Version {
        self.version
    }

    /// All headers in the order they arrived (for HTTP/2, the regular headers after decoding;
    /// `:authority` is reported as `host`).
    pub fn headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.headers
    }

    /// The first value of the header `name` (case-insensitive), if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.to_str().ok())
    }

    /// Every value of the header `name` (case-insensitive), in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a HeaderValue> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Trailers sent after a chunked (HTTP/1.1) or HTTP/2 request body.
    pub fn trailers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.trailers
    }

    /// The request body, up to the server's body limit.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The request body as UTF-8 text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The full size of the request body in bytes, even past the body limit.
    pub fn body_size(&self) -> u64 {
        self.body_size
    }

    /// The size of each chunk of a chunked HTTP/1.1 request body, or of each DATA frame of an
    /// HTTP/2 request body. Empty for a fixed-length HTTP/1.1 body.
    pub fn chunk_sizes(&self) -> &[usize] {
        &self.chunk_sizes
    }

    /// The server name the client sent by TLS SNI, if the connection used TLS and sent one.
    pub fn sni(&self) -> Option<&str> {
        self.sni.as_deref()
    }

    /// Whether the request arrived over TLS (including TLS inside a proxy tunnel).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Which accepted connection carried the request: 0 for the first connection the server
    /// accepted, 1 for the second, and so on.
    pub fn connection_index(&self) -> usize {
        self.connection_index
    }

    /// Which request this was on its connection: 0 for the first. On HTTP/2 it counts streams in
    /// the order the server accepted them. A proxy tunnel's requests continue the count of the
    /// `CONNECT` that opened it.
    pub fn exchange_index(&self) -> usize {
        self.exchange_index
    }

    /// Why the request could not be read completely (a malformed request line or header, a
    /// truncated body, a connection fault), or `None` when it was read in full.
    pub fn failure(&self) -> Option<&str> {
        self.failure.as_deref()
    }

    /// When the server finished reading the request (or gave up on it).
    pub fn received_at(&self) -> Instant {
        self.received_at
    }
}

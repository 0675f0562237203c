//! Proxy mode: the server as an HTTP proxy.

use bytes::Bytes;

/// Settings for [proxy mode](crate::MockWebServerBuilder::proxy_mode), in which the server acts
/// as an HTTP proxy.
///
/// - A request with an absolute-form target (`GET http://host/path HTTP/1.1`) is recorded with
///   that target and answered from the dispatcher, as a proxy forwarding it would.
/// - `CONNECT host:port` is recorded, answered with `200 Connection established`, and the
///   tunnel is served by the server itself: with TLS when the server has TLS settings (then by
///   ALPN, HTTP/1.1 or HTTP/2), in cleartext otherwise.
/// - With [`require_auth`](Self::require_auth), a request without the expected
///   `Proxy-Authorization` value gets `407 Proxy Authentication Required` with a
///   `Proxy-Authenticate` challenge.
///
/// ```
/// use oktower_testkit::ProxyMode;
///
/// let proxy = ProxyMode::new()
///     .require_auth("Basic dXNlcjpwYXNz", "Basic realm=\"proxy\"")
///     .close_on_auth_failure(true);
/// # let _ = proxy;
/// ```
#[derive(Clone, Debug, Default)]
pub struct ProxyMode {
    pub(crate) auth: Option<ProxyAuth>,
    pub(crate) close_on_auth_failure: bool,
}

#[derive(Clone, Debug)]
pub(crate) struct ProxyAuth {
    pub(crate) expected: Bytes,
    pub(crate) challenge: Bytes,
}

impl ProxyMode {
    /// A proxy that lets every request through.
    pub fn new() -> Self {
        ProxyMode::default()
    }

    /// Demands `Proxy-Authorization: expected` (compared byte for byte) on proxied requests and
    /// `CONNECT`s; without it the answer is `407` with `Proxy-Authenticate: challenge`.
    pub fn require_auth(mut self, expected: impl Into<Bytes>, challenge: impl Into<Bytes>) -> Self {
        self.auth = Some(ProxyAuth {
            expected: expected.into(),
            challenge: challenge.into(),
        });
        self
    }

    /// Sends `Connection: close` with a `407` and closes the connection after it, so the client
    /// must retry on a new connection.
    pub fn close_on_auth_failure(mut self, close: bool) -> Self {
        self.close_on_auth_failure = close;
        self
    }

    /// Whether a request with these `Proxy-Authorization` values (in order) may pass.
    pub(crate) fn authorizes<'a>(&self, mut values: impl Iterator<Item = &'a [u8]>) -> bool {
        match &self.auth {
            None => true,
            Some(auth) => values.any(|value| value == auth.expected.as_ref()),
        }
    }
}

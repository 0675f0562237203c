//! Proxies and how they are chosen.

use std::fmt;
use std::sync::Arc;

use crate::Error;

/// Credentials for a proxy (sent as `Proxy-Authorization: Basic` to HTTP proxies, or as
/// SOCKS5 username/password authentication).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ProxyCredentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for ProxyCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyCredentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// How a connection reaches the origin server.
///
/// ```
/// use oktower::Proxy;
///
/// let proxy = Proxy::http("proxy.internal", 3128);
/// assert_eq!(proxy.host_port(), Some(("proxy.internal", 3128)));
/// assert!(Proxy::Direct.is_direct());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Proxy {
    /// No proxy: connect to the origin.
    Direct,
    /// An HTTP proxy reached in cleartext: absolute-form targets for `http:`, a `CONNECT` tunnel
    /// for `https:` and for HTTP/2 with prior knowledge.
    Http {
        /// The proxy's host name or IP literal.
        host: String,
        /// The proxy's port.
        port: u16,
        /// Credentials sent preemptively, if any (from a proxy URL's user info, say).
        credentials: Option<ProxyCredentials>,
    },
    /// An HTTP proxy reached over TLS (an "HTTPS proxy"); otherwise like [`Proxy::Http`].
    Https {
        /// The proxy's host name or IP literal.
        host: String,
        /// The proxy's port.
        port: u16,
        /// Credentials sent preemptively, if any.
        credentials: Option<ProxyCredentials>,
    },
    /// A SOCKS5 proxy; the origin host name is resolved by the proxy.
    Socks5 {
        /// The proxy's host name or IP literal.
        host: String,
        /// The proxy's port.
        port: u16,
        /// Username/password authentication, if any.
        credentials: Option<ProxyCredentials>,
    },
}

impl Proxy {
    /// A cleartext HTTP proxy at `host:port` without credentials.
    pub fn http(host: impl Into<String>, port: u16) -> Proxy {
        Proxy::Http {
            host: host.into(),
            port,
            credentials: None,
        }
    }

    /// An HTTP proxy reached over TLS at `host:port` without credentials.
    pub fn https(host: impl Into<String>, port: u16) -> Proxy {
        Proxy::Https {
            host: host.into(),
            port,
            credentials: None,
        }
    }

    /// A SOCKS5 proxy at `host:port` without credentials.
    pub fn socks5(host: impl Into<String>, port: u16) -> Proxy {
        Proxy::Socks5 {
            host: host.into(),
            port,
            credentials: None,
        }
    }

    /// The same proxy with credentials (no effect on [`Proxy::Direct`]).
    pub fn with_credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Proxy {
        let new = ProxyCredentials {
            username: username.into(),
            password: password.into(),
        };
        match &mut self {
            Proxy::Direct => {}
            Proxy::Http { credentials, .. }
            | Proxy::Https { credentials, .. }
            | Proxy::Socks5 { credentials, .. } => *credentials = Some(new),
        }
        self
    }

    /// Whether this is [`Proxy::Direct`].
    pub fn is_direct(&self) -> bool {
        matches!(self, Proxy::Direct)
    }

    /// Whether this is an HTTP proxy (cleartext or TLS), which speaks HTTP to the client.
    pub fn is_http(&self) -> bool {
        matches!(self, Proxy::Http { .. } | Proxy::Https { .. })
    }

    /// The proxy's host and port, or `None` for [`Proxy::Direct`].
    pub fn host_port(&self) -> Option<(&str, u16)> {
        match self {
            Proxy::Direct => None,
            Proxy::Http { host, port, .. }
            | Proxy::Https { host, port, .. }
            | Proxy::Socks5 { host, port, .. } => Some((host, *port)),
        }
    }

    /// The proxy's credentials, if any.
    pub fn credentials(&self) -> Option<&ProxyCredentials> {
        match self {
            Proxy::Direct => None,
            Proxy::Http { credentials, .. }
            | Proxy::Https { credentials, .. }
            | Proxy::Socks5 { credentials, .. } => credentials.as_ref(),
        }
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Proxy::Direct => f.write_str("DIRECT"),
            Proxy::Http { host, port, .. } => write!(f, "http://{host}:{port}"),
            Proxy::Https { host, port, .. } => write!(f, "https://{host}:{port}"),
            Proxy::Socks5 { host, port, .. } => write!(f, "socks5://{host}:{port}"),
        }
    }
}

/// Chooses the proxies for a URL, in the order to try them, and hears about proxies that
/// failed.
///
/// ```
/// use oktower::{Proxy, ProxySelector};
///
/// struct Corporate;
/// impl ProxySelector for Corporate {
///     fn select(&self, uri: &http::Uri) -> Vec<Proxy> {
///         if uri.host() == Some("intranet.test") {
///             vec![Proxy::Direct]
///         } else {
///             vec![Proxy::http("proxy.test", 3128), Proxy::Direct]
///         }
///     }
/// }
/// let uri: http::Uri = "http://example.test/".parse().unwrap();
/// assert_eq!(Corporate.select(&uri).len(), 2);
/// ```
pub trait ProxySelector: Send + Sync + 'static {
    /// The proxies to try for `uri`, best first. An empty list means [`Proxy::Direct`].
    fn select(&self, uri: &http::Uri) -> Vec<Proxy>;

    /// Called when connecting through `proxy` (never [`Proxy::Direct`]) failed.
    fn connect_failed(&self, _uri: &http::Uri, _proxy: &Proxy, _error: &Error) {}
}

/// A selector that always answers a direct connection: an empty list, which means
/// [`Proxy::Direct`] (and, unlike `vec![Proxy::Direct]`, allocates nothing on each new
/// connection).
///
/// ```
/// use oktower::{NoProxy, ProxySelector};
///
/// let uri: http::Uri = "http://example.test/".parse().unwrap();
/// assert!(NoProxy.select(&uri).is_empty());
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProxy;

impl ProxySelector for NoProxy {
    fn select(&self, _uri: &http::Uri) -> Vec<Proxy> {
        Vec::new()
    }
}

/// A selector that always answers one proxy.
#[derive(Clone, Debug)]
pub struct FixedProxy(pub Proxy);

impl ProxySelector for FixedProxy {
    fn select(&self, _uri: &http::Uri) -> Vec<Proxy> {
        vec![self.0.clone()]
    }
}

impl<T: ProxySelector + ?Sized> ProxySelector for Arc<T> {
    fn select(&self, uri: &http::Uri) -> Vec<Proxy> {
        (**self).select(uri)
    }

    fn connect_failed(&self, uri: &http::Uri, proxy: &Proxy, error: &Error) {
        (**self).connect_failed(uri, proxy, error)
    }
}

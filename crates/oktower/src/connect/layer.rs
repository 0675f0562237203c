//! [`ConnectLayer`] and its settings.

use std::sync::{Arc, LazyLock, RwLock};
use std::time::Duration;

use http::HeaderValue;
use tower_layer::Layer;

use super::service::Connect;
use crate::connection::http_conn::{DEFAULT_MAX_RESPONSE_HEADER_SIZE, HttpSettings};
use crate::{
    Address, ConnectionPool, Dns, Error, ErrorKind, EventListener, NoEvents, NoProxy, NoProxyAuth,
    Protocol, Proxy, ProxyAuthenticator, ProxySelector, RouteDatabase, SystemDns, SystemTcp,
    TcpConnector, TlsConfig,
};

/// The default connect, read and write timeouts (OkHttp's 10 seconds).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The layer that finds a connection for each request — pooled, coalesced or new — and puts
/// its [`Exchange`](super::Exchange) into the request's extensions for the layers below it and
/// for [`CallServer`](super::CallServer).
///
/// Cheap to clone; clones share the pool, the route database and the settings.
///
/// ```
/// use std::time::Duration;
/// use oktower::{CallServer, ConnectLayer, ConnectionPool};
/// use tower_layer::Layer;
///
/// let pool = ConnectionPool::default();
/// let layer = ConnectLayer::builder()
///     .pool(pool.clone())
///     .connect_timeout(Duration::from_secs(5))
///     .build()
///     .expect("valid settings");
/// let _service = layer.layer(CallServer::new());
/// assert_eq!(pool.connection_count(), 0);
/// ```
#[derive(Clone)]
pub struct ConnectLayer {
    pub(crate) settings: Arc<ConnectSettings>,
}

/// What [`ConnectLayer`] needs to reach servers.
pub(crate) struct ConnectSettings {
    pub(crate) pool: ConnectionPool,
    pub(crate) tls: TlsConfig,
    pub(crate) dns: Arc<dyn Dns>,
    pub(crate) proxy_selector: Arc<dyn ProxySelector>,
    pub(crate) proxy: Option<Proxy>,
    pub(crate) protocols: Vec<Protocol>,
    pub(crate) tcp: Arc<dyn TcpConnector>,
    pub(crate) proxy_authenticator: Arc<dyn ProxyAuthenticator>,
    pub(crate) route_database: RouteDatabase,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) fast_fallback: bool,
    pub(crate) http: HttpSettings,
    pub(crate) user_agent: HeaderValue,
    /// The listener of requests that carry no call context.
    pub(crate) no_events: Arc<dyn EventListener>,
    /// Addresses built recently, with the URI authority they were last found by, so that an
    /// exchange to a known host allocates nothing and parses no host.
    pub(crate) addresses: RwLock<Vec<(http::uri::Authority, Address)>>,
}

/// How many addresses [`ConnectSettings::addresses`] keeps.
const ADDRESS_CACHE_SIZE: usize = 32;

impl ConnectSettings {
    /// The address of `uri` under these settings.
    pub(crate) fn address(&self, uri: &http::Uri) -> Result<Address, Error> {
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let Some(authority) = uri.authority() else {
            return self.build_address(uri);
        };
        if let Ok(cache) = self.addresses.read() {
            // The same authority text as before: the common case, with no parsing at all.
            let same_text = cache.iter().find(|(seen, address)| {
                (address.scheme() == crate::Scheme::Https) == https
                    && seen.as_str() == authority.as_str()
            });
            if let Some((_, address)) = same_text {
                return Ok(address.clone());
            }
        }
        let host = authority.host();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let known = self.addresses.read().ok().and_then(|cache| {
            cache
                .iter()
                .find(|(_, address)| {
                    address.port() == port
                        && (address.scheme() == crate::Scheme::Https) == https
                        && address.host().eq_ignore_ascii_case(host)
                })
                .map(|(_, address)| address.clone())
        });
        let address = match known {
            Some(address) => address,
            None => self.build_address(uri)?,
        };
        if let Ok(mut cache) = self.addresses.write() {
            if cache.len() >= ADDRESS_CACHE_SIZE {
                cache.remove(0);
            }
            cache.push((authority.clone(), address.clone()));
        }
        Ok(address)
    }

    fn build_address(&self, uri: &http::Uri) -> Result<Address, Error> {
        let mut builder = Address::from_uri(uri, self.dns.clone(), self.proxy_selector.clone())?
            .protocols(&self.protocols);
        if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
            builder = builder.tls(self.tls.settings_id());
        }
        if let Some(proxy) = &self.proxy {
            builder = builder.proxy(proxy.clone());
        }
        Ok(builder.build())
    }
}

/// Builds a [`ConnectLayer`]; every setting has OkHttp's default.
#[derive(Clone)]
pub struct ConnectLayerBuilder {
    pool: Option<ConnectionPool>,
    tls: Option<TlsConfig>,
    dns: Arc<dyn Dns>,
    proxy_selector: Arc<dyn ProxySelector>,
    proxy: Option<Proxy>,
    protocols: Vec<Protocol>,
    tcp: Arc<dyn TcpConnector>,
    proxy_authenticator: Arc<dyn ProxyAuthenticator>,
    route_database: Option<RouteDatabase>,
    connect_timeout: Option<Duration>,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    fast_fallback: bool,
    ping_interval: Option<Duration>,
    max_response_header_size: usize,
    user_agent: HeaderValue,
}

impl ConnectLayer {
    /// Starts the settings.
    pub fn builder() -> ConnectLayerBuilder {
        ConnectLayerBuilder {
            pool: None,
            tls: None,
            dns: default_dns(),
            proxy_selector: default_proxy_selector(),
            proxy: None,
            protocols: vec![Protocol::Http2, Protocol::Http11],
            tcp: Arc::new(SystemTcp),
            proxy_authenticator: Arc::new(NoProxyAuth),
            route_database: None,
            connect_timeout: Some(DEFAULT_TIMEOUT),
            read_timeout: Some(DEFAULT_TIMEOUT),
            write_timeout: Some(DEFAULT_TIMEOUT),
            fast_fallback: true,
            ping_interval: None,
            max_response_header_size: DEFAULT_MAX_RESPONSE_HEADER_SIZE,
            user_agent: HeaderValue::from_static(concat!("oktower/", env!("CARGO_PKG_VERSION"))),
        }
    }

    /// The pool the layer takes connections from.
    pub fn pool(&self) -> &ConnectionPool {
        &self.settings.pool
    }

    /// The TLS settings the layer connects with.
    pub fn tls(&self) -> &TlsConfig {
        &self.settings.tls
    }

    /// The route database the layer records failed routes in.
    pub fn route_database(&self) -> &RouteDatabase {
        &self.settings.route_database
    }
}

/// The default resolver, one for the process. Addresses compare their resolver and proxy
/// selector by identity, so layers built with the defaults must share the same objects to share
/// pooled connections and route failures (OkHttp's `Dns.SYSTEM` and default `ProxySelector`
/// are singletons too).
fn default_dns() -> Arc<dyn Dns> {
    static SYSTEM_DNS: LazyLock<Arc<dyn Dns>> = LazyLock::new(|| Arc::new(SystemDns));
    SYSTEM_DNS.clone()
}

/// The default proxy selector, one for the process (see [`default_dns`]).
fn default_proxy_selector() -> Arc<dyn ProxySelector> {
    static NO_PROXY: LazyLock<Arc<dyn ProxySelector>> = LazyLock::new(|| Arc::new(NoProxy));
    NO_PROXY.clone()
}

impl<S> Layer<S> for ConnectLayer {
    type Service = Connect<S>;

    fn layer(&self, inner: S) -> Connect<S> {
        Connect::new(self.settings.clone(), inner)
    }
}

impl ConnectLayerBuilder {
    /// The pool to share (a new default pool otherwise).
    pub fn pool(mut self, pool: ConnectionPool) -> Self {
        self.pool = Some(pool);
        self
    }

    /// The TLS settings of `https:` connections (the platform's roots by default).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// The resolver ([`SystemDns`] by default).
    pub fn dns(mut self, dns: Arc<dyn Dns>) -> Self {
        self.dns = dns;
        self
    }

    /// The proxy selector ([`NoProxy`] by default); unused when [`proxy`](Self::proxy) is set.
    pub fn proxy_selector(mut self, selector: Arc<dyn ProxySelector>) -> Self {
        self.proxy_selector = selector;
        self
    }

    /// One proxy for every request, instead of asking the selector.
    pub fn proxy(mut self, proxy: Proxy) -> Self {
        self.proxy = Some(proxy);
        self
    }

    /// The protocols to offer, preferred first (`[Http2, Http11]`). With
    /// [`Protocol::H2PriorKnowledge`], cleartext connections speak HTTP/2 at once.
    pub fn protocols(mut self, protocols: &[Protocol]) -> Self {
        self.protocols = protocols.to_vec();
        self
    }

    /// How TCP connections are opened ([`SystemTcp`]).
    pub fn tcp_connector(mut self, tcp: Arc<dyn TcpConnector>) -> Self {
        self.tcp = tcp;
        self
    }

    /// Answers proxies' `407` to `CONNECT` ([`NoProxyAuth`]).
    pub fn proxy_authenticator(mut self, authenticator: Arc<dyn ProxyAuthenticator>) -> Self {
        self.proxy_authenticator = authenticator;
        self
    }

    /// The route database to share (a new one otherwise).
    pub fn route_database(mut self, database: RouteDatabase) -> Self {
        self.route_database = Some(database);
        self
    }

    /// The limit of each TCP connect (10 s); `None` for none.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// The limit of each wait for the server (10 s): TLS and proxy handshakes, the response
    /// head after the request was sent, each read of the response body; `None` for none.
    pub fn read_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.read_timeout = timeout.into();
        self
    }

    /// The limit of each socket write (10 s); `None` for none.
    pub fn write_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.write_timeout = timeout.into();
        self
    }

    /// Happy eyeballs: race the addresses of a host (on by default); off tries them in turn.
    pub fn fast_fallback(mut self, enabled: bool) -> Self {
        self.fast_fallback = enabled;
        self
    }

    /// Sends HTTP/2 pings at this interval; a connection whose pong does not come back within
    /// the read timeout is closed and never handed out again (off by default).
    pub fn ping_interval(mut self, interval: impl Into<Option<Duration>>) -> Self {
        self.ping_interval = interval.into();
        self
    }

    /// The largest response head accepted (256 KiB).
    pub fn max_response_header_size(mut self, bytes: usize) -> Self {
        self.max_response_header_size = bytes;
        self
    }

    /// The `User-Agent` of `CONNECT` requests to proxies.
    pub fn user_agent(mut self, user_agent: HeaderValue) -> Self {
        self.user_agent = user_agent;
        self
    }

    /// The layer. Loads the platform's root certificates when no TLS settings were given.
    pub fn build(self) -> Result<ConnectLayer, Error> {
        if self.protocols.is_empty() {
            return Err(Error::new(ErrorKind::Builder, "no protocols to offer"));
        }
        let tls = match self.tls {
            Some(tls) => tls,
            None => TlsConfig::builder().build()?,
        };
        let settings = ConnectSettings {
            pool: self.pool.unwrap_or_default(),
            tls,
            dns: self.dns,
            proxy_selector: self.proxy_selector,
            proxy: self.proxy,
            protocols: self.protocols,
            tcp: self.tcp,
            proxy_authenticator: self.proxy_authenticator,
            route_database: self.route_database.unwrap_or_default(),
            connect_timeout: self.connect_timeout,
            fast_fallback: self.fast_fallback,
            http: HttpSettings {
                max_response_header_size: self.max_response_header_size,
                read_timeout: self.read_timeout,
                write_timeout: self.write_timeout,
                ping_interval: self.ping_interval,
            },
            user_agent: self.user_agent,
            no_events: Arc::new(NoEvents),
            addresses: RwLock::new(Vec::new()),
        };
        Ok(ConnectLayer {
            settings: Arc::new(settings),
        })
    }
}

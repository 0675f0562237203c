//! [`ClientBuilder`]: every setting of a [`Client`], with OkHttp's defaults.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use tower_layer::{Identity, Layer, Stack};
use tower_service::Service;

use crate::client::build_client;
use crate::network_guard::NetworkExit;
use crate::stack::{
    ApplicationSeam, CoreService, NetworkResponse, NetworkSeam, SeamLayers, application_layers,
    network_layers, stacked,
};
use crate::{
    Authenticator, BoxError, BridgeLayer, CallServer, Client, ConnectLayerBuilder, ConnectionPool,
    CookieJar, Dispatcher, Dns, Error, EventListener, EventListenerFactory, FollowUpLayer,
    Protocol, Proxy, ProxyAuthenticator, ProxySelector, RequestBody, TcpConnector, TlsConfig,
};

/// The settings of a [`Client`] that are not user layers. Cloned into derived builders.
#[derive(Clone)]
pub(crate) struct Settings {
    pub(crate) connect: ConnectLayerBuilder,
    pub(crate) pool: Option<ConnectionPool>,
    pub(crate) follow_up: FollowUpLayer,
    pub(crate) bridge: BridgeLayer,
    pub(crate) cache: Option<crate::CacheLayer>,
    pub(crate) dispatcher: Option<Dispatcher>,
    pub(crate) listeners: Option<Arc<dyn EventListenerFactory>>,
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) application: Option<SeamLayers<CoreService, Response<crate::Body>>>,
    pub(crate) network: Option<SeamLayers<CallServer, NetworkResponse>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            connect: crate::ConnectLayer::builder(),
            pool: None,
            follow_up: FollowUpLayer::new(),
            bridge: BridgeLayer::new(),
            cache: None,
            dispatcher: None,
            listeners: None,
            call_timeout: None,
            application: None,
            network: None,
        }
    }
}

/// Builds a [`Client`]. Every setting starts at OkHttp's default:
///
/// | setting | default |
/// |---|---|
/// | dispatcher | 64 requests, 5 per host |
/// | connection pool | 5 idle connections kept 5 minutes |
/// | retry on connection failure, follow redirects, follow SSL redirects | on |
/// | call timeout | none |
/// | connect, read, write timeouts | 10 s each |
/// | protocols | HTTP/2, HTTP/1.1 |
/// | cache | none |
/// | cookie jar | none |
/// | authenticators | none |
/// | proxy | from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`) |
/// | user agent | `oktower/<version>` |
///
/// Application layers ([`layer`](Self::layer)) see each call once, above retries and
/// redirects; network layers ([`network_layer`](Self::network_layer)) see each request on the
/// wire, with its [`Exchange`](crate::Exchange) in the extensions. The first layer added is
/// the outermost, as with `tower::ServiceBuilder`.
///
/// ```
/// use std::time::Duration;
/// use oktower::Client;
///
/// let client = Client::builder()
///     .call_timeout(Duration::from_secs(30))
///     .follow_redirects(false)
///     .build()
///     .unwrap();
/// # let _ = client;
/// ```
pub struct ClientBuilder<A = Identity, N = Identity> {
    settings: Settings,
    tls: Option<Result<TlsConfig, Error>>,
    application: A,
    network: N,
    has_application: bool,
    has_network: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder::new()
    }
}

impl ClientBuilder {
    /// A builder with OkHttp's defaults.
    pub fn new() -> Self {
        ClientBuilder::from_settings(Settings::default())
    }

    pub(crate) fn from_settings(settings: Settings) -> Self {
        ClientBuilder {
            settings,
            tls: None,
            application: Identity::new(),
            network: Identity::new(),
            has_application: false,
            has_network: false,
        }
    }
}

impl<A, N> ClientBuilder<A, N> {
    fn connect(mut self, change: impl FnOnce(ConnectLayerBuilder) -> ConnectLayerBuilder) -> Self {
        self.settings.connect = change(self.settings.connect);
        self
    }

    /// Adds an application layer: it sees each call once (before retries, redirects and
    /// authentication), may answer it itself, retry it, or change it. Its inner service is an
    /// [`ApplicationSeam`]; the response body it returns may be any `Bytes` body (a
    /// [`Body`](crate::Body) is kept as it is, others are boxed).
    pub fn layer<L>(self, layer: L) -> ClientBuilder<Stack<L, A>, N> {
        ClientBuilder {
            settings: self.settings,
            tls: self.tls,
            application: Stack::new(layer, self.application),
            network: self.network,
            has_application: true,
            has_network: self.has_network,
        }
    }

    /// Adds a network layer: it sees each request on the wire (each redirect and retry), with
    /// the connection's [`Exchange`](crate::Exchange) and
    /// [`ConnectionInfo`](crate::ConnectionInfo) in the request's extensions. It must call its
    /// inner service exactly once and keep the request's host and port; the call fails with a
    /// clear [`ErrorKind::Builder`](crate::ErrorKind::Builder) error otherwise.
    pub fn network_layer<L>(self, layer: L) -> ClientBuilder<A, Stack<L, N>> {
        ClientBuilder {
            settings: self.settings,
            tls: self.tls,
            application: self.application,
            network: Stack::new(layer, self.network),
            has_application: self.has_application,
            has_network: true,
        }
    }

    /// The dispatcher that admits calls (share one between clients to share its limits).
    pub fn dispatcher(mut self, dispatcher: Dispatcher) -> Self {
        self.settings.dispatcher = Some(dispatcher);
        self
    }

    /// A response cache (RFC 9111, private): a [`CacheLayer`](crate::CacheLayer) over a
    /// [`DiskStore`](crate::DiskStore) or [`MemoryStore`](crate::MemoryStore). Default: none.
    pub fn cache(mut self, cache: crate::CacheLayer) -> Self {
        self.settings.cache = Some(cache);
        self
    }

    /// The connection pool (share one between clients to share connections).
    pub fn connection_pool(mut self, pool: ConnectionPool) -> Self {
        self.settings.pool = Some(pool);
        self
    }

    /// Creates each call's [`EventListener`].
    pub fn event_listener_factory(mut self, factory: impl EventListenerFactory) -> Self {
        self.settings.listeners = Some(Arc::new(factory));
        self
    }

    /// One [`EventListener`] that hears every call.
    pub fn event_listener(self, listener: Arc<dyn EventListener>) -> Self {
        self.event_listener_factory(listener)
    }

    /// Whether to retry a request after a connection failure (default on).
    pub fn retry_on_connection_failure(mut self, retry: bool) -> Self {
        self.settings.follow_up = self.settings.follow_up.retry_on_connection_failure(retry);
        self
    }

    /// Whether to follow redirects (default on).
    pub fn follow_redirects(mut self, follow: bool) -> Self {
        self.settings.follow_up = self.settings.follow_up.follow_redirects(follow);
        self
    }

    /// Whether to follow redirects between `http` and `https` (default on).
    pub fn follow_ssl_redirects(mut self, follow: bool) -> Self {
        self.settings.follow_up = self.settings.follow_up.follow_ssl_redirects(follow);
        self
    }

    /// Whether a redirect from `http` to `https` on the same host keeps `Authorization`
    /// (default off: every redirect to another origin drops it).
    pub fn keep_authorization_on_https_upgrade(mut self, keep: bool) -> Self {
        self.settings.follow_up = self
            .settings
            .follow_up
            .keep_authorization_on_https_upgrade(keep);
        self
    }

    /// Answers `401` challenges from servers.
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.settings.follow_up = self.settings.follow_up.authenticator(authenticator);
        self
    }

    /// Answers `407` challenges from proxies (for `CONNECT` tunnels and plain requests).
    pub fn proxy_authenticator(mut self, authenticator: impl ProxyAuthenticator) -> Self {
        let shared: Arc<dyn ProxyAuthenticator> = Arc::new(authenticator);
        self.settings.follow_up = self.settings.follow_up.proxy_authenticator(shared.clone());
        self.connect(|connect| connect.proxy_authenticator(shared))
    }

    /// Stores cookies from responses and sends them with requests (default: no cookies).
    pub fn cookie_jar(mut self, jar: Arc<dyn CookieJar>) -> Self {
        self.settings.bridge = self.settings.bridge.cookie_jar(jar);
        self
    }

    /// Resolves host names (default: the system resolver). Use
    /// [`DnsOverride`](crate::DnsOverride) to map names to fixed addresses.
    pub fn dns(self, dns: impl Dns) -> Self {
        let dns: Arc<dyn Dns> = Arc::new(dns);
        self.connect(|connect| connect.dns(dns))
    }

    /// Sends every request through `proxy` (`Proxy::direct()` for none).
    pub fn proxy(self, proxy: Proxy) -> Self {
        self.connect(|connect| connect.proxy(proxy))
    }

    /// Chooses the proxies for each URL.
    pub fn proxy_selector(self, selector: impl ProxySelector) -> Self {
        let selector: Arc<dyn ProxySelector> = Arc::new(selector);
        self.connect(|connect| connect.proxy_selector(selector))
    }

    /// TLS settings: trusted roots, client certificate, versions, certificate pins.
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(Ok(tls));
        self
    }

    /// The protocols to offer, in order of preference (default HTTP/2 then HTTP/1.1; use
    /// [`Protocol::H2PriorKnowledge`] alone for cleartext HTTP/2).
    pub fn protocols(self, protocols: &[Protocol]) -> Self {
        self.connect(|connect| connect.protocols(protocols))
    }

    /// Opens TCP connections (default: the system's sockets).
    pub fn tcp_connector(self, tcp: impl TcpConnector) -> Self {
        let tcp: Arc<dyn TcpConnector> = Arc::new(tcp);
        self.connect(|connect| connect.tcp_connector(tcp))
    }

    /// A limit for the whole call: DNS, connecting, sending, the server's time, reading the
    /// body, redirects and retries (default none). A request's own
    /// [`CallTimeout`](crate::CallTimeout) wins.
    pub fn call_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.settings.call_timeout = timeout.into().filter(|timeout| !timeout.is_zero());
        self
    }

    /// A limit for connecting a TCP socket (default 10 s; `None` for none).
    pub fn connect_timeout(self, timeout: impl Into<Option<Duration>>) -> Self {
        let timeout = timeout.into();
        self.connect(|connect| connect.connect_timeout(timeout))
    }

    /// A limit for each wait on the response (default 10 s; `None` for none).
    pub fn read_timeout(self, timeout: impl Into<Option<Duration>>) -> Self {
        let timeout = timeout.into();
        self.connect(|connect| connect.read_timeout(timeout))
    }

    /// A limit for each wait to write the request (default 10 s; `None` for none).
    pub fn write_timeout(self, timeout: impl Into<Option<Duration>>) -> Self {
        let timeout = timeout.into();
        self.connect(|connect| connect.write_timeout(timeout))
    }

    /// How often to ping HTTP/2 connections (default never).
    pub fn ping_interval(self, interval: impl Into<Option<Duration>>) -> Self {
        let interval = interval.into();
        self.connect(|connect| connect.ping_interval(interval))
    }

    /// Whether to race IPv6 and IPv4 connects (happy eyeballs, default on).
    pub fn fast_fallback(self, enabled: bool) -> Self {
        self.connect(|connect| connect.fast_fallback(enabled))
    }

    /// The `User-Agent` sent with requests that have none (default `oktower/<version>`).
    pub fn user_agent(mut self, user_agent: HeaderValue) -> Self {
        self.settings.bridge = self.settings.bridge.user_agent(user_agent.clone());
        self.connect(|connect| connect.user_agent(user_agent))
    }

    /// The largest body the bridge decompresses (default 64 MiB; `None` for no limit).
    pub fn max_decompressed_size(mut self, limit: Option<u64>) -> Self {
        self.settings.bridge = self.settings.bridge.max_decompressed_size(limit);
        self
    }

    /// The largest response head accepted (default 256 KiB).
    pub fn max_response_header_size(self, bytes: usize) -> Self {
        self.connect(|connect| connect.max_response_header_size(bytes))
    }
}

impl<A, N> ClientBuilder<A, N>
where
    A: Layer<ApplicationSeam> + Send + Sync + 'static,
    N: Layer<NetworkExit<NetworkSeam>> + Send + Sync + 'static,
{
    /// Builds the client; fails when a setting is invalid (TLS roots that cannot be loaded,
    /// for example).
    pub fn build<RB>(self) -> Result<Client, Error>
    where
        A::Service:
            Service<Request<RequestBody>, Response = Response<RB>> + Clone + Send + Sync + 'static,
        <A::Service as Service<Request<RequestBody>>>::Error: Into<BoxError>,
        <A::Service as Service<Request<RequestBody>>>::Future: Send + 'static,
        RB: http_body::Body<Data = Bytes> + Send + 'static,
        RB::Error: Into<BoxError>,
        N::Service: Service<Request<RequestBody>, Response = NetworkResponse>
            + Clone
            + Send
            + Sync
            + 'static,
        <N::Service as Service<Request<RequestBody>>>::Error: Into<BoxError>,
        <N::Service as Service<Request<RequestBody>>>::Future: Send + 'static,
    {
        let mut settings = self.settings;
        if let Some(tls) = self.tls {
            settings.connect = settings.connect.tls(tls?);
        }
        let application = self
            .has_application
            .then(|| application_layers(self.application));
        let network = self.has_network.then(|| network_layers(self.network));
        // Layers inherited from the client this builder was derived from stay outermost.
        settings.application = stacked(settings.application.take(), application);
        settings.network = stacked(settings.network.take(), network);
        build_client(settings)
    }
}

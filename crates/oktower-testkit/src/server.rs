//! The server: binding, accepting, recording, shutting down.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Mutex as AsyncMutex, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::connection::serve_connection;
use crate::dispatcher::{Dispatcher, QueueDispatcher};
use crate::proxy::ProxyMode;
use crate::{MockResponse, Protocol, RecordedRequest, ServerTls};

/// A real HTTP server on loopback for tests: it answers with scripted [`MockResponse`]s, records
/// every request, and commits the faults real networks commit.
///
/// ```
/// use oktower_testkit::{MockResponse, MockWebServer};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let server = MockWebServer::start().await?;
/// server.enqueue(MockResponse::new().body("hello"));
///
/// let url = server.url("/greeting");
/// assert!(url.starts_with("http://127.0.0.1:"));
/// // ... point the client under test at `url`, then:
/// assert!(server.take_request(Duration::from_millis(1)).await.is_none());
/// # Ok(())
/// # }
/// ```
///
/// Dropping the server stops it and closes every connection. A panic inside the server (in a
/// [`Dispatcher`], say) is not lost: [`take_request`](Self::take_request) and
/// [`shutdown`](Self::shutdown) report it, and dropping a server that has an unreported failure
/// panics with it.
pub struct MockWebServer {
    local_addr: SocketAddr,
    shared: Arc<ServerShared>,
    requests: AsyncMutex<mpsc::UnboundedReceiver<RecordedRequest>>,
    accept_task: Option<JoinHandle<()>>,
    stop: Option<oneshot::Sender<()>>,
}

/// Builds a [`MockWebServer`] with non-default settings.
#[derive(Clone)]
pub struct MockWebServerBuilder {
    ip: IpAddr,
    port: u16,
    config: ServerConfig,
    dispatcher: Option<Arc<dyn Dispatcher>>,
    default_response: Option<MockResponse>,
}

/// Settings the protocol code reads.
#[derive(Clone)]
pub(crate) struct ServerConfig {
    pub(crate) protocols: Vec<Protocol>,
    pub(crate) tls: Option<ServerTls>,
    pub(crate) proxy: Option<ProxyMode>,
    pub(crate) body_limit: usize,
    pub(crate) record_requests: bool,
    pub(crate) http2: Http2Settings,
}

/// HTTP/2 connection settings.
#[derive(Clone, Debug, Default)]
pub(crate) struct Http2Settings {
    pub(crate) max_concurrent_streams: Option<u32>,
    pub(crate) goaway_after_streams: Option<usize>,
    pub(crate) settings_delay: Duration,
}

/// State shared by the accept loop, every connection task and the [`MockWebServer`] handle.
pub(crate) struct ServerShared {
    pub(crate) config: ServerConfig,
    pub(crate) tls_config: Option<Arc<rustls::ServerConfig>>,
    dispatcher: Arc<dyn Dispatcher>,
    queue: Arc<QueueDispatcher>,
    recorded: mpsc::UnboundedSender<RecordedRequest>,
    request_count: AtomicUsize,
    connection_count: AtomicUsize,
    failures: Mutex<Vec<ServerFailure>>,
}

/// Something that went wrong inside the server rather than on the client's side: a panic in a
/// dispatcher or in the server itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerFailure {
    message: String,
}

impl ServerFailure {
    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ServerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MockWebServer failure: {}", self.message)
    }
}

impl std::error::Error for ServerFailure {}

impl Default for MockWebServerBuilder {
    fn default() -> Self {
        MockWebServerBuilder {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            config: ServerConfig {
                protocols: vec![Protocol::Http2, Protocol::Http11],
                tls: None,
                proxy: None,
                body_limit: usize::MAX,
                record_requests: true,
                http2: Http2Settings::default(),
            },
            dispatcher: None,
            default_response: None,
        }
    }
}

impl MockWebServerBuilder {
    /// Binds this loopback address instead of 127.0.0.1 (for example 127.0.0.2 or `::1`).
    /// Non-loopback addresses are refused by [`start`](Self::start).
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = ip;
        self
    }

    /// Binds this port instead of one chosen by the system.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The protocols to offer. Over TLS: the ALPN list, in order (`[Http2, Http11]` by
    /// default; `[Http11]` or `[Http2]` for one only). In cleartext: HTTP/1.1, or HTTP/2 with
    /// prior knowledge when the list is `[H2PriorKnowledge]`.
    pub fn protocols(mut self, protocols: &[Protocol]) -> Self {
        self.config.protocols = protocols.to_vec();
        self
    }

    /// Serves TLS with these settings. In [proxy mode](Self::proxy_mode) the proxy itself stays
    /// in cleartext and TLS is spoken inside `CONNECT` tunnels.
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.config.tls = Some(tls);
        self
    }

    /// Acts as an HTTP proxy: records absolute-form targets, accepts `CONNECT` and tunnels to
    /// itself, and can demand `Proxy-Authorization`.
    pub fn proxy_mode(mut self, proxy: ProxyMode) -> Self {
        self.config.proxy = Some(proxy);
        self
    }

    /// Answers with `dispatcher` instead of the response queue.
    /// ([`MockWebServer::enqueue`] then has no effect.)
    pub fn dispatcher(mut self, dispatcher: impl Dispatcher) -> Self {
        self.dispatcher = Some(Arc::new(dispatcher));
        self
    }

    /// The response served when the queue is empty (`404 Not Found` by default).
    pub fn default_response(mut self, response: MockResponse) -> Self {
        self.default_response = Some(response);
        self
    }

    /// Records at most this many request body bytes (the rest is read and counted in
    /// [`RecordedRequest::body_size`]).
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.config.body_limit = limit;
        self
    }

    /// Whether to record requests for [`MockWebServer::take_request`] (on by default; turn it
    /// off for benchmarks that send millions of requests).
    pub fn record_requests(mut self, record: bool) -> Self {
        self.config.record_requests = record;
        self
    }

    /// HTTP/2: the `SETTINGS_MAX_CONCURRENT_STREAMS` the server announces.
    pub fn http2_max_concurrent_streams(mut self, max: u32) -> Self {
        self.config.http2.max_concurrent_streams = Some(max);
        self
    }

    /// HTTP/2: send `GOAWAY` after accepting this many streams on a connection (the streams
    /// already accepted are answered).
    pub fn http2_goaway_after_streams(mut self, streams: usize) -> Self {
        self.config.http2.goaway_after_streams = Some(streams);
        self
    }

    /// HTTP/2: wait this long before sending the server's SETTINGS frame.
    pub fn http2_settings_delay(mut self, delay: Duration) -> Self {
        self.config.http2.settings_delay = delay;
        self
    }

    /// Binds and starts serving. Must be called inside a tokio runtime.
    pub async fn start(self) -> io::Result<MockWebServer> {
        if !self.ip.is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "MockWebServer binds loopback addresses only, not {}",
                    self.ip
                ),
            ));
        }
        let tls_config = match &self.config.tls {
            Some(tls) => {
                let alpn = self
                    .config
                    .protocols
                    .iter()
                    .filter_map(|p| p.alpn_id())
                    .map(<[u8]>::to_vec)
                    .collect();
                Some(tls.server_config(alpn).map_err(io::Error::other)?)
            }
            None => None,
        };
        let listener = TcpListener::bind(SocketAddr::new(self.ip, self.port)).await?;
        let local_addr = listener.local_addr()?;
        let queue = Arc::new(QueueDispatcher::new());
        if let Some(response) = self.default_response {
            queue.set_default_response(response);
        }
        let dispatcher: Arc<dyn Dispatcher> = match self.dispatcher {
            Some(dispatcher) => dispatcher,
            None => queue.clone(),
        };
        let (recorded, requests) = mpsc::unbounded_channel();
        let shared = Arc::new(ServerShared {
            config: self.config,
            tls_config,
            dispatcher,
            queue,
            recorded,
            request_count: AtomicUsize::new(0),
            connection_count: AtomicUsize::new(0),
            failures: Mutex::new(Vec::new()),
        });
        let (stop, stopped) = oneshot::channel();
        let accept_task = tokio::spawn(accept_loop(listener, shared.clone(), stopped));
        Ok(MockWebServer {
            local_addr,
            shared,
            requests: AsyncMutex::new(requests),
            accept_task: Some(accept_task),
            stop: Some(stop),
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<ServerShared>,
    mut stop: oneshot::Receiver<()>,
) {
    // Connection tasks live in this set: when the accept task is aborted the set is dropped and
    // every connection is closed with it.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => {
                // Close every connection, keeping the panics of those that failed.
                connections.abort_all();
                while let Some(joined) = connections.join_next().await {
                    if let Err(error) = joined
                        && error.is_panic()
                    {
                        shared.record_failure(panic_message(error.into_panic()));
                    }
                }
                return;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let index = shared.connection_count.fetch_add(1, Ordering::SeqCst);
                    connections.spawn(serve_connection(shared.clone(), stream, index));
                }
                Err(error) if is_transient_accept_error(&error) => {}
                Err(error) => {
                    shared.record_failure(format!("accept failed: {error}"));
                    return;
                }
            },
            Some(joined) = connections.join_next(), if !connections.is_empty() => {
                if let Err(error) = joined
                    && error.is_panic()
                {
                    shared.record_failure(panic_message(error.into_panic()));
                }
            }
        }
    }
}

fn is_transient_accept_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned());
    format!("panic in the server: {text}")
}

impl ServerShared {
    pub(crate) fn record_failure(&self, message: String) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(ServerFailure { message });
    }

    /// The response the dispatcher will give next, for decisions taken before the request is
    /// read in full.
    pub(crate) fn peek(&self) -> Option<MockResponse> {
        self.dispatcher.peek()
    }

    /// Records `request` without asking the dispatcher (for requests the server answers itself,
    /// such as malformed requests and proxy `CONNECT`s).
    pub(crate) fn record(&self, request: RecordedRequest) {
        self.request_count.fetch_add(1, Ordering::SeqCst);
        if self.config.record_requests {
            let _ = self.recorded.send(request);
        }
    }

    /// Records `request` and returns the dispatcher's response to it.
    pub(crate) fn dispatch(&self, request: RecordedRequest) -> MockResponse {
        self.request_count.fetch_add(1, Ordering::SeqCst);
        let dispatched = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.dispatcher.dispatch(&request)
        }));
        // Recorded even when the dispatcher panicked, so the test sees what caused it.
        if self.config.record_requests {
            // The receiver lives as long as the server handle; a send after drop is moot.
            let _ = self.recorded.send(request);
        }
        match dispatched {
            Ok(response) => response,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

impl MockWebServer {
    /// Starts a server on 127.0.0.1 with a system-chosen port, HTTP/1.1 in cleartext, and the
    /// response queue as dispatcher.
    pub async fn start() -> io::Result<MockWebServer> {
        MockWebServer::builder().start().await
    }

    /// A builder for a server with other settings (TLS, protocols, proxy mode, dispatcher,
    /// HTTP/2 settings, address).
    pub fn builder() -> MockWebServerBuilder {
        MockWebServerBuilder::default()
    }

    /// Queues `response` for a coming request (FIFO).
    pub fn enqueue(&self, response: MockResponse) {
        self.shared.queue.enqueue(response);
    }

    /// The URL of `path` on this server: `http://127.0.0.1:PORT/path`, with `https` when TLS
    /// is on (and not in proxy mode) and brackets around an IPv6 address.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.shared.config.tls.is_some() && self.shared.config.proxy.is_none() {
            "https"
        } else {
            "http"
        };
        self.url_for_host(scheme, &self.host_for_url(), path)
    }

    /// The URL of `path` under another host name that resolves to this server (through the
    /// client's DNS override), e.g. `server.url_with_host("https", "api.example", "/")`.
    pub fn url_with_host(&self, scheme: &str, host: &str, path: &str) -> String {
        self.url_for_host(scheme, host, path)
    }

    fn url_for_host(&self, scheme: &str, host: &str, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("{scheme}://{host}:{}{slash}{path}", self.port())
    }

    fn host_for_url(&self) -> String {
        match self.local_addr.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        }
    }

    /// The address the server is bound to, as text without brackets (`127.0.0.1`, `::1`).
    pub fn host(&self) -> String {
        self.local_addr.ip().to_string()
    }

    /// The port the server is bound to.
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The socket address the server is bound to.
    pub fn socket_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The `host:port` authority to use as a proxy address when in proxy mode.
    pub fn proxy_address(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits up to `timeout` for the next recorded request, in the order requests finished
    /// arriving.
    ///
    /// # Panics
    ///
    /// Panics with the server's failure if the server itself failed (a panic in a dispatcher,
    /// say), so that the failure reaches the test.
    pub async fn take_request(&self, timeout: Duration) -> Option<RecordedRequest> {
        let mut requests = self.requests.lock().await;
        let taken = tokio::time::timeout(timeout, requests.recv())
            .await
            .ok()
            .flatten();
        if taken.is_none()
            && let Err(failure) = self.check()
        {
            panic!("{failure}");
        }
        taken
    }

    /// How many requests the server has read (and dispatched), including requests recorded for
    /// connection faults.
    pub fn request_count(&self) -> usize {
        self.shared.request_count.load(Ordering::SeqCst)
    }

    /// How many connections the server has accepted.
    pub fn connection_count(&self) -> usize {
        self.shared.connection_count.load(Ordering::SeqCst)
    }

    /// Returns the first failure inside the server so far, marking every failure as reported.
    pub fn check(&self) -> Result<(), ServerFailure> {
        let mut failures = self
            .shared
            .failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match failures.drain(..).next() {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }

    /// Stops accepting, closes every connection, and reports any failure inside the server.
    pub async fn shutdown(mut self) -> Result<(), ServerFailure> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.accept_task.take()
            && let Err(error) = task.await
            && error.is_panic()
        {
            self.shared
                .record_failure(panic_message(error.into_panic()));
        }
        self.check()
    }
}

impl fmt::Debug for MockWebServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockWebServer")
            .field("local_addr", &self.local_addr)
            .field("tls", &self.shared.config.tls.is_some())
            .field("protocols", &self.shared.config.protocols)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for MockWebServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockWebServerBuilder")
            .field("ip", &self.ip)
            .field("port", &self.port)
            .field("protocols", &self.config.protocols)
            .finish_non_exhaustive()
    }
}

impl Drop for MockWebServer {
    fn drop(&mut self) {
        if let Some(task) = self.accept_task.take() {
            task.abort();
        }
        if !std::thread::panicking()
            && let Err(failure) = self.check()
        {
            panic!("{failure} (unreported when the MockWebServer was dropped)");
        }
    }
}

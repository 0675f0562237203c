//! What the end-to-end tests of the connect layer share: a stack over the testkit server, a
//! request helper, and an event recorder.
#![allow(dead_code)]

pub mod cache;
pub mod client;
pub mod connect_proxy;
pub mod layers;
pub mod plain_server;
pub mod socks5;
pub mod tcp;
pub mod tls_world;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Request, Response};
use http_body_util::BodyExt;
use oktower::{
    CallContext, CallServer, Connect, ConnectLayer, ConnectLayerBuilder, ConnectionInfo,
    DnsOverride, Error, ErrorKind, EventListener, Handshake, Protocol, Proxy, RequestBody,
    ResponseBody, SystemTcp, TcpConnectFuture, TcpConnector,
};
use tower_layer::Layer;
use tower_service::Service;

/// How long a test waits for what must happen.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// The stack under test.
pub type Stack = Connect<CallServer>;

/// A builder whose DNS maps the given hosts to loopback addresses and nothing else.
pub fn builder(hosts: &[(&str, IpAddr)]) -> ConnectLayerBuilder {
    let mut dns = DnsOverride::only();
    for (host, ip) in hosts {
        dns = dns.with_host(host, [*ip]);
    }
    ConnectLayer::builder().dns(Arc::new(dns))
}

/// A resolver that maps each given host to its addresses, in order, and nothing else.
pub fn dns(hosts: &[(&str, &[IpAddr])]) -> Arc<DnsOverride> {
    let mut dns = DnsOverride::only();
    for (host, ips) in hosts {
        dns = dns.with_host(host, ips.iter().copied());
    }
    Arc::new(dns)
}

/// The stack of `layer` over [`CallServer`].
pub fn stack(layer: &ConnectLayer) -> Stack {
    layer.layer(CallServer::new())
}

/// What a test reads of a response.
pub struct Got {
    pub status: u16,
    pub body: String,
    pub info: ConnectionInfo,
    pub head: http::response::Parts,
}

/// Sends `request` and reads the whole response.
pub async fn send(stack: &mut Stack, request: Request<RequestBody>) -> Result<Got, Error> {
    let response: Response<ResponseBody> = stack.call(request).await?;
    let (head, body) = response.into_parts();
    let body = body.collect().await?.to_bytes();
    let info = head
        .extensions
        .get::<ConnectionInfo>()
        .cloned()
        .expect("responses carry their ConnectionInfo");
    Ok(Got {
        status: head.status.as_u16(),
        body: String::from_utf8_lossy(&body).into_owned(),
        info,
        head,
    })
}

/// A GET of `url`.
pub fn get(url: &str) -> Request<RequestBody> {
    Request::get(url)
        .body(RequestBody::empty())
        .expect("valid request")
}

/// An h2c server (HTTP/2 with prior knowledge, no TLS) answering every request with `body`.
pub async fn h2c_server(body: &'static str) -> oktower_testkit::MockWebServer {
    oktower_testkit::MockWebServer::builder()
        .protocols(&[oktower_testkit::Protocol::H2PriorKnowledge])
        .default_response(oktower_testkit::MockResponse::new().body(body))
        .start()
        .await
        .expect("the h2c server starts")
}

/// A POST of `body` to `url`.
pub fn post(url: &str, body: &'static str) -> Request<RequestBody> {
    Request::post(url)
        .body(RequestBody::full(body))
        .expect("valid request")
}

/// `request`, reporting to `listener`.
pub fn with_listener(
    mut request: Request<RequestBody>,
    listener: Arc<dyn EventListener>,
) -> Request<RequestBody> {
    request.extensions_mut().insert(CallContext::new(listener));
    request
}

/// A GET of `url` reporting to `listener`.
pub fn get_with(url: &str, listener: Arc<dyn EventListener>) -> Request<RequestBody> {
    let mut request = get(url);
    request.extensions_mut().insert(CallContext::new(listener));
    request
}

/// A client whose DNS maps `hosts` to 127.0.0.1 and nothing else, reporting to `events`.
pub fn client_builder(hosts: &[&str], events: &Arc<Events>) -> oktower::ClientBuilder {
    let mut dns = DnsOverride::only();
    for host in hosts {
        dns = dns.with_host(host, [IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)]);
    }
    let listener: Arc<dyn EventListener> = events.clone();
    oktower::Client::builder()
        .dns(dns)
        .proxy(Proxy::Direct)
        .event_listener(listener)
}

/// Sends every connection to one server, whatever address is asked for.
pub struct AllTo(pub SocketAddr);

impl TcpConnector for AllTo {
    fn connect(&self, _addr: SocketAddr) -> TcpConnectFuture {
        SystemTcp.connect(self.0)
    }
}

/// Records event names in order, and the details of connect attempts.
#[derive(Default)]
pub struct Events {
    names: Mutex<Vec<String>>,
    connect_starts: Mutex<Vec<SocketAddr>>,
    connect_failures: Mutex<Vec<(SocketAddr, ErrorKind)>>,
    connect_ends: Mutex<Vec<(SocketAddr, Option<Protocol>)>>,
    pushed: tokio::sync::Notify,
}

impl Events {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.names.lock().unwrap())
    }

    /// The addresses of `connect_start`, in order.
    pub fn connect_starts(&self) -> Vec<SocketAddr> {
        self.connect_starts.lock().unwrap().clone()
    }

    /// The address and error kind of each `connect_failed`, in order.
    pub fn connect_failures(&self) -> Vec<(SocketAddr, ErrorKind)> {
        self.connect_failures.lock().unwrap().clone()
    }

    /// The address and protocol of each `connect_end`, in order.
    pub fn connect_ends(&self) -> Vec<(SocketAddr, Option<Protocol>)> {
        self.connect_ends.lock().unwrap().clone()
    }

    /// Waits until an event named `name` was recorded (and not taken since).
    pub async fn wait_for(&self, name: &str) {
        loop {
            let pushed = self.pushed.notified();
            if self.names.lock().unwrap().iter().any(|n| n == name) {
                return;
            }
            pushed.await;
        }
    }

    fn push(&self, name: impl Into<String>) {
        self.names.lock().unwrap().push(name.into());
        self.pushed.notify_waiters();
    }
}

impl EventListener for Events {
    fn call_start(&self, _uri: &http::Uri) {
        self.push("CallStart");
    }
    fn call_end(&self) {
        self.push("CallEnd");
    }
    fn call_failed(&self, _error: &Error) {
        self.push("CallFailed");
    }
    fn canceled(&self) {
        self.push("Canceled");
    }
    fn dispatcher_queue_start(&self) {
        self.push("DispatcherQueueStart");
    }
    fn dispatcher_queue_end(&self) {
        self.push("DispatcherQueueEnd");
    }
    fn retry_decision(&self, _error: &Error, retry: bool) {
        self.push(format!("RetryDecision {retry}"));
    }
    fn follow_up_decision(
        &self,
        _response: &http::response::Parts,
        next: Option<&http::request::Parts>,
    ) {
        self.push(if next.is_some() {
            "FollowUpDecision next"
        } else {
            "FollowUpDecision"
        });
    }
    fn satisfaction_failure(&self, _response: &http::response::Parts) {
        self.push("SatisfactionFailure");
    }
    fn cache_hit(&self, _response: &http::response::Parts) {
        self.push("CacheHit");
    }
    fn cache_miss(&self) {
        self.push("CacheMiss");
    }
    fn cache_conditional_hit(&self, _cached: &http::response::Parts) {
        self.push("CacheConditionalHit");
    }
    fn proxy_select_start(&self, _uri: &http::Uri) {
        self.push("ProxySelectStart");
    }
    fn proxy_select_end(&self, _uri: &http::Uri, _proxies: &[Proxy]) {
        self.push("ProxySelectEnd");
    }
    fn dns_start(&self, _host: &str) {
        self.push("DnsStart");
    }
    fn dns_end(&self, _host: &str, _addresses: &[IpAddr]) {
        self.push("DnsEnd");
    }
    fn connect_start(&self, addr: SocketAddr, _proxy: &Proxy) {
        self.connect_starts.lock().unwrap().push(addr);
        self.push("ConnectStart");
    }
    fn secure_connect_start(&self) {
        self.push("SecureConnectStart");
    }
    fn secure_connect_end(&self, _handshake: Option<&Handshake>) {
        self.push("SecureConnectEnd");
    }
    fn connect_end(&self, addr: SocketAddr, _proxy: &Proxy, protocol: Option<Protocol>) {
        self.connect_ends.lock().unwrap().push((addr, protocol));
        self.push("ConnectEnd");
    }
    fn connect_failed(
        &self,
        addr: SocketAddr,
        _proxy: &Proxy,
        _p: Option<Protocol>,
        error: &Error,
    ) {
        self.connect_failures
            .lock()
            .unwrap()
            .push((addr, error.kind()));
        self.push("ConnectFailed");
    }
    fn connection_acquired(&self, _connection: &ConnectionInfo) {
        self.push("ConnectionAcquired");
    }
    fn connection_released(&self, _connection: &ConnectionInfo) {
        self.push("ConnectionReleased");
    }
    fn request_headers_start(&self) {
        self.push("RequestHeadersStart");
    }
    fn request_headers_end(&self, _request: &http::request::Parts) {
        self.push("RequestHeadersEnd");
    }
    fn request_body_start(&self) {
        self.push("RequestBodyStart");
    }
    fn request_body_end(&self, _byte_count: u64) {
        self.push("RequestBodyEnd");
    }
    fn request_failed(&self, _error: &Error) {
        self.push("RequestFailed");
    }
    fn response_headers_start(&self) {
        self.push("ResponseHeadersStart");
    }
    fn informational_response(&self, status: http::StatusCode, _headers: &http::HeaderMap) {
        self.push(format!("Informational {}", status.as_u16()));
    }
    fn response_headers_end(&self, _response: &http::response::Parts) {
        self.push("ResponseHeadersEnd");
    }
    fn response_body_start(&self) {
        self.push("ResponseBodyStart");
    }
    fn response_body_end(&self, _byte_count: u64) {
        self.push("ResponseBodyEnd");
    }
    fn response_failed(&self, _error: &Error) {
        self.push("ResponseFailed");
    }
}

//! Tests of the CONNECT tunnel, against the testkit's proxy mode and scripted proxies.

use super::*;
use crate::connection::tcp::{SystemTcp, TcpConnector};
use crate::{Address, NoEvents, NoProxy, NoProxyAuth, Proxy, Scheme, SystemDns, is_preemptive};
use oktower_testkit::{MockResponse, MockWebServer, ProxyMode, RecordedRequest};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::DuplexStream;

const PATIENCE: Duration = Duration::from_secs(10);
const USER_PASS: &str = "Basic dXNlcjpwYXNz";
/// The headers of every `CONNECT`, as `headers` lists them.
const CONNECT_HEADERS: &str =
    "host: origin.test:443\nproxy-connection: Keep-Alive\nuser-agent: oktower-test\n";

/// Answers real `407`s with a fixed value (never preemptively), counting the calls.
struct Answer(Option<&'static str>, AtomicUsize);

impl ProxyAuthenticator for Answer {
    fn authenticate(&self, _: &Route, response: &response::Parts) -> Option<HeaderValue> {
        if is_preemptive(response) {
            return None;
        }
        self.1.fetch_add(1, Ordering::SeqCst);
        self.0.map(HeaderValue::from_static)
    }
}

/// Counts `connect_end` events, which must come without a protocol.
struct ConnectEnds(AtomicUsize);

impl EventListener for ConnectEnds {
    fn connect_end(&self, _: SocketAddr, _: &Proxy, protocol: Option<crate::Protocol>) {
        assert_eq!(protocol, None);
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn route(host: &str, proxy: Proxy, proxy_addr: SocketAddr) -> Route {
    let (dns, selector) = (Arc::new(SystemDns), Arc::new(NoProxy));
    let address = Address::builder(Scheme::Https, host, 443, dns, selector).build();
    Route::new(address, proxy, proxy_addr)
}

async fn proxy_server(mode: ProxyMode) -> (MockWebServer, Route) {
    let server = MockWebServer::builder()
        .proxy_mode(mode)
        .start()
        .await
        .unwrap();
    let proxy = Proxy::http(server.host(), server.port());
    let route = route("origin.test", proxy, server.proxy_address());
    (server, route)
}

/// A proxy that demands `USER_PASS`, closing the connection after a `407` if `close`.
fn auth_required(close: bool) -> ProxyMode {
    let mode = ProxyMode::new().require_auth(USER_PASS, "Basic realm=\"p\"");
    mode.close_on_auth_failure(close)
}

fn settings(auth: &dyn ProxyAuthenticator, timeout: Option<Duration>) -> TunnelSettings<'_> {
    static USER_AGENT: HeaderValue = HeaderValue::from_static("oktower-test");
    TunnelSettings {
        user_agent: &USER_AGENT,
        authenticator: auth,
        timeout,
    }
}

async fn tcp(addr: SocketAddr) -> Result<BoxedIo, Error> {
    Ok(SystemTcp.connect(addr).await.unwrap())
}

/// Runs a tunnel through the proxy at `route`'s socket address.
async fn tunnel(
    route: &Route,
    authenticator: &dyn ProxyAuthenticator,
    listener: &dyn EventListener,
) -> Result<BoxedIo, Error> {
    let settings = settings(authenticator, Some(PATIENCE));
    let addr = route.socket_addr();
    let io = tcp(addr).await?;
    connect_tunnel(io, route, &settings, listener, || tcp(addr)).await
}

/// Sends a GET through `io` and returns the whole response.
async fn get_through(mut io: BoxedIo) -> String {
    let request = b"GET /inner HTTP/1.1\r\nHost: origin.test\r\nConnection: close\r\n\r\n";
    io.write_all(request).await.unwrap();
    let mut response = String::new();
    io.read_to_string(&mut response).await.unwrap();
    response
}

/// The request's headers as `name: value` lines.
fn headers(request: &RecordedRequest) -> String {
    let headers = request.headers().iter();
    headers
        .map(|(n, v)| format!("{n}: {}\n", v.to_str().unwrap()))
        .collect()
}

fn indexes(request: &RecordedRequest) -> (usize, usize) {
    (request.connection_index(), request.exchange_index())
}

#[tokio::test]
async fn a_tunnel_is_established_and_carries_requests() {
    let (server, route) = proxy_server(ProxyMode::new()).await;
    server.enqueue(MockResponse::new().body("inside the tunnel"));
    let io = tunnel(&route, &NoProxyAuth, &NoEvents).await.unwrap();
    assert!(get_through(io).await.ends_with("inside the tunnel"));

    let connect = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(connect.method(), "CONNECT");
    assert_eq!(connect.target(), "origin.test:443");
    assert_eq!(indexes(&connect), (0, 0));
    // Only what the proxy needs; nothing of an application's request.
    assert_eq!(headers(&connect), CONNECT_HEADERS);
    let inner = server.take_request(PATIENCE).await.unwrap();
    assert_eq!((inner.path(), indexes(&inner)), ("/inner", (0, 1)));
}

#[tokio::test]
async fn preemptive_credentials_are_the_only_header_added() {
    let (server, route) = proxy_server(auth_required(false)).await;
    let proxy = route.proxy().clone().with_credentials("user", "pass");
    let route = Route::new(route.address().clone(), proxy, route.socket_addr());
    let authenticator = Answer(None, AtomicUsize::new(0));
    tunnel(&route, &authenticator, &NoEvents).await.unwrap();
    let connect = server.take_request(PATIENCE).await.unwrap();
    let expected = format!("{CONNECT_HEADERS}proxy-authorization: {USER_PASS}\n");
    assert_eq!(headers(&connect), expected);
    assert_eq!(authenticator.1.load(Ordering::SeqCst), 0);
    assert_eq!(server.connection_count(), 1);
}

#[tokio::test]
async fn a_407_with_connection_close_is_retried_on_a_new_connection() {
    let (server, route) = proxy_server(auth_required(true)).await;
    let authenticator = Answer(Some(USER_PASS), AtomicUsize::new(0));
    let listener = ConnectEnds(AtomicUsize::new(0));
    server.enqueue(MockResponse::new().body("through"));
    let io = tunnel(&route, &authenticator, &listener).await.unwrap();
    assert!(get_through(io).await.ends_with("through"));
    assert_eq!(server.connection_count(), 2);
    assert_eq!(authenticator.1.load(Ordering::SeqCst), 1);
    assert_eq!(listener.0.load(Ordering::SeqCst), 1);

    let refused = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(indexes(&refused), (0, 0));
    assert_eq!(refused.header("proxy-authorization"), None);
    let admitted = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(indexes(&admitted), (1, 0));
    assert_eq!(admitted.header("proxy-authorization"), Some(USER_PASS));
    let inner = server.take_request(PATIENCE).await.unwrap();
    assert_eq!((inner.path(), indexes(&inner)), ("/inner", (1, 1)));
}

#[tokio::test]
async fn a_407_without_close_is_retried_on_the_same_testkit_connection() {
    let (server, route) = proxy_server(auth_required(false)).await;
    server.enqueue(MockResponse::new().body("same connection"));
    let authenticator = Answer(Some(USER_PASS), AtomicUsize::new(0));
    let io = tunnel(&route, &authenticator, &NoEvents).await.unwrap();
    assert!(get_through(io).await.ends_with("same connection"));
    assert_eq!(server.connection_count(), 1);
    assert_eq!(authenticator.1.load(Ordering::SeqCst), 1);
    let refused = server.take_request(PATIENCE).await.unwrap();
    let admitted = server.take_request(PATIENCE).await.unwrap();
    let inner = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(indexes(&refused), (0, 0));
    assert_eq!(indexes(&admitted), (0, 1));
    assert_eq!((inner.path(), indexes(&inner)), ("/inner", (0, 2)));
}

#[tokio::test]
async fn an_authenticator_that_gives_up_fails_the_tunnel() {
    let (_server, route) = proxy_server(auth_required(false)).await;
    let error = tunnel(&route, &NoProxyAuth, &NoEvents).await.err().unwrap();
    assert!(error.is_proxy(), "{error:?}");
    assert_eq!(error.message(), "Failed to authenticate with proxy");
    assert_eq!(error.url(), Some("https://origin.test:443/"));
}

#[tokio::test]
async fn tunnel_attempts_stop_at_21() {
    let (server, route) = proxy_server(auth_required(true)).await;
    let authenticator = Answer(Some("Basic d3Jvbmc="), AtomicUsize::new(0));
    let error = tunnel(&route, &authenticator, &NoEvents)
        .await
        .err()
        .unwrap();
    assert!(error.is_protocol(), "{error:?}");
    assert_eq!(error.message(), "Too many tunnel connections attempted: 21");
    assert_eq!(authenticator.1.load(Ordering::SeqCst), 21);
    assert_eq!(server.connection_count(), 21);
    assert_eq!(server.request_count(), 21);
}

/// Runs a tunnel over an in-memory stream against a scripted proxy; returns the tunnel's
/// result and the script's.
async fn scripted<S, Fut, T>(
    authenticator: &dyn ProxyAuthenticator,
    timeout: Option<Duration>,
    script: S,
) -> (Result<BoxedIo, Error>, T)
where
    S: FnOnce(DuplexStream) -> Fut,
    Fut: Future<Output = T>,
{
    let (client, proxy) = tokio::io::duplex(64 * 1024);
    let addr = "127.0.0.1:3128".parse().unwrap();
    let route = route("origin.test", Proxy::http("127.0.0.1", 3128), addr);
    let settings = settings(authenticator, timeout);
    let no_reconnect = || async { Err(Error::new(ErrorKind::Connect, "no reconnect")) };
    let connecting = connect_tunnel(Box::new(client), &route, &settings, &NoEvents, no_reconnect);
    tokio::join!(connecting, script(proxy))
}

async fn read_request(proxy: &mut DuplexStream) -> String {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(proxy.read_u8().await.unwrap());
    }
    String::from_utf8(head).unwrap()
}

#[tokio::test]
async fn a_407_without_close_is_answered_on_the_same_connection() {
    let authenticator = Answer(Some(USER_PASS), AtomicUsize::new(0));
    let (tunnel, mut proxy) = scripted(&authenticator, Some(PATIENCE), |mut proxy| async move {
        let first = read_request(&mut proxy).await;
        assert!(!first.contains("Proxy-Authorization"), "{first}");
        let challenge = b"HTTP/1.1 407 Proxy Authentication Required\r\n\
            Proxy-Authenticate: Basic\r\nContent-Length: 6\r\n\r\ndenied";
        proxy.write_all(challenge).await.unwrap();
        let second = read_request(&mut proxy).await;
        assert!(
            second.starts_with("CONNECT origin.test:443 HTTP/1.1\r\n"),
            "{second}"
        );
        let authorization = format!("\r\nProxy-Authorization: {USER_PASS}\r\n");
        assert!(second.contains(&authorization), "{second}");
        proxy
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .unwrap();
        proxy
    })
    .await;
    let mut io = tunnel.unwrap();
    assert_eq!(authenticator.1.load(Ordering::SeqCst), 1);
    // The stream is now the tunnel, both ways.
    let mut buf = [0u8; 4];
    io.write_all(b"ping").await.unwrap();
    proxy.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
    proxy.write_all(b"pong").await.unwrap();
    io.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong");
}

/// The error of a tunnel whose proxy answers the first CONNECT with `response`.
async fn answering(response: impl Into<Vec<u8>>) -> Error {
    let response = response.into();
    let script = |mut proxy: DuplexStream| async move {
        read_request(&mut proxy).await;
        let _ = proxy.write_all(&response).await;
    };
    scripted(&NoProxyAuth, Some(PATIENCE), script)
        .await
        .0
        .err()
        .unwrap()
}

#[tokio::test]
async fn unexpected_answers_fail_the_tunnel() {
    let forbidden = answering(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").await;
    assert!(forbidden.is_proxy(), "{forbidden:?}");
    assert_eq!(
        forbidden.message(),
        "Unexpected response code for CONNECT: 403"
    );

    let chatty = answering(b"HTTP/1.1 200 OK\r\n\r\nSSH-2.0-OpenSSH\r\n").await;
    assert!(chatty.is_protocol(), "{chatty:?}");
    assert_eq!(chatty.message(), "TLS tunnel buffered too many bytes!");

    let huge = [
        b"HTTP/1.1 200 OK\r\nX-Filler: ".as_slice(),
        &[b'a'; 300 * 1024],
    ]
    .concat();
    let huge = answering(huge).await;
    assert!(huge.is_protocol(), "{huge:?}");
    assert_eq!(
        huge.message(),
        "CONNECT response head is larger than 256 KiB"
    );

    let garbage = answering(b"SSH-2.0-OpenSSH\r\n\r\n").await;
    assert!(garbage.is_protocol(), "{garbage:?}");

    let closed = answering(b"HTTP/1.1 200").await;
    assert!(closed.is_proxy(), "{closed:?}");
}

#[tokio::test(start_paused = true)]
async fn a_silent_proxy_times_out() {
    let started = tokio::time::Instant::now();
    let script = |mut proxy: DuplexStream| async move {
        read_request(&mut proxy).await;
        // Never answers; the stream stays open until the client gives up.
        let _ = proxy.read_u8().await;
    };
    let limit = Some(Duration::from_secs(5));
    let error = scripted(&NoProxyAuth, limit, script).await.0.err().unwrap();
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(5));
}

#[test]
fn ipv6_targets_are_bracketed() {
    let route = route("::1", Proxy::http("p", 1), "127.0.0.1:1".parse().unwrap());
    let request = connect_request(&route, &HeaderValue::from_static("ua"), None);
    assert_eq!(
        String::from_utf8(request).unwrap(),
        "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\
         Proxy-Connection: Keep-Alive\r\nUser-Agent: ua\r\n\r\n"
    );
}

//! The public seams of connecting: TCP connectors and proxy authenticators.
//!
//! The connect machinery itself (happy eyeballs, CONNECT tunnels, SOCKS5) is crate-private
//! and tested beside its code in `crates/oktower/src/connection/`.

mod support;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use oktower::{
    Address, BasicProxyAuth, NoProxy, NoProxyAuth, PREEMPTIVE_CHALLENGE, Proxy, ProxyAuthenticator,
    Route, Scheme, SystemDns, SystemTcp, TcpConnector, is_preemptive,
};
use oktower_testkit::{MockResponse, MockWebServer};
use support::AllTo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PATIENCE: Duration = Duration::from_secs(10);

async fn get(connector: &dyn TcpConnector, addr: SocketAddr) -> String {
    let mut stream = connector.connect(addr).await.unwrap();
    stream
        .write_all(b"GET /tcp HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}

#[tokio::test]
async fn system_tcp_reaches_a_server() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("over system tcp"));
    let response = get(&SystemTcp, server.socket_addr()).await;
    assert!(response.ends_with("over system tcp"), "{response}");
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.path(), "/tcp");
}

#[tokio::test]
async fn system_tcp_reports_a_refused_connection() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let error = SystemTcp.connect(addr).await.err().unwrap();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn an_injected_connector_decides_where_tcp_goes() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("redirected"));
    let connector: Arc<dyn TcpConnector> = Arc::new(AllTo(server.socket_addr()));
    // 127.0.0.1:9 (discard) has no listener here: only the connector makes this work.
    let response = get(&connector, "127.0.0.1:9".parse().unwrap()).await;
    assert!(response.ends_with("redirected"), "{response}");
    assert_eq!(server.connection_count(), 1);
}

fn route() -> Route {
    let address = Address::builder(
        Scheme::Https,
        "a.test",
        443,
        Arc::new(SystemDns),
        Arc::new(NoProxy),
    );
    let proxy = Proxy::http("127.0.0.1", 3128);
    Route::new(address.build(), proxy, "127.0.0.1:3128".parse().unwrap())
}

fn challenge(value: &'static str) -> http::response::Parts {
    let response = http::Response::builder()
        .status(407)
        .header("Proxy-Authenticate", value)
        .body(())
        .unwrap();
    response.into_parts().0
}

#[test]
fn basic_proxy_auth_answers_preemptively_and_to_basic_challenges() {
    let auth = BasicProxyAuth::new("user", "pass");
    let route = route();
    let preemptive = challenge(PREEMPTIVE_CHALLENGE);
    assert!(is_preemptive(&preemptive));
    assert_eq!(
        auth.authenticate(&route, &preemptive).unwrap(),
        "Basic dXNlcjpwYXNz"
    );
    let basic = challenge("Basic realm=\"proxy\"");
    assert!(!is_preemptive(&basic));
    assert_eq!(
        auth.authenticate(&route, &basic).unwrap(),
        "Basic dXNlcjpwYXNz"
    );
    let digest = challenge("Digest realm=\"proxy\", nonce=\"x\"");
    assert_eq!(auth.authenticate(&route, &digest), None);
    assert_eq!(NoProxyAuth.authenticate(&route, &basic), None);
    // Shared authenticators are authenticators too.
    let shared: Arc<dyn ProxyAuthenticator> = Arc::new(auth);
    assert!(shared.authenticate(&route, &basic).is_some());
}

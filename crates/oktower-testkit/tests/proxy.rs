//! Proxy mode: absolute-form targets, CONNECT tunnels and proxy authentication.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use oktower_testkit::{MockResponse, MockWebServer, ProxyMode};
use support::{PATIENCE, exchange_until_close, read_to_end, read_until, stays_silent, text};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn absolute_form_targets_are_recorded_and_answered() {
    let server = MockWebServer::builder()
        .proxy_mode(ProxyMode::new())
        .start()
        .await
        .unwrap();
    server.enqueue(MockResponse::new().body("proxied"));
    let wire = exchange_until_close(
        server.proxy_address(),
        b"GET http://origin.example/a/b?c HTTP/1.1\r\nHost: origin.example\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(text(&wire).ends_with("proxied"));
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.target(), "http://origin.example/a/b?c");
    assert_eq!(request.path(), "/a/b?c");
}

#[tokio::test]
async fn connect_opens_a_cleartext_tunnel_to_the_server_itself() {
    let server = MockWebServer::builder()
        .proxy_mode(ProxyMode::new())
        .start()
        .await
        .unwrap();
    server.enqueue(MockResponse::new().body("inside the tunnel"));
    let mut socket = TcpStream::connect(server.proxy_address()).await.unwrap();
    socket
        .write_all(b"CONNECT origin.example:80 HTTP/1.1\r\nHost: origin.example:80\r\nUser-Agent: t\r\n\r\n")
        .await
        .unwrap();
    let established = read_until(&mut socket, b"\r\n\r\n").await;
    assert_eq!(
        text(&established),
        "HTTP/1.1 200 Connection established\r\n\r\n"
    );
    socket
        .write_all(b"GET /inner HTTP/1.1\r\nHost: origin.example\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(text(&read_to_end(&mut socket).await).ends_with("inside the tunnel"));

    let connect = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(connect.method(), "CONNECT");
    assert_eq!(connect.target(), "origin.example:80");
    assert_eq!(
        (connect.connection_index(), connect.exchange_index()),
        (0, 0)
    );
    let inner = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(inner.path(), "/inner");
    assert_eq!((inner.connection_index(), inner.exchange_index()), (0, 1));
}

#[tokio::test]
async fn proxy_authorization_is_demanded_with_407() {
    let proxy = ProxyMode::new().require_auth("Basic dXNlcjpwYXNz", "Basic realm=\"proxy\"");
    let server = MockWebServer::builder()
        .proxy_mode(proxy)
        .start()
        .await
        .unwrap();
    server.enqueue(MockResponse::new().body("welcome"));

    let mut socket = TcpStream::connect(server.proxy_address()).await.unwrap();
    socket
        .write_all(b"GET http://origin.example/ HTTP/1.1\r\nHost: origin.example\r\n\r\n")
        .await
        .unwrap();
    let challenge = read_until(&mut socket, b"\r\n\r\n").await;
    assert_eq!(
        text(&challenge),
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"proxy\"\r\nContent-Length: 0\r\n\r\n"
    );
    // The connection stays usable: retry on it with credentials.
    socket
        .write_all(b"GET http://origin.example/ HTTP/1.1\r\nHost: origin.example\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(text(&read_to_end(&mut socket).await).ends_with("welcome"));

    let refused = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(refused.header("proxy-authorization"), None);
    let admitted = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(
        admitted.header("proxy-authorization"),
        Some("Basic dXNlcjpwYXNz")
    );
    assert_eq!(admitted.exchange_index(), 1);
}

#[tokio::test]
async fn connect_without_credentials_gets_407_and_can_close() {
    let proxy = ProxyMode::new()
        .require_auth("Basic dXNlcjpwYXNz", "Basic realm=\"proxy\"")
        .close_on_auth_failure(true);
    let server = MockWebServer::builder()
        .proxy_mode(proxy)
        .start()
        .await
        .unwrap();
    let wire = exchange_until_close(
        server.proxy_address(),
        b"CONNECT origin.example:443 HTTP/1.1\r\nHost: origin.example:443\r\n\r\n",
    )
    .await;
    assert_eq!(
        text(&wire),
        "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"proxy\"\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );

    // With credentials the CONNECT is accepted.
    let mut socket = TcpStream::connect(server.proxy_address()).await.unwrap();
    socket
        .write_all(b"CONNECT origin.example:80 HTTP/1.1\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n")
        .await
        .unwrap();
    let established = read_until(&mut socket, b"\r\n\r\n").await;
    assert!(text(&established).starts_with("HTTP/1.1 200 "));
    assert!(stays_silent(&mut socket, Duration::from_millis(50)).await);
    assert_eq!(server.connection_count(), 2);
}

#[tokio::test]
async fn connect_407_keeps_the_connection_and_the_tunnel_needs_no_proxy_auth() {
    let proxy = ProxyMode::new().require_auth("Basic dXNlcjpwYXNz", "Basic realm=\"proxy\"");
    let server = MockWebServer::builder()
        .proxy_mode(proxy)
        .start()
        .await
        .unwrap();
    server.enqueue(MockResponse::new().body("origin answered"));

    let mut socket = TcpStream::connect(server.proxy_address()).await.unwrap();
    socket
        .write_all(b"CONNECT origin.example:80 HTTP/1.1\r\nHost: origin.example:80\r\n\r\n")
        .await
        .unwrap();
    let challenge = read_until(&mut socket, b"\r\n\r\n").await;
    assert!(text(&challenge).starts_with("HTTP/1.1 407 "));
    // Without `Connection: close` the client may answer the challenge on the same connection.
    socket
        .write_all(b"CONNECT origin.example:80 HTTP/1.1\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\n")
        .await
        .unwrap();
    let established = read_until(&mut socket, b"\r\n\r\n").await;
    assert_eq!(
        text(&established),
        "HTTP/1.1 200 Connection established\r\n\r\n"
    );
    // Inside the tunnel the server is the origin: no proxy authentication is asked for.
    socket
        .write_all(b"GET /inner HTTP/1.1\r\nHost: origin.example\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    assert!(text(&read_to_end(&mut socket).await).ends_with("origin answered"));

    let exchanges: Vec<(String, usize, usize)> = {
        let mut seen = Vec::new();
        for _ in 0..3 {
            let r = server.take_request(PATIENCE).await.unwrap();
            seen.push((
                r.method().to_owned(),
                r.connection_index(),
                r.exchange_index(),
            ));
        }
        seen
    };
    assert_eq!(
        exchanges,
        [
            ("CONNECT".to_owned(), 0, 0),
            ("CONNECT".to_owned(), 0, 1),
            ("GET".to_owned(), 0, 2)
        ]
    );
    assert_eq!(server.connection_count(), 1);
}

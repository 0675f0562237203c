//! Binding, addresses, dispatchers, counters, shutdown and failure reporting.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use oktower_testkit::{MockResponse, MockWebServer, QueueDispatcher, RecordedRequest};
use support::{PATIENCE, exchange_until_close, read_to_end, read_until, text};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const GET_CLOSE: &[u8] = b"GET /path HTTP/1.1\r\nConnection: close\r\n\r\n";

#[tokio::test]
async fn binds_loopback_with_a_system_port() {
    let server = MockWebServer::start().await.unwrap();
    assert_eq!(server.socket_addr().ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
    assert_ne!(server.port(), 0);
    assert_eq!(server.host(), "127.0.0.1");
    assert_eq!(
        server.url("/a?b=c"),
        format!("http://127.0.0.1:{}/a?b=c", server.port())
    );
    assert_eq!(
        server.url("a"),
        format!("http://127.0.0.1:{}/a", server.port())
    );
    assert_eq!(
        server.url_with_host("https", "api.example", "/x"),
        format!("https://api.example:{}/x", server.port())
    );
}

#[tokio::test]
async fn binds_a_chosen_loopback_address() {
    let ip = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let server = MockWebServer::builder().ip(ip).start().await.unwrap();
    assert_eq!(server.socket_addr().ip(), ip);
    server.enqueue(MockResponse::new().body("from 127.0.0.2"));
    let wire = exchange_until_close(server.socket_addr(), GET_CLOSE).await;
    assert!(text(&wire).ends_with("from 127.0.0.2"));
}

#[tokio::test]
async fn binds_ipv6_loopback_when_available() {
    let server = match MockWebServer::builder()
        .ip(IpAddr::V6(Ipv6Addr::LOCALHOST))
        .start()
        .await
    {
        Ok(server) => server,
        Err(error) => {
            eprintln!("skipping: this machine has no IPv6 loopback ({error})");
            return;
        }
    };
    assert_eq!(server.host(), "::1");
    assert_eq!(server.url("/"), format!("http://[::1]:{}/", server.port()));
    server.enqueue(MockResponse::new().body("v6"));
    let wire = exchange_until_close(server.socket_addr(), GET_CLOSE).await;
    assert!(text(&wire).ends_with("v6"));
}

#[tokio::test]
async fn refuses_non_loopback_addresses() {
    let error = MockWebServer::builder()
        .ip(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
        .start()
        .await
        .unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[tokio::test]
async fn closure_dispatcher_answers_dynamically() {
    let server = MockWebServer::builder()
        .dispatcher(|request: &RecordedRequest| {
            MockResponse::new().body(format!(
                "{} {} {}",
                request.method(),
                request.path(),
                request.body_text()
            ))
        })
        .start()
        .await
        .unwrap();
    let wire = exchange_until_close(
        server.socket_addr(),
        b"PUT /echo HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
    )
    .await;
    assert!(text(&wire).ends_with("PUT /echo hi"));
}

#[tokio::test]
async fn shared_queue_dispatcher_can_be_passed_in() {
    let queue = std::sync::Arc::new(QueueDispatcher::new());
    let server = MockWebServer::builder()
        .dispatcher({
            let queue = queue.clone();
            move |request: &RecordedRequest| oktower_testkit::Dispatcher::dispatch(&*queue, request)
        })
        .start()
        .await
        .unwrap();
    queue.enqueue(MockResponse::new().body("queued elsewhere"));
    let wire = exchange_until_close(server.socket_addr(), GET_CLOSE).await;
    assert!(text(&wire).ends_with("queued elsewhere"));
    assert!(queue.is_empty());
}

#[tokio::test]
async fn empty_queue_serves_the_default_response() {
    let server = MockWebServer::start().await.unwrap();
    let wire = exchange_until_close(server.socket_addr(), GET_CLOSE).await;
    assert!(text(&wire).starts_with("HTTP/1.1 404 Not Found"));

    let server = MockWebServer::builder()
        .default_response(MockResponse::new().status(204))
        .start()
        .await
        .unwrap();
    server.enqueue(MockResponse::new().body("queued first"));
    assert!(
        text(&exchange_until_close(server.socket_addr(), GET_CLOSE).await)
            .ends_with("queued first")
    );
    for _ in 0..2 {
        let wire = exchange_until_close(server.socket_addr(), GET_CLOSE).await;
        assert_eq!(text(&wire), "HTTP/1.1 204 No Content\r\n\r\n");
    }
    assert_eq!(server.request_count(), 3);
    assert_eq!(server.connection_count(), 3);
}

#[tokio::test]
async fn dropping_the_server_closes_its_connections() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("alive"));
    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    socket.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    read_until(&mut socket, b"alive").await;
    let addr = server.socket_addr();
    drop(server);
    assert!(read_to_end(&mut socket).await.is_empty());
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is still open"
    );
}

#[tokio::test]
async fn a_panicking_dispatcher_reaches_the_test() {
    let server = MockWebServer::builder()
        .dispatcher(|_: &RecordedRequest| -> MockResponse { panic!("dispatcher exploded") })
        .start()
        .await
        .unwrap();
    let wire = exchange_until_close(server.socket_addr(), GET_CLOSE).await;
    assert!(wire.is_empty());
    // The request was recorded before the dispatcher ran.
    assert_eq!(server.take_request(PATIENCE).await.unwrap().path(), "/path");
    let failure = server.shutdown().await.unwrap_err();
    assert!(
        failure.message().contains("dispatcher exploded"),
        "{failure}"
    );
}

#[tokio::test]
async fn take_request_reports_a_server_failure_instead_of_timing_out_silently() {
    let server = MockWebServer::builder()
        .dispatcher(|_: &RecordedRequest| -> MockResponse { panic!("kaboom") })
        .record_requests(false)
        .start()
        .await
        .unwrap();
    exchange_until_close(server.socket_addr(), GET_CLOSE).await;
    let outcome = tokio::spawn(async move {
        // Keep polling until the accept loop has collected the panic.
        loop {
            server.take_request(Duration::from_millis(20)).await;
        }
    })
    .await;
    let panic = outcome.unwrap_err().into_panic();
    let message = panic.downcast_ref::<String>().unwrap();
    assert!(message.contains("kaboom"), "{message}");
}

#[tokio::test]
async fn take_request_times_out_when_nothing_arrives() {
    let server = MockWebServer::start().await.unwrap();
    assert!(
        server
            .take_request(Duration::from_millis(20))
            .await
            .is_none()
    );
    assert_eq!(server.request_count(), 0);
}

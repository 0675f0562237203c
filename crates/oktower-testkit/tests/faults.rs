//! Socket faults, each observed from the client side with a raw socket.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use oktower_testkit::{AfterResponse, Fault, Http2ErrorCode, MockResponse, MockWebServer};
use support::{PATIENCE, exchange_until_close, read_to_end, read_until, stays_silent, text};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

#[tokio::test]
async fn disconnect_at_start_closes_before_reading() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::fault(Fault::DisconnectAtStart));
    server.enqueue(MockResponse::new().body("next"));

    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    assert!(read_to_end(&mut socket).await.is_empty());
    let bookkeeping = server.take_request(PATIENCE).await.unwrap();
    assert!(bookkeeping.failure().unwrap().contains("DisconnectAtStart"));
    assert_eq!(bookkeeping.method(), "");

    // The fault consumed its response: the next connection gets the next one.
    let wire = exchange_until_close(
        server.socket_addr(),
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(text(&wire).ends_with("next"));
    assert_eq!(server.connection_count(), 2);
}

#[tokio::test]
async fn stall_at_start_never_reads_nor_answers() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::fault(Fault::StallAtStart));
    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    socket.write_all(GET).await.unwrap();
    assert!(stays_silent(&mut socket, Duration::from_millis(200)).await);
    let bookkeeping = server.take_request(PATIENCE).await.unwrap();
    assert!(bookkeeping.failure().unwrap().contains("StallAtStart"));
    // The request itself was never read.
    assert!(
        server
            .take_request(Duration::from_millis(50))
            .await
            .is_none()
    );
}

#[tokio::test]
async fn disconnect_after_request_reads_then_closes() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::fault(Fault::DisconnectAfterRequest));
    let wire = exchange_until_close(
        server.socket_addr(),
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
    )
    .await;
    assert!(wire.is_empty(), "got {:?}", text(&wire));
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.body().as_ref(), b"abc");
    assert_eq!(request.failure(), None);
}

#[tokio::test]
async fn disconnect_during_request_body_stops_after_n_bytes() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::fault(Fault::DisconnectDuringRequestBody {
        after_bytes: 4,
    }));
    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    socket
        .write_all(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123")
        .await
        .unwrap();
    assert!(read_to_end(&mut socket).await.is_empty());
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.body().as_ref(), b"0123");
    assert!(
        request
            .failure()
            .unwrap()
            .contains("during the request body")
    );
}

#[tokio::test]
async fn disconnect_during_response_body_sends_exactly_n_bytes() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .body("0123456789")
            .with_fault(Fault::DisconnectDuringResponseBody { after_bytes: 6 }),
    );
    let wire = exchange_until_close(server.socket_addr(), GET).await;
    assert_eq!(
        text(&wire),
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n012345"
    );
}

#[tokio::test]
async fn disconnect_during_chunked_body_counts_wire_bytes() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .chunked_body("abcdef", 3)
            .with_fault(Fault::DisconnectDuringResponseBody { after_bytes: 8 }),
    );
    let wire = exchange_until_close(server.socket_addr(), GET).await;
    assert!(
        text(&wire).ends_with("\r\n\r\n3\r\nabc\r\n"),
        "{:?}",
        text(&wire)
    );
}

#[tokio::test]
async fn no_response_keeps_the_socket_open_and_silent() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::fault(Fault::NoResponse));
    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    socket.write_all(GET).await.unwrap();
    assert!(stays_silent(&mut socket, Duration::from_millis(200)).await);
    assert_eq!(server.take_request(PATIENCE).await.unwrap().path(), "/");
}

#[tokio::test]
async fn reset_stream_on_http1_closes_the_socket() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::fault(Fault::ResetStream(
        Http2ErrorCode::REFUSED_STREAM,
    )));
    assert!(
        exchange_until_close(server.socket_addr(), GET)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn close_after_response_ends_keep_alive() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .body("bye")
            .after_response(AfterResponse::Close),
    );
    let wire = exchange_until_close(server.socket_addr(), GET).await;
    assert_eq!(
        text(&wire),
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbye"
    );

    // Without the fault the connection stays open after the response.
    server.enqueue(MockResponse::new().body("stay"));
    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    socket.write_all(GET).await.unwrap();
    read_until(&mut socket, b"stay").await;
    assert!(stays_silent(&mut socket, Duration::from_millis(100)).await);
}

#[tokio::test]
async fn shutdown_output_at_end_sends_eof_after_the_response() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .body("last")
            .after_response(AfterResponse::ShutdownOutput),
    );
    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    socket.write_all(GET).await.unwrap();
    let wire = read_to_end(&mut socket).await;
    assert!(text(&wire).ends_with("last"));
    // Only the server's output is shut: the client can still write without an error.
    socket.write_all(GET).await.unwrap();
}

#[tokio::test]
async fn shutdown_input_at_end_stops_reading_requests() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .body("first")
            .after_response(AfterResponse::ShutdownInput),
    );
    server.enqueue(MockResponse::new().body("second"));
    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    socket.write_all(GET).await.unwrap();
    read_until(&mut socket, b"first").await;
    socket.write_all(GET).await.unwrap();
    // The second request is never read: no answer, and the socket is not closed either.
    assert!(stays_silent(&mut socket, Duration::from_millis(200)).await);
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn disconnect_during_request_body_on_a_bodiless_request_closes_after_it() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::fault(Fault::DisconnectDuringRequestBody {
        after_bytes: 0,
    }));
    assert!(
        exchange_until_close(server.socket_addr(), GET)
            .await
            .is_empty()
    );
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.failure(), None);
}

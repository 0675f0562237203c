//! HTTP/1.1 responses and request recording, observed with a raw socket and hyper's client.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use oktower_testkit::{ExpectContinue, MockResponse, MockWebServer};
use support::{
    PATIENCE, contains, exchange_until_close, read_to_end, read_until, stays_silent, text,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn fixed_length_response_and_recorded_request() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .status(201)
            .header("X-B", "2")
            .header("X-A", "1")
            .header("X-B", "3")
            .body("created"),
    );
    let wire = exchange_until_close(
        server.socket_addr(),
        b"POST /items?x=1 HTTP/1.1\r\nHost: a.example\r\nZ-Last: z\r\nA-First: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    )
    .await;
    assert_eq!(
        text(&wire),
        "HTTP/1.1 201 Created\r\nX-B: 2\r\nX-A: 1\r\nX-B: 3\r\nContent-Length: 7\r\n\r\ncreated"
    );

    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.method(), "POST");
    assert_eq!(request.target(), "/items?x=1");
    assert_eq!(request.path(), "/items?x=1");
    assert_eq!(request.version(), http::Version::HTTP_11);
    let names: Vec<&str> = request.headers().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["host", "z-last", "a-first", "content-length", "connection"]
    );
    assert_eq!(request.header("HOST"), Some("a.example"));
    assert_eq!(request.body().as_ref(), b"hello");
    assert_eq!(request.body_size(), 5);
    assert!(request.chunk_sizes().is_empty());
    assert_eq!(request.failure(), None);
    assert_eq!(request.sni(), None);
    assert!(!request.is_tls());
}

#[tokio::test]
async fn raw_and_invalid_header_bytes_are_sent_verbatim() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .status(299)
            .reason("Odd Reason")
            .raw_header_line(&b"Bad Header Without Colon"[..])
            .raw_header_line(&b"X-Binary: \xff\x00\x01"[..])
            .body("x"),
    );
    let wire = exchange_until_close(
        server.socket_addr(),
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        wire,
        b"HTTP/1.1 299 Odd Reason\r\nBad Header Without Colon\r\nX-Binary: \xff\x00\x01\r\nContent-Length: 1\r\n\r\nx"
    );
}

#[tokio::test]
async fn explicit_content_length_is_not_replaced() {
    let server = MockWebServer::start().await.unwrap();
    // A lying Content-Length: the client sees 10 promised and 3 sent, then EOF.
    server.enqueue(
        MockResponse::new()
            .header("Content-Length", "10")
            .body("abc")
            .after_response(oktower_testkit::AfterResponse::Close),
    );
    let wire = exchange_until_close(server.socket_addr(), b"GET / HTTP/1.1\r\n\r\n").await;
    assert_eq!(
        text(&wire),
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
    );
}

#[tokio::test]
async fn chunked_response_with_chosen_sizes_and_trailers() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .chunked_body_sizes("abcdefghij", vec![4, 1, 3])
            .trailer("Checksum", "c0ffee"),
    );
    let wire = exchange_until_close(
        server.socket_addr(),
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        text(&wire),
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
         4\r\nabcd\r\n1\r\ne\r\n3\r\nfgh\r\n2\r\nij\r\n0\r\nChecksum: c0ffee\r\n\r\n"
    );
}

#[tokio::test]
async fn close_delimited_body_ends_with_eof() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().close_delimited_body("until the end"));
    // The request asks for keep-alive; the server still closes, as the framing requires.
    let wire = exchange_until_close(server.socket_addr(), b"GET / HTTP/1.1\r\n\r\n").await;
    assert_eq!(text(&wire), "HTTP/1.1 200 OK\r\n\r\nuntil the end");
}

#[tokio::test]
async fn informational_responses_precede_the_final_one() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .informational(100, &[])
            .informational(102, &[])
            .informational(103, &[("Link", "</style.css>; rel=preload")])
            .body("done"),
    );
    let wire = exchange_until_close(
        server.socket_addr(),
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(
        text(&wire),
        "HTTP/1.1 100 Continue\r\n\r\n\
         HTTP/1.1 102 Processing\r\n\r\n\
         HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n\
         HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"
    );
}

#[tokio::test]
async fn headers_delay_and_body_delay_hold_back_each_part() {
    let server = MockWebServer::start().await.unwrap();
    let delay = Duration::from_millis(150);
    server.enqueue(
        MockResponse::new()
            .headers_delay(delay)
            .body_delay(delay)
            .body("late"),
    );
    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    let start = Instant::now();
    socket
        .write_all(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let head = read_until(&mut socket, b"\r\n\r\n").await;
    let head_at = start.elapsed();
    assert!(head_at >= delay, "head after {head_at:?}");
    assert!(!contains(&head, b"late"), "the body came with the head");
    let rest = read_to_end(&mut socket).await;
    assert!(start.elapsed() >= delay * 2);
    assert_eq!(text(&rest), "late");
}

#[tokio::test]
async fn throttled_body_arrives_in_slices() {
    let server = MockWebServer::start().await.unwrap();
    let period = Duration::from_millis(40);
    server.enqueue(
        MockResponse::new()
            .body("0123456789")
            .throttle_body(3, period),
    );
    let start = Instant::now();
    let wire = exchange_until_close(
        server.socket_addr(),
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(text(&wire).ends_with("\r\n\r\n0123456789"));
    // Four slices (3+3+3+1) with a pause between each.
    assert!(
        start.elapsed() >= period * 3,
        "throttled body took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn keep_alive_counts_exchanges_and_connections() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("one"));
    server.enqueue(MockResponse::new().body("two"));
    server.enqueue(MockResponse::new().body("three"));

    let mut first = TcpStream::connect(server.socket_addr()).await.unwrap();
    // Two pipelined requests on one connection.
    first
        .write_all(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let both = read_until(&mut first, b"two").await;
    assert!(contains(&both, b"one"));
    let mut second = TcpStream::connect(server.socket_addr()).await.unwrap();
    second
        .write_all(b"GET /3 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    read_until(&mut second, b"three").await;

    let indexes: Vec<(String, usize, usize)> = {
        let mut seen = Vec::new();
        for _ in 0..3 {
            let r = server.take_request(PATIENCE).await.unwrap();
            seen.push((
                r.path().to_owned(),
                r.connection_index(),
                r.exchange_index(),
            ));
        }
        seen
    };
    assert_eq!(
        indexes,
        [
            ("/1".to_owned(), 0, 0),
            ("/2".to_owned(), 0, 1),
            ("/3".to_owned(), 1, 0)
        ]
    );
    assert_eq!(server.request_count(), 3);
    assert_eq!(server.connection_count(), 2);
    // Keep-alive: the first connection is still open and idle.
    assert!(stays_silent(&mut first, Duration::from_millis(50)).await);
}

#[tokio::test]
async fn chunked_request_body_records_chunk_sizes_and_trailers() {
    let server = MockWebServer::start().await.unwrap();
    let wire = exchange_until_close(
        server.socket_addr(),
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          3\r\nabc\r\na;ext=1\r\n0123456789\r\n1\r\nz\r\n0\r\nX-Trailer: t\r\n\r\n",
    )
    .await;
    assert!(
        text(&wire).starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{}",
        text(&wire)
    );
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.chunk_sizes(), [3, 10, 1]);
    assert_eq!(request.body().as_ref(), b"abc0123456789z");
    assert_eq!(request.trailers().len(), 1);
    assert_eq!(request.trailers()[0].0.as_str(), "x-trailer");
}

#[tokio::test]
async fn malformed_request_is_recorded_with_its_failure() {
    let server = MockWebServer::start().await.unwrap();
    let wire = exchange_until_close(
        server.socket_addr(),
        b"GET / HTTP/1.1\r\nNo Colon Here\r\n\r\n",
    )
    .await;
    assert!(
        text(&wire).starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{}",
        text(&wire)
    );
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.method(), "GET");
    assert!(
        request
            .failure()
            .unwrap()
            .contains("malformed request head"),
        "{:?}",
        request.failure()
    );

    let wire = exchange_until_close(
        server.socket_addr(),
        b"POST / HTTP/1.1\r\nContent-Length: ten\r\n\r\n",
    )
    .await;
    assert!(text(&wire).starts_with("HTTP/1.1 400 Bad Request\r\n"));
    let request = server.take_request(PATIENCE).await.unwrap();
    assert!(request.failure().unwrap().contains("Content-Length"));
}

#[tokio::test]
async fn oversized_request_head_gets_431() {
    let server = MockWebServer::start().await.unwrap();
    let mut request = b"GET / HTTP/1.1\r\n".to_vec();
    let filler = "f".repeat(1000);
    for i in 0..100 {
        request.extend_from_slice(format!("X-Filler-{i}: {filler}\r\n").as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    let wire = exchange_until_close(server.socket_addr(), &request).await;
    assert!(text(&wire).starts_with("HTTP/1.1 431 "), "{}", text(&wire));
    let recorded = server.take_request(PATIENCE).await.unwrap();
    assert!(recorded.failure().unwrap().contains("exceeds 65536 bytes"));

    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    many.extend(std::iter::repeat_n(&b"X-Many: m\r\n"[..], 300).flatten());
    many.extend_from_slice(b"\r\n");
    let wire = exchange_until_close(server.socket_addr(), &many).await;
    assert!(text(&wire).starts_with("HTTP/1.1 431 "), "{}", text(&wire));
    let recorded = server.take_request(PATIENCE).await.unwrap();
    assert!(
        recorded
            .failure()
            .unwrap()
            .contains("more than 256 request headers")
    );
}

#[tokio::test]
async fn truncated_request_body_is_recorded_as_failure() {
    let server = MockWebServer::start().await.unwrap();
    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    socket
        .write_all(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
        .await
        .unwrap();
    socket.shutdown().await.unwrap();
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.body().as_ref(), b"abc");
    assert!(
        request
            .failure()
            .unwrap()
            .contains("7 request body bytes still expected")
    );
}

#[tokio::test]
async fn body_limit_keeps_a_prefix_and_counts_everything() {
    let server = MockWebServer::builder()
        .body_limit(4)
        .start()
        .await
        .unwrap();
    exchange_until_close(
        server.socket_addr(),
        b"POST / HTTP/1.1\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789",
    )
    .await;
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.body().as_ref(), b"0123");
    assert_eq!(request.body_size(), 10);
}

#[tokio::test]
async fn head_request_gets_headers_without_body() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("not sent"));
    let wire = exchange_until_close(
        server.socket_addr(),
        b"HEAD / HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(text(&wire), "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n");
}

#[tokio::test]
async fn http10_request_closes_after_the_response() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("old"));
    let wire = exchange_until_close(server.socket_addr(), b"GET / HTTP/1.0\r\n\r\n").await;
    assert!(text(&wire).ends_with("\r\n\r\nold"));
    assert_eq!(
        server.take_request(PATIENCE).await.unwrap().version(),
        http::Version::HTTP_10
    );
}

#[tokio::test]
async fn expect_continue_sends_100_then_reads_the_body() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("got it"));
    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    socket
        .write_all(b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let interim = read_until(&mut socket, b"\r\n\r\n").await;
    assert_eq!(text(&interim), "HTTP/1.1 100 Continue\r\n\r\n");
    socket.write_all(b"data").await.unwrap();
    let rest = read_to_end(&mut socket).await;
    assert!(text(&rest).ends_with("got it"));
    assert_eq!(
        server.take_request(PATIENCE).await.unwrap().body().as_ref(),
        b"data"
    );
}

#[tokio::test]
async fn expect_continue_can_answer_without_reading_the_body() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(
        MockResponse::new()
            .status(417)
            .expect_continue(ExpectContinue::RespondWithoutReadingBody),
    );
    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    socket
        .write_all(b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        .await
        .unwrap();
    let wire = read_to_end(&mut socket).await;
    assert_eq!(
        text(&wire),
        "HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\n\r\n"
    );
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.body_size(), 0);
}

#[tokio::test]
async fn expect_continue_can_stay_silent() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().expect_continue(ExpectContinue::NeverRespond));
    let mut socket = TcpStream::connect(server.socket_addr()).await.unwrap();
    socket
        .write_all(b"PUT / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        .await
        .unwrap();
    assert!(stays_silent(&mut socket, Duration::from_millis(200)).await);
    assert_eq!(server.take_request(PATIENCE).await.unwrap().method(), "PUT");
}

#[tokio::test]
async fn hyper_client_reads_queued_responses_in_order() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("first"));
    server.enqueue(MockResponse::new().chunked_body("second", 2));
    let stream = TcpStream::connect(server.socket_addr()).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    for expected in ["first", "second"] {
        let request = http::Request::builder()
            .uri("/")
            .header("host", "localhost")
            .body(Full::new(Bytes::from_static(b"")))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.as_ref(), expected.as_bytes());
    }
    assert_eq!(server.connection_count(), 1);
}

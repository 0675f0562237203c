//! HTTP/2 behaviour of the MockWebServer, observed with raw h2 and hyper clients.
#![allow(clippy::unwrap_used)]

use std::future::poll_fn;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::client::{ResponseFuture, SendRequest};
use h2::{Reason, RecvStream};
use http::{Method, Request, Response, Version};
use oktower_testkit::{
    AfterResponse, ExpectContinue, Fault, MockResponse, MockWebServer, Protocol, RecordedRequest,
    ServerTls,
};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(5);

async fn h2_server() -> MockWebServer {
    MockWebServer::builder()
        .protocols(&[Protocol::H2PriorKnowledge])
        .start()
        .await
        .unwrap()
}

/// A raw h2 client connection: the request sender and the task driving the connection.
async fn connect(
    server: &MockWebServer,
) -> (SendRequest<Bytes>, JoinHandle<Result<(), h2::Error>>) {
    let tcp = TcpStream::connect(server.socket_addr()).await.unwrap();
    let (send, connection) = h2::client::handshake(tcp).await.unwrap();
    (send, tokio::spawn(connection))
}

fn request(server: &MockWebServer, method: Method, path: &str) -> Request<()> {
    Request::builder()
        .method(method)
        .uri(server.url(path))
        .body(())
        .unwrap()
}

/// Sends a bodiless request and waits for the response head.
async fn get(
    send: &mut SendRequest<Bytes>,
    request: Request<()>,
) -> Result<Response<RecvStream>, h2::Error> {
    let (response, _) = send.clone().ready().await?.send_request(request, true)?;
    response.await
}

/// Every DATA frame of a body, as received.
async fn frames(body: &mut RecvStream) -> Result<Vec<Bytes>, h2::Error> {
    let mut frames = Vec::new();
    while let Some(frame) = body.data().await {
        let frame = frame?;
        let _ = body.flow_control().release_capacity(frame.len());
        frames.push(frame);
    }
    Ok(frames)
}

async fn body_text(body: &mut RecvStream) -> String {
    let frames = frames(body).await.unwrap();
    String::from_utf8(frames.concat()).unwrap()
}

async fn take(server: &MockWebServer) -> RecordedRequest {
    server.take_request(WAIT).await.expect("a recorded request")
}

fn reset_reason(result: Result<Response<RecvStream>, h2::Error>) -> Option<Reason> {
    result.err().and_then(|error| error.reason())
}

#[tokio::test]
async fn prior_knowledge_request_is_recorded() {
    let server = h2_server().await;
    server.enqueue(MockResponse::new().body("ok"));
    let (send, _driver) = connect(&server).await;

    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("http://example.test:{}/upload?x=1", server.port()))
        .header("x-custom", "one")
        .header("content-type", "text/plain")
        .body(())
        .unwrap();
    let (response, mut upload) = send
        .ready()
        .await
        .unwrap()
        .send_request(request, false)
        .unwrap();
    upload.send_data(Bytes::from_static(b"abc"), false).unwrap();
    upload
        .send_data(Bytes::from_static(b"defgh"), false)
        .unwrap();
    let mut trailers = http::HeaderMap::new();
    trailers.insert("x-checksum", "42".parse().unwrap());
    upload.send_trailers(trailers).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);

    let recorded = take(&server).await;
    assert_eq!(recorded.version(), Version::HTTP_2);
    assert_eq!(recorded.method(), "POST");
    assert_eq!(recorded.target(), "/upload?x=1");
    assert_eq!(recorded.path(), "/upload?x=1");
    let host = format!("example.test:{}", server.port());
    assert_eq!(recorded.headers()[0].0, "host");
    assert_eq!(recorded.headers()[0].1, host.as_str());
    assert_eq!(recorded.header("x-custom"), Some("one"));
    assert_eq!(recorded.header("content-type"), Some("text/plain"));
    assert_eq!(recorded.body_text(), "abcdefgh");
    assert_eq!(recorded.body_size(), 8);
    assert_eq!(recorded.chunk_sizes(), &[3, 5]);
    assert_eq!(recorded.trailers().len(), 1);
    assert_eq!(recorded.trailers()[0].0, "x-checksum");
    assert_eq!(recorded.trailers()[0].1, "42");
    assert!(recorded.failure().is_none());
    assert!(!recorded.is_tls());
}

#[tokio::test]
async fn connection_and_exchange_indexes() {
    let server = h2_server().await;
    let (mut first, _driver1) = connect(&server).await;
    get(&mut first, request(&server, Method::GET, "/a"))
        .await
        .unwrap();
    get(&mut first, request(&server, Method::GET, "/b"))
        .await
        .unwrap();
    let (mut second, _driver2) = connect(&server).await;
    get(&mut second, request(&server, Method::GET, "/c"))
        .await
        .unwrap();

    let indexes: Vec<_> = [
        take(&server).await,
        take(&server).await,
        take(&server).await,
    ]
    .iter()
    .map(|r| {
        (
            r.path().to_owned(),
            r.connection_index(),
            r.exchange_index(),
        )
    })
    .collect();
    assert_eq!(
        indexes,
        [
            ("/a".to_owned(), 0, 0),
            ("/b".to_owned(), 0, 1),
            ("/c".to_owned(), 1, 0)
        ]
    );
    assert_eq!(server.connection_count(), 2);
}

#[tokio::test]
async fn response_status_headers_body_and_trailers() {
    let server = h2_server().await;
    server.enqueue(
        MockResponse::new()
            .status(201)
            .header("X-Thing", "a")
            .header("x-thing", "b")
            .header("Connection", "close") // not expressible on HTTP/2: skipped
            .header("bad name", "skipped")
            .raw_header_line("Raw: skipped")
            .body("created!")
            .trailer("grpc-status", "0"),
    );
    let (mut send, _driver) = connect(&server).await;
    let response = get(&mut send, request(&server, Method::GET, "/"))
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let values: Vec<_> = response.headers().get_all("x-thing").iter().collect();
    assert_eq!(values, ["a", "b"]);
    assert_eq!(response.headers()["content-length"], "8");
    assert!(response.headers().get("connection").is_none());
    assert!(response.headers().get("raw").is_none());
    let mut body = response.into_body();
    assert_eq!(body_text(&mut body).await, "created!");
    let trailers = body.trailers().await.unwrap().expect("trailers");
    assert_eq!(trailers["grpc-status"], "0");
}

#[tokio::test]
async fn close_delimited_and_chunked_bodies_have_no_content_length() {
    let server = h2_server().await;
    server.enqueue(MockResponse::new().close_delimited_body("streamed"));
    server.enqueue(MockResponse::new().chunked_body("chunked", 3));
    let (mut send, _driver) = connect(&server).await;
    for expected in ["streamed", "chunked"] {
        let response = get(&mut send, request(&server, Method::GET, "/"))
            .await
            .unwrap();
        assert!(response.headers().get("content-length").is_none());
        assert_eq!(body_text(&mut response.into_body()).await, expected);
    }
}

#[tokio::test]
async fn empty_body_with_trailers() {
    let server = h2_server().await;
    server.enqueue(MockResponse::new().trailer("x-done", "yes"));
    let (mut send, _driver) = connect(&server).await;
    let response = get(&mut send, request(&server, Method::GET, "/"))
        .await
        .unwrap();
    assert_eq!(response.headers()["content-length"], "0");
    let mut body = response.into_body();
    assert!(frames(&mut body).await.unwrap().is_empty());
    let trailers = body.trailers().await.unwrap().expect("trailers");
    assert_eq!(trailers["x-done"], "yes");
}

#[tokio::test]
async fn connect_target_is_the_authority() {
    let server = h2_server().await;
    server.enqueue(MockResponse::fault(Fault::ResetStream(
        Reason::REFUSED_STREAM,
    )));
    let (mut send, _driver) = connect(&server).await;
    let connect = Request::builder()
        .method(Method::CONNECT)
        .uri("tunnel.example:443")
        .body(())
        .unwrap();
    let result = get(&mut send, connect).await;
    assert_eq!(reset_reason(result), Some(Reason::REFUSED_STREAM));
    let recorded = take(&server).await;
    assert_eq!(recorded.method(), "CONNECT");
    assert_eq!(recorded.target(), "tunnel.example:443");
    assert_eq!(recorded.header("host"), Some("tunnel.example:443"));
}

#[tokio::test]
async fn chunk_sizes_become_data_frames() {
    let server = h2_server().await;
    server.enqueue(MockResponse::new().chunked_body_sizes("abcdefghijklmno", vec![3, 0, 5, 2]));
    let (mut send, _driver) = connect(&server).await;
    let response = get(&mut send, request(&server, Method::GET, "/"))
        .await
        .unwrap();
    let sizes: Vec<usize> = frames(&mut response.into_body())
        .await
        .unwrap()
        .iter()
        .map(Bytes::len)
        .collect();
    // 3, 5, then the last size repeats: 2, 2, 2 (zero sizes are skipped).
    assert_eq!(sizes, [3, 5, 2, 2, 2, 1]);
}

#[tokio::test]
async fn reset_stream_codes_reach_the_client() {
    let server = h2_server().await;
    server.enqueue(MockResponse::fault(Fault::ResetStream(
        Reason::REFUSED_STREAM,
    )));
    server.enqueue(MockResponse::fault(Fault::ResetStream(Reason::CANCEL)));
    server.enqueue(MockResponse::fault(Fault::ResetStream(
        Reason::INTERNAL_ERROR,
    )));
    server.enqueue(MockResponse::fault(Fault::DisconnectAfterRequest));
    server.enqueue(MockResponse::new().body("still here"));
    let (mut send, _driver) = connect(&server).await;
    for expected in [
        Reason::REFUSED_STREAM,
        Reason::CANCEL,
        Reason::INTERNAL_ERROR,
        Reason::CANCEL,
    ] {
        let result = get(&mut send, request(&server, Method::GET, "/")).await;
        assert_eq!(reset_reason(result), Some(expected));
    }
    // Resetting a stream leaves the connection usable.
    let response = get(&mut send, request(&server, Method::GET, "/"))
        .await
        .unwrap();
    assert_eq!(body_text(&mut response.into_body()).await, "still here");
    assert_eq!(take(&server).await.exchange_index(), 0);
}

#[tokio::test]
async fn goaway_after_streams_refuses_later_streams() {
    let server = MockWebServer::builder()
        .protocols(&[Protocol::H2PriorKnowledge])
        .http2_goaway_after_streams(2)
        .start()
        .await
        .unwrap();
    let (mut send, driver) = connect(&server).await;
    for path in ["/1", "/2"] {
        let response = get(&mut send, request(&server, Method::GET, path))
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
        frames(&mut response.into_body()).await.unwrap();
    }
    // The server closes the connection once the two accepted streams are done.
    tokio::time::timeout(WAIT, driver)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let third = get(&mut send, request(&server, Method::GET, "/3")).await;
    assert!(third.is_err(), "a third stream after GOAWAY: {third:?}");
    assert_eq!(take(&server).await.path(), "/1");
    assert_eq!(take(&server).await.path(), "/2");
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn after_response_close_sends_goaway() {
    let server = h2_server().await;
    server.enqueue(
        MockResponse::new()
            .body("last")
            .after_response(AfterResponse::Close),
    );
    let (mut send, driver) = connect(&server).await;
    let response = get(&mut send, request(&server, Method::GET, "/"))
        .await
        .unwrap();
    assert_eq!(body_text(&mut response.into_body()).await, "last");
    tokio::time::timeout(WAIT, driver)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        get(&mut send, request(&server, Method::GET, "/"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn max_concurrent_streams_is_announced() {
    let server = MockWebServer::builder()
        .protocols(&[Protocol::H2PriorKnowledge])
        .http2_max_concurrent_streams(3)
        .start()
        .await
        .unwrap();
    let (mut send, _driver) = connect(&server).await;
    // The server's SETTINGS precede its first response.
    get(&mut send, request(&server, Method::GET, "/"))
        .await
        .unwrap();
    assert_eq!(send.current_max_send_streams(), 3);
}

#[tokio::test]
async fn only_max_concurrent_streams_run_at_once() {
    let server = MockWebServer::builder()
        .protocols(&[Protocol::H2PriorKnowledge])
        .http2_max_concurrent_streams(1)
        .start()
        .await
        .unwrap();
    server.enqueue(MockResponse::new());
    server.enqueue(MockResponse::fault(Fault::NoResponse));
    server.enqueue(MockResponse::new().body("after"));
    let (mut send, _driver) = connect(&server).await;
    get(&mut send, request(&server, Method::GET, "/settle"))
        .await
        .unwrap();

    let (silent, silent_upload) = send
        .clone()
        .ready()
        .await
        .unwrap()
        .send_request(request(&server, Method::GET, "/silent"), true)
        .unwrap();
    assert_eq!(take(&server).await.path(), "/settle");
    assert_eq!(take(&server).await.path(), "/silent");
    // The one stream allowed is taken: the client holds the next one back.
    let (after, _) = send
        .clone()
        .ready()
        .await
        .unwrap()
        .send_request(request(&server, Method::GET, "/after"), true)
        .unwrap();
    assert!(
        server
            .take_request(Duration::from_millis(300))
            .await
            .is_none()
    );
    // Cancelling the silent stream frees the slot.
    drop((silent, silent_upload));
    let response = tokio::time::timeout(WAIT, after).await.unwrap().unwrap();
    assert_eq!(take(&server).await.path(), "/after");
    assert_eq!(body_text(&mut response.into_body()).await, "after");
}

#[tokio::test]
async fn settings_are_delayed() {
    let delay = Duration::from_millis(300);
    let server = MockWebServer::builder()
        .protocols(&[Protocol::H2PriorKnowledge])
        .http2_settings_delay(delay)
        .start()
        .await
        .unwrap();
    let started = Instant::now();
    let (mut send, _driver) = connect(&server).await;
    get(&mut send, request(&server, Method::GET, "/"))
        .await
        .unwrap();
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
}

#[tokio::test]
async fn disconnect_during_response_body() {
    let server = h2_server().await;
    server.enqueue(
        MockResponse::new()
            .body(vec![b'x'; 1000])
            .with_fault(Fault::DisconnectDuringResponseBody { after_bytes: 10 }),
    );
    let (mut send, driver) = connect(&server).await;
    let response = get(&mut send, request(&server, Method::GET, "/"))
        .await
        .unwrap();
    assert_eq!(response.headers()["content-length"], "1000");
    let mut body = response.into_body();
    let mut received = 0;
    let error = loop {
        match body.data().await {
            Some(Ok(data)) => received += data.len(),
            Some(Err(error)) => break error,
            None => panic!("the body ended cleanly after {received} bytes"),
        }
    };
    assert_eq!(received, 10);
    // The socket was closed without GOAWAY.
    assert!(!error.is_go_away(), "{error:?}");
    let ended = tokio::time::timeout(WAIT, driver).await.unwrap().unwrap();
    assert!(!matches!(&ended, Err(e) if e.is_go_away()), "{ended:?}");
}

#[tokio::test]
async fn no_response_keeps_the_stream_and_connection_open() {
    let server = h2_server().await;
    server.enqueue(MockResponse::fault(Fault::NoResponse));
    server.enqueue(MockResponse::new().body("second"));
    let (mut send, _driver) = connect(&server).await;
    let (silent, _) = send
        .clone()
        .ready()
        .await
        .unwrap()
        .send_request(request(&server, Method::GET, "/silent"), true)
        .unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(300), silent).await;
    assert!(waited.is_err(), "a response arrived: {waited:?}");
    assert_eq!(take(&server).await.path(), "/silent");
    let response = get(&mut send, request(&server, Method::GET, "/second"))
        .await
        .unwrap();
    assert_eq!(body_text(&mut response.into_body()).await, "second");
}

#[tokio::test]
async fn headers_delay_holds_the_response_head() {
    let delay = Duration::from_millis(200);
    let server = h2_server().await;
    server.enqueue(MockResponse::new().headers_delay(delay).body("late"));
    let (mut send, _driver) = connect(&server).await;
    let started = Instant::now();
    let response = get(&mut send, request(&server, Method::GET, "/"))
        .await
        .unwrap();
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    assert_eq!(body_text(&mut response.into_body()).await, "late");
}

#[tokio::test]
async fn body_delay_holds_the_body() {
    let delay = Duration::from_millis(200);
    let server = h2_server().await;
    server.enqueue(MockResponse::new().body_delay(delay).body("later"));
    let (mut send, _driver) = connect(&server).await;
    let response = get(&mut send, request(&server, Method::GET, "/"))
        .await
        .unwrap();
    let head_at = Instant::now();
    assert_eq!(body_text(&mut response.into_body()).await, "later");
    assert!(head_at.elapsed() >= delay / 2, "{:?}", head_at.elapsed());
}

#[tokio::test]
async fn throttled_body_arrives_in_pieces() {
    let period = Duration::from_millis(50);
    let server = h2_server().await;
    server.enqueue(
        MockResponse::new()
            .body("abcdefghijkl")
            .throttle_body(4, period),
    );
    let (mut send, _driver) = connect(&server).await;
    let started = Instant::now();
    let response = get(&mut send, request(&server, Method::GET, "/"))
        .await
        .unwrap();
    assert_eq!(response.headers()["content-length"], "12");
    let pieces = frames(&mut response.into_body()).await.unwrap();
    assert_eq!(pieces, ["abcd", "efgh", "ijkl"]);
    assert!(started.elapsed() >= period * 2, "{:?}", started.elapsed());
}

#[tokio::test]
async fn informational_103_precedes_the_final_response() {
    let server = h2_server().await;
    server.enqueue(
        MockResponse::new()
            .informational(103, &[("link", "</style.css>; rel=preload")])
            .body("final"),
    );
    let (send, _driver) = connect(&server).await;
    let (mut response, _) = send
        .ready()
        .await
        .unwrap()
        .send_request(request(&server, Method::GET, "/"), true)
        .unwrap();
    let early = next_informational(&mut response).await.expect("a 103");
    assert_eq!(early.status(), 103);
    assert_eq!(early.headers()["link"], "</style.css>; rel=preload");
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(body_text(&mut response.into_body()).await, "final");
}

async fn next_informational(response: &mut ResponseFuture) -> Option<Response<()>> {
    poll_fn(|cx| response.poll_informational(cx))
        .await
        .map(Result::unwrap)
}

fn expect_continue_request(server: &MockWebServer) -> Request<()> {
    Request::builder()
        .method(Method::POST)
        .uri(server.url("/upload"))
        .header("expect", "100-continue")
        .body(())
        .unwrap()
}

#[tokio::test]
async fn expect_continue_sends_100_then_reads_the_body() {
    let server = h2_server().await;
    server.enqueue(MockResponse::new().body("thanks"));
    let (send, _driver) = connect(&server).await;
    let (mut response, mut upload) = send
        .ready()
        .await
        .unwrap()
        .send_request(expect_continue_request(&server), false)
        .unwrap();
    // The body is sent only once 100 Continue arrives.
    let interim = next_informational(&mut response)
        .await
        .expect("100 Continue");
    assert_eq!(interim.status(), 100);
    upload
        .send_data(Bytes::from_static(b"payload"), true)
        .unwrap();
    let response = response.await.unwrap();
    assert_eq!(body_text(&mut response.into_body()).await, "thanks");
    let recorded = take(&server).await;
    assert_eq!(recorded.body_text(), "payload");
    assert_eq!(recorded.header("expect"), Some("100-continue"));
}

#[tokio::test]
async fn expect_continue_respond_without_reading_body() {
    let server = h2_server().await;
    server.enqueue(
        MockResponse::new()
            .status(413)
            .expect_continue(ExpectContinue::RespondWithoutReadingBody),
    );
    let (send, _driver) = connect(&server).await;
    let (mut response, mut upload) = send
        .ready()
        .await
        .unwrap()
        .send_request(expect_continue_request(&server), false)
        .unwrap();
    // No 100 Continue: the final response comes first, without any body sent.
    assert!(next_informational(&mut response).await.is_none());
    assert_eq!(response.await.unwrap().status(), 413);
    // The server tells the client to stop sending the body.
    let reset = poll_fn(|cx| upload.poll_reset(cx)).await.unwrap();
    assert_eq!(reset, Reason::NO_ERROR);
    let recorded = take(&server).await;
    assert_eq!(recorded.body_size(), 0);
    assert!(recorded.body().is_empty());
}

#[tokio::test]
async fn expect_continue_never_respond() {
    let server = h2_server().await;
    server.enqueue(MockResponse::new().expect_continue(ExpectContinue::NeverRespond));
    let (send, _driver) = connect(&server).await;
    let (mut response, _upload) = send
        .ready()
        .await
        .unwrap()
        .send_request(expect_continue_request(&server), false)
        .unwrap();
    let recorded = take(&server).await;
    assert_eq!(recorded.path(), "/upload");
    let waited = tokio::time::timeout(
        Duration::from_millis(300),
        next_informational(&mut response),
    )
    .await;
    assert!(waited.is_err(), "something arrived: {waited:?}");
}

#[tokio::test]
async fn head_gets_no_body() {
    let server = h2_server().await;
    server.enqueue(MockResponse::new().body("not sent").trailer("x-t", "no"));
    let (mut send, _driver) = connect(&server).await;
    let response = get(&mut send, request(&server, Method::HEAD, "/"))
        .await
        .unwrap();
    assert_eq!(response.headers()["content-length"], "8");
    let mut body = response.into_body();
    assert!(body.is_end_stream());
    assert!(frames(&mut body).await.unwrap().is_empty());
    assert_eq!(take(&server).await.method(), "HEAD");
}

#[tokio::test]
async fn disconnect_during_request_body() {
    let server = h2_server().await;
    server.enqueue(MockResponse::fault(Fault::DisconnectDuringRequestBody {
        after_bytes: 5,
    }));
    let (send, _driver) = connect(&server).await;
    let (response, mut upload) = send
        .ready()
        .await
        .unwrap()
        .send_request(request(&server, Method::POST, "/upload"), false)
        .unwrap();
    upload.send_data(Bytes::from_static(b"abc"), false).unwrap();
    upload
        .send_data(Bytes::from_static(b"defgh"), false)
        .unwrap();
    assert_eq!(reset_reason(response.await), Some(Reason::CANCEL));
    let recorded = take(&server).await;
    assert_eq!(recorded.body_text(), "abcde");
    assert_eq!(recorded.body_size(), 5);
    assert!(recorded.failure().is_some());
}

#[tokio::test]
async fn big_upload_is_read_with_flow_control() {
    let size = 8 << 20;
    let server = MockWebServer::builder()
        .protocols(&[Protocol::H2PriorKnowledge])
        .body_limit(1000)
        .start()
        .await
        .unwrap();
    let (send, _driver) = connect(&server).await;
    let (response, mut upload) = send
        .ready()
        .await
        .unwrap()
        .send_request(request(&server, Method::PUT, "/big"), false)
        .unwrap();
    let mut left = Bytes::from(vec![7u8; size]);
    let sent = tokio::time::timeout(WAIT, async {
        while !left.is_empty() {
            upload.reserve_capacity(left.len());
            let capacity = poll_fn(|cx| upload.poll_capacity(cx))
                .await
                .unwrap()
                .unwrap();
            upload
                .send_data(left.split_to(capacity.min(left.len())), false)
                .unwrap();
        }
        upload.send_data(Bytes::new(), true).unwrap();
    })
    .await;
    assert!(
        sent.is_ok(),
        "the upload stalled: the server does not release capacity"
    );
    assert_eq!(
        tokio::time::timeout(WAIT, response)
            .await
            .unwrap()
            .unwrap()
            .status(),
        404
    );
    let recorded = take(&server).await;
    assert_eq!(recorded.body_size(), size as u64);
    assert_eq!(recorded.body().len(), 1000);
    assert_eq!(recorded.chunk_sizes().iter().sum::<usize>(), size);
}

#[tokio::test]
async fn panic_in_dispatcher_is_a_server_failure() {
    let server = Arc::new(
        MockWebServer::builder()
            .protocols(&[Protocol::H2PriorKnowledge])
            .dispatcher(|_: &RecordedRequest| -> MockResponse { panic!("dispatcher exploded") })
            .start()
            .await
            .unwrap(),
    );
    let (mut send, _driver) = connect(&server).await;
    assert!(
        get(&mut send, request(&server, Method::GET, "/"))
            .await
            .is_err()
    );
    // The request is recorded even though the dispatcher panicked on it.
    let recorded = server.take_request(Duration::from_secs(5)).await.unwrap();
    assert_eq!(recorded.path(), "/");
    let server = Arc::try_unwrap(server).unwrap();
    let failure = server.shutdown().await.unwrap_err();
    assert!(
        failure.message().contains("dispatcher exploded"),
        "{failure}"
    );
}

#[tokio::test]
async fn hyper_client_round_trip() {
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let server = h2_server().await;
    server.enqueue(
        MockResponse::new()
            .header("x-from", "mock")
            .body("hello hyper"),
    );
    let tcp = TcpStream::connect(server.socket_addr()).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(connection);
    let request = Request::builder()
        .method(Method::POST)
        .uri(server.url("/hyper"))
        .body(Full::new(Bytes::from_static(b"ping")))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.headers()["x-from"], "mock");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "hello hyper");
    let recorded = take(&server).await;
    assert_eq!(recorded.body_text(), "ping");
    assert_eq!(recorded.version(), Version::HTTP_2);
}

mod tls {
    use super::*;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use tokio_rustls::TlsConnector;
    use tokio_rustls::client::TlsStream;

    fn certificate() -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let key = PrivatePkcs8KeyDer::from(generated.signing_key.serialize_der());
        (generated.cert.der().clone(), PrivateKeyDer::Pkcs8(key))
    }

    async fn tls_server(protocols: &[Protocol]) -> (MockWebServer, CertificateDer<'static>) {
        let (cert, key) = certificate();
        let server = MockWebServer::builder()
            .tls(ServerTls::new(vec![cert.clone()], key))
            .protocols(protocols)
            .start()
            .await
            .unwrap();
        (server, cert)
    }

    async fn tls_connect(
        server: &MockWebServer,
        root: CertificateDer<'static>,
    ) -> TlsStream<TcpStream> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(root).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let tcp = TcpStream::connect(server.socket_addr()).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn h2_over_tls_by_alpn_records_sni() {
        let (server, cert) = tls_server(&[Protocol::Http2, Protocol::Http11]).await;
        server.enqueue(MockResponse::new().body("secure"));
        let tls = tls_connect(&server, cert).await;
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
        let (mut send, connection) = h2::client::handshake(tls).await.unwrap();
        tokio::spawn(connection);
        let request = Request::builder()
            .uri(format!("https://localhost:{}/secret", server.port()))
            .body(())
            .unwrap();
        let response = get(&mut send, request).await.unwrap();
        assert_eq!(body_text(&mut response.into_body()).await, "secure");
        let recorded = take(&server).await;
        assert_eq!(recorded.version(), Version::HTTP_2);
        assert_eq!(recorded.path(), "/secret");
        assert_eq!(recorded.sni(), Some("localhost"));
        assert!(recorded.is_tls());
    }

    #[tokio::test]
    async fn http11_only_server_does_not_negotiate_h2() {
        let (server, cert) = tls_server(&[Protocol::Http11]).await;
        let tls = tls_connect(&server, cert).await;
        assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    }
}

//! Faults and protocol details under ConnectLayer + CallServer: HTTP/2 with prior knowledge,
//! GOAWAY, `Expect: 100-continue`, 1xx responses, read timeouts, a connection dropped
//! mid-body, refused streams, and the order of events.
//!
//! Tests under paused time turn off every timeout but the one under test: whenever the runtime
//! waits for I/O it advances paused time to the next timer, so that timer must be the one
//! whose firing the test expects.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use http_body_util::BodyExt;
use oktower::{ConnectionPool, ErrorKind, Protocol, RequestSent, TlsConfig};
use oktower_testkit::{
    ExpectContinue, Fault, Http2ErrorCode, MockResponse, MockWebServer, TestCertificates,
};
use support::*;
use tokio::time::Instant;
use tower_service::Service;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Nothing listens here: connecting is refused by the kernel.
const REFUSING: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

struct Setup {
    server: MockWebServer,
    pool: ConnectionPool,
    stack: Stack,
}

impl Setup {
    /// A cleartext HTTP/1.1 server and a stack with `configure`d settings.
    async fn http1(
        configure: impl FnOnce(oktower::ConnectLayerBuilder) -> oktower::ConnectLayerBuilder,
    ) -> Setup {
        let server = MockWebServer::start().await.unwrap();
        Setup::with(server, configure)
    }

    /// A cleartext HTTP/2 server (prior knowledge) and a stack that speaks it.
    async fn h2c(
        configure: impl FnOnce(
            oktower_testkit::MockWebServerBuilder,
        ) -> oktower_testkit::MockWebServerBuilder,
    ) -> Setup {
        let server = configure(
            MockWebServer::builder().protocols(&[oktower_testkit::Protocol::H2PriorKnowledge]),
        )
        .start()
        .await
        .unwrap();
        Setup::with(server, |b| b.protocols(&[Protocol::H2PriorKnowledge]))
    }

    fn with(
        server: MockWebServer,
        configure: impl FnOnce(oktower::ConnectLayerBuilder) -> oktower::ConnectLayerBuilder,
    ) -> Setup {
        let pool = ConnectionPool::default();
        let layer = configure(builder(&[("a.test", LOCALHOST)]).pool(pool.clone()))
            .build()
            .unwrap();
        Setup {
            server,
            pool,
            stack: stack(&layer),
        }
    }

    fn url(&self) -> String {
        self.server.url_with_host("http", "a.test", "/")
    }

    async fn connection_index(&self) -> usize {
        self.server
            .take_request(PATIENCE)
            .await
            .unwrap()
            .connection_index()
    }
}

fn expecting_continue(url: &str, body: &'static str) -> http::Request<oktower::RequestBody> {
    let mut request = post(url, body);
    request
        .headers_mut()
        .insert("expect", HeaderValue::from_static("100-continue"));
    request
}

// ---- HTTP/2 ----

/// Each stream's wait for its response head is timed on the connection's one watchdog: two
/// stalled streams time out after the read timeout, each counted from its own start, while a
/// stream that gets its answer meanwhile succeeds on the same connection.
#[tokio::test(start_paused = true)]
async fn stalled_http2_streams_time_out_while_the_others_answer() {
    let server = MockWebServer::builder()
        .protocols(&[oktower_testkit::Protocol::H2PriorKnowledge])
        .dispatcher(|request: &oktower_testkit::RecordedRequest| {
            match request.path().starts_with("/slow") {
                true => MockResponse::new()
                    .body("late")
                    .headers_delay(Duration::from_secs(3600)),
                false => MockResponse::new().body("fast"),
            }
        })
        .start()
        .await
        .unwrap();
    let setup = Setup::with(server, |b| {
        b.protocols(&[Protocol::H2PriorKnowledge])
            .connect_timeout(None)
            .read_timeout(Duration::from_secs(1))
    });
    let url = |path: &str| setup.server.url_with_host("http", "a.test", path);
    let mut stack = setup.stack.clone();
    let first = send(&mut stack, get(&url("/fast"))).await.unwrap();
    let started = Instant::now();
    let slow = |path: String, after: Duration| {
        let mut stack = setup.stack.clone();
        async move {
            tokio::time::sleep(after).await;
            let error = send(&mut stack, get(&path)).await.err().unwrap();
            (error, started.elapsed())
        }
    };
    let fast = |after: Duration| {
        let mut stack = setup.stack.clone();
        let path = url("/fast");
        async move {
            tokio::time::sleep(after).await;
            send(&mut stack, get(&path)).await.unwrap()
        }
    };
    let ((early, early_at), (late, late_at), answered, answered_later) = tokio::join!(
        slow(url("/slow/1"), Duration::ZERO),
        slow(url("/slow/2"), Duration::from_millis(400)),
        fast(Duration::from_millis(200)),
        fast(Duration::from_millis(1200)),
    );
    for error in [&early, &late] {
        assert_eq!(error.kind(), ErrorKind::Timeout, "{error:?}");
        assert!(
            error.message().contains("waiting for the response"),
            "{error}"
        );
    }
    assert_eq!(early_at, Duration::from_secs(1));
    assert_eq!(late_at, Duration::from_millis(1400));
    assert_eq!(answered.body, "fast");
    assert_eq!(answered.info.id(), first.info.id());
    // A timed-out stream retires its connection from new exchanges, as before.
    assert_eq!(answered_later.body, "fast");
    assert_ne!(answered_later.info.id(), first.info.id());
}

#[tokio::test]
async fn http2_with_prior_knowledge_shares_one_cleartext_connection() {
    let setup = Setup::h2c(|b| b.default_response(MockResponse::new().body("h2c"))).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let mut stack = setup.stack.clone();
        let url = setup.url();
        tasks.push(tokio::spawn(
            async move { send(&mut stack, get(&url)).await },
        ));
    }
    let mut ids = Vec::new();
    for task in tasks {
        let got = task.await.unwrap().unwrap();
        assert_eq!(got.body, "h2c");
        assert_eq!(got.info.protocol(), Protocol::H2PriorKnowledge);
        assert!(got.info.handshake().is_none());
        ids.push(got.info.id());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let request = setup.server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.version(), http::Version::HTTP_2);
    assert!(!request.is_tls());
    assert_eq!(setup.server.connection_count(), 1);
    assert_eq!(setup.pool.connection_count(), 1);
}

#[tokio::test]
async fn after_goaway_later_requests_open_a_new_connection() {
    let mut setup = Setup::h2c(|b| {
        b.http2_goaway_after_streams(2)
            .default_response(MockResponse::new().body("ok"))
    })
    .await;
    let url = setup.url();
    let mut ids = Vec::new();
    for _ in 0..4 {
        let got = send(&mut setup.stack, get(&url)).await.unwrap();
        assert_eq!(got.body, "ok");
        ids.push(got.info.id());
    }
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[1], ids[2]);
    assert_eq!(ids[2], ids[3]);
    let mut indexes = Vec::new();
    for _ in 0..4 {
        indexes.push(setup.connection_index().await);
    }
    assert_eq!(indexes, [0, 0, 1, 1]);
    assert_eq!(setup.server.connection_count(), 2);
}

#[tokio::test]
async fn an_http2_connection_dropped_mid_body_fails_the_body_and_is_not_reused() {
    let mut setup = Setup::h2c(|b| b).await;
    setup.server.enqueue(
        MockResponse::new()
            .body("0123456789".repeat(100))
            .with_fault(Fault::DisconnectDuringResponseBody { after_bytes: 4 }),
    );
    setup.server.enqueue(MockResponse::new().body("next"));
    let url = setup.url();
    let response = setup.stack.call(get(&url)).await.unwrap();
    assert_eq!(response.status(), 200);
    let error = response.into_body().collect().await.err().unwrap();
    assert!(
        matches!(error.kind(), ErrorKind::Protocol | ErrorKind::Io),
        "{error:?}"
    );
    assert!(error.to_string().contains("a.test"), "{error}");
    assert_eq!(error.request_sent(), RequestSent::Maybe);

    let got = send(&mut setup.stack, get(&url)).await.unwrap();
    assert_eq!(got.body, "next");
    assert_eq!(setup.connection_index().await, 0);
    assert_eq!(setup.connection_index().await, 1);
    assert_eq!(setup.pool.connection_count(), 1);
}

#[tokio::test]
async fn a_refused_stream_was_not_sent_and_a_second_one_retires_the_connection() {
    let mut setup = Setup::h2c(|b| b).await;
    let refused = || MockResponse::fault(Fault::ResetStream(Http2ErrorCode::REFUSED_STREAM));
    setup.server.enqueue(refused());
    setup.server.enqueue(MockResponse::new().body("one"));
    setup.server.enqueue(refused());
    setup.server.enqueue(MockResponse::new().body("two"));
    let url = setup.url();

    let error = send(&mut setup.stack, get(&url)).await.err().unwrap();
    assert_eq!(error.request_sent(), RequestSent::No, "{error:?}");
    assert!(error.to_string().contains("a.test"), "{error}");
    // One refusal leaves the connection in service.
    let one = send(&mut setup.stack, get(&url)).await.unwrap();
    assert_eq!(one.body, "one");
    let error = send(&mut setup.stack, get(&url)).await.err().unwrap();
    assert_eq!(error.request_sent(), RequestSent::No, "{error:?}");
    // The second takes it out of service (OkHttp's refusedStreamCount).
    let two = send(&mut setup.stack, get(&url)).await.unwrap();
    assert_eq!(two.body, "two");
    assert_ne!(two.info.id(), one.info.id());
    let mut indexes = Vec::new();
    for _ in 0..4 {
        indexes.push(setup.connection_index().await);
    }
    assert_eq!(indexes, [0, 0, 0, 1]);
}

#[tokio::test]
async fn another_stream_reset_may_have_been_sent_and_keeps_the_connection() {
    let mut setup = Setup::h2c(|b| b).await;
    setup.server.enqueue(MockResponse::fault(Fault::ResetStream(
        Http2ErrorCode::INTERNAL_ERROR,
    )));
    setup.server.enqueue(MockResponse::new().body("after"));
    let url = setup.url();
    let error = send(&mut setup.stack, get(&url)).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error:?}");
    assert_eq!(error.request_sent(), RequestSent::Maybe, "{error:?}");
    assert_eq!(
        send(&mut setup.stack, get(&url)).await.unwrap().body,
        "after"
    );
    assert_eq!(setup.connection_index().await, 0);
    assert_eq!(setup.connection_index().await, 0);
}

// ---- Expect: 100-continue and other 1xx ----

/// Sends a request that expects `100 Continue` to a server that sends it: the body follows,
/// and the 100 is not reported as an informational response.
async fn check_the_body_follows_100_continue(setup: &mut Setup) {
    setup.server.enqueue(MockResponse::new().body("done"));
    let events = Arc::new(Events::default());
    let request = with_listener(expecting_continue(&setup.url(), "hello"), events.clone());
    let got = send(&mut setup.stack, request).await.unwrap();
    assert_eq!(got.body, "done");
    let recorded = setup.server.take_request(PATIENCE).await.unwrap();
    assert_eq!(recorded.body_text(), "hello");
    assert_eq!(recorded.header("expect"), Some("100-continue"));
    let names = events.take();
    assert!(names.contains(&"RequestBodyEnd".to_owned()), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("Informational")),
        "{names:?}"
    );
}

#[tokio::test]
async fn expect_continue_sends_the_body_after_100_continue() {
    let mut setup = Setup::http1(|b| b).await;
    check_the_body_follows_100_continue(&mut setup).await;
    assert_eq!(setup.pool.idle_connection_count(), 1);
}

#[tokio::test]
async fn http2_expect_continue_sends_the_body_after_100_continue() {
    let mut setup = Setup::h2c(|b| b).await;
    check_the_body_follows_100_continue(&mut setup).await;
    assert_eq!(setup.pool.connection_count(), 1);
}

/// Sends a request that expects `100 Continue` to a server that answers 401 without it: the
/// body is never started, and the connection stays in the pool only if `kept`. Then sends a
/// GET, and returns the index of the connection it took.
async fn check_no_body_goes_before_100_continue(setup: &mut Setup, kept: bool) -> usize {
    setup.server.enqueue(
        MockResponse::new()
            .status(401)
            .body("who are you")
            .expect_continue(ExpectContinue::RespondWithoutReadingBody),
    );
    setup.server.enqueue(MockResponse::new().body("next"));
    let events = Arc::new(Events::default());
    let url = setup.url();
    let request = with_listener(expecting_continue(&url, "secret body"), events.clone());
    let got = send(&mut setup.stack, request).await.unwrap();
    assert_eq!(got.status, 401);
    assert_eq!(got.body, "who are you");
    let recorded = setup.server.take_request(PATIENCE).await.unwrap();
    assert_eq!(recorded.body_size(), 0);
    let names = events.take();
    assert!(!names.contains(&"RequestBodyStart".to_owned()), "{names:?}");
    assert_eq!(setup.pool.connection_count(), usize::from(kept));
    assert_eq!(
        send(&mut setup.stack, get(&url)).await.unwrap().body,
        "next"
    );
    setup.connection_index().await
}

#[tokio::test]
async fn a_final_response_before_100_continue_sends_no_body_and_ends_reuse() {
    let mut setup = Setup::http1(|b| b).await;
    assert_eq!(
        check_no_body_goes_before_100_continue(&mut setup, false).await,
        1
    );
}

/// On HTTP/2 only the stream is given up: the connection serves the next request.
#[tokio::test]
async fn http2_final_response_before_100_continue_sends_no_body() {
    let mut setup = Setup::h2c(|b| b).await;
    assert_eq!(
        check_no_body_goes_before_100_continue(&mut setup, true).await,
        0
    );
    assert_eq!(setup.pool.connection_count(), 1);
}

/// Sends a request that expects `100 Continue` to a server that never answers: it fails after
/// the read timeout (1 s), saying what it waited for, and no body was sent.
async fn check_100_continue_times_out(setup: &mut Setup) {
    setup.server.enqueue(
        MockResponse::new()
            .body("never")
            .expect_continue(ExpectContinue::NeverRespond),
    );
    let url = setup.url();
    let started = Instant::now();
    let error = send(&mut setup.stack, expecting_continue(&url, "hello"))
        .await
        .err()
        .unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error:?}");
    assert!(
        error.message().contains("waiting for 100 Continue"),
        "{error}"
    );
    assert_eq!(error.request_sent(), RequestSent::Maybe);
    let recorded = setup.server.take_request(PATIENCE).await.unwrap();
    assert_eq!(recorded.body_size(), 0);
}

#[tokio::test(start_paused = true)]
async fn expect_continue_without_an_answer_times_out_with_the_read_timeout() {
    let mut setup =
        Setup::http1(|b| b.connect_timeout(None).read_timeout(Duration::from_secs(1))).await;
    check_100_continue_times_out(&mut setup).await;
    assert_eq!(setup.pool.connection_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn http2_expect_continue_without_an_answer_times_out_with_the_read_timeout() {
    let server = MockWebServer::builder()
        .protocols(&[oktower_testkit::Protocol::H2PriorKnowledge])
        .start()
        .await
        .unwrap();
    let mut setup = Setup::with(server, |b| {
        b.protocols(&[Protocol::H2PriorKnowledge])
            .connect_timeout(None)
            .read_timeout(Duration::from_secs(1))
    });
    check_100_continue_times_out(&mut setup).await;
}

#[tokio::test]
async fn informational_responses_are_reported_in_order_and_skipped() {
    let mut setup = Setup::http1(|b| b).await;
    setup.server.enqueue(MockResponse::new().body("first"));
    setup.server.enqueue(
        MockResponse::new()
            .informational(102, &[])
            .informational(103, &[("link", "</style.css>; rel=preload")])
            .body("final"),
    );
    let url = setup.url();
    send(&mut setup.stack, get(&url)).await.unwrap();
    let events = Arc::new(Events::default());
    let got = send(&mut setup.stack, get_with(&url, events.clone()))
        .await
        .unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(got.body, "final");
    assert_eq!(
        events.take(),
        [
            "ConnectionAcquired",
            "RequestHeadersStart",
            "RequestHeadersEnd",
            "ResponseHeadersStart",
            "Informational 102",
            "Informational 103",
            "ResponseHeadersEnd",
            "ResponseBodyStart",
            "ResponseBodyEnd",
            "ConnectionReleased",
        ]
    );
    // The connection stays in service.
    assert_eq!(setup.connection_index().await, 0);
    assert_eq!(setup.connection_index().await, 0);
    assert_eq!(setup.pool.idle_connection_count(), 1);
}

#[tokio::test]
async fn informational_responses_without_a_listener_are_skipped() {
    let mut setup = Setup::http1(|b| b).await;
    setup.server.enqueue(
        MockResponse::new()
            .informational(103, &[("link", "</a.css>")])
            .body("final"),
    );
    let url = setup.url();
    let got = send(&mut setup.stack, get(&url)).await.unwrap();
    assert_eq!((got.status, got.body.as_str()), (200, "final"));
}

/// A streamed request body of unknown length: `count` chunks of `size` bytes, the `i`th all
/// bytes `i`; then its end, or, when `endless`, nothing ever again. It holds `alive` while it
/// exists.
struct Chunks {
    next: u8,
    count: u8,
    size: usize,
    endless: bool,
    _alive: Arc<()>,
}

impl Chunks {
    fn new(count: u8, size: usize, endless: bool, alive: &Arc<()>) -> Self {
        Chunks {
            next: 0,
            count,
            size,
            endless,
            _alive: alive.clone(),
        }
    }
}

impl http_body::Body for Chunks {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
        let i = self.next;
        if i == self.count {
            return match self.endless {
                true => std::task::Poll::Pending,
                false => std::task::Poll::Ready(None),
            };
        }
        self.next += 1;
        let chunk = bytes::Bytes::from(vec![i; self.size]);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
    }
}

/// Bodies far larger than HTTP/2's initial flow-control windows go both ways whole: a
/// streamed upload of unknown length, and a download of 4 MiB.
#[tokio::test]
async fn http2_bodies_larger_than_the_flow_control_windows_arrive_whole() {
    let mut setup = Setup::h2c(|b| b).await;
    let download: Vec<u8> = (0..4 * 1024 * 1024).map(|i: u32| (i % 251) as u8).collect();
    setup
        .server
        .enqueue(MockResponse::new().body(download.clone()));
    let upload = oktower::RequestBody::streaming(Chunks::new(48, 65_536, false, &Arc::new(())));
    let request = http::Request::post(setup.url()).body(upload).unwrap();
    let response = setup.stack.call(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body == download, "{} bytes came back", body.len());
    let recorded = setup.server.take_request(PATIENCE).await.unwrap();
    assert_eq!(recorded.body_size(), 48 * 65_536);
    let sent = recorded.body();
    assert!((0..48).all(|i| sent[i * 65_536] == i as u8 && sent[i * 65_536 + 65_535] == i as u8));
    assert_eq!(setup.pool.connection_count(), 1);
}

/// Dropping an HTTP/2 call while its body is being sent ends the task that sends it (the body
/// is dropped) and resets the stream; the connection serves the next request.
#[tokio::test]
async fn dropping_an_http2_call_mid_upload_drops_its_body_and_keeps_the_connection() {
    let mut setup = Setup::h2c(|b| b).await;
    setup.server.enqueue(
        MockResponse::new()
            .body("never read")
            .headers_delay(Duration::from_secs(3600)),
    );
    setup.server.enqueue(MockResponse::new().body("next"));
    let alive = Arc::new(());
    let body = Chunks::new(1, 11, true, &alive);
    let request = http::Request::post(setup.url())
        .body(oktower::RequestBody::streaming(body))
        .unwrap();
    let call = setup.stack.call(request);
    let outcome = tokio::time::timeout(Duration::from_millis(200), call).await;
    assert!(outcome.is_err(), "the call should still be waiting");
    let deadline = Instant::now() + PATIENCE;
    while Arc::strong_count(&alive) > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(Arc::strong_count(&alive), 1, "the body outlived its call");
    let url = setup.url();
    assert_eq!(
        send(&mut setup.stack, get(&url)).await.unwrap().body,
        "next"
    );
    assert_eq!(setup.pool.connection_count(), 1);
}

#[tokio::test]
async fn http2_informational_responses_are_reported_in_order_and_skipped() {
    let mut setup = Setup::h2c(|b| b).await;
    setup.server.enqueue(
        MockResponse::new()
            .informational(102, &[])
            .informational(103, &[("link", "</style.css>; rel=preload")])
            .body("final"),
    );
    let url = setup.url();
    let events = Arc::new(Events::default());
    let got = send(&mut setup.stack, get_with(&url, events.clone()))
        .await
        .unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(got.body, "final");
    let names = events.take();
    let interim: Vec<_> = names
        .iter()
        .filter(|n| n.starts_with("Informational"))
        .collect();
    assert_eq!(
        interim,
        ["Informational 102", "Informational 103"],
        "{names:?}"
    );
    let position = |name: &str| names.iter().position(|n| n == name).unwrap();
    assert!(
        position("Informational 103") < position("ResponseHeadersEnd"),
        "{names:?}"
    );
}

// ---- Read timeouts ----

#[tokio::test(start_paused = true)]
async fn a_stalled_response_head_times_out_and_the_connection_is_dropped() {
    let mut setup =
        Setup::http1(|b| b.connect_timeout(None).read_timeout(Duration::from_secs(1))).await;
    setup.server.enqueue(
        MockResponse::new()
            .body("late")
            .headers_delay(Duration::from_secs(3600)),
    );
    let url = setup.url();
    let started = Instant::now();
    let error = send(&mut setup.stack, get(&url)).await.err().unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error:?}");
    assert!(
        error.message().contains("waiting for the response"),
        "{error}"
    );
    assert_eq!(error.request_sent(), RequestSent::Maybe);
    assert_eq!(setup.pool.connection_count(), 0);
}

#[tokio::test]
async fn a_pooled_connection_times_out_its_next_exchange_too() {
    // An HTTP/1 connection keeps one read timer for all its exchanges: the second exchange's
    // deadline must count from its own start.
    let mut setup = Setup::http1(|b| b.read_timeout(Duration::from_secs(1))).await;
    setup.server.enqueue(MockResponse::new().body("first"));
    setup.server.enqueue(
        MockResponse::new()
            .body("late")
            .headers_delay(Duration::from_secs(3600)),
    );
    let url = setup.url();
    let first = send(&mut setup.stack, get(&url)).await.unwrap();
    assert_eq!(first.body, "first");
    assert_eq!(setup.pool.idle_connection_count(), 1);
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(5)).await;
    let started = Instant::now();
    let error = send(&mut setup.stack, get(&url)).await.err().unwrap();
    // Tokio rounds timers up to the millisecond.
    let waited = started.elapsed();
    assert!(
        (Duration::from_secs(1)..=Duration::from_millis(1002)).contains(&waited),
        "{waited:?}"
    );
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error:?}");
    assert!(
        error.message().contains("waiting for the response"),
        "{error}"
    );
    assert_eq!(setup.pool.connection_count(), 0);
    // Both exchanges went over the one connection.
    for exchange in 0..2 {
        let request = setup.server.take_request(PATIENCE).await.unwrap();
        assert_eq!(
            (request.connection_index(), request.exchange_index()),
            (0, exchange)
        );
    }
}

#[tokio::test]
async fn a_stalled_response_body_times_out_and_the_connection_is_dropped() {
    let mut setup = Setup::http1(|b| b.read_timeout(Duration::from_secs(1))).await;
    setup.server.enqueue(
        MockResponse::new()
            .body("late body")
            .body_delay(Duration::from_secs(3600)),
    );
    // The head comes at once, in real time; the body's wait is measured in paused time.
    let url = setup.url();
    let response = setup.stack.call(get(&url)).await.unwrap();
    tokio::time::pause();
    let paused_at = Instant::now();
    let error = response.into_body().collect().await.err().unwrap();
    // The deadline counts from the head's arrival, just before the pause; tokio rounds timers
    // up to the millisecond.
    let waited = paused_at.elapsed();
    assert!(waited <= Duration::from_millis(1001), "{waited:?}");
    assert_eq!(error.kind(), ErrorKind::Timeout, "{error:?}");
    assert!(
        error
            .message()
            .contains("reading the response body from a.test timed out after 1s"),
        "{error}"
    );
    assert_eq!(setup.pool.connection_count(), 0);
}

// ---- Event order ----

#[tokio::test]
async fn events_of_a_refused_connect() {
    let server = MockWebServer::start().await.unwrap();
    let pool = ConnectionPool::default();
    let layer = builder(&[("a.test", REFUSING)])
        .pool(pool.clone())
        .build()
        .unwrap();
    let events = Arc::new(Events::default());
    let url = server.url_with_host("http", "a.test", "/");
    let error = send(&mut stack(&layer), get_with(&url, events.clone()))
        .await
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Connect, "{error:?}");
    assert_eq!(error.request_sent(), RequestSent::No);
    assert_eq!(
        events.take(),
        [
            "ProxySelectStart",
            "ProxySelectEnd",
            "DnsStart",
            "DnsEnd",
            "ConnectStart",
            "ConnectFailed",
        ]
    );
    assert_eq!(pool.connection_count(), 0);
}

#[tokio::test]
async fn events_of_a_request_with_a_body() {
    let mut setup = Setup::http1(|b| b).await;
    setup.server.enqueue(MockResponse::new().body("created"));
    let events = Arc::new(Events::default());
    let request = with_listener(post(&setup.url(), "hello"), events.clone());
    let got = send(&mut setup.stack, request).await.unwrap();
    assert_eq!(got.body, "created");
    assert_eq!(
        events.take(),
        [
            "ProxySelectStart",
            "ProxySelectEnd",
            "DnsStart",
            "DnsEnd",
            "ConnectStart",
            "ConnectEnd",
            "ConnectionAcquired",
            "RequestHeadersStart",
            "RequestHeadersEnd",
            "RequestBodyStart",
            "RequestBodyEnd",
            "ResponseHeadersStart",
            "ResponseHeadersEnd",
            "ResponseBodyStart",
            "ResponseBodyEnd",
            "ConnectionReleased",
        ]
    );
    let recorded = setup.server.take_request(PATIENCE).await.unwrap();
    assert_eq!(recorded.body_text(), "hello");
    assert_eq!(recorded.header("content-length"), Some("5"));
}

#[tokio::test]
async fn events_of_a_request_with_a_body_over_tls_and_http2() {
    let certificates = TestCertificates::for_hosts(&["a.test"]).unwrap();
    let server = MockWebServer::builder()
        .tls(certificates.server_tls())
        .default_response(MockResponse::new().body("created"))
        .start()
        .await
        .unwrap();
    let tls = TlsConfig::builder()
        .without_platform_roots()
        .add_root_certificate(certificates.root().certificate_der().clone())
        .build()
        .unwrap();
    let layer = builder(&[("a.test", LOCALHOST)]).tls(tls).build().unwrap();
    let events = Arc::new(Events::default());
    let url = server.url_with_host("https", "a.test", "/");
    let request = with_listener(post(&url, "hello"), events.clone());
    let got = send(&mut stack(&layer), request).await.unwrap();
    assert_eq!(got.info.protocol(), Protocol::Http2);
    assert_eq!(
        events.take(),
        [
            "ProxySelectStart",
            "ProxySelectEnd",
            "DnsStart",
            "DnsEnd",
            "ConnectStart",
            "SecureConnectStart",
            "SecureConnectEnd",
            "ConnectEnd",
            "ConnectionAcquired",
            "RequestHeadersStart",
            "RequestHeadersEnd",
            "RequestBodyStart",
            "RequestBodyEnd",
            "ResponseHeadersStart",
            "ResponseHeadersEnd",
            "ResponseBodyStart",
            "ResponseBodyEnd",
            "ConnectionReleased",
        ]
    );
    let recorded = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(recorded.body_text(), "hello");
}

#[tokio::test]
async fn events_of_a_response_cut_short() {
    let mut setup = Setup::http1(|b| b).await;
    setup.server.enqueue(
        MockResponse::new()
            .body("0123456789")
            .with_fault(Fault::DisconnectDuringResponseBody { after_bytes: 4 }),
    );
    let events = Arc::new(Events::default());
    let url = setup.url();
    let response = setup
        .stack
        .call(get_with(&url, events.clone()))
        .await
        .unwrap();
    events.take();
    response.into_body().collect().await.err().unwrap();
    assert_eq!(
        events.take(),
        ["ResponseBodyStart", "ResponseFailed", "ConnectionReleased"]
    );
    assert_eq!(setup.pool.connection_count(), 0);
}

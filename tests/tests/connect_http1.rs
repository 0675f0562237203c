//! ConnectLayer + CallServer over HTTP/1.1: reuse, the end of reuse, and bad responses.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use http_body_util::BodyExt;
use oktower::{ConnectionPool, ErrorKind, Protocol, RequestSent};
use oktower_testkit::{AfterResponse, Fault, MockResponse, MockWebServer};
use support::*;
use tower_service::Service;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

async fn setup() -> (MockWebServer, ConnectionPool, Stack) {
    let server = MockWebServer::start().await.unwrap();
    let pool = ConnectionPool::default();
    let layer = builder(&[("a.test", LOCALHOST)])
        .pool(pool.clone())
        .build()
        .unwrap();
    (server, pool, stack(&layer))
}

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    let (server, pool, mut stack) = setup().await;
    let url = server.url_with_host("http", "a.test", "/");
    for i in 0..3 {
        server.enqueue(MockResponse::new().body(format!("answer {i}")));
    }
    let mut ids = Vec::new();
    let mut previous_received = std::time::SystemTime::UNIX_EPOCH;
    for i in 0..3 {
        let got = send(&mut stack, get(&url)).await.unwrap();
        assert_eq!(got.body, format!("answer {i}"));
        assert_eq!(got.info.protocol(), Protocol::Http11);
        ids.push(got.info.id());
        // The response's ConnectionInfo says when this exchange was sent and answered.
        let times = got
            .info
            .response_times()
            .expect("a network response's times");
        assert!(previous_received <= times.sent_at, "{times:?}");
        assert!(times.sent_at <= times.received_at, "{times:?}");
        previous_received = times.received_at;
    }
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    for exchange in 0..3 {
        let request = server.take_request(PATIENCE).await.unwrap();
        assert_eq!(request.connection_index(), 0);
        assert_eq!(request.exchange_index(), exchange);
        assert_eq!(request.target(), "/");
    }
    assert_eq!(pool.connection_count(), 1);
    assert_eq!(pool.idle_connection_count(), 1);
}

#[tokio::test]
async fn connection_close_from_the_server_ends_reuse() {
    let (server, pool, mut stack) = setup().await;
    let url = server.url_with_host("http", "a.test", "/");
    server.enqueue(MockResponse::new().header("Connection", "close").body("a"));
    server.enqueue(MockResponse::new().body("b"));
    assert_eq!(send(&mut stack, get(&url)).await.unwrap().body, "a");
    assert_eq!(send(&mut stack, get(&url)).await.unwrap().body, "b");
    assert_eq!(
        server
            .take_request(PATIENCE)
            .await
            .unwrap()
            .connection_index(),
        0
    );
    assert_eq!(
        server
            .take_request(PATIENCE)
            .await
            .unwrap()
            .connection_index(),
        1
    );
    assert_eq!(pool.connection_count(), 1);
}

#[tokio::test]
async fn connection_close_from_the_client_ends_reuse() {
    let (server, _pool, mut stack) = setup().await;
    let url = server.url_with_host("http", "a.test", "/");
    server.enqueue(MockResponse::new().body("a"));
    server.enqueue(MockResponse::new().body("b"));
    let mut request = get(&url);
    request
        .headers_mut()
        .insert("connection", "close".parse().unwrap());
    send(&mut stack, request).await.unwrap();
    send(&mut stack, get(&url)).await.unwrap();
    assert_eq!(
        server
            .take_request(PATIENCE)
            .await
            .unwrap()
            .connection_index(),
        0
    );
    assert_eq!(
        server
            .take_request(PATIENCE)
            .await
            .unwrap()
            .connection_index(),
        1
    );
}

#[tokio::test]
async fn an_unfinished_body_is_never_pooled() {
    let (server, pool, mut stack) = setup().await;
    let url = server.url_with_host("http", "a.test", "/");
    server.enqueue(MockResponse::new().body("x".repeat(64 * 1024)));
    server.enqueue(MockResponse::new().body("b"));
    let response = stack.call(get(&url)).await.unwrap();
    assert_eq!(pool.connection_count(), 1);
    assert_eq!(pool.idle_connection_count(), 0);
    drop(response);
    assert_eq!(pool.connection_count(), 0);
    assert_eq!(send(&mut stack, get(&url)).await.unwrap().body, "b");
    assert_eq!(
        server
            .take_request(PATIENCE)
            .await
            .unwrap()
            .connection_index(),
        0
    );
    assert_eq!(
        server
            .take_request(PATIENCE)
            .await
            .unwrap()
            .connection_index(),
        1
    );
}

#[tokio::test]
async fn a_stale_pooled_connection_is_retried_transparently() {
    let (server, pool, mut stack) = setup().await;
    let url = server.url_with_host("http", "a.test", "/");
    // The server closes the connection after the response, without saying so.
    server.enqueue(
        MockResponse::new()
            .body("a")
            .after_response(AfterResponse::Close),
    );
    server.enqueue(MockResponse::new().body("b"));
    assert_eq!(send(&mut stack, get(&url)).await.unwrap().body, "a");
    // Let the client notice or not: either way the next request must succeed.
    let got = send(&mut stack, get(&url)).await.unwrap();
    assert_eq!(got.body, "b");
    assert_eq!(
        server
            .take_request(PATIENCE)
            .await
            .unwrap()
            .connection_index(),
        0
    );
    assert_eq!(
        server
            .take_request(PATIENCE)
            .await
            .unwrap()
            .connection_index(),
        1
    );
    assert_eq!(pool.connection_count(), 1);
}

#[tokio::test]
async fn a_malformed_status_line_is_a_protocol_error_naming_the_host() {
    let (server, pool, mut stack) = setup().await;
    let url = server.url_with_host("http", "a.test", "/");
    server.enqueue(MockResponse::new().reason("bad\u{1}reason").body("x"));
    let error = send(&mut stack, get(&url)).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert!(error.to_string().contains("a.test"), "{error}");
    assert_eq!(pool.connection_count(), 0);
}

#[tokio::test]
async fn oversized_response_headers_are_refused() {
    let server = MockWebServer::start().await.unwrap();
    let pool = ConnectionPool::default();
    let layer = builder(&[("a.test", LOCALHOST)])
        .pool(pool.clone())
        .max_response_header_size(16 * 1024)
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    server.enqueue(MockResponse::new().header("X-Big", "y".repeat(20 * 1024)));
    let error = send(
        &mut stack,
        get(&server.url_with_host("http", "a.test", "/")),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert!(error.to_string().contains("too large"), "{error}");
    assert_eq!(pool.connection_count(), 0);
}

/// The head limit holds at its default (256 KiB) and above hyper's own read-buffer limit
/// (about 408 KiB): a head just under the limit is read, one over it is refused.
#[tokio::test]
async fn response_heads_up_to_the_limit_are_read_and_larger_ones_refused() {
    let server = MockWebServer::start().await.unwrap();
    let url = server.url_with_host("http", "a.test", "/");
    for (limit, kib) in [
        (None, 250),
        (None, 270),
        (Some(640 * 1024), 620),
        (Some(640 * 1024), 660),
    ] {
        let pool = ConnectionPool::default();
        let mut builder = builder(&[("a.test", LOCALHOST)]).pool(pool.clone());
        if let Some(limit) = limit {
            builder = builder.max_response_header_size(limit);
        }
        let layer = builder.build().unwrap();
        let mut stack = stack(&layer);
        server.enqueue(
            MockResponse::new()
                .header("X-Big", "y".repeat(kib * 1024))
                .body("ok"),
        );
        let fits = kib * 1024 < limit.unwrap_or(256 * 1024);
        match send(&mut stack, get(&url)).await {
            Ok(got) => {
                assert!(
                    fits,
                    "a {kib} KiB head was read despite the limit {limit:?}"
                );
                assert_eq!(got.head.headers["x-big"].len(), kib * 1024);
                assert_eq!(got.body, "ok");
            }
            Err(error) => {
                assert!(
                    !fits,
                    "a {kib} KiB head within the limit {limit:?} was refused: {error}"
                );
                assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
                assert!(error.to_string().contains("too large"), "{error}");
                assert_eq!(pool.connection_count(), 0);
            }
        }
    }
}

#[tokio::test]
async fn invalid_chunked_encoding_fails_the_body() {
    let (server, pool, mut stack) = setup().await;
    let url = server.url_with_host("http", "a.test", "/");
    server.enqueue(
        MockResponse::new()
            .header("Transfer-Encoding", "chunked")
            .close_delimited_body("zz\r\nhello\r\n0\r\n\r\n"),
    );
    let error = send(&mut stack, get(&url)).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert_eq!(pool.connection_count(), 0);
}

#[tokio::test]
async fn a_204_with_a_body_is_refused() {
    let (server, pool, mut stack) = setup().await;
    let url = server.url_with_host("http", "a.test", "/");
    server.enqueue(
        MockResponse::new()
            .status(204)
            .header("Content-Length", "5")
            .body("hello"),
    );
    let error = send(&mut stack, get(&url)).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::Protocol);
    assert!(
        error
            .to_string()
            .contains("HTTP 204 had non-zero Content-Length: 5"),
        "{error}"
    );
    assert_eq!(pool.connection_count(), 0);
}

#[tokio::test]
async fn a_truncated_body_is_a_protocol_error() {
    let (server, pool, mut stack) = setup().await;
    let url = server.url_with_host("http", "a.test", "/");
    server.enqueue(
        MockResponse::new()
            .body("0123456789")
            .with_fault(Fault::DisconnectDuringResponseBody { after_bytes: 4 }),
    );
    let response = stack.call(get(&url)).await.unwrap();
    let error = response.into_body().collect().await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::Protocol, "{error}");
    assert!(
        error.to_string().contains("unexpected end of stream"),
        "{error}"
    );
    assert_eq!(pool.connection_count(), 0);
}

#[tokio::test]
async fn a_stream_ending_before_the_response_head_is_an_io_error() {
    let (server, pool, mut stack) = setup().await;
    let url = server.url_with_host("http", "a.test", "/");
    server.enqueue(MockResponse::fault(Fault::DisconnectAfterRequest));
    let error = stack.call(get(&url)).await.err().unwrap();
    // OkHttp's IOException, which its retry logic may retry (unlike a truncated body's
    // ProtocolException): the server may have closed a kept-alive connection as it arrived.
    assert_eq!(error.kind(), ErrorKind::Io, "{error}");
    assert!(
        error
            .to_string()
            .contains("unexpected end of stream on http://a.test:"),
        "{error}"
    );
    assert_eq!(error.request_sent(), RequestSent::Maybe);
    assert_eq!(pool.connection_count(), 0);
}

#[tokio::test]
async fn events_of_a_fresh_then_a_pooled_exchange() {
    let (server, _pool, mut stack) = setup().await;
    let url = server.url_with_host("http", "a.test", "/");
    server.enqueue(MockResponse::new().body("a"));
    server.enqueue(MockResponse::new().body("b"));
    let events = Arc::new(Events::default());
    send(&mut stack, get_with(&url, events.clone()))
        .await
        .unwrap();
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
            "ResponseHeadersStart",
            "ResponseHeadersEnd",
            "ResponseBodyStart",
            "ResponseBodyEnd",
            "ConnectionReleased",
        ]
    );
    send(&mut stack, get_with(&url, events.clone()))
        .await
        .unwrap();
    assert_eq!(
        events.take(),
        [
            "ConnectionAcquired",
            "RequestHeadersStart",
            "RequestHeadersEnd",
            "ResponseHeadersStart",
            "ResponseHeadersEnd",
            "ResponseBodyStart",
            "ResponseBodyEnd",
            "ConnectionReleased",
        ]
    );
}

/// Between `ConnectLayer` and `CallServer`: on the first exchange of a connection that already
/// served a request, has the server close that connection and waits until the client has seen
/// it close, before sending. Records the connection of every exchange.
#[derive(Clone)]
struct CloseBeforeSending {
    close: Arc<std::sync::Mutex<Option<tokio::sync::oneshot::Sender<()>>>>,
    connections: Arc<std::sync::Mutex<Vec<u64>>>,
}

impl Service<http::Request<oktower::RequestBody>> for CloseBeforeSending {
    type Response = http::Response<oktower::ResponseBody>;
    type Error = oktower::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<oktower::RequestBody>) -> Self::Future {
        let exchange = request.extensions().get::<oktower::Exchange>().unwrap();
        let mut connections = self.connections.lock().unwrap();
        connections.push(exchange.info().id());
        let close = match connections.len() {
            2 => self.close.lock().unwrap().take(),
            _ => None,
        };
        drop(connections);
        Box::pin(async move {
            if let Some(close) = close {
                close.send(()).unwrap();
                // The client's connection task reads the end of the stream meanwhile.
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            oktower::CallServer::new().call(request).await
        })
    }
}

#[tokio::test]
async fn a_pooled_connection_closed_before_sending_gives_the_request_back_for_another() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn answer(socket: &mut tokio::net::TcpStream, body: &str) {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            assert_eq!(socket.read(&mut byte).await.unwrap(), 1);
            head.push(byte[0]);
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(response.as_bytes()).await.unwrap();
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (close, closed) = tokio::sync::oneshot::channel();
    let server = tokio::spawn(async move {
        let (mut first, _) = listener.accept().await.unwrap();
        answer(&mut first, "first").await;
        closed.await.unwrap();
        drop(first);
        let (mut second, _) = listener.accept().await.unwrap();
        answer(&mut second, "second").await;
        second
    });
    let pool = ConnectionPool::default();
    let layer = builder(&[("a.test", LOCALHOST)])
        .pool(pool.clone())
        .build()
        .unwrap();
    let connections = Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut stack = tower_layer::Layer::layer(
        &layer,
        CloseBeforeSending {
            close: Arc::new(std::sync::Mutex::new(Some(close))),
            connections: connections.clone(),
        },
    );
    let url = format!("http://a.test:{port}/");
    let events = Arc::new(Events::default());
    for expected in ["first", "second"] {
        events.take();
        let response = stack.call(get_with(&url, events.clone())).await.unwrap();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, expected);
    }
    // The retry is reported as OkHttp reports a stale pooled connection's: the failure, the
    // decision to retry, the release of the connection left, then a new connection.
    assert_eq!(
        events.take(),
        [
            "ConnectionAcquired",
            "RequestHeadersStart",
            "RequestHeadersEnd",
            "ResponseHeadersStart",
            "ResponseFailed",
            "RetryDecision true",
            "ConnectionReleased",
            "ProxySelectStart",
            "ProxySelectEnd",
            "DnsStart",
            "DnsEnd",
            "ConnectStart",
            "ConnectEnd",
            "ConnectionAcquired",
            "RequestHeadersStart",
            "RequestHeadersEnd",
            "ResponseHeadersStart",
            "ResponseHeadersEnd",
            "ResponseBodyStart",
            "ResponseBodyEnd",
            "ConnectionReleased",
        ]
    );
    // The second request went to the pooled connection, came back unsent, and was sent on a
    // new connection.
    let connections = connections.lock().unwrap().clone();
    assert_eq!(connections.len(), 3, "{connections:?}");
    assert_eq!(connections[0], connections[1]);
    assert_ne!(connections[1], connections[2]);
    drop(server.await.unwrap());
    assert_eq!(pool.connection_count(), 1);
}

/// A service between `ConnectLayer` and `CallServer` that answers every request itself.
#[derive(Clone)]
struct AnswersItself;

impl Service<http::Request<oktower::RequestBody>> for AnswersItself {
    type Response = http::Response<oktower::ResponseBody>;
    type Error = oktower::Error;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _request: http::Request<oktower::RequestBody>) -> Self::Future {
        std::future::ready(Ok(http::Response::new(oktower::ResponseBody::empty())))
    }
}

#[tokio::test]
async fn a_connection_no_service_sent_on_is_released_unused_and_reported() {
    let (server, pool, _) = setup().await;
    let url = server.url_with_host("http", "a.test", "/");
    let layer = builder(&[("a.test", LOCALHOST)])
        .pool(pool.clone())
        .build()
        .unwrap();
    let mut answering = tower_layer::Layer::layer(&layer, AnswersItself);
    let events = Arc::new(Events::default());
    for connected in [true, false] {
        let response = answering
            .call(get_with(&url, events.clone()))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let events = events.take();
        assert_eq!(events.contains(&"ConnectEnd".to_owned()), connected);
        assert_eq!(
            events[events.len() - 2..],
            ["ConnectionAcquired", "ConnectionReleased"]
        );
        // Nothing was sent on the connection: it is pooled again, idle, and used next.
        assert_eq!(pool.connection_count(), 1);
        assert_eq!(pool.idle_connection_count(), 1);
    }
    assert_eq!(server.request_count(), 0);
}

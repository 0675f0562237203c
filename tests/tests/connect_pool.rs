//! The connection pool under ConnectLayer: eviction by idle time and by count, `evict_all`,
//! the cap on connections, a pool shared by two stacks, and cancellation while connecting
//! (nothing left behind: no pooled connection, no socket, no task).
//!
//! The server here is `support/plain_server.rs`, which reports when the client closes a
//! connection (the testkit's server does not).

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use http::Response;
use http_body_util::BodyExt;
use oktower::{CallContext, ConnectionPool, ErrorKind, ResponseBody};
use oktower_testkit::{Fault, MockResponse, MockWebServer, TestCertificates};
use support::plain_server::PlainServer;
use support::tcp::{Plan, ScriptedTcp};
use support::*;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn layer_with(pool: &ConnectionPool) -> oktower::ConnectLayer {
    builder(&[("a.test", LOCALHOST), ("b.test", LOCALHOST)])
        .pool(pool.clone())
        .build()
        .unwrap()
}

/// Sends `url` and returns the response without reading its body: the connection stays in
/// use until the body is read or dropped.
async fn hold(stack: &mut Stack, url: &str) -> Response<ResponseBody> {
    stack.call(get(url)).await.unwrap()
}

async fn finish(response: Response<ResponseBody>) -> String {
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

async fn closed(server: &PlainServer) -> usize {
    timeout(PATIENCE, server.closed())
        .await
        .expect("the client closed a connection")
}

fn info(response: &Response<ResponseBody>) -> oktower::ConnectionInfo {
    response
        .extensions()
        .get::<oktower::ConnectionInfo>()
        .unwrap()
        .clone()
}

// ---- Eviction ----

#[tokio::test]
async fn an_idle_connection_is_closed_once_the_keep_alive_has_passed() {
    let server = PlainServer::start().await;
    let pool = ConnectionPool::new(5, Duration::from_secs(60));
    let mut stack = stack(&layer_with(&pool));
    assert_eq!(
        send(&mut stack, get(&server.url("a.test")))
            .await
            .unwrap()
            .body,
        "ok"
    );
    assert_eq!(pool.idle_connection_count(), 1);

    // Paused time from here: the cleanup task's keep-alive timer is the only one pending. Each
    // advance lets the woken cleanup task run its round before the test goes on.
    // (The connection went idle a moment of real time before the pause: 10 s of margin.)
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(50)).await;
    assert_eq!(pool.connection_count(), 1);
    assert_eq!(pool.idle_connection_count(), 1);
    tokio::time::advance(Duration::from_secs(11)).await;
    tokio::time::resume();
    // The server sees the socket close: the connection was closed, not just forgotten.
    assert_eq!(closed(&server).await, 0);
    assert_eq!(pool.connection_count(), 0);
    assert_eq!(pool.idle_connection_count(), 0);
    assert_eq!(server.connection_count(), 1);
}

/// The cleanup task runs only while the pool has had an idle connection to watch: not while
/// its only connection is in use, and not at all for a connection used once and closed.
#[tokio::test]
async fn the_cleanup_task_starts_when_a_connection_first_becomes_idle() {
    let alive = || {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    };
    let server = PlainServer::start().await;
    let pool = ConnectionPool::new(5, Duration::from_secs(60));
    let mut stack = stack(&layer_with(&pool));
    let url = server.url("a.test");
    let before = alive();
    let in_use = hold(&mut stack, &url).await;
    // The server's task for the connection and the client's connection task; no cleanup.
    assert_eq!(alive(), before + 2);
    assert_eq!(finish(in_use).await, "ok");
    assert_eq!(pool.idle_connection_count(), 1);
    assert_eq!(
        alive(),
        before + 3,
        "the cleanup task watches the idle connection"
    );
    pool.evict_all();
    assert_eq!(closed(&server).await, 0);
    timeout(PATIENCE, async {
        while alive() > before {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the connection and cleanup tasks end once the pool is empty");

    // A connection closed after one exchange never wakes a cleanup task: none starts.
    let mut request = get(&url);
    request.headers_mut().insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("close"),
    );
    // (The server may have ended its side already.)
    let once = stack.call(request).await.unwrap();
    assert!(alive() <= before + 2);
    assert_eq!(finish(once).await, "ok");
    assert_eq!(pool.connection_count(), 0);
    assert!(alive() <= before + 2, "no cleanup task");
}

#[tokio::test]
async fn beyond_the_idle_limit_the_longest_idle_connection_is_closed() {
    let server = PlainServer::start().await;
    let pool = ConnectionPool::new(1, Duration::from_secs(300));
    let mut stack = stack(&layer_with(&pool));
    let url = server.url("a.test");
    let first = hold(&mut stack, &url).await;
    let second = hold(&mut stack, &url).await;
    let second_id = info(&second).id();
    assert_ne!(info(&first).id(), second_id);
    assert_eq!(pool.connection_count(), 2);
    assert_eq!(finish(first).await, "ok");
    assert_eq!(finish(second).await, "ok");
    // Two idle connections, one allowed: the first, idle the longest, goes.
    assert_eq!(closed(&server).await, 0);
    assert_eq!(pool.connection_count(), 1);
    assert_eq!(pool.idle_connection_count(), 1);
    let again = send(&mut stack, get(&url)).await.unwrap();
    assert_eq!(again.info.id(), second_id);
    assert_eq!(server.connection_count(), 2);
}

#[tokio::test]
async fn evict_all_closes_idle_connections_and_leaves_those_in_use() {
    let server = PlainServer::start().await;
    let pool = ConnectionPool::default();
    let mut stack = stack(&layer_with(&pool));
    let url = server.url("a.test");
    let in_use = hold(&mut stack, &url).await;
    let idle_one = hold(&mut stack, &url).await;
    let idle_two = hold(&mut stack, &url).await;
    finish(idle_one).await;
    finish(idle_two).await;
    assert_eq!(pool.connection_count(), 3);
    assert_eq!(pool.idle_connection_count(), 2);

    pool.evict_all();
    assert_eq!(pool.connection_count(), 1);
    assert_eq!(pool.idle_connection_count(), 0);
    let mut closed_now = [closed(&server).await, closed(&server).await];
    closed_now.sort_unstable();
    assert_eq!(closed_now, [1, 2]);

    // The connection in use finishes its exchange and is pooled again.
    assert_eq!(finish(in_use).await, "ok");
    assert_eq!(pool.connection_count(), 1);
    assert_eq!(pool.idle_connection_count(), 1);
    send(&mut stack, get(&url)).await.unwrap();
    assert_eq!(server.connection_count(), 3);
}

// ---- The cap on connections ----

#[tokio::test]
async fn at_the_connection_cap_a_call_waits_until_a_connection_is_free() {
    let server = PlainServer::start().await;
    let pool = ConnectionPool::builder().max_connections(1).build();
    let tcp = ScriptedTcp::new(&[], Plan::System);
    let layer = builder(&[("a.test", LOCALHOST)])
        .pool(pool.clone())
        .tcp_connector(tcp.clone())
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let url = server.url("a.test");
    let first = hold(&mut stack, &url).await;

    let events = Arc::new(Events::default());
    let mut waiting = stack.clone();
    let request = get_with(&url, events.clone());
    let second = tokio::spawn(async move { send(&mut waiting, request).await });
    // Everything from DNS to the wait for room runs in one go: once DNS has answered, the
    // second call is either waiting or (wrongly) connecting, which starts a TCP attempt at once.
    events.wait_for("DnsEnd").await;
    assert_eq!(tcp.attempts().len(), 1);
    assert!(!second.is_finished());

    let first_id = info(&first).id();
    assert_eq!(finish(first).await, "ok");
    let got = timeout(PATIENCE, second)
        .await
        .expect("the waiting call goes on once the first connection is free")
        .unwrap()
        .unwrap();
    assert_eq!(got.body, "ok");
    // It takes the connection that became idle rather than replacing it.
    assert_eq!(got.info.id(), first_id);
    assert_eq!(tcp.attempts().len(), 1);
    assert_eq!(server.connection_count(), 1);
    assert_eq!(pool.connection_count(), 1);
}

#[tokio::test]
async fn at_the_connection_cap_an_idle_connection_makes_room_for_another_host() {
    let server = PlainServer::start().await;
    let pool = ConnectionPool::builder().max_connections(1).build();
    let mut stack = stack(&layer_with(&pool));
    send(&mut stack, get(&server.url("a.test"))).await.unwrap();
    assert_eq!(pool.idle_connection_count(), 1);
    let got = send(&mut stack, get(&server.url("b.test"))).await.unwrap();
    assert_eq!(got.body, "ok");
    assert_eq!(closed(&server).await, 0);
    assert_eq!(pool.connection_count(), 1);
    assert_eq!(server.connection_count(), 2);
}

// ---- Sharing ----

#[tokio::test]
async fn a_pool_shared_by_two_stacks_lends_one_connection_to_both() {
    let server = PlainServer::start().await;
    let pool = ConnectionPool::default();
    let resolver = dns(&[("a.test", &[LOCALHOST])]);
    let one = builder(&[])
        .dns(resolver.clone())
        .pool(pool.clone())
        .build()
        .unwrap();
    let two = builder(&[])
        .dns(resolver)
        .pool(pool.clone())
        .build()
        .unwrap();
    let url = server.url("a.test");
    let first = send(&mut stack(&one), get(&url)).await.unwrap();
    let second = send(&mut stack(&two), get(&url)).await.unwrap();
    assert_eq!(first.info.id(), second.info.id());
    assert_eq!(server.connection_count(), 1);
    assert_eq!(pool.connection_count(), 1);

    // A stack with another resolver is another address: it gets its own connection.
    let other = builder(&[("a.test", LOCALHOST)])
        .pool(pool.clone())
        .build()
        .unwrap();
    let third = send(&mut stack(&other), get(&url)).await.unwrap();
    assert_ne!(third.info.id(), first.info.id());
    assert_eq!(pool.connection_count(), 2);
}

// ---- Cancellation while connecting ----

fn blackholing(pool: &ConnectionPool) -> (Arc<ScriptedTcp>, Stack) {
    let tcp = ScriptedTcp::new(&[], Plan::Blackhole);
    let layer = builder(&[("a.test", LOCALHOST)])
        .pool(pool.clone())
        .tcp_connector(tcp.clone())
        .build()
        .unwrap();
    (tcp, stack(&layer))
}

fn cancellable(
    url: &str,
    events: &Arc<Events>,
    token: &CancellationToken,
) -> http::Request<oktower::RequestBody> {
    let mut request = get(url);
    request
        .extensions_mut()
        .insert(CallContext::with_token(events.clone(), token.clone()));
    request
}

#[tokio::test]
async fn dropping_the_call_during_tcp_connect_leaves_nothing_behind() {
    let pool = ConnectionPool::default();
    let (tcp, mut stack) = blackholing(&pool);
    let call = stack.call(get("http://a.test:8080/"));
    tokio::select! {
        _ = call => panic!("a blackholed connect never completes"),
        () = tcp.wait_for_attempts(1) => {}
    }
    // The call future was dropped with the select: so was the connect attempt.
    assert_eq!(tcp.blackholes_dropped(), 1);
    assert_eq!(pool.connection_count(), 0);
}

#[tokio::test]
async fn cancelling_the_token_during_tcp_connect_fails_the_call() {
    let pool = ConnectionPool::default();
    let (tcp, mut stack) = blackholing(&pool);
    let events = Arc::new(Events::default());
    let token = CancellationToken::new();
    let request = cancellable("http://a.test:8080/", &events, &token);
    let call = tokio::spawn(async move { send(&mut stack, request).await });
    tcp.wait_for_attempts(1).await;
    token.cancel();
    let error = timeout(PATIENCE, call)
        .await
        .unwrap()
        .unwrap()
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Canceled, "{error:?}");
    assert_eq!(tcp.blackholes_dropped(), 1);
    assert_eq!(pool.connection_count(), 0);
    assert_eq!(
        events.take(),
        [
            "ProxySelectStart",
            "ProxySelectEnd",
            "DnsStart",
            "DnsEnd",
            "ConnectStart",
            "ConnectFailed"
        ]
    );
    assert_eq!(events.connect_failures()[0].1, ErrorKind::Canceled);
}

#[tokio::test]
async fn cancelling_during_the_tls_handshake_closes_the_socket() {
    let certificates = TestCertificates::for_hosts(&["a.test"]).unwrap();
    let server = MockWebServer::builder()
        .tls(certificates.server_tls())
        .start()
        .await
        .unwrap();
    server.enqueue(MockResponse::fault(Fault::StallAtStart));
    let pool = ConnectionPool::default();
    let tcp = ScriptedTcp::new(&[], Plan::Forward(server.socket_addr()));
    let tls = oktower::TlsConfig::builder()
        .without_platform_roots()
        .add_root_certificate(certificates.root().certificate_der().clone())
        .build()
        .unwrap();
    let layer = builder(&[("a.test", LOCALHOST)])
        .pool(pool.clone())
        .tls(tls)
        .tcp_connector(tcp.clone())
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let events = Arc::new(Events::default());
    let token = CancellationToken::new();
    let url = server.url_with_host("https", "a.test", "/");
    let request = cancellable(&url, &events, &token);
    let call = tokio::spawn(async move { send(&mut stack, request).await });
    events.wait_for("SecureConnectStart").await;
    token.cancel();
    let error = timeout(PATIENCE, call)
        .await
        .unwrap()
        .unwrap()
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Canceled, "{error:?}");
    assert_eq!(tcp.streams_opened(), 1);
    assert_eq!(tcp.streams_closed(), 1);
    assert_eq!(pool.connection_count(), 0);
}

#[tokio::test]
async fn cancelling_while_waiting_for_http2_settings_ends_the_connection_task() {
    // The server's SETTINGS come late: the client's HTTP/2 connection task is already running
    // when the call is cancelled, and must not outlive it.
    let server = MockWebServer::builder()
        .protocols(&[oktower_testkit::Protocol::H2PriorKnowledge])
        .http2_settings_delay(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let pool = ConnectionPool::default();
    let tcp = ScriptedTcp::new(&[], Plan::Forward(server.socket_addr()));
    let layer = builder(&[("a.test", LOCALHOST)])
        .pool(pool.clone())
        .protocols(&[oktower::Protocol::H2PriorKnowledge])
        .tcp_connector(tcp.clone())
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let events = Arc::new(Events::default());
    let token = CancellationToken::new();
    let url = server.url_with_host("http", "a.test", "/");
    let request = cancellable(&url, &events, &token);
    let call = tokio::spawn(async move { send(&mut stack, request).await });
    tcp.wait_for_streams(1).await;
    token.cancel();
    let error = timeout(PATIENCE, call)
        .await
        .unwrap()
        .unwrap()
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Canceled, "{error:?}");
    // The socket belongs to the aborted connection task: it closes once the task is gone.
    timeout(PATIENCE, tcp.wait_for_closed_streams(1))
        .await
        .expect("the connection task was aborted and its socket closed");
    assert_eq!(pool.connection_count(), 0);
}

/// A call with its own token and listener, spawned.
fn spawn_call(
    stack: &Stack,
    url: &str,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<Got, oktower::Error>>,
) {
    let token = CancellationToken::new();
    let request = cancellable(url, &Arc::new(Events::default()), &token);
    let mut stack = stack.clone();
    let call = tokio::spawn(async move { send(&mut stack, request).await });
    (token, call)
}

async fn canceled(call: tokio::task::JoinHandle<Result<Got, oktower::Error>>) {
    let error = timeout(PATIENCE, call)
        .await
        .unwrap()
        .unwrap()
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Canceled, "{error:?}");
}

#[tokio::test]
async fn cancelling_calls_that_wait_for_another_calls_http2_connect() {
    let pool = ConnectionPool::default();
    let tcp = ScriptedTcp::new(&[], Plan::Blackhole);
    let layer = builder(&[("a.test", LOCALHOST)])
        .pool(pool.clone())
        .protocols(&[oktower::Protocol::H2PriorKnowledge])
        .tcp_connector(tcp.clone())
        .build()
        .unwrap();
    let stack = stack(&layer);
    let url = "http://a.test:8080/";
    let (leader_token, leader) = spawn_call(&stack, url);
    tcp.wait_for_attempts(1).await;

    // Two more calls to the same HTTP/2 address wait for the leader's connect instead of
    // connecting on their own (each spawned task runs up to its wait before this one goes on).
    let (first_token, first_waiter) = spawn_call(&stack, url);
    let (_second_token, second_waiter) = spawn_call(&stack, url);
    tokio::task::yield_now().await;
    assert_eq!(tcp.attempts().len(), 1);

    first_token.cancel();
    canceled(first_waiter).await;
    assert_eq!(tcp.attempts().len(), 1);
    assert!(!leader.is_finished());

    // The leader gone, the remaining waiter connects itself.
    leader_token.cancel();
    canceled(leader).await;
    assert_eq!(tcp.blackholes_dropped(), 1);
    timeout(PATIENCE, tcp.wait_for_attempts(2)).await.unwrap();
    assert!(!second_waiter.is_finished());

    // Dropping the call (not cancelling its token) ends its connect too.
    second_waiter.abort();
    let aborted = second_waiter.await.err().expect("the task was aborted");
    assert!(aborted.is_cancelled());
    assert_eq!(tcp.blackholes_dropped(), 2);
    assert_eq!(tcp.attempts().len(), 2);
    assert_eq!(pool.connection_count(), 0);
}

#[tokio::test]
async fn cancelling_a_call_waiting_for_room_under_the_cap() {
    let server = PlainServer::start().await;
    let pool = ConnectionPool::builder().max_connections(1).build();
    let mut stack = stack(&layer_with(&pool));
    let url = server.url("a.test");
    let first = hold(&mut stack, &url).await;

    let events = Arc::new(Events::default());
    let token = CancellationToken::new();
    let mut waiting = stack.clone();
    let request = cancellable(&url, &events, &token);
    let second = tokio::spawn(async move { send(&mut waiting, request).await });
    events.wait_for("DnsEnd").await;
    token.cancel();
    let error = timeout(PATIENCE, second)
        .await
        .unwrap()
        .unwrap()
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Canceled, "{error:?}");
    assert_eq!(pool.connection_count(), 1);
    // The first exchange is untouched.
    assert_eq!(finish(first).await, "ok");
    assert_eq!(pool.idle_connection_count(), 1);
    assert_eq!(server.connection_count(), 1);
}

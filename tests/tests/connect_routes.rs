//! ConnectLayer's routes: fallback to the next address when one refuses, the route database
//! postponing failed routes, happy eyeballs (a new attempt every 250 ms, the loser dropped),
//! and sequential attempts with fast fallback off.
//!
//! Refusals are real: nothing listens on 127.0.0.3 or 127.0.0.4 at the server's port (the
//! server binds 127.0.0.1 only). Blackholes and redirections come from the scripted connector
//! in `support/tcp.rs`; the addresses it blackholes are never dialled.
//!
//! The tests under paused time turn the connect and read timeouts off and use scripted
//! refusals: whenever the runtime waits for I/O it advances paused time to the next timer (an
//! I/O event does not stop it), so only the timers under test may be pending then.

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use oktower::{ConnectionPool, ErrorKind, RouteDatabase};
use oktower_testkit::{MockResponse, MockWebServer};
use support::tcp::{Attempt, Plan, ScriptedTcp};
use support::*;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const LOOPBACK_2: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// Nothing listens here: connecting is refused by the kernel.
const REFUSING: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
const REFUSING_TOO: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 4));
/// Documentation addresses, only ever handed to the scripted connector.
const DOC_V4_A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const DOC_V4_B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
const DOC_V6: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));

fn at(ip: IpAddr, server: &MockWebServer) -> SocketAddr {
    SocketAddr::new(ip, server.port())
}

fn attempt(ip: IpAddr, server: &MockWebServer, at_ms: u64) -> Attempt {
    Attempt {
        addr: at(ip, server),
        at: Duration::from_millis(at_ms),
    }
}

async fn server() -> MockWebServer {
    MockWebServer::builder()
        .default_response(MockResponse::new().body("ok"))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_refused_first_address_falls_back_to_the_second() {
    let server = server().await;
    let tcp = ScriptedTcp::new(&[], Plan::System);
    let pool = ConnectionPool::default();
    let layer = builder(&[])
        .dns(dns(&[("a.test", &[REFUSING, LOCALHOST])]))
        .tcp_connector(tcp.clone())
        .pool(pool.clone())
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let events = Arc::new(Events::default());
    let url = server.url_with_host("http", "a.test", "/");
    let got = send(&mut stack, get_with(&url, events.clone()))
        .await
        .unwrap();
    assert_eq!(got.body, "ok");
    assert_eq!(got.info.route().socket_addr(), at(LOCALHOST, &server));
    assert_eq!(
        tcp.attempted_addrs(),
        [at(REFUSING, &server), at(LOCALHOST, &server)]
    );
    assert_eq!(
        events.take()[..8],
        [
            "ProxySelectStart",
            "ProxySelectEnd",
            "DnsStart",
            "DnsEnd",
            "ConnectStart",
            "ConnectFailed",
            "ConnectStart",
            "ConnectEnd",
        ]
    );
    assert_eq!(
        events.connect_failures(),
        [(at(REFUSING, &server), ErrorKind::Connect)]
    );
    assert_eq!(layer.route_database().len(), 1);
    assert_eq!(pool.connection_count(), 1);
    assert_eq!(server.connection_count(), 1);
}

#[tokio::test]
async fn a_failed_route_is_tried_last_on_the_next_connect() {
    let server = server().await;
    let tcp = ScriptedTcp::new(&[], Plan::System);
    let layer = builder(&[])
        .dns(dns(&[("a.test", &[REFUSING, LOCALHOST])]))
        .tcp_connector(tcp.clone())
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let url = server.url_with_host("http", "a.test", "/");
    // Connection: close, so that the second request needs a new connection.
    server.enqueue(
        MockResponse::new()
            .header("Connection", "close")
            .body("first"),
    );
    assert_eq!(send(&mut stack, get(&url)).await.unwrap().body, "first");
    assert_eq!(tcp.attempts().len(), 2);

    assert_eq!(send(&mut stack, get(&url)).await.unwrap().body, "ok");
    // The refusing address, first in DNS order, now comes after the one that works: it is not
    // tried at all.
    assert_eq!(tcp.attempted_addrs()[2..], [at(LOCALHOST, &server)]);
    assert_eq!(server.connection_count(), 2);
    assert_eq!(layer.route_database().len(), 1);
}

#[tokio::test]
async fn stacks_sharing_a_route_database_learn_from_each_other() {
    let server = server().await;
    let database = RouteDatabase::new();
    let resolver = dns(&[("a.test", &[REFUSING, LOCALHOST])]);
    let first_tcp = ScriptedTcp::new(&[], Plan::System);
    let second_tcp = ScriptedTcp::new(&[], Plan::System);
    let first = builder(&[])
        .dns(resolver.clone())
        .tcp_connector(first_tcp.clone())
        .route_database(database.clone())
        .build()
        .unwrap();
    let second = builder(&[])
        .dns(resolver)
        .tcp_connector(second_tcp.clone())
        .route_database(database.clone())
        .build()
        .unwrap();
    let url = server.url_with_host("http", "a.test", "/");
    send(&mut stack(&first), get(&url)).await.unwrap();
    assert_eq!(first_tcp.attempts().len(), 2);
    assert_eq!(database.len(), 1);
    send(&mut stack(&second), get(&url)).await.unwrap();
    assert_eq!(second_tcp.attempted_addrs(), [at(LOCALHOST, &server)]);
}

#[tokio::test]
async fn a_postponed_route_is_still_tried_when_nothing_else_is_left_and_forgiven_when_it_works() {
    let server = server().await;
    let database = RouteDatabase::new();
    let resolver = dns(&[("a.test", &[REFUSING])]);
    let refusing = builder(&[])
        .dns(resolver.clone())
        .route_database(database.clone())
        .build()
        .unwrap();
    let url = server.url_with_host("http", "a.test", "/");
    let error = send(&mut stack(&refusing), get(&url)).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::Connect, "{error:?}");
    assert_eq!(database.len(), 1);

    // The same route, now reachable (the connector sends it to the server).
    let tcp = ScriptedTcp::new(
        &[(REFUSING, Plan::Forward(server.socket_addr()))],
        Plan::System,
    );
    let working = builder(&[])
        .dns(resolver)
        .tcp_connector(tcp.clone())
        .route_database(database.clone())
        .build()
        .unwrap();
    assert_eq!(
        send(&mut stack(&working), get(&url)).await.unwrap().body,
        "ok"
    );
    assert_eq!(tcp.attempted_addrs(), [at(REFUSING, &server)]);
    assert!(database.is_empty());
}

#[tokio::test]
async fn when_every_address_refuses_the_error_names_each_route() {
    let server = server().await;
    let pool = ConnectionPool::default();
    let layer = builder(&[])
        .dns(dns(&[("a.test", &[REFUSING, REFUSING_TOO])]))
        .pool(pool.clone())
        .build()
        .unwrap();
    let url = server.url_with_host("http", "a.test", "/");
    let events = Arc::new(Events::default());
    let error = send(&mut stack(&layer), get_with(&url, events.clone()))
        .await
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Connect, "{error:?}");
    let port = server.port();
    assert!(
        error
            .message()
            .contains(&format!("Failed to connect to 127.0.0.4:{port}")),
        "{error}"
    );
    assert_eq!(error.recovered().len(), 1, "{error:?}");
    assert!(
        error.recovered()[0]
            .message()
            .contains(&format!("127.0.0.3:{port}")),
        "{error:?}"
    );
    assert!(error.to_string().contains("a.test"), "{error}");
    assert_eq!(
        events.connect_failures(),
        [
            (at(REFUSING, &server), ErrorKind::Connect),
            (at(REFUSING_TOO, &server), ErrorKind::Connect)
        ]
    );
    assert_eq!(layer.route_database().len(), 2);
    assert_eq!(pool.connection_count(), 0);
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_a_dns_error_naming_it() {
    let layer = builder(&[]).build().unwrap();
    let events = Arc::new(Events::default());
    let error = send(
        &mut stack(&layer),
        get_with("http://nowhere.test/", events.clone()),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(error.kind(), ErrorKind::Dns, "{error:?}");
    assert!(error.to_string().contains("nowhere.test"), "{error}");
    assert_eq!(
        events.take(),
        ["ProxySelectStart", "ProxySelectEnd", "DnsStart"]
    );
}

// ---- Happy eyeballs ----

#[tokio::test(start_paused = true)]
async fn happy_eyeballs_starts_the_second_attempt_after_250ms_and_drops_the_loser() {
    let server = server().await;
    let tcp = ScriptedTcp::new(
        &[(LOOPBACK_2, Plan::Blackhole)],
        Plan::Forward(server.socket_addr()),
    );
    let layer = builder(&[])
        .dns(dns(&[("a.test", &[LOOPBACK_2, LOCALHOST])]))
        .tcp_connector(tcp.clone())
        .connect_timeout(None)
        .read_timeout(None)
        .build()
        .unwrap();
    let events = Arc::new(Events::default());
    let url = server.url_with_host("http", "a.test", "/");
    let got = send(&mut stack(&layer), get_with(&url, events.clone()))
        .await
        .unwrap();
    assert_eq!(got.body, "ok");
    assert_eq!(got.info.route().socket_addr(), at(LOCALHOST, &server));
    assert_eq!(
        tcp.attempts(),
        [
            attempt(LOOPBACK_2, &server, 0),
            attempt(LOCALHOST, &server, 250)
        ]
    );
    // The blackholed attempt was dropped when the second won: its socket is gone.
    assert_eq!(tcp.blackholes_dropped(), 1);
    assert_eq!(
        events.connect_starts(),
        [at(LOOPBACK_2, &server), at(LOCALHOST, &server)]
    );
    assert_eq!(
        events.connect_failures(),
        [(at(LOOPBACK_2, &server), ErrorKind::Canceled)]
    );
    assert_eq!(events.connect_ends().len(), 1);
    // A loser is not a failed route.
    assert!(layer.route_database().is_empty());
    assert_eq!(server.connection_count(), 1);
}

#[tokio::test(start_paused = true)]
async fn happy_eyeballs_tries_ipv6_first_and_a_new_address_every_250ms() {
    let server = server().await;
    let tcp = ScriptedTcp::new(
        &[(DOC_V4_B, Plan::Forward(server.socket_addr()))],
        Plan::Blackhole,
    );
    let layer = builder(&[])
        .dns(dns(&[("a.test", &[DOC_V4_A, DOC_V4_B, DOC_V6])]))
        .tcp_connector(tcp.clone())
        .connect_timeout(None)
        .read_timeout(None)
        .build()
        .unwrap();
    let url = server.url_with_host("http", "a.test", "/");
    let got = send(&mut stack(&layer), get(&url)).await.unwrap();
    assert_eq!(got.info.route().socket_addr(), at(DOC_V4_B, &server));
    assert_eq!(
        tcp.attempts(),
        [
            attempt(DOC_V6, &server, 0),
            attempt(DOC_V4_A, &server, 250),
            attempt(DOC_V4_B, &server, 500)
        ]
    );
    assert_eq!(tcp.blackholes_dropped(), 2);
}

#[tokio::test(start_paused = true)]
async fn without_fast_fallback_addresses_are_tried_one_at_a_time_in_dns_order() {
    let server = server().await;
    let tcp = ScriptedTcp::new(
        &[
            (DOC_V4_A, Plan::RefuseAfter(Duration::from_secs(1))),
            (DOC_V6, Plan::Forward(server.socket_addr())),
        ],
        Plan::Blackhole,
    );
    let layer = builder(&[])
        .dns(dns(&[("a.test", &[DOC_V4_A, DOC_V6])]))
        .tcp_connector(tcp.clone())
        .fast_fallback(false)
        .connect_timeout(None)
        .read_timeout(None)
        .build()
        .unwrap();
    let events = Arc::new(Events::default());
    let url = server.url_with_host("http", "a.test", "/");
    let got = send(&mut stack(&layer), get_with(&url, events.clone()))
        .await
        .unwrap();
    assert_eq!(got.info.route().socket_addr(), at(DOC_V6, &server));
    // No race, and no IPv6 first: the IPv4 address (first in DNS order) is waited for until it
    // fails, a second later.
    assert_eq!(
        tcp.attempts(),
        [
            attempt(DOC_V4_A, &server, 0),
            attempt(DOC_V6, &server, 1000)
        ]
    );
    assert_eq!(
        events.connect_failures(),
        [(at(DOC_V4_A, &server), ErrorKind::Connect)]
    );
    assert_eq!(layer.route_database().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_refusal_starts_the_next_attempt_at_once_unless_another_is_in_flight() {
    let server = server().await;
    let tcp = ScriptedTcp::new(
        &[
            (REFUSING, Plan::Refuse),
            (DOC_V4_A, Plan::Blackhole),
            (REFUSING_TOO, Plan::Refuse),
        ],
        Plan::Forward(server.socket_addr()),
    );
    let layer = builder(&[])
        .dns(dns(&[(
            "a.test",
            &[REFUSING, DOC_V4_A, REFUSING_TOO, DOC_V4_B],
        )]))
        .tcp_connector(tcp.clone())
        .connect_timeout(None)
        .read_timeout(None)
        .build()
        .unwrap();
    let url = server.url_with_host("http", "a.test", "/");
    let got = send(&mut stack(&layer), get(&url)).await.unwrap();
    assert_eq!(got.info.route().socket_addr(), at(DOC_V4_B, &server));
    // The first refusal leaves nothing in flight: the next attempt starts at once. The second
    // comes while the blackholed attempt is still in flight: the next one waits for its turn,
    // 250 ms after the last start (OkHttp's FastFallbackExchangeFinder).
    assert_eq!(
        tcp.attempts(),
        [
            attempt(REFUSING, &server, 0),
            attempt(DOC_V4_A, &server, 0),
            attempt(REFUSING_TOO, &server, 250),
            attempt(DOC_V4_B, &server, 500)
        ]
    );
    assert_eq!(tcp.blackholes_dropped(), 1);
    assert_eq!(layer.route_database().len(), 2);
}

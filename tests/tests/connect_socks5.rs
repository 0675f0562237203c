//! ConnectLayer through SOCKS5 proxies (the minimal proxy in `support/socks5.rs`): the origin's
//! name resolved by the proxy, username/password authentication and its refusals, TLS to the
//! origin through the proxy.

mod support;

use std::net::SocketAddr;

use oktower::{ConnectionPool, ErrorKind, Protocol, Proxy};
use oktower_testkit::{MockResponse, MockWebServer};
use support::socks5::{Socks5Record, Socks5Server};
use support::tls_world::TlsWorld;
use support::*;

fn socks5_proxy(addr: SocketAddr) -> Proxy {
    Proxy::socks5(addr.ip().to_string(), addr.port())
}

#[tokio::test]
async fn socks5_without_credentials_connects_by_host_name() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("via socks"));
    server.enqueue(MockResponse::new().body("again"));
    let socks = Socks5Server::builder()
        .host("a.test", server.socket_addr())
        .start()
        .await;
    let pool = ConnectionPool::default();
    let proxy = socks5_proxy(socks.addr());
    // The DNS knows no host: SOCKS5 resolves the name on the proxy's side.
    let layer = builder(&[])
        .pool(pool.clone())
        .proxy(proxy.clone())
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let url = server.url_with_host("http", "a.test", "/path");
    let got = send(&mut stack, get(&url)).await.unwrap();
    assert_eq!(got.body, "via socks");
    assert_eq!(got.info.route().proxy(), &proxy);
    assert_eq!(got.info.route().socket_addr(), socks.addr());
    assert_eq!(send(&mut stack, get(&url)).await.unwrap().body, "again");
    assert_eq!(
        socks.records(),
        [Socks5Record {
            methods: vec![0],
            credentials: None,
            target: Some(format!("a.test:{}", server.port())),
            target_is_domain: true,
        }]
    );
    let request = server.take_request(PATIENCE).await.unwrap();
    // A SOCKS5 connection is a plain connection to the origin: origin-form targets.
    assert_eq!(request.target(), "/path");
    let again = server.take_request(PATIENCE).await.unwrap();
    assert_eq!((again.connection_index(), again.exchange_index()), (0, 1));
    assert_eq!(pool.connection_count(), 1);
}

#[tokio::test]
async fn socks5_with_credentials_authenticates_with_username_and_password() {
    let server = MockWebServer::start().await.unwrap();
    server.enqueue(MockResponse::new().body("authenticated"));
    let socks = Socks5Server::builder()
        .require_credentials("user", "pass")
        .host("a.test", server.socket_addr())
        .start()
        .await;
    let proxy = socks5_proxy(socks.addr()).with_credentials("user", "pass");
    let layer = builder(&[]).proxy(proxy).build().unwrap();
    let mut stack = stack(&layer);
    let got = send(
        &mut stack,
        get(&server.url_with_host("http", "a.test", "/")),
    )
    .await
    .unwrap();
    assert_eq!(got.body, "authenticated");
    let records = socks.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].methods, [0, 2]);
    assert_eq!(
        records[0].credentials,
        Some(("user".to_owned(), "pass".to_owned()))
    );
}

#[tokio::test]
async fn socks5_rejecting_the_password_is_a_proxy_error() {
    let server = MockWebServer::start().await.unwrap();
    let socks = Socks5Server::builder()
        .require_credentials("user", "pass")
        .host("a.test", server.socket_addr())
        .start()
        .await;
    let pool = ConnectionPool::default();
    let proxy = socks5_proxy(socks.addr()).with_credentials("user", "wrong");
    let layer = builder(&[])
        .pool(pool.clone())
        .proxy(proxy)
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let error = send(
        &mut stack,
        get(&server.url_with_host("http", "a.test", "/")),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(error.kind(), ErrorKind::Proxy, "{error:?}");
    assert!(
        error
            .message()
            .contains("rejected the username and password"),
        "{error}"
    );
    assert_eq!(
        socks.records()[0].credentials,
        Some(("user".to_owned(), "wrong".to_owned()))
    );
    assert_eq!(server.connection_count(), 0);
    assert_eq!(pool.connection_count(), 0);
}

#[tokio::test]
async fn socks5_requiring_credentials_refuses_a_client_without_them() {
    let server = MockWebServer::start().await.unwrap();
    let socks = Socks5Server::builder()
        .require_credentials("user", "pass")
        .host("a.test", server.socket_addr())
        .start()
        .await;
    let layer = builder(&[])
        .proxy(socks5_proxy(socks.addr()))
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let error = send(
        &mut stack,
        get(&server.url_with_host("http", "a.test", "/")),
    )
    .await
    .err()
    .unwrap();
    assert_eq!(error.kind(), ErrorKind::Proxy, "{error:?}");
    assert!(
        error
            .message()
            .contains("may require a username and password"),
        "{error}"
    );
    assert_eq!(socks.records()[0].methods, [0]);
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test]
async fn socks5_failing_to_reach_the_host_is_a_proxy_error_naming_it() {
    let socks = Socks5Server::builder().start().await;
    let layer = builder(&[])
        .proxy(socks5_proxy(socks.addr()))
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let error = send(&mut stack, get("http://unknown.test:8080/"))
        .await
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Proxy, "{error:?}");
    assert!(error.message().contains("unknown.test:8080"), "{error}");
    assert_eq!(
        socks.records()[0].target.as_deref(),
        Some("unknown.test:8080")
    );
}

#[tokio::test]
async fn https_through_socks5_runs_tls_with_the_origin() {
    let world = TlsWorld::origin().await;
    let socks = Socks5Server::builder()
        .host("a.test", world.server.socket_addr())
        .start()
        .await;
    let proxy = socks5_proxy(socks.addr());
    let mut stack = world.stack(|b| b.proxy(proxy));
    let got = send(&mut stack, get(&world.url())).await.unwrap();
    assert_eq!(got.body, "origin");
    assert_eq!(got.info.protocol(), Protocol::Http2);
    assert!(!got.info.route().requires_tunnel());
    let request = world.next().await;
    // No CONNECT: the SOCKS5 proxy did the tunnelling.
    assert_eq!(request.method(), "GET");
    assert_eq!(request.sni(), Some("a.test"));
    assert_eq!(
        socks.records()[0].target,
        Some(format!("a.test:{}", world.server.port()))
    );
}

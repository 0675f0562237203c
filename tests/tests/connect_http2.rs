//! ConnectLayer + CallServer over TLS and HTTP/2: sharing, the stream limit, coalescing, and
//! certificate failures.

mod support;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use oktower::{
    CertificatePinner, ConnectionPool, ErrorKind, FixedProxy, Protocol, Proxy, TlsConfig,
};
use oktower_testkit::{MockResponse, MockWebServer, ProxyMode, TestCertificates};
use support::*;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const OTHER_LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

const HOSTS: [&str; 3] = ["a.test", "b.test", "*.wild.test"];

struct World {
    server: MockWebServer,
    certificates: TestCertificates,
    pool: ConnectionPool,
}

impl World {
    async fn start(
        configure: impl FnOnce(
            oktower_testkit::MockWebServerBuilder,
        ) -> oktower_testkit::MockWebServerBuilder,
    ) -> World {
        let certificates = TestCertificates::for_hosts(&HOSTS).unwrap();
        let builder = MockWebServer::builder()
            .tls(certificates.server_tls())
            .default_response(MockResponse::new().body("ok"));
        let server = configure(builder).start().await.unwrap();
        World {
            server,
            certificates,
            pool: ConnectionPool::default(),
        }
    }

    fn tls(&self) -> oktower::TlsConfigBuilder {
        TlsConfig::builder()
            .without_platform_roots()
            .add_root_certificate(self.certificates.root().certificate_der().clone())
    }

    fn stack(
        &self,
        hosts: &[(&str, IpAddr)],
        configure: impl FnOnce(oktower::ConnectLayerBuilder) -> oktower::ConnectLayerBuilder,
    ) -> Stack {
        let layer = configure(
            builder(hosts)
                .pool(self.pool.clone())
                .tls(self.tls().build().unwrap()),
        )
        .build()
        .unwrap();
        stack(&layer)
    }

    fn url(&self, host: &str) -> String {
        self.server.url_with_host("https", host, "/")
    }
}

#[tokio::test]
async fn concurrent_requests_to_one_address_share_one_http2_connection() {
    let world = World::start(|b| b).await;
    let stack = world.stack(&[("a.test", LOCALHOST)], |b| b);
    let mut tasks = Vec::new();
    for _ in 0..256 {
        let mut stack = stack.clone();
        let url = world.url("a.test");
        tasks.push(tokio::spawn(
            async move { send(&mut stack, get(&url)).await },
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let got = task.await.unwrap().unwrap();
        assert_eq!(got.body, "ok");
        assert_eq!(got.info.protocol(), Protocol::Http2);
        ids.insert(got.info.id());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(world.server.connection_count(), 1);
    assert_eq!(world.pool.connection_count(), 1);
    assert_eq!(world.pool.idle_connection_count(), 1);
}

#[tokio::test]
async fn a_saturated_connection_makes_the_next_request_open_another() {
    let world = World::start(|b| {
        b.http2_max_concurrent_streams(2).default_response(
            MockResponse::new()
                .body("slow")
                .headers_delay(Duration::from_millis(300)),
        )
    })
    .await;
    let stack = world.stack(&[("a.test", LOCALHOST)], |b| b);
    let mut tasks = Vec::new();
    for _ in 0..3 {
        let mut stack = stack.clone();
        let url = world.url("a.test");
        tasks.push(tokio::spawn(
            async move { send(&mut stack, get(&url)).await },
        ));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap().unwrap().info.id());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(world.server.connection_count(), 2);
    assert_eq!(world.pool.connection_count(), 2);
}

#[tokio::test]
async fn hosts_covered_by_the_certificate_coalesce_onto_one_connection() {
    let world = World::start(|b| b).await;
    let hosts = [
        ("a.test", LOCALHOST),
        ("b.test", LOCALHOST),
        ("www.wild.test", LOCALHOST),
    ];
    let mut stack = world.stack(&hosts, |b| b);
    let first = send(&mut stack, get(&world.url("a.test"))).await.unwrap();
    assert!(!first.info.is_coalesced());
    for host in ["b.test", "www.wild.test"] {
        let got = send(&mut stack, get(&world.url(host))).await.unwrap();
        assert_eq!(got.info.id(), first.info.id(), "{host}");
        assert!(got.info.is_coalesced(), "{host}");
    }
    assert_eq!(world.server.connection_count(), 1);
    for _ in 0..3 {
        let request = world.server.take_request(PATIENCE).await.unwrap();
        assert_eq!(request.connection_index(), 0);
        assert_eq!(request.sni(), Some("a.test"));
    }
}

#[tokio::test]
async fn a_host_outside_the_certificate_is_not_coalesced() {
    let world = World::start(|b| b).await;
    let mut stack = world.stack(&[("a.test", LOCALHOST), ("c.test", LOCALHOST)], |b| b);
    send(&mut stack, get(&world.url("a.test"))).await.unwrap();
    // Not coalesced: a connection of its own is attempted, and the certificate fails it.
    let error = send(&mut stack, get(&world.url("c.test")))
        .await
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
    assert!(error.to_string().contains("c.test"), "{error}");
    assert_eq!(world.server.connection_count(), 2);
    assert_eq!(world.pool.connection_count(), 1);
}

#[tokio::test]
async fn a_host_resolving_to_another_address_is_not_coalesced() {
    let world = World::start(|b| b).await;
    let hosts = [("a.test", LOCALHOST), ("www.wild.test", OTHER_LOOPBACK)];
    let tcp = Arc::new(AllTo(world.server.socket_addr()));
    let mut stack = world.stack(&hosts, |b| b.tcp_connector(tcp));
    let first = send(&mut stack, get(&world.url("a.test"))).await.unwrap();
    let second = send(&mut stack, get(&world.url("www.wild.test")))
        .await
        .unwrap();
    assert_ne!(first.info.id(), second.info.id());
    assert!(!second.info.is_coalesced());
    assert_eq!(world.server.connection_count(), 2);
}

#[tokio::test]
async fn cleartext_http2_connections_are_never_coalesced() {
    // h2c with prior knowledge: same IP and port, no certificate to cover another host.
    let server = h2c_server("ok").await;
    let pool = ConnectionPool::default();
    let layer = builder(&[("a.test", LOCALHOST), ("b.test", LOCALHOST)])
        .protocols(&[Protocol::H2PriorKnowledge])
        .pool(pool.clone())
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let url = |host| server.url_with_host("http", host, "/");
    let first = send(&mut stack, get(&url("a.test"))).await.unwrap();
    let second = send(&mut stack, get(&url("b.test"))).await.unwrap();
    assert_eq!(first.info.protocol(), Protocol::H2PriorKnowledge);
    assert_eq!(second.body, "ok");
    assert_ne!(first.info.id(), second.info.id());
    assert!(!second.info.is_coalesced());
    assert_eq!(server.connection_count(), 2);
    assert_eq!(pool.connection_count(), 2);
}

#[tokio::test]
async fn a_pin_mismatch_prevents_coalescing_and_fails_the_host() {
    let world = World::start(|b| b).await;
    let wrong_pin = format!("sha256/{}", "A".repeat(43) + "=");
    let pinner = CertificatePinner::builder()
        .add("b.test", [wrong_pin])
        .build()
        .unwrap();
    let layer = builder(&[("a.test", LOCALHOST), ("b.test", LOCALHOST)])
        .pool(world.pool.clone())
        .tls(world.tls().certificate_pinner(pinner).build().unwrap())
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    send(&mut stack, get(&world.url("a.test"))).await.unwrap();
    let error = send(&mut stack, get(&world.url("b.test")))
        .await
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
    assert!(
        error.to_string().contains("Certificate pinning failure!"),
        "{error}"
    );
    assert_eq!(world.server.connection_count(), 2);
}

#[tokio::test]
async fn connections_through_a_proxy_are_never_coalesced() {
    let world = World::start(|b| b.proxy_mode(ProxyMode::new())).await;
    let proxy = world.server.proxy_address();
    let selector = Arc::new(FixedProxy(Proxy::http(
        proxy.ip().to_string(),
        proxy.port(),
    )));
    let hosts = [("a.test", LOCALHOST), ("b.test", LOCALHOST)];
    let mut stack = world.stack(&hosts, |b| b.proxy_selector(selector));
    let first = send(&mut stack, get(&world.url("a.test"))).await.unwrap();
    let second = send(&mut stack, get(&world.url("b.test"))).await.unwrap();
    assert_eq!(first.body, "ok");
    assert_ne!(first.info.id(), second.info.id());
    assert_eq!(first.info.protocol(), Protocol::Http2);
    assert_eq!(world.server.connection_count(), 2);
}

#[tokio::test]
async fn an_untrusted_certificate_fails_with_a_tls_error_naming_the_host() {
    let world = World::start(|b| b).await;
    let other = TestCertificates::for_hosts(&["a.test"]).unwrap();
    let layer = builder(&[("a.test", LOCALHOST)])
        .pool(world.pool.clone())
        .tls(
            TlsConfig::builder()
                .without_platform_roots()
                .add_root_certificate(other.root().certificate_der().clone())
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let error = send(&mut stack, get(&world.url("a.test")))
        .await
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Tls, "{error}");
    assert!(error.to_string().contains("a.test"), "{error}");
    assert_eq!(world.pool.connection_count(), 0);
}

#[tokio::test]
async fn http1_over_tls_when_the_server_only_speaks_it() {
    let world = World::start(|b| b.protocols(&[oktower_testkit::Protocol::Http11])).await;
    let mut stack = world.stack(&[("a.test", LOCALHOST)], |b| b);
    let got = send(&mut stack, get(&world.url("a.test"))).await.unwrap();
    assert_eq!(got.info.protocol(), Protocol::Http11);
    assert!(got.info.handshake().is_some());
    send(&mut stack, get(&world.url("a.test"))).await.unwrap();
    assert_eq!(world.server.connection_count(), 1);
}

#[tokio::test]
async fn concurrent_http1_over_tls_connect_on_their_own_after_alpn() {
    let world = World::start(|b| {
        b.protocols(&[oktower_testkit::Protocol::Http11])
            .default_response(
                MockResponse::new()
                    .body("slow")
                    .headers_delay(Duration::from_millis(200)),
            )
    })
    .await;
    let stack = world.stack(&[("a.test", LOCALHOST)], |b| b);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let mut stack = stack.clone();
        let url = world.url("a.test");
        tasks.push(tokio::spawn(
            async move { send(&mut stack, get(&url)).await },
        ));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap().body, "slow");
    }
    assert_eq!(world.server.connection_count(), 4);
    assert_eq!(world.pool.connection_count(), 4);
}

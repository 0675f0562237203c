//! ConnectLayer through HTTP proxies: absolute form for `http:`, CONNECT tunnels for `https:`
//! and HTTP/2 with prior knowledge, proxy authentication (preemptive and on `407`), and proxies
//! that refuse. SOCKS5 is in `connect_socks5.rs`.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use http::HeaderValue;
use oktower::{
    BasicProxyAuth, ConnectionPool, Error, ErrorKind, FixedProxy, Protocol, Proxy,
    ProxyAuthenticator, ProxySelector, Route, is_preemptive,
};
use oktower_testkit::{MockResponse, MockWebServer, ProxyMode};
use support::connect_proxy::{Answer, ConnectProxy};
use support::tls_world::TlsWorld;
use support::*;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// `Basic base64("user:pass")`.
const USER_PASS: &str = "Basic dXNlcjpwYXNz";
const CHALLENGE: &str = "Basic realm=\"proxy\"";

fn http_proxy(addr: SocketAddr) -> Proxy {
    Proxy::http(addr.ip().to_string(), addr.port())
}

/// Answers only real `407`s (never preemptively), with a fixed value, and records each
/// challenge it was shown.
struct ReactiveAuth {
    answer: &'static str,
    challenges: Mutex<Vec<(u16, Option<String>, Proxy)>>,
}

impl ReactiveAuth {
    fn new(answer: &'static str) -> Arc<ReactiveAuth> {
        Arc::new(ReactiveAuth {
            answer,
            challenges: Mutex::new(Vec::new()),
        })
    }

    fn challenges(&self) -> Vec<(u16, Option<String>, Proxy)> {
        self.challenges.lock().unwrap().clone()
    }
}

impl ProxyAuthenticator for ReactiveAuth {
    fn authenticate(&self, route: &Route, response: &http::response::Parts) -> Option<HeaderValue> {
        if is_preemptive(response) {
            return None;
        }
        let challenge = response
            .headers
            .get("proxy-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        self.challenges.lock().unwrap().push((
            response.status.as_u16(),
            challenge,
            route.proxy().clone(),
        ));
        Some(HeaderValue::from_static(self.answer))
    }
}

// ---- HTTP proxies, http: ----

#[tokio::test]
async fn http_through_an_http_proxy_sends_absolute_form_targets_and_reuses_the_connection() {
    let server = MockWebServer::builder()
        .proxy_mode(ProxyMode::new())
        .start()
        .await
        .unwrap();
    server.enqueue(MockResponse::new().body("first"));
    server.enqueue(MockResponse::new().body("second"));
    let pool = ConnectionPool::default();
    let proxy = http_proxy(server.proxy_address());
    let selector = Arc::new(FixedProxy(proxy.clone()));
    // The DNS knows no host: the origin's name goes to the proxy unresolved.
    let layer = builder(&[])
        .pool(pool.clone())
        .proxy_selector(selector)
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let events = Arc::new(Events::default());

    let got = send(
        &mut stack,
        get_with("http://origin.test:8080/a/b?c=d", events.clone()),
    )
    .await
    .unwrap();
    assert_eq!(got.body, "first");
    assert_eq!(got.info.protocol(), Protocol::Http11);
    assert_eq!(got.info.route().proxy(), &proxy);
    assert_eq!(got.info.route().socket_addr(), server.proxy_address());
    assert_eq!(
        events.take()[..6],
        [
            "ProxySelectStart",
            "ProxySelectEnd",
            "ConnectStart",
            "ConnectEnd",
            "ConnectionAcquired",
            "RequestHeadersStart",
        ]
    );
    let second = send(&mut stack, get("http://origin.test:8080/again"))
        .await
        .unwrap();
    assert_eq!(second.body, "second");
    assert_eq!(second.info.id(), got.info.id());

    let first = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(first.method(), "GET");
    assert_eq!(first.target(), "http://origin.test:8080/a/b?c=d");
    assert_eq!((first.connection_index(), first.exchange_index()), (0, 0));
    let again = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(again.target(), "http://origin.test:8080/again");
    assert_eq!((again.connection_index(), again.exchange_index()), (0, 1));
    assert_eq!(pool.connection_count(), 1);
}

#[tokio::test]
async fn http_through_a_proxy_with_credentials_sends_them_with_each_request() {
    let server = MockWebServer::builder()
        .proxy_mode(ProxyMode::new().require_auth(USER_PASS, CHALLENGE))
        .default_response(MockResponse::new().body("proxied"))
        .start()
        .await
        .unwrap();
    let proxy = http_proxy(server.proxy_address()).with_credentials("user", "pass");
    let layer = builder(&[]).proxy(proxy).build().unwrap();
    let mut stack = stack(&layer);
    let got = send(&mut stack, get("http://origin.test/")).await.unwrap();
    assert_eq!(
        got.status, 200,
        "the proxy wanted credentials: {}",
        got.body
    );
    assert_eq!(got.body, "proxied");
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.target(), "http://origin.test/");
    assert_eq!(request.header("proxy-authorization"), Some(USER_PASS));
}

// ---- HTTP proxies, https: (CONNECT tunnels) ----

#[tokio::test]
async fn https_through_an_http_proxy_tunnels_and_keeps_application_headers_inside() {
    let world = TlsWorld::start(ProxyMode::new()).await;
    let proxy = world.proxy();
    let mut stack = world.stack(|b| {
        b.proxy(proxy.clone())
            .user_agent(HeaderValue::from_static("tunnel-agent/1"))
    });
    let mut request = get(&world.url());
    for (name, value) in [
        ("authorization", "Bearer secret"),
        ("cookie", "session=1"),
        ("x-application", "yes"),
        ("user-agent", "app-agent/2"),
    ] {
        request
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    let got = send(&mut stack, request).await.unwrap();
    assert_eq!(got.body, "origin");
    assert_eq!(got.info.protocol(), Protocol::Http2);
    assert!(got.info.handshake().is_some());
    assert_eq!(got.info.route().proxy(), &proxy);
    assert!(got.info.route().requires_tunnel());

    let authority = format!("a.test:{}", world.server.port());
    let connect = world.next().await;
    assert_eq!(connect.method(), "CONNECT");
    assert_eq!(connect.target(), authority);
    assert_eq!(connect.header("host"), Some(authority.as_str()));
    assert_eq!(connect.header("user-agent"), Some("tunnel-agent/1"));
    assert_eq!(connect.header("proxy-connection"), Some("Keep-Alive"));
    for name in ["authorization", "cookie", "x-application"] {
        assert_eq!(connect.header(name), None, "{name} leaked into CONNECT");
    }
    assert_eq!(connect.header("proxy-authorization"), None);
    let inner = world.next().await;
    assert_eq!(inner.method(), "GET");
    assert_eq!(inner.path(), "/");
    assert!(inner.is_tls());
    assert_eq!(inner.sni(), Some("a.test"));
    assert_eq!(inner.header("x-application"), Some("yes"));
    assert_eq!(inner.header("authorization"), Some("Bearer secret"));
    assert_eq!(inner.connection_index(), connect.connection_index());
    assert_eq!(world.server.connection_count(), 1);
}

#[tokio::test]
async fn preemptive_proxy_credentials_open_the_tunnel_without_a_407() {
    let world = TlsWorld::start(ProxyMode::new().require_auth(USER_PASS, CHALLENGE)).await;
    let proxy = world.proxy().with_credentials("user", "pass");
    let mut stack = world.stack(|b| b.proxy(proxy));
    let got = send(&mut stack, get(&world.url())).await.unwrap();
    assert_eq!(got.body, "origin");
    let connect = world.next().await;
    assert_eq!(connect.method(), "CONNECT");
    assert_eq!(connect.header("proxy-authorization"), Some(USER_PASS));
    let inner = world.next().await;
    assert_eq!(inner.method(), "GET");
    // Inside the tunnel the origin never sees the proxy's credentials.
    assert_eq!(inner.header("proxy-authorization"), None);
    assert_eq!((inner.connection_index(), inner.exchange_index()), (0, 1));
    assert_eq!(world.server.connection_count(), 1);
}

#[tokio::test]
async fn basic_proxy_auth_answers_the_preemptive_challenge() {
    let world = TlsWorld::start(ProxyMode::new().require_auth(USER_PASS, CHALLENGE)).await;
    let proxy = world.proxy();
    let mut stack = world.stack(|b| {
        b.proxy(proxy)
            .proxy_authenticator(Arc::new(BasicProxyAuth::new("user", "pass")))
    });
    send(&mut stack, get(&world.url())).await.unwrap();
    let connect = world.next().await;
    assert_eq!(connect.method(), "CONNECT");
    assert_eq!(connect.header("proxy-authorization"), Some(USER_PASS));
    assert_eq!(world.next().await.method(), "GET");
    assert_eq!(world.server.connection_count(), 1);
}

#[tokio::test]
async fn a_407_is_answered_by_the_authenticator_on_the_same_connection() {
    let world = TlsWorld::start(ProxyMode::new().require_auth(USER_PASS, CHALLENGE)).await;
    let proxy = world.proxy();
    let auth = ReactiveAuth::new(USER_PASS);
    let mut stack = world.stack(|b| b.proxy(proxy.clone()).proxy_authenticator(auth.clone()));
    let events = Arc::new(Events::default());
    let got = send(&mut stack, get_with(&world.url(), events.clone()))
        .await
        .unwrap();
    assert_eq!(got.body, "origin");
    assert_eq!(
        auth.challenges(),
        [(407, Some(CHALLENGE.to_owned()), proxy.clone())]
    );
    let refused = world.next().await;
    assert_eq!(refused.method(), "CONNECT");
    assert_eq!(refused.header("proxy-authorization"), None);
    let admitted = world.next().await;
    assert_eq!(admitted.method(), "CONNECT");
    assert_eq!(admitted.header("proxy-authorization"), Some(USER_PASS));
    let inner = world.next().await;
    assert_eq!(inner.method(), "GET");
    let indexes: Vec<(usize, usize)> = [&refused, &admitted, &inner]
        .iter()
        .map(|r| (r.connection_index(), r.exchange_index()))
        .collect();
    assert_eq!(indexes, [(0, 0), (0, 1), (0, 2)]);
    assert_eq!(world.server.connection_count(), 1);
    let proxy_addr = world.server.proxy_address();
    assert_eq!(events.connect_starts(), [proxy_addr]);
    assert_eq!(events.connect_ends(), [(proxy_addr, Some(Protocol::Http2))]);
}

#[tokio::test]
async fn a_407_with_connection_close_retries_on_a_new_connection() {
    let proxy_mode = ProxyMode::new()
        .require_auth(USER_PASS, CHALLENGE)
        .close_on_auth_failure(true);
    let world = TlsWorld::start(proxy_mode).await;
    let proxy = world.proxy();
    let auth = ReactiveAuth::new(USER_PASS);
    let mut stack = world.stack(|b| b.proxy(proxy).proxy_authenticator(auth.clone()));
    let events = Arc::new(Events::default());
    let got = send(&mut stack, get_with(&world.url(), events.clone()))
        .await
        .unwrap();
    assert_eq!(got.body, "origin");
    assert_eq!(auth.challenges().len(), 1);
    let refused = world.next().await;
    let admitted = world.next().await;
    let inner = world.next().await;
    assert_eq!(
        [&refused, &admitted, &inner].map(|r| (
            r.method().to_owned(),
            r.connection_index(),
            r.exchange_index()
        )),
        [
            ("CONNECT".to_owned(), 0, 0),
            ("CONNECT".to_owned(), 1, 0),
            ("GET".to_owned(), 1, 1)
        ]
    );
    assert_eq!(admitted.header("proxy-authorization"), Some(USER_PASS));
    assert_eq!(world.server.connection_count(), 2);
    // The first connection ends without a protocol (OkHttp ends that plan), the second with h2.
    let proxy_addr = world.server.proxy_address();
    assert_eq!(events.connect_starts(), [proxy_addr, proxy_addr]);
    assert_eq!(
        events.connect_ends(),
        [(proxy_addr, None), (proxy_addr, Some(Protocol::Http2))]
    );
    assert_eq!(world.pool.connection_count(), 1);
}

#[tokio::test]
async fn a_407_without_an_authenticator_is_a_proxy_error() {
    let world = TlsWorld::start(ProxyMode::new().require_auth(USER_PASS, CHALLENGE)).await;
    let proxy = world.proxy();
    let mut stack = world.stack(|b| b.proxy(proxy));
    let events = Arc::new(Events::default());
    let error = send(&mut stack, get_with(&world.url(), events.clone()))
        .await
        .err()
        .unwrap();
    assert_eq!(error.kind(), ErrorKind::Proxy, "{error:?}");
    assert!(
        error
            .message()
            .contains("Failed to authenticate with proxy"),
        "{error}"
    );
    assert!(error.to_string().contains("a.test"), "{error}");
    let connect = world.next().await;
    assert_eq!(connect.method(), "CONNECT");
    assert_eq!(world.server.request_count(), 1);
    assert_eq!(world.pool.connection_count(), 0);
    assert_eq!(
        events.connect_failures(),
        [(world.server.proxy_address(), ErrorKind::Proxy)]
    );
}

/// Answers every challenge with credentials the proxy refuses, counting the challenges.
struct WrongAuth(Mutex<usize>);

impl ProxyAuthenticator for WrongAuth {
    fn authenticate(
        &self,
        _route: &Route,
        response: &http::response::Parts,
    ) -> Option<HeaderValue> {
        if !is_preemptive(response) {
            *self.0.lock().unwrap() += 1;
        }
        Some(HeaderValue::from_static("Basic d3Jvbmc6d3Jvbmc="))
    }
}

#[tokio::test]
async fn a_proxy_that_keeps_refusing_gets_at_most_21_connects() {
    let world = TlsWorld::start(ProxyMode::new().require_auth(USER_PASS, CHALLENGE)).await;
    let proxy = world.proxy();
    let auth = Arc::new(WrongAuth(Mutex::new(0)));
    let mut stack = world.stack(|b| b.proxy(proxy).proxy_authenticator(auth.clone()));
    let error = send(&mut stack, get(&world.url())).await.err().unwrap();
    assert!(
        error
            .message()
            .contains("Too many tunnel connections attempted: 21"),
        "{error:?}"
    );
    assert_eq!(world.server.request_count(), 21);
    assert_eq!(*auth.0.lock().unwrap(), 21);
    assert_eq!(world.pool.connection_count(), 0);
}

/// Records the proxies it was told failed.
struct RecordingSelector {
    proxies: Vec<Proxy>,
    failed: Mutex<Vec<(Proxy, ErrorKind, String)>>,
}

impl ProxySelector for RecordingSelector {
    fn select(&self, _uri: &http::Uri) -> Vec<Proxy> {
        self.proxies.clone()
    }

    fn connect_failed(&self, _uri: &http::Uri, proxy: &Proxy, error: &Error) {
        self.failed
            .lock()
            .unwrap()
            .push((proxy.clone(), error.kind(), error.message().to_owned()));
    }
}

#[tokio::test]
async fn a_proxy_answering_connect_with_500_is_a_proxy_error_and_nothing_is_pooled() {
    let refusing = ConnectProxy::start(Answer::Status(500)).await;
    let proxy = http_proxy(refusing.addr());
    let selector = Arc::new(RecordingSelector {
        proxies: vec![proxy.clone()],
        failed: Mutex::new(Vec::new()),
    });
    let pool = ConnectionPool::default();
    let layer = builder(&[])
        .pool(pool.clone())
        .proxy_selector(selector.clone())
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let mut request = get("https://a.test/");
    request
        .headers_mut()
        .insert("authorization", HeaderValue::from_static("Bearer secret"));
    let error = send(&mut stack, request).await.err().unwrap();
    assert_eq!(error.kind(), ErrorKind::Proxy, "{error:?}");
    assert!(
        error
            .message()
            .contains("Unexpected response code for CONNECT: 500"),
        "{error}"
    );
    assert!(error.to_string().contains("a.test"), "{error}");
    assert_eq!(pool.connection_count(), 0);
    assert_eq!(pool.idle_connection_count(), 0);
    assert_eq!(layer.route_database().len(), 1);
    let failed = selector.failed.lock().unwrap().clone();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!((&failed[0].0, failed[0].1), (&proxy, ErrorKind::Proxy));
    let heads = refusing.heads();
    assert_eq!(heads.len(), 1);
    assert!(
        heads[0].starts_with("CONNECT a.test:443 HTTP/1.1\r\n"),
        "{heads:?}"
    );
    assert!(!heads[0].to_ascii_lowercase().contains("authorization"));
}

#[tokio::test]
async fn after_a_refusing_proxy_the_next_proxy_is_tried() {
    let refusing = ConnectProxy::start(Answer::Status(500)).await;
    let world = TlsWorld::origin().await;
    let bad = http_proxy(refusing.addr());
    let selector = Arc::new(RecordingSelector {
        proxies: vec![bad.clone(), Proxy::Direct],
        failed: Mutex::new(Vec::new()),
    });
    let layer = builder(&[("a.test", LOCALHOST)])
        .pool(world.pool.clone())
        .tls(world.tls())
        .proxy_selector(selector.clone())
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let got = send(&mut stack, get(&world.url())).await.unwrap();
    assert_eq!(got.body, "origin");
    assert!(got.info.route().proxy().is_direct());
    assert_eq!(refusing.heads().len(), 1);
    let failed = selector.failed.lock().unwrap().clone();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, bad);
    // The direct request went straight to the origin.
    let request = world.next().await;
    assert_eq!(request.method(), "GET");
    assert_eq!(request.sni(), Some("a.test"));
}

#[tokio::test]
async fn http2_with_prior_knowledge_through_an_http_proxy_uses_a_tunnel() {
    let server = h2c_server("h2c").await;
    let tunnel = ConnectProxy::start(Answer::TunnelTo(server.socket_addr())).await;
    let layer = builder(&[])
        .proxy(http_proxy(tunnel.addr()))
        .protocols(&[Protocol::H2PriorKnowledge])
        .build()
        .unwrap();
    let mut stack = stack(&layer);
    let url = server.url_with_host("http", "a.test", "/inner");
    let got = send(&mut stack, get(&url)).await.unwrap();
    assert_eq!(got.body, "h2c");
    assert_eq!(got.info.protocol(), Protocol::H2PriorKnowledge);
    assert!(got.info.route().requires_tunnel());
    let heads = tunnel.heads();
    assert_eq!(heads.len(), 1);
    let expected = format!("CONNECT a.test:{} HTTP/1.1\r\n", server.port());
    assert!(heads[0].starts_with(&expected), "{heads:?}");
    let request = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(request.version(), http::Version::HTTP_2);
    // HTTP/2 requests carry the path as :path, never an absolute form.
    assert_eq!(request.path(), "/inner");
}

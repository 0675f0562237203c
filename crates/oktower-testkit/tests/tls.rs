//! TLS on the MockWebServer: SNI, ALPN lists, mTLS, bad certificates, handshake failure, and
//! TLS inside a proxy tunnel — observed with a rustls client.
#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oktower_testkit::{
    Fault, HeldCertificate, MockResponse, MockWebServer, Protocol, ProxyMode, TestCertificates,
};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use support::{PATIENCE, read_until, text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

async fn tls_connect(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    server_name: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    TlsConnector::from(config).connect(name, tcp).await
}

async fn get_over(stream: &mut TlsStream<TcpStream>) -> String {
    stream
        .write_all(b"GET /secure HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut response))
        .await
        .unwrap()
        .unwrap();
    text(&response)
}

#[tokio::test]
async fn http1_over_tls_records_sni() {
    let certificates = TestCertificates::localhost().unwrap();
    let server = MockWebServer::builder()
        .tls(certificates.server_tls())
        .start()
        .await
        .unwrap();
    assert!(server.url("/").starts_with("https://127.0.0.1:"));
    server.enqueue(MockResponse::new().body("secret"));
    let mut stream = tls_connect(
        server.socket_addr(),
        certificates.client_config(&[b"http/1.1"]),
        "localhost",
    )
    .await
    .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert!(get_over(&mut stream).await.ends_with("secret"));
    let request = server.take_request(PATIENCE).await.unwrap();
    assert!(request.is_tls());
    assert_eq!(request.sni(), Some("localhost"));
    assert_eq!(request.path(), "/secure");
}

#[tokio::test]
async fn connecting_by_ip_sends_no_sni() {
    let certificates = TestCertificates::localhost().unwrap();
    let server = MockWebServer::builder()
        .tls(certificates.server_tls())
        .start()
        .await
        .unwrap();
    let mut stream = tls_connect(
        server.socket_addr(),
        certificates.client_config(&[]),
        "127.0.0.1",
    )
    .await
    .unwrap();
    get_over(&mut stream).await;
    let request = server.take_request(PATIENCE).await.unwrap();
    assert!(request.is_tls());
    assert_eq!(request.sni(), None);
}

#[tokio::test]
async fn alpn_list_is_configurable() {
    let certificates = TestCertificates::localhost().unwrap();
    let both = certificates.client_config(&[b"h2", b"http/1.1"]);

    for (protocols, expected) in [
        (vec![Protocol::Http2, Protocol::Http11], &b"h2"[..]),
        (vec![Protocol::Http11, Protocol::Http2], &b"http/1.1"[..]),
        (vec![Protocol::Http11], &b"http/1.1"[..]),
        (vec![Protocol::Http2], &b"h2"[..]),
    ] {
        let server = MockWebServer::builder()
            .tls(certificates.server_tls())
            .protocols(&protocols)
            .start()
            .await
            .unwrap();
        let stream = tls_connect(server.socket_addr(), both.clone(), "localhost")
            .await
            .unwrap();
        assert_eq!(
            stream.get_ref().1.alpn_protocol(),
            Some(expected),
            "server offers {protocols:?}"
        );
    }

    // An h2-only server refuses a client that offers HTTP/1.1 only.
    let h2_only = MockWebServer::builder()
        .tls(certificates.server_tls())
        .protocols(&[Protocol::Http2])
        .start()
        .await
        .unwrap();
    let refused = tls_connect(
        h2_only.socket_addr(),
        certificates.client_config(&[b"http/1.1"]),
        "localhost",
    )
    .await;
    let error = refused.expect_err("no common protocol");
    assert!(
        error.to_string().contains("NoApplicationProtocol"),
        "{error}"
    );
}

#[tokio::test]
async fn fail_handshake_fault_sends_a_handshake_failure_alert() {
    let certificates = TestCertificates::localhost().unwrap();
    let server = MockWebServer::builder()
        .tls(certificates.server_tls())
        .start()
        .await
        .unwrap();
    server.enqueue(MockResponse::fault(Fault::FailHandshake));
    server.enqueue(MockResponse::new().body("second try"));
    let config = certificates.client_config(&[]);
    let error = tls_connect(server.socket_addr(), config.clone(), "localhost")
        .await
        .err()
        .unwrap();
    assert!(error.to_string().contains("HandshakeFailure"), "{error}");
    let bookkeeping = server.take_request(PATIENCE).await.unwrap();
    assert!(bookkeeping.failure().unwrap().contains("FailHandshake"));
    // The next connection handshakes normally.
    let mut stream = tls_connect(server.socket_addr(), config, "localhost")
        .await
        .unwrap();
    assert!(get_over(&mut stream).await.ends_with("second try"));
}

#[tokio::test]
async fn expired_and_not_yet_valid_certificates_are_rejected_by_rustls() {
    let certificates = TestCertificates::localhost().unwrap();
    let day = Duration::from_secs(24 * 60 * 60);
    let now = SystemTime::now();
    for (not_before, not_after, expected) in [
        (now - 2 * day, now - day, "expired"),
        (now + day, now + 2 * day, "not valid yet"),
    ] {
        let leaf = HeldCertificate::builder()
            .add_subject_alternative_name("localhost")
            .validity(not_before, not_after)
            .signed_by(certificates.root())
            .build()
            .unwrap();
        let server = MockWebServer::builder()
            .tls(leaf.server_tls(&[]))
            .start()
            .await
            .unwrap();
        let error = tls_connect(
            server.socket_addr(),
            certificates.client_config(&[]),
            "localhost",
        )
        .await
        .err()
        .unwrap();
        assert!(error.to_string().contains(expected), "{error}");
        assert!(
            server
                .take_request(Duration::from_millis(20))
                .await
                .is_none()
        );
    }
}

#[tokio::test]
async fn wrong_host_name_is_rejected() {
    let certificates = TestCertificates::for_hosts(&["api.example"]).unwrap();
    let server = MockWebServer::builder()
        .tls(certificates.server_tls())
        .start()
        .await
        .unwrap();
    let error = tls_connect(
        server.socket_addr(),
        certificates.client_config(&[]),
        "other.example",
    )
    .await
    .err()
    .unwrap();
    assert!(error.to_string().contains("not valid for name"), "{error}");
}

#[tokio::test]
async fn required_client_certificate_is_enforced() {
    let certificates = TestCertificates::localhost().unwrap();
    let tls = certificates
        .server_tls()
        .require_client_auth(vec![certificates.root().certificate_der().clone()]);
    let server = MockWebServer::builder().tls(tls).start().await.unwrap();
    server.enqueue(MockResponse::new().body("hello client"));

    let client = certificates.client_certificate("client").unwrap();
    let with_identity = certificates
        .client_config_with_identity(&[], &client)
        .unwrap();
    let mut stream = tls_connect(server.socket_addr(), with_identity, "localhost")
        .await
        .unwrap();
    assert!(get_over(&mut stream).await.ends_with("hello client"));

    // Without a certificate, the server aborts the handshake (TLS 1.3 reports it on first read).
    let outcome = match tls_connect(
        server.socket_addr(),
        certificates.client_config(&[]),
        "localhost",
    )
    .await
    {
        Err(error) => error.to_string(),
        Ok(mut stream) => {
            let _ = stream.write_all(b"GET / HTTP/1.1\r\n\r\n").await;
            let mut buf = Vec::new();
            match stream.read_to_end(&mut buf).await {
                Err(error) => error.to_string(),
                Ok(_) => format!("read {:?}", text(&buf)),
            }
        }
    };
    assert!(outcome.contains("CertificateRequired"), "{outcome}");
}

#[tokio::test]
async fn connect_tunnel_carries_tls_to_the_server_itself() {
    let certificates = TestCertificates::for_hosts(&["origin.example"]).unwrap();
    let server = MockWebServer::builder()
        .tls(certificates.server_tls())
        .protocols(&[Protocol::Http11])
        .proxy_mode(ProxyMode::new())
        .start()
        .await
        .unwrap();
    server.enqueue(MockResponse::new().body("through the tunnel"));

    let mut tcp = TcpStream::connect(server.proxy_address()).await.unwrap();
    tcp.write_all(b"CONNECT origin.example:443 HTTP/1.1\r\nHost: origin.example:443\r\n\r\n")
        .await
        .unwrap();
    let established = read_until(&mut tcp, b"\r\n\r\n").await;
    assert!(text(&established).starts_with("HTTP/1.1 200 "));
    let name = ServerName::try_from("origin.example").unwrap();
    let mut tls = TlsConnector::from(certificates.client_config(&[b"http/1.1"]))
        .connect(name, tcp)
        .await
        .unwrap();
    assert!(get_over(&mut tls).await.ends_with("through the tunnel"));

    let connect = server.take_request(PATIENCE).await.unwrap();
    assert_eq!(connect.method(), "CONNECT");
    assert!(!connect.is_tls());
    let inner = server.take_request(PATIENCE).await.unwrap();
    assert!(inner.is_tls());
    assert_eq!(inner.sni(), Some("origin.example"));
    assert_eq!(inner.path(), "/secure");
    assert_eq!((inner.connection_index(), inner.exchange_index()), (0, 1));
}

//! TLS end to end: `connect_tls` over loopback TCP against a MockWebServer serving TLS.
//!
//! Fake host names reach the server because the tests open the TCP connection themselves to
//! the server's socket address; the fake name is only used for SNI and certificate checks.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use oktower::{
    Address, CertificatePinner, Error, EventListener, Handshake, NoEvents, NoProxy, Protocol,
    Scheme, SystemDns, TlsConfig, TlsConfigBuilder, TlsVersion, connect_tls,
};
use oktower_testkit::{HeldCertificate, MockResponse, MockWebServer, ServerTls, TestCertificates};
use rustls::ProtocolVersion;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HOST: &str = "api.example.test";
const TIMEOUT: Duration = Duration::from_secs(10);

/// Records the TLS events.
#[derive(Default)]
struct Events(Mutex<Vec<String>>);

impl EventListener for Events {
    fn secure_connect_start(&self) {
        self.0.lock().unwrap().push("SecureConnectStart".to_owned());
    }
    fn secure_connect_end(&self, handshake: Option<&Handshake>) {
        let event = match handshake {
            Some(h) => format!("SecureConnectEnd({:?})", h.tls_version()),
            None => "SecureConnectEnd(failed)".to_owned(),
        };
        self.0.lock().unwrap().push(event);
    }
}

impl Events {
    fn taken(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

async fn server(tls: ServerTls) -> MockWebServer {
    MockWebServer::builder().tls(tls).start().await.unwrap()
}

fn trusting(root: &HeldCertificate) -> TlsConfigBuilder {
    TlsConfig::builder()
        .without_platform_roots()
        .add_root_certificate(root.certificate_der().clone())
}

fn address(host: &str, server: &MockWebServer, tls: &TlsConfig, protocols: &[Protocol]) -> Address {
    Address::builder(
        Scheme::Https,
        host,
        server.port(),
        Arc::new(SystemDns),
        Arc::new(NoProxy),
    )
    .tls(tls.settings_id())
    .protocols(protocols)
    .build()
}

/// The TLS stream, boxed so the tests need not name tokio-rustls types.
type Connected = (Box<dyn AsyncStream>, Handshake, Protocol);

trait AsyncStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> AsyncStream for T {}

/// Connects TCP to `server` and runs the handshake for `host`.
async fn connect(
    host: &str,
    server: &MockWebServer,
    tls: &TlsConfig,
    protocols: &[Protocol],
    listener: &dyn EventListener,
) -> Result<Connected, Error> {
    let address = address(host, server, tls, protocols);
    let tcp = TcpStream::connect(server.socket_addr()).await.unwrap();
    let connected = tokio::time::timeout(TIMEOUT, connect_tls(tcp, &address, tls, listener))
        .await
        .expect("the handshake finishes");
    connected.map(|(stream, handshake, protocol)| {
        (
            Box::new(stream) as Box<dyn AsyncStream>,
            handshake,
            protocol,
        )
    })
}

/// Sends one HTTP/1.1 request on `stream` and returns the response head and body as text.
async fn http1_get(stream: &mut Box<dyn AsyncStream>, host: &str) -> std::io::Result<String> {
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(TIMEOUT, async {
        while !response.ends_with(b"hello") {
            let read = stream.read(&mut buffer).await?;
            if read == 0 {
                break;
            }
            response.extend_from_slice(&buffer[..read]);
        }
        Ok::<_, std::io::Error>(())
    })
    .await
    .expect("the response arrives")?;
    Ok(String::from_utf8_lossy(&response).into_owned())
}

fn hello() -> MockResponse {
    MockResponse::new().body("hello")
}

#[tokio::test]
async fn trusted_certificate_negotiates_h2_over_tls13() {
    let certificates = TestCertificates::for_hosts(&[HOST]).unwrap();
    let server = server(certificates.server_tls()).await;
    let tls = trusting(certificates.root()).build().unwrap();
    let events = Events::default();

    let (_stream, handshake, protocol) = connect(
        HOST,
        &server,
        &tls,
        &[Protocol::Http2, Protocol::Http11],
        &events,
    )
    .await
    .unwrap();
    assert_eq!(protocol, Protocol::Http2);
    assert_eq!(handshake.tls_version(), ProtocolVersion::TLSv1_3);
    assert_eq!(
        handshake.peer_certificates(),
        [certificates.leaf().certificate_der().clone()]
    );
    assert!(handshake.local_certificates().is_empty());
    assert_eq!(
        events.taken(),
        ["SecureConnectStart", "SecureConnectEnd(TLSv1_3)"]
    );
}

#[tokio::test]
async fn sni_names_the_host_and_alpn_offers_only_the_address_protocols() {
    let certificates = TestCertificates::for_hosts(&[HOST, "127.0.0.1"]).unwrap();
    let server = server(certificates.server_tls()).await;
    let tls = trusting(certificates.root()).build().unwrap();

    server.enqueue(hello());
    let (mut stream, _, protocol) = connect(HOST, &server, &tls, &[Protocol::Http11], &NoEvents)
        .await
        .unwrap();
    assert_eq!(protocol, Protocol::Http11);
    let response = http1_get(&mut stream, HOST).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let request = server.take_request(TIMEOUT).await.unwrap();
    assert_eq!(request.sni(), Some(HOST));

    // No SNI for an IP literal.
    server.enqueue(hello());
    let (mut stream, _, _) = connect("127.0.0.1", &server, &tls, &[Protocol::Http11], &NoEvents)
        .await
        .unwrap();
    http1_get(&mut stream, "127.0.0.1").await.unwrap();
    let request = server.take_request(TIMEOUT).await.unwrap();
    assert_eq!(request.sni(), None);
}

/// Asserts a TLS error that names `host`, with the URL and a rustls source.
fn assert_tls_failure(error: &Error, host: &str, server: &MockWebServer, expected: &str) {
    assert!(error.is_tls(), "{error:?}");
    assert!(error.message().contains(host), "{error}");
    assert!(error.message().contains(expected), "{error}");
    let url = format!("https://{host}:{}/", server.port());
    assert_eq!(error.url(), Some(url.as_str()));
    let source = std::error::Error::source(error).expect("a source");
    assert!(
        source.downcast_ref::<rustls::Error>().is_some(),
        "{source:?}"
    );
}

#[tokio::test]
async fn untrusted_certificates_fail() {
    let certificates = TestCertificates::for_hosts(&[HOST]).unwrap();
    let server = server(certificates.server_tls()).await;
    let stranger = TestCertificates::for_hosts(&[HOST]).unwrap();
    let tls = trusting(stranger.root()).build().unwrap();
    let events = Events::default();

    let error = connect(HOST, &server, &tls, &[Protocol::Http2], &events)
        .await
        .err()
        .unwrap();
    assert_tls_failure(&error, HOST, &server, "is not trusted");
    assert_eq!(
        events.taken(),
        ["SecureConnectStart", "SecureConnectEnd(failed)"]
    );

    // What okcurl -k does.
    let insecure = TlsConfig::builder()
        .without_platform_roots()
        .danger_accept_invalid_certificates()
        .build()
        .unwrap();
    connect(HOST, &server, &insecure, &[Protocol::Http2], &NoEvents)
        .await
        .unwrap();
}

#[tokio::test]
async fn expired_certificates_fail() {
    let day = Duration::from_secs(86_400);
    let now = SystemTime::now();
    let root = HeldCertificate::builder()
        .certificate_authority(0)
        .build()
        .unwrap();
    let expired = HeldCertificate::builder()
        .add_subject_alternative_name(HOST)
        .validity(now - 2 * day, now - day)
        .signed_by(&root)
        .build()
        .unwrap();
    let server = server(expired.server_tls(&[])).await;
    let tls = trusting(&root).build().unwrap();

    let error = connect(HOST, &server, &tls, &[Protocol::Http2], &NoEvents)
        .await
        .err()
        .unwrap();
    assert_tls_failure(&error, HOST, &server, "has expired");
}

#[tokio::test]
async fn certificates_for_another_host_fail() {
    let certificates = TestCertificates::for_hosts(&[HOST]).unwrap();
    let server = server(certificates.server_tls()).await;
    let tls = trusting(certificates.root()).build().unwrap();

    let wrong = "wrong.example.test";
    let error = connect(wrong, &server, &tls, &[Protocol::Http2], &NoEvents)
        .await
        .err()
        .unwrap();
    assert_tls_failure(&error, wrong, &server, "not verified");
    assert!(
        error
            .message()
            .ends_with(&format!("subjectAltNames: [{HOST}]")),
        "{error}"
    );
}

fn pinned(root: &HeldCertificate, pattern: &str, pin: &str) -> TlsConfig {
    let pinner = CertificatePinner::builder()
        .add(pattern, [pin])
        .build()
        .unwrap();
    trusting(root).certificate_pinner(pinner).build().unwrap()
}

#[tokio::test]
async fn matching_pins_pass_and_others_fail() {
    let certificates = TestCertificates::for_hosts(&[HOST]).unwrap();
    let server = server(certificates.server_tls()).await;
    let (root, leaf) = (certificates.root(), certificates.leaf());

    // The root is not sent by the server; it matches as the verified chain's anchor.
    for pin in [leaf.spki_sha256_pin(), root.spki_sha256_pin()] {
        let tls = pinned(root, "*.example.test", &pin);
        connect(HOST, &server, &tls, &[Protocol::Http2], &NoEvents)
            .await
            .unwrap();
    }

    let stranger = HeldCertificate::builder().build().unwrap();
    let tls = pinned(root, "**.example.test", &stranger.spki_sha256_pin());
    let events = Events::default();
    let error = connect(HOST, &server, &tls, &[Protocol::Http2], &events)
        .await
        .err()
        .unwrap();
    assert!(error.is_tls(), "{error:?}");
    let message = error.message();
    assert!(
        message.starts_with("Certificate pinning failure!"),
        "{message}"
    );
    assert!(message.contains(&leaf.spki_sha256_pin()), "{message}");
    assert!(message.contains(&root.spki_sha256_pin()), "{message}");
    assert!(
        message.contains(&format!(
            "Pinned certificates for {HOST}:\n    {}",
            stranger.spki_sha256_pin()
        )),
        "{message}"
    );
    assert_eq!(
        events.taken(),
        ["SecureConnectStart", "SecureConnectEnd(failed)"]
    );

    // Pins for other hosts do not apply.
    let elsewhere = pinned(root, "other.test", &stranger.spki_sha256_pin());
    connect(HOST, &server, &elsewhere, &[Protocol::Http2], &NoEvents)
        .await
        .unwrap();
}

#[tokio::test]
async fn pins_ignore_extra_certificates_the_server_sends() {
    let certificates = TestCertificates::for_hosts(&[HOST]).unwrap();
    let decoy = HeldCertificate::builder()
        .certificate_authority(0)
        .build()
        .unwrap();
    // The server appends the pinned certificate, though it plays no part in the chain.
    let server = server(certificates.leaf().server_tls(&[&decoy])).await;
    let tls = pinned(certificates.root(), HOST, &decoy.spki_sha256_pin());

    let error = connect(HOST, &server, &tls, &[Protocol::Http2], &NoEvents)
        .await
        .err()
        .unwrap();
    assert!(
        error.message().starts_with("Certificate pinning failure!"),
        "{error}"
    );
}

#[tokio::test]
async fn client_certificates_are_presented_when_required() {
    let certificates = TestCertificates::for_hosts(&[HOST]).unwrap();
    let root = certificates.root();
    let tls_server = certificates
        .server_tls()
        .require_client_auth(vec![root.certificate_der().clone()]);
    let server = server(tls_server).await;
    let identity = certificates.client_certificate("client").unwrap();
    let tls = trusting(root)
        .client_certificate(
            vec![identity.certificate_der().clone()],
            identity.private_key_der(),
        )
        .build()
        .unwrap();

    server.enqueue(hello());
    let (mut stream, handshake, _) = connect(HOST, &server, &tls, &[Protocol::Http11], &NoEvents)
        .await
        .unwrap();
    assert_eq!(
        handshake.local_certificates(),
        [identity.certificate_der().clone()]
    );
    let response = http1_get(&mut stream, HOST).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    // Without a client certificate the server refuses (in TLS 1.3, after the client's side of
    // the handshake is done, so the failure may surface on the first read).
    let anonymous = trusting(root).build().unwrap();
    let refused = match connect(HOST, &server, &anonymous, &[Protocol::Http11], &NoEvents).await {
        Ok((mut stream, handshake, _)) => {
            assert!(handshake.local_certificates().is_empty());
            http1_get(&mut stream, HOST).await.is_err()
        }
        Err(error) => error.is_tls(),
    };
    assert!(refused);
}

#[tokio::test]
async fn tls12_only_configurations_still_connect() {
    let certificates = TestCertificates::for_hosts(&[HOST]).unwrap();
    let server = server(certificates.server_tls()).await;
    let tls = trusting(certificates.root())
        .tls_versions(&[TlsVersion::Tls12])
        .build()
        .unwrap();
    let events = Events::default();

    let (_, handshake, protocol) = connect(
        HOST,
        &server,
        &tls,
        &[Protocol::Http2, Protocol::Http11],
        &events,
    )
    .await
    .unwrap();
    assert_eq!(handshake.tls_version(), ProtocolVersion::TLSv1_2);
    assert_eq!(protocol, Protocol::Http2);
    assert_eq!(
        events.taken(),
        ["SecureConnectStart", "SecureConnectEnd(TLSv1_2)"]
    );
}

#[tokio::test]
async fn cleartext_can_be_forbidden() {
    let certificates = TestCertificates::for_hosts(&[HOST]).unwrap();
    let server = server(certificates.server_tls()).await;
    let tls = trusting(certificates.root())
        .cleartext_permitted(false)
        .build()
        .unwrap();

    let http = Address::builder(
        Scheme::Http,
        HOST,
        server.port(),
        Arc::new(SystemDns),
        Arc::new(NoProxy),
    )
    .build();
    let error = tls.check_address(&http).unwrap_err();
    assert!(error.is_builder());
    assert_eq!(
        error.message(),
        "CLEARTEXT communication not enabled for client"
    );

    // HTTPS is unaffected.
    let https = address(HOST, &server, &tls, &[Protocol::Http2]);
    tls.check_address(&https).unwrap();
    connect(HOST, &server, &tls, &[Protocol::Http2], &NoEvents)
        .await
        .unwrap();
}

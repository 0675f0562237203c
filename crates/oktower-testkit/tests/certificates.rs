//! Generated certificates in real rustls handshakes over loopback TCP.
#![allow(clippy::unwrap_used)]

use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use oktower_testkit::{HeldCertificate, TestCertificates};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots(trusted: &[&HeldCertificate]) -> RootCertStore {
    let mut store = RootCertStore::empty();
    for root in trusted {
        store.add(root.certificate_der().clone()).unwrap();
    }
    store
}

/// A server presenting `leaf` then `intermediates`, optionally requiring a client certificate
/// issued by one of `client_roots`.
fn server_config(
    leaf: &HeldCertificate,
    intermediates: &[&HeldCertificate],
    client_roots: Option<&[&HeldCertificate]>,
) -> Arc<ServerConfig> {
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = match client_roots {
        None => builder.with_no_client_auth(),
        Some(client_roots) => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots(client_roots)), provider())
                .build()
                .unwrap(),
        ),
    };
    let mut chain: Vec<CertificateDer<'static>> = vec![leaf.certificate_der().clone()];
    chain.extend(intermediates.iter().map(|c| c.certificate_der().clone()));
    Arc::new(
        builder
            .with_single_cert(chain, leaf.private_key_der())
            .unwrap(),
    )
}

/// A client trusting `trusted` only, presenting `identity` if given.
fn client_config(
    trusted: &[&HeldCertificate],
    identity: Option<&HeldCertificate>,
) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(trusted));
    Arc::new(match identity {
        None => builder.with_no_client_auth(),
        Some(identity) => builder
            .with_client_auth_cert(
                vec![identity.certificate_der().clone()],
                identity.private_key_der(),
            )
            .unwrap(),
    })
}

/// One handshake on 127.0.0.1, the client verifying the server as `server_name`. The server
/// writes `hello` and closes. Returns the server's and the client's outcome.
async fn exchange(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    server_name: &str,
) -> (io::Result<()>, io::Result<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut tls = TlsAcceptor::from(server).accept(tcp).await?;
        tls.write_all(b"hello").await?;
        tls.shutdown().await
    });
    let name = ServerName::try_from(server_name.to_owned()).unwrap();
    let client_result = async {
        let tcp = TcpStream::connect(address).await?;
        let mut tls = TlsConnector::from(client).connect(name, tcp).await?;
        let mut received = Vec::new();
        tls.read_to_end(&mut received).await?;
        Ok(received)
    };
    let client_result = tokio::time::timeout(Duration::from_secs(10), client_result)
        .await
        .unwrap();
    let server_result = tokio::time::timeout(Duration::from_secs(10), server_task)
        .await
        .unwrap()
        .unwrap();
    (server_result, client_result)
}

/// Asserts the handshake succeeded on both sides.
async fn assert_accepted(server: Arc<ServerConfig>, client: Arc<ClientConfig>, name: &str) {
    let (server_result, client_result) = exchange(server, client, name).await;
    server_result.unwrap_or_else(|e| panic!("server failed for {name}: {e}"));
    let received = client_result.unwrap_or_else(|e| panic!("client failed for {name}: {e}"));
    assert_eq!(received, b"hello", "{name}");
}

/// The client's certificate verification error, asserting there is one.
async fn client_rejection(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    name: &str,
) -> rustls::CertificateError {
    let (_, client_result) = exchange(server, client, name).await;
    let error = client_result.expect_err("the client accepted the server");
    match rustls_error(&error) {
        rustls::Error::InvalidCertificate(e) => e.clone(),
        other => panic!("not a certificate error: {other:?}"),
    }
}

fn rustls_error(error: &io::Error) -> &rustls::Error {
    error
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("not a rustls error: {error:?}"))
}

/// A root with the default, unique, common name: roots sharing a name would be mistaken for
/// one another.
fn root_ca(max_intermediate_cas: u8) -> HeldCertificate {
    HeldCertificate::builder()
        .certificate_authority(max_intermediate_cas)
        .build()
        .unwrap()
}

fn leaf_signed_by(issuer: &HeldCertificate, names: &[&str]) -> HeldCertificate {
    names
        .iter()
        .fold(HeldCertificate::builder(), |b, n| {
            b.add_subject_alternative_name(n)
        })
        .signed_by(issuer)
        .build()
        .unwrap()
}

fn is_name_mismatch(error: &rustls::CertificateError) -> bool {
    matches!(
        error,
        rustls::CertificateError::NotValidForName
            | rustls::CertificateError::NotValidForNameContext { .. }
    )
}

#[tokio::test]
async fn leaf_signed_by_root_is_trusted_by_dns_name_and_ip() {
    let root = root_ca(0);
    let leaf = leaf_signed_by(&root, &["localhost", "127.0.0.1"]);
    for name in ["localhost", "127.0.0.1"] {
        assert_accepted(
            server_config(&leaf, &[], None),
            client_config(&[&root], None),
            name,
        )
        .await;
    }

    // A client trusting another root refuses it.
    let other_root = root_ca(0);
    let error = client_rejection(
        server_config(&leaf, &[], None),
        client_config(&[&other_root], None),
        "localhost",
    )
    .await;
    assert!(
        matches!(error, rustls::CertificateError::UnknownIssuer),
        "{error:?}"
    );
}

#[tokio::test]
async fn every_key_algorithm_serves_and_signs() {
    let algorithms: [fn(oktower_testkit::HeldCertificateBuilder) -> _; 3] =
        [|b| b.ecdsa_p256(), |b| b.ed25519(), |b| b.rsa2048()];
    for root_algorithm in algorithms {
        for leaf_algorithm in algorithms {
            let root = root_algorithm(HeldCertificate::builder().certificate_authority(0))
                .build()
                .unwrap();
            let leaf = leaf_algorithm(HeldCertificate::builder())
                .add_subject_alternative_name("localhost")
                .signed_by(&root)
                .build()
                .unwrap();
            assert_accepted(
                server_config(&leaf, &[], None),
                client_config(&[&root], None),
                "localhost",
            )
            .await;
        }
    }
}

#[tokio::test]
async fn chain_through_an_intermediate_needs_the_intermediate() {
    let root = root_ca(1);
    let intermediate = HeldCertificate::builder()
        .common_name("intermediate")
        .certificate_authority(0)
        .signed_by(&root)
        .build()
        .unwrap();
    let leaf = leaf_signed_by(&intermediate, &["localhost"]);

    assert_accepted(
        server_config(&leaf, &[&intermediate], None),
        client_config(&[&root], None),
        "localhost",
    )
    .await;

    let error = client_rejection(
        server_config(&leaf, &[], None),
        client_config(&[&root], None),
        "localhost",
    )
    .await;
    assert!(
        matches!(error, rustls::CertificateError::UnknownIssuer),
        "{error:?}"
    );
}

#[tokio::test]
async fn server_tls_chain_is_leaf_then_intermediates() {
    let root = root_ca(1);
    let intermediate = HeldCertificate::builder()
        .certificate_authority(0)
        .signed_by(&root)
        .build()
        .unwrap();
    let leaf = leaf_signed_by(&intermediate, &["localhost"]);
    let tls = leaf.server_tls(&[&intermediate]);
    assert_eq!(
        tls.chain(),
        [
            leaf.certificate_der().clone(),
            intermediate.certificate_der().clone()
        ]
    );
}

#[tokio::test]
async fn path_length_constraint_of_an_intermediate_is_enforced() {
    // webpki reads no constraint from trust anchors, so the constrained CA is an intermediate.
    let root = root_ca(2);
    for (max_intermediate_cas, accepted) in [(1, true), (0, false)] {
        let intermediate = HeldCertificate::builder()
            .certificate_authority(max_intermediate_cas)
            .signed_by(&root)
            .build()
            .unwrap();
        let sub_intermediate = HeldCertificate::builder()
            .certificate_authority(0)
            .signed_by(&intermediate)
            .build()
            .unwrap();
        let leaf = leaf_signed_by(&sub_intermediate, &["localhost"]);
        let server = server_config(&leaf, &[&sub_intermediate, &intermediate], None);
        if accepted {
            assert_accepted(server, client_config(&[&root], None), "localhost").await;
        } else {
            let error = client_rejection(server, client_config(&[&root], None), "localhost").await;
            // rustls passes webpki's path length error on as "other".
            assert!(
                matches!(error, rustls::CertificateError::Other(_))
                    && format!("{error:?}").contains("PathLenConstraintViolated"),
                "{error:?}"
            );
        }
    }
}

#[tokio::test]
async fn expired_certificate_is_rejected() {
    let root = root_ca(0);
    let now = SystemTime::now();
    let leaf = HeldCertificate::builder()
        .add_subject_alternative_name("localhost")
        .validity(now - 2 * DAY, now - DAY)
        .signed_by(&root)
        .build()
        .unwrap();
    let error = client_rejection(
        server_config(&leaf, &[], None),
        client_config(&[&root], None),
        "localhost",
    )
    .await;
    assert!(
        matches!(
            error,
            rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("expired"), "{error}");
}

#[tokio::test]
async fn not_yet_valid_certificate_is_rejected() {
    let root = root_ca(0);
    let now = SystemTime::now();
    let leaf = HeldCertificate::builder()
        .add_subject_alternative_name("localhost")
        .validity(now + DAY, now + 2 * DAY)
        .signed_by(&root)
        .build()
        .unwrap();
    let error = client_rejection(
        server_config(&leaf, &[], None),
        client_config(&[&root], None),
        "localhost",
    )
    .await;
    assert!(
        matches!(
            error,
            rustls::CertificateError::NotValidYet
                | rustls::CertificateError::NotValidYetContext { .. }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("not valid yet"), "{error}");
}

#[tokio::test]
async fn expired_root_still_anchors_trust() {
    let now = SystemTime::now();
    let root = HeldCertificate::builder()
        .certificate_authority(0)
        .validity(now - 2 * DAY, now - DAY)
        .build()
        .unwrap();
    let leaf = leaf_signed_by(&root, &["localhost"]);
    // A trust anchor is a name and a key: webpki checks the validity of the leaf and of
    // intermediates, not of the root. Expire the leaf to test expiry.
    assert_accepted(
        server_config(&leaf, &[], None),
        client_config(&[&root], None),
        "localhost",
    )
    .await;
}

#[tokio::test]
async fn wildcard_matches_one_label_only() {
    let root = root_ca(0);
    let leaf = leaf_signed_by(&root, &["*.example.com"]);
    assert_accepted(
        server_config(&leaf, &[], None),
        client_config(&[&root], None),
        "a.example.com",
    )
    .await;
    for name in ["example.com", "a.b.example.com"] {
        let error = client_rejection(
            server_config(&leaf, &[], None),
            client_config(&[&root], None),
            name,
        )
        .await;
        assert!(is_name_mismatch(&error), "{name}: {error:?}");
    }
}

#[tokio::test]
async fn wrong_host_name_is_rejected() {
    let root = root_ca(0);
    let leaf = leaf_signed_by(&root, &["localhost", "127.0.0.1"]);
    for name in ["example.com", "127.0.0.2", "::1"] {
        let error = client_rejection(
            server_config(&leaf, &[], None),
            client_config(&[&root], None),
            name,
        )
        .await;
        assert!(is_name_mismatch(&error), "{name}: {error:?}");
    }
}

#[tokio::test]
async fn mutual_tls_accepts_clients_signed_by_the_root_only() {
    let root = root_ca(0);
    let server_leaf = leaf_signed_by(&root, &["localhost"]);
    let client_leaf = HeldCertificate::builder()
        .common_name("client")
        .signed_by(&root)
        .build()
        .unwrap();

    assert_accepted(
        server_config(&server_leaf, &[], Some(&[&root])),
        client_config(&[&root], Some(&client_leaf)),
        "localhost",
    )
    .await;

    // Without a client certificate.
    let (server_result, client_result) = exchange(
        server_config(&server_leaf, &[], Some(&[&root])),
        client_config(&[&root], None),
        "localhost",
    )
    .await;
    let error = server_result.expect_err("the server accepted a client without certificate");
    assert!(
        matches!(rustls_error(&error), rustls::Error::NoCertificatesPresented),
        "{error:?}"
    );
    assert!(client_result.is_err());

    // With a self-signed client certificate.
    let self_signed = HeldCertificate::builder().build().unwrap();
    let (server_result, client_result) = exchange(
        server_config(&server_leaf, &[], Some(&[&root])),
        client_config(&[&root], Some(&self_signed)),
        "localhost",
    )
    .await;
    let error = server_result.expect_err("the server accepted a self-signed client");
    assert!(
        matches!(
            rustls_error(&error),
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        ),
        "{error:?}"
    );
    assert!(client_result.is_err());
}

#[tokio::test]
async fn test_certificates_for_hosts_work_with_their_client_config() {
    let certificates =
        TestCertificates::for_hosts(&["*.example.com", "example.com", "127.0.0.1"]).unwrap();
    let server = server_config(certificates.leaf(), &[], None);
    for name in ["a.example.com", "example.com", "127.0.0.1"] {
        assert_accepted(server.clone(), certificates.client_config(&[]), name).await;
    }
    let error = client_rejection(server, certificates.client_config(&[]), "localhost").await;
    assert!(is_name_mismatch(&error), "{error:?}");

    // The root store holds the root only.
    let store = certificates.root_store();
    assert_eq!(store.len(), 1);
    assert_eq!(certificates.server_tls().chain().len(), 1);
}

#[test]
fn spki_pin_has_okhttp_form_and_identifies_the_key() {
    let held = HeldCertificate::builder().build().unwrap();
    let pin = held.spki_sha256_pin();
    let encoded = pin.strip_prefix("sha256/").unwrap();
    assert_eq!(encoded.len(), 44, "{pin}");
    assert!(encoded.ends_with('='), "{pin}");
    assert!(
        encoded[..43]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/'),
        "{pin}"
    );

    // Stable for the same key, also across clones.
    assert_eq!(held.spki_sha256_pin(), pin);
    assert_eq!(held.clone().spki_sha256_pin(), pin);

    // Different for another key, even with identical attributes.
    let other = HeldCertificate::builder().build().unwrap();
    assert_ne!(other.spki_sha256_pin(), pin);
}

#[test]
fn spki_pin_is_the_sha256_of_the_certificate_subject_public_key_info() {
    for held in [
        HeldCertificate::builder().build().unwrap(),
        HeldCertificate::builder().ed25519().build().unwrap(),
        HeldCertificate::builder().rsa2048().build().unwrap(),
    ] {
        let (_, certificate) = x509_parser::parse_x509_certificate(held.certificate_der()).unwrap();
        let spki = certificate.public_key().raw;
        // A full SubjectPublicKeyInfo: a SEQUENCE holding the algorithm and the key bits.
        assert_eq!(spki[0], 0x30);
        assert!(spki.len() > certificate.public_key().subject_public_key.data.len());
        use base64::Engine as _;
        let expected = format!(
            "sha256/{}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(spki))
        );
        assert_eq!(held.spki_sha256_pin(), expected);
    }
}

use std::sync::Arc;

use oktower_testkit::{HeldCertificate, TestCertificates};

use super::*;
use crate::{NoProxy, SystemDns};

fn trusting(root: &HeldCertificate) -> TlsConfigBuilder {
    TlsConfig::builder()
        .without_platform_roots()
        .add_root_certificate(root.certificate_der().clone())
}

fn address(scheme: Scheme, protocols: &[Protocol]) -> Address {
    let port = scheme.default_port();
    Address::builder(
        scheme,
        "a.test",
        port,
        Arc::new(SystemDns),
        Arc::new(NoProxy),
    )
    .protocols(protocols)
    .build()
}

#[test]
fn one_client_config_per_alpn_list_built_once() {
    use Protocol::{H2PriorKnowledge as Prior, Http2 as H2, Http11 as H1};
    let certificates = TestCertificates::localhost().unwrap();
    let tls = trusting(certificates.root()).build().unwrap();
    let h2 = b"h2".to_vec();
    let h1 = b"http/1.1".to_vec();
    for (protocols, expected) in [
        (&[][..], vec![]),
        (&[Prior][..], vec![]),
        (&[H2][..], vec![h2.clone()]),
        (&[H1][..], vec![h1.clone()]),
        (&[H1, H1][..], vec![h1.clone()]),
        (&[H2, H1][..], vec![h2.clone(), h1.clone()]),
        (&[H2, H2, H1][..], vec![h2.clone(), h1.clone()]),
        (&[H1, H2][..], vec![h1.clone(), h2.clone()]),
    ] {
        assert_eq!(
            tls.client_config(protocols).alpn_protocols,
            expected,
            "{protocols:?}"
        );
    }
    assert!(Arc::ptr_eq(
        tls.client_config(&[H2, H1]),
        tls.clone().client_config(&[H2, H1])
    ));
}

#[test]
fn clones_share_the_identity_and_builds_do_not() {
    let certificates = TestCertificates::localhost().unwrap();
    let a = trusting(certificates.root()).build().unwrap();
    let b = trusting(certificates.root()).build().unwrap();
    assert_eq!(a.settings_id(), a.clone().settings_id());
    assert_ne!(a.settings_id(), b.settings_id());
}

#[test]
fn versions_default_to_modern_tls_and_can_be_narrowed() {
    let certificates = TestCertificates::localhost().unwrap();
    let default = trusting(certificates.root()).build().unwrap();
    assert_eq!(
        default.tls_versions(),
        [TlsVersion::Tls13, TlsVersion::Tls12]
    );
    assert_eq!(
        default
            .client_config(&[])
            .crypto_provider()
            .cipher_suites
            .len(),
        provider().cipher_suites.len()
    );

    let tls12 = trusting(certificates.root())
        .tls_versions(&[TlsVersion::Tls12, TlsVersion::Tls12])
        .build()
        .unwrap();
    assert_eq!(tls12.tls_versions(), [TlsVersion::Tls12]);

    let none = trusting(certificates.root()).tls_versions(&[]).build();
    assert!(none.unwrap_err().is_builder());
}

#[test]
fn roots_are_required_unless_certificates_are_not_checked() {
    let error = TlsConfig::builder()
        .without_platform_roots()
        .build()
        .unwrap_err();
    assert!(error.is_builder());
    assert!(
        error.message().starts_with("no trusted root certificates"),
        "{error}"
    );

    let unchecked = TlsConfig::builder()
        .without_platform_roots()
        .danger_accept_invalid_certificates()
        .build()
        .unwrap();
    assert!(unchecked.has_custom_verifier());
    assert_eq!(unchecked.root_certificate_count(), 0);

    let garbage = TlsConfig::builder()
        .without_platform_roots()
        .add_root_certificate(CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]))
        .build()
        .unwrap_err();
    assert!(garbage.is_builder(), "{garbage}");
    assert!(std::error::Error::source(&garbage).is_some());
}

#[test]
fn platform_roots_are_loaded_once_and_shared() {
    let first = roots::platform();
    let second = roots::platform();
    assert!(std::ptr::eq(first, second));
    if first.store.is_empty() {
        // Nothing to share on a machine without a certificate store; the error says why.
        let error = TlsConfig::builder().build().unwrap_err();
        assert!(error.message().starts_with("no trusted root certificates"));
        return;
    }
    let a = TlsConfig::builder().build().unwrap();
    let b = TlsConfig::builder().build().unwrap();
    assert!(Arc::ptr_eq(&a.inner.roots, &b.inner.roots));
    assert_eq!(a.platform_root_errors(), &first.errors[..]);

    let certificates = TestCertificates::localhost().unwrap();
    let extended = TlsConfig::builder()
        .add_root_certificate(certificates.root().certificate_der().clone())
        .build()
        .unwrap();
    assert_eq!(
        extended.root_certificate_count(),
        a.root_certificate_count() + 1
    );
}

#[test]
fn client_certificates_must_match_their_key() {
    let certificates = TestCertificates::localhost().unwrap();
    let identity = certificates.client_certificate("client").unwrap();
    let tls = trusting(certificates.root())
        .client_certificate(
            vec![identity.certificate_der().clone()],
            identity.private_key_der(),
        )
        .build()
        .unwrap();
    assert_eq!(tls.client_chain(), [identity.certificate_der().clone()]);
    assert!(format!("{tls:?}").contains("client_certificate: true"));

    let other = certificates.client_certificate("other").unwrap();
    let mismatch = trusting(certificates.root())
        .client_certificate(
            vec![identity.certificate_der().clone()],
            other.private_key_der(),
        )
        .build()
        .unwrap_err();
    assert!(mismatch.is_builder(), "{mismatch}");

    let empty = trusting(certificates.root())
        .client_certificate(Vec::new(), identity.private_key_der())
        .build()
        .unwrap_err();
    assert!(empty.is_builder(), "{empty}");
}

#[test]
fn cleartext_and_prior_knowledge_checks_give_okhttp_messages() {
    let certificates = TestCertificates::localhost().unwrap();
    let permissive = trusting(certificates.root()).build().unwrap();
    assert!(permissive.is_cleartext_permitted());
    let http = address(Scheme::Http, &[Protocol::Http11]);
    permissive.check_address(&http).unwrap();

    let strict = trusting(certificates.root())
        .cleartext_permitted(false)
        .build()
        .unwrap();
    let error = strict.check_address(&http).unwrap_err();
    assert!(error.is_builder());
    assert_eq!(
        error.message(),
        "CLEARTEXT communication not enabled for client"
    );
    assert_eq!(error.url(), Some("http://a.test:80/"));
    strict
        .check_address(&address(
            Scheme::Https,
            &[Protocol::Http2, Protocol::Http11],
        ))
        .unwrap();

    let prior = address(Scheme::Https, &[Protocol::H2PriorKnowledge]);
    let error = permissive.check_address(&prior).unwrap_err();
    assert_eq!(
        error.message(),
        "H2_PRIOR_KNOWLEDGE cannot be used with HTTPS"
    );
}

/// A root, an intermediate it signed, and a leaf for `leaf.example.com` the intermediate
/// signed; and a stranger certificate.
struct Chain {
    root: HeldCertificate,
    intermediate: HeldCertificate,
    leaf: HeldCertificate,
    stranger: HeldCertificate,
}

impl Chain {
    fn new() -> Chain {
        let root = HeldCertificate::builder()
            .common_name("Root")
            .certificate_authority(1)
            .build()
            .unwrap();
        let intermediate = HeldCertificate::builder()
            .common_name("Intermediate")
            .certificate_authority(0)
            .signed_by(&root)
            .build()
            .unwrap();
        let leaf = HeldCertificate::builder()
            .add_subject_alternative_name("leaf.example.com")
            .signed_by(&intermediate)
            .build()
            .unwrap();
        let stranger = HeldCertificate::builder()
            .common_name("Stranger")
            .certificate_authority(0)
            .build()
            .unwrap();
        Chain {
            root,
            intermediate,
            leaf,
            stranger,
        }
    }

    fn tls(
        &self,
        pin: &str,
        builder: impl FnOnce(TlsConfigBuilder) -> TlsConfigBuilder,
    ) -> TlsConfig {
        let pinner = CertificatePinner::builder()
            .add("leaf.example.com", [pin])
            .build()
            .unwrap();
        builder(trusting(&self.root).certificate_pinner(pinner))
            .build()
            .unwrap()
    }

    /// What the server sends: leaf, intermediate, and an unrelated extra certificate.
    fn sent(&self) -> Vec<CertificateDer<'static>> {
        vec![
            self.leaf.certificate_der().clone(),
            self.intermediate.certificate_der().clone(),
            self.stranger.certificate_der().clone(),
        ]
    }
}

#[test]
fn pins_match_any_certificate_of_the_verified_chain_including_the_anchor() {
    let chain = Chain::new();
    let now = UnixTime::now();
    for pinned in [&chain.leaf, &chain.intermediate, &chain.root] {
        let tls = chain.tls(&pinned.spki_sha256_pin(), |b| b);
        tls.check_pins("leaf.example.com", &chain.sent(), now)
            .unwrap();
    }
}

#[test]
fn pins_never_match_certificates_outside_the_verified_chain() {
    let chain = Chain::new();
    let tls = chain.tls(&chain.stranger.spki_sha256_pin(), |b| b);
    let error = tls
        .check_pins("leaf.example.com", &chain.sent(), UnixTime::now())
        .unwrap_err();
    assert!(error.is_tls());
    let message = error.message();
    assert!(
        message.starts_with("Certificate pinning failure!\n"),
        "{message}"
    );
    assert!(message.contains(&format!(
        "{}: CN=Intermediate",
        chain.intermediate.spki_sha256_pin()
    )));
    assert!(message.contains(&format!("{}: CN=Root", chain.root.spki_sha256_pin())));
    assert!(!message.contains("CN=Stranger"), "{message}");
    assert!(message.ends_with(&format!(
        "Pinned certificates for leaf.example.com:\n    {}",
        chain.stranger.spki_sha256_pin()
    )));
}

#[test]
fn pins_fail_when_the_chain_does_not_verify_and_pass_for_unpinned_hosts() {
    let chain = Chain::new();
    let tls = chain.tls(&chain.leaf.spki_sha256_pin(), |b| b);
    let now = UnixTime::now();
    // Without the intermediate there is no path to the root.
    let error = tls
        .check_pins(
            "leaf.example.com",
            &[chain.leaf.certificate_der().clone()],
            now,
        )
        .unwrap_err();
    assert!(
        error
            .message()
            .starts_with("Certificate pinning failure! (the chain does not verify"),
        "{error}"
    );
    let error = tls.check_pins("leaf.example.com", &[], now).unwrap_err();
    assert!(error.message().contains("no peer certificates"), "{error}");
    tls.check_pins("other.example.com", &[], now).unwrap();
}

#[test]
fn without_verification_only_the_leaf_can_match() {
    let chain = Chain::new();
    let now = UnixTime::now();
    let leaf = chain.tls(&chain.leaf.spki_sha256_pin(), |b| {
        b.danger_accept_invalid_certificates()
    });
    leaf.check_pins("leaf.example.com", &chain.sent(), now)
        .unwrap();
    let intermediate = chain.tls(&chain.intermediate.spki_sha256_pin(), |b| {
        b.danger_accept_invalid_certificates()
    });
    let error = intermediate
        .check_pins("leaf.example.com", &chain.sent(), now)
        .unwrap_err();
    assert!(error.message().starts_with("Certificate pinning failure!"));
}

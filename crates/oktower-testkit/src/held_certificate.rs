//! A certificate and its private key, generated at test time.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData as _, SanType, SerialNumber,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::ServerTls;

/// How long before "now" a default validity period starts, to tolerate small clock steps.
const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// How long a certificate is valid by default.
const DEFAULT_DURATION: Duration = Duration::from_secs(24 * 60 * 60);

/// A certificate and its private key: what a server or an mTLS client presents, or what a
/// certificate authority signs other certificates with.
///
/// Build one with [`HeldCertificate::builder`]. Modelled on OkHttp's `HeldCertificate`.
///
/// Cloning is cheap: clones share the private key.
#[derive(Clone)]
pub struct HeldCertificate {
    certificate: rcgen::Certificate,
    /// The subject's name, key identifier method, key usages and private key: what is needed to
    /// sign other certificates with this one.
    issuer: Arc<Issuer<'static, KeyPair>>,
    is_ca: bool,
}

impl HeldCertificate {
    /// A builder for a new certificate, by default a self-signed ECDSA P-256 leaf valid from one
    /// minute ago for 24 hours.
    pub fn builder() -> HeldCertificateBuilder {
        HeldCertificateBuilder::default()
    }

    /// The certificate, DER encoded.
    pub fn certificate_der(&self) -> &CertificateDer<'static> {
        self.certificate.der()
    }

    /// The private key, DER encoded in PKCS#8.
    pub fn private_key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.issuer.key().serialize_der()))
    }

    /// The certificate in PEM (`-----BEGIN CERTIFICATE-----`).
    pub fn certificate_pem(&self) -> String {
        self.certificate.pem()
    }

    /// The private key in PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn private_key_pkcs8_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// The certificate's public key pin in OkHttp's format: `sha256/` followed by the base64 of
    /// the SHA-256 digest of the DER-encoded SubjectPublicKeyInfo.
    pub fn spki_sha256_pin(&self) -> String {
        let digest = Sha256::digest(self.issuer.key().subject_public_key_info());
        format!("sha256/{}", STANDARD.encode(digest))
    }

    /// Whether this certificate is a certificate authority, able to sign other certificates.
    pub fn is_certificate_authority(&self) -> bool {
        self.is_ca
    }

    /// TLS settings for a [`MockWebServer`](crate::MockWebServer) presenting this certificate
    /// followed by `intermediates` (closest to this certificate first; the root is usually
    /// left out), with this certificate's private key.
    pub fn server_tls(&self, intermediates: &[&HeldCertificate]) -> ServerTls {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(self.certificate_der().clone());
        chain.extend(intermediates.iter().map(|c| c.certificate_der().clone()));
        ServerTls::new(chain, self.private_key_der())
    }
}

impl fmt::Debug for HeldCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeldCertificate")
            .field("issuer", &self.issuer)
            .field("certificate_authority", &self.is_ca)
            .field("pin", &self.spki_sha256_pin())
            .finish_non_exhaustive()
    }
}

/// Builds a [`HeldCertificate`]. Obtained from [`HeldCertificate::builder`].
///
/// Certificates are leaves unless [`certificate_authority`](Self::certificate_authority) is
/// called. Leaves carry the extended key usages serverAuth and clientAuth and the key usage
/// digitalSignature, so they serve both as TLS server and as TLS client certificates.
#[derive(Clone, Debug)]
pub struct HeldCertificateBuilder {
    common_name: Option<String>,
    organizational_unit: Option<String>,
    serial_number: Option<u64>,
    subject_alternative_names: Vec<String>,
    validity: Validity,
    max_intermediate_cas: Option<u8>,
    issuer: Option<Arc<Issuer<'static, KeyPair>>>,
    key_algorithm: KeyAlgorithm,
}

impl Default for HeldCertificateBuilder {
    fn default() -> Self {
        HeldCertificateBuilder {
            common_name: None,
            organizational_unit: None,
            serial_number: None,
            subject_alternative_names: Vec::new(),
            validity: Validity::FromNow(DEFAULT_DURATION),
            max_intermediate_cas: None,
            issuer: None,
            key_algorithm: KeyAlgorithm::EcdsaP256,
        }
    }
}

/// When a certificate is valid.
#[derive(Clone, Copy, Debug)]
enum Validity {
    /// From [`CLOCK_SKEW`] before the build until this long after it.
    FromNow(Duration),
    /// Exactly this period.
    Between(SystemTime, SystemTime),
}

/// The algorithm of the generated key pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyAlgorithm {
    EcdsaP256,
    Ed25519,
    Rsa2048,
}

impl HeldCertificateBuilder {
    /// The subject's common name. Defaults to a name derived from the public key, unique per
    /// certificate. TLS clients match host names against subject alternative names only.
    pub fn common_name(mut self, common_name: &str) -> Self {
        self.common_name = Some(common_name.to_owned());
        self
    }

    /// The subject's organizational unit. None by default.
    pub fn organizational_unit(mut self, organizational_unit: &str) -> Self {
        self.organizational_unit = Some(organizational_unit.to_owned());
        self
    }

    /// The serial number. Defaults to one derived from the public key.
    pub fn serial_number(mut self, serial_number: u64) -> Self {
        self.serial_number = Some(serial_number);
        self
    }

    /// Adds a subject alternative name: an IP address if `name` parses as one (`127.0.0.1`,
    /// `::1`), otherwise a DNS name, which may be a wildcard like `*.example.com`.
    pub fn add_subject_alternative_name(mut self, name: &str) -> Self {
        self.subject_alternative_names.push(name.to_owned());
        self
    }

    /// Valid from `not_before` until `not_after`, both inclusive. Use periods in the past or in
    /// the future to build expired or not-yet-valid certificates.
    pub fn validity(mut self, not_before: SystemTime, not_after: SystemTime) -> Self {
        self.validity = Validity::Between(not_before, not_after);
        self
    }

    /// Valid from one minute before [`build`](Self::build) until `duration` after it
    /// (24 hours by default).
    pub fn duration(mut self, duration: Duration) -> Self {
        self.validity = Validity::FromNow(duration);
        self
    }

    /// Makes a certificate authority that may sign other certificates, with at most
    /// `max_intermediate_cas` certificate authorities below it: 0 for a CA that signs leaves
    /// only, 1 for a root that signs an intermediate that signs leaves.
    pub fn certificate_authority(mut self, max_intermediate_cas: u8) -> Self {
        self.max_intermediate_cas = Some(max_intermediate_cas);
        self
    }

    /// Signs the certificate with `issuer`'s private key and names `issuer` as its issuer.
    /// Self-signed by default. `issuer` should be a
    /// [certificate authority](Self::certificate_authority); otherwise the certificate is built
    /// but TLS peers reject it.
    pub fn signed_by(mut self, issuer: &HeldCertificate) -> Self {
        self.issuer = Some(Arc::clone(&issuer.issuer));
        self
    }

    /// Generates an ECDSA key on curve P-256 (the default); signatures use SHA-256.
    pub fn ecdsa_p256(mut self) -> Self {
        self.key_algorithm = KeyAlgorithm::EcdsaP256;
        self
    }

    /// Generates an Ed25519 key.
    pub fn ed25519(mut self) -> Self {
        self.key_algorithm = KeyAlgorithm::Ed25519;
        self
    }

    /// Generates a 2048-bit RSA key; signatures use PKCS#1 v1.5 with SHA-256. Slower than the
    /// others.
    pub fn rsa2048(mut self) -> Self {
        self.key_algorithm = KeyAlgorithm::Rsa2048;
        self
    }

    /// Generates the key pair and the certificate.
    ///
    /// Fails if a subject alternative name is neither an IP address nor ASCII, if a validity
    /// bound cannot be represented, or if key generation or signing fails.
    pub fn build(self) -> Result<HeldCertificate, CertificateError> {
        let key = match self.key_algorithm {
            KeyAlgorithm::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
            KeyAlgorithm::Ed25519 => KeyPair::generate_for(&rcgen::PKCS_ED25519),
            KeyAlgorithm::Rsa2048 => KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256),
        }
        .map_err(CertificateError::rcgen)?;

        let mut params = CertificateParams::default();
        let (not_before, not_after) = match self.validity {
            Validity::FromNow(duration) => {
                let now = SystemTime::now();
                let not_before = now.checked_sub(CLOCK_SKEW).unwrap_or(now);
                let not_after = now
                    .checked_add(duration)
                    .ok_or_else(|| CertificateError::new("validity duration is too long"))?;
                (not_before, not_after)
            }
            Validity::Between(not_before, not_after) => (not_before, not_after),
        };
        params.not_before = offset_date_time(not_before)?;
        params.not_after = offset_date_time(not_after)?;
        params.serial_number = self.serial_number.map(SerialNumber::from);

        let mut name = DistinguishedName::new();
        let common_name = match self.common_name {
            Some(common_name) => common_name,
            None => default_common_name(&key),
        };
        name.push(DnType::CommonName, common_name);
        if let Some(organizational_unit) = self.organizational_unit {
            name.push(DnType::OrganizationalUnitName, organizational_unit);
        }
        params.distinguished_name = name;

        for san in self.subject_alternative_names {
            let san = match san.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(san.try_into().map_err(CertificateError::rcgen)?),
            };
            params.subject_alt_names.push(san);
        }

        let is_ca = self.max_intermediate_cas.is_some();
        match self.max_intermediate_cas {
            Some(max) => {
                params.is_ca = IsCa::Ca(BasicConstraints::Constrained(max));
                params.key_usages = vec![
                    KeyUsagePurpose::KeyCertSign,
                    KeyUsagePurpose::CrlSign,
                    KeyUsagePurpose::DigitalSignature,
                ];
            }
            None => {
                params.is_ca = IsCa::ExplicitNoCa;
                params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                if self.key_algorithm == KeyAlgorithm::Rsa2048 {
                    params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
                }
                params.extended_key_usages = vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ];
            }
        }

        let certificate = match &self.issuer {
            Some(issuer) => {
                params.use_authority_key_identifier_extension = true;
                params.signed_by(&key, issuer)
            }
            None => params.self_signed(&key),
        }
        .map_err(CertificateError::rcgen)?;

        Ok(HeldCertificate {
            certificate,
            issuer: Arc::new(Issuer::new(params, key)),
            is_ca,
        })
    }
}

/// A name unique to `key`: the first 8 bytes of its SubjectPublicKeyInfo's SHA-256, in hex.
fn default_common_name(key: &KeyPair) -> String {
    let digest = Sha256::digest(key.subject_public_key_info());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Converts without the panics of `From<SystemTime>` on out-of-range values.
fn offset_date_time(at: SystemTime) -> Result<OffsetDateTime, CertificateError> {
    let converted = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => time::Duration::try_from(after)
            .ok()
            .and_then(|d| OffsetDateTime::UNIX_EPOCH.checked_add(d)),
        Err(before) => time::Duration::try_from(before.duration())
            .ok()
            .and_then(|d| OffsetDateTime::UNIX_EPOCH.checked_sub(d)),
    };
    converted.ok_or_else(|| CertificateError::new("validity bound is out of range"))
}

/// Why a certificate could not be generated, or a TLS configuration could not be built from
/// generated certificates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateError {
    message: String,
}

impl CertificateError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        CertificateError {
            message: message.into(),
        }
    }

    fn rcgen(error: rcgen::Error) -> Self {
        CertificateError::new(error.to_string())
    }

    /// What went wrong.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for CertificateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "certificate error: {}", self.message)
    }
}

impl std::error::Error for CertificateError {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use x509_parser::certificate::X509Certificate;
    use x509_parser::extensions::GeneralName;
    use x509_parser::oid_registry::{
        OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION, OID_PKCS1_SHA256WITHRSA,
        OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ED25519,
    };

    fn parse(held: &HeldCertificate) -> X509Certificate<'_> {
        let (rest, certificate) =
            x509_parser::parse_x509_certificate(held.certificate_der()).unwrap();
        assert!(rest.is_empty());
        certificate
    }

    fn unix(at: SystemTime) -> i64 {
        i64::try_from(at.duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
    }

    #[test]
    fn default_is_a_self_signed_ecdsa_leaf_for_server_and_client_auth() {
        let before = unix(SystemTime::now());
        let held = HeldCertificate::builder().build().unwrap();
        let after = unix(SystemTime::now());
        let cert = parse(&held);

        assert!(!held.is_certificate_authority());
        assert_eq!(cert.subject(), cert.issuer());
        assert_eq!(
            cert.signature_algorithm.algorithm,
            OID_SIG_ECDSA_WITH_SHA256
        );
        assert_eq!(
            cert.public_key().algorithm.algorithm,
            OID_KEY_TYPE_EC_PUBLIC_KEY
        );

        let basic = cert.basic_constraints().unwrap().unwrap().value;
        assert!(!basic.ca);
        let key_usage = cert.key_usage().unwrap().unwrap().value;
        assert!(key_usage.digital_signature());
        assert!(!key_usage.key_cert_sign());
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);

        let not_before = cert.validity().not_before.timestamp();
        let not_after = cert.validity().not_after.timestamp();
        assert!(
            (before - 61..=after - 59).contains(&not_before),
            "{not_before}"
        );
        assert!(
            (before + 86_399..=after + 86_400).contains(&not_after),
            "{not_after}"
        );

        // The default common name is unique per key.
        let other = HeldCertificate::builder().build().unwrap();
        assert_ne!(parse(&other).subject(), cert.subject());
    }

    #[test]
    fn names_serial_and_subject_alternative_names() {
        let held = HeldCertificate::builder()
            .common_name("cash.app")
            .organizational_unit("engineering")
            .serial_number(42)
            .add_subject_alternative_name("*.example.com")
            .add_subject_alternative_name("example.com")
            .add_subject_alternative_name("127.0.0.1")
            .add_subject_alternative_name("::1")
            .build()
            .unwrap();
        let cert = parse(&held);

        let cn = cert.subject().iter_common_name().next().unwrap();
        assert_eq!(cn.as_str().unwrap(), "cash.app");
        let ou = cert.subject().iter_organizational_unit().next().unwrap();
        assert_eq!(ou.as_str().unwrap(), "engineering");
        assert_eq!(cert.raw_serial(), [42]);

        let sans = &cert
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names;
        let mut loopback_v6 = [0u8; 16];
        loopback_v6[15] = 1;
        assert_eq!(
            sans,
            &vec![
                GeneralName::DNSName("*.example.com"),
                GeneralName::DNSName("example.com"),
                GeneralName::IPAddress(&[127, 0, 0, 1]),
                GeneralName::IPAddress(&loopback_v6),
            ]
        );
    }

    #[test]
    fn certificate_authority_signs_with_path_length() {
        let root = HeldCertificate::builder()
            .common_name("root")
            .certificate_authority(1)
            .build()
            .unwrap();
        let intermediate = HeldCertificate::builder()
            .common_name("intermediate")
            .certificate_authority(0)
            .signed_by(&root)
            .build()
            .unwrap();
        let leaf = HeldCertificate::builder()
            .signed_by(&intermediate)
            .build()
            .unwrap();

        assert!(root.is_certificate_authority());
        let root_cert = parse(&root);
        let basic = root_cert.basic_constraints().unwrap().unwrap().value;
        assert!(basic.ca);
        assert_eq!(basic.path_len_constraint, Some(1));
        let key_usage = root_cert.key_usage().unwrap().unwrap().value;
        assert!(key_usage.key_cert_sign() && key_usage.crl_sign());
        assert!(root_cert.extended_key_usage().unwrap().is_none());

        let intermediate_cert = parse(&intermediate);
        let basic = intermediate_cert
            .basic_constraints()
            .unwrap()
            .unwrap()
            .value;
        assert_eq!(basic.path_len_constraint, Some(0));
        assert_eq!(intermediate_cert.issuer(), root_cert.subject());
        assert_eq!(parse(&leaf).issuer(), intermediate_cert.subject());
    }

    #[test]
    fn explicit_validity_in_the_past_and_in_the_future() {
        let day = Duration::from_secs(86_400);
        let now = SystemTime::now();
        let expired = HeldCertificate::builder()
            .validity(now - 2 * day, now - day)
            .build()
            .unwrap();
        let cert = parse(&expired);
        assert_eq!(cert.validity().not_before.timestamp(), unix(now - 2 * day));
        assert_eq!(cert.validity().not_after.timestamp(), unix(now - day));

        let short = HeldCertificate::builder()
            .duration(Duration::from_secs(3600))
            .build()
            .unwrap();
        let cert = parse(&short);
        let length = cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp();
        assert!((3659..=3661).contains(&length), "{length}");
    }

    #[test]
    fn ed25519_and_rsa_keys() {
        let ed = HeldCertificate::builder().ed25519().build().unwrap();
        assert_eq!(parse(&ed).signature_algorithm.algorithm, OID_SIG_ED25519);

        let rsa = HeldCertificate::builder().rsa2048().build().unwrap();
        let cert = parse(&rsa);
        assert_eq!(cert.signature_algorithm.algorithm, OID_PKCS1_SHA256WITHRSA);
        assert_eq!(
            cert.public_key().algorithm.algorithm,
            OID_PKCS1_RSAENCRYPTION
        );
        assert!(cert.key_usage().unwrap().unwrap().value.key_encipherment());

        // The issuer's key decides the signature algorithm.
        let signed_by_rsa = HeldCertificate::builder().signed_by(&rsa).build().unwrap();
        let cert = parse(&signed_by_rsa);
        assert_eq!(cert.signature_algorithm.algorithm, OID_PKCS1_SHA256WITHRSA);
        assert_eq!(
            cert.public_key().algorithm.algorithm,
            OID_KEY_TYPE_EC_PUBLIC_KEY
        );
    }

    #[test]
    fn pem_and_pkcs8_encodings() {
        for held in [
            HeldCertificate::builder().build().unwrap(),
            HeldCertificate::builder().ed25519().build().unwrap(),
            HeldCertificate::builder().rsa2048().build().unwrap(),
        ] {
            let pem = held.certificate_pem();
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
            assert!(
                pem.trim_end().ends_with("-----END CERTIFICATE-----"),
                "{pem}"
            );
            let key_pem = held.private_key_pkcs8_pem();
            assert!(
                key_pem.starts_with("-----BEGIN PRIVATE KEY-----"),
                "{key_pem}"
            );

            let PrivateKeyDer::Pkcs8(key) = held.private_key_der() else {
                panic!("not PKCS#8");
            };
            // rustls can load the key.
            let provider = rustls::crypto::aws_lc_rs::default_provider();
            provider
                .key_provider
                .load_private_key(PrivateKeyDer::Pkcs8(key))
                .unwrap();
        }
    }

    #[test]
    fn spki_pin_hashes_the_certificate_subject_public_key_info() {
        for held in [
            HeldCertificate::builder().build().unwrap(),
            HeldCertificate::builder().ed25519().build().unwrap(),
            HeldCertificate::builder().rsa2048().build().unwrap(),
        ] {
            let cert = parse(&held);
            let expected = format!(
                "sha256/{}",
                STANDARD.encode(Sha256::digest(cert.public_key().raw))
            );
            assert_eq!(held.spki_sha256_pin(), expected);
        }
    }

    #[test]
    fn invalid_subject_alternative_name_is_an_error() {
        let error = HeldCertificate::builder()
            .add_subject_alternative_name("exämple.com")
            .build()
            .unwrap_err();
        assert!(
            error.to_string().starts_with("certificate error: "),
            "{error}"
        );
        assert!(!error.message().is_empty());
    }

    #[test]
    fn out_of_range_duration_is_an_error() {
        let error = HeldCertificate::builder()
            .duration(Duration::MAX)
            .build()
            .unwrap_err();
        assert!(error.message().contains("validity"), "{error}");
    }

    #[test]
    fn held_certificates_cross_threads_and_clones_share_the_key() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<HeldCertificate>();
        assert_send_sync::<HeldCertificateBuilder>();
        assert_send_sync::<CertificateError>();

        let held = HeldCertificate::builder().build().unwrap();
        let clone = held.clone();
        assert_eq!(clone.spki_sha256_pin(), held.spki_sha256_pin());
        assert_eq!(clone.private_key_pkcs8_pem(), held.private_key_pkcs8_pem());
        let debug = format!("{held:?}");
        assert!(debug.contains("sha256/"), "{debug}");
        assert!(!debug.contains(&held.private_key_pkcs8_pem()), "{debug}");
    }
}

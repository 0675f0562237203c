//! TLS settings: trusted roots, client certificate, TLS versions, cleartext policy and
//! certificate pinning — OkHttp's `ConnectionSpec`, `CertificatePinner` and socket factory
//! settings — built once into the rustls configurations every connection shares.

mod builder;
mod client_identity;
pub(crate) mod distinguished_name;
mod roots;
pub(crate) mod spki;
mod verifier;

use std::fmt;
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{ClientConfig, ClientConnection, RootCertStore, SupportedProtocolVersion};
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};

use crate::certificate_pinner::ChainEntry;
use crate::{
    Address, CertificatePinner, Error, ErrorKind, Handshake, Protocol, Scheme, SettingsId,
};

pub use builder::TlsConfigBuilder;
pub(crate) use client_identity::recording_client_certificate;

/// A TLS protocol version a client may negotiate.
///
/// ```
/// use oktower::TlsVersion;
/// use rustls::ProtocolVersion;
///
/// assert_eq!(TlsVersion::of(ProtocolVersion::TLSv1_3), Some(TlsVersion::Tls13));
/// assert_eq!(TlsVersion::of(ProtocolVersion::TLSv1_1), None);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246).
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

impl TlsVersion {
    /// The version rustls reports, if it is one of these.
    pub fn of(version: rustls::ProtocolVersion) -> Option<TlsVersion> {
        match version {
            rustls::ProtocolVersion::TLSv1_2 => Some(TlsVersion::Tls12),
            rustls::ProtocolVersion::TLSv1_3 => Some(TlsVersion::Tls13),
            _ => None,
        }
    }

    fn rustls(self) -> &'static SupportedProtocolVersion {
        match self {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        }
    }
}

/// The TLS settings of a client: which servers are trusted (platform roots and added roots, or
/// nothing checked at all), the client certificate for mTLS, the TLS versions (1.3 and 1.2 by
/// default, as OkHttp's `MODERN_TLS`), whether cleartext `http:` is permitted, and the
/// [`CertificatePinner`]. The cipher suites are rustls's: AEAD only, about OkHttp's
/// `RESTRICTED_TLS` set (the CBC and 3DES suites `MODERN_TLS` adds do not exist in rustls).
///
/// Building one does the expensive work once: platform roots are loaded once per process, and
/// the rustls `ClientConfig` for every ALPN list is built once and shared by all connections
/// (so are its TLS session cache and crypto provider: aws-lc-rs with the `aws-lc-rs` feature,
/// else ring; never the process default).
///
/// Cheap to clone. Its [`settings_id`](Self::settings_id) is the TLS identity an
/// [`Address`] carries: clones share it, separately built configurations never do.
///
/// ```
/// use std::sync::Arc;
/// use oktower::{Address, CertificatePinner, NoProxy, Protocol, Scheme, SystemDns, TlsConfig};
/// use oktower_testkit::TestCertificates;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let certificates = TestCertificates::localhost()?;
/// let tls = TlsConfig::builder()
///     .without_platform_roots()
///     .add_root_certificate(certificates.root().certificate_der().clone())
///     .certificate_pinner(
///         CertificatePinner::builder()
///             .add("localhost", [certificates.root().spki_sha256_pin()])
///             .build()?,
///     )
///     .build()?;
///
/// let address = Address::builder(Scheme::Https, "localhost", 443, Arc::new(SystemDns), Arc::new(NoProxy))
///     .tls(tls.settings_id())
///     .build();
/// assert_eq!(address.tls(), Some(tls.clone().settings_id()));
/// assert_eq!(tls.client_config(address.protocols()).alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
/// assert!(tls.check_address(&address).is_ok());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    inner: Arc<Inner>,
}

struct Inner {
    /// One configuration per ALPN list, indexed by [`alpn_slot`].
    client_configs: [Arc<ClientConfig>; ALPN_SLOTS],
    roots: Arc<RootCertStore>,
    algorithms: WebPkiSupportedAlgorithms,
    pinner: CertificatePinner,
    versions: Vec<TlsVersion>,
    cleartext_permitted: bool,
    custom_verifier: bool,
    platform_root_errors: Arc<[String]>,
    /// The client certificate chain, if one is configured.
    client_chain: Vec<CertificateDer<'static>>,
}

/// `[]`, `[h2]`, `[http/1.1]`, `[h2, http/1.1]`, `[http/1.1, h2]`.
const ALPN_SLOTS: usize = 5;

/// The ALPN protocol lists of the [`ALPN_SLOTS`], in slot order.
fn alpn_lists() -> [Vec<Vec<u8>>; ALPN_SLOTS] {
    let (h2, h1) = (b"h2".to_vec(), b"http/1.1".to_vec());
    [
        Vec::new(),
        vec![h2.clone()],
        vec![h1.clone()],
        vec![h2.clone(), h1.clone()],
        vec![h1, h2],
    ]
}

/// The slot of the ALPN list `protocols` produce: their ALPN ids in order, without repeats.
fn alpn_slot(protocols: &[Protocol]) -> usize {
    let mut first = None;
    for protocol in protocols {
        let protocol = match protocol {
            Protocol::Http2 | Protocol::Http11 => *protocol,
            Protocol::H2PriorKnowledge => continue,
        };
        match first {
            None => first = Some(protocol),
            Some(seen) if seen != protocol => {
                return if seen == Protocol::Http2 { 3 } else { 4 };
            }
            Some(_) => {}
        }
    }
    match first {
        None => 0,
        Some(Protocol::Http2) => 1,
        Some(_) => 2,
    }
}

impl TlsConfig {
    /// Starts a configuration: platform roots, TLS 1.3 and 1.2, cleartext permitted, no pins,
    /// no client certificate.
    pub fn builder() -> TlsConfigBuilder {
        TlsConfigBuilder::new()
    }

    /// The identity of these settings, for [`AddressBuilder::tls`](crate::AddressBuilder::tls).
    pub fn settings_id(&self) -> SettingsId {
        SettingsId::of(&self.inner)
    }

    /// The rustls configuration for a connection offering `protocols` (an address's
    /// protocols, preferred first) by ALPN. Built once per ALPN list.
    pub fn client_config(&self, protocols: &[Protocol]) -> &Arc<ClientConfig> {
        &self.inner.client_configs[alpn_slot(protocols)]
    }

    /// The pinner.
    pub fn certificate_pinner(&self) -> &CertificatePinner {
        &self.inner.pinner
    }

    /// The allowed TLS versions, newest first.
    pub fn tls_versions(&self) -> &[TlsVersion] {
        &self.inner.versions
    }

    /// Whether `http:` URLs may be fetched (OkHttp's `ConnectionSpec.CLEARTEXT`).
    pub fn is_cleartext_permitted(&self) -> bool {
        self.inner.cleartext_permitted
    }

    /// Whether server certificates are checked by something other than the standard verifier
    /// (here: not at all, after
    /// [`danger_accept_invalid_certificates`](TlsConfigBuilder::danger_accept_invalid_certificates)).
    /// Such connections are never coalesced.
    pub fn has_custom_verifier(&self) -> bool {
        self.inner.custom_verifier
    }

    /// How many root certificates are trusted.
    pub fn root_certificate_count(&self) -> usize {
        self.inner.roots.len()
    }

    /// What went wrong loading the platform's root certificates (unreadable files, unparsable
    /// certificates); the roots that loaded are used. Empty without platform roots.
    pub fn platform_root_errors(&self) -> &[String] {
        &self.inner.platform_root_errors
    }

    /// Fails if a connection to `address` must not be made with these settings, with OkHttp's
    /// messages: `http:` when cleartext is not permitted ("CLEARTEXT communication not enabled
    /// for client"), or `https:` with HTTP/2 prior knowledge ("H2_PRIOR_KNOWLEDGE cannot be used
    /// with HTTPS"). OkHttp's third message, for a host denied by Android's network security
    /// policy, has no equivalent here.
    pub fn check_address(&self, address: &Address) -> Result<(), Error> {
        let message = match address.scheme() {
            Scheme::Http if !self.inner.cleartext_permitted => {
                "CLEARTEXT communication not enabled for client"
            }
            Scheme::Https if address.protocols().contains(&Protocol::H2PriorKnowledge) => {
                "H2_PRIOR_KNOWLEDGE cannot be used with HTTPS"
            }
            Scheme::Http | Scheme::Https => return Ok(()),
        };
        Err(Error::new(ErrorKind::Builder, message).with_url(address.uri().to_string()))
    }

    /// The client certificate chain, empty without one.
    pub(crate) fn client_chain(&self) -> &[CertificateDer<'static>] {
        &self.inner.client_chain
    }

    /// Checks the pins of `host` against the chain a server presented (leaf first) at `now`.
    ///
    /// The pins are matched against the chain webpki builds from `peer` to one of the trusted
    /// roots — the leaf, the intermediates actually used, and the trust anchor — never against
    /// `peer` as sent (see [`CertificatePinner`]). Nothing is done when no pin applies. Without
    /// certificate verification only the leaf can match: it is the one certificate whose key
    /// the handshake proved the server holds.
    pub(crate) fn check_pins(
        &self,
        host: &str,
        peer: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<(), Error> {
        let pinner = &self.inner.pinner;
        if !pinner.has_pins_for(host) {
            return Ok(());
        }
        let Some((leaf, intermediates)) = peer.split_first() else {
            return Err(pinner.failure(host, &[], Some("no peer certificates")));
        };
        let leaf_anchor = webpki::anchor_from_trusted_cert(leaf).ok();
        let leaf_entry = leaf_anchor
            .as_ref()
            .map_or_else(ChainEntry::unparsable, ChainEntry::of_anchor);
        if self.inner.custom_verifier {
            return pinner.check_entries(host, &[leaf_entry]);
        }
        let unverified = |reason: String| pinner.failure(host, &[leaf_entry], Some(&reason));
        let end_entity = webpki::EndEntityCert::try_from(leaf)
            .map_err(|e| unverified(format!("the certificate cannot be parsed: {e}")))?;
        let path = end_entity
            .verify_for_usage(
                self.inner.algorithms.all,
                &self.inner.roots.roots,
                intermediates,
                now,
                webpki::KeyUsage::server_auth(),
                None,
                None,
            )
            .map_err(|e| unverified(format!("the chain does not verify: {e}")))?;
        let used: Vec<CertificateDer<'_>> =
            path.intermediate_certificates().map(|c| c.der()).collect();
        let used: Vec<Option<TrustAnchor<'_>>> = used
            .iter()
            .map(|certificate| webpki::anchor_from_trusted_cert(certificate).ok())
            .collect();
        let mut chain = Vec::with_capacity(used.len() + 2);
        chain.push(leaf_entry);
        chain.extend(used.iter().map(|anchor| {
            anchor
                .as_ref()
                .map_or_else(ChainEntry::unparsable, ChainEntry::of_anchor)
        }));
        chain.push(ChainEntry::of_anchor(path.anchor()));
        pinner.check_entries(host, &chain)
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &*self.inner;
        f.debug_struct("TlsConfig")
            .field("roots", &inner.roots.len())
            .field("versions", &inner.versions)
            .field("cleartext_permitted", &inner.cleartext_permitted)
            .field("custom_verifier", &inner.custom_verifier)
            .field("client_certificate", &!inner.client_chain.is_empty())
            .field("pinner", &inner.pinner)
            .finish()
    }
}

/// The crypto provider: aws-lc-rs with the `aws-lc-rs` feature (also when `ring` is on too),
/// else ring.
#[cfg(feature = "aws-lc-rs")]
fn provider() -> CryptoProvider {
    rustls::crypto::aws_lc_rs::default_provider()
}

/// The crypto provider: aws-lc-rs with the `aws-lc-rs` feature, else ring.
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!("oktower needs a rustls crypto provider: enable the `aws-lc-rs` or `ring` feature");

/// What the handshake of `connection` settled, once it has completed (`None` before).
///
/// rustls does not say whether a client certificate was sent, so the caller passes the chain
/// it presented as `local_certificates` (empty if none; [`connect_tls`](crate::connect_tls)
/// learns it from its certificate resolver). The peer certificates are the chain as the
/// server sent it.
///
/// ```
/// use std::sync::Arc;
/// use oktower::handshake_of;
/// use oktower_testkit::TestCertificates;
///
/// let certificates = TestCertificates::localhost().unwrap();
/// let connection = rustls::ClientConnection::new(
///     certificates.client_config(&[]),
///     "localhost".try_into().unwrap(),
/// )
/// .unwrap();
/// assert!(handshake_of(&connection, &[]).is_none());
/// ```
pub fn handshake_of(
    connection: &ClientConnection,
    local_certificates: &[CertificateDer<'static>],
) -> Option<Handshake> {
    if connection.is_handshaking() {
        return None;
    }
    let version = connection.protocol_version()?;
    let suite = connection.negotiated_cipher_suite()?.suite();
    let peer = connection.peer_certificates().unwrap_or_default().to_vec();
    Some(Handshake::new(
        version,
        suite,
        peer,
        local_certificates.to_vec(),
    ))
}

#[cfg(test)]
mod tests;

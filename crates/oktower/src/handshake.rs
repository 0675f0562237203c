//! What a TLS handshake settled.

use rustls::{CipherSuite, ProtocolVersion};
use rustls_pki_types::CertificateDer;

/// The outcome of a TLS handshake, kept on the connection and reported on responses: the
/// protocol version, the cipher suite, and the certificate chains of both sides.
///
/// ```
/// use oktower::Handshake;
/// use rustls::{CipherSuite, ProtocolVersion};
///
/// let handshake = Handshake::new(
///     ProtocolVersion::TLSv1_3,
///     CipherSuite::TLS13_AES_128_GCM_SHA256,
///     Vec::new(),
///     Vec::new(),
/// );
/// assert_eq!(handshake.tls_version(), ProtocolVersion::TLSv1_3);
/// assert!(handshake.peer_certificates().is_empty());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake {
    tls_version: ProtocolVersion,
    cipher_suite: CipherSuite,
    peer_certificates: Vec<CertificateDer<'static>>,
    local_certificates: Vec<CertificateDer<'static>>,
}

impl Handshake {
    /// A handshake record.
    pub fn new(
        tls_version: ProtocolVersion,
        cipher_suite: CipherSuite,
        peer_certificates: Vec<CertificateDer<'static>>,
        local_certificates: Vec<CertificateDer<'static>>,
    ) -> Self {
        Handshake {
            tls_version,
            cipher_suite,
            peer_certificates,
            local_certificates,
        }
    }

    /// The negotiated TLS version.
    pub fn tls_version(&self) -> ProtocolVersion {
        self.tls_version
    }

    /// The negotiated cipher suite.
    pub fn cipher_suite(&self) -> CipherSuite {
        self.cipher_suite
    }

    /// The server's certificate chain as it sent it, leaf first.
    pub fn peer_certificates(&self) -> &[CertificateDer<'static>] {
        &self.peer_certificates
    }

    /// The client certificate chain presented (mTLS), leaf first; empty without one.
    pub fn local_certificates(&self) -> &[CertificateDer<'static>] {
        &self.local_certificates
    }
}

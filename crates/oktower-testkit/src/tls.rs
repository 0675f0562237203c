//! The server's TLS settings.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// TLS settings of a [`MockWebServer`](crate::MockWebServer): the certificate chain it presents,
/// its private key, and whether it asks clients for certificates (mTLS).
///
/// Build one from generated certificates with
/// [`HeldCertificate::server_tls`](crate::HeldCertificate::server_tls) or from DER with
/// [`ServerTls::new`].
#[derive(Debug)]
pub struct ServerTls {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    client_auth: ClientAuth,
}

impl Clone for ServerTls {
    fn clone(&self) -> Self {
        ServerTls {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
            client_auth: self.client_auth.clone(),
        }
    }
}

/// Whether the server asks TLS clients for a certificate.
#[derive(Clone, Debug, Default)]
enum ClientAuth {
    #[default]
    None,
    Request(Vec<CertificateDer<'static>>),
    Require(Vec<CertificateDer<'static>>),
}

impl ServerTls {
    /// Presents `chain` (leaf first, then intermediates) with the leaf's private `key`.
    pub fn new(chain: Vec<CertificateDer<'static>>, key: PrivateKeyDer<'static>) -> Self {
        ServerTls {
            chain,
            key,
            client_auth: ClientAuth::None,
        }
    }

    /// Asks clients for a certificate issued by one of `roots`, but accepts clients without one.
    pub fn request_client_auth(mut self, roots: Vec<CertificateDer<'static>>) -> Self {
        self.client_auth = ClientAuth::Request(roots);
        self
    }

    /// Requires clients to present a certificate issued by one of `roots`.
    pub fn require_client_auth(mut self, roots: Vec<CertificateDer<'static>>) -> Self {
        self.client_auth = ClientAuth::Require(roots);
        self
    }

    /// The certificate chain the server presents, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// Builds the rustls configuration, advertising `alpn` in order.
    pub(crate) fn server_config(
        &self,
        alpn: Vec<Vec<u8>>,
    ) -> Result<Arc<ServerConfig>, rustls::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = match &self.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Request(roots) | ClientAuth::Require(roots) => {
                let mut store = RootCertStore::empty();
                for root in roots {
                    store.add(root.clone())?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(store), provider);
                let verifier = if matches!(self.client_auth, ClientAuth::Request(_)) {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|e| rustls::Error::General(e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_single_cert(self.chain.clone(), self.key.clone_key())?;
        config.alpn_protocols = alpn;
        Ok(Arc::new(config))
    }
}

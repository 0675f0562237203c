//! Building a [`TlsConfig`].

use std::fmt;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::client_identity::ClientIdentity;
use super::verifier::AcceptAnyCertificate;
use super::{ALPN_SLOTS, Inner, TlsConfig, TlsVersion, alpn_lists, provider, roots};
use crate::{CertificatePinner, Error, ErrorKind};

/// Builds a [`TlsConfig`]; see there for an example. Settings are taken by value, and every
/// problem (an unparsable root, a key that does not match its certificate, no TLS version, no
/// trusted root at all) is reported by [`build`](Self::build).
pub struct TlsConfigBuilder {
    platform_roots: bool,
    roots: Vec<CertificateDer<'static>>,
    client_identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    versions: Vec<TlsVersion>,
    cleartext_permitted: bool,
    pinner: CertificatePinner,
    accept_invalid_certificates: bool,
}

impl TlsConfigBuilder {
    pub(super) fn new() -> Self {
        TlsConfigBuilder {
            platform_roots: true,
            roots: Vec::new(),
            client_identity: None,
            versions: vec![TlsVersion::Tls13, TlsVersion::Tls12],
            cleartext_permitted: true,
            pinner: CertificatePinner::default(),
            accept_invalid_certificates: false,
        }
    }

    /// Also trusts `root` (a DER certificate authority certificate).
    pub fn add_root_certificate(mut self, root: CertificateDer<'static>) -> Self {
        self.roots.push(root);
        self
    }

    /// Does not trust the platform's root certificates; only added roots are trusted. The
    /// platform roots are then never loaded.
    pub fn without_platform_roots(mut self) -> Self {
        self.platform_roots = false;
        self
    }

    /// Presents `chain` (leaf first) with its private `key` when a server asks for a client
    /// certificate (mutual TLS).
    pub fn client_certificate(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.client_identity = Some((chain, key));
        self
    }

    /// The TLS versions to offer (TLS 1.3 and 1.2 by default, OkHttp's `MODERN_TLS`).
    pub fn tls_versions(mut self, versions: &[TlsVersion]) -> Self {
        self.versions = versions.to_vec();
        self
    }

    /// Whether `http:` URLs may be fetched (true by default; OkHttp's `ConnectionSpec.CLEARTEXT`
    /// in the client's connection specs). See [`TlsConfig::check_address`].
    pub fn cleartext_permitted(mut self, permitted: bool) -> Self {
        self.cleartext_permitted = permitted;
        self
    }

    /// Pins certificates of some hosts.
    pub fn certificate_pinner(mut self, pinner: CertificatePinner) -> Self {
        self.pinner = pinner;
        self
    }

    /// Accepts any server certificate: untrusted, expired, or for another host (what
    /// `curl -k` does). The server must still prove it holds the key of the certificate it
    /// presents. This counts as a custom verifier: connections are never coalesced, and pins
    /// can only match the leaf certificate.
    ///
    /// Connections made this way are open to any active attacker; use it for diagnosis only.
    pub fn danger_accept_invalid_certificates(mut self) -> Self {
        self.accept_invalid_certificates = true;
        self
    }

    /// The configuration. Loads the platform roots on first use in the process (a blocking
    /// read of the system's certificate store), unless
    /// [`without_platform_roots`](Self::without_platform_roots) was called.
    pub fn build(self) -> Result<TlsConfig, Error> {
        let builder_error = |message: String| Error::new(ErrorKind::Builder, message);
        let provider = Arc::new(provider());

        let mut versions = self.versions;
        versions.sort_unstable_by(|a, b| b.cmp(a));
        versions.dedup();
        if versions.is_empty() {
            return Err(builder_error("no TLS version is allowed".to_owned()));
        }

        let (platform_store, platform_root_errors) = if self.platform_roots {
            let platform = roots::platform();
            (Some(platform.store.clone()), platform.errors.clone())
        } else {
            (None, Arc::from(Vec::new()))
        };
        let roots = match (platform_store, self.roots.is_empty()) {
            (Some(store), true) => store,
            (platform, _) => {
                let mut store = platform.map_or_else(RootCertStore::empty, |s| (*s).clone());
                for root in self.roots {
                    store.add(root).map_err(|e| {
                        builder_error("invalid root certificate".to_owned()).with_source(e)
                    })?;
                }
                Arc::new(store)
            }
        };

        let verifier: Arc<dyn ServerCertVerifier> = if self.accept_invalid_certificates {
            Arc::new(AcceptAnyCertificate::new(
                provider.signature_verification_algorithms,
            ))
        } else if roots.is_empty() {
            let mut message = "no trusted root certificates".to_owned();
            if !platform_root_errors.is_empty() {
                message.push_str(&format!(
                    " (loading the platform roots failed: {})",
                    platform_root_errors.join("; ")
                ));
            }
            return Err(builder_error(message));
        } else {
            WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
                .build()
                .map_err(|e| builder_error("invalid root certificates".to_owned()).with_source(e))?
        };

        let rustls_versions: Vec<_> = versions.iter().map(|v| v.rustls()).collect();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&rustls_versions)
            .map_err(|e| builder_error("unsupported TLS versions".to_owned()).with_source(e))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let (base, client_chain) = match self.client_identity {
            Some((chain, key)) => {
                if chain.is_empty() {
                    return Err(builder_error(
                        "the client certificate chain is empty".to_owned(),
                    ));
                }
                let key = CertifiedKey::from_der(chain.clone(), key, &provider).map_err(|e| {
                    builder_error("invalid client certificate or key".to_owned()).with_source(e)
                })?;
                let resolver = Arc::new(ClientIdentity::new(Arc::new(key)));
                (builder.with_client_cert_resolver(resolver), chain)
            }
            None => (builder.with_no_client_auth(), Vec::new()),
        };
        // Clones share the session cache, so sessions are resumed whatever the ALPN list.
        let client_configs: [Arc<ClientConfig>; ALPN_SLOTS] = alpn_lists().map(|alpn| {
            let mut config = base.clone();
            config.alpn_protocols = alpn;
            Arc::new(config)
        });

        Ok(TlsConfig {
            inner: Arc::new(Inner {
                client_configs,
                roots,
                algorithms: provider.signature_verification_algorithms,
                pinner: self.pinner,
                versions,
                cleartext_permitted: self.cleartext_permitted,
                custom_verifier: self.accept_invalid_certificates,
                platform_root_errors,
                client_chain,
            }),
        })
    }
}

impl fmt::Debug for TlsConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfigBuilder")
            .field("platform_roots", &self.platform_roots)
            .field("added_roots", &self.roots.len())
            .field("client_certificate", &self.client_identity.is_some())
            .field("versions", &self.versions)
            .field("cleartext_permitted", &self.cleartext_permitted)
            .field("pinner", &self.pinner)
            .field(
                "accept_invalid_certificates",
                &self.accept_invalid_certificates,
            )
            .finish()
    }
}

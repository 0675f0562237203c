//! Certificates generated at test time: [`HeldCertificate`] for any chain a test needs, and
//! [`TestCertificates`] for the common case of one root and one server certificate.
//!
//! ```
//! use oktower_testkit::{CertificateError, HeldCertificate};
//!
//! # fn main() -> Result<(), CertificateError> {
//! let root = HeldCertificate::builder()
//!     .common_name("root")
//!     .certificate_authority(1)
//!     .build()?;
//! let intermediate = HeldCertificate::builder()
//!     .common_name("intermediate")
//!     .certificate_authority(0)
//!     .signed_by(&root)
//!     .build()?;
//! let leaf = HeldCertificate::builder()
//!     .add_subject_alternative_name("localhost")
//!     .add_subject_alternative_name("127.0.0.1")
//!     .signed_by(&intermediate)
//!     .build()?;
//!
//! // The server presents the leaf, then the intermediate; clients trust the root.
//! let tls = leaf.server_tls(&[&intermediate]);
//! assert_eq!(tls.chain().len(), 2);
//! assert!(root.certificate_pem().starts_with("-----BEGIN CERTIFICATE-----"));
//! assert!(leaf.spki_sha256_pin().starts_with("sha256/"));
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use rustls::client::{Resumption, WantsClientCert};
use rustls::{ClientConfig, ConfigBuilder, RootCertStore};

use crate::{CertificateError, HeldCertificate, ServerTls};

/// A root certificate authority and a server certificate it signed, with the TLS
/// configurations a test needs on both sides.
///
/// Both certificates use ECDSA P-256 and are valid from one minute ago for 24 hours. Client
/// configurations trust only the root and use the aws-lc-rs crypto provider, never the process
/// default.
///
/// ```
/// use oktower_testkit::{CertificateError, MockWebServer, TestCertificates};
///
/// # fn main() -> Result<(), CertificateError> {
/// let certificates = TestCertificates::localhost()?;
///
/// // For the server, with a client certificate required:
/// let tls = certificates
///     .server_tls()
///     .require_client_auth(vec![certificates.root().certificate_der().clone()]);
/// let _builder = MockWebServer::builder().tls(tls);
///
/// // For the client under test:
/// let config = certificates.client_config(&[b"h2", b"http/1.1"]);
/// assert_eq!(config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
/// let client = certificates.client_certificate("client")?;
/// let _mtls_config = certificates.client_config_with_identity(&[], &client)?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct TestCertificates {
    root: HeldCertificate,
    leaf: HeldCertificate,
    /// The root only.
    roots: RootCertStore,
    /// Trusts `roots`; no ALPN, no client certificate.
    client_config: ClientConfig,
}

impl TestCertificates {
    /// A root and a server certificate for `localhost`, `127.0.0.1` and `::1`.
    pub fn localhost() -> Result<Self, CertificateError> {
        TestCertificates::for_hosts(&["localhost", "127.0.0.1", "::1"])
    }

    /// A root and a server certificate whose subject alternative names are `hosts`: DNS names,
    /// wildcards like `*.example.com`, or IP addresses. Fails if `hosts` is empty.
    pub fn for_hosts(hosts: &[&str]) -> Result<Self, CertificateError> {
        let Some(first) = hosts.first() else {
            return Err(CertificateError::new("no hosts for the server certificate"));
        };
        // The default common name is unique, so that roots of different instances never
        // share a name and a peer trusting one does not mistake another for it.
        let root = HeldCertificate::builder()
            .organizational_unit("oktower-testkit root")
            .certificate_authority(0)
            .build()?;
        let leaf = hosts
            .iter()
            .fold(HeldCertificate::builder(), |builder, host| {
                builder.add_subject_alternative_name(host)
            })
            .common_name(first)
            .signed_by(&root)
            .build()?;
        let mut roots = RootCertStore::empty();
        roots
            .add(root.certificate_der().clone())
            .map_err(|e| CertificateError::new(e.to_string()))?;
        let client_config = client_builder(&roots)?.with_no_client_auth();
        Ok(TestCertificates {
            root,
            leaf,
            roots,
            client_config,
        })
    }

    /// The root certificate authority, which signed [`leaf`](Self::leaf) and signs
    /// [`client_certificate`](Self::client_certificate)s.
    pub fn root(&self) -> &HeldCertificate {
        &self.root
    }

    /// The server certificate.
    pub fn leaf(&self) -> &HeldCertificate {
        &self.leaf
    }

    /// TLS settings for a [`MockWebServer`](crate::MockWebServer) presenting the server
    /// certificate.
    pub fn server_tls(&self) -> ServerTls {
        self.leaf.server_tls(&[])
    }

    /// The certificates a client must trust: the root only.
    pub fn root_store(&self) -> RootCertStore {
        self.roots.clone()
    }

    /// A client configuration trusting only the root and offering `alpn` (in order; empty for
    /// none), without a client certificate. Each configuration has its own session cache, so
    /// its first connection to a server makes a full handshake.
    pub fn client_config(&self, alpn: &[&[u8]]) -> Arc<ClientConfig> {
        let mut config = self.client_config.clone();
        // A clone shares the original's session cache.
        config.resumption = Resumption::default();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }

    /// Like [`client_config`](Self::client_config), presenting `identity` as client
    /// certificate (mTLS). Fails if rustls rejects the identity's key.
    pub fn client_config_with_identity(
        &self,
        alpn: &[&[u8]],
        identity: &HeldCertificate,
    ) -> Result<Arc<ClientConfig>, CertificateError> {
        let mut config = client_builder(&self.roots)?
            .with_client_auth_cert(
                vec![identity.certificate_der().clone()],
                identity.private_key_der(),
            )
            .map_err(|e| CertificateError::new(e.to_string()))?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }

    /// A new client certificate signed by the root, for
    /// [`client_config_with_identity`](Self::client_config_with_identity).
    pub fn client_certificate(
        &self,
        common_name: &str,
    ) -> Result<HeldCertificate, CertificateError> {
        HeldCertificate::builder()
            .common_name(common_name)
            .signed_by(&self.root)
            .build()
    }
}

/// A client configuration builder trusting `roots`, with the aws-lc-rs provider.
fn client_builder(
    roots: &RootCertStore,
) -> Result<ConfigBuilder<ClientConfig, WantsClientCert>, CertificateError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CertificateError::new(e.to_string()))?
        .with_root_certificates(roots.clone()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io;
    use std::time::Duration;

    use rustls_pki_types::ServerName;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    use super::*;

    /// Runs one TLS handshake on loopback: the server writes `hello` and closes. Returns the
    /// server's and the client's outcome.
    async fn exchange(
        server: &ServerTls,
        client: Arc<ClientConfig>,
        server_name: &str,
    ) -> (io::Result<()>, io::Result<Vec<u8>>) {
        let server_config = server.server_config(vec![b"h2".to_vec()]).unwrap();
        let (server_result, client_result) =
            exchange_with(server_config, client, server_name).await;
        (server_result, client_result.map(|(received, _)| received))
    }

    /// Like [`exchange`], also returning the client's handshake kind.
    async fn exchange_with(
        server_config: Arc<rustls::ServerConfig>,
        client: Arc<ClientConfig>,
        server_name: &str,
    ) -> (io::Result<()>, io::Result<(Vec<u8>, rustls::HandshakeKind)>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server_task = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await?;
            let mut tls = TlsAcceptor::from(server_config).accept(tcp).await?;
            tls.write_all(b"hello").await?;
            tls.shutdown().await
        });
        let name = ServerName::try_from(server_name.to_owned()).unwrap();
        let client_result = async {
            let tcp = TcpStream::connect(address).await?;
            let mut tls = TlsConnector::from(client).connect(name, tcp).await?;
            let mut received = Vec::new();
            tls.read_to_end(&mut received).await?;
            let kind = tls.get_ref().1.handshake_kind().unwrap();
            Ok((received, kind))
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

    fn rustls_error(error: &io::Error) -> &rustls::Error {
        error
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .unwrap_or_else(|| panic!("not a rustls error: {error:?}"))
    }

    #[tokio::test]
    async fn localhost_certificates_serve_localhost_and_loopback_addresses() {
        let certificates = TestCertificates::localhost().unwrap();
        assert!(certificates.root().is_certificate_authority());
        assert!(!certificates.leaf().is_certificate_authority());
        assert_eq!(certificates.root_store().len(), 1);
        for name in ["localhost", "127.0.0.1", "::1"] {
            let config = certificates.client_config(&[b"h2"]);
            let (server, client) = exchange(&certificates.server_tls(), config, name).await;
            server.unwrap();
            assert_eq!(client.unwrap(), b"hello", "{name}");
        }
        let config = certificates.client_config(&[]);
        let (_, client) = exchange(&certificates.server_tls(), config, "example.com").await;
        let error = client.unwrap_err();
        assert!(
            matches!(
                rustls_error(&error),
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::NotValidForName
                        | rustls::CertificateError::NotValidForNameContext { .. }
                )
            ),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn required_client_auth_accepts_a_client_signed_by_the_root_only() {
        let certificates = TestCertificates::localhost().unwrap();
        let tls = certificates
            .server_tls()
            .require_client_auth(vec![certificates.root().certificate_der().clone()]);

        let client = certificates.client_certificate("client").unwrap();
        let config = certificates
            .client_config_with_identity(&[b"h2"], &client)
            .unwrap();
        let (server, client_result) = exchange(&tls, config, "localhost").await;
        server.unwrap();
        assert_eq!(client_result.unwrap(), b"hello");

        // Without a certificate.
        let (server, client_result) =
            exchange(&tls, certificates.client_config(&[b"h2"]), "localhost").await;
        let error = server.unwrap_err();
        assert!(
            matches!(rustls_error(&error), rustls::Error::NoCertificatesPresented),
            "{error:?}"
        );
        assert!(client_result.is_err());

        // With a certificate from another root.
        let stranger = TestCertificates::localhost().unwrap();
        let stranger_identity = stranger.client_certificate("stranger").unwrap();
        let config = certificates
            .client_config_with_identity(&[], &stranger_identity)
            .unwrap();
        let (server, client_result) = exchange(&tls, config, "localhost").await;
        let error = server.unwrap_err();
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
    async fn requested_client_auth_accepts_clients_without_certificate() {
        let certificates = TestCertificates::localhost().unwrap();
        let tls = certificates
            .server_tls()
            .request_client_auth(vec![certificates.root().certificate_der().clone()]);
        let (server, client) = exchange(&tls, certificates.client_config(&[]), "localhost").await;
        server.unwrap();
        assert_eq!(client.unwrap(), b"hello");
    }

    #[tokio::test]
    async fn client_configs_do_not_share_sessions() {
        let certificates = TestCertificates::localhost().unwrap();
        let server = certificates.server_tls().server_config(vec![]).unwrap();
        let first = certificates.client_config(&[]);
        for (config, expected) in [
            (first.clone(), rustls::HandshakeKind::Full),
            (first, rustls::HandshakeKind::Resumed),
            (certificates.client_config(&[]), rustls::HandshakeKind::Full),
        ] {
            let (server_result, client) = exchange_with(server.clone(), config, "localhost").await;
            server_result.unwrap();
            let (received, kind) = client.unwrap();
            assert_eq!(received, b"hello");
            assert_eq!(kind, expected);
        }
    }

    #[test]
    fn for_hosts_needs_a_host() {
        let error = TestCertificates::for_hosts(&[]).unwrap_err();
        assert!(error.message().contains("no hosts"), "{error}");
    }
}

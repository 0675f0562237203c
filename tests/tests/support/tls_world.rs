//! A TLS origin server for `a.test` (optionally in proxy mode), and stacks that trust it.

use oktower::{ConnectLayerBuilder, ConnectionPool, Proxy, TlsConfig};
use oktower_testkit::{MockResponse, MockWebServer, ProxyMode, RecordedRequest, TestCertificates};

use super::{PATIENCE, Stack, builder, stack};

/// A TLS server for `a.test` answering "origin", and client TLS settings that trust it.
pub struct TlsWorld {
    pub server: MockWebServer,
    pub certificates: TestCertificates,
    pub pool: ConnectionPool,
}

impl TlsWorld {
    pub async fn start(proxy: ProxyMode) -> TlsWorld {
        TlsWorld::start_with(Some(proxy)).await
    }

    /// A plain TLS origin server, not in proxy mode.
    pub async fn origin() -> TlsWorld {
        TlsWorld::start_with(None).await
    }

    async fn start_with(proxy: Option<ProxyMode>) -> TlsWorld {
        let certificates = TestCertificates::for_hosts(&["a.test"]).unwrap();
        let mut server = MockWebServer::builder()
            .tls(certificates.server_tls())
            .default_response(MockResponse::new().body("origin"));
        if let Some(proxy) = proxy {
            server = server.proxy_mode(proxy);
        }
        let server = server.start().await.unwrap();
        TlsWorld {
            server,
            certificates,
            pool: ConnectionPool::default(),
        }
    }

    pub fn tls(&self) -> TlsConfig {
        TlsConfig::builder()
            .without_platform_roots()
            .add_root_certificate(self.certificates.root().certificate_der().clone())
            .build()
            .unwrap()
    }

    /// A stack whose DNS knows no host: through a proxy the origin is never resolved here.
    pub fn stack(
        &self,
        configure: impl FnOnce(ConnectLayerBuilder) -> ConnectLayerBuilder,
    ) -> Stack {
        let layer = configure(builder(&[]).pool(self.pool.clone()).tls(self.tls()))
            .build()
            .unwrap();
        stack(&layer)
    }

    /// The server as an HTTP proxy (in proxy mode).
    pub fn proxy(&self) -> Proxy {
        let addr = self.server.proxy_address();
        Proxy::http(addr.ip().to_string(), addr.port())
    }

    pub fn url(&self) -> String {
        self.server.url_with_host("https", "a.test", "/")
    }

    /// The next request the server recorded.
    pub async fn next(&self) -> RecordedRequest {
        self.server.take_request(PATIENCE).await.unwrap()
    }
}

//! hyper-util's legacy `Client` over its `HttpConnector` (TCP_NODELAY on), default pool. S3
//! sets `http2_only(true)` (prior knowledge); S7 wraps the connector in hyper-rustls
//! (`https_only`, ALPN `h2`, trusting only the server's CA), with `http2_only(true)` and a
//! resolver that maps every name to 127.0.0.1. S5 gunzips with flate2 while streaming.

use std::future::Ready;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Uri;
use http_body_util::Empty;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;

use super::super::body_reading::read_hyper_body;
use super::super::scenario::{Scenario, Transport};
use super::super::server_info::ServerInfo;
use super::request::hyper_request;
use super::tls_client_config;
use crate::BoxError;

type PlainClient = Client<HttpConnector, Empty<Bytes>>;
type TlsClient = Client<HttpsConnector<HttpConnector<LoopbackResolver>>, Empty<Bytes>>;

#[derive(Clone, Debug)]
enum Inner {
    Plain(PlainClient),
    Tls(TlsClient),
}

/// A hyper-util legacy client set up for one scenario; clones share its pool.
#[derive(Clone, Debug)]
pub struct HyperUtilClient {
    inner: Inner,
    urls: Arc<[Uri]>,
    scenario: Scenario,
}

impl HyperUtilClient {
    /// Builds the client for `scenario` against `server`.
    pub fn build(
        scenario: Scenario,
        server: &ServerInfo,
        urls: Arc<[Uri]>,
    ) -> Result<Self, BoxError> {
        let mut builder = Client::builder(TokioExecutor::new());
        let inner = match scenario.transport() {
            Transport::Http1 => {
                let mut http = HttpConnector::new();
                http.set_nodelay(true);
                Inner::Plain(builder.build(http))
            }
            Transport::H2c => {
                let mut http = HttpConnector::new();
                http.set_nodelay(true);
                Inner::Plain(builder.http2_only(true).build(http))
            }
            Transport::TlsH2 => {
                let mut tls_config: ClientConfig = (*tls_client_config(server)?).clone();
                tls_config.alpn_protocols.clear();
                let mut http = HttpConnector::new_with_resolver(LoopbackResolver);
                http.set_nodelay(true);
                http.enforce_http(false);
                let https = HttpsConnectorBuilder::new()
                    .with_tls_config(tls_config)
                    .https_only()
                    .enable_http2()
                    .wrap_connector(http);
                Inner::Tls(builder.http2_only(true).build(https))
            }
        };
        Ok(HyperUtilClient {
            inner,
            urls,
            scenario,
        })
    }

    /// Sends request number `index` and reads its body; returns the body bytes read.
    pub async fn get(&self, index: usize) -> Result<u64, BoxError> {
        let url = &self.urls[index % self.urls.len()];
        let request = hyper_request(self.scenario, url.clone(), None)?;
        let response = match &self.inner {
            Inner::Plain(client) => client.request(request).await?,
            Inner::Tls(client) => client.request(request).await?,
        };
        read_hyper_body(response, self.scenario.body_mode()).await
    }
}

/// Resolves every name to 127.0.0.1 (the port comes from the URL).
#[derive(Clone, Copy, Debug)]
pub struct LoopbackResolver;

impl tower_service::Service<Name> for LoopbackResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _name: Name) -> Self::Future {
        std::future::ready(Ok(
            vec![SocketAddr::from((Ipv4Addr::LOCALHOST, 0))].into_iter()
        ))
    }
}

//! reqwest 0.13 with rustls (aws-lc-rs), `http2` and `gzip` and nothing else: `no_proxy()`,
//! `tcp_nodelay(true)` (its default). S3 and S7 use `http2_prior_knowledge()` (for S7 that is
//! ALPN `h2` only, like hyper-util's `http2_only`); S7 trusts only the server's CA and maps the
//! 8 names to the server with `ClientBuilder::resolve`. Bodies through `bytes()` / `chunk()`;
//! S5's gzip is decoded transparently.

use std::sync::Arc;

use http::header;

use super::super::body_reading::check_status;
use super::super::scenario::{BodyMode, Scenario, Transport};
use super::super::server::tls_host_names;
use super::super::server_info::ServerInfo;
use crate::BoxError;

/// A reqwest client set up for one scenario; clones share it.
#[derive(Clone, Debug)]
pub struct ReqwestClient {
    client: reqwest::Client,
    urls: Arc<[reqwest::Url]>,
    scenario: Scenario,
}

impl ReqwestClient {
    /// Builds the client for `scenario` against `server`.
    pub fn build(
        scenario: Scenario,
        server: &ServerInfo,
        urls: &[http::Uri],
    ) -> Result<Self, BoxError> {
        let mut builder = reqwest::Client::builder().no_proxy().tcp_nodelay(true);
        match scenario.transport() {
            Transport::Http1 => {}
            Transport::H2c => builder = builder.http2_prior_knowledge(),
            Transport::TlsH2 => {
                let ca = reqwest::Certificate::from_der(&server.ca)?;
                builder = builder.http2_prior_knowledge().tls_certs_only([ca]);
                for name in tls_host_names() {
                    builder = builder.resolve(&name, server.tls);
                }
            }
        }
        let urls = urls
            .iter()
            .map(|uri| reqwest::Url::parse(&uri.to_string()))
            .collect::<Result<Arc<[_]>, _>>()?;
        Ok(ReqwestClient {
            client: builder.build()?,
            urls,
            scenario,
        })
    }

    /// Sends request number `index` and reads its body; returns the body bytes read.
    pub async fn get(&self, index: usize) -> Result<u64, BoxError> {
        let url = &self.urls[index % self.urls.len()];
        let mut request = self.client.get(url.clone());
        if self.scenario.closes_connections() {
            request = request.header(header::CONNECTION, "close");
        }
        let mut response = request.send().await?;
        check_status(response.status())?;
        match self.scenario.body_mode() {
            BodyMode::Collect => Ok(response.bytes().await?.len() as u64),
            BodyMode::Stream | BodyMode::Gunzip => {
                let mut read = 0u64;
                while let Some(chunk) = response.chunk().await? {
                    read += chunk.len() as u64;
                }
                Ok(read)
            }
        }
    }
}

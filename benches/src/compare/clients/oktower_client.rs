//! oktower's default stack: `oktower::Client::builder()` with the dispatcher limits raised to
//! 1024 (so admission never throttles), a pool keeping up to 256 idle connections (so S2's 64
//! connections stay pooled), no cookie jar and no cache (the defaults). S3 uses
//! `Protocol::H2PriorKnowledge`; S7 trusts the server's CA and maps the 8 names to 127.0.0.1
//! with `DnsOverride`. Bodies are read through `Response::bytes` / `Response::chunk`.

use std::sync::Arc;
use std::time::Duration;

use http::{Uri, header};
use oktower::{ConnectionPool, Dispatcher, Protocol};

use super::super::body_reading::check_status;
use super::super::scenario::{BodyMode, Scenario, Transport};
use super::super::server_info::ServerInfo;
use crate::BoxError;

/// An oktower client set up for one scenario; clones share it.
#[derive(Clone, Debug)]
pub struct OktowerClient {
    client: oktower::Client,
    urls: Arc<[Uri]>,
    scenario: Scenario,
}

impl OktowerClient {
    /// Builds the client for `scenario` against `server`.
    pub fn build(
        scenario: Scenario,
        server: &ServerInfo,
        urls: Arc<[Uri]>,
    ) -> Result<Self, BoxError> {
        let mut builder = oktower::Client::builder()
            .dispatcher(Dispatcher::with_limits(1024, 1024))
            .connection_pool(ConnectionPool::new(256, Duration::from_secs(300)));
        match scenario.transport() {
            Transport::Http1 => {}
            Transport::H2c => builder = builder.protocols(&[Protocol::H2PriorKnowledge]),
            Transport::TlsH2 => {
                let (tls, dns) = super::oktower_tls(server)?;
                builder = builder.tls(tls).dns(dns);
            }
        }
        Ok(OktowerClient {
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

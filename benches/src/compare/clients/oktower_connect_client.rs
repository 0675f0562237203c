//! oktower's connection machinery alone: `ConnectLayer` over `CallServer` (route, pool
//! acquire and release, exchange, response body), without the client, dispatcher, follow-up
//! or bridge layers: issue 3's measurement. The default run adds it to S2 and S3; elsewhere
//! select it with `--client oktower-connect` (as `benches/callgrind.sh` does). Requests carry
//! only what raw hyper's carry (the same `Host` header on HTTP/1.1); gzip bodies (S5) are read
//! undecoded.

use std::sync::Arc;
use std::time::Duration;

use http::Uri;
use oktower::{CallServer, Connect, ConnectLayer, ConnectionPool, Protocol, RequestBody};
use tower_layer::Layer;
use tower_service::Service;

use super::super::body_reading::{check_status, count_data};
use super::super::scenario::{Scenario, Transport};
use super::super::server_info::ServerInfo;
use super::request::hyper_request;
use crate::BoxError;

/// The connect stack set up for one scenario; clones share its pool.
#[derive(Clone)]
pub struct OktowerConnectClient {
    stack: Connect<CallServer>,
    urls: Arc<[Uri]>,
    /// The `Host` header of HTTP/1.1 requests.
    host: Option<http::HeaderValue>,
    scenario: Scenario,
}

impl std::fmt::Debug for OktowerConnectClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OktowerConnectClient")
            .field("scenario", &self.scenario)
            .finish_non_exhaustive()
    }
}

impl OktowerConnectClient {
    /// Builds the stack for `scenario` against `server`.
    pub fn build(
        scenario: Scenario,
        server: &ServerInfo,
        urls: Arc<[Uri]>,
    ) -> Result<Self, BoxError> {
        let mut builder =
            ConnectLayer::builder().pool(ConnectionPool::new(256, Duration::from_secs(300)));
        match scenario.transport() {
            Transport::Http1 => builder = builder.protocols(&[Protocol::Http11]),
            Transport::H2c => builder = builder.protocols(&[Protocol::H2PriorKnowledge]),
            Transport::TlsH2 => {
                let (tls, dns) = super::oktower_tls(server)?;
                builder = builder.tls(tls).dns(Arc::new(dns));
            }
        }
        let host = match (scenario.transport(), urls[0].authority()) {
            (Transport::Http1, Some(authority)) => Some(authority.as_str().parse()?),
            _ => None,
        };
        Ok(OktowerConnectClient {
            stack: builder.build()?.layer(CallServer::new()),
            urls,
            host,
            scenario,
        })
    }

    /// Sends request number `index` and reads its body; returns the body bytes read.
    pub async fn get(&mut self, index: usize) -> Result<u64, BoxError> {
        let url = &self.urls[index % self.urls.len()];
        let request = hyper_request(self.scenario, url.clone(), self.host.as_ref())?
            .map(|_| RequestBody::empty());
        let response = self.stack.call(request).await?;
        check_status(response.status())?;
        count_data(response.into_body()).await
    }
}

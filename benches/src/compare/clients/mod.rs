//! The four clients compared, behind one enum: oktower's default stack, raw hyper
//! `client::conn`, hyper-util's legacy `Client` and reqwest. Each is built fresh for each round
//! of a scenario (so connection counts are per round), hands out one [`Worker`] per task, and
//! reads bodies the same way as the others ([`BodyMode`](super::scenario::BodyMode)).

mod hyper_util_client;
mod oktower_client;
mod oktower_connect_client;
mod raw_hyper;
mod request;
mod reqwest_client;

use std::sync::Arc;

use clap::ValueEnum;
use http::Uri;
use rustls::{ClientConfig, RootCertStore};

pub use hyper_util_client::{HyperUtilClient, LoopbackResolver};
pub use oktower_client::OktowerClient;
pub use oktower_connect_client::OktowerConnectClient;
pub use raw_hyper::{RawHyperClient, RawHyperWorker};
pub use reqwest_client::ReqwestClient;

use super::scenario::{Scenario, Transport};
use super::server::tls_host_names;
use super::server_info::ServerInfo;
use crate::BoxError;

/// Which client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum ClientKind {
    /// oktower's default stack.
    Oktower,
    /// Raw hyper `client::conn` (the reference for ratios).
    RawHyper,
    /// hyper-util's legacy `Client`.
    HyperUtil,
    /// reqwest.
    Reqwest,
    /// oktower's connection machinery alone (`ConnectLayer` over `CallServer`): issue 3's
    /// path. Not in [`ALL`](Self::ALL); the default run adds it to S2 and S3.
    OktowerConnect,
}

impl ClientKind {
    /// All four, in report order.
    pub const ALL: [ClientKind; 4] = [
        ClientKind::Oktower,
        ClientKind::RawHyper,
        ClientKind::HyperUtil,
        ClientKind::Reqwest,
    ];

    /// The name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ClientKind::Oktower => "oktower",
            ClientKind::RawHyper => "raw-hyper",
            ClientKind::HyperUtil => "hyper-util",
            ClientKind::Reqwest => "reqwest",
            ClientKind::OktowerConnect => "oktower-connect",
        }
    }
}

impl std::fmt::Display for ClientKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A client built for one scenario.
#[derive(Clone, Debug)]
pub enum BenchClient {
    /// oktower.
    Oktower(OktowerClient),
    /// Raw hyper.
    RawHyper(RawHyperClient),
    /// hyper-util.
    HyperUtil(HyperUtilClient),
    /// reqwest.
    Reqwest(ReqwestClient),
    /// The connect stack alone.
    OktowerConnect(OktowerConnectClient),
}

/// One task's handle on a [`BenchClient`].
#[derive(Debug)]
pub enum Worker {
    /// A clone of the shared client (oktower, hyper-util, reqwest).
    Shared(BenchClient),
    /// Raw hyper's per-task connection.
    RawHyper(RawHyperWorker),
}

impl BenchClient {
    /// Builds `kind` for `scenario` against `server`.
    pub async fn build(
        kind: ClientKind,
        scenario: Scenario,
        server: &ServerInfo,
    ) -> Result<BenchClient, BoxError> {
        let urls = scenario_urls(scenario, server)?;
        Ok(match kind {
            ClientKind::Oktower => {
                BenchClient::Oktower(OktowerClient::build(scenario, server, urls)?)
            }
            ClientKind::RawHyper => {
                BenchClient::RawHyper(RawHyperClient::build(scenario, server, urls).await?)
            }
            ClientKind::HyperUtil => {
                BenchClient::HyperUtil(HyperUtilClient::build(scenario, server, urls)?)
            }
            ClientKind::Reqwest => {
                BenchClient::Reqwest(ReqwestClient::build(scenario, server, &urls)?)
            }
            ClientKind::OktowerConnect => {
                BenchClient::OktowerConnect(OktowerConnectClient::build(scenario, server, urls)?)
            }
        })
    }

    /// A handle for one task.
    pub async fn worker(&self) -> Result<Worker, BoxError> {
        Ok(match self {
            BenchClient::RawHyper(client) => Worker::RawHyper(client.worker().await?),
            shared => Worker::Shared(shared.clone()),
        })
    }
}

impl Worker {
    /// Sends request number `index` (S7 picks the host name by it) and reads the body the
    /// scenario's way; returns the (decoded) body bytes read.
    pub async fn get(&mut self, index: usize) -> Result<u64, BoxError> {
        match self {
            Worker::Shared(BenchClient::Oktower(client)) => client.get(index).await,
            Worker::Shared(BenchClient::HyperUtil(client)) => client.get(index).await,
            Worker::Shared(BenchClient::Reqwest(client)) => client.get(index).await,
            Worker::Shared(BenchClient::OktowerConnect(client)) => client.get(index).await,
            Worker::Shared(BenchClient::RawHyper(client)) => {
                client.worker().await?.get(index).await
            }
            Worker::RawHyper(worker) => worker.get(index).await,
        }
    }
}

/// The absolute URLs of a scenario: one, or for S7 one per host name.
fn scenario_urls(scenario: Scenario, server: &ServerInfo) -> Result<Arc<[Uri]>, BoxError> {
    let path = scenario.path();
    let urls = match scenario.transport() {
        Transport::Http1 => vec![format!("http://{}{path}", server.h1)],
        Transport::H2c => vec![format!("http://{}{path}", server.h2c)],
        Transport::TlsH2 => tls_host_names()
            .iter()
            .map(|name| format!("https://{name}:{}{path}", server.tls.port()))
            .collect(),
    };
    urls.into_iter()
        .map(|url| Ok(Uri::try_from(url)?))
        .collect()
}

/// rustls settings trusting only the server's CA, ALPN `h2` (raw hyper and hyper-util in S7).
fn tls_client_config(server: &ServerInfo) -> Result<Arc<ClientConfig>, BoxError> {
    let mut roots = RootCertStore::empty();
    roots.add(server.ca.clone())?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// What oktower needs for S7's TLS scenario: trust in the server's CA only, and the S7 host
/// names mapped to 127.0.0.1 (used by the full client and by the connect stack alone).
fn oktower_tls(
    server: &ServerInfo,
) -> Result<(oktower::TlsConfig, oktower::DnsOverride), BoxError> {
    let tls = oktower::TlsConfig::builder()
        .without_platform_roots()
        .add_root_certificate(server.ca.clone())
        .build()?;
    let localhost = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    let dns = tls_host_names()
        .iter()
        .fold(oktower::DnsOverride::only(), |dns, name| {
            dns.with_host(name, [localhost])
        });
    Ok((tls, dns))
}

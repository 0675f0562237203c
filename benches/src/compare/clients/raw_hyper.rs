//! Raw hyper `client::conn`, the near-physical limit of a hyper client: no pool, no layers.
//! HTTP/1.1 scenarios open one keep-alive connection per task (S6: one per request); S3 clones
//! one HTTP/2 `SendRequest`; S7 opens one TLS HTTP/2 connection per host name (it has no way
//! to coalesce) with tokio-rustls. Every connection sets TCP_NODELAY. S5 gunzips with flate2
//! while streaming.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Uri};
use http_body_util::Empty;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::super::body_reading::read_hyper_body;
use super::super::scenario::{Scenario, Transport};
use super::super::server::tls_host_names;
use super::super::server_info::ServerInfo;
use super::request::hyper_request;
use super::tls_client_config;
use crate::BoxError;

type H1Sender = http1::SendRequest<Empty<Bytes>>;
type H2Sender = http2::SendRequest<Empty<Bytes>>;

/// Raw hyper set up for one scenario: the shared HTTP/2 connections, if any, are open.
#[derive(Clone, Debug)]
pub struct RawHyperClient {
    scenario: Scenario,
    h1: SocketAddr,
    host: HeaderValue,
    path: Uri,
    urls: Arc<[Uri]>,
    h2: Arc<[H2Sender]>,
}

/// One task's handle: its own HTTP/1.1 connection, or the shared HTTP/2 ones.
#[derive(Debug)]
pub struct RawHyperWorker {
    client: RawHyperClient,
    h1: Option<H1Sender>,
}

impl RawHyperClient {
    /// Opens the scenario's shared connections (S3: one h2c; S7: one TLS h2 per host name).
    pub async fn build(
        scenario: Scenario,
        server: &ServerInfo,
        urls: Arc<[Uri]>,
    ) -> Result<Self, BoxError> {
        let h2: Arc<[H2Sender]> = match scenario.transport() {
            Transport::Http1 => Arc::from(Vec::new()),
            Transport::H2c => {
                let stream = tcp(server.h2c).await?;
                Arc::from(vec![h2_handshake(stream).await?])
            }
            Transport::TlsH2 => {
                let connector = TlsConnector::from(tls_client_config(server)?);
                let mut senders = Vec::new();
                for name in tls_host_names() {
                    let stream = tcp(server.tls).await?;
                    let tls = connector
                        .connect(ServerName::try_from(name)?, stream)
                        .await?;
                    senders.push(h2_handshake(tls).await?);
                }
                Arc::from(senders)
            }
        };
        Ok(RawHyperClient {
            scenario,
            h1: server.h1,
            host: HeaderValue::from_str(&server.h1.to_string())?,
            path: Uri::from_static(scenario.path()),
            urls,
            h2,
        })
    }

    /// A handle for one task; for keep-alive HTTP/1.1 scenarios it opens the task's connection.
    pub async fn worker(&self) -> Result<RawHyperWorker, BoxError> {
        let keeps_h1 =
            self.scenario.transport() == Transport::Http1 && !self.scenario.closes_connections();
        let h1 = if keeps_h1 {
            Some(h1_handshake(self.h1).await?)
        } else {
            None
        };
        Ok(RawHyperWorker {
            client: self.clone(),
            h1,
        })
    }
}

impl RawHyperWorker {
    /// Sends request number `index` and reads its body; returns the body bytes read.
    pub async fn get(&mut self, index: usize) -> Result<u64, BoxError> {
        let client = &self.client;
        let mode = client.scenario.body_mode();
        if client.scenario.transport() != Transport::Http1 {
            let slot = index % client.h2.len();
            let url = client.urls[index % client.urls.len()].clone();
            let mut sender = client.h2[slot].clone();
            sender.ready().await?;
            let request = hyper_request(client.scenario, url, None)?;
            let response = sender.send_request(request).await?;
            return read_hyper_body(response, mode).await;
        }
        let request = hyper_request(client.scenario, client.path.clone(), Some(&client.host))?;
        match &mut self.h1 {
            Some(sender) => {
                sender.ready().await?;
                let response = sender.send_request(request).await?;
                read_hyper_body(response, mode).await
            }
            None => {
                // A fresh connection for this request, dropped afterwards.
                let mut sender = h1_handshake(client.h1).await?;
                sender.ready().await?;
                let response = sender.send_request(request).await?;
                read_hyper_body(response, mode).await
            }
        }
    }
}

async fn tcp(addr: SocketAddr) -> Result<TcpStream, BoxError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

async fn h1_handshake(addr: SocketAddr) -> Result<H1Sender, BoxError> {
    let (sender, connection) = http1::handshake(TokioIo::new(tcp(addr).await?)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

async fn h2_handshake<T>(io: T) -> Result<H2Sender, BoxError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http2::handshake(TokioExecutor::new(), TokioIo::new(io)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

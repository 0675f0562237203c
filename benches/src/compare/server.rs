//! The comparison server, run as its own process (`compare serve`) so that the client's CPU
//! accounting (`getrusage(RUSAGE_SELF)`) never includes it.
//!
//! A bare hyper server (`hyper::server::conn`, a `service_fn`, bodies framed by
//! `Content-Length`) on three loopback listeners: cleartext HTTP/1.1, cleartext HTTP/2 (prior
//! knowledge, up to 1024 concurrent streams) and HTTP/2 over TLS (rustls, ALPN `h2`, one
//! certificate for `h0.test` … `h7.test` issued by a CA generated at start). It answers by path:
//! `/small` (13 B), `/large` (64 MiB), `/gzip` (1 MiB of JSON, `Content-Encoding: gzip`);
//! anything else gets 404. It counts the connections each listener accepts.
//!
//! It prints one [`ServerInfo`] line on stdout, then reads commands on stdin if asked to
//! (`counts` → a [`ConnectionCounts`] line) and exits when stdin closes; otherwise it serves
//! until killed.

use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::{http1 as server_http1, http2 as server_http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use oktower_testkit::TestCertificates;
use rustls::ServerConfig;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::bodies::Bodies;
use super::scenario::TLS_HOSTS;
use super::server_info::{ConnectionCounts, ServerInfo};
use crate::BoxError;

/// The host names on S7's certificate: `h0.test` … `h7.test`.
pub fn tls_host_names() -> Vec<String> {
    (0..TLS_HOSTS).map(|i| format!("h{i}.test")).collect()
}

/// The protocol a listener speaks.
#[derive(Clone, Copy, Debug)]
enum Listener {
    Http1,
    H2c,
    TlsH2,
}

#[derive(Debug, Default)]
struct Counters {
    h1: AtomicU64,
    h2c: AtomicU64,
    tls: AtomicU64,
}

impl Counters {
    fn of(&self, listener: Listener) -> &AtomicU64 {
        match listener {
            Listener::Http1 => &self.h1,
            Listener::H2c => &self.h2c,
            Listener::TlsH2 => &self.tls,
        }
    }

    fn snapshot(&self) -> ConnectionCounts {
        ConnectionCounts {
            h1: self.h1.load(Ordering::Relaxed),
            h2c: self.h2c.load(Ordering::Relaxed),
            tls: self.tls.load(Ordering::Relaxed),
        }
    }
}

/// Runs the server until stdin closes (`watch_stdin`) or forever; prints the [`ServerInfo`] line
/// first. Call inside a tokio runtime.
pub async fn serve(watch_stdin: bool) -> Result<(), BoxError> {
    let bodies = Arc::new(Bodies::new()?);
    let names = tls_host_names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let certificates = TestCertificates::for_hosts(&names)?;
    let acceptor = TlsAcceptor::from(tls_config(&certificates)?);
    let counters = Arc::new(Counters::default());

    let h1 = bind().await?;
    let h2c = bind().await?;
    let tls = bind().await?;
    let info = ServerInfo {
        h1: h1.local_addr()?,
        h2c: h2c.local_addr()?,
        tls: tls.local_addr()?,
        ca: certificates.root().certificate_der().clone(),
    };
    let listeners = [
        (h1, Listener::Http1, None),
        (h2c, Listener::H2c, None),
        (tls, Listener::TlsH2, Some(acceptor)),
    ];
    for (listener, kind, acceptor) in listeners {
        tokio::spawn(accept_loop(
            listener,
            kind,
            acceptor,
            bodies.clone(),
            counters.clone(),
        ));
    }

    let mut stdout = tokio::io::stdout();
    stdout
        .write_all(format!("{}\n", info.to_line()).as_bytes())
        .await?;
    stdout.flush().await?;
    if !watch_stdin {
        std::future::pending::<()>().await;
    }
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim() == "counts" {
            let answer = format!("{}\n", counters.snapshot().to_line());
            stdout.write_all(answer.as_bytes()).await?;
            stdout.flush().await?;
        }
    }
    Ok(())
}

async fn bind() -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
}

fn tls_config(certificates: &TestCertificates) -> Result<Arc<ServerConfig>, BoxError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![certificates.leaf().certificate_der().clone()],
            certificates.leaf().private_key_der(),
        )?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

async fn accept_loop(
    listener: TcpListener,
    kind: Listener,
    acceptor: Option<TlsAcceptor>,
    bodies: Arc<Bodies>,
    counters: Arc<Counters>,
) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            continue;
        };
        counters.of(kind).fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let bodies = bodies.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let response = respond(&bodies, request.uri().path());
                async move { Ok::<_, Infallible>(response) }
            });
            match (kind, acceptor) {
                (Listener::Http1, _) => {
                    let _ = server_http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
                (Listener::TlsH2, Some(acceptor)) => {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        let _ = h2_builder()
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    }
                }
                (_, _) => {
                    let _ = h2_builder()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                }
            }
        });
    }
}

fn h2_builder() -> server_http2::Builder<TokioExecutor> {
    let mut builder = server_http2::Builder::new(TokioExecutor::new());
    builder.max_concurrent_streams(1024);
    builder
}

fn respond(bodies: &Bodies, path: &str) -> Response<Full<Bytes>> {
    let (body, gzip) = match path {
        "/small" => (bodies.small.clone(), false),
        "/large" => (bodies.large.clone(), false),
        "/gzip" => (bodies.gzip_json.clone(), true),
        _ => {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::NOT_FOUND;
            return response;
        }
    };
    let mut response = Response::new(Full::new(body));
    if gzip {
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_ENCODING,
            header::HeaderValue::from_static("gzip"),
        );
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
    }
    response
}

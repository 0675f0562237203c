//! Shared helpers for the benchmarks: servers to benchmark against (a bare hyper server and
//! `oktower-testkit`'s `MockWebServer`, both answering every request with the same fixed body)
//! and plain hyper clients connected to them.
//!
//! Everything here binds or connects to loopback addresses only.

pub mod cache_hits;
pub mod compare;
pub mod cpu;
pub mod dispatcher_queue;

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use bytes::Bytes;
use http::{Request, Response, Uri, header};
use http_body_util::{Empty, Full};
use hyper::body::Incoming;
use hyper::client::conn::{http1 as client_http1, http2 as client_http2};
use hyper::server::conn::{http1 as server_http1, http2 as server_http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use oktower_testkit::{MockResponse, MockWebServer, Protocol};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The boxed error the helpers return.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The small response body of the request/response scenarios (13 bytes).
pub const SMALL_BODY: &[u8] = b"Hello, world!";

/// The size of the download scenario's response body: 1 MiB.
pub const LARGE_BODY_LEN: usize = 1024 * 1024;

/// The download scenario's response body: [`LARGE_BODY_LEN`] bytes of a repeating pattern.
pub fn large_body() -> Bytes {
    Bytes::from(
        (0..LARGE_BODY_LEN)
            .map(|i| b'a' + (i % 26) as u8)
            .collect::<Vec<u8>>(),
    )
}

/// The HTTP version a server speaks (in cleartext).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/1.1 with keep-alive.
    Http1,
    /// HTTP/2 with prior knowledge (no upgrade).
    Http2,
}

/// Which server a benchmark runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    /// `oktower-testkit`'s `MockWebServer`, with request recording off.
    Testkit,
    /// A bare hyper server: `hyper::server::conn` with a `service_fn`.
    Hyper,
}

impl ServerKind {
    /// Both kinds, testkit first.
    pub const ALL: [ServerKind; 2] = [ServerKind::Testkit, ServerKind::Hyper];

    /// The short name used as the benchmark id (`testkit`, `hyper`).
    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Testkit => "testkit",
            ServerKind::Hyper => "hyper",
        }
    }
}

impl fmt::Display for ServerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A bare hyper server on 127.0.0.1 that answers every request with `200 OK` and the same
/// body, framed by `Content-Length`. Stopped (with all its connections) when dropped.
#[derive(Debug)]
pub struct BareHyperServer {
    addr: SocketAddr,
    accept_task: JoinHandle<()>,
}

impl BareHyperServer {
    /// Binds 127.0.0.1 on a system-chosen port and serves `version` in cleartext, answering
    /// every request with `body`. Must be called inside a tokio runtime; the server's tasks
    /// are spawned on that runtime.
    pub async fn start(version: HttpVersion, body: Bytes) -> io::Result<BareHyperServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let accept_task = tokio::spawn(bare_accept_loop(listener, version, body));
        Ok(BareHyperServer { addr, accept_task })
    }

    /// The address the server listens on.
    pub fn socket_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for BareHyperServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

async fn bare_accept_loop(listener: TcpListener, version: HttpVersion, body: Bytes) {
    // Connection tasks live in this set, so aborting the accept task closes them all.
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (stream, _peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => continue,
        };
        // The testkit server sets TCP_NODELAY on accepted sockets too.
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        let service = service_fn(move |_request: Request<Incoming>| {
            // `Full` has an exact size, so hyper frames the response with `Content-Length`.
            let response = Response::new(Full::new(body.clone()));
            async move { Ok::<_, std::convert::Infallible>(response) }
        });
        let io = TokioIo::new(stream);
        match version {
            HttpVersion::Http1 => {
                connections.spawn(async move {
                    let _ = server_http1::Builder::new()
                        .serve_connection(io, service)
                        .await;
                });
            }
            HttpVersion::Http2 => {
                connections.spawn(async move {
                    let _ = server_http2::Builder::new(TokioExecutor::new())
                        .serve_connection(io, service)
                        .await;
                });
            }
        }
        // Reap finished connections so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
}

/// Starts `oktower-testkit`'s `MockWebServer` on 127.0.0.1, speaking `version` in cleartext
/// (HTTP/2 with prior knowledge), answering every request with `200 OK` and `body`, with
/// request recording off. Must be called inside a tokio runtime.
pub async fn start_testkit_server(version: HttpVersion, body: Bytes) -> io::Result<MockWebServer> {
    let protocol = match version {
        HttpVersion::Http1 => Protocol::Http11,
        HttpVersion::Http2 => Protocol::H2PriorKnowledge,
    };
    MockWebServer::builder()
        .protocols(&[protocol])
        .default_response(MockResponse::new().body(body))
        .record_requests(false)
        .start()
        .await
}

/// A running server of either kind, stopped when dropped (or by [`shutdown`](Self::shutdown)).
#[derive(Debug)]
pub enum BenchServer {
    /// `oktower-testkit`'s `MockWebServer`.
    Testkit(MockWebServer),
    /// A bare hyper server.
    Hyper(BareHyperServer),
}

impl BenchServer {
    /// Starts a server of `kind` speaking `version` and answering every request with `body`.
    /// Must be called inside a tokio runtime.
    pub async fn start(kind: ServerKind, version: HttpVersion, body: Bytes) -> io::Result<Self> {
        Ok(match kind {
            ServerKind::Testkit => BenchServer::Testkit(start_testkit_server(version, body).await?),
            ServerKind::Hyper => BenchServer::Hyper(BareHyperServer::start(version, body).await?),
        })
    }

    /// The address the server listens on.
    pub fn socket_addr(&self) -> SocketAddr {
        match self {
            BenchServer::Testkit(server) => server.socket_addr(),
            BenchServer::Hyper(server) => server.socket_addr(),
        }
    }

    /// Stops the server; for the testkit server, reports any failure inside it.
    pub async fn shutdown(self) -> Result<(), BoxError> {
        match self {
            BenchServer::Testkit(server) => server.shutdown().await.map_err(Into::into),
            BenchServer::Hyper(server) => {
                drop(server);
                Ok(())
            }
        }
    }
}

/// An HTTP/1.1 client on one keep-alive connection, with the request target prepared.
#[derive(Debug)]
pub struct Http1Client {
    sender: client_http1::SendRequest<Empty<Bytes>>,
    host: http::HeaderValue,
}

impl Http1Client {
    /// Connects to `addr` with `hyper::client::conn::http1` (TCP_NODELAY on) and spawns the
    /// connection task on the current tokio runtime.
    pub async fn connect(addr: SocketAddr) -> Result<Http1Client, BoxError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = client_http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let host = http::HeaderValue::from_str(&addr.to_string())?;
        Ok(Http1Client { sender, host })
    }

    /// Sends `GET /` and reads the whole response body, discarding it. Returns the number of
    /// body bytes read; fails unless the status is `200 OK`.
    pub async fn get(&mut self) -> Result<u64, BoxError> {
        let request = Request::get("/")
            .header(header::HOST, self.host.clone())
            .body(Empty::new())?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        drain(response).await
    }
}

/// An HTTP/2 client on one connection (prior knowledge). Cloning it gives another handle on the
/// same connection, so clones can send concurrent streams.
#[derive(Clone, Debug)]
pub struct Http2Client {
    sender: client_http2::SendRequest<Empty<Bytes>>,
    uri: Uri,
}

impl Http2Client {
    /// Connects to `addr` with `hyper::client::conn::http2` and a `TokioExecutor`
    /// (TCP_NODELAY on) and spawns the connection task on the current tokio runtime.
    pub async fn connect(addr: SocketAddr) -> Result<Http2Client, BoxError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            client_http2::handshake(TokioExecutor::new(), TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        // HTTP/2 requests carry the scheme and authority as pseudo-headers.
        let uri = Uri::try_from(format!("http://{addr}/"))?;
        Ok(Http2Client { sender, uri })
    }

    /// Sends `GET /` on a new stream and reads the whole response body, discarding it.
    /// Returns the number of body bytes read; fails unless the status is `200 OK`.
    pub async fn get(&mut self) -> Result<u64, BoxError> {
        let request = Request::get(self.uri.clone()).body(Empty::new())?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        drain(response).await
    }
}

/// Reads `response`'s body to the end, frame by frame, counting and discarding the bytes.
async fn drain(response: Response<Incoming>) -> Result<u64, BoxError> {
    compare::body_reading::check_status(response.status())?;
    compare::body_reading::count_data(response.into_body()).await
}

//! # oktower-testkit: a MockWebServer for Rust
//!
//! A real HTTP server on loopback for tests: it serves HTTP/1.1, HTTP/2 over TLS (by ALPN) and
//! HTTP/2 in cleartext with prior knowledge; answers with scripted [`MockResponse`]s from a
//! queue or a [`Dispatcher`]; records every request as a [`RecordedRequest`] (method, target,
//! headers in order, body, chunk sizes, TLS SNI, connection and exchange indexes); and commits
//! the faults real networks commit, each as a real socket action ([`Fault`], [`AfterResponse`],
//! [`ExpectContinue`]). It can act as an HTTP proxy ([`ProxyMode`]) and generates certificates
//! at test time ([`HeldCertificate`]).
//!
//! It is modelled on OkHttp's `mockwebserver3` and written the Rust way: async, builder by
//! value, no global state. It does not depend on `oktower`, so it serves any HTTP client.
//!
//! ```
//! use std::time::Duration;
//! use oktower_testkit::{MockResponse, MockWebServer};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! let server = MockWebServer::start().await?;
//! server.enqueue(MockResponse::new().header("Content-Type", "text/plain").body("hello"));
//!
//! let mut socket = tokio::net::TcpStream::connect(server.socket_addr()).await?;
//! socket.write_all(b"GET /greeting HTTP/1.1\r\nHost: example\r\nConnection: close\r\n\r\n").await?;
//! let mut response = String::new();
//! socket.read_to_string(&mut response).await?;
//! assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(response.ends_with("\r\n\r\nhello"));
//!
//! let request = server.take_request(Duration::from_secs(5)).await.expect("a request");
//! assert_eq!(request.method(), "GET");
//! assert_eq!(request.path(), "/greeting");
//! assert_eq!(request.header("host"), Some("example"));
//! # Ok(())
//! # }
//! ```
#![forbid(unsafe_code)]

mod certificates;
mod connection;
mod dispatcher;
mod fault;
mod held_certificate;
mod http1;
mod http2;
mod http2_body;
mod mock_response;
mod protocol;
mod proxy;
mod recorded_request;
mod server;
mod tls;

pub use certificates::TestCertificates;
pub use dispatcher::{Dispatcher, QueueDispatcher};
pub use fault::{AfterResponse, ExpectContinue, Fault, Http2ErrorCode};
pub use held_certificate::{CertificateError, HeldCertificate, HeldCertificateBuilder};
pub use mock_response::MockResponse;
pub use protocol::Protocol;
pub use proxy::ProxyMode;
pub use recorded_request::RecordedRequest;
pub use server::{MockWebServer, MockWebServerBuilder, ServerFailure};
pub use tls::ServerTls;

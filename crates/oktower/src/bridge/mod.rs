//! The bridge between what a user writes and what goes on the wire: OkHttp's
//! `BridgeInterceptor` as a tower layer, [`BridgeLayer`] → [`Bridge`] → [`ResponseFuture`].
//!
//! It sits under the follow-up layer, so it runs once per network request (each redirect and
//! retry included), and works over any `tower::Service<http::Request<B>>` that answers with an
//! `http::Response` whose body yields [`Bytes`](bytes::Bytes).
//!
//! **Request side**: headers the user did not set are added —
//!
//! - `Content-Length` from the body's exact size (`0` for an empty body only on POST, PUT,
//!   PATCH, PROPPATCH and REPORT), or `Transfer-Encoding: chunked` on HTTP/1.1 for a body of
//!   unknown length (a `Content-Length` the user set for a stream is kept);
//! - `Host`: the URL's host, IPv6 literals bracketed, with the port only when it is not the
//!   scheme's default (not on a request known to go over HTTP/2, as from a client that speaks
//!   only HTTP/2 with prior knowledge: `:authority` says it);
//! - `Connection: keep-alive`, on HTTP/1 only;
//! - `Accept-Encoding: gzip, deflate, br, zstd` when the request has neither
//!   `Accept-Encoding` nor `Range`;
//! - `Cookie` from the [`CookieJar`], after any `Cookie` the user set;
//! - `User-Agent: oktower/<version>` (or [`BridgeLayer::user_agent`]).
//!
//! **Response side**: the `Set-Cookie` headers of every response (redirects and `304`s too)
//! go to the jar. When the bridge added `Accept-Encoding` and the response has a body in one
//! of those codings (not for HEAD, 1xx, 204 or 304), the body is decoded as it is read and
//! `Content-Encoding` and `Content-Length` are removed. A decoded body that grows past
//! [`BridgeLayer::max_decompressed_size`] (default [`DEFAULT_MAX_DECOMPRESSED_SIZE`]) fails
//! with an [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) error naming the URL and the
//! limit, which stops decompression bombs; a corrupt one fails with
//! [`ErrorKind::Protocol`](crate::ErrorKind::Protocol). A user who sets `Accept-Encoding`
//! gets the body as the server sent it.
//!
//! ```
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use http_body_util::Empty;
//! use oktower::{BridgeLayer, CookieJar, MemoryCookieJar};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let jar = Arc::new(MemoryCookieJar::new());
//! let server = service_fn(|request: http::Request<Empty<Bytes>>| async move {
//!     let response = http::Response::builder()
//!         .header("set-cookie", "session=42; Path=/")
//!         .header("x-cookie-sent", request.headers().get("cookie").cloned().unwrap_or_else(|| "none".parse().unwrap()))
//!         .body(Empty::<Bytes>::new())
//!         .unwrap();
//!     Ok::<_, std::convert::Infallible>(response)
//! });
//! let client = ServiceBuilder::new()
//!     .layer(BridgeLayer::new().cookie_jar(jar.clone()))
//!     .service(server);
//!
//! let first = http::Request::get("https://example.com/").body(Empty::new()).unwrap();
//! let response = client.clone().oneshot(first).await.unwrap();
//! assert_eq!(response.headers()["x-cookie-sent"], "none");
//!
//! let second = http::Request::get("https://example.com/account").body(Empty::new()).unwrap();
//! let response = client.oneshot(second).await.unwrap();
//! assert_eq!(response.headers()["x-cookie-sent"], "session=42");
//! # }
//! ```

mod body_reader;
mod cookie_jar;
mod decoder;
mod decompression;
mod future;
mod layer;
mod memory_cookie_jar;
mod request_headers;
mod service;

pub use cookie_jar::{CookieJar, NoCookies};
pub use decompression::{DEFAULT_MAX_DECOMPRESSED_SIZE, ResponseBody};
pub use future::ResponseFuture;
pub use layer::BridgeLayer;
pub use memory_cookie_jar::MemoryCookieJar;
pub use service::Bridge;

#[cfg(test)]
mod decompression_tests;
#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod test_body;

//! The bottom of the stack: [`ConnectLayer`] finds a connection for each request and puts its
//! [`Exchange`] into the request's extensions; [`CallServer`] sends the request over it and
//! returns a response whose [`ResponseBody`] gives the connection back at its end.
//!
//! Network layers go between the two: they see every request on the wire, with the
//! [`ConnectionInfo`](crate::ConnectionInfo) of its connection in the request's extensions.
//!
//! ```no_run
//! use std::sync::Arc;
//! use http_body_util::BodyExt;
//! use oktower::{CallServer, ConnectLayer, RequestBody};
//! use tower_service::Service;
//! use tower_layer::Layer;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let mut service = ConnectLayer::builder().build()?.layer(CallServer::new());
//! let request = http::Request::get("http://example.test/").body(RequestBody::empty())?;
//! let response = service.call(request).await?;
//! let body = response.into_body().collect().await?.to_bytes();
//! # Ok(())
//! # }
//! ```

mod call_server;
mod direct;
mod exchange;
mod h2_body;
mod h2_stream;
mod layer;
mod read_deadline;
mod response_body;
mod sending;
mod service;
mod wire_error;
mod wire_incoming;

pub use call_server::CallServer;
pub use exchange::{Exchange, ResponseTimes};
pub use layer::{ConnectLayer, ConnectLayerBuilder};
pub use response_body::ResponseBody;
pub use service::{Connect, ResponseFuture, Timeouts};

//! # oktower
//!
//! An HTTP client for Rust that does what OkHttp does, built the tower way: every OkHttp
//! interceptor is a `tower::Layer`, composed over a pooled connector with route selection and
//! HTTP/2 coalescing, on hyper (HTTP/1.1), h2 (HTTP/2), rustls and tokio.
//!
//! Start with a [`Client`]: it stacks the [`Dispatcher`], your application layers, the
//! [`FollowUpLayer`], the [`BridgeLayer`], an optional [`CacheLayer`], the [`ConnectLayer`], your
//! network layers and the [`CallServer`], and sends requests reqwest-style
//! ([`RequestBuilder`] → [`Response`]), as a [`Call`] (execute, enqueue, cancel), or as a
//! `tower::Service<http::Request<B>>`.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), oktower::Error> {
//! let client = oktower::Client::builder()
//!     .call_timeout(Duration::from_secs(30))
//!     .build()?;
//! let response = client.get("https://example.com/").send().await?.error_for_status()?;
//! println!("{:?}", response.timings());
//! let text = response.text().await?;
//! # let _ = text;
//! # Ok(())
//! # }
//! ```
//!
//! Every layer is a plain tower layer, usable on its own over any HTTP service. At the bottom,
//! [`ConnectLayer`] finds a connection for each request — from the [`ConnectionPool`]
//! (HTTP/1 connections lent one exchange at a time, HTTP/2 connections shared up to the
//! server's stream limit and coalesced across hosts their certificate covers), or by selecting
//! routes ([`Proxy`], [`ProxySelector`], [`Dns`], [`RouteDatabase`]) and connecting (happy
//! eyeballs over an injectable [`TcpConnector`], `CONNECT` tunnels with
//! [`ProxyAuthenticator`], SOCKS5, TLS with [`TlsConfig`] and [`CertificatePinner`]) — and puts
//! its [`Exchange`] into the request; [`CallServer`] sends the request with hyper and returns a
//! [`ResponseBody`] that gives the connection back at its end.
//!
//! ```no_run
//! use http_body_util::BodyExt;
//! use oktower::{CallServer, ConnectLayer, ConnectionPool, RequestBody};
//! use tower_layer::Layer;
//! use tower_service::Service;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let pool = ConnectionPool::default();
//! let mut stack = ConnectLayer::builder().pool(pool.clone()).build()?.layer(CallServer::new());
//! let request = http::Request::get("https://example.test/").body(RequestBody::empty())?;
//! let response = stack.call(request).await?;
//! let text = response.into_body().collect().await?.to_bytes();
//! assert_eq!(pool.connection_count(), 1);
//! # Ok(())
//! # }
//! ```
//!
//! Around them: the [`EventListener`] hooks (composable, with [`Timings`] and a `tracing`
//! listener), the [`CallContext`] a call carries, [`RequestBody`] and [`Body`], and the one
//! [`Error`] type.
#![forbid(unsafe_code)]

mod address;
mod body;
pub mod bridge;
mod builder;
pub mod cache;
mod call;
mod call_context;
mod call_future;
mod call_guard;
mod cancel_wait;
mod certificate_pinner;
mod client;
mod client_body;
mod connect;
mod connection;
mod connection_info;
#[cfg(test)]
mod counting_waker;
mod deadline;
pub mod dispatcher;
mod dns;
mod error;
mod event_listeners;
mod events;
pub mod follow_up;
#[cfg(test)]
mod future_size;
mod handshake;
mod head_names;
mod network_guard;
mod protocol;
mod proxy;
mod proxy_auth;
mod proxy_env;
mod request_builder;
mod response;
mod route;
pub mod stack;
mod timings;
mod tls;
#[cfg(feature = "tracing")]
mod tracing_listener;
mod uri_authority;
mod wall_clock;

pub use address::{Address, AddressBuilder, Scheme, SettingsId};
pub use body::RequestBody;
pub use bridge::{Bridge, BridgeLayer, CookieJar, MemoryCookieJar, NoCookies};
pub use builder::ClientBuilder;
pub use cache::{
    BodyChunks, Cache, CacheControl, CacheControlBuilder, CacheKey, CacheLayer, CacheOutcome,
    CacheStats, CacheStore, CacheStrategy, CacheUrlOverride, CachedResponse, CommitOutcome,
    Condition, DiskStore, DiskStoreBuilder, EntryVersion, EntryWriter, Freshness, KeyStream,
    MAX_STORE_KEY_LEN, MemoryStore, NetworkFailure, NetworkReason, StoreFuture, StoreKey,
    StoreStats, StoreStatus, StoredBody, StoredEntry, WriteEntry, cache_uri, has_vary_all,
    invalidated_uris, invalidates_cache, merge_not_modified, stale_if_error, vary_matches,
    varying_request_headers,
};
pub use call::Call;
pub use call_context::CallContext;
pub use certificate_pinner::{CertificatePinner, CertificatePinnerBuilder};
pub use client::{CallTimeout, Client, ClientFuture};
pub use client_body::Body;
pub use connect::{
    CallServer, Connect, ConnectLayer, ConnectLayerBuilder, Exchange, ResponseBody, ResponseFuture,
    ResponseTimes, Timeouts,
};
pub use connection::tcp::{BoxedIo, Io, SystemTcp, TcpConnectFuture, TcpConnector};
pub use connection::{ConnectionPool, ConnectionPoolBuilder, RouteDatabase, connect_tls};
pub use connection_info::ConnectionInfo;
pub use dispatcher::{Dispatched, Dispatcher, DispatcherLayer};
pub use dns::{Dns, DnsFuture, DnsOverride, SystemDns};
pub use error::{BoxError, Error, ErrorKind, RequestSent};
pub use event_listeners::EventListeners;
pub use events::{EventListener, EventListenerFactory, NoEvents};
pub use follow_up::{
    AuthContext, AuthFuture, Authenticator, BasicAuthenticator, BearerAuthenticator, Challenge,
    FollowUp, FollowUpLayer, NoAuthenticator, PriorResponse, ReplayBody, TokenProvider,
};
pub use handshake::Handshake;
pub use protocol::Protocol;
pub use proxy::{FixedProxy, NoProxy, Proxy, ProxyCredentials, ProxySelector};
pub use proxy_auth::{
    BasicProxyAuth, NoProxyAuth, PREEMPTIVE_CHALLENGE, ProxyAuthenticator, is_preemptive,
};
pub use proxy_env::EnvProxySelector;
pub use request_builder::{IntoUrl, RequestBuilder};
pub use response::{CallTimings, Response};
pub use route::Route;
pub use timings::{Timings, TimingsRecorder};
pub use tls::{TlsConfig, TlsConfigBuilder, TlsVersion, handshake_of};
#[cfg(feature = "tracing")]
pub use tracing_listener::{TracingListener, TracingListenerFactory};

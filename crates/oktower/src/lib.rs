//! # oktower
//!
//! An HTTP client for Rust that does what OkHttp does, built the tower way: every OkHttp
//! interceptor is a `tower::Layer`, composed over a pooled connector with route selection and
//! HTTP/2 coalescing, on hyper, rustls and tokio.
//!
//! The library is being built capability by capability. Today it holds the connection
//! vocabulary: [`Address`], [`Route`], [`Proxy`] and [`ProxySelector`], [`Dns`], [`Protocol`],
//! [`Handshake`], [`ConnectionInfo`], the [`EventListener`] hooks, and the one [`Error`]
//! type; TLS: [`TlsConfig`], [`CertificatePinner`] and the handshake, [`connect_tls`]; route
//! selection's [`RouteDatabase`] and [`EnvProxySelector`]; and the pluggable parts of
//! connecting: [`TcpConnector`] (with [`SystemTcp`]) and [`ProxyAuthenticator`] (with
//! [`BasicProxyAuth`]); and the response cache's storage: the [`CacheStore`] trait with the
//! crash-safe [`DiskStore`] and the [`MemoryStore`].
#![forbid(unsafe_code)]

mod address;
mod cache;
mod call_context;
mod certificate_pinner;
mod connection;
mod connection_info;
mod dns;
mod error;
mod events;
mod handshake;
mod protocol;
mod proxy;
mod proxy_auth;
mod proxy_env;
mod route;
mod tls;

pub use address::{Address, AddressBuilder, Scheme, SettingsId};
pub use cache::{
    BodyChunks, CacheStore, CommitOutcome, DiskStore, DiskStoreBuilder, EntryVersion, EntryWriter,
    KeyStream, MAX_STORE_KEY_LEN, MemoryStore, StoreFuture, StoreKey, StoreStats, StoreStatus,
    StoredBody, StoredEntry, WriteEntry,
};
pub use call_context::CallContext;
pub use certificate_pinner::{CertificatePinner, CertificatePinnerBuilder};
pub use connection::tcp::{BoxedIo, Io, SystemTcp, TcpConnectFuture, TcpConnector};
pub use connection::{RouteDatabase, connect_tls};
pub use connection_info::ConnectionInfo;
pub use dns::{Dns, DnsFuture, DnsOverride, SystemDns};
pub use error::{BoxError, Error, ErrorKind, RequestSent};
pub use events::{EventListener, EventListenerFactory, NoEvents};
pub use handshake::Handshake;
pub use protocol::Protocol;
pub use proxy::{FixedProxy, NoProxy, Proxy, ProxyCredentials, ProxySelector};
pub use proxy_auth::{
    BasicProxyAuth, NoProxyAuth, PREEMPTIVE_CHALLENGE, ProxyAuthenticator, is_preemptive,
};
pub use proxy_env::EnvProxySelector;
pub use route::Route;
pub use tls::{TlsConfig, TlsConfigBuilder, TlsVersion, handshake_of};

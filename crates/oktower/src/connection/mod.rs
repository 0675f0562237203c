//! The connection machinery, OkHttp's `internal/connection`: route selection, connecting
//! (TCP, happy eyeballs, proxies, TLS), and the pool. It depends only on the connection
//! vocabulary (`address`, `route`, `dns`, `proxy`, `tls`, `error`, `events`, `body`), never on
//! the layers above it.

mod address_order;
pub(crate) mod connect_plan;
mod eligible;
mod evict;
pub(crate) mod fast_fallback;
pub(crate) mod finder;
pub(crate) mod h2_connection;
mod h2_settings;
pub(crate) mod http_conn;
pub(crate) mod lease;
pub(crate) mod pool;
mod route_database;
pub(crate) mod route_selector;
pub(crate) mod socks5;
pub(crate) mod stream_deadlines;
pub(crate) mod tcp;
mod tls_connect;
pub(crate) mod tunnel;
pub(crate) mod wire_body;
mod write_timeout;

pub use pool::{ConnectionPool, ConnectionPoolBuilder};
pub use route_database::RouteDatabase;
pub use tls_connect::connect_tls;

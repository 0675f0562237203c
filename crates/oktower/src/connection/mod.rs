//! The connection machinery, OkHttp's `internal/connection`: route selection, connecting
//! (TCP, happy eyeballs, proxies, TLS), and the pool. It depends only on the connection
//! vocabulary (`address`, `route`, `dns`, `proxy`, `tls`, `error`, `events`), never on the
//! layers above it.

mod address_order;
// The pool that uses these lands with the ConnectLayer; until then they are exercised by their
// unit tests only.
#[allow(dead_code)]
mod eligible;
#[allow(dead_code)]
mod evict;
#[allow(dead_code)]
mod h2_settings;
mod route_database;
mod route_selector;
mod tls_connect;

pub use route_database::RouteDatabase;
pub use tls_connect::connect_tls;

//! The connection machinery, OkHttp's `internal/connection`: route selection, connecting
//! (TCP, happy eyeballs, proxies, TLS), and the pool. It depends only on the connection
//! vocabulary (`address`, `route`, `dns`, `proxy`, `tls`, `error`, `events`), never on the
//! layers above it.

mod address_order;
mod route_database;
mod route_selector;

pub use route_database::RouteDatabase;

//! The connection machinery, OkHttp's `internal/connection`: route selection, connecting
//! (TCP, happy eyeballs, proxies, TLS), and the pool. It depends only on the connection
//! vocabulary (`address`, `route`, `dns`, `proxy`, `tls`, `error`, `events`), never on the
//! layers above it.

mod address_order;
mod route_database;
mod route_selector;
pub(crate) mod tcp;
mod tls_connect;

// The connect plan and the pool that use these land with the ConnectLayer; until then they are
// exercised by their tests only.
#[allow(dead_code)]
mod eligible;
#[allow(dead_code)]
mod evict;
#[allow(dead_code)]
pub(crate) mod fast_fallback;
#[allow(dead_code)]
mod h2_settings;
#[allow(dead_code)]
pub(crate) mod socks5;
#[allow(dead_code)]
pub(crate) mod tunnel;

pub use route_database::RouteDatabase;
pub use tls_connect::connect_tls;

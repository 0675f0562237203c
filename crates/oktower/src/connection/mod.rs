//! The connection machinery, OkHttp's `internal/connection`: route selection, connecting
//! (TCP, happy eyeballs, proxies, TLS), and the pool. It depends only on the connection
//! vocabulary (`address`, `route`, `dns`, `proxy`, `tls`, `error`, `events`), never on the
//! layers above it.

// The pool, which lands next, asks it; until then only its tests do.
#[allow(dead_code)]
mod eligible;
mod tls_connect;

pub use tls_connect::connect_tls;

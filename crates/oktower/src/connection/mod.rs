//! The connection machinery, OkHttp's `internal/connection`: route selection, connecting
//! (TCP, happy eyeballs, proxies, TLS), and the pool. It depends only on the connection
//! vocabulary (`address`, `route`, `dns`, `proxy`, `tls`, `error`, `events`), never on the
//! layers above it.

// Connecting is wired into the connect plan next; until then only the tests use it.
#[allow(dead_code)]
pub(crate) mod fast_fallback;
#[allow(dead_code)]
pub(crate) mod socks5;
pub(crate) mod tcp;
#[allow(dead_code)]
pub(crate) mod tunnel;

//! Connecting to one of a selection's routes, OkHttp's `ConnectPlan` driven by its exchange
//! finders: a TCP race (happy eyeballs), then on the winner the proxy steps (SOCKS5, TLS to an
//! HTTPS proxy, a `CONNECT` tunnel), TLS to the origin, and the HTTP handshake. A failure after
//! TCP moves on to the routes not yet tried.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use http::HeaderValue;
use tokio::sync::Notify;

use super::RouteDatabase;
use super::fast_fallback::{RaceSettings, combine, race_tcp};
use super::http_conn::{Handshaken, HttpSettings, handshake};
use super::socks5::socks5_connect;
use super::tcp::{BoxedIo, TcpConnector, connect_tcp};
use super::tunnel::{TunnelSettings, connect_tunnel};
use crate::connection_info::Described;
use crate::{
    Address, Error, ErrorKind, EventListener, Handshake, Protocol, Proxy, ProxyAuthenticator,
    Route, Scheme, TlsConfig, connect_tls,
};

/// Process-unique connection ids, in the order connections are opened.
static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(0);

/// What connecting needs besides the routes.
pub(crate) struct ConnectContext<'a> {
    pub(crate) tcp: &'a dyn TcpConnector,
    /// The TLS settings the address's [`tls`](Address::tls) identity names.
    pub(crate) tls: &'a TlsConfig,
    pub(crate) proxy_authenticator: &'a dyn ProxyAuthenticator,
    /// The `User-Agent` of `CONNECT` requests.
    pub(crate) user_agent: &'a HeaderValue,
    pub(crate) connect_timeout: Option<Duration>,
    pub(crate) read_timeout: Option<Duration>,
    pub(crate) fast_fallback: bool,
    pub(crate) http: &'a HttpSettings,
    pub(crate) database: &'a RouteDatabase,
    pub(crate) listener: &'a dyn EventListener,
    /// Notified when a connection's task ends.
    pub(crate) closed_signal: &'a Arc<Notify>,
}

/// Connects to the first of `candidates` that works (the failures are recorded in the route
/// database). On failure the error is the last one, with the earlier ones as recovered
/// failures.
///
/// The candidates are borrowed: the common case, the first race winning and its handshake
/// succeeding, copies no list. Only after a failure are the routes left to try collected.
pub(crate) async fn connect(
    candidates: &[Route],
    context: &ConnectContext<'_>,
) -> Result<Handshaken, Error> {
    let mut failures: Vec<Error> = Vec::new();
    let mut remaining: Cow<'_, [Route]> = Cow::Borrowed(candidates);
    while !remaining.is_empty() {
        let settings = RaceSettings {
            fast_fallback: context.fast_fallback,
            connect_timeout: context.connect_timeout,
        };
        let outcome = race_tcp(&remaining, context.tcp, settings, context.listener).await;
        for route in &outcome.failed {
            context.database.failed(route);
        }
        let connected = match outcome.result {
            Ok(connected) => connected,
            Err(error) => {
                failures.push(error);
                remaining = without(&remaining, &outcome.failed, None);
                continue;
            }
        };
        let route = connected.route;
        match establish(connected.io, &route, context).await {
            Ok(handshaken) => {
                context.database.connected(&route);
                let protocol = handshaken.connection.described.protocol;
                context
                    .listener
                    .connect_end(route.socket_addr(), route.proxy(), Some(protocol));
                return Ok(handshaken);
            }
            Err(error) => {
                context.database.failed(&route);
                if route.address().proxy().is_none() && !route.proxy().is_direct() {
                    let selector = route.address().proxy_selector();
                    selector.connect_failed(route.address().uri(), route.proxy(), &error);
                }
                context
                    .listener
                    .connect_failed(route.socket_addr(), route.proxy(), None, &error);
                let canceled = error.is_canceled();
                failures.push(error);
                if canceled {
                    break;
                }
                remaining = without(&remaining, &outcome.failed, Some(&route));
            }
        }
    }
    Err(combine(failures.into_iter()))
}

/// `routes` without those in `failed` and without `tried`, in their order.
fn without<'a>(routes: &[Route], failed: &[Route], tried: Option<&Route>) -> Cow<'a, [Route]> {
    let left = routes
        .iter()
        .filter(|route| !failed.contains(route) && Some(*route) != tried)
        .cloned()
        .collect::<Vec<_>>();
    Cow::Owned(left)
}

/// Everything after TCP on `route`: proxy steps, TLS and the HTTP handshake.
async fn establish(
    io: BoxedIo,
    route: &Route,
    context: &ConnectContext<'_>,
) -> Result<Handshaken, Error> {
    let address = route.address();
    let mut io = io;
    // The proxy steps and the TLS handshake are boxed: inline, their futures (7 to 9 KB each)
    // made this one, and the connect path's futures above it, about 10 KB, which every new
    // connection allocated and copied twice even when it needed none of them (a plain
    // `http:` route). A boxed step costs one allocation on a path that already does a TCP
    // connect and, for TLS, a handshake.
    match route.proxy() {
        Proxy::Direct => {}
        Proxy::Socks5 { .. } => socks5_connect(&mut io, route, context.read_timeout).await?,
        Proxy::Http { .. } => {
            if route.requires_tunnel() {
                io = Box::pin(tunnel(io, route, context)).await?;
            }
        }
        Proxy::Https { host, port, .. } => {
            io = Box::pin(tls_to_proxy(io, route, host, *port, context)).await?;
            if route.requires_tunnel() {
                io = Box::pin(tunnel(io, route, context)).await?;
            }
        }
    }
    let (io, protocol, tls_handshake): (BoxedIo, Protocol, Option<Handshake>) =
        match address.scheme() {
            Scheme::Https => {
                let handshaking = Box::pin(connect_tls(io, address, context.tls, context.listener));
                let (stream, tls_handshake, protocol) =
                    within(context.read_timeout, handshaking, address, "TLS handshake").await?;
                (Box::new(stream), protocol, Some(tls_handshake))
            }
            Scheme::Http => {
                let through_http_proxy = route.proxy().is_http() && !route.requires_tunnel();
                let prior_knowledge = address.protocols().contains(&Protocol::H2PriorKnowledge);
                let protocol = if prior_knowledge && !through_http_proxy {
                    Protocol::H2PriorKnowledge
                } else {
                    Protocol::Http11
                };
                (io, protocol, None)
            }
        };
    let described = Described {
        id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        route: route.clone(),
        protocol,
        handshake: tls_handshake,
        no_new_exchanges: AtomicBool::new(false),
        no_coalesced_exchanges: AtomicBool::new(false),
        closed: AtomicBool::new(false),
    };
    handshake(io, described, context.http, context.closed_signal.clone()).await
}

/// A `CONNECT` tunnel through `route`'s HTTP proxy.
async fn tunnel(
    io: BoxedIo,
    route: &Route,
    context: &ConnectContext<'_>,
) -> Result<BoxedIo, Error> {
    let settings = TunnelSettings {
        user_agent: context.user_agent,
        authenticator: context.proxy_authenticator,
        timeout: context.read_timeout,
    };
    let reconnect = || async {
        let io = connect_tcp(
            route,
            context.tcp,
            context.connect_timeout,
            context.listener,
        )
        .await?;
        match route.proxy() {
            Proxy::Https { host, port, .. } => tls_to_proxy(io, route, host, *port, context).await,
            _ => Ok(io),
        }
    };
    connect_tunnel(io, route, &settings, context.listener, reconnect).await
}

/// TLS to an HTTPS proxy, speaking HTTP/1.1 to it.
async fn tls_to_proxy(
    io: BoxedIo,
    route: &Route,
    host: &str,
    port: u16,
    context: &ConnectContext<'_>,
) -> Result<BoxedIo, Error> {
    let origin = route.address();
    let proxy_address = Address::builder(
        Scheme::Https,
        host,
        port,
        origin.dns().clone(),
        origin.proxy_selector().clone(),
    )
    .tls(context.tls.settings_id())
    .protocols(&[Protocol::Http11])
    .build();
    let handshaking = Box::pin(connect_tls(
        io,
        &proxy_address,
        context.tls,
        context.listener,
    ));
    let (stream, _, _) = within(
        context.read_timeout,
        handshaking,
        &proxy_address,
        "TLS handshake with the proxy",
    )
    .await?;
    Ok(Box::new(stream))
}

/// Runs `step` within `limit`, if any.
async fn within<T>(
    limit: Option<Duration>,
    step: impl Future<Output = Result<T, Error>>,
    address: &Address,
    what: &str,
) -> Result<T, Error> {
    match limit {
        None => step.await,
        Some(limit) => match tokio::time::timeout(limit, step).await {
            Ok(result) => result,
            Err(_elapsed) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "the {what} with {} timed out after {limit:?}",
                    address.host()
                ),
            )
            .with_url(address.uri().to_string())),
        },
    }
}

//! A concrete way to reach an address.

use std::fmt;
use std::net::SocketAddr;

use crate::{Address, Protocol, Proxy, Scheme};

/// A concrete way to reach an [`Address`]: through `proxy`, by opening TCP to `socket_addr`
/// (the origin's resolved address when direct, the proxy's when proxied).
///
/// ```
/// use std::net::SocketAddr;
/// use std::sync::Arc;
/// use oktower::{Address, NoProxy, Proxy, Route, Scheme, SystemDns};
///
/// let address = Address::builder(Scheme::Https, "a.test", 443, Arc::new(SystemDns), Arc::new(NoProxy)).build();
/// let route = Route::new(address, Proxy::http("proxy.test", 8080), "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
/// assert!(route.requires_tunnel());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Route {
    address: Address,
    proxy: Proxy,
    socket_addr: SocketAddr,
}

impl Route {
    /// A route to `address` through `proxy`, connecting TCP to `socket_addr`.
    pub fn new(address: Address, proxy: Proxy, socket_addr: SocketAddr) -> Self {
        Route {
            address,
            proxy,
            socket_addr,
        }
    }

    /// The address this route reaches.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The proxy, or [`Proxy::Direct`].
    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// Where TCP connects.
    pub fn socket_addr(&self) -> SocketAddr {
        self.socket_addr
    }

    /// Whether an HTTP proxy must be asked for a `CONNECT` tunnel: for `https:`, and for HTTP/2
    /// with prior knowledge.
    pub fn requires_tunnel(&self) -> bool {
        self.proxy.is_http()
            && (self.address.scheme() == Scheme::Https
                || self
                    .address
                    .protocols()
                    .contains(&Protocol::H2PriorKnowledge))
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("address", &format_args!("{}", self.address))
            .field("proxy", &format_args!("{}", self.proxy))
            .field("socket_addr", &self.socket_addr)
            .finish()
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} via {} at {}",
            self.address, self.proxy, self.socket_addr
        )
    }
}

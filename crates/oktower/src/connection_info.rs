//! What layers below ConnectLayer can know of the connection an exchange uses.

use crate::{Handshake, Protocol, Route};

/// The connection an exchange runs on: its route, protocol, TLS handshake, a process-unique id,
/// and whether it was reached by HTTP/2 coalescing (its certificate covers this host, though it
/// was opened for another).
///
/// ```
/// use std::sync::Arc;
/// use oktower::{Address, ConnectionInfo, NoProxy, Protocol, Proxy, Route, Scheme, SystemDns};
///
/// let address = Address::builder(Scheme::Http, "a.test", 80, Arc::new(SystemDns), Arc::new(NoProxy)).build();
/// let route = Route::new(address, Proxy::Direct, "127.0.0.1:80".parse().unwrap());
/// let info = ConnectionInfo::new(7, route, Protocol::Http11, None, false);
/// assert_eq!(info.id(), 7);
/// assert!(info.handshake().is_none());
/// ```
#[derive(Clone, Debug)]
pub struct ConnectionInfo {
    id: u64,
    route: Route,
    protocol: Protocol,
    handshake: Option<Handshake>,
    coalesced: bool,
}

impl ConnectionInfo {
    /// A description of connection `id`.
    pub fn new(
        id: u64,
        route: Route,
        protocol: Protocol,
        handshake: Option<Handshake>,
        coalesced: bool,
    ) -> Self {
        ConnectionInfo {
            id,
            route,
            protocol,
            handshake,
            coalesced,
        }
    }

    /// A process-unique connection id, in the order connections were opened.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The route the connection was opened on.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// The protocol it speaks.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// The TLS handshake, for TLS connections.
    pub fn handshake(&self) -> Option<&Handshake> {
        self.handshake.as_ref()
    }

    /// Whether this exchange reached the connection by HTTP/2 coalescing.
    pub fn is_coalesced(&self) -> bool {
        self.coalesced
    }
}

//! What layers below ConnectLayer can know of the connection an exchange uses.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::time::Instant;

use crate::wall_clock::wall_clock_at;
use crate::{Handshake, Protocol, ResponseTimes, Route};

/// The connection an exchange runs on: its route, protocol, TLS handshake, a process-unique id,
/// and whether it was reached by HTTP/2 coalescing (its certificate covers this host, though it
/// was opened for another). On a response (in its extensions, as
/// [`CallServer`](crate::CallServer) returns it) it also says when the request was sent and the
/// response head received ([`response_times`](Self::response_times)).
///
/// Cheap to clone: the description is shared with the pool's connection, and so are its two
/// switches, [`mark_no_new_exchanges`](Self::mark_no_new_exchanges) and
/// [`mark_no_coalesced_exchanges`](Self::mark_no_coalesced_exchanges), which a layer uses to
/// take the connection out of service (the follow-up layer after a `421 Misdirected Request`).
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
/// assert!(!info.is_no_coalesced_exchanges());
/// info.clone().mark_no_coalesced_exchanges();
/// assert!(info.is_no_coalesced_exchanges());
/// ```
#[derive(Clone)]
pub struct ConnectionInfo {
    shared: Arc<Described>,
    coalesced: bool,
    /// Set on the response's copy: one extension carries both, instead of two inserts per
    /// response. Monotonic instants (the exchange reads that clock anyway), put on the wall
    /// clock when asked for.
    times: Option<(Instant, Instant)>,
}

/// The part of a [`ConnectionInfo`] every exchange on the connection shares.
pub(crate) struct Described {
    pub(crate) id: u64,
    pub(crate) route: Route,
    pub(crate) protocol: Protocol,
    pub(crate) handshake: Option<Handshake>,
    /// The connection takes no new exchanges.
    pub(crate) no_new_exchanges: AtomicBool,
    /// The connection takes no coalesced exchanges (set after a 421 on one).
    pub(crate) no_coalesced_exchanges: AtomicBool,
    /// The connection's task ended: its socket is closed.
    pub(crate) closed: AtomicBool,
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
        let shared = Arc::new(Described {
            id,
            route,
            protocol,
            handshake,
            no_new_exchanges: AtomicBool::new(false),
            no_coalesced_exchanges: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        });
        ConnectionInfo {
            shared,
            coalesced,
            times: None,
        }
    }

    /// The description of an exchange on the connection `shared` describes.
    pub(crate) fn of(shared: Arc<Described>, coalesced: bool) -> Self {
        ConnectionInfo {
            shared,
            coalesced,
            times: None,
        }
    }

    /// This description, for the response to a request sent at `sent` whose head was
    /// received at `received`.
    pub(crate) fn with_response_times(mut self, sent: Instant, received: Instant) -> Self {
        self.times = Some((sent, received));
        self
    }

    /// When the request was sent and the response head received, on a response's
    /// `ConnectionInfo` (OkHttp's `sentRequestAtMillis` and `receivedResponseAtMillis`);
    /// `None` before there is a response (in a network layer's request, in events).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use oktower::{Address, ConnectionInfo, NoProxy, Protocol, Proxy, Route, Scheme, SystemDns};
    /// # let address = Address::builder(Scheme::Http, "a.test", 80, Arc::new(SystemDns), Arc::new(NoProxy)).build();
    /// # let route = Route::new(address, Proxy::Direct, "127.0.0.1:80".parse().unwrap());
    /// let info = ConnectionInfo::new(7, route, Protocol::Http11, None, false);
    /// assert!(info.response_times().is_none());
    /// ```
    pub fn response_times(&self) -> Option<ResponseTimes> {
        self.times.map(|(sent, received)| ResponseTimes {
            sent_at: wall_clock_at(sent),
            received_at: wall_clock_at(received),
        })
    }

    /// A process-unique connection id, in the order connections were opened.
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// The route the connection was opened on.
    pub fn route(&self) -> &Route {
        &self.shared.route
    }

    /// The protocol it speaks.
    pub fn protocol(&self) -> Protocol {
        self.shared.protocol
    }

    /// The TLS handshake, for TLS connections.
    pub fn handshake(&self) -> Option<&Handshake> {
        self.shared.handshake.as_ref()
    }

    /// Whether this exchange reached the connection by HTTP/2 coalescing.
    pub fn is_coalesced(&self) -> bool {
        self.coalesced
    }

    /// Takes the connection out of service: exchanges in flight finish, no new one starts, and
    /// the pool closes it once idle.
    pub fn mark_no_new_exchanges(&self) {
        self.shared.no_new_exchanges.store(true, Ordering::Release);
    }

    /// Whether the connection takes no new exchanges.
    pub fn is_no_new_exchanges(&self) -> bool {
        self.shared.no_new_exchanges.load(Ordering::Acquire)
    }

    /// Stops coalescing on the connection: it keeps serving the host it was opened for, but no
    /// other host reaches it by HTTP/2 coalescing (OkHttp's `noCoalescedConnections`, set after a
    /// `421 Misdirected Request`).
    pub fn mark_no_coalesced_exchanges(&self) {
        self.shared
            .no_coalesced_exchanges
            .store(true, Ordering::Release);
    }

    /// Whether coalescing onto the connection was stopped.
    pub fn is_no_coalesced_exchanges(&self) -> bool {
        self.shared.no_coalesced_exchanges.load(Ordering::Acquire)
    }
}

impl fmt::Debug for ConnectionInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionInfo")
            .field("id", &self.shared.id)
            .field("route", &self.shared.route)
            .field("protocol", &self.shared.protocol)
            .field("tls", &self.shared.handshake.is_some())
            .field("coalesced", &self.coalesced)
            .field("response_times", &self.times)
            .finish()
    }
}

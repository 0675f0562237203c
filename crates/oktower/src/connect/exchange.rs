//! The [`Exchange`]: one request/response on a connection, handed from [`ConnectLayer`]
//! to [`CallServer`] through the request's extensions.
//!
//! [`ConnectLayer`]: super::ConnectLayer
//! [`CallServer`]: super::CallServer

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use http::Request;

use crate::call_context::CallEvents;
use crate::connection::lease::Lease;
use crate::{ConnectionInfo, Error, EventListener, RequestBody, TimingsRecorder};

/// One exchange on a connection: [`ConnectLayer`](super::ConnectLayer) puts it into the
/// request's extensions, network layers below it read [`info`](Self::info), and
/// [`CallServer`](super::CallServer) sends the request on it.
///
/// Cheap to clone (the clones are the same exchange).
#[derive(Clone)]
pub struct Exchange {
    shared: Arc<Shared>,
}

struct Shared {
    info: ConnectionInfo,
    read_timeout: Option<Duration>,
    events: CallEvents,
    slot: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    lease: Option<Lease>,
    /// A request the connection gave back unsent (it was found closed); boxed, as it is rare
    /// and every exchange allocates this slot.
    unsent: Option<Box<Request<RequestBody>>>,
}

impl Exchange {
    /// An exchange on the connection `info` describes; its lease is handed over separately,
    /// directly or with [`put_lease`](Self::put_lease).
    pub(crate) fn new(
        info: ConnectionInfo,
        events: CallEvents,
        read_timeout: Option<Duration>,
    ) -> Self {
        Exchange {
            shared: Arc::new(Shared {
                info,
                read_timeout,
                events,
                slot: Mutex::new(Slot {
                    lease: None,
                    unsent: None,
                }),
            }),
        }
    }

    /// The connection the exchange runs on.
    pub fn info(&self) -> &ConnectionInfo {
        &self.shared.info
    }

    /// The limit of each wait for the server in this exchange.
    pub(crate) fn read_timeout(&self) -> Option<Duration> {
        self.shared.read_timeout
    }

    pub(crate) fn listener(&self) -> &dyn EventListener {
        self.shared.events.listener()
    }

    /// Who hears the exchange's events, owned: for what hears them beyond its borrow (the
    /// request body's tracker, an HTTP/2 stream).
    pub(crate) fn events(&self) -> &CallEvents {
        &self.shared.events
    }

    /// The call's timings recorder, when it has one (it is also the listener).
    pub(crate) fn recorder(&self) -> Option<&TimingsRecorder> {
        self.shared.events.recorder()
    }

    /// Whether the `connection_released` of a failed exchange is left to the follow-up layer
    /// above, carried by the error.
    pub(crate) fn release_reported_above(&self) -> bool {
        match &self.shared.events {
            CallEvents::Call(context) => context.has_retry_decider(),
            CallEvents::Listener(_) => false,
        }
    }

    /// Reports the release of the exchange's connection after `error`, or leaves it to the
    /// follow-up layer above (to report after its retry decision), carried by the error.
    pub(crate) fn report_release(&self, error: Error) -> Error {
        if self.release_reported_above() {
            error.with_unreported_release(self.info().clone())
        } else {
            self.listener().connection_released(self.info());
            error
        }
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        match self.shared.slot.lock() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Leaves the connection lease with the exchange, for [`CallServer`](super::CallServer)
    /// to take below the network layers.
    pub(crate) fn put_lease(&self, lease: Lease) {
        self.slot().lease = Some(lease);
    }

    /// Takes the connection lease, to send on it (once).
    pub(crate) fn take_lease(&self) -> Option<Lease> {
        self.slot().lease.take()
    }

    /// Gives back a request the connection did not send, for the connect layer to retry on
    /// another connection.
    pub(crate) fn return_unsent(&self, request: Request<RequestBody>) {
        self.slot().unsent = Some(Box::new(request));
    }

    /// The request given back unsent, if any.
    pub(crate) fn take_unsent(&self) -> Option<Request<RequestBody>> {
        self.slot().unsent.take().map(|request| *request)
    }
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("connection", &self.shared.info)
            .finish_non_exhaustive()
    }
}

/// When the request was sent and the response head received, on the wall clock (OkHttp's
/// `sentRequestAtMillis` and `receivedResponseAtMillis`): a network response's
/// [`ConnectionInfo::response_times`], and [`Response::response_times`](crate::Response::response_times).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseTimes {
    /// The request was handed to the connection.
    pub sent_at: SystemTime,
    /// The response head arrived.
    pub received_at: SystemTime,
}

//! A connection lent to one exchange by the pool.

use std::pin::Pin;
use std::sync::Arc;

use tokio::time::Sleep;

use super::http_conn::{H1Sender, H2Sender, RealConnection};
use super::pool::PoolInner;
use super::stream_deadlines::StreamDeadlines;

/// The sender an exchange uses: the HTTP/1 connection's only one, or a clone of the HTTP/2
/// connection's.
pub(crate) enum LeasedSender {
    H1(H1Parts),
    H2(H2Sender),
}

/// What an HTTP/1 connection lends to one exchange at a time: its sender, and its read-timeout
/// timer.
///
/// The timer stays registered with tokio's timer wheel from one exchange to the next. Moving
/// its deadline later (each exchange's deadline is later than the one before) is one atomic
/// store, where a fresh timer per exchange costs a registration and a removal, each under the
/// timer driver's lock.
pub(crate) struct H1Parts {
    pub(crate) sender: H1Sender,
    /// Made with the connection (on its runtime, which the connection cannot outlive) when
    /// the connection has a read timeout.
    pub(crate) timer: Option<Pin<Box<Sleep>>>,
}

/// What times an exchange's wait for its response head.
pub(crate) enum HeadTimer<'a> {
    /// The HTTP/1 connection's read-timeout timer.
    Connection(&'a mut Pin<Box<Sleep>>),
    /// The HTTP/2 connection's stream deadlines.
    Streams(&'a StreamDeadlines),
    /// A timer of the exchange's own, made if it waits.
    Own,
}

/// A connection lent by the pool. Dropping the lease gives the connection back: an HTTP/1
/// connection on which nothing was sent goes back as it was; one on which a request was sent
/// is closed unless [`release`](Self::release) said it may be reused.
///
/// 56 bytes: it is kept by each response body being read, whose whole state must stay within
/// 120 bytes (see `ResponseBody`).
pub(crate) struct Lease {
    pool: Arc<PoolInner>,
    connection: Arc<RealConnection>,
    lent: Lent,
}

/// What a lease holds until it is given back.
enum Lent {
    /// An HTTP/1 connection's parts; `used` once a request was handed to its sender.
    H1 { parts: H1Parts, used: bool },
    /// A clone of an HTTP/2 connection's sender.
    H2(H2Sender),
    /// Given back.
    Released,
}

/// The sender of a lease, for one request.
pub(crate) enum SenderMut<'a> {
    H1(&'a mut H1Parts),
    H2(&'a mut H2Sender),
}

impl Lease {
    pub(crate) fn new(
        pool: Arc<PoolInner>,
        connection: Arc<RealConnection>,
        sender: LeasedSender,
    ) -> Self {
        let lent = match sender {
            LeasedSender::H1(parts) => Lent::H1 { parts, used: false },
            LeasedSender::H2(sender) => Lent::H2(sender),
        };
        Lease {
            pool,
            connection,
            lent,
        }
    }

    /// The connection.
    pub(crate) fn connection(&self) -> &Arc<RealConnection> {
        &self.connection
    }

    /// The sender, for sending one request: the lease counts as used from now on.
    pub(crate) fn sender_for_request(&mut self) -> Option<SenderMut<'_>> {
        match &mut self.lent {
            Lent::H1 { parts, used } => {
                *used = true;
                Some(SenderMut::H1(parts))
            }
            Lent::H2(sender) => Some(SenderMut::H2(sender)),
            Lent::Released => None,
        }
    }

    /// The HTTP/1 connection's own read-timeout timer, reused by its exchanges one after the
    /// other (`None` on HTTP/2, or without one).
    pub(crate) fn reusable_timer(&mut self) -> Option<&mut Pin<Box<Sleep>>> {
        match &mut self.lent {
            Lent::H1 { parts, .. } => parts.timer.as_mut(),
            _ => None,
        }
    }

    /// What times the wait for the response head: the HTTP/1 connection's timer, or the
    /// HTTP/2 connection's stream deadlines, when the connection has a read timeout.
    pub(crate) fn head_timer(&mut self) -> HeadTimer<'_> {
        match &mut self.lent {
            Lent::H1 {
                parts: H1Parts {
                    timer: Some(timer), ..
                },
                ..
            } => HeadTimer::Connection(timer),
            _ => match &self.connection.stream_deadlines {
                Some(deadlines) => HeadTimer::Streams(deadlines),
                None => HeadTimer::Own,
            },
        }
    }

    /// Gives the connection back after its exchange. An HTTP/1 connection is pooled again when
    /// `reusable` (its response was read to the end, and neither side said
    /// `Connection: close`), and closed otherwise; an HTTP/2 connection only loses a stream.
    pub(crate) fn release(mut self, reusable: bool) {
        self.give_back(reusable);
    }

    #[inline]
    fn give_back(&mut self, reusable: bool) {
        let sender = match std::mem::replace(&mut self.lent, Lent::Released) {
            Lent::H1 { parts, .. } if reusable => Some(parts),
            _ => None,
        };
        if !reusable && !self.connection.is_multiplexed() {
            self.connection.mark_no_new_exchanges();
        }
        self.pool.release(&self.connection, sender);
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let unused = match &self.lent {
            Lent::H1 { used, .. } => !*used,
            Lent::H2(_) => true,
            Lent::Released => return,
        };
        self.give_back(unused);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_lease_stays_within_its_share_of_a_body_being_read() {
        let size = size_of::<super::Lease>();
        assert!(size <= 56, "the lease grew to {size} bytes");
    }
}

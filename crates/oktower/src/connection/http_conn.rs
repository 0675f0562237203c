//! A connected stream becomes an HTTP connection: hyper's `client::conn` HTTP/1.1 handshake or
//! h2's HTTP/2 one, with the connection task spawned, and the [`RealConnection`] the pool keeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::h2_connection::{self, Pings};
use super::h2_settings::{PeerSettings, SettingsTap};
use super::lease::{H1Parts, LeasedSender};
use super::stream_deadlines::StreamDeadlines;
use super::tcp::BoxedIo;
use super::wire_body::WireBody;
use super::write_timeout::WriteTimeout;
use crate::connection_info::Described;
use crate::{Error, ErrorKind, Protocol};

/// The largest response head accepted, by default (OkHttp's `HEADER_LIMIT`).
pub(crate) const DEFAULT_MAX_RESPONSE_HEADER_SIZE: usize = 256 * 1024;

/// The HTTP settings of new connections.
#[derive(Clone, Debug)]
pub(crate) struct HttpSettings {
    /// The largest response head (HTTP/1) or header list (HTTP/2) accepted.
    pub(crate) max_response_header_size: usize,
    /// How long the server may take to send its HTTP/2 SETTINGS, and the HTTP/2 ping timeout.
    pub(crate) read_timeout: Option<Duration>,
    /// The socket write timeout.
    pub(crate) write_timeout: Option<Duration>,
    /// The HTTP/2 ping interval, if any.
    pub(crate) ping_interval: Option<Duration>,
}

/// A sender of requests on an HTTP connection.
pub(crate) type H1Sender = http1::SendRequest<WireBody>;
/// A sender of requests on an HTTP/2 connection (cloned per exchange).
pub(crate) type H2Sender = h2::client::SendRequest<Bytes>;

/// An open HTTP connection: what the pool and the exchanges on it share.
pub(crate) struct RealConnection {
    /// Its description, shared with each exchange's `ConnectionInfo`.
    pub(crate) described: Arc<Described>,
    /// For HTTP/2: the sender (cloned per exchange) and the server's settings.
    pub(crate) h2: Option<(H2Sender, Arc<PeerSettings>)>,
    task: AbortHandle,
    /// For HTTP/2 with a read timeout: its streams' response-head deadlines, watched by one
    /// task.
    pub(crate) stream_deadlines: Option<StreamDeadlines>,
    /// Exchanges that completed on it (OkHttp's `successCount`).
    successes: AtomicU32,
    /// `REFUSED_STREAM` resets seen (OkHttp's `refusedStreamCount`).
    refused_streams: AtomicU32,
    /// Where the pool's entry for it is in the list for its address: written by the pool
    /// under its lock whenever entries move, read there as a hint that saves a search.
    pub(crate) pool_position: AtomicUsize,
}

impl RealConnection {
    /// The connection id.
    pub(crate) fn id(&self) -> u64 {
        self.described.id
    }

    /// How many exchanges may run on it at once.
    pub(crate) fn allocation_limit(&self) -> usize {
        match &self.h2 {
            Some((_, settings)) => settings.max_concurrent_streams() as usize,
            None => 1,
        }
    }

    /// Whether it speaks HTTP/2.
    pub(crate) fn is_multiplexed(&self) -> bool {
        self.h2.is_some()
    }

    /// Whether it may be handed out: open, and not taken out of service.
    pub(crate) fn is_healthy(&self) -> bool {
        !self.described.closed.load(Ordering::Acquire)
            && !self.described.no_new_exchanges.load(Ordering::Acquire)
    }

    /// Whether the connection task ended.
    pub(crate) fn is_closed(&self) -> bool {
        self.described.closed.load(Ordering::Acquire)
    }

    /// Takes it out of service.
    pub(crate) fn mark_no_new_exchanges(&self) {
        self.described
            .no_new_exchanges
            .store(true, Ordering::Release);
    }

    /// An exchange on it completed.
    pub(crate) fn record_success(&self) {
        self.successes.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether no exchange ever completed on it.
    pub(crate) fn never_succeeded(&self) -> bool {
        self.successes.load(Ordering::Relaxed) == 0
    }

    /// OkHttp's `trackFailure` for a stream reset with `REFUSED_STREAM`: the second one takes
    /// the connection out of service.
    pub(crate) fn record_refused_stream(&self) {
        if self.refused_streams.fetch_add(1, Ordering::Relaxed) >= 1 {
            self.mark_no_new_exchanges();
        }
    }
}

impl Drop for RealConnection {
    fn drop(&mut self) {
        // Nobody holds the connection any more: close the socket now.
        self.task.abort();
    }
}

/// The result of a handshake: the connection, and the sender of its first exchange.
pub(crate) struct Handshaken {
    pub(crate) connection: RealConnection,
    pub(crate) sender: LeasedSender,
}

/// Runs the HTTP handshake for `protocol` on `io` and spawns the connection task. When the task
/// ends, `closed_signal` is notified (the pool then prunes the connection).
///
/// For HTTP/2 this waits for the server's SETTINGS frame (its connection preface, sent at once
/// by conforming servers), within the read timeout, so that the pool knows the server's
/// `MAX_CONCURRENT_STREAMS` before it shares the connection.
pub(crate) async fn handshake(
    io: BoxedIo,
    described: Described,
    settings: &HttpSettings,
    closed_signal: Arc<Notify>,
) -> Result<Handshaken, Error> {
    let io: BoxedIo = match settings.write_timeout {
        Some(limit) => Box::new(WriteTimeout::new(io, limit)),
        None => io,
    };
    let described = Arc::new(described);
    // The URL of the errors below, formatted only if one happens.
    let address = described.route.address().clone();
    let url = || address.uri().to_string();
    let on_close = {
        let described = described.clone();
        move || {
            described.closed.store(true, Ordering::Release);
            closed_signal.notify_one();
        }
    };
    match described.protocol {
        Protocol::Http11 => {
            let mut builder = http1::Builder::new();
            builder
                .max_header_size(settings.max_response_header_size)
                .max_buf_size(read_buffer_limit(settings.max_response_header_size));
            let (sender, connection) = builder
                .handshake::<_, WireBody>(TokioIo::new(io))
                .await
                .map_err(|error| handshake_failed(error, url()))?;
            let task = tokio::spawn(async move {
                let _ = connection.await;
                on_close();
            });
            Ok(Handshaken {
                connection: RealConnection {
                    described,
                    h2: None,
                    task: task.abort_handle(),
                    stream_deadlines: None,
                    successes: AtomicU32::new(0),
                    refused_streams: AtomicU32::new(0),
                    pool_position: AtomicUsize::new(0),
                },
                sender: LeasedSender::H1(H1Parts {
                    sender,
                    timer: settings.read_timeout.map(|_| Box::pin(idle_timer())),
                }),
            })
        }
        // Boxed: the HTTP/2 handshake's futures would otherwise make every connect's future
        // (HTTP/1 ones included) about 1 KB larger.
        Protocol::Http2 | Protocol::H2PriorKnowledge => {
            Box::pin(handshake_h2(io, described, settings, on_close, url)).await
        }
    }
}

/// The HTTP/2 part of [`handshake`].
async fn handshake_h2(
    io: BoxedIo,
    described: Arc<Described>,
    settings: &HttpSettings,
    on_close: impl FnOnce() + Send + 'static,
    url: impl Fn() -> String,
) -> Result<Handshaken, Error> {
    let peer = PeerSettings::new();
    let io = SettingsTap::new(io, peer.clone());
    let (sender, connection) = h2_connection::builder(settings)
        .handshake::<_, Bytes>(io)
        .await
        .map_err(|error| {
            Error::new(ErrorKind::Protocol, "the HTTP/2 handshake failed")
                .with_source(error)
                .with_url(url())
        })?;
    let pings = Pings::of(settings);
    let mut task = tokio::spawn(async move {
        h2_connection::drive(connection, pings).await;
        on_close();
    });
    // Dropping this future (a canceled call) before the connection is built must not
    // leave the task and its socket behind.
    let guard = AbortOnDrop::new(task.abort_handle());
    let preface = async {
        tokio::select! {
            () = peer.received() => true,
            _ = &mut task => false,
        }
    };
    let outcome = match settings.read_timeout {
        Some(limit) => tokio::time::timeout(limit, preface).await.ok(),
        None => Some(preface.await),
    };
    match outcome {
        Some(true) => {}
        Some(false) => {
            let message = "the connection closed before the server's HTTP/2 SETTINGS";
            return Err(Error::new(ErrorKind::Protocol, message).with_url(url()));
        }
        None => {
            let message = "the server sent no HTTP/2 SETTINGS frame within the read timeout";
            return Err(Error::new(ErrorKind::Timeout, message).with_url(url()));
        }
    }
    let first = LeasedSender::H2(sender.clone());
    let stream_deadlines = settings.read_timeout.map(|_| {
        let (deadlines, watchdog) = StreamDeadlines::new();
        tokio::spawn(watchdog);
        deadlines
    });
    let connection = RealConnection {
        described,
        h2: Some((sender, peer)),
        task: guard.disarm(),
        stream_deadlines,
        successes: AtomicU32::new(0),
        refused_streams: AtomicU32::new(0),
        pool_position: AtomicUsize::new(0),
    };
    Ok(Handshaken {
        connection,
        sender: first,
    })
}

/// hyper's own limit on an HTTP/1 connection's read buffer (`8192 + 4096 * 100` bytes). It
/// also caps how much one read takes from the socket (hyper grows its reads up to it while
/// each fills), so a large body streams in reads of up to this size.
const HYPER_DEFAULT_READ_BUFFER_LIMIT: usize = 8192 + 4096 * 100;

/// The limit on an HTTP/1 connection's read buffer: room for a response head of up to
/// `max_response_header_size` bytes with the first bytes of its body, and never below hyper's
/// default, which would shrink the reads of every large body (with the default 256 KiB head
/// limit, `limit + 8 KiB` alone gave reads of at most 264 KiB instead of 408 KiB: about a
/// tenth more `recvfrom` calls for the same download).
fn read_buffer_limit(max_response_header_size: usize) -> usize {
    max_response_header_size
        .saturating_add(8192)
        .max(HYPER_DEFAULT_READ_BUFFER_LIMIT)
}

/// The error of a handshake hyper refused, for the URL `url`.
fn handshake_failed(error: hyper::Error, url: String) -> Error {
    Error::new(ErrorKind::Protocol, "the HTTP handshake failed")
        .with_source(error)
        .with_url(url)
}

/// An HTTP/1 connection's read-timeout timer, unarmed: each exchange sets its deadline before
/// it first waits.
fn idle_timer() -> tokio::time::Sleep {
    /// Far enough never to fire before an exchange sets the real deadline.
    const UNARMED: Duration = Duration::from_secs(30 * 24 * 3600);
    tokio::time::sleep(UNARMED)
}

/// Aborts a task when dropped, unless disarmed.
struct AbortOnDrop(AbortHandle, bool);

impl AbortOnDrop {
    fn new(handle: AbortHandle) -> Self {
        AbortOnDrop(handle, true)
    }

    fn disarm(mut self) -> AbortHandle {
        self.1 = false;
        self.0.clone()
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if self.1 {
            self.0.abort();
        }
    }
}

#[cfg(test)]
mod future_size_tests {
    use crate::future_size::size_of_output;

    /// Every new connection's future holds this one inline: 1.6 KB while the HTTP/2
    /// handshake was inline in it too.
    #[test]
    #[allow(unreachable_code, clippy::diverging_sub_expression)]
    fn the_handshake_future_stays_small() {
        let size = size_of_output(|| {
            super::handshake(
                unreachable!(),
                unreachable!(),
                unreachable!(),
                unreachable!(),
            )
        });
        assert!(size <= 512, "the handshake future grew to {size} bytes");
    }
}

#[cfg(test)]
mod read_buffer_tests {
    use super::{
        DEFAULT_MAX_RESPONSE_HEADER_SIZE, HYPER_DEFAULT_READ_BUFFER_LIMIT, read_buffer_limit,
    };

    #[test]
    fn the_default_head_limit_keeps_hypers_read_size() {
        assert_eq!(
            read_buffer_limit(DEFAULT_MAX_RESPONSE_HEADER_SIZE),
            HYPER_DEFAULT_READ_BUFFER_LIMIT
        );
        assert_eq!(read_buffer_limit(1024), HYPER_DEFAULT_READ_BUFFER_LIMIT);
    }

    #[test]
    fn a_larger_head_limit_gets_room_for_the_head_and_some_body() {
        assert_eq!(read_buffer_limit(1024 * 1024), 1024 * 1024 + 8192);
        assert_eq!(read_buffer_limit(usize::MAX), usize::MAX);
    }
}

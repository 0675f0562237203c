//! An HTTP/2 connection driven with `h2` directly: its settings, and the task that runs it and
//! sends its pings.
//!
//! hyper's HTTP/2 client polls each stream only for its final response, so a `100 Continue`
//! never reaches its caller (`hyper::ext::on_informational` is HTTP/1 only). Driving `h2`
//! directly lets an exchange see its stream's informational responses, and saves hyper's
//! per-request task and channels on the way.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use h2::Ping;
use h2::client::{Builder, Connection};
use tokio::io::{AsyncRead, AsyncWrite};

use super::http_conn::HttpSettings;
use crate::deadline::within_clock;

/// The receive window of each stream and of the connection (OkHttp's
/// `OKHTTP_CLIENT_WINDOW_SIZE`).
const CLIENT_WINDOW_SIZE: u32 = 16 * 1024 * 1024;

/// How much request body data a stream may buffer beyond what the peer's window allows
/// (hyper's default).
const MAX_SEND_BUFFER_SIZE: usize = 1024 * 1024;

/// The `h2` client settings of a new connection.
pub(crate) fn builder(settings: &HttpSettings) -> Builder {
    let mut builder = Builder::new();
    builder
        // Streams beyond the server's limit wait in h2 until one ends; the pool opens another
        // connection before that happens, once it knows the limit.
        .initial_max_send_streams(usize::MAX)
        .initial_window_size(CLIENT_WINDOW_SIZE)
        .initial_connection_window_size(CLIENT_WINDOW_SIZE)
        .max_send_buffer_size(MAX_SEND_BUFFER_SIZE)
        .max_header_list_size(u32::try_from(settings.max_response_header_size).unwrap_or(u32::MAX))
        .enable_push(false);
    builder
}

/// How the connection pings its peer (OkHttp's `pingInterval`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pings {
    /// Time between pings.
    pub(crate) interval: Duration,
    /// How long the pong may take before the connection is closed.
    pub(crate) timeout: Duration,
}

impl Pings {
    /// The pings of a connection with `settings`: every ping interval, each answered within
    /// the read timeout (within the interval without one).
    pub(crate) fn of(settings: &HttpSettings) -> Option<Pings> {
        let interval = settings.ping_interval?;
        Some(Pings {
            interval: within_clock(interval),
            timeout: within_clock(settings.read_timeout.unwrap_or(interval)),
        })
    }
}

/// Runs the connection until it ends: the peer closed it, it failed, nothing holds it any
/// more, or (with `pings`) a pong came late, which closes it.
pub(crate) async fn drive<T>(mut connection: Connection<T, Bytes>, pings: Option<Pings>)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let ping_pong = pings.and_then(|p| Some((p, connection.ping_pong()?)));
    let mut connection = AfterOthers {
        connection,
        deferred: false,
    };
    let Some((pings, mut ping_pong)) = ping_pong else {
        let _ = connection.await;
        return;
    };
    loop {
        tokio::select! {
            _ = &mut connection => return,
            () = tokio::time::sleep(pings.interval) => {}
        }
        if ping_pong.send_ping(Ping::opaque()).is_err() {
            let _ = connection.await;
            return;
        }
        let pong = tokio::time::timeout(pings.timeout, poll_fn(|cx| ping_pong.poll_pong(cx)));
        tokio::select! {
            _ = &mut connection => return,
            answered = pong => match answered {
                Ok(Ok(_)) => {}
                // Late: the connection is dropped, which closes its socket and fails its
                // streams.
                Err(_) => return,
                Ok(Err(_)) => {
                    let _ = connection.await;
                    return;
                }
            },
        }
    }
}

/// The connection, polled only after the tasks that are ready to run with it had their turn.
///
/// Each exchange opens its stream from its own task, and wakes this one to write it. Polled
/// at once, the connection would write each stream's frames on their own, one system call per
/// request (20,257 `writev` calls for 20,000 requests on 256 concurrent streams); deferred
/// behind the other ready tasks, it writes the frames of all the streams they opened together
/// (about one call per hundred requests, as hyper's own connection task does).
struct AfterOthers<F> {
    connection: F,
    deferred: bool,
}

impl<F: Future + Unpin> Future for AfterOthers<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        if !self.deferred {
            // A task that wakes itself while it runs goes to the back of the run queue
            // (tokio treats it as a yield).
            self.deferred = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.deferred = false;
        Pin::new(&mut self.connection).poll(cx)
    }
}

//! [`ResponseBody`]: the body of a response from the network, which gives its connection back
//! to the pool when it ends.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::exchange::Exchange;
use super::wire_error::{Awaited, StreamReset, from_wire};
use super::wire_incoming::WireIncoming;
use crate::connection::lease::Lease;
use crate::deadline::deadline_after;
use crate::{Error, ErrorKind, RequestSent};

/// The body of a response read from a connection.
///
/// Reading it to the end gives the connection back: an HTTP/1 connection returns to the pool
/// for the next exchange (unless either side said `Connection: close`), an HTTP/2 stream is
/// released. Dropping it earlier closes an HTTP/1 connection (its remaining bytes would
/// corrupt the next exchange) and resets an HTTP/2 stream. Each wait for data is bounded by
/// the read timeout. Errors are [`Error`]s naming the host: a truncated body or a bad chunk is
/// [`ErrorKind::Protocol`], and the connection is never reused after one.
pub struct ResponseBody {
    /// Boxed: every layer above moves its response by value, several times per call, and
    /// each move of a 224-byte body inline cost more than one allocation (S1 went from
    /// 33.8 K to 32.8 K instructions per request when this was boxed).
    inner: Option<Box<Reading>>,
}

/// What a body being read keeps: at most 120 bytes, which glibc's allocator serves from its
/// fast bins even when many bodies are open at once (256 HTTP/2 streams overflow its
/// per-thread cache, and a larger block then costs several hundred instructions to allocate).
struct Reading {
    incoming: WireIncoming,
    lease: Option<Lease>,
    /// The exchange: its connection, listener and read timeout (moved here, not copied).
    exchange: Exchange,
    progress: Progress,
    /// Made at the first wait for data (most bodies of small responses never wait).
    wait: Option<Box<Wait>>,
}

/// A body's wait for data, bounded by the read timeout.
struct Wait {
    /// When data last came.
    last_progress: Instant,
    /// The read timer, when the connection has none of its own (HTTP/2).
    timer: Option<Pin<Box<Sleep>>>,
}

/// How far a body got, in one word: the bytes read (up to 2^62 - 1), whether
/// `response_body_start` was reported, and whether the connection may carry another exchange
/// after this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Progress(u64);

impl Progress {
    const STARTED: u64 = 1 << 63;
    const REUSABLE: u64 = 1 << 62;
    const BYTES: u64 = Progress::REUSABLE - 1;

    fn new(reusable: bool) -> Self {
        Progress(if reusable { Progress::REUSABLE } else { 0 })
    }

    fn is_started(self) -> bool {
        self.0 & Progress::STARTED != 0
    }

    fn start(&mut self) {
        self.0 |= Progress::STARTED;
    }

    fn is_reusable(self) -> bool {
        self.0 & Progress::REUSABLE != 0
    }

    fn bytes(self) -> u64 {
        self.0 & Progress::BYTES
    }

    /// Counts `count` more bytes (saturating).
    fn add(&mut self, count: usize) {
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        let bytes = self.bytes().saturating_add(count).min(Progress::BYTES);
        self.0 = (self.0 & !Progress::BYTES) | bytes;
    }
}

impl ResponseBody {
    pub(crate) fn new(
        incoming: WireIncoming,
        lease: Lease,
        exchange: Exchange,
        reusable: bool,
    ) -> Self {
        let mut reading = Reading {
            incoming,
            lease: Some(lease),
            exchange,
            progress: Progress::new(reusable),
            wait: None,
        };
        if at_end(&reading.incoming) {
            reading.start();
            reading.finish();
            return ResponseBody { inner: None };
        }
        ResponseBody {
            inner: Some(Box::new(reading)),
        }
    }

    /// A body with nothing in it, bound to no connection.
    pub fn empty() -> Self {
        ResponseBody { inner: None }
    }
}

/// Whether `incoming` is at its end. A body that still announces bytes to come is not; only
/// otherwise is the connection asked (for HTTP/2 that takes the stream store's lock).
fn at_end(incoming: &WireIncoming) -> bool {
    incoming.size_hint().lower() == 0 && incoming.is_end_stream()
}

impl Reading {
    fn start(&mut self) {
        if !self.progress.is_started() {
            self.progress.start();
            self.exchange.listener().response_body_start();
        }
    }

    /// The body ended: the exchange succeeded and the connection goes back.
    fn finish(&mut self) {
        let listener = self.exchange.listener();
        listener.response_body_end(self.progress.bytes());
        if let Some(lease) = self.lease.take() {
            lease.connection().record_success();
            lease.release(self.progress.is_reusable());
            listener.connection_released(self.exchange.info());
        }
    }

    /// The body failed or was abandoned: the connection is not reused (an HTTP/2 connection
    /// only loses the stream).
    fn abandon(&mut self) {
        if let Some(lease) = self.lease.take() {
            lease.release(false);
            self.exchange
                .listener()
                .connection_released(self.exchange.info());
        }
    }

    fn fail(&mut self, error: Error) -> Error {
        self.exchange.listener().response_failed(&error);
        self.abandon();
        error
    }

    /// Checks the read timeout while no data comes.
    fn poll_timeout(&mut self, cx: &mut Context<'_>) -> Poll<Error> {
        let Some(limit) = self.exchange.read_timeout() else {
            return Poll::Pending;
        };
        let wait = self.wait.get_or_insert_with(|| {
            Box::new(Wait {
                last_progress: Instant::now(),
                timer: None,
            })
        });
        loop {
            let deadline = deadline_after(wait.last_progress, limit);
            // The HTTP/1 connection's own timer when it has one; this body's otherwise.
            let timer = match self.lease.as_mut().and_then(Lease::reusable_timer) {
                Some(timer) => timer,
                None => wait
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline))),
            };
            super::read_deadline::arm(timer.as_mut(), deadline, limit);
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if deadline <= Instant::now() {
                let address = self.exchange.info().route().address();
                let message = format!(
                    "reading the response body from {} timed out after {limit:?}",
                    address.host()
                );
                let error = Error::new(ErrorKind::Timeout, message)
                    .with_url(address.uri().to_string())
                    .with_request_sent(RequestSent::Maybe);
                return Poll::Ready(error);
            }
        }
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = self.get_mut();
        let Some(reading) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        reading.start();
        match Pin::new(&mut reading.incoming).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    reading.progress.add(data.len());
                }
                if let Some(wait) = &mut reading.wait {
                    wait.last_progress = Instant::now();
                }
                if at_end(&reading.incoming) {
                    reading.finish();
                    this.inner = None;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(None) => {
                reading.finish();
                this.inner = None;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(error))) => {
                let info = reading.exchange.info();
                let address = info.route().address().clone();
                let (error, reset) = from_wire(error, &address, Awaited::Body);
                if reset == StreamReset::Refused {
                    if let Some(lease) = &reading.lease {
                        lease.connection().record_refused_stream();
                    }
                } else if !info.protocol().is_multiplexed() || reset == StreamReset::None {
                    info.mark_no_new_exchanges();
                }
                let error = reading.fail(error);
                this.inner = None;
                Poll::Ready(Some(Err(error)))
            }
            Poll::Pending => match reading.poll_timeout(cx) {
                Poll::Ready(error) => {
                    reading.exchange.info().mark_no_new_exchanges();
                    let error = reading.fail(error);
                    this.inner = None;
                    Poll::Ready(Some(Err(error)))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(reading) => reading.incoming.size_hint(),
            None => SizeHint::with_exact(0),
        }
    }
}

impl Drop for Reading {
    fn drop(&mut self) {
        // Dropped before its end: the rest of the body is never read.
        self.abandon();
    }
}

impl Default for ResponseBody {
    fn default() -> Self {
        ResponseBody::empty()
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Some(reading) => f
                .debug_struct("ResponseBody")
                .field("connection", &reading.exchange.info().id())
                .field("bytes_read", &reading.progress.bytes())
                .finish(),
            None => f.write_str("ResponseBody(done)"),
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_being_read_fits_in_a_fast_bin_block() {
        assert!(
            size_of::<Reading>() <= 120,
            "{} bytes",
            size_of::<Reading>()
        );
    }

    #[test]
    fn progress_keeps_its_flags_and_count_apart() {
        let mut progress = Progress::new(true);
        assert!(progress.is_reusable() && !progress.is_started());
        progress.start();
        progress.add(5);
        progress.add(7);
        assert!(progress.is_reusable() && progress.is_started());
        assert_eq!(progress.bytes(), 12);
        let mut closing = Progress::new(false);
        closing.add(usize::MAX);
        closing.add(usize::MAX);
        assert_eq!(closing.bytes(), Progress::BYTES);
        assert!(!closing.is_reusable() && !closing.is_started());
    }
}

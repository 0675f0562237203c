//! [`ResponseBody`]: the body of a response from the network, which gives its connection back
//! to the pool when it ends.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use super::exchange::Exchange;
use super::wire_error::{Awaited, StreamReset, from_hyper};
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

struct Reading {
    incoming: Incoming,
    lease: Option<Lease>,
    /// The exchange: its connection, listener and read timeout (moved here, not copied).
    exchange: Exchange,
    /// The connection may carry another exchange after this one.
    reusable: bool,
    started: bool,
    bytes: u64,
    /// When data last came; set at the first wait.
    last_progress: Option<Instant>,
    /// The read timer, when the connection has none of its own (HTTP/2).
    timer: Option<Pin<Box<Sleep>>>,
}

impl ResponseBody {
    pub(crate) fn new(
        incoming: Incoming,
        lease: Lease,
        exchange: Exchange,
        reusable: bool,
    ) -> Self {
        let mut reading = Reading {
            incoming,
            lease: Some(lease),
            exchange,
            reusable,
            started: false,
            bytes: 0,
            last_progress: None,
            timer: None,
        };
        if reading.incoming.is_end_stream() {
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

impl Reading {
    fn start(&mut self) {
        if !self.started {
            self.started = true;
            self.exchange.listener().response_body_start();
        }
    }

    /// The body ended: the exchange succeeded and the connection goes back.
    fn finish(&mut self) {
        let listener = self.exchange.listener();
        listener.response_body_end(self.bytes);
        if let Some(lease) = self.lease.take() {
            lease.connection().record_success();
            lease.release(self.reusable);
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
        let last_progress = *self.last_progress.get_or_insert_with(Instant::now);
        loop {
            let deadline = deadline_after(self.last_progress.unwrap_or(last_progress), limit);
            // The HTTP/1 connection's own timer when it has one; this body's otherwise.
            let timer = match self.lease.as_mut().and_then(Lease::reusable_timer) {
                Some(timer) => timer,
                None => self
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
                    reading.bytes += data.len() as u64;
                }
                if reading.last_progress.is_some() {
                    reading.last_progress = Some(Instant::now());
                }
                if reading.incoming.is_end_stream() {
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
                let (error, reset) = from_hyper(error, &address, Awaited::Body);
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
                .field("bytes_read", &reading.bytes)
                .finish(),
            None => f.write_str("ResponseBody(done)"),
        }
    }
}

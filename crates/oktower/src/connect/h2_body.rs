//! [`H2Incoming`]: the body of a response on an HTTP/2 stream, read with `h2` directly.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use h2::{Reason, RecvStream};
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body::{Body, Frame, SizeHint};

use super::h2_stream::PumpGuard;

/// A response body on an HTTP/2 stream. Each chunk read is given back to the flow-control
/// window at once, as hyper does: the caller's reading is the back-pressure.
pub(crate) struct H2Incoming {
    recv: RecvStream,
    /// Bytes still announced by `Content-Length` ([`UNKNOWN`] without one), and in its top bit
    /// ([`DATA_DONE`]) whether the data frames ended (trailers may follow). One word: with
    /// the body's other fields it keeps [`WireIncoming`](super::wire_incoming::WireIncoming)
    /// as small as hyper's `Incoming`.
    remaining: u64,
    /// The request body's task, ended with this body.
    _pump: Option<PumpGuard>,
}

/// The data frames ended.
const DATA_DONE: u64 = 1 << 63;
/// No `Content-Length`.
const UNKNOWN: u64 = DATA_DONE - 1;

impl H2Incoming {
    pub(super) fn new(recv: RecvStream, headers: &HeaderMap, pump: Option<PumpGuard>) -> Self {
        let remaining = if recv.is_end_stream() {
            0
        } else {
            headers
                .get(CONTENT_LENGTH)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<u64>().ok())
                .map_or(UNKNOWN, |length| length.min(UNKNOWN - 1))
        };
        H2Incoming {
            recv,
            remaining,
            _pump: pump,
        }
    }

    /// Bytes still announced ([`UNKNOWN`] without `Content-Length`).
    fn remaining(&self) -> u64 {
        self.remaining & !DATA_DONE
    }
}

impl Body for H2Incoming {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        let this = self.get_mut();
        if this.remaining & DATA_DONE == 0 {
            match ready!(this.recv.poll_data(cx)) {
                Some(Ok(data)) => {
                    let _ = this.recv.flow_control().release_capacity(data.len());
                    if this.remaining != UNKNOWN {
                        this.remaining = this.remaining.saturating_sub(data.len() as u64);
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                // `NO_ERROR` after the whole response (RFC 9113 §8.1: the server needs no more
                // of the request) ends the body; before all the announced bytes, or with
                // another code, it is cut short.
                Some(Err(error))
                    if error.reason() == Some(Reason::NO_ERROR)
                        && matches!(this.remaining, 0 | UNKNOWN) =>
                {
                    return Poll::Ready(None);
                }
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => this.remaining |= DATA_DONE,
            }
        }
        match ready!(this.recv.poll_trailers(cx)) {
            Ok(Some(trailers)) => Poll::Ready(Some(Ok(Frame::trailers(trailers)))),
            Ok(None) => Poll::Ready(None),
            Err(error) => Poll::Ready(Some(Err(error))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.recv.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        match self.remaining() {
            UNKNOWN => SizeHint::default(),
            remaining => SizeHint::with_exact(remaining),
        }
    }
}

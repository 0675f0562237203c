//! [`WireIncoming`]: a response body as the connection gives it, from hyper's HTTP/1
//! connection or from an HTTP/2 stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::h2_body::H2Incoming;
use super::wire_error::WireFault;

/// A response body straight from the connection.
pub(crate) enum WireIncoming {
    Http1(Incoming),
    Http2(H2Incoming),
}

impl Body for WireIncoming {
    type Data = Bytes;
    type Error = WireFault;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, WireFault>>> {
        match self.get_mut() {
            WireIncoming::Http1(incoming) => Pin::new(incoming)
                .poll_frame(cx)
                .map(|frame| frame.map(|frame| frame.map_err(WireFault::Http1))),
            WireIncoming::Http2(incoming) => Pin::new(incoming)
                .poll_frame(cx)
                .map(|frame| frame.map(|frame| frame.map_err(WireFault::Http2))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            WireIncoming::Http1(incoming) => incoming.is_end_stream(),
            WireIncoming::Http2(incoming) => incoming.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            WireIncoming::Http1(incoming) => incoming.size_hint(),
            WireIncoming::Http2(incoming) => incoming.size_hint(),
        }
    }
}

//! The wire's errors (hyper's on HTTP/1, h2's on HTTP/2) as oktower's, naming the host and
//! telling whether the request may have been sent.

use std::error::Error as StdError;
use std::io;

use crate::{Address, Error, ErrorKind, RequestSent};

/// What went wrong on the wire, for the connection's bookkeeping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamReset {
    /// Not an HTTP/2 stream reset.
    None,
    /// The server refused the stream: it was not processed.
    Refused,
    /// Another reset, or the connection went away.
    Other,
}

/// What failed on the wire: hyper's HTTP/1 connection, or an HTTP/2 stream (h2's).
#[derive(Debug)]
pub(crate) enum WireFault {
    Http1(hyper::Error),
    Http2(h2::Error),
}

impl From<hyper::Error> for WireFault {
    fn from(error: hyper::Error) -> Self {
        WireFault::Http1(error)
    }
}

impl From<h2::Error> for WireFault {
    fn from(error: h2::Error) -> Self {
        WireFault::Http2(error)
    }
}

/// Which part of the response was awaited when the wire failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Awaited {
    /// The response head.
    Head,
    /// The response body.
    Body,
}

/// `error`, from an exchange with `address` while `awaited` was read, as an [`Error`].
///
/// The stream ending early is an I/O error before the response head (OkHttp's
/// `IOException("unexpected end of stream on ...")`, which the follow-up layer may retry: a
/// server closing a kept-alive connection as the request arrived) and a protocol error within
/// the body (OkHttp's `ProtocolException`: a truncated body).
pub(crate) fn from_wire(
    fault: WireFault,
    address: &Address,
    awaited: Awaited,
) -> (Error, StreamReset) {
    match fault {
        WireFault::Http1(error) => from_hyper(error, address, awaited),
        WireFault::Http2(error) => from_h2(error, address, awaited),
    }
}

/// An HTTP/2 stream's `error`, as [`from_wire`] says.
fn from_h2(error: h2::Error, address: &Address, awaited: Awaited) -> (Error, StreamReset) {
    let host = address.host();
    let reset = match error.reason() {
        Some(h2::Reason::REFUSED_STREAM) => StreamReset::Refused,
        Some(_) => StreamReset::Other,
        None => StreamReset::None,
    };
    let io = error.get_io().map(io::Error::kind);
    // Streams above a GOAWAY's last stream id were not processed (RFC 9113 §6.8), and may be
    // sent again on another connection, as after `REFUSED_STREAM`.
    let unprocessed = error.is_go_away() && error.is_remote();
    let (kind, message) = if io == Some(io::ErrorKind::UnexpectedEof) {
        let kind = match awaited {
            Awaited::Head => ErrorKind::Io,
            Awaited::Body => ErrorKind::Protocol,
        };
        (
            kind,
            format!("unexpected end of stream on {}", address.uri()),
        )
    } else if io == Some(io::ErrorKind::TimedOut) {
        (
            ErrorKind::Timeout,
            format!("the exchange with {host} timed out"),
        )
    } else if io == Some(io::ErrorKind::BrokenPipe) {
        (
            ErrorKind::Io,
            format!("the connection to {host} closed before the response completed"),
        )
    } else if reset == StreamReset::Refused {
        (
            ErrorKind::Io,
            format!("the server refused the HTTP/2 stream to {host} (REFUSED_STREAM)"),
        )
    } else if unprocessed {
        (
            ErrorKind::Io,
            format!("the HTTP/2 connection to {host} went away (GOAWAY) before the stream"),
        )
    } else if reset != StreamReset::None {
        (
            ErrorKind::Protocol,
            format!("the HTTP/2 stream to {host} was reset"),
        )
    } else {
        (ErrorKind::Io, format!("the exchange with {host} failed"))
    };
    let sent = if unprocessed {
        RequestSent::No
    } else {
        RequestSent::Maybe
    };
    let reset = if unprocessed {
        StreamReset::None
    } else {
        reset
    };
    let error = Error::new(kind, message)
        .with_source(error)
        .with_url(address.uri().to_string())
        .with_request_sent(sent);
    (error, reset)
}

/// An HTTP/1 connection's `error`, as [`from_wire`] says.
fn from_hyper(error: hyper::Error, address: &Address, awaited: Awaited) -> (Error, StreamReset) {
    let host = address.host();
    let reset = stream_reset(&error);
    let io = io_kind(&error);
    let (kind, message) = if error.is_parse() && error.to_string().contains("too large") {
        (
            ErrorKind::Protocol,
            format!("the response head from {host} is too large"),
        )
    } else if error.is_parse_status() {
        (
            ErrorKind::Protocol,
            format!("Unexpected status line from {host}"),
        )
    } else if error.is_parse() {
        (
            ErrorKind::Protocol,
            format!("malformed HTTP response from {host}"),
        )
    } else if error.is_incomplete_message() || io == Some(io::ErrorKind::UnexpectedEof) {
        let kind = match awaited {
            Awaited::Head => ErrorKind::Io,
            Awaited::Body => ErrorKind::Protocol,
        };
        (
            kind,
            format!("unexpected end of stream on {}", address.uri()),
        )
    } else if io == Some(io::ErrorKind::InvalidData) || io == Some(io::ErrorKind::InvalidInput) {
        (
            ErrorKind::Protocol,
            format!("malformed response body from {host}"),
        )
    } else if error.is_timeout() || io == Some(io::ErrorKind::TimedOut) {
        (
            ErrorKind::Timeout,
            format!("the exchange with {host} timed out"),
        )
    } else if reset == StreamReset::Refused {
        // Not processed by the server: an I/O failure the follow-up layer may retry.
        (
            ErrorKind::Io,
            format!("the server refused the HTTP/2 stream to {host} (REFUSED_STREAM)"),
        )
    } else if reset != StreamReset::None {
        (
            ErrorKind::Protocol,
            format!("the HTTP/2 stream to {host} was reset"),
        )
    } else if error.is_canceled() || error.is_closed() {
        (
            ErrorKind::Io,
            format!("the connection to {host} closed before the response completed"),
        )
    } else {
        (ErrorKind::Io, format!("the exchange with {host} failed"))
    };
    let error = Error::new(kind, message)
        .with_source(error)
        .with_url(address.uri().to_string())
        .with_request_sent(RequestSent::Maybe);
    (error, reset)
}

/// The kind of the I/O error under `error`, if any.
fn io_kind(error: &hyper::Error) -> Option<io::ErrorKind> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = cause.source();
    }
    None
}

/// Whether `error` is an HTTP/2 stream reset, and which.
fn stream_reset(error: &hyper::Error) -> StreamReset {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(h2) = cause.downcast_ref::<h2::Error>() {
            return match h2.reason() {
                Some(h2::Reason::REFUSED_STREAM) => StreamReset::Refused,
                Some(_) => StreamReset::Other,
                None => StreamReset::None,
            };
        }
        source = cause.source();
    }
    StreamReset::None
}

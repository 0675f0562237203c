//! HTTP/2 helpers: reading request bodies, sending response bodies in DATA frames, converting
//! scripted headers, and a socket wrapper that tells when every written byte has been flushed.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use h2::{Reason, RecvStream, SendStream};
use http::header::{CONNECTION, CONTENT_LENGTH, TE, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::RecordedRequest;
use crate::connection::Stream;
use crate::mock_response::{HeaderLine, Informational, ResponseBody, ResponseSpec, Throttle};

/// The most send capacity requested from h2 at once (h2 counts capacity in `u32`).
const MAX_RESERVE: usize = 1 << 24;

/// Reads request body DATA frames into `record` (up to `limit` bytes kept, every byte counted),
/// releasing flow-control capacity as it goes, and stops after `stop_after` bytes. Reads the
/// trailers when the body ends. A read error is recorded as the request's failure.
pub(crate) async fn read_body(
    body: &mut RecvStream,
    record: &mut RecordedRequest,
    limit: usize,
    stop_after: usize,
) {
    let mut kept = BodyBuffer::default();
    let mut remaining = stop_after;
    let mut ended = false;
    while remaining > 0 {
        match body.data().await {
            None => {
                ended = true;
                break;
            }
            Some(Ok(mut data)) => {
                if data.is_empty() {
                    continue;
                }
                // Errors here mean the stream is gone; the next `data()` reports it.
                let _ = body.flow_control().release_capacity(data.len());
                data.truncate(remaining);
                remaining -= data.len();
                record.chunk_sizes.push(data.len());
                record.body_size += data.len() as u64;
                kept.push(data, limit);
            }
            Some(Err(error)) => {
                record.failure = Some(format!("the request body could not be read: {error}"));
                break;
            }
        }
    }
    record.body = kept.finish();
    if ended {
        match body.trailers().await {
            Ok(Some(trailers)) => append_header_pairs(&mut record.trailers, trailers),
            Ok(None) => {}
            Err(error) => {
                record.failure = Some(format!("the request trailers could not be read: {error}"));
            }
        }
    }
}

/// The kept part of a request body: the first DATA frame as is (no copy for single-frame
/// bodies), later frames copied into one buffer.
#[derive(Default)]
struct BodyBuffer {
    first: Bytes,
    joined: Option<BytesMut>,
}

impl BodyBuffer {
    fn len(&self) -> usize {
        self.joined.as_ref().map_or(self.first.len(), BytesMut::len)
    }

    fn push(&mut self, mut data: Bytes, limit: usize) {
        let room = limit.saturating_sub(self.len());
        data.truncate(room);
        if data.is_empty() {
            return;
        }
        match &mut self.joined {
            Some(joined) => joined.extend_from_slice(&data),
            None if self.first.is_empty() => self.first = data,
            None => {
                let mut joined = BytesMut::with_capacity(self.first.len() + data.len());
                joined.extend_from_slice(&self.first);
                joined.extend_from_slice(&data);
                self.first = Bytes::new();
                self.joined = Some(joined);
            }
        }
    }

    fn finish(self) -> Bytes {
        match self.joined {
            Some(joined) => joined.freeze(),
            None => self.first,
        }
    }
}

/// Appends the pairs of `map` to `pairs` in the order the map yields them (names in arrival
/// order, repeated names grouped).
pub(crate) fn append_header_pairs(pairs: &mut Vec<(HeaderName, HeaderValue)>, map: HeaderMap) {
    pairs.reserve(map.len());
    let mut current: Option<HeaderName> = None;
    for (name, value) in map {
        if let Some(name) = name {
            current = Some(name);
        }
        if let Some(name) = &current {
            pairs.push((name.clone(), value));
        }
    }
}

/// Adds `name: value` to `headers` if HTTP/2 can express it: a valid lowercase-able name that is
/// not a pseudo-header or a connection-specific header, and a valid value.
fn append_field(headers: &mut HeaderMap, name: &str, value: &Bytes) {
    let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
        return;
    };
    let connection_specific = name == CONNECTION
        || name == TRANSFER_ENCODING
        || name == UPGRADE
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection";
    if connection_specific {
        return;
    }
    let Ok(value) = HeaderValue::from_maybe_shared(value.clone()) else {
        return;
    };
    if name == TE && value != "trailers" {
        return;
    }
    headers.append(name, value);
}

/// The final response head, or `None` when the status cannot be sent on HTTP/2.
pub(crate) fn response_head(spec: &ResponseSpec) -> Option<Response<()>> {
    let status = StatusCode::from_u16(spec.status).ok()?;
    let mut response = Response::new(());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    let mut explicit_length = false;
    for line in &spec.headers {
        if let HeaderLine::Field(name, value) = line {
            explicit_length |= name.eq_ignore_ascii_case("content-length");
            append_field(headers, name, value);
        }
    }
    if let ResponseBody::Fixed(data) = &spec.body
        && !explicit_length
    {
        headers.insert(CONTENT_LENGTH, HeaderValue::from(data.len()));
    }
    Some(response)
}

/// A 1xx response head, or `None` when it is not an informational status HTTP/2 allows (101 is
/// forbidden on HTTP/2).
pub(crate) fn informational_head(informational: &Informational) -> Option<Response<()>> {
    let status = StatusCode::from_u16(informational.status).ok()?;
    if !status.is_informational() || status == StatusCode::SWITCHING_PROTOCOLS {
        return None;
    }
    let mut response = Response::new(());
    *response.status_mut() = status;
    for (name, value) in &informational.headers {
        append_field(response.headers_mut(), name, value);
    }
    Some(response)
}

/// The trailers that HTTP/2 can express, or `None` when there are none.
pub(crate) fn trailer_map(trailers: &[(String, Bytes)]) -> Option<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in trailers {
        append_field(&mut map, name, value);
    }
    (!map.is_empty()).then_some(map)
}

/// Sends `data` as the response body: in DATA frames of the scripted chunk sizes for a chunked
/// body, throttled when the response says so, ending the stream after it when `end` is set.
///
/// With `exact`, every byte handed to h2 has send capacity, so it is written as soon as the
/// connection is polled (needed before a deliberate disconnect).
pub(crate) async fn send_body(
    send: &mut SendStream<Bytes>,
    spec: &ResponseSpec,
    mut data: Bytes,
    end: bool,
    exact: bool,
) -> Result<(), h2::Error> {
    let chunk_sizes: &[usize] = match &spec.body {
        ResponseBody::Chunked { chunk_sizes, .. } => chunk_sizes,
        ResponseBody::Fixed(_) | ResponseBody::CloseDelimited(_) => &[],
    };
    if data.is_empty() {
        return if end {
            send.send_data(data, true)
        } else {
            Ok(())
        };
    }
    if chunk_sizes.is_empty() && spec.throttle.is_none() && !exact {
        // The common case: h2 cuts the body into frames as flow control allows.
        return send.send_data(data, end);
    }
    let repeat = chunk_sizes.iter().rev().copied().find(|&size| size > 0);
    let mut next_size = chunk_sizes.iter().copied().filter(|&size| size > 0);
    while !data.is_empty() {
        let size = next_size.next().or(repeat).unwrap_or(data.len());
        let chunk = data.split_to(size.min(data.len()));
        let last = data.is_empty();
        match spec.throttle {
            Some(throttle) => send_throttled(send, chunk, end && last, throttle, last).await?,
            None => send_frame(send, chunk, end && last).await?,
        }
    }
    Ok(())
}

/// Sends `chunk` in slices of at most `throttle.bytes`, sleeping `throttle.period` after each
/// slice unless it is the last of the body.
async fn send_throttled(
    send: &mut SendStream<Bytes>,
    mut chunk: Bytes,
    end: bool,
    throttle: Throttle,
    last_chunk: bool,
) -> Result<(), h2::Error> {
    while !chunk.is_empty() {
        let slice = chunk.split_to(throttle.bytes.min(chunk.len()));
        let last = chunk.is_empty();
        send_frame(send, slice, end && last).await?;
        if !(last && last_chunk) {
            tokio::time::sleep(throttle.period).await;
        }
    }
    Ok(())
}

/// Sends `chunk` as one DATA frame once flow control allows all of it; when the window stays
/// smaller than the chunk (or the chunk exceeds the peer's frame size), h2 splits it.
async fn send_frame(
    send: &mut SendStream<Bytes>,
    mut chunk: Bytes,
    end: bool,
) -> Result<(), h2::Error> {
    while !chunk.is_empty() {
        send.reserve_capacity(chunk.len().min(MAX_RESERVE));
        let mut capacity = send.capacity();
        if capacity == 0 {
            capacity = match poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(capacity) => capacity?,
                None => return Err(h2::Error::from(Reason::STREAM_CLOSED)),
            };
        }
        let part = chunk.split_to(capacity.min(chunk.len()));
        send.send_data(part, end && chunk.is_empty())?;
    }
    Ok(())
}

/// The socket under an HTTP/2 connection, noting whether bytes written to it may still be
/// unflushed (so a deliberate disconnect can wait until what h2 wrote has left).
pub(crate) struct TrackedIo {
    inner: Stream,
    unflushed: Arc<AtomicBool>,
}

impl TrackedIo {
    pub(crate) fn new(inner: Stream) -> (TrackedIo, Arc<AtomicBool>) {
        let unflushed = Arc::new(AtomicBool::new(false));
        let io = TrackedIo {
            inner,
            unflushed: unflushed.clone(),
        };
        (io, unflushed)
    }
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.unflushed.store(true, Ordering::Relaxed);
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.unflushed.store(true, Ordering::Relaxed);
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(&mut this.inner).poll_flush(cx);
        if let Poll::Ready(Ok(())) = flushed {
            this.unflushed.store(false, Ordering::Relaxed);
        }
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

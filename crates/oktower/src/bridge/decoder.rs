//! The decoding state machine behind a decompressed response body.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder, ZlibDecoder, ZstdDecoder};
use async_compression::zstd::DParameter;
use bytes::{Bytes, BytesMut};
use http::Uri;
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};
use tokio_util::io::poll_read_buf;

use super::body_reader::{BodyReader, unwrap_body_error};
use crate::{BoxError, Error, ErrorKind, RequestSent};

/// How much decoded data one frame carries at most. Inflate keeps the last 32 KiB of its
/// output as its window, copied there after each call: with 32 KiB frames every decoded byte
/// was copied once more (S5: 7.63 M instructions per MiB; 6.86 M with 64 KiB, 6.47 M with
/// 128 KiB). 64 KiB halves that copy for 64 KiB of buffer per decoding body.
const FRAME_SIZE: usize = 64 * 1024;

/// The largest zstd window accepted: 8 MiB (`2^23`), the limit RFC 9659 sets for the `zstd`
/// content coding, so a frame cannot make the decoder allocate more.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// A content coding the bridge decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Encoding {
    /// `gzip` (and its alias `x-gzip`); concatenated members are decoded one after another.
    Gzip,
    /// `deflate`, which HTTP defines as the zlib format (RFC 9110 §8.4.1.2).
    Deflate,
    /// `br`.
    Brotli,
    /// `zstd`; concatenated frames are decoded one after another.
    Zstd,
}

impl Encoding {
    /// The coding a `Content-Encoding` value names, if it is exactly one the bridge decodes.
    pub(super) fn from_content_encoding(value: &[u8]) -> Option<Self> {
        let value = value.trim_ascii();
        [
            (&b"gzip"[..], Encoding::Gzip),
            (b"x-gzip", Encoding::Gzip),
            (b"deflate", Encoding::Deflate),
            (b"br", Encoding::Brotli),
            (b"zstd", Encoding::Zstd),
        ]
        .into_iter()
        .find(|(name, _)| value.eq_ignore_ascii_case(name))
        .map(|(_, encoding)| encoding)
    }

    fn name(self) -> &'static str {
        match self {
            Encoding::Gzip => "gzip",
            Encoding::Deflate => "deflate",
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
        }
    }
}

pin_project! {
    /// One of the decoders, over the body's bytes.
    #[project = CodecProjection]
    enum Codec<R> {
        Gzip { #[pin] decoder: GzipDecoder<R> },
        Deflate { #[pin] decoder: ZlibDecoder<R> },
        Brotli { #[pin] decoder: BrotliDecoder<R> },
        Zstd { #[pin] decoder: ZstdDecoder<R> },
    }
}

impl<R: AsyncBufRead> Codec<R> {
    fn new(encoding: Encoding, reader: R) -> Self {
        match encoding {
            Encoding::Gzip => {
                let mut decoder = GzipDecoder::new(reader);
                decoder.multiple_members(true);
                Codec::Gzip { decoder }
            }
            Encoding::Deflate => Codec::Deflate {
                decoder: ZlibDecoder::new(reader),
            },
            Encoding::Brotli => Codec::Brotli {
                decoder: BrotliDecoder::new(reader),
            },
            Encoding::Zstd => {
                let window = DParameter::window_log_max(ZSTD_WINDOW_LOG_MAX);
                let mut decoder = ZstdDecoder::with_params(reader, &[window]);
                decoder.multiple_members(true);
                Codec::Zstd { decoder }
            }
        }
    }
}

impl<R> Codec<R> {
    fn reader(self: Pin<&mut Self>) -> Pin<&mut R> {
        match self.project() {
            CodecProjection::Gzip { decoder } => decoder.get_pin_mut(),
            CodecProjection::Deflate { decoder } => decoder.get_pin_mut(),
            CodecProjection::Brotli { decoder } => decoder.get_pin_mut(),
            CodecProjection::Zstd { decoder } => decoder.get_pin_mut(),
        }
    }
}

impl<R: AsyncBufRead> AsyncRead for Codec<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.project() {
            CodecProjection::Gzip { decoder } => decoder.poll_read(cx, buf),
            CodecProjection::Deflate { decoder } => decoder.poll_read(cx, buf),
            CodecProjection::Brotli { decoder } => decoder.poll_read(cx, buf),
            CodecProjection::Zstd { decoder } => decoder.poll_read(cx, buf),
        }
    }
}

pin_project! {
    /// Decodes a body frame by frame, counting the decoded bytes against the limit; passes
    /// the body's trailers on after the last decoded frame.
    pub(super) struct Decoder<B> {
        #[pin]
        codec: Codec<BodyReader<B>>,
        buffer: BytesMut,
        decoded: u64,
        limit: Option<u64>,
        encoding: Encoding,
        url: Uri,
        // The decoder has read the end of the coded stream.
        stream_ended: bool,
        finished: bool,
    }
}

impl<B> Decoder<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    /// Decodes `body`, which is in `encoding`, into at most `limit` bytes; `url` names the
    /// response in errors.
    pub(super) fn new(body: B, encoding: Encoding, limit: Option<u64>, url: Uri) -> Self {
        Decoder {
            codec: Codec::new(encoding, BodyReader::new(body)),
            buffer: BytesMut::new(),
            decoded: 0,
            limit,
            encoding,
            url,
            stream_ended: false,
            finished: false,
        }
    }

    /// The next decoded frame: data, then the body's trailers if it had any.
    pub(super) fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let mut this = self.project();
        if *this.finished {
            return Poll::Ready(None);
        }
        let frame = loop {
            if *this.stream_ended {
                // The coded stream is over; the body must end too (so that the connection
                // under it is released), perhaps with trailers, and without more data.
                let mut reader = this.codec.as_mut().reader();
                let at_end = ready!(reader.as_mut().poll_fill_buf(cx)).map(|rest| rest.is_empty());
                break match at_end {
                    Ok(true) => {
                        *this.finished = true;
                        let trailers = reader.take_trailers().map(|map| Ok(Frame::trailers(map)));
                        return Poll::Ready(trailers);
                    }
                    Ok(false) => Err(trailing_data(*this.encoding, this.url)),
                    Err(error) => Err(read_failure(error, *this.encoding, this.url)),
                };
            }
            this.buffer.reserve(FRAME_SIZE);
            match ready!(poll_read_buf(this.codec.as_mut(), cx, this.buffer)) {
                Ok(0) => *this.stream_ended = true,
                Ok(length) => {
                    *this.decoded += length as u64;
                    break match *this.limit {
                        Some(limit) if *this.decoded > limit => {
                            Err(too_large(*this.encoding, limit, this.url))
                        }
                        _ => Ok(Frame::data(this.buffer.split().freeze())),
                    };
                }
                Err(error) => break Err(read_failure(error, *this.encoding, this.url)),
            }
        };
        if frame.is_err() {
            *this.finished = true;
            *this.buffer = BytesMut::new();
        }
        Poll::Ready(Some(frame))
    }

    /// Whether the decoded body has ended.
    pub(super) fn is_end_stream(&self) -> bool {
        self.finished
    }
}

/// A failure while decoding: the inner body's own error, or else the coded data is corrupt.
fn read_failure(error: io::Error, encoding: Encoding, url: &Uri) -> Error {
    unwrap_body_error(error).unwrap_or_else(|error| corrupt(encoding, url, error))
}

/// The error that stops a body decoding to more than `limit` bytes.
fn too_large(encoding: Encoding, limit: u64, url: &Uri) -> Error {
    let message = format!(
        "the {} response body decompresses to more than the limit of {limit} bytes \
         (see BridgeLayer::max_decompressed_size)",
        encoding.name()
    );
    Error::new(ErrorKind::TooLarge, message)
        .with_url(url.to_string())
        .with_request_sent(RequestSent::Maybe)
}

/// The error for a body that goes on after its coded stream has ended.
fn trailing_data(encoding: Encoding, url: &Uri) -> Error {
    let message = format!(
        "the {} response body has data after the end of its compressed stream",
        encoding.name()
    );
    Error::new(ErrorKind::Protocol, message)
        .with_url(url.to_string())
        .with_request_sent(RequestSent::Maybe)
}

/// The error for a body that is not valid in its `encoding` (or ends in the middle).
fn corrupt(encoding: Encoding, url: &Uri, error: io::Error) -> Error {
    let message = format!("the {} response body could not be decoded", encoding.name());
    Error::new(ErrorKind::Protocol, message)
        .with_url(url.to_string())
        .with_request_sent(RequestSent::Maybe)
        .with_source(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_encodings_are_matched_exactly_and_case_insensitively() {
        for (value, expected) in [
            (&b"gzip"[..], Some(Encoding::Gzip)),
            (b"GZIP", Some(Encoding::Gzip)),
            (b" x-gzip ", Some(Encoding::Gzip)),
            (b"deflate", Some(Encoding::Deflate)),
            (b"br", Some(Encoding::Brotli)),
            (b"Zstd", Some(Encoding::Zstd)),
            (b"identity", None),
            (b"compress", None),
            (b"gzip, br", None),
            (b"", None),
        ] {
            assert_eq!(
                Encoding::from_content_encoding(value),
                expected,
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
    }
}

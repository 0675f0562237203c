//! A response body read as a byte stream, the input of a decoder.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http::HeaderMap;
use http_body::Body;
use pin_project_lite::pin_project;
use tokio::io::{AsyncBufRead, AsyncRead, ReadBuf};

use crate::{BoxError, Error, ErrorKind};

pin_project! {
    /// Reads the data frames of a body as [`AsyncBufRead`], without copying them, and keeps its
    /// trailers for after the decoded data. A failure of the body travels through the decoder
    /// as an [`io::Error`] wrapping the [`Error`] of [`body_error`], and comes out unchanged.
    pub(super) struct BodyReader<B> {
        #[pin]
        body: B,
        chunk: Bytes,
        trailers: Option<HeaderMap>,
        ended: bool,
    }
}

impl<B> BodyReader<B> {
    pub(super) fn new(body: B) -> Self {
        BodyReader {
            body,
            chunk: Bytes::new(),
            trailers: None,
            ended: false,
        }
    }

    /// The body's trailers, once it has ended with some.
    pub(super) fn take_trailers(self: Pin<&mut Self>) -> Option<HeaderMap> {
        self.project().trailers.take()
    }
}

impl<B> AsyncBufRead for BodyReader<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let mut this = self.project();
        while this.chunk.is_empty() && !*this.ended {
            match ready!(this.body.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => *this.chunk = data,
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            *this.trailers = Some(trailers);
                        }
                    }
                },
                Some(Err(error)) => {
                    *this.ended = true;
                    return Poll::Ready(Err(io::Error::other(body_error(error.into()))));
                }
                None => *this.ended = true,
            }
        }
        let chunk: &mut Bytes = this.chunk;
        Poll::Ready(Ok(&chunk[..]))
    }

    fn consume(self: Pin<&mut Self>, amount: usize) {
        self.project().chunk.advance(amount);
    }
}

impl<B> AsyncRead for BodyReader<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let available = ready!(self.as_mut().poll_fill_buf(cx))?;
        let length = available.len().min(buf.remaining());
        buf.put_slice(&available[..length]);
        self.consume(length);
        Poll::Ready(Ok(()))
    }
}

/// A failure of the inner response body as an [`Error`]: an [`Error`] already (as the
/// connection layers produce) is kept as it is; anything else becomes an
/// [`ErrorKind::Io`] error with it as the source.
pub(super) fn body_error(error: BoxError) -> Error {
    match error.downcast::<Error>() {
        Ok(error) => *error,
        Err(other) => {
            Error::new(ErrorKind::Io, "reading the response body failed").with_source(other)
        }
    }
}

/// The [`Error`] a [`BodyReader`] wrapped into `error`, if it is one of those.
pub(super) fn unwrap_body_error(error: io::Error) -> Result<Error, io::Error> {
    if !error.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return Err(error);
    }
    match error.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(error)) => Ok(*error),
        Some(Err(other)) => Err(io::Error::other(other)),
        None => Err(io::Error::from(io::ErrorKind::Other)),
    }
}

#[cfg(test)]
mod tests {
    use http_body::Frame;
    use tokio::io::AsyncReadExt;

    use super::super::test_body::TestBody;
    use super::*;

    #[tokio::test]
    async fn reads_data_frames_in_order_and_keeps_trailers() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", "0".parse().expect("valid"));
        let chunks = vec![
            Bytes::from_static(b"hello "),
            Bytes::new(),
            Bytes::from_static(b"world"),
        ];
        let mut body = Box::pin(BodyReader::new(TestBody::chunks(chunks, Some(trailers))));
        let mut text = String::new();
        body.read_to_string(&mut text).await.expect("read");
        assert_eq!(text, "hello world");
        let trailers = body.as_mut().take_trailers().expect("trailers");
        assert_eq!(trailers["grpc-status"], "0");
    }

    #[tokio::test]
    async fn body_errors_come_out_unchanged() {
        let failure: BoxError = Box::new(Error::new(ErrorKind::Timeout, "read timed out"));
        let frames = vec![
            Ok(Frame::data(Bytes::from_static(b"partial"))),
            Err(failure),
        ];
        let mut body = Box::pin(BodyReader::new(TestBody::new(frames.into_iter())));
        let mut bytes = Vec::new();
        let error = body.read_to_end(&mut bytes).await.expect_err("fails");
        assert_eq!(bytes, b"partial");
        let error = unwrap_body_error(error).expect("the body's error");
        assert!(error.is_timeout());
        assert_eq!(error.message(), "read timed out");
    }

    #[test]
    fn foreign_errors_become_io_errors_and_decoder_errors_stay_io() {
        let error = body_error("connection reset".into());
        assert!(error.is_io());
        assert!(std::error::Error::source(&error).is_some());
        let decoder = io::Error::new(io::ErrorKind::InvalidData, "bad header");
        let decoder = unwrap_body_error(decoder).expect_err("not a body error");
        assert_eq!(decoder.kind(), io::ErrorKind::InvalidData);
    }
}

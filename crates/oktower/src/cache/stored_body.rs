//! The body of a stored entry, streamed in chunks.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;

use crate::{Error, ErrorKind};

/// The chunk stream a [`StoredBody`] wraps.
pub type BodyChunks = Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send + 'static>>;

/// The body of an entry read from a [`CacheStore`](super::CacheStore): its length, known
/// before the first byte, and a stream of [`Bytes`] chunks.
///
/// The stream yields exactly [`len`](Self::len) bytes. If the store's source ends early (a
/// body file truncated underneath a reader) or runs long, the stream ends with an
/// [`ErrorKind::Io`] error instead of a clean end, so a torn entry is never mistaken for a
/// whole one. After an error it yields nothing more.
///
/// ```
/// use bytes::Bytes;
/// use oktower::StoredBody;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oktower::Error> {
/// let mut body = StoredBody::from_bytes(Bytes::from_static(b"hello"));
/// assert_eq!(body.len(), 5);
/// assert_eq!(body.chunk().await.transpose()?, Some(Bytes::from_static(b"hello")));
/// assert!(body.chunk().await.is_none());
/// # Ok(())
/// # }
/// ```
pub struct StoredBody {
    len: u64,
    remaining: u64,
    source: Source,
}

enum Source {
    Whole(Option<Bytes>),
    Chunks(BodyChunks),
    Finished,
}

impl StoredBody {
    /// A body held in memory, yielded as one chunk (none if empty).
    pub fn from_bytes(bytes: Bytes) -> Self {
        let len = bytes.len() as u64;
        let whole = (!bytes.is_empty()).then_some(bytes);
        StoredBody {
            len,
            remaining: len,
            source: Source::Whole(whole),
        }
    }

    /// A body of `len` bytes that `chunks` yields.
    pub fn from_stream(len: u64, chunks: BodyChunks) -> Self {
        StoredBody {
            len,
            remaining: len,
            source: Source::Chunks(chunks),
        }
    }

    /// The body's length in bytes, as recorded when it was stored.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes not yet yielded.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// The next chunk; `None` once all [`len`](Self::len) bytes were yielded (or after an
    /// error).
    pub async fn chunk(&mut self) -> Option<Result<Bytes, Error>> {
        poll_fn(|cx| self.poll_chunk(cx)).await
    }

    /// Reads the whole body into one buffer. This holds the entire body in memory: meant for
    /// small bodies and tests, not for serving responses.
    pub async fn to_bytes(mut self) -> Result<Bytes, Error> {
        let capacity = usize::try_from(self.len).unwrap_or(usize::MAX).min(1 << 20);
        let mut buffer = BytesMut::with_capacity(capacity);
        while let Some(chunk) = self.chunk().await {
            let chunk = chunk?;
            if buffer.is_empty() && self.remaining == 0 {
                return Ok(chunk);
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(buffer.freeze())
    }

    /// Polls for the next chunk (the [`Stream`] implementation).
    pub fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Error>>> {
        let polled = match &mut self.source {
            Source::Finished => return Poll::Ready(None),
            Source::Whole(whole) => whole.take(),
            Source::Chunks(chunks) => match chunks.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(error))) => {
                    self.source = Source::Finished;
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(Some(Ok(chunk))) => Some(chunk),
                Poll::Ready(None) => None,
            },
        };
        match polled {
            None if self.remaining == 0 => {
                self.source = Source::Finished;
                Poll::Ready(None)
            }
            None => {
                let error = self.length_error("ended early");
                Poll::Ready(Some(Err(error)))
            }
            Some(chunk) if chunk.len() as u64 > self.remaining => {
                let error = self.length_error("ran past its recorded length");
                Poll::Ready(Some(Err(error)))
            }
            Some(chunk) => {
                self.remaining -= chunk.len() as u64;
                if self.remaining == 0 && matches!(self.source, Source::Whole(_)) {
                    self.source = Source::Finished;
                }
                Poll::Ready(Some(Ok(chunk)))
            }
        }
    }

    fn length_error(&mut self, what: &str) -> Error {
        let read = self.len - self.remaining;
        self.source = Source::Finished;
        Error::new(
            ErrorKind::Io,
            format!(
                "stored body {what}: {read} bytes read of {} recorded",
                self.len
            ),
        )
    }
}

impl Stream for StoredBody {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.source {
            Source::Finished => (0, Some(0)),
            _ if self.remaining == 0 => (0, Some(1)),
            _ => (1, None),
        }
    }
}

impl fmt::Debug for StoredBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredBody")
            .field("len", &self.len)
            .field("remaining", &self.remaining)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Chunks(Vec<Result<Bytes, Error>>);

    impl Stream for Chunks {
        type Item = Result<Bytes, Error>;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            Poll::Ready(if self.0.is_empty() {
                None
            } else {
                Some(self.0.remove(0))
            })
        }
    }

    fn streamed(len: u64, chunks: &[&'static [u8]]) -> StoredBody {
        let chunks = chunks.iter().map(|c| Ok(Bytes::from_static(c))).collect();
        StoredBody::from_stream(len, Box::pin(Chunks(chunks)))
    }

    #[tokio::test]
    async fn streams_chunks_in_order_and_tracks_remaining() {
        let mut body = streamed(6, &[b"ab", b"", b"cdef"]);
        assert_eq!(body.chunk().await.unwrap().unwrap(), "ab");
        assert_eq!(body.remaining(), 4);
        assert_eq!(body.chunk().await.unwrap().unwrap(), "");
        assert_eq!(body.chunk().await.unwrap().unwrap(), "cdef");
        assert_eq!(body.remaining(), 0);
        assert!(body.chunk().await.is_none());
        assert!(body.chunk().await.is_none());
    }

    #[tokio::test]
    async fn a_source_that_ends_early_is_an_error_not_an_end() {
        let mut body = streamed(10, &[b"abc"]);
        assert_eq!(body.chunk().await.unwrap().unwrap(), "abc");
        let error = body.chunk().await.unwrap().unwrap_err();
        assert!(error.is_io());
        assert!(error.message().contains("ended early"), "{error}");
        assert!(error.message().contains("3 bytes read of 10"), "{error}");
        assert!(body.chunk().await.is_none());
    }

    #[tokio::test]
    async fn a_source_that_runs_long_is_an_error() {
        let mut body = streamed(2, &[b"abc"]);
        let error = body.chunk().await.unwrap().unwrap_err();
        assert!(
            error.message().contains("past its recorded length"),
            "{error}"
        );
        assert!(body.chunk().await.is_none());
    }

    #[tokio::test]
    async fn source_errors_pass_through_and_end_the_stream() {
        let chunks = vec![
            Ok(Bytes::from_static(b"a")),
            Err(Error::new(ErrorKind::Io, "disk gone")),
            Ok(Bytes::from_static(b"b")),
        ];
        let mut body = StoredBody::from_stream(2, Box::pin(Chunks(chunks)));
        assert_eq!(body.chunk().await.unwrap().unwrap(), "a");
        assert_eq!(
            body.chunk().await.unwrap().unwrap_err().message(),
            "disk gone"
        );
        assert!(body.chunk().await.is_none());
    }

    #[tokio::test]
    async fn in_memory_bodies() {
        let body = StoredBody::from_bytes(Bytes::new());
        assert!(body.is_empty());
        assert_eq!(body.size_hint(), (0, Some(1)));
        assert_eq!(body.to_bytes().await.unwrap(), "");
        let body = StoredBody::from_bytes(Bytes::from_static(b"xyz"));
        assert_eq!(body.to_bytes().await.unwrap(), "xyz");
    }

    #[tokio::test]
    async fn to_bytes_joins_chunks_and_reports_errors() {
        assert_eq!(
            streamed(4, &[b"ab", b"cd"]).to_bytes().await.unwrap(),
            "abcd"
        );
        assert!(streamed(5, &[b"ab", b"cd"]).to_bytes().await.is_err());
    }
}

//! A body of scripted frames, for the bridge's tests.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame};

use crate::BoxError;

/// Yields the frames of an iterator, one per poll; streams as long as the iterator does.
pub(super) struct TestBody {
    frames: Box<dyn Iterator<Item = Result<Frame<Bytes>, BoxError>> + Send>,
}

impl TestBody {
    pub(super) fn new(
        frames: impl Iterator<Item = Result<Frame<Bytes>, BoxError>> + Send + 'static,
    ) -> Self {
        TestBody {
            frames: Box::new(frames),
        }
    }

    /// The data chunks `chunks`, then trailers if given.
    pub(super) fn chunks(chunks: Vec<Bytes>, trailers: Option<HeaderMap>) -> Self {
        TestBody::new(
            chunks
                .into_iter()
                .map(Frame::data)
                .chain(trailers.map(Frame::trailers))
                .map(Ok),
        )
    }

    /// One chunk.
    pub(super) fn bytes(data: impl Into<Bytes>) -> Self {
        TestBody::chunks(vec![data.into()], None)
    }
}

impl Body for TestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.frames.next())
    }
}

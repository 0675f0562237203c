//! Copying a network body into the store while the caller reads it (OkHttp's
//! `cacheWritingResponse`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame};

use super::stats::CacheCounters;
use super::{CommitOutcome, EntryWriter};
use crate::Error;

/// The store side of a teeing body: the entry being written, and where it is in its life.
///
/// Each data frame is handed to the writer before the caller sees it, so nothing is buffered
/// here beyond what the store itself buffers. The entry is committed when the network body
/// ends (its last frame is held back until the commit finishes, so a caller that stops at
/// `is_end_stream` still gets a stored entry) and aborted when the body fails or is dropped
/// before its end. A store that fails only stops the copy: the caller's body goes on.
pub(super) struct Tee {
    writer: Option<EntryWriter>,
    /// The commit is running; `held` is the frame to give once it is done (`None`: the end).
    committing: bool,
    held: Option<Frame<Bytes>>,
    counters: Arc<CacheCounters>,
}

impl Tee {
    pub(super) fn new(writer: EntryWriter, counters: Arc<CacheCounters>) -> Self {
        Tee {
            writer: Some(writer),
            committing: false,
            held: None,
            counters,
        }
    }

    /// Whether the tee is done (committed or given up) and holds nothing back.
    pub(super) fn is_idle(&self) -> bool {
        self.writer.is_none() && self.held.is_none()
    }

    /// Polls `body` for its next frame, copying data into the store.
    pub(super) fn poll_frame<B>(
        &mut self,
        mut body: Pin<&mut B>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>>
    where
        B: Body<Data = Bytes, Error = Error>,
    {
        loop {
            if self.committing {
                return self.poll_commit(cx);
            }
            if let Some(writer) = &mut self.writer {
                match writer.poll_ready(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(_)) => self.abort(),
                }
            }
            let frame = match body.as_mut().poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    if self.writer.is_none() {
                        return Poll::Ready(None);
                    }
                    self.committing = true;
                    continue;
                }
                Poll::Ready(Some(Err(error))) => {
                    self.abort();
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            if let (Some(writer), Some(data)) = (&mut self.writer, frame.data_ref())
                && !data.is_empty()
                && writer.start_write(data.clone()).is_err()
            {
                self.abort();
            }
            if self.writer.is_some() && body.is_end_stream() {
                self.held = Some(frame);
                self.committing = true;
                continue;
            }
            return Poll::Ready(Some(Ok(frame)));
        }
    }

    fn poll_commit(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if let Some(writer) = &mut self.writer {
            let outcome = match writer.poll_commit(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(outcome) => outcome,
            };
            self.writer = None;
            match outcome {
                Ok(CommitOutcome::Stored) => self.counters.write_succeeded(),
                Ok(CommitOutcome::Discarded) | Err(_) => self.counters.write_aborted(),
            }
        }
        self.committing = false;
        Poll::Ready(self.held.take().map(Ok))
    }

    fn abort(&mut self) {
        if let Some(writer) = self.writer.take() {
            writer.abort();
            self.counters.write_aborted();
        }
    }
}

impl Drop for Tee {
    fn drop(&mut self) {
        // Dropped before the end of the body (or during the commit): nothing is published.
        self.abort();
    }
}

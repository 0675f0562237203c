//! Writing one entry: body chunks in, then commit or abort.

use std::fmt;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;

use crate::Error;

/// What a commit did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommitOutcome {
    /// The entry is stored and readers opened from now on see it.
    Stored,
    /// The entry was discarded: it was removed (or the whole store evicted) while it was
    /// being written, so the data may be stale. Counted as an abort.
    Discarded,
}

/// The store side of an [`EntryWriter`]: what a [`CacheStore`](super::CacheStore)
/// implements. Callers use [`EntryWriter`], which adds async helpers and aborts on drop.
///
/// The interface is poll-based, like a sink, so a cache layer can copy a response body into
/// the store from inside its own `poll_frame` without an extra task: call
/// [`poll_ready`](Self::poll_ready) until it is ready, hand over a chunk with
/// [`start_write`](Self::start_write), repeat, then drive [`poll_commit`](Self::poll_commit)
/// to completion. An implementation may buffer chunks; `poll_ready` is where it applies
/// back-pressure.
///
/// Contract: after `poll_commit` returned `Ready`, or after [`abort`](Self::abort), no
/// method is called again. `abort` may be called while a commit is pending (the caller gave
/// up on it); the entry must then end up either complete or absent, never torn.
pub trait WriteEntry: Send + 'static {
    /// Ready to take the next chunk, or the write failed (the caller then aborts).
    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>>;

    /// Takes the next chunk of the body. Called only after `poll_ready` returned
    /// `Ready(Ok(()))`. An error (an entry larger than the store, say) means the write
    /// failed and the caller aborts.
    fn start_write(self: Pin<&mut Self>, chunk: Bytes) -> Result<(), Error>;

    /// Makes every chunk durable and publishes the entry atomically: readers see either the
    /// previous version or this one, whole.
    fn poll_commit(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<CommitOutcome, Error>>;

    /// Drops the entry: nothing of it is published and its temporary data is removed.
    /// Must not block; cleanup that needs I/O runs in the background.
    fn abort(self: Pin<&mut Self>);
}

/// A body being written into a [`CacheStore`](super::CacheStore), from
/// [`begin_write`](super::CacheStore::begin_write).
///
/// Write the body chunk by chunk with [`write`](Self::write) (or the poll methods), then
/// [`commit`](Self::commit). Nothing is visible to readers before the commit. Dropping the
/// writer without committing aborts the entry, as does [`abort`](Self::abort); a response
/// body that fails halfway or a caller that stops reading early therefore never leaves a torn
/// entry behind.
///
/// ```
/// use bytes::Bytes;
/// use oktower::{CacheStore, CommitOutcome, MemoryStore, StoreKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oktower::Error> {
/// let store = MemoryStore::new(1 << 20);
/// let key = StoreKey::new("k")?;
/// let mut writer = store.begin_write(&key, Bytes::from_static(b"meta")).await?.expect("no other writer");
/// writer.write(Bytes::from_static(b"hello ")).await?;
/// writer.write(Bytes::from_static(b"world")).await?;
/// assert_eq!(writer.commit().await?, CommitOutcome::Stored);
///
/// let entry = store.open_read(&key).await?.expect("stored");
/// assert_eq!(entry.body.to_bytes().await?, "hello world");
/// # Ok(())
/// # }
/// ```
pub struct EntryWriter {
    inner: Pin<Box<dyn WriteEntry>>,
    finished: bool,
}

impl EntryWriter {
    /// Wraps a store's writer.
    pub fn new(inner: impl WriteEntry) -> Self {
        EntryWriter {
            inner: Box::pin(inner),
            finished: false,
        }
    }

    /// Appends `chunk` to the body, waiting while the store applies back-pressure.
    pub async fn write(&mut self, chunk: Bytes) -> Result<(), Error> {
        poll_fn(|cx| self.poll_ready(cx)).await?;
        self.start_write(chunk)
    }

    /// Publishes the entry. On an error nothing is published (the entry is aborted).
    pub async fn commit(mut self) -> Result<CommitOutcome, Error> {
        poll_fn(|cx| self.poll_commit(cx)).await
    }

    /// Drops the entry without publishing anything.
    pub fn abort(mut self) {
        self.abort_once();
    }

    /// See [`WriteEntry::poll_ready`].
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.finished {
            return Poll::Ready(Err(finished_error()));
        }
        self.inner.as_mut().poll_ready(cx)
    }

    /// See [`WriteEntry::start_write`].
    pub fn start_write(&mut self, chunk: Bytes) -> Result<(), Error> {
        if self.finished {
            return Err(finished_error());
        }
        self.inner.as_mut().start_write(chunk)
    }

    /// See [`WriteEntry::poll_commit`]. After it returns `Ready` the writer is finished.
    pub fn poll_commit(&mut self, cx: &mut Context<'_>) -> Poll<Result<CommitOutcome, Error>> {
        if self.finished {
            return Poll::Ready(Err(finished_error()));
        }
        let polled = self.inner.as_mut().poll_commit(cx);
        if polled.is_ready() {
            self.finished = true;
        }
        polled
    }

    fn abort_once(&mut self) {
        if !self.finished {
            self.finished = true;
            self.inner.as_mut().abort();
        }
    }
}

fn finished_error() -> Error {
    Error::new(
        crate::ErrorKind::Io,
        "cache entry writer already committed or aborted",
    )
}

impl Drop for EntryWriter {
    fn drop(&mut self) {
        self.abort_once();
    }
}

impl fmt::Debug for EntryWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntryWriter")
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Default)]
    struct Log(Arc<Mutex<Vec<String>>>);

    impl WriteEntry for Log {
        fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
            self.0.lock().unwrap().push("ready".into());
            Poll::Ready(Ok(()))
        }
        fn start_write(self: Pin<&mut Self>, chunk: Bytes) -> Result<(), Error> {
            let text = String::from_utf8(chunk.to_vec()).unwrap();
            self.0.lock().unwrap().push(format!("write {text}"));
            Ok(())
        }
        fn poll_commit(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Result<CommitOutcome, Error>> {
            self.0.lock().unwrap().push("commit".into());
            Poll::Ready(Ok(CommitOutcome::Stored))
        }
        fn abort(self: Pin<&mut Self>) {
            self.0.lock().unwrap().push("abort".into());
        }
    }

    fn logged_writer() -> (EntryWriter, Arc<Mutex<Vec<String>>>) {
        let log = Log::default();
        let shared = log.0.clone();
        (EntryWriter::new(log), shared)
    }

    #[tokio::test]
    async fn write_waits_for_ready_then_hands_over_the_chunk() {
        let (mut writer, log) = logged_writer();
        writer.write(Bytes::from_static(b"a")).await.unwrap();
        assert_eq!(writer.commit().await.unwrap(), CommitOutcome::Stored);
        assert_eq!(*log.lock().unwrap(), ["ready", "write a", "commit"]);
    }

    #[test]
    fn dropping_an_uncommitted_writer_aborts_once() {
        let (writer, log) = logged_writer();
        drop(writer);
        assert_eq!(*log.lock().unwrap(), ["abort"]);
        let (writer, log) = logged_writer();
        writer.abort();
        assert_eq!(*log.lock().unwrap(), ["abort"]);
    }

    #[tokio::test]
    async fn a_committed_writer_does_not_abort_on_drop_and_refuses_more() {
        let (mut writer, log) = logged_writer();
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(writer.poll_commit(&mut cx).is_ready());
        assert!(writer.start_write(Bytes::new()).is_err());
        assert!(matches!(writer.poll_ready(&mut cx), Poll::Ready(Err(_))));
        assert!(matches!(writer.poll_commit(&mut cx), Poll::Ready(Err(_))));
        drop(writer);
        assert_eq!(*log.lock().unwrap(), ["commit"]);
    }
}

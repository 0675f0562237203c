//! `MemoryStore`: entries in memory, bounded by bytes, least recently used evicted first.

use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};

use super::guard::lock;
use super::lru::LruIndex;
use super::store::key_stream_of;
use super::store_stats::StoreCounters;
use super::writer_slots::{SlotEnd, WriterSlots};
use super::{
    CacheStore, CommitOutcome, DecodedMetadata, EntryVersion, EntryWriter, KeyStream, StoreFuture,
    StoreKey, StoreStats, StoreStatus, StoredBody, StoredEntry, WriteEntry,
};
use crate::{Error, ErrorKind};

/// A [`CacheStore`] in memory: a least-recently-used map bounded by the bytes of metadata
/// and bodies.
///
/// Readers share the stored bytes (a read copies nothing); a body is copied once, while it
/// is written. An entry larger than the whole store is refused while it is written. Cloning
/// the store clones a handle to the same entries.
///
/// ```
/// use bytes::Bytes;
/// use oktower::{CacheStore, MemoryStore, StoreKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oktower::Error> {
/// let store = MemoryStore::new(10 * 1024 * 1024);
/// let key = StoreKey::new("abc")?;
/// let mut writer = store.begin_write(&key, Bytes::from_static(b"meta")).await?.expect("free");
/// writer.write(Bytes::from_static(b"body")).await?;
/// writer.commit().await?;
/// assert_eq!(store.size().await?, 8);
/// assert_eq!(store.stats().write_success_count, 1);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    shared: Arc<Shared>,
}

struct Shared {
    max_size: u64,
    state: Mutex<State>,
    counters: StoreCounters,
}

#[derive(Default)]
struct State {
    entries: LruIndex<MemoryEntry>,
    writers: WriterSlots,
    next_version: u64,
}

struct MemoryEntry {
    metadata: Bytes,
    /// The cache layer's decoded `metadata`, filled at the first read of this version.
    decoded: DecodedMetadata,
    body: Bytes,
    version: u64,
}

impl State {
    fn publish(&mut self, key: StoreKey, metadata: Bytes, body: Bytes, max_size: u64) -> u64 {
        self.next_version += 1;
        let size = (metadata.len() + body.len()) as u64;
        let entry = MemoryEntry {
            metadata,
            decoded: DecodedMetadata::slot(),
            body,
            version: self.next_version,
        };
        self.entries.insert(key, entry, size);
        self.entries.evict_to(max_size).len() as u64
    }
}

impl MemoryStore {
    /// An empty store holding at most `max_size` bytes of metadata and bodies.
    pub fn new(max_size: u64) -> Self {
        MemoryStore {
            shared: Arc::new(Shared {
                max_size,
                state: Mutex::new(State::default()),
                counters: StoreCounters::default(),
            }),
        }
    }

    /// The number of entries stored.
    pub fn len(&self) -> usize {
        lock(&self.shared.state).entries.len()
    }

    /// Whether no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("MemoryStore")
            .field("max_size", &self.shared.max_size)
            .field("size", &state.entries.total_size())
            .field("entries", &state.entries.len())
            .finish()
    }
}

impl CacheStore for MemoryStore {
    fn open_read<'a>(&'a self, key: &'a StoreKey) -> StoreFuture<'a, Option<StoredEntry>> {
        let found = lock(&self.shared.state)
            .entries
            .touch(key.as_str())
            .map(|entry| StoredEntry {
                metadata: entry.metadata.clone(),
                body: StoredBody::from_bytes(entry.body.clone()),
                version: EntryVersion::new(entry.version),
                decoded: entry.decoded.clone(),
            });
        self.shared.counters.read(found.is_some());
        Box::pin(std::future::ready(Ok(found)))
    }

    fn begin_write<'a>(
        &'a self,
        key: &'a StoreKey,
        metadata: Bytes,
    ) -> StoreFuture<'a, Option<EntryWriter>> {
        let claimed = lock(&self.shared.state).writers.claim(key);
        let writer = claimed.map(|id| {
            EntryWriter::new(MemoryWriter {
                shared: Arc::clone(&self.shared),
                key: key.clone(),
                id,
                size: metadata.len() as u64,
                metadata,
                body: BytesMut::new(),
                finished: false,
            })
        });
        Box::pin(std::future::ready(Ok(writer)))
    }

    fn update_metadata<'a>(
        &'a self,
        key: &'a StoreKey,
        version: EntryVersion,
        metadata: Bytes,
    ) -> StoreFuture<'a, bool> {
        let mut state = lock(&self.shared.state);
        let body = match state.entries.get(key.as_str()) {
            Some(entry) if entry.version == version.get() => Some(entry.body.clone()),
            _ => None,
        };
        let updated = body.is_some();
        if let Some(body) = body {
            let evicted = state.publish(key.clone(), metadata, body, self.shared.max_size);
            self.shared.counters.evicted(evicted);
        }
        drop(state);
        Box::pin(std::future::ready(Ok(updated)))
    }

    fn remove<'a>(&'a self, key: &'a StoreKey) -> StoreFuture<'a, bool> {
        let mut state = lock(&self.shared.state);
        state.writers.discard(key.as_str());
        let removed = state.entries.remove(key.as_str()).is_some();
        drop(state);
        Box::pin(std::future::ready(Ok(removed)))
    }

    fn evict_all(&self) -> StoreFuture<'_, ()> {
        let mut state = lock(&self.shared.state);
        state.writers.discard_all();
        let drained = state.entries.drain();
        drop(state);
        drop(drained);
        Box::pin(std::future::ready(Ok(())))
    }

    fn size(&self) -> StoreFuture<'_, u64> {
        let size = lock(&self.shared.state).entries.total_size();
        Box::pin(std::future::ready(Ok(size)))
    }

    fn max_size(&self) -> u64 {
        self.shared.max_size
    }

    fn flush(&self) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn keys(&self) -> KeyStream {
        key_stream_of(lock(&self.shared.state).entries.keys())
    }

    fn stats(&self) -> StoreStats {
        self.shared.counters.snapshot()
    }

    fn status(&self) -> StoreStatus {
        StoreStatus::Ready
    }
}

/// Collects one body in memory and publishes it at commit.
struct MemoryWriter {
    shared: Arc<Shared>,
    key: StoreKey,
    id: u64,
    metadata: Bytes,
    body: BytesMut,
    size: u64,
    finished: bool,
}

impl WriteEntry for MemoryWriter {
    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn start_write(self: Pin<&mut Self>, chunk: Bytes) -> Result<(), Error> {
        let this = self.get_mut();
        this.size += chunk.len() as u64;
        if this.size > this.shared.max_size {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "cache entry {} is larger than the memory store's maximum size of {} bytes",
                    this.key, this.shared.max_size
                ),
            ));
        }
        this.body.extend_from_slice(&chunk);
        Ok(())
    }

    fn poll_commit(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Result<CommitOutcome, Error>> {
        let this = self.get_mut();
        this.finished = true;
        let shared = &this.shared;
        let mut state = lock(&shared.state);
        let outcome = match state.writers.release(this.key.as_str(), this.id) {
            SlotEnd::Discard => CommitOutcome::Discarded,
            SlotEnd::Publish if this.size > shared.max_size => CommitOutcome::Discarded,
            SlotEnd::Publish => {
                let body = std::mem::take(&mut this.body).freeze();
                let metadata = std::mem::take(&mut this.metadata);
                let evicted = state.publish(this.key.clone(), metadata, body, shared.max_size);
                shared.counters.evicted(evicted);
                CommitOutcome::Stored
            }
        };
        drop(state);
        match outcome {
            CommitOutcome::Stored => shared.counters.write_succeeded(),
            CommitOutcome::Discarded => shared.counters.write_aborted(),
        }
        Poll::Ready(Ok(outcome))
    }

    fn abort(self: Pin<&mut Self>) {
        let this = self.get_mut();
        if !this.finished {
            this.finished = true;
            lock(&this.shared.state)
                .writers
                .release(this.key.as_str(), this.id);
            this.shared.counters.write_aborted();
        }
    }
}

#[cfg(test)]
mod tests;

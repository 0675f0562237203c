//! The `CacheStore` trait: where cached responses live.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use super::{DecodedMetadata, EntryWriter, StoreKey, StoreStats, StoreStatus, StoredBody};
use crate::Error;

/// The future a [`CacheStore`] operation returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// The stream of keys from [`CacheStore::keys`].
pub type KeyStream = Pin<Box<dyn Stream<Item = Result<StoreKey, Error>> + Send + 'static>>;

/// Identifies one stored version of an entry: it changes whenever the entry is rewritten or
/// its metadata updated, so [`CacheStore::update_metadata`] can refuse to touch a newer
/// version than the one the caller read.
///
/// ```
/// use oktower::EntryVersion;
///
/// assert_eq!(EntryVersion::new(7).get(), 7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryVersion(u64);

impl EntryVersion {
    /// A version number chosen by the store.
    pub fn new(version: u64) -> Self {
        EntryVersion(version)
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// An entry opened for reading: its metadata, its body and its version.
///
/// Readers see one version whole: a reader keeps the version it opened even when a writer
/// replaces or removes the entry while the body is being read.
#[derive(Debug)]
pub struct StoredEntry {
    /// The metadata bytes given when the entry was written or last updated (for the cache
    /// layer: the encoded request and response heads). The store does not interpret them.
    pub metadata: Bytes,
    /// The body, streamed.
    pub body: StoredBody,
    /// The version read, for [`CacheStore::update_metadata`].
    pub version: EntryVersion,
    /// Where the cache layer keeps its decoded form of `metadata`, for a version the store
    /// holds in memory; [`DecodedMetadata::none`] otherwise.
    pub decoded: DecodedMetadata,
}

/// Storage for cached responses: entries made of a key, opaque metadata bytes and a body
/// streamed in chunks. A store knows nothing of HTTP; the cache layer encodes what it needs
/// into the metadata.
///
/// Two implementations come with oktower: [`DiskStore`](super::DiskStore), the crash-safe
/// embedded default, and [`MemoryStore`](super::MemoryStore). Every method is async and the
/// trait is object safe, so a client holds an `Arc<dyn CacheStore>`.
///
/// Rules every implementation follows:
/// - Bodies stream both ways; nothing requires a whole body in memory.
/// - At most one writer per key at a time: [`begin_write`](Self::begin_write) answers
///   `Ok(None)` while another writer of the same key is open (OkHttp's `edit()` returning
///   null); the cache layer then simply does not store that response.
/// - A write is invisible until its commit, and a commit is atomic: a reader sees the old
///   version or the new one, never a mix, and a reader that opened the old version can read
///   it to the end after the new one is committed.
/// - Failures never leave a torn entry: an entry is served whole or not at all.
/// - Storage trouble (a read-only or full disk, an unreachable server) turns into errors
///   from the operations and [`status`](Self::status), never a panic. The cache layer treats
///   any store error as a miss and goes to the network.
///
/// # A store shared by a fleet
///
/// The trait is shaped so that a store on a distributed engine such as Redis fits without
/// changes, for machines sharing one cache:
/// - [`open_read`](Self::open_read): one round trip fetches the metadata, the version and
///   the body length (a hash); the body then streams with ranged reads (`GETRANGE`) or, for
///   small bodies, arrives with the metadata ([`StoredBody::from_bytes`]).
/// - [`begin_write`](Self::begin_write): the one-writer rule maps to `SET lock:key NX PX ttl`;
///   chunks are appended to a temporary key (`APPEND`), and the commit publishes metadata,
///   body and a new version in one `MULTI`/`EXEC` or script, then releases the lock. An
///   abandoned write expires with its lock's TTL.
/// - [`update_metadata`](Self::update_metadata) is a compare-and-set on the version (a
///   script or `WATCH`), which is why it takes the version that was read.
/// - Size and eviction can be the engine's own (`maxmemory-policy allkeys-lru`);
///   [`size`](Self::size) is async so it may ask the server.
/// - [`keys`](Self::keys) is a stream, so it can page through `SCAN` instead of loading every
///   key at once; [`evict_all`](Self::evict_all) deletes what that scan yields.
/// - [`status`](Self::status) reports a lost connection as disabled writes.
///
/// ```
/// use std::sync::Arc;
/// use bytes::Bytes;
/// use oktower::{CacheStore, MemoryStore, StoreKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oktower::Error> {
/// let store: Arc<dyn CacheStore> = Arc::new(MemoryStore::new(1 << 20));
/// let key = StoreKey::new("5d41402abc4b2a76")?;
///
/// let mut writer = store.begin_write(&key, Bytes::from_static(b"head")).await?.expect("no other writer");
/// writer.write(Bytes::from_static(b"body")).await?;
/// writer.commit().await?;
///
/// let entry = store.open_read(&key).await?.expect("just stored");
/// assert_eq!(entry.metadata, "head");
/// assert!(store.update_metadata(&key, entry.version, Bytes::from_static(b"head 2")).await?);
/// assert_eq!(entry.body.to_bytes().await?, "body");
/// assert!(store.remove(&key).await?);
/// assert!(store.open_read(&key).await?.is_none());
/// # Ok(())
/// # }
/// ```
pub trait CacheStore: Send + Sync + 'static {
    /// Opens the entry stored under `key`, or `None` if there is none (or it was found
    /// corrupt, in which case the store drops it). Marks the entry as recently used.
    fn open_read<'a>(&'a self, key: &'a StoreKey) -> StoreFuture<'a, Option<StoredEntry>>;

    /// Starts writing a new version of `key` with `metadata`; the body follows through the
    /// returned writer. `None` while another writer of `key` is open. Fails when writes are
    /// disabled (see [`status`](Self::status)).
    fn begin_write<'a>(
        &'a self,
        key: &'a StoreKey,
        metadata: Bytes,
    ) -> StoreFuture<'a, Option<EntryWriter>>;

    /// Replaces the metadata of `key` and keeps its body (after a 304), if the stored version
    /// is still `version`. Answers whether it did: `false` when the entry is gone or was
    /// replaced since it was read.
    fn update_metadata<'a>(
        &'a self,
        key: &'a StoreKey,
        version: EntryVersion,
        metadata: Bytes,
    ) -> StoreFuture<'a, bool>;

    /// Removes the entry of `key`; answers whether there was one. A write of `key` in
    /// progress is discarded at its commit (its data may be stale).
    fn remove<'a>(&'a self, key: &'a StoreKey) -> StoreFuture<'a, bool>;

    /// Removes every entry; writes in progress are discarded at their commit.
    fn evict_all(&self) -> StoreFuture<'_, ()>;

    /// The bytes the stored entries take (metadata and bodies).
    fn size(&self) -> StoreFuture<'_, u64>;

    /// The size the store evicts down to, least recently used entries first.
    fn max_size(&self) -> u64;

    /// Makes what was written so far durable (for a disk store: the journal is written and
    /// synced).
    fn flush(&self) -> StoreFuture<'_, ()>;

    /// The keys stored when the call is made, as a stream. Entries may be removed (with
    /// [`remove`](Self::remove)) while the stream is being read; keys added meanwhile may or
    /// may not appear.
    fn keys(&self) -> KeyStream;

    /// The store's counters.
    fn stats(&self) -> StoreStats;

    /// Whether the store accepts writes.
    fn status(&self) -> StoreStatus;
}

impl<T: CacheStore + ?Sized> CacheStore for Arc<T> {
    fn open_read<'a>(&'a self, key: &'a StoreKey) -> StoreFuture<'a, Option<StoredEntry>> {
        (**self).open_read(key)
    }

    fn begin_write<'a>(
        &'a self,
        key: &'a StoreKey,
        metadata: Bytes,
    ) -> StoreFuture<'a, Option<EntryWriter>> {
        (**self).begin_write(key, metadata)
    }

    fn update_metadata<'a>(
        &'a self,
        key: &'a StoreKey,
        version: EntryVersion,
        metadata: Bytes,
    ) -> StoreFuture<'a, bool> {
        (**self).update_metadata(key, version, metadata)
    }

    fn remove<'a>(&'a self, key: &'a StoreKey) -> StoreFuture<'a, bool> {
        (**self).remove(key)
    }

    fn evict_all(&self) -> StoreFuture<'_, ()> {
        (**self).evict_all()
    }

    fn size(&self) -> StoreFuture<'_, u64> {
        (**self).size()
    }

    fn max_size(&self) -> u64 {
        (**self).max_size()
    }

    fn flush(&self) -> StoreFuture<'_, ()> {
        (**self).flush()
    }

    fn keys(&self) -> KeyStream {
        (**self).keys()
    }

    fn stats(&self) -> StoreStats {
        (**self).stats()
    }

    fn status(&self) -> StoreStatus {
        (**self).status()
    }
}

/// A [`KeyStream`] over keys already collected.
pub(crate) fn key_stream_of(keys: Vec<StoreKey>) -> KeyStream {
    Box::pin(CollectedKeys(keys.into_iter()))
}

struct CollectedKeys(std::vec::IntoIter<StoreKey>);

impl Stream for CollectedKeys {
    type Item = Result<StoreKey, Error>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.next().map(Ok))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

/// Test helper: every key of a stream.
#[cfg(test)]
pub(crate) async fn collect_keys(mut keys: KeyStream) -> Vec<String> {
    let mut all = Vec::new();
    while let Some(key) = std::future::poll_fn(|cx| keys.as_mut().poll_next(cx)).await {
        all.push(key.expect("key").as_str().to_owned());
    }
    all.sort();
    all
}

//! `DiskStore`: the embedded, crash-safe default store (OkHttp's `DiskLruCache` design).

mod blocking;
mod deferred_reads;
mod entry_files;
mod hot_entries;
mod journal;
mod lock;
mod reader;
mod recovery;
mod shared;
mod state;
mod update;
mod writer;

#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod read_tests;
#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
pub(crate) mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use self::blocking::Blocking;
use self::entry_files::{FileKind, create_temp, meta_file_len, temp_name};
use self::hot_entries::HotEntries;
use self::journal::Record;
use self::shared::Shared;
use self::writer::DiskWriter;
use super::store::key_stream_of;
use super::{
    CacheStore, EntryVersion, EntryWriter, KeyStream, StoreFuture, StoreKey, StoreStats,
    StoreStatus, StoredEntry,
};
use crate::{Error, ErrorKind};

/// Settings of a disk store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    max_size: u64,
    compaction_threshold: u64,
    format_version: u32,
    write_retry_after: Duration,
    memory_cache_size: Option<u64>,
}

/// The default for [`DiskStoreBuilder::memory_cache_size`]: an eighth of the store, at most
/// 8 MiB.
fn default_memory_cache_size(max_size: u64) -> u64 {
    (max_size / 8).min(8 * 1024 * 1024)
}

/// A [`CacheStore`] in a directory: a journal plus one metadata file and one body file per
/// entry, least recently used entries evicted beyond a maximum size.
///
/// **Crash safety.** A body is written to a temporary file; the commit syncs it, writes the
/// metadata file the same way (temporary file, sync), renames both into place, syncs the
/// directory, and only then appends the entry's `CLEAN` line to the journal. Every version
/// gets fresh file names, so nothing is ever overwritten in place. On open the journal is
/// replayed and an entry is kept only if its body file has the recorded length and its
/// metadata file passes its own SHA-256 check and names that body; garbage journal lines
/// are skipped; temporary files and files no entry names are deleted (opening therefore
/// reads every metadata file once). A process killed at
/// any point therefore loses at most the writes in flight, and never serves a torn entry.
/// An interrupted rewrite keeps the previous version (OkHttp drops the entry). Journal
/// lines themselves are written at each commit but synced only by
/// [`flush`](CacheStore::flush): a power cut can lose recent entries, never corrupt one.
///
/// **Concurrency.** Readers never wait for writers: a reader keeps the version it opened,
/// even if the entry is replaced, removed or evicted while its body is read (on Unix an open
/// file outlives its name). At most one writer per key: a second
/// [`begin_write`](CacheStore::begin_write) of the same key answers `None`, as OkHttp's
/// `edit()` answers null. File I/O runs on tokio's blocking pool, never on an async worker.
///
/// **Fast hits.** Recently read small entries are kept in memory (see
/// [`memory_cache_size`](DiskStoreBuilder::memory_cache_size)): reading one again is a
/// lookup, with no file opened and no blocking task. Reads only change the LRU order, so the
/// journal gets one `READ` line per key read since its last line, written with the next line
/// (or by [`flush`](CacheStore::flush), or when the store is dropped), not one per read; a
/// crash can lose that recent order, never an entry.
///
/// **One store per directory.** The store holds an advisory lock on `oktower.lock` in its
/// directory; opening a second store on the same directory, from this process or another,
/// fails with an [`ErrorKind::Io`] error saying the directory is in use. Share one store (it
/// is cheap to clone) instead.
///
/// **Faults.** When the directory stops taking writes (read-only, full, deleted while
/// running), the store turns writes off: [`status`](CacheStore::status) reports
/// [`StoreStatus::WritesDisabled`] with the reason, writes fail with an [`ErrorKind::Io`]
/// error, and reads of whatever is still there keep working. After
/// [`write_retry_after`](DiskStoreBuilder::write_retry_after) a write tries again by
/// rebuilding the journal. A directory that is read-only when the store opens gives a
/// store that reads only.
///
/// ```
/// use bytes::Bytes;
/// use oktower::{CacheStore, DiskStore, StoreKey};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oktower::Error> {
/// # let dir = std::env::temp_dir().join(format!("oktower-doc-disk-{}", std::process::id()));
/// let store = DiskStore::open(&dir, 10 * 1024 * 1024).await?;
/// let key = StoreKey::new("5d41402abc4b2a76")?;
/// let mut writer = store.begin_write(&key, Bytes::from_static(b"head")).await?.expect("free");
/// writer.write(Bytes::from_static(b"body")).await?;
/// writer.commit().await?;
/// drop(store);
///
/// let reopened = DiskStore::open(&dir, 10 * 1024 * 1024).await?;
/// let entry = reopened.open_read(&key).await?.expect("survives a restart");
/// assert_eq!(entry.body.to_bytes().await?, "body");
/// # drop(reopened);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct DiskStore {
    shared: Arc<Shared>,
}

/// Settings for [`DiskStore`], from [`DiskStore::builder`].
///
/// ```
/// use std::time::Duration;
/// use oktower::DiskStore;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oktower::Error> {
/// # let dir = std::env::temp_dir().join(format!("oktower-doc-builder-{}", std::process::id()));
/// let store = DiskStore::builder(&dir, 50 * 1024 * 1024)
///     .format_version(2)
///     .compaction_threshold(1000)
///     .write_retry_after(Duration::from_secs(30))
///     .memory_cache_size(1024 * 1024)
///     .open()
///     .await?;
/// assert_eq!(store.directory(), dir.as_path());
/// # drop(store);
/// # std::fs::remove_dir_all(&dir).ok();
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct DiskStoreBuilder {
    directory: PathBuf,
    config: Config,
}

impl DiskStoreBuilder {
    /// The version of what the store's user writes into metadata (OkHttp's
    /// `appVersion`). A directory written with another version is emptied on open. Default 1.
    pub fn format_version(mut self, version: u32) -> Self {
        self.config.format_version = version;
        self
    }

    /// How many redundant journal lines trigger a rebuild of the journal (they must also
    /// outnumber the entries). Default 2000, as OkHttp.
    pub fn compaction_threshold(mut self, lines: u64) -> Self {
        self.config.compaction_threshold = lines;
        self
    }

    /// How long writes stay off after the directory refused one, before a write tries
    /// again. Default 60 seconds.
    pub fn write_retry_after(mut self, delay: Duration) -> Self {
        self.config.write_retry_after = delay;
        self
    }

    /// How many bytes of recently read small entries (bodies up to 64 KiB) the store keeps in
    /// memory, so that reading one again answers at once, without touching the directory.
    /// A kept copy is served only while its version is the stored one: a rewrite, metadata
    /// update, removal or eviction of the entry drops it, and so does a directory that stops
    /// taking writes. 0 turns this off. Default: an eighth of the store's maximum size, at
    /// most 8 MiB.
    pub fn memory_cache_size(mut self, bytes: u64) -> Self {
        self.config.memory_cache_size = Some(bytes);
        self
    }

    /// Opens (creating if needed) the directory and recovers its entries.
    pub async fn open(self) -> Result<DiskStore, Error> {
        let DiskStoreBuilder { directory, config } = self;
        let dir = directory.clone();
        let mut recovered = Blocking::spawn(move || recovery::recover(&dir, &config)).await??;
        let memory_cache_size = config
            .memory_cache_size
            .unwrap_or_else(|| default_memory_cache_size(config.max_size));
        recovered.state.hot = HotEntries::new(memory_cache_size);
        let shared = Shared::new(
            directory,
            config,
            recovered.state,
            recovered.journal,
            recovered.lock,
        );
        shared.counters.corrupt_dropped(recovered.dropped);
        Ok(DiskStore {
            shared: Arc::new(shared),
        })
    }
}

impl DiskStore {
    /// Settings for a store in `directory` holding at most `max_size` bytes.
    pub fn builder(directory: impl AsRef<Path>, max_size: u64) -> DiskStoreBuilder {
        DiskStoreBuilder {
            directory: directory.as_ref().to_path_buf(),
            config: Config {
                max_size,
                compaction_threshold: 2000,
                format_version: 1,
                write_retry_after: Duration::from_secs(60),
                memory_cache_size: None,
            },
        }
    }

    /// Opens a store in `directory` (created if needed) holding at most `max_size` bytes,
    /// with the default settings.
    pub async fn open(directory: impl AsRef<Path>, max_size: u64) -> Result<DiskStore, Error> {
        DiskStore::builder(directory, max_size).open().await
    }

    /// The store's directory.
    pub fn directory(&self) -> &Path {
        &self.shared.dir
    }

    /// The number of entries stored.
    pub fn len(&self) -> usize {
        self.shared.state().entries.len()
    }

    /// Whether no entry is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    async fn begin_disk_write(
        &self,
        key: &StoreKey,
        metadata: Bytes,
    ) -> Result<Option<EntryWriter>, Error> {
        let shared = &self.shared;
        let meta_len = meta_file_len(key.as_str(), metadata.len());
        if metadata.len() > u32::MAX as usize || meta_len > shared.config.max_size {
            return Err(Error::new(
                ErrorKind::Io,
                format!(
                    "metadata of cache entry {key} ({} bytes) does not fit the disk store",
                    metadata.len()
                ),
            ));
        }
        shared.check_writable().await?;
        let (slot, body_id) = {
            let mut state = shared.state();
            let Some(slot) = state.writers.claim(key) else {
                return Ok(None);
            };
            let body_id = state.allocate_id();
            state.record(&Record::Dirty {
                key: key.as_str(),
                id: body_id,
            });
            (slot, body_id)
        };
        let temp = temp_name(key.as_str(), body_id, FileKind::Body);
        let task_shared = Arc::clone(shared);
        let task_temp = temp.clone();
        let created = Blocking::spawn(move || {
            task_shared.fault_check()?;
            create_temp(&task_shared.dir, &task_temp)
        })
        .await;
        let failure = match created {
            Ok(Ok(file)) => {
                let writer = DiskWriter::new(
                    Arc::clone(shared),
                    key.clone(),
                    slot,
                    body_id,
                    metadata,
                    meta_len,
                    file,
                );
                return Ok(Some(EntryWriter::new(writer)));
            }
            Ok(Err(error)) => shared.write_failed(format!("cannot create {temp}"), error),
            Err(error) => error,
        };
        shared.state().writers.release(key.as_str(), slot);
        Err(failure)
    }
}

impl fmt::Debug for DiskStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state();
        f.debug_struct("DiskStore")
            .field("directory", &self.shared.dir)
            .field("max_size", &self.shared.config.max_size)
            .field("size", &state.entries.total_size())
            .field("entries", &state.entries.len())
            .field("entries_in_memory", &state.hot.len())
            .field("size_in_memory", &state.hot.size())
            .finish()
    }
}

impl CacheStore for DiskStore {
    fn open_read<'a>(&'a self, key: &'a StoreKey) -> StoreFuture<'a, Option<StoredEntry>> {
        Box::pin(reader::open_read(&self.shared, key))
    }

    fn begin_write<'a>(
        &'a self,
        key: &'a StoreKey,
        metadata: Bytes,
    ) -> StoreFuture<'a, Option<EntryWriter>> {
        Box::pin(self.begin_disk_write(key, metadata))
    }

    fn update_metadata<'a>(
        &'a self,
        key: &'a StoreKey,
        version: EntryVersion,
        metadata: Bytes,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            if meta_file_len(key.as_str(), metadata.len()) > self.shared.config.max_size {
                return Ok(false);
            }
            self.shared.check_writable().await?;
            let shared = Arc::clone(&self.shared);
            let key = key.clone();
            Blocking::spawn(move || update::update_metadata(&shared, &key, version, &metadata))
                .await?
        })
    }

    fn remove<'a>(&'a self, key: &'a StoreKey) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let Some(obsolete) = self.shared.state().remove(key.as_str()) else {
                return Ok(false);
            };
            let shared = Arc::clone(&self.shared);
            Blocking::spawn(move || shared.after_change(&obsolete)).await?;
            Ok(true)
        })
    }

    fn evict_all(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let obsolete = self.shared.state().remove_all();
            let shared = Arc::clone(&self.shared);
            Blocking::spawn(move || shared.after_change(&obsolete)).await
        })
    }

    fn size(&self) -> StoreFuture<'_, u64> {
        let size = self.shared.state().entries.total_size();
        Box::pin(std::future::ready(Ok(size)))
    }

    fn max_size(&self) -> u64 {
        self.shared.config.max_size
    }

    fn flush(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let shared = Arc::clone(&self.shared);
            let synced = Blocking::spawn(move || shared.sync_journal()).await?;
            synced.map_err(|error| {
                self.shared
                    .write_failed("cannot sync the journal".to_owned(), error)
            })
        })
    }

    fn keys(&self) -> KeyStream {
        key_stream_of(self.shared.state().entries.keys())
    }

    fn stats(&self) -> StoreStats {
        self.shared.stats()
    }

    fn status(&self) -> StoreStatus {
        self.shared.status()
    }
}

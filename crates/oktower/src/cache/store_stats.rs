//! Counters a store keeps, and whether it accepts writes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of a [`CacheStore`](super::CacheStore) since it was opened.
///
/// Every writer handed out by [`begin_write`](super::CacheStore::begin_write) ends as
/// exactly one success or one abort (a failed or discarded commit counts as an abort).
///
/// ```
/// use oktower::{CacheStore, MemoryStore};
///
/// let store = MemoryStore::new(1024);
/// let stats = store.stats();
/// assert_eq!(stats.write_success_count, 0);
/// assert_eq!(stats, oktower::StoreStats::default());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StoreStats {
    /// Entries committed (OkHttp's `writeSuccessCount`).
    pub write_success_count: u64,
    /// Writes aborted, explicitly, by dropping the writer, by a failure, or discarded at
    /// commit (OkHttp's `writeAbortCount`).
    pub write_abort_count: u64,
    /// Reads that found an entry.
    pub read_hit_count: u64,
    /// Reads that found none.
    pub read_miss_count: u64,
    /// Entries evicted to stay under the maximum size.
    pub eviction_count: u64,
    /// Entries dropped because their data was missing, truncated or corrupt.
    pub corrupt_entry_count: u64,
}

/// The live counters behind [`StoreStats`].
#[derive(Debug, Default)]
pub(crate) struct StoreCounters {
    write_success: AtomicU64,
    write_abort: AtomicU64,
    read_hit: AtomicU64,
    read_miss: AtomicU64,
    eviction: AtomicU64,
    corrupt_entry: AtomicU64,
}

impl StoreCounters {
    pub(crate) fn write_succeeded(&self) {
        self.write_success.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn write_aborted(&self) {
        self.write_abort.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn read(&self, hit: bool) {
        let counter = if hit { &self.read_hit } else { &self.read_miss };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn evicted(&self, count: u64) {
        self.eviction.fetch_add(count, Ordering::Relaxed);
    }

    pub(crate) fn corrupt_dropped(&self, count: u64) {
        self.corrupt_entry.fetch_add(count, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> StoreStats {
        StoreStats {
            write_success_count: self.write_success.load(Ordering::Relaxed),
            write_abort_count: self.write_abort.load(Ordering::Relaxed),
            read_hit_count: self.read_hit.load(Ordering::Relaxed),
            read_miss_count: self.read_miss.load(Ordering::Relaxed),
            eviction_count: self.eviction.load(Ordering::Relaxed),
            corrupt_entry_count: self.corrupt_entry.load(Ordering::Relaxed),
        }
    }
}

/// Whether a store accepts writes.
///
/// A store that cannot write (a read-only or full directory, a directory deleted while the
/// client runs, a lost connection to a shared cache) keeps serving what it can read and
/// reports [`WritesDisabled`](Self::WritesDisabled) here; the cache layer then stops trying
/// to store responses and tells its event listener, while calls go on over the network.
///
/// ```
/// use oktower::{CacheStore, MemoryStore, StoreStatus};
///
/// assert_eq!(MemoryStore::new(1024).status(), StoreStatus::Ready);
/// assert!(StoreStatus::WritesDisabled("read-only".into()).writes_disabled());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreStatus {
    /// Reads and writes work.
    Ready,
    /// Reads work, writes fail; the text says why (the I/O error and the path).
    WritesDisabled(Arc<str>),
}

impl StoreStatus {
    /// Whether writes are refused.
    pub fn writes_disabled(&self) -> bool {
        matches!(self, StoreStatus::WritesDisabled(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_snapshot_what_was_counted() {
        let counters = StoreCounters::default();
        counters.write_succeeded();
        counters.write_aborted();
        counters.write_aborted();
        counters.read(true);
        counters.read(false);
        counters.read(false);
        counters.evicted(3);
        counters.corrupt_dropped(4);
        let stats = counters.snapshot();
        assert_eq!(stats.write_success_count, 1);
        assert_eq!(stats.write_abort_count, 2);
        assert_eq!(stats.read_hit_count, 1);
        assert_eq!(stats.read_miss_count, 2);
        assert_eq!(stats.eviction_count, 3);
        assert_eq!(stats.corrupt_entry_count, 4);
    }

    #[test]
    fn status_reports_disabled_writes() {
        assert!(!StoreStatus::Ready.writes_disabled());
        assert!(StoreStatus::WritesDisabled("x".into()).writes_disabled());
    }
}

//! The cache layer's counters, OkHttp's `Cache` statistics.

use std::sync::atomic::{AtomicU64, Ordering};

/// The counts a [`CacheLayer`](super::CacheLayer) keeps, shared by every service it builds
/// (OkHttp's `requestCount`, `networkCount`, `hitCount`, `writeSuccessCount` and
/// `writeAbortCount`).
///
/// - `requests`: every call the layer saw;
/// - `network`: every request sent to the network, conditional ones and background
///   revalidations included;
/// - `hits`: every response served from the cache, a `304` to a conditional request included;
/// - `write_successes` / `write_aborts`: entries committed, and entries given up (the body
///   failed or was dropped before its end, the store failed, or the entry was removed while
///   it was being written).
///
/// ```
/// use oktower::cache::CacheStats;
///
/// let stats = CacheStats::default();
/// assert_eq!(stats.requests + stats.hits + stats.network, 0);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CacheStats {
    /// Calls the layer saw.
    pub requests: u64,
    /// Requests sent to the network.
    pub network: u64,
    /// Responses served from the cache.
    pub hits: u64,
    /// Entries written whole and committed.
    pub write_successes: u64,
    /// Entries started and given up.
    pub write_aborts: u64,
}

/// The live counters behind [`CacheStats`].
#[derive(Debug, Default)]
pub(crate) struct CacheCounters {
    requests: AtomicU64,
    network: AtomicU64,
    hits: AtomicU64,
    write_successes: AtomicU64,
    write_aborts: AtomicU64,
}

impl CacheCounters {
    pub(crate) fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn network(&self) {
        self.network.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn write_succeeded(&self) {
        self.write_successes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn write_aborted(&self) {
        self.write_aborts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CacheStats {
        CacheStats {
            requests: self.requests.load(Ordering::Relaxed),
            network: self.network.load(Ordering::Relaxed),
            hits: self.hits.load(Ordering::Relaxed),
            write_successes: self.write_successes.load(Ordering::Relaxed),
            write_aborts: self.write_aborts.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_counter_counts_on_its_own() {
        let counters = CacheCounters::default();
        counters.request();
        counters.request();
        counters.network();
        counters.hit();
        counters.hit();
        counters.hit();
        counters.write_succeeded();
        counters.write_aborted();
        counters.write_aborted();
        assert_eq!(
            counters.snapshot(),
            CacheStats {
                requests: 2,
                network: 1,
                hits: 3,
                write_successes: 1,
                write_aborts: 2,
            }
        );
    }
}

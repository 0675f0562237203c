//! `CacheLayer`: the cache's store, clock and counters, shared by every service it wraps.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tower_layer::Layer;

use super::key_memo::StoreKeyMemo;
use super::stats::{CacheCounters, CacheStats};
use super::{Cache, CacheStore, StoreKey};

/// Where the cache reads the time: `SystemTime::now` unless a test moves it.
pub(super) type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// What every [`Cache`] built by one layer shares.
pub(super) struct CacheShared {
    pub(super) store: Arc<dyn CacheStore>,
    pub(super) clock: Clock,
    pub(super) counters: Arc<CacheCounters>,
    /// Entries being revalidated in the background, at most one revalidation each.
    pub(super) revalidating: Mutex<HashSet<StoreKey>>,
    /// The store keys of recently requested URLs.
    pub(super) keys: StoreKeyMemo,
}

impl CacheShared {
    pub(super) fn now(&self) -> SystemTime {
        (self.clock)()
    }
}

/// Wraps a service in a [`Cache`]: OkHttp's `CacheInterceptor` as a tower layer, an RFC 9111
/// private cache over a [`CacheStore`]. See the [module documentation](super) for what it does.
///
/// Cheap to clone; clones share the store, the clock and the statistics, which count the
/// calls of every service the layer built.
///
/// ```
/// use std::time::SystemTime;
/// use oktower::MemoryStore;
/// use oktower::cache::CacheLayer;
///
/// let layer = CacheLayer::new(MemoryStore::new(10 * 1024 * 1024)).clock(SystemTime::now);
/// assert_eq!(layer.request_count(), 0);
/// assert_eq!(layer.stats().hits, 0);
/// ```
#[derive(Clone)]
pub struct CacheLayer {
    shared: Arc<CacheShared>,
}

impl CacheLayer {
    /// A cache over `store`, reading the time from `SystemTime::now`.
    pub fn new(store: impl CacheStore) -> Self {
        Self::with_store(Arc::new(store))
    }

    /// A cache over a shared store.
    pub fn with_store(store: Arc<dyn CacheStore>) -> Self {
        CacheLayer {
            shared: Arc::new(CacheShared {
                store,
                clock: Arc::new(SystemTime::now),
                counters: Arc::default(),
                revalidating: Mutex::default(),
                keys: StoreKeyMemo::default(),
            }),
        }
    }

    /// Reads the time from `clock` instead of `SystemTime::now`: when requests are sent and
    /// responses received, and the `now` freshness is judged at. Set it before building
    /// services; services built earlier keep the clock they had.
    pub fn clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        let shared = &self.shared;
        self.shared = Arc::new(CacheShared {
            store: Arc::clone(&shared.store),
            clock: Arc::new(clock),
            counters: Arc::clone(&shared.counters),
            revalidating: Mutex::default(),
            keys: StoreKeyMemo::default(),
        });
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn CacheStore> {
        &self.shared.store
    }

    /// Every counter at once.
    pub fn stats(&self) -> CacheStats {
        self.shared.counters.snapshot()
    }

    /// Calls seen (OkHttp's `requestCount`).
    pub fn request_count(&self) -> u64 {
        self.stats().requests
    }

    /// Requests sent to the network, conditional ones and background revalidations
    /// included (OkHttp's `networkCount`).
    pub fn network_count(&self) -> u64 {
        self.stats().network
    }

    /// Responses served from the cache, `304`s to conditional requests included (OkHttp's
    /// `hitCount`).
    pub fn hit_count(&self) -> u64 {
        self.stats().hits
    }

    /// Entries committed (OkHttp's `writeSuccessCount`).
    pub fn write_success_count(&self) -> u64 {
        self.stats().write_successes
    }

    /// Entries given up before their commit (OkHttp's `writeAbortCount`).
    pub fn write_abort_count(&self) -> u64 {
        self.stats().write_aborts
    }
}

impl fmt::Debug for CacheLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheLayer")
            .field("max_size", &self.shared.store.max_size())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for CacheLayer {
    type Service = Cache<S>;

    fn layer(&self, inner: S) -> Cache<S> {
        Cache::with_shared(inner, Arc::clone(&self.shared))
    }
}

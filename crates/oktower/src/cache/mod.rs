//! The response cache: OkHttp's `Cache`, on RFC 9111.
//!
//! Storage is pluggable behind [`CacheStore`]: entries made of a [`StoreKey`], opaque
//! metadata bytes and a body streamed in chunks. [`DiskStore`] is the crash-safe embedded
//! default (a journal plus one metadata file and one body file per entry, OkHttp's
//! `DiskLruCache` design); [`MemoryStore`] keeps entries in memory.

mod disk;
mod entry_writer;
mod guard;
mod lru;
mod memory;
mod store;
mod store_key;
mod store_stats;
mod stored_body;
mod writer_slots;

pub use disk::{DiskStore, DiskStoreBuilder};
pub use entry_writer::{CommitOutcome, EntryWriter, WriteEntry};
pub use memory::MemoryStore;
pub use store::{CacheStore, EntryVersion, KeyStream, StoreFuture, StoredEntry};
pub use store_key::{MAX_STORE_KEY_LEN, StoreKey};
pub use store_stats::{StoreStats, StoreStatus};
pub use stored_body::{BodyChunks, StoredBody};

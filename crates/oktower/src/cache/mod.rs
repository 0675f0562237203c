//! The response cache: an RFC 9111 private cache with OkHttp's rules.
//!
//! This module holds the pure core: [`CacheControl`] directives, the [`CacheStrategy`] that
//! decides between the cache and the network for one request at an explicit `now`, the stored
//! [`CachedResponse`] and its byte format, [`CacheKey`]s, `Vary` matching, the `304` header
//! merge, invalidation after unsafe requests, and RFC 5861's `stale-if-error` and
//! `stale-while-revalidate` decisions. Nothing in the core reads a clock or does I/O.
//!
//! [`CacheLayer`] → [`Cache`] → [`ResponseFuture`] is OkHttp's `CacheInterceptor` over a
//! [`CacheStore`]: it looks the request up, serves a fresh entry, validates a stale one
//! (merging a `304` and updating the stored metadata), or goes to the network and stores a
//! cacheable response while the caller reads it ([`ResponseBody`]; committed at the end of
//! the body, aborted on an error or an early drop). Unsafe methods invalidate their URL and
//! same-origin `Location` / `Content-Location`. Beyond OkHttp it serves `stale-if-error`
//! and `stale-while-revalidate` (one background revalidation per entry). Every response
//! carries its [`CacheOutcome`], and [`CacheResponseHead`] / [`NetworkResponseHead`] when the
//! stored or the network response took part. A store that fails never fails a call.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use http::{Method, Request, Response, Uri};
//! use oktower::{CacheKey, CacheOutcome, CacheStrategy, CachedResponse};
//!
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let (request, ()) = Request::get("http://a.test/").body(()).unwrap().into_parts();
//! let (response, ()) = Response::builder()
//!     .header("cache-control", "max-age=60")
//!     .body(())
//!     .unwrap()
//!     .into_parts();
//!
//! // Store: the key names the entry, the metadata travels as bytes.
//! let key = CacheKey::for_request(&request);
//! let bytes = CachedResponse::new(request.uri.clone(), Method::GET, &response)
//!     .with_vary_headers_from(&request.headers)
//!     .with_times(now, now)
//!     .encode();
//!
//! // Look up and decide.
//! let entry = CachedResponse::decode(&bytes).unwrap();
//! assert!(entry.matches(&request.uri, &Method::GET, &request.headers));
//! let strategy = CacheStrategy::compute(now + Duration::from_secs(5), &request, Some(&entry));
//! assert_eq!(strategy.outcome(), Some(CacheOutcome::Hit));
//! # let _ = key;
//! ```

mod cache_control;
mod entry;
mod entry_codec;
mod freshness;
mod invalidation;
mod key;
mod merge;
mod outcome;
mod stale;
mod strategy;
mod uri;
mod vary;

pub use cache_control::{CacheControl, CacheControlBuilder};
pub use entry::CachedResponse;
pub use freshness::Freshness;
pub use invalidation::{invalidated_uris, invalidates_cache};
pub use key::{CacheKey, CacheUrlOverride, cache_uri};
pub use merge::merge_not_modified;
pub use outcome::CacheOutcome;
pub use stale::{NetworkFailure, stale_if_error};
pub use strategy::{CacheStrategy, Condition, NetworkReason};
pub use vary::{has_vary_all, vary_matches, varying_request_headers};

// Storage: the `CacheStore` trait and its engines.
mod decoded;
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
pub use decoded::DecodedMetadata;
pub use disk::{DiskStore, DiskStoreBuilder};
pub use entry_writer::{CommitOutcome, EntryWriter, WriteEntry};
pub use memory::MemoryStore;
pub use store::{CacheStore, EntryVersion, KeyStream, StoreFuture, StoredEntry};
pub use store_key::{MAX_STORE_KEY_LEN, StoreKey};
pub use store_stats::{StoreStats, StoreStatus};
pub use stored_body::{BodyChunks, StoredBody};

// The layer: `CacheLayer` → `Cache<S>` → `ResponseFuture`, and its response body.
mod flow;
mod future;
mod heads;
mod key_memo;
mod layer;
mod network;
mod response_body;
mod revalidate;
mod serve;
mod service;
mod stats;
mod tee_body;
pub use future::ResponseFuture;
pub use heads::{CacheResponseHead, NetworkResponseHead, ResponseHead};
pub use layer::CacheLayer;
pub use response_body::ResponseBody;
pub use service::Cache;
pub use stats::CacheStats;

#[cfg(test)]
mod layer_tests;

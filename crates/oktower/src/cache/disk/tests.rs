//! Tests of the disk store against a real directory.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A fresh directory under the system temp directory, removed when dropped.
pub(crate) struct TestDir {
    path: PathBuf,
}

impl TestDir {
    pub(crate) fn new(name: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let unique = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "oktower-test-{name}-{}-{unique}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create test directory");
        TestDir { path }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

use std::sync::Arc;

use bytes::Bytes;

use super::{DiskStore, DiskStoreBuilder};
use crate::cache::store::collect_keys;
use crate::cache::{CacheStore, CommitOutcome, StoreKey};

pub(super) fn key(text: &str) -> StoreKey {
    StoreKey::new(text).unwrap()
}

/// A body of `len` bytes that depends on `seed`, so a mix-up shows.
pub(super) fn body_of(seed: &str, len: usize) -> Vec<u8> {
    let seed = seed
        .bytes()
        .fold(7u8, |acc, b| acc.wrapping_mul(31).wrapping_add(b));
    (0..len)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed))
        .collect()
}

pub(super) async fn put(store: &DiskStore, name: &str, metadata: &str, body: &[u8]) {
    let mut writer = store
        .begin_write(&key(name), Bytes::copy_from_slice(metadata.as_bytes()))
        .await
        .unwrap()
        .expect("no other writer");
    for chunk in body.chunks(10_000) {
        writer.write(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    assert_eq!(writer.commit().await.unwrap(), CommitOutcome::Stored);
}

pub(super) async fn get(store: &DiskStore, name: &str) -> Option<(String, Vec<u8>)> {
    let entry = store.open_read(&key(name)).await.unwrap()?;
    let body = entry.body.to_bytes().await.unwrap();
    Some((
        String::from_utf8(entry.metadata.to_vec()).unwrap(),
        body.to_vec(),
    ))
}

/// The file names in `dir`, sorted.
pub(super) fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|item| item.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

pub(super) fn journal_text(dir: &Path) -> String {
    String::from_utf8(std::fs::read(super::journal::journal_path(dir)).unwrap()).unwrap()
}

pub(super) fn builder(dir: &TestDir, max_size: u64) -> DiskStoreBuilder {
    DiskStore::builder(dir.path(), max_size)
}

#[tokio::test]
async fn entries_survive_a_restart_and_files_are_tidy() {
    let dir = TestDir::new("restart");
    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    assert!(store.is_empty());
    put(&store, "a", "meta a", b"body a").await;
    put(&store, "b", "meta b", &body_of("b", 200_000)).await;
    assert_eq!(
        get(&store, "a").await.unwrap(),
        ("meta a".into(), b"body a".to_vec())
    );
    let stats = store.stats();
    assert_eq!((stats.write_success_count, stats.read_hit_count), (2, 1));
    let size = store.size().await.unwrap();
    assert_eq!(
        size,
        std::fs::metadata(dir.path().join("a.1.meta"))
            .unwrap()
            .len()
            + 6
            + std::fs::metadata(dir.path().join("b.2.meta"))
                .unwrap()
                .len()
            + 200_000
    );
    drop(store);

    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    assert_eq!(store.len(), 2);
    assert_eq!(store.size().await.unwrap(), size);
    assert_eq!(get(&store, "b").await.unwrap().1, body_of("b", 200_000));
    assert_eq!(collect_keys(store.keys()).await, ["a", "b"]);
    assert_eq!(
        files_in(dir.path()),
        [
            "a.1.body",
            "a.1.meta",
            "b.2.body",
            "b.2.meta",
            "oktower.journal",
            "oktower.lock"
        ]
    );
    assert_eq!(store.directory(), dir.path());
    assert!(format!("{store:?}").contains("entries: 2"));
}

#[tokio::test]
async fn evicts_least_recently_used_and_remembers_use_across_restarts() {
    let dir = TestDir::new("lru");
    let entry = |name: &str| body_of(name, 1000);
    let store = DiskStore::open(dir.path(), 3500).await.unwrap();
    for name in ["a", "b", "c"] {
        put(&store, name, "", &entry(name)).await;
    }
    assert!(get(&store, "a").await.is_some(), "a becomes most recent");
    drop(store);

    let store = DiskStore::open(dir.path(), 3500).await.unwrap();
    put(&store, "d", "", &entry("d")).await;
    assert_eq!(
        collect_keys(store.keys()).await,
        ["a", "c", "d"],
        "b was least recently used"
    );
    assert_eq!(store.stats().eviction_count, 1);
    assert!(
        !files_in(dir.path())
            .iter()
            .any(|name| name.starts_with("b."))
    );
    assert!(store.size().await.unwrap() <= 3500);
    drop(store);

    let store = DiskStore::open(dir.path(), 2500).await.unwrap();
    assert_eq!(
        collect_keys(store.keys()).await,
        ["a", "d"],
        "a smaller maximum evicts on open"
    );
}

#[tokio::test]
async fn one_writer_per_key_and_aborts_leave_nothing() {
    let dir = TestDir::new("writers");
    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    let mut first = store
        .begin_write(&key("a"), Bytes::new())
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .begin_write(&key("a"), Bytes::new())
            .await
            .unwrap()
            .is_none()
    );
    first.write(Bytes::from_static(b"partial")).await.unwrap();
    drop(first);
    let second = store
        .begin_write(&key("a"), Bytes::new())
        .await
        .unwrap()
        .unwrap();
    second.abort();
    assert!(get(&store, "a").await.is_none());
    let stats = store.stats();
    assert_eq!((stats.write_success_count, stats.write_abort_count), (0, 2));
    put(&store, "a", "m", b"whole").await;
    drop(store);
    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    assert_eq!(get(&store, "a").await.unwrap().1, b"whole");
    let files = files_in(dir.path());
    assert_eq!(
        files,
        ["a.3.body", "a.3.meta", "oktower.journal", "oktower.lock"]
    );
}

#[tokio::test]
async fn a_reader_keeps_its_version_while_the_entry_is_rewritten() {
    let dir = TestDir::new("rewrite");
    let store = DiskStore::open(dir.path(), 4 << 20).await.unwrap();
    let old_body = body_of("old", 300_000);
    put(&store, "k", "old", &old_body).await;
    let old = store.open_read(&key("k")).await.unwrap().unwrap();

    let mut writer = store
        .begin_write(&key("k"), Bytes::from_static(b"new"))
        .await
        .unwrap()
        .unwrap();
    let new_body = body_of("new", 250_000);
    writer
        .write(Bytes::copy_from_slice(&new_body))
        .await
        .unwrap();
    assert_eq!(
        get(&store, "k").await.unwrap().0,
        "old",
        "nothing visible before the commit"
    );
    writer.commit().await.unwrap();
    assert_eq!(get(&store, "k").await.unwrap(), ("new".into(), new_body));

    assert!(
        !dir.path().join("k.1.body").exists(),
        "the old body's name is gone"
    );
    assert_eq!(old.metadata, "old");
    assert_eq!(
        old.body.to_bytes().await.unwrap(),
        old_body,
        "but its reader reads it whole"
    );
}

#[tokio::test]
async fn a_reader_finishes_after_remove_and_evict_all() {
    let dir = TestDir::new("remove");
    let store = DiskStore::open(dir.path(), 4 << 20).await.unwrap();
    let body = body_of("a", 400_000);
    put(&store, "a", "m", &body).await;
    put(&store, "b", "m", b"b").await;
    let reader = store.open_read(&key("a")).await.unwrap().unwrap();
    assert!(store.remove(&key("a")).await.unwrap());
    assert!(!store.remove(&key("a")).await.unwrap());
    assert!(get(&store, "a").await.is_none());
    store.evict_all().await.unwrap();
    assert_eq!(store.size().await.unwrap(), 0);
    assert_eq!(files_in(dir.path()), ["oktower.journal", "oktower.lock"]);
    assert_eq!(reader.body.to_bytes().await.unwrap(), body);
    drop(store);
    let store = DiskStore::open(dir.path(), 4 << 20).await.unwrap();
    assert!(store.is_empty());
}

#[tokio::test]
async fn remove_and_evict_all_discard_writes_in_progress() {
    let dir = TestDir::new("discard");
    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    put(&store, "a", "m", b"old").await;
    let mut writer = store
        .begin_write(&key("a"), Bytes::new())
        .await
        .unwrap()
        .unwrap();
    writer.write(Bytes::from_static(b"stale")).await.unwrap();
    assert!(store.remove(&key("a")).await.unwrap());
    assert_eq!(writer.commit().await.unwrap(), CommitOutcome::Discarded);
    assert!(get(&store, "a").await.is_none());

    let writer = store
        .begin_write(&key("b"), Bytes::new())
        .await
        .unwrap()
        .unwrap();
    store.evict_all().await.unwrap();
    assert_eq!(writer.commit().await.unwrap(), CommitOutcome::Discarded);
    assert!(get(&store, "b").await.is_none());
    assert_eq!(store.stats().write_abort_count, 2);
    assert_eq!(files_in(dir.path()), ["oktower.journal", "oktower.lock"]);
}

#[tokio::test]
async fn update_metadata_keeps_the_body_checks_the_version_and_persists() {
    let dir = TestDir::new("update");
    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    put(&store, "a", "v1", b"body").await;
    let read = store.open_read(&key("a")).await.unwrap().unwrap();
    let (a, version) = (key("a"), read.version);
    let updated = store.update_metadata(&a, version, Bytes::from_static(b"v1 after 304"));
    assert!(updated.await.unwrap());
    let stale = store.update_metadata(&a, version, Bytes::from_static(b"stale"));
    assert!(!stale.await.unwrap(), "the version read was replaced");
    assert!(
        !store
            .update_metadata(&key("zz"), read.version, Bytes::new())
            .await
            .unwrap()
    );
    assert_eq!(read.body.to_bytes().await.unwrap(), "body");
    assert_eq!(
        get(&store, "a").await.unwrap(),
        ("v1 after 304".into(), b"body".to_vec())
    );
    drop(store);

    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    assert_eq!(
        get(&store, "a").await.unwrap(),
        ("v1 after 304".into(), b"body".to_vec())
    );
    let metas = files_in(dir.path())
        .into_iter()
        .filter(|n| n.ends_with(".meta"))
        .count();
    assert_eq!(metas, 1, "the old metadata file was deleted");
}

#[tokio::test]
async fn entries_larger_than_the_store_are_refused() {
    let dir = TestDir::new("too-large");
    let store = DiskStore::open(dir.path(), 1000).await.unwrap();
    let mut writer = store
        .begin_write(&key("a"), Bytes::new())
        .await
        .unwrap()
        .unwrap();
    writer.write(Bytes::from(vec![0; 900])).await.unwrap();
    let error = writer.write(Bytes::from(vec![0; 100])).await.unwrap_err();
    assert!(error.message().contains("larger than"), "{error}");
    assert!(writer.commit().await.is_err());
    let huge_metadata = Bytes::from(vec![0; 2000]);
    assert!(store.begin_write(&key("b"), huge_metadata).await.is_err());
    assert!(store.is_empty());
    assert!(
        !store.status().writes_disabled(),
        "a large entry is not a storage fault"
    );
    assert_eq!(store.stats().write_abort_count, 1);
    assert_eq!(files_in(dir.path()), ["oktower.journal", "oktower.lock"]);
}

#[tokio::test]
async fn two_stores_on_one_directory_are_refused() {
    let dir = TestDir::new("two");
    let first = DiskStore::open(dir.path(), 1000).await.unwrap();
    let error = DiskStore::open(dir.path(), 1000).await.unwrap_err();
    assert!(error.is_io());
    assert!(
        error.message().contains("in use by another DiskStore"),
        "{error}"
    );
    let clone = first.clone();
    drop(first);
    assert!(
        DiskStore::open(dir.path(), 1000).await.is_err(),
        "a clone keeps the lock"
    );
    drop(clone);
    assert!(DiskStore::open(dir.path(), 1000).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_readers_and_writers_never_see_a_mix() {
    let dir = TestDir::new("concurrent");
    let store = Arc::new(
        builder(&dir, 2 << 20)
            .compaction_threshold(50)
            .open()
            .await
            .unwrap(),
    );
    let mut tasks = Vec::new();
    for task in 0..6 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for round in 0..40 {
                let name = format!("k{}", (task + round) % 4);
                if (task + round) % 3 == 0 {
                    let version = format!("{name}-{task}-{round}");
                    let len = 1000 + (round * 7919) % 150_000;
                    let writer = store
                        .begin_write(&key(&name), Bytes::from(version.clone()))
                        .await
                        .unwrap();
                    if let Some(mut writer) = writer {
                        writer
                            .write(Bytes::from(body_of(&version, len)))
                            .await
                            .unwrap();
                        writer.commit().await.unwrap();
                    }
                } else if let Some(entry) = store.open_read(&key(&name)).await.unwrap() {
                    let version = String::from_utf8(entry.metadata.to_vec()).unwrap();
                    let body = entry.body.to_bytes().await.unwrap();
                    assert_eq!(body, body_of(&version, body.len()), "{version}");
                    assert!(version.starts_with(&name));
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let stats = store.stats();
    assert!(stats.write_success_count > 0);
    assert_eq!(stats.corrupt_entry_count, 0);
}

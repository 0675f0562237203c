//! Tests of the memory store.

use super::*;
use crate::cache::store::collect_keys;

fn key(text: &str) -> StoreKey {
    StoreKey::new(text).unwrap()
}

async fn put(store: &MemoryStore, name: &str, metadata: &'static str, body: &'static str) {
    let mut writer = store
        .begin_write(&key(name), Bytes::from_static(metadata.as_bytes()))
        .await
        .unwrap()
        .unwrap();
    writer
        .write(Bytes::from_static(body.as_bytes()))
        .await
        .unwrap();
    assert_eq!(writer.commit().await.unwrap(), CommitOutcome::Stored);
}

async fn read(store: &MemoryStore, name: &str) -> Option<(String, String)> {
    let entry = store.open_read(&key(name)).await.unwrap()?;
    let body = entry.body.to_bytes().await.unwrap();
    Some((
        String::from_utf8(entry.metadata.to_vec()).unwrap(),
        String::from_utf8(body.to_vec()).unwrap(),
    ))
}

#[tokio::test]
async fn stores_reads_and_counts() {
    let store = MemoryStore::new(1000);
    assert_eq!(read(&store, "a").await, None);
    put(&store, "a", "meta", "body").await;
    assert_eq!(
        read(&store, "a").await,
        Some(("meta".into(), "body".into()))
    );
    assert_eq!(store.size().await.unwrap(), 8);
    assert_eq!(store.max_size(), 1000);
    assert_eq!(store.len(), 1);
    let stats = store.stats();
    assert_eq!(
        (
            stats.write_success_count,
            stats.read_hit_count,
            stats.read_miss_count
        ),
        (1, 1, 1)
    );
    store.flush().await.unwrap();
    assert!(!store.status().writes_disabled());
}

#[tokio::test]
async fn evicts_least_recently_used_by_bytes() {
    let store = MemoryStore::new(30);
    put(&store, "a", "", "0123456789").await;
    put(&store, "b", "", "0123456789").await;
    put(&store, "c", "", "0123456789").await;
    assert!(
        read(&store, "a").await.is_some(),
        "a is now the most recent"
    );
    put(&store, "d", "", "0123456789").await;
    assert_eq!(collect_keys(store.keys()).await, ["a", "c", "d"]);
    assert_eq!(store.size().await.unwrap(), 30);
    assert_eq!(store.stats().eviction_count, 1);
}

#[tokio::test]
async fn an_entry_larger_than_the_store_is_refused_while_written() {
    let store = MemoryStore::new(10);
    let mut writer = store
        .begin_write(&key("a"), Bytes::from_static(b"12345"))
        .await
        .unwrap()
        .unwrap();
    writer.write(Bytes::from_static(b"12345")).await.unwrap();
    let error = writer.write(Bytes::from_static(b"6")).await.unwrap_err();
    assert!(error.message().contains("larger than"), "{error}");
    drop(writer);
    assert!(store.is_empty());
    assert_eq!(store.stats().write_abort_count, 1);
    assert!(
        store
            .begin_write(&key("a"), Bytes::new())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn one_writer_per_key_and_abort_frees_the_key() {
    let store = MemoryStore::new(100);
    let first = store.begin_write(&key("a"), Bytes::new()).await.unwrap();
    assert!(first.is_some());
    assert!(
        store
            .begin_write(&key("a"), Bytes::new())
            .await
            .unwrap()
            .is_none()
    );
    first.unwrap().abort();
    assert!(read(&store, "a").await.is_none());
    put(&store, "a", "m", "b").await;
    let stats = store.stats();
    assert_eq!((stats.write_success_count, stats.write_abort_count), (1, 1));
}

#[tokio::test]
async fn readers_keep_their_version_while_a_new_one_is_written() {
    let store = MemoryStore::new(100);
    put(&store, "a", "v1", "old").await;
    let old = store.open_read(&key("a")).await.unwrap().unwrap();
    let mut writer = store
        .begin_write(&key("a"), Bytes::from_static(b"v2"))
        .await
        .unwrap()
        .unwrap();
    writer.write(Bytes::from_static(b"new")).await.unwrap();
    assert_eq!(
        read(&store, "a").await.unwrap().1,
        "old",
        "not yet committed"
    );
    writer.commit().await.unwrap();
    assert_eq!(
        read(&store, "a").await.unwrap(),
        ("v2".into(), "new".into())
    );
    assert_eq!(old.body.to_bytes().await.unwrap(), "old");
}

#[tokio::test]
async fn remove_and_evict_all_discard_writes_in_progress() {
    let store = MemoryStore::new(100);
    put(&store, "a", "m", "b").await;
    let writer = store.begin_write(&key("a"), Bytes::new()).await.unwrap();
    assert!(store.remove(&key("a")).await.unwrap());
    assert!(!store.remove(&key("a")).await.unwrap());
    let outcome = writer.unwrap().commit().await.unwrap();
    assert_eq!(outcome, CommitOutcome::Discarded);
    assert!(read(&store, "a").await.is_none());

    put(&store, "b", "m", "b").await;
    let writer = store.begin_write(&key("c"), Bytes::new()).await.unwrap();
    store.evict_all().await.unwrap();
    assert_eq!(
        writer.unwrap().commit().await.unwrap(),
        CommitOutcome::Discarded
    );
    assert_eq!(store.size().await.unwrap(), 0);
    assert!(collect_keys(store.keys()).await.is_empty());
    assert_eq!(store.stats().write_abort_count, 2);
}

#[tokio::test]
async fn update_metadata_keeps_the_body_and_checks_the_version() {
    let store = MemoryStore::new(100);
    put(&store, "a", "v1", "body").await;
    let entry = store.open_read(&key("a")).await.unwrap().unwrap();
    let version = entry.version;
    assert!(
        store
            .update_metadata(&key("a"), version, Bytes::from_static(b"v1-updated"))
            .await
            .unwrap()
    );
    assert_eq!(
        read(&store, "a").await.unwrap(),
        ("v1-updated".into(), "body".into())
    );
    assert!(
        !store
            .update_metadata(&key("a"), version, Bytes::from_static(b"stale"))
            .await
            .unwrap(),
        "the version read is no longer the stored one"
    );
    assert!(
        !store
            .update_metadata(&key("zz"), version, Bytes::new())
            .await
            .unwrap()
    );
    assert_eq!(store.size().await.unwrap(), 14);
}

#[tokio::test]
async fn works_as_a_shared_trait_object() {
    let store: Arc<dyn CacheStore> = Arc::new(MemoryStore::new(100));
    let mut writer = store
        .begin_write(&key("a"), Bytes::new())
        .await
        .unwrap()
        .unwrap();
    writer.write(Bytes::from_static(b"x")).await.unwrap();
    writer.commit().await.unwrap();
    let reader = Arc::clone(&store);
    let task = tokio::spawn(async move {
        let entry = reader.open_read(&key("a")).await.unwrap().unwrap();
        entry.body.to_bytes().await.unwrap()
    });
    assert_eq!(task.await.unwrap(), "x");
}

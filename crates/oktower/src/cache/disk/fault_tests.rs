//! A directory that stops taking writes: full, read-only, deleted while the store runs.

use std::io;
use std::time::Duration;

use bytes::Bytes;

use super::DiskStore;
use super::tests::{TestDir, body_of, builder, files_in, get, key, put};
use crate::cache::{CacheStore, StoreStatus};

#[tokio::test]
async fn a_full_disk_disables_writes_reads_go_on_and_writes_come_back() {
    let dir = TestDir::new("full");
    let store = builder(&dir, 1 << 20)
        .write_retry_after(Duration::ZERO)
        .open()
        .await
        .unwrap();
    put(&store, "a", "m", b"body").await;
    store.shared.inject_fault(Some(io::ErrorKind::StorageFull));
    let error = store
        .begin_write(&key("b"), Bytes::new())
        .await
        .unwrap_err();
    assert!(error.is_io());
    assert!(error.message().contains("cache writes disabled"), "{error}");
    let StoreStatus::WritesDisabled(reason) = store.status() else {
        panic!("writes must be disabled");
    };
    assert!(
        reason.contains(&dir.path().display().to_string()),
        "{reason}"
    );
    assert_eq!(
        get(&store, "a").await.unwrap().1,
        b"body",
        "reads keep working"
    );
    assert!(
        store.begin_write(&key("b"), Bytes::new()).await.is_err(),
        "the probe fails too"
    );

    store.shared.inject_fault(None);
    put(&store, "b", "m", b"back").await;
    assert_eq!(store.status(), StoreStatus::Ready);
    drop(store);
    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    assert_eq!(store.len(), 2);
}

#[tokio::test]
async fn disabled_writes_wait_for_the_retry_delay() {
    let dir = TestDir::new("retry-delay");
    let store = builder(&dir, 1 << 20)
        .write_retry_after(Duration::from_secs(3600))
        .open()
        .await
        .unwrap();
    store.shared.inject_fault(Some(io::ErrorKind::StorageFull));
    assert!(store.begin_write(&key("a"), Bytes::new()).await.is_err());
    store.shared.inject_fault(None);
    let error = store
        .begin_write(&key("a"), Bytes::new())
        .await
        .unwrap_err();
    assert!(error.message().contains("disabled"), "{error}");
    let a = key("a");
    let update = store.update_metadata(&a, crate::cache::EntryVersion::new(0), Bytes::new());
    assert!(update.await.is_err());
    assert!(store.status().writes_disabled());
}

#[tokio::test]
async fn a_failure_while_writing_the_body_aborts_and_frees_the_key() {
    let dir = TestDir::new("body-fault");
    let store = builder(&dir, 4 << 20)
        .write_retry_after(Duration::ZERO)
        .open()
        .await
        .unwrap();
    let mut writer = store
        .begin_write(&key("a"), Bytes::new())
        .await
        .unwrap()
        .unwrap();
    store.shared.inject_fault(Some(io::ErrorKind::StorageFull));
    let mut failed = None;
    for _ in 0..10 {
        if let Err(error) = writer.write(Bytes::from(vec![1; 100_000])).await {
            failed = Some(error);
            break;
        }
    }
    let committed = writer.commit().await;
    let error = failed.unwrap_or_else(|| committed.unwrap_err());
    assert!(error.is_io());
    store.shared.inject_fault(None);
    put(&store, "a", "m", b"fine").await;
    let stats = store.stats();
    assert_eq!((stats.write_abort_count, stats.write_success_count), (1, 1));
    assert!(
        !files_in(dir.path())
            .iter()
            .any(|name| name.ends_with(".tmp"))
    );
}

#[tokio::test]
async fn a_failure_at_commit_publishes_nothing() {
    let dir = TestDir::new("commit-fault");
    let store = builder(&dir, 1 << 20)
        .write_retry_after(Duration::ZERO)
        .open()
        .await
        .unwrap();
    put(&store, "a", "old", b"old").await;
    let mut writer = store
        .begin_write(&key("a"), Bytes::from_static(b"new"))
        .await
        .unwrap()
        .unwrap();
    writer.write(Bytes::from_static(b"new")).await.unwrap();
    store.shared.inject_fault(Some(io::ErrorKind::StorageFull));
    assert!(writer.commit().await.is_err());
    store.shared.inject_fault(None);
    assert_eq!(
        get(&store, "a").await.unwrap(),
        ("old".into(), b"old".to_vec())
    );
    assert_eq!(store.stats().write_abort_count, 1);
    assert_eq!(
        files_in(dir.path()),
        ["a.1.body", "a.1.meta", "oktower.journal", "oktower.lock"]
    );
}

#[tokio::test]
async fn a_failing_flush_reports_and_disables_writes() {
    let dir = TestDir::new("flush-fault");
    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    put(&store, "a", "m", b"b").await;
    get(&store, "a").await.unwrap();
    store.shared.inject_fault(Some(io::ErrorKind::StorageFull));
    assert!(store.flush().await.is_err());
    assert!(store.status().writes_disabled());
}

#[tokio::test]
async fn the_directory_deleted_while_running() {
    let dir = TestDir::new("deleted");
    let store = DiskStore::open(dir.path(), 4 << 20).await.unwrap();
    put(&store, "a", "m", b"small").await;
    put(&store, "b", "m", &body_of("b", 500_000)).await;
    let reader = store.open_read(&key("b")).await.unwrap().unwrap();
    std::fs::remove_dir_all(dir.path()).unwrap();

    let error = store
        .begin_write(&key("c"), Bytes::new())
        .await
        .unwrap_err();
    assert!(error.is_io(), "{error}");
    assert!(store.status().writes_disabled());
    assert!(
        get(&store, "a").await.is_none(),
        "its files are gone: a miss, not an error"
    );
    assert_eq!(
        reader.body.to_bytes().await.unwrap(),
        body_of("b", 500_000),
        "an open reader finishes"
    );
    assert!(store.remove(&key("b")).await.unwrap());
    store.evict_all().await.unwrap();
    let _ = store.flush().await;
    assert_eq!(store.size().await.unwrap(), 0);
    drop(store);
    assert!(!dir.path().exists(), "nothing recreated the directory");
}

/// Whether permissions bind this process (they do not for root).
fn permissions_apply(dir: &std::path::Path) -> bool {
    let probe = dir.join("probe");
    let denied = std::fs::write(&probe, b"x").is_err();
    let _ = std::fs::remove_file(probe);
    denied
}

#[cfg(unix)]
#[tokio::test]
async fn a_read_only_directory_disables_writes_and_keeps_reads() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TestDir::new("read-only");
    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    put(&store, "a", "m", b"body").await;
    let set_mode =
        |mode| std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    set_mode(0o555);
    if !permissions_apply(dir.path()) {
        set_mode(0o755);
        eprintln!("skipped: running as root, directory permissions do not apply");
        return;
    }
    let error = store
        .begin_write(&key("b"), Bytes::new())
        .await
        .unwrap_err();
    assert!(error.is_io());
    assert!(store.status().writes_disabled());
    assert_eq!(get(&store, "a").await.unwrap().1, b"body");
    drop(store);

    let reopened = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    assert_eq!(
        get(&reopened, "a").await.unwrap().1,
        b"body",
        "opens read-only"
    );
    drop(reopened);
    set_mode(0o755);
}

#[cfg(unix)]
#[tokio::test]
async fn without_its_lock_file_a_store_opens_read_only() {
    let dir = TestDir::new("no-lock");
    let store = DiskStore::open(dir.path(), 1 << 20).await.unwrap();
    put(&store, "a", "m", b"body").await;
    drop(store);
    // A lock file that cannot be created or opened, as in a read-only directory (this works
    // for root too, whom permissions do not stop).
    let lock = dir.path().join(super::lock::LOCK_FILE);
    std::fs::remove_file(&lock).unwrap();
    std::os::unix::fs::symlink(dir.path().join("missing/lock"), &lock).unwrap();

    let store = builder(&dir, 1 << 20)
        .write_retry_after(Duration::ZERO)
        .open()
        .await
        .unwrap();
    let StoreStatus::WritesDisabled(reason) = store.status() else {
        panic!("a store without its lock must not write");
    };
    assert!(reason.contains("lock file"), "{reason}");
    assert_eq!(get(&store, "a").await.unwrap().1, b"body");
    let error = store
        .begin_write(&key("b"), Bytes::new())
        .await
        .unwrap_err();
    assert!(error.is_io(), "{error}");
    assert!(
        store.remove(&key("a")).await.unwrap(),
        "removal still works in memory"
    );
}

#[tokio::test]
async fn a_file_where_the_directory_should_be_is_an_error() {
    let dir = TestDir::new("not-a-dir");
    let path = dir.path().join("file");
    std::fs::write(&path, b"x").unwrap();
    let error = DiskStore::open(&path, 1000).await.unwrap_err();
    assert!(error.is_io());
    assert!(
        error.message().contains("cannot create cache directory"),
        "{error}"
    );
}

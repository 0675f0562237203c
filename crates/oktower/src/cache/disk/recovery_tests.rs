//! Opening a directory a crash, a bug or a user left in a bad state.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

use bytes::Bytes;

use super::DiskStore;
use super::tests::{TestDir, body_of, builder, files_in, get, journal_text, key, put};
use crate::cache::CacheStore;
use crate::cache::store::collect_keys;

const MAX: u64 = 4 << 20;

/// A closed directory holding entries `a` (files `a.1.*`) and `b` (files `b.2.*`).
async fn two_entries(dir: &TestDir) {
    let store = DiskStore::open(dir.path(), MAX).await.unwrap();
    put(&store, "a", "meta a", &body_of("a", 100_000)).await;
    put(&store, "b", "meta b", &body_of("b", 5000)).await;
}

fn append(path: &Path, bytes: &[u8]) {
    let mut file = OpenOptions::new().append(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
}

fn flip_byte(path: &Path, index: usize) {
    let mut bytes = fs::read(path).unwrap();
    bytes[index] ^= 0x20;
    fs::write(path, bytes).unwrap();
}

fn truncate(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

async fn assert_only_b_left(dir: &TestDir) -> DiskStore {
    let store = DiskStore::open(dir.path(), MAX).await.unwrap();
    assert!(get(&store, "a").await.is_none());
    assert_eq!(
        get(&store, "b").await.unwrap(),
        ("meta b".into(), body_of("b", 5000))
    );
    assert_eq!(store.stats().corrupt_entry_count, 1);
    let files = files_in(dir.path());
    assert!(
        !files.iter().any(|name| name.starts_with("a.")),
        "{files:?}"
    );
    assert!(
        !journal_text(dir.path()).contains(" a "),
        "the journal was rebuilt without a"
    );
    store
}

#[tokio::test]
async fn garbage_journal_lines_are_skipped_and_the_journal_rebuilt() {
    let dir = TestDir::new("garbage");
    two_entries(&dir).await;
    let journal = super::journal::journal_path(dir.path());
    append(
        &journal,
        b"nonsense\nCLEAN zz 1\n\xff\xfe\x00\nREMOVE ../a\nREAD b\nCLEAN a 99 9",
    );
    let store = DiskStore::open(dir.path(), MAX).await.unwrap();
    assert_eq!(collect_keys(store.keys()).await, ["a", "b"]);
    assert_eq!(get(&store, "a").await.unwrap().1, body_of("a", 100_000));
    assert_eq!(store.stats().corrupt_entry_count, 0);
    let text = journal_text(dir.path());
    assert!(!text.contains("nonsense") && !text.contains("99"), "{text}");
}

#[tokio::test]
async fn a_corrupt_metadata_file_drops_its_entry_on_open() {
    let dir = TestDir::new("corrupt-meta");
    two_entries(&dir).await;
    flip_byte(&dir.path().join("a.1.meta"), 30);
    assert_only_b_left(&dir).await;
}

#[tokio::test]
async fn a_metadata_file_of_another_entry_is_not_served() {
    let dir = TestDir::new("swapped-meta");
    two_entries(&dir).await;
    fs::copy(dir.path().join("b.2.meta"), dir.path().join("a.1.meta")).unwrap();
    assert_only_b_left(&dir).await;
}

#[tokio::test]
async fn a_truncated_or_overlong_body_file_drops_its_entry_on_open() {
    let dir = TestDir::new("truncated");
    two_entries(&dir).await;
    truncate(&dir.path().join("a.1.body"), 99_999);
    assert_only_b_left(&dir).await;

    let dir = TestDir::new("overlong");
    two_entries(&dir).await;
    append(&dir.path().join("a.1.body"), b"x");
    assert_only_b_left(&dir).await;
}

#[tokio::test]
async fn missing_files_drop_their_entry_on_open() {
    let dir = TestDir::new("missing-files");
    two_entries(&dir).await;
    fs::remove_file(dir.path().join("a.1.body")).unwrap();
    assert_only_b_left(&dir).await;
}

#[tokio::test]
async fn corruption_found_while_running_drops_the_entry_at_read() {
    let dir = TestDir::new("corrupt-running");
    let store = DiskStore::open(dir.path(), MAX).await.unwrap();
    put(&store, "a", "meta a", b"body a").await;
    put(&store, "b", "meta b", b"body b").await;
    put(&store, "c", "meta c", b"body c").await;
    flip_byte(&dir.path().join("a.1.meta"), 12);
    truncate(&dir.path().join("b.2.body"), 3);
    fs::remove_file(dir.path().join("c.3.meta")).unwrap();
    for name in ["a", "b", "c"] {
        assert!(get(&store, name).await.is_none(), "{name}");
    }
    let stats = store.stats();
    assert_eq!((stats.corrupt_entry_count, stats.read_miss_count), (3, 3));
    assert!(store.is_empty());
    assert_eq!(files_in(dir.path()), ["oktower.journal", "oktower.lock"]);
    put(&store, "a", "again", b"fine").await;
    assert_eq!(get(&store, "a").await.unwrap().1, b"fine");
}

#[tokio::test]
async fn a_body_truncated_under_an_open_reader_ends_in_an_error() {
    let dir = TestDir::new("truncated-reader");
    let store = DiskStore::open(dir.path(), MAX).await.unwrap();
    put(&store, "a", "m", &body_of("a", 1_000_000)).await;
    let mut entry = store.open_read(&key("a")).await.unwrap().unwrap();
    let first = entry.body.chunk().await.unwrap().unwrap();
    assert!(!first.is_empty());
    truncate(&dir.path().join("a.1.body"), 200_000);
    let mut read = first.len();
    let error = loop {
        match entry.body.chunk().await {
            Some(Ok(chunk)) => read += chunk.len(),
            Some(Err(error)) => break error,
            None => panic!("a truncated body must not end cleanly"),
        }
    };
    assert!(error.is_io());
    assert!(read <= 200_000);
}

#[tokio::test]
async fn interrupted_writes_and_orphans_are_swept_keeping_the_old_version() {
    let dir = TestDir::new("sweep");
    two_entries(&dir).await;
    let journal = super::journal::journal_path(dir.path());
    // A rewrite of `a` killed before its commit, and files a lost journal line left.
    append(&journal, b"DIRTY a 77\n");
    fs::write(dir.path().join("a.77.body.tmp"), b"half").unwrap();
    fs::write(dir.path().join("a.77.meta.tmp"), b"half").unwrap();
    fs::write(dir.path().join("zz.80.meta"), b"orphan").unwrap();
    fs::write(dir.path().join("zz.80.body"), b"orphan").unwrap();
    fs::write(dir.path().join("oktower.journal.tmp"), b"half a journal").unwrap();
    fs::write(dir.path().join("notes.txt"), b"not ours").unwrap();
    let store = DiskStore::open(dir.path(), MAX).await.unwrap();
    assert_eq!(
        get(&store, "a").await.unwrap().1,
        body_of("a", 100_000),
        "the old version"
    );
    assert_eq!(
        files_in(dir.path()),
        [
            "a.1.body",
            "a.1.meta",
            "b.2.body",
            "b.2.meta",
            "notes.txt",
            "oktower.journal",
            "oktower.lock"
        ]
    );
    put(&store, "c", "", b"c").await;
    assert!(
        dir.path().join("c.81.body").exists(),
        "ids continue past every id on disk"
    );
}

#[tokio::test]
async fn another_format_version_or_no_journal_empties_the_directory() {
    let dir = TestDir::new("format");
    two_entries(&dir).await;
    let store = builder(&dir, MAX).format_version(2).open().await.unwrap();
    assert!(store.is_empty());
    assert_eq!(files_in(dir.path()), ["oktower.journal", "oktower.lock"]);
    drop(store);

    let dir = TestDir::new("no-journal");
    two_entries(&dir).await;
    fs::remove_file(super::journal::journal_path(dir.path())).unwrap();
    let store = DiskStore::open(dir.path(), MAX).await.unwrap();
    assert!(store.is_empty());
    assert_eq!(files_in(dir.path()), ["oktower.journal", "oktower.lock"]);
}

#[tokio::test]
async fn compaction_rewrites_the_journal_and_keeps_the_lru_order() {
    let dir = TestDir::new("compaction");
    let store = builder(&dir, 3500)
        .compaction_threshold(20)
        .open()
        .await
        .unwrap();
    for name in ["a", "b", "c"] {
        put(&store, name, "", &body_of(name, 1000)).await;
    }
    for _ in 0..30 {
        get(&store, "b").await.unwrap();
        get(&store, "a").await.unwrap();
    }
    store.flush().await.unwrap();
    let text = journal_text(dir.path());
    let lines = text.lines().count();
    assert!(lines < 4 + 3 + 20 + 1, "compacted: {lines} lines\n{text}");
    assert!(text.contains("CLEAN a") && text.contains("CLEAN b") && text.contains("CLEAN c"));
    assert!(!dir.path().join("oktower.journal.tmp").exists());
    drop(store);

    let store = builder(&dir, 3500)
        .compaction_threshold(20)
        .open()
        .await
        .unwrap();
    put(&store, "d", "", &body_of("d", 1000)).await;
    assert_eq!(
        collect_keys(store.keys()).await,
        ["a", "b", "d"],
        "c was least recently used"
    );
}

#[tokio::test]
async fn a_journal_that_only_grows_from_updates_is_compacted_too() {
    let dir = TestDir::new("compaction-updates");
    let store = builder(&dir, MAX)
        .compaction_threshold(10)
        .open()
        .await
        .unwrap();
    put(&store, "a", "0", b"body").await;
    for round in 1..40 {
        let version = store.open_read(&key("a")).await.unwrap().unwrap().version;
        let metadata = Bytes::from(round.to_string());
        assert!(
            store
                .update_metadata(&key("a"), version, metadata)
                .await
                .unwrap()
        );
    }
    store.flush().await.unwrap();
    assert!(journal_text(dir.path()).lines().count() < 4 + 10 + 2);
    assert_eq!(
        get(&store, "a").await.unwrap(),
        ("39".into(), b"body".to_vec())
    );
    assert_eq!(
        files_in(dir.path()).len(),
        4,
        "one metadata file, one body, journal, lock"
    );
}

//! Tests of fast reads: entries kept in memory after a read, and deferred `READ` lines.

use std::fs;
use std::io;

use bytes::Bytes;

use super::DiskStore;
use super::hot_entries::{HotEntries, HotEntry};
use super::journal::{EntryFiles, Record};
use super::state::{ReadFrom, State};
use super::tests::{TestDir, body_of, builder, files_in, get, journal_text, key, put};
use crate::cache::CacheStore;

const MAX: u64 = 10 << 20;

fn kept(store: &DiskStore) -> usize {
    store.shared.state().hot.len()
}

fn read_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| line.starts_with("READ"))
        .collect()
}

#[tokio::test]
async fn a_small_entry_read_once_is_served_from_memory_while_it_is_current() {
    let dir = TestDir::new("hot");
    let store = DiskStore::open(dir.path(), MAX).await.unwrap();
    put(&store, "a", "meta a", b"body a").await;
    assert_eq!(kept(&store), 0, "a write alone keeps nothing in memory");
    let first = store.open_read(&key("a")).await.unwrap().unwrap();
    assert_eq!(kept(&store), 1);
    let version = first.version;
    assert_eq!(first.body.to_bytes().await.unwrap(), "body a");

    // The files are gone, yet the entry is still answered: it comes from memory.
    for name in files_in(dir.path()) {
        if name.starts_with("a.") {
            fs::remove_file(dir.path().join(name)).unwrap();
        }
    }
    let again = store.open_read(&key("a")).await.unwrap().unwrap();
    assert_eq!(again.version, version);
    assert_eq!(again.metadata, "meta a");
    assert_eq!(again.body.len(), 6);
    assert_eq!(again.body.to_bytes().await.unwrap(), "body a");
    let stats = store.stats();
    assert_eq!((stats.read_hit_count, stats.read_miss_count), (2, 0));

    // A new version is read from its files, then kept in place of the old one.
    put(&store, "a", "meta a2", b"body a2").await;
    assert_eq!(kept(&store), 0);
    assert_eq!(
        get(&store, "a").await.unwrap(),
        ("meta a2".into(), b"body a2".to_vec())
    );
    assert_eq!(kept(&store), 1);

    // A metadata update is seen at once.
    let read = store.open_read(&key("a")).await.unwrap().unwrap();
    let updated = Bytes::from_static(b"meta a3");
    assert!(
        store
            .update_metadata(&key("a"), read.version, updated)
            .await
            .unwrap()
    );
    assert_eq!(
        get(&store, "a").await.unwrap(),
        ("meta a3".into(), b"body a2".to_vec())
    );

    assert!(store.remove(&key("a")).await.unwrap());
    assert_eq!(kept(&store), 0);
    assert!(get(&store, "a").await.is_none());
}

#[tokio::test]
async fn large_bodies_stream_from_their_files_and_evict_all_forgets_everything() {
    let dir = TestDir::new("hot-large");
    let store = DiskStore::open(dir.path(), MAX).await.unwrap();
    put(&store, "big", "m", &body_of("big", 200_000)).await;
    put(&store, "small", "m", b"small").await;
    assert_eq!(get(&store, "big").await.unwrap().1, body_of("big", 200_000));
    assert_eq!(kept(&store), 0, "a body over 64 KiB is not kept");
    get(&store, "small").await.unwrap();
    assert_eq!(kept(&store), 1);
    store.evict_all().await.unwrap();
    assert_eq!(kept(&store), 0);
    assert!(get(&store, "small").await.is_none());
}

#[tokio::test]
async fn the_memory_budget_is_configurable_and_zero_turns_it_off() {
    let dir = TestDir::new("hot-budget");
    let store = builder(&dir, MAX)
        .memory_cache_size(0)
        .open()
        .await
        .unwrap();
    put(&store, "a", "m", b"body").await;
    get(&store, "a").await.unwrap();
    get(&store, "a").await.unwrap();
    assert_eq!(kept(&store), 0);
    drop(store);

    let store = builder(&dir, MAX)
        .memory_cache_size(2_000)
        .open()
        .await
        .unwrap();
    for name in ["a", "b", "c", "d", "e"] {
        put(&store, name, "m", &body_of(name, 400)).await;
        get(&store, name).await.unwrap();
    }
    let hot_size = store.shared.state().hot.size();
    assert!(hot_size <= 2_000, "{hot_size}");
    assert!(kept(&store) >= 3);
}

#[tokio::test]
async fn writes_failing_make_reads_check_the_files_again() {
    let dir = TestDir::new("hot-fault");
    let store = DiskStore::open(dir.path(), MAX).await.unwrap();
    put(&store, "a", "m", b"body").await;
    get(&store, "a").await.unwrap();
    assert_eq!(kept(&store), 1);
    store.shared.inject_fault(Some(io::ErrorKind::StorageFull));
    assert!(store.begin_write(&key("b"), Bytes::new()).await.is_err());
    assert_eq!(kept(&store), 0);
    assert_eq!(get(&store, "a").await.unwrap().1, b"body", "reads go on");
}

#[tokio::test]
async fn many_reads_journal_one_read_line_per_key_in_use_order() {
    let dir = TestDir::new("deferred-reads");
    let store = DiskStore::open(dir.path(), MAX).await.unwrap();
    for name in ["a", "b", "c"] {
        put(&store, name, "m", name.as_bytes()).await;
    }
    for _ in 0..100 {
        get(&store, "a").await.unwrap();
        get(&store, "c").await.unwrap();
    }
    get(&store, "a").await.unwrap();
    assert!(read_lines(&journal_text(dir.path())).is_empty(), "deferred");
    store.flush().await.unwrap();
    assert_eq!(read_lines(&journal_text(dir.path())), ["READ c", "READ a"]);

    // A write journals the reads before it first; a removed key gets no line.
    get(&store, "b").await.unwrap();
    get(&store, "c").await.unwrap();
    assert!(store.remove(&key("c")).await.unwrap());
    put(&store, "d", "m", b"d").await;
    let text = journal_text(dir.path());
    let tail: Vec<&str> = text.lines().rev().take(4).collect();
    assert!(tail[0].starts_with("CLEAN d 4 4 "), "{text}");
    assert_eq!(tail[1..], ["DIRTY d 4", "REMOVE c", "READ b"], "{text}");
    drop(store);

    let store = DiskStore::open(dir.path(), MAX).await.unwrap();
    let keys: Vec<String> = store
        .shared
        .state()
        .entries
        .oldest_first()
        .map(|(key, _)| key.as_str().to_owned())
        .collect();
    assert_eq!(keys, ["a", "b", "d"], "the use order survives a restart");
}

#[tokio::test]
async fn reads_of_many_keys_write_their_lines_without_a_flush() {
    let dir = TestDir::new("deferred-many");
    let store = builder(&dir, MAX)
        .memory_cache_size(MAX)
        .open()
        .await
        .unwrap();
    let names: Vec<String> = (0..300).map(|i| format!("k{i}")).collect();
    for name in &names {
        put(&store, name, "m", b"x").await;
    }
    for name in &names {
        get(&store, name).await.unwrap();
    }
    assert_eq!(kept(&store), 300);
    let written = read_lines(&journal_text(dir.path())).len();
    assert!(written >= 256, "reads from the files wrote {written} lines");
    for name in &names {
        get(&store, name).await.unwrap();
    }
    let written_again = read_lines(&journal_text(dir.path())).len();
    assert!(
        written_again >= written + 256,
        "reads from memory wrote {written_again} lines"
    );
}

fn files(id: u64) -> EntryFiles {
    EntryFiles {
        meta_id: id,
        body_id: id,
        meta_len: 10,
        body_len: 4,
    }
}

fn hot_entry(id: u64) -> HotEntry {
    HotEntry {
        files: files(id),
        metadata: Bytes::from_static(b"meta"),
        decoded: crate::cache::DecodedMetadata::slot(),
        body: Bytes::from_static(b"body"),
    }
}

#[test]
fn the_index_serves_memory_only_for_its_current_version() {
    let mut state = State::new(1, 0);
    state.hot = HotEntries::new(1000);
    state.publish(&key("a"), files(1), 1000);
    state.remember_read(&key("a"), hot_entry(9));
    assert_eq!(state.hot.len(), 0, "not the current version");
    state.remember_read(&key("a"), hot_entry(1));
    assert!(matches!(
        state.look_up_for_read(&key("a"), 10),
        Some(ReadFrom::Memory(_))
    ));
    assert!(
        matches!(
            state.look_up_for_read(&key("a"), 1),
            Some(ReadFrom::Files(_))
        ),
        "too many reads wait for their line"
    );
    state.publish(&key("a"), files(2), 1000);
    assert!(matches!(
        state.look_up_for_read(&key("a"), 10),
        Some(ReadFrom::Files(found)) if found == files(2)
    ));
    assert!(state.look_up_for_read(&key("missing"), 10).is_none());
}

#[test]
fn deferred_reads_go_out_before_the_next_line_and_count_as_lines() {
    let mut state = State::new(1, 0);
    state.publish(&key("a"), files(1), 1000);
    state.publish(&key("b"), files(2), 1000);
    let _ = state.take_pending();
    for _ in 0..5 {
        state.look_up_for_read(&key("a"), 10);
        state.look_up_for_read(&key("b"), 10);
    }
    assert_eq!(state.deferred_read_count(), 2);
    assert_eq!(state.redundant_lines(), 0, "not lines yet");
    state.record(&Record::Dirty { key: "c", id: 3 });
    let pending = String::from_utf8(state.take_pending()).unwrap();
    assert_eq!(pending, "READ a\nREAD b\nDIRTY c 3\n");
    assert_eq!(state.redundant_lines(), 3);
    state.look_up_for_read(&key("a"), 10);
    state.discard_pending();
    assert!(state.take_pending().is_empty());
    state.look_up_for_read(&key("b"), 10);
    let _ = state.journal_snapshot(1);
    assert!(
        state.take_pending().is_empty(),
        "a snapshot holds the order"
    );
}

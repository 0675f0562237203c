//! Crash safety of `DiskStore`: a child process writes, rewrites, updates and removes
//! entries as fast as it can and is killed with SIGKILL at arbitrary points; after every
//! kill the directory is reopened and every entry it serves must be whole and correct.
//!
//! The child is this test binary run again with `OKTOWER_CRASH_DIR` set, executing only
//! `crash_child`. Each entry's metadata names its key, version and body length, and the body
//! is derived from them, so any torn or mixed-up entry shows.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use bytes::Bytes;
use oktower::{CacheStore, DiskStore, StoreKey};

const DIR_VAR: &str = "OKTOWER_CRASH_DIR";
const SEED_VAR: &str = "OKTOWER_CRASH_SEED";
const MAX_SIZE: u64 = 3 << 20;
const KEYS: u64 = 12;
const ROUNDS: u64 = 40;

/// xorshift64*: small, deterministic, good enough to pick kill points and sizes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// The body of `version` of `key`: `len` bytes nobody else would produce.
fn body_of(key: &str, version: u64, len: usize) -> Vec<u8> {
    let seed = key.bytes().fold(version, |acc, b| {
        acc.wrapping_mul(131).wrapping_add(u64::from(b))
    });
    let mut rng = Rng::new(seed);
    let mut body = Vec::with_capacity(len + 8);
    while body.len() < len {
        body.extend_from_slice(&rng.next().to_le_bytes());
    }
    body.truncate(len);
    body
}

fn metadata_of(key: &str, version: u64, len: usize, touch: u64) -> String {
    format!("key={key} version={version} len={len} touch={touch}")
}

/// Parses [`metadata_of`].
fn parse_metadata(text: &str) -> Option<(String, u64, usize, u64)> {
    let mut fields = text
        .split(' ')
        .map(|field| field.split_once('=').map(|(_, v)| v));
    let key = fields.next()??.to_owned();
    let version = fields.next()??.parse().ok()?;
    let len = fields.next()??.parse().ok()?;
    let touch = fields.next()??.parse().ok()?;
    Some((key, version, len, touch))
}

/// Checks every entry of the store; returns how many there are.
async fn verify_all(store: &DiskStore) -> usize {
    let mut keys = store.keys();
    let mut checked = 0;
    while let Some(key) = std::future::poll_fn(|cx| keys.as_mut().poll_next(cx)).await {
        let key = key.expect("key");
        let Some(entry) = store.open_read(&key).await.expect("read") else {
            continue;
        };
        let text = String::from_utf8(entry.metadata.to_vec()).expect("metadata is text");
        let (name, version, len, _) = parse_metadata(&text).expect("metadata parses");
        assert_eq!(name, key.as_str(), "an entry under another key");
        assert_eq!(entry.body.len(), len as u64, "{text}");
        let body = entry.body.to_bytes().await.expect("the body reads whole");
        assert!(
            body == body_of(&name, version, len),
            "a wrong body for {text}"
        );
        checked += 1;
    }
    checked
}

/// The child: write forever (until killed), telling the parent after every commit.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return; // An ordinary test run: nothing to do.
    };
    let seed: u64 = std::env::var(SEED_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let store = DiskStore::builder(&dir, MAX_SIZE)
            .compaction_threshold(40)
            .open()
            .await
            .expect("the child opens the store");
        let store = Arc::new(store);
        println!("ready");
        let mut tasks = Vec::new();
        for task in 0..3 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(write_forever(store, seed * 10 + task)));
        }
        for task in tasks {
            task.await.expect("writer task");
        }
    });
}

async fn write_forever(store: Arc<DiskStore>, seed: u64) {
    let mut rng = Rng::new(seed);
    let mut version = seed << 32;
    loop {
        version += 1;
        let name = format!("k{}", rng.below(KEYS));
        let key = StoreKey::new(name.as_str()).expect("key");
        match rng.below(20) {
            0..=13 => {
                let len = match rng.below(4) {
                    0 => rng.below(100) as usize,
                    1 | 2 => rng.below(70_000) as usize,
                    _ => rng.below(400_000) as usize,
                };
                let metadata = metadata_of(&name, version, len, 0);
                let Some(mut writer) = store
                    .begin_write(&key, Bytes::from(metadata))
                    .await
                    .expect("begin")
                else {
                    continue;
                };
                let body = Bytes::from(body_of(&name, version, len));
                let mut offset = 0;
                while offset < len {
                    let end = (offset + 1 + rng.below(90_000) as usize).min(len);
                    writer.write(body.slice(offset..end)).await.expect("write");
                    offset = end;
                }
                if rng.below(10) == 0 {
                    writer.abort();
                    continue;
                }
                writer.commit().await.expect("commit");
                println!("committed");
            }
            14..=16 => {
                let Some(entry) = store.open_read(&key).await.expect("read") else {
                    continue;
                };
                let text = String::from_utf8(entry.metadata.to_vec()).expect("text");
                let (_, stored_version, len, touch) = parse_metadata(&text).expect("parses");
                let metadata = metadata_of(&name, stored_version, len, touch + 1);
                store
                    .update_metadata(&key, entry.version, Bytes::from(metadata))
                    .await
                    .expect("update");
                println!("committed");
            }
            17 => {
                store.remove(&key).await.expect("remove");
            }
            _ => {
                if store.open_read(&key).await.expect("read").is_some() {
                    println!("committed");
                }
            }
        }
    }
}

fn spawn_child(dir: &Path, seed: u64) -> Child {
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(DIR_VAR, dir)
        .env(SEED_VAR, seed.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child")
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn every_entry_served_after_a_sigkill_is_whole() {
    if std::env::var_os(DIR_VAR).is_some() {
        return; // This is the child.
    }
    let dir = TempDir(std::env::temp_dir().join(format!("oktower-crash-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut rng = Rng::new(2026);
    let mut commits_seen = 0;
    let mut most_entries = 0;
    for round in 0..ROUNDS {
        let mut child = spawn_child(&dir.0, round);
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        // Sometimes kill while the child is still opening (recovering) the directory.
        if rng.below(6) != 0 {
            let wanted = rng.below(120);
            let mut ready = false;
            let mut seen = 0;
            // The test harness prints "test crash_child ... " before the child's first line.
            for line in lines.by_ref().take(1_000_000) {
                let Ok(line) = line else { break };
                if line.ends_with("ready") {
                    ready = true;
                } else if line == "committed" {
                    seen += 1;
                }
                if ready && seen >= wanted {
                    break;
                }
            }
            assert!(ready, "round {round}: the child did not start");
            commits_seen += seen;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        drop(lines);

        let entries = runtime.block_on(async {
            let store = DiskStore::builder(&dir.0, MAX_SIZE)
                .compaction_threshold(40)
                .open()
                .await
                .expect("the store reopens after a kill");
            let entries = verify_all(&store).await;
            assert_eq!(store.stats().corrupt_entry_count, 0, "round {round}");
            entries
        });
        most_entries = most_entries.max(entries);
        let leftovers: Vec<_> = std::fs::read_dir(&dir.0)
            .expect("list")
            .filter_map(|item| item.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
    }
    eprintln!(
        "crash test: {ROUNDS} kills, {commits_seen} commits seen, up to {most_entries} entries"
    );
    assert!(
        commits_seen > 100,
        "the child made progress: {commits_seen} commits"
    );
    assert!(most_entries > 0, "entries survived the kills");
}

//! The in-memory index of a disk store and the journal lines its changes produce. Pure: no
//! I/O here; callers write the pending lines and delete the files it names.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::deferred_reads::DeferredReads;
use super::entry_files::{FileKind, file_name};
use super::hot_entries::{HotEntries, HotEntry};
use super::journal::{self, EntryFiles, Record};
use crate::cache::StoreKey;
use crate::cache::lru::LruIndex;
use crate::cache::writer_slots::WriterSlots;

/// Everything a disk store knows about its directory.
#[derive(Debug)]
pub(super) struct State {
    /// Published entries in LRU order.
    pub(super) entries: LruIndex<EntryFiles>,
    /// Writes in progress.
    pub(super) writers: WriterSlots,
    /// The next file id; ids are never reused while the store is open.
    next_id: u64,
    /// Lines in the journal file plus those pending.
    journal_lines: u64,
    /// Lines not yet appended to the journal file.
    pub(super) pending: Vec<u8>,
    /// Reads whose `READ` lines are not in `pending` yet.
    deferred_reads: DeferredReads,
    /// Recently read small entries, served without reading their files.
    pub(super) hot: HotEntries,
    /// Whether writes are accepted.
    pub(super) gate: WriteGate,
}

/// Where a read finds an entry.
#[derive(Debug)]
pub(super) enum ReadFrom {
    /// In memory, as read and checked before.
    Memory(HotEntry),
    /// In its files.
    Files(EntryFiles),
}

/// Whether a store accepts writes, and since when it does not.
#[derive(Clone, Debug)]
pub(super) enum WriteGate {
    Open,
    Disabled {
        reason: Arc<str>,
        since: Instant,
        probing: bool,
    },
}

impl WriteGate {
    /// Whether a disabled store should try writing again at `now`: once `retry_after` has
    /// passed since writes failed, and by one caller at a time.
    pub(super) fn probe_due(&self, now: Instant, retry_after: Duration) -> bool {
        match self {
            WriteGate::Open => false,
            WriteGate::Disabled { since, probing, .. } => {
                !probing && now.saturating_duration_since(*since) >= retry_after
            }
        }
    }
}

/// What publishing a version changed.
#[derive(Debug, Default)]
pub(super) struct Published {
    /// Files no entry refers to any more.
    pub(super) obsolete: Vec<String>,
    /// How many entries were evicted to make room.
    pub(super) evicted: u64,
}

impl State {
    pub(super) fn new(next_id: u64, journal_lines: u64) -> Self {
        State {
            entries: LruIndex::default(),
            writers: WriterSlots::default(),
            next_id,
            journal_lines,
            pending: Vec::new(),
            deferred_reads: DeferredReads::default(),
            hot: HotEntries::default(),
            gate: WriteGate::Open,
        }
    }

    pub(super) fn allocate_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Makes sure ids up to `id` are never allocated (they may name files on disk).
    pub(super) fn reserve_ids_through(&mut self, id: u64) {
        self.next_id = self.next_id.max(id.saturating_add(1));
    }

    /// Queues a journal line (after the `READ` lines of the reads before it).
    pub(super) fn record(&mut self, record: &Record<'_>) {
        self.queue_deferred_reads();
        journal::write_record(&mut self.pending, record);
        self.journal_lines += 1;
    }

    /// Marks `key` as the most recently used entry and says where to read it from. The
    /// read's `READ` line is deferred: at most one per key goes out with the next line.
    /// While `deferred_limit` keys or more wait for their line, the answer is the files,
    /// so that a blocking read writes the journal.
    pub(super) fn look_up_for_read(
        &mut self,
        key: &StoreKey,
        deferred_limit: usize,
    ) -> Option<ReadFrom> {
        let files = *self.entries.touch(key.as_str())?;
        self.deferred_reads.mark(key);
        if self.deferred_reads.len() < deferred_limit
            && let Some(hot) = self.hot.get(key.as_str(), &files)
        {
            return Some(ReadFrom::Memory(hot.clone()));
        }
        Some(ReadFrom::Files(files))
    }

    /// Keeps what a read found in `entry`'s files in memory, if they are still the current
    /// version of `key`.
    pub(super) fn remember_read(&mut self, key: &StoreKey, entry: HotEntry) {
        if self.entries.get(key.as_str()) == Some(&entry.files) {
            self.hot.remember(key, entry);
        }
    }

    /// How many keys wait for their `READ` line.
    pub(super) fn deferred_read_count(&self) -> usize {
        self.deferred_reads.len()
    }

    /// The lines to append to the journal file, deferred reads included.
    pub(super) fn take_pending(&mut self) -> Vec<u8> {
        self.queue_deferred_reads();
        std::mem::take(&mut self.pending)
    }

    /// Drops the lines nobody will write (a store without its directory lock).
    pub(super) fn discard_pending(&mut self) {
        self.deferred_reads.clear();
        self.pending.clear();
    }

    fn queue_deferred_reads(&mut self) {
        let entries = &self.entries;
        self.journal_lines += self
            .deferred_reads
            .drain_into(&mut self.pending, |key| entries.get(key).is_some());
    }

    /// Journal lines that no longer describe a live entry.
    pub(super) fn redundant_lines(&self) -> u64 {
        self.journal_lines.saturating_sub(self.entries.len() as u64)
    }

    /// OkHttp's rule: rebuild once redundant lines reach `threshold` and outnumber the
    /// entries.
    pub(super) fn needs_compaction(&self, threshold: u64) -> bool {
        let redundant = self.redundant_lines();
        redundant >= threshold && redundant >= self.entries.len() as u64
    }

    /// The contents of a fresh journal describing the current state (LRU order kept, writes
    /// in progress as `DIRTY`). Pending lines are dropped: the snapshot holds what they said.
    pub(super) fn journal_snapshot(&mut self, format_version: u32) -> Vec<u8> {
        let mut text = journal::header(format_version).into_bytes();
        let mut lines = 0;
        for (key, files) in self.entries.oldest_first() {
            let record = Record::Clean {
                key: key.as_str(),
                files: *files,
            };
            journal::write_record(&mut text, &record);
            lines += 1;
        }
        for (key, id) in self.writers.open_writers() {
            journal::write_record(
                &mut text,
                &Record::Dirty {
                    key: key.as_str(),
                    id,
                },
            );
            lines += 1;
        }
        self.pending.clear();
        self.deferred_reads.clear();
        self.journal_lines = lines;
        text
    }

    /// Makes `files` the version of `key`, then evicts down to `max_size`.
    pub(super) fn publish(
        &mut self,
        key: &StoreKey,
        files: EntryFiles,
        max_size: u64,
    ) -> Published {
        self.record(&Record::Clean {
            key: key.as_str(),
            files,
        });
        let mut published = Published::default();
        self.hot.forget(key.as_str());
        if let Some(old) = self.entries.insert(key.clone(), files, files.size()) {
            obsolete_files(key.as_str(), &old, Some(&files), &mut published.obsolete);
        }
        for (evicted_key, evicted) in self.entries.evict_to(max_size) {
            self.record(&Record::Remove {
                key: evicted_key.as_str(),
            });
            self.hot.forget(evicted_key.as_str());
            obsolete_files(
                evicted_key.as_str(),
                &evicted,
                None,
                &mut published.obsolete,
            );
            published.evicted += 1;
        }
        published
    }

    /// Removes `key` and discards its write in progress; the files to delete.
    pub(super) fn remove(&mut self, key: &str) -> Option<Vec<String>> {
        self.writers.discard(key);
        self.hot.forget(key);
        let files = self.entries.remove(key)?;
        self.record(&Record::Remove { key });
        let mut obsolete = Vec::new();
        obsolete_files(key, &files, None, &mut obsolete);
        Some(obsolete)
    }

    /// Removes `key` only if its version is still `files` (an entry found corrupt by a
    /// reader, who must not remove a newer version); the files to delete.
    pub(super) fn remove_if_current(
        &mut self,
        key: &str,
        files: &EntryFiles,
    ) -> Option<Vec<String>> {
        if self.entries.get(key) != Some(files) {
            return None;
        }
        self.entries.remove(key);
        self.hot.forget(key);
        self.record(&Record::Remove { key });
        let mut obsolete = Vec::new();
        obsolete_files(key, files, None, &mut obsolete);
        Some(obsolete)
    }

    /// Removes every entry and discards every write in progress; the files to delete.
    pub(super) fn remove_all(&mut self) -> Vec<String> {
        self.writers.discard_all();
        self.hot.clear();
        let mut obsolete = Vec::new();
        for (key, files) in self.entries.drain() {
            self.record(&Record::Remove { key: key.as_str() });
            obsolete_files(key.as_str(), &files, None, &mut obsolete);
        }
        obsolete
    }
}

/// The files of `old` that `new` (the version replacing it, if any) does not reuse.
pub(super) fn obsolete_files(
    key: &str,
    old: &EntryFiles,
    new: Option<&EntryFiles>,
    out: &mut Vec<String>,
) {
    if new.is_none_or(|new| new.meta_id != old.meta_id) {
        out.push(file_name(key, old.meta_id, FileKind::Meta));
    }
    if new.is_none_or(|new| new.body_id != old.body_id) {
        out.push(file_name(key, old.body_id, FileKind::Body));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::disk::journal::parse_journal;

    fn key(text: &str) -> StoreKey {
        StoreKey::new(text).unwrap()
    }

    fn files(meta_id: u64, body_id: u64, size: u64) -> EntryFiles {
        EntryFiles {
            meta_id,
            body_id,
            meta_len: 0,
            body_len: size,
        }
    }

    fn pending(state: &State) -> String {
        String::from_utf8(state.pending.clone()).unwrap()
    }

    #[test]
    fn publishing_replaces_evicts_and_journals() {
        let mut state = State::new(1, 0);
        assert!(
            state
                .publish(&key("a"), files(1, 1, 10), 25)
                .obsolete
                .is_empty()
        );
        state.publish(&key("b"), files(2, 2, 10), 25);
        let replaced = state.publish(&key("a"), files(3, 1, 10), 25);
        assert_eq!(replaced.obsolete, ["a.1.meta"], "the body is reused");
        let evicting = state.publish(&key("c"), files(4, 4, 10), 25);
        assert_eq!(evicting.evicted, 1);
        assert_eq!(evicting.obsolete, ["b.2.meta", "b.2.body"]);
        assert_eq!(
            pending(&state),
            "CLEAN a 1 1 0 10\nCLEAN b 2 2 0 10\nCLEAN a 3 1 0 10\nCLEAN c 4 4 0 10\nREMOVE b\n"
        );
        assert_eq!(state.redundant_lines(), 3);
    }

    #[test]
    fn removal_discards_writers_and_reports_files() {
        let mut state = State::new(1, 0);
        state.publish(&key("a"), files(1, 1, 10), 100);
        let id = state.writers.claim(&key("a")).unwrap();
        assert_eq!(state.remove("a").unwrap(), ["a.1.meta", "a.1.body"]);
        assert!(!state.writers.is_live("a", id));
        assert!(state.remove("a").is_none());
        assert!(pending(&state).ends_with("REMOVE a\n"));
    }

    #[test]
    fn a_reader_only_drops_the_version_it_found_corrupt() {
        let mut state = State::new(1, 0);
        state.publish(&key("a"), files(1, 1, 10), 100);
        state.publish(&key("a"), files(2, 2, 10), 100);
        assert!(state.remove_if_current("a", &files(1, 1, 10)).is_none());
        assert_eq!(
            state.remove_if_current("a", &files(2, 2, 10)).unwrap(),
            ["a.2.meta", "a.2.body"]
        );
        assert_eq!(state.entries.len(), 0);
    }

    #[test]
    fn remove_all_empties_the_index() {
        let mut state = State::new(1, 0);
        state.publish(&key("a"), files(1, 1, 10), 100);
        state.publish(&key("b"), files(2, 2, 10), 100);
        let id = state.writers.claim(&key("c")).unwrap();
        assert_eq!(state.remove_all().len(), 4);
        assert_eq!(state.entries.total_size(), 0);
        assert!(!state.writers.is_live("c", id));
    }

    #[test]
    fn compaction_follows_okhttps_threshold() {
        let mut state = State::new(1, 0);
        for i in 0..5 {
            state.publish(&key(&format!("k{i}")), files(i, i, 1), 100);
        }
        for _ in 0..4 {
            state.record(&Record::Read { key: "k0" });
        }
        assert_eq!(state.redundant_lines(), 4);
        assert!(
            !state.needs_compaction(4),
            "redundant lines must outnumber entries"
        );
        state.record(&Record::Read { key: "k0" });
        assert!(state.needs_compaction(5));
        assert!(!state.needs_compaction(6));
    }

    #[test]
    fn a_snapshot_keeps_lru_order_and_open_writes() {
        let mut state = State::new(1, 0);
        state.publish(&key("a"), files(1, 1, 10), 100);
        state.publish(&key("b"), files(2, 2, 10), 100);
        state.entries.touch("a");
        state.writers.claim(&key("c")).unwrap();
        let text = state.journal_snapshot(9);
        assert!(state.pending.is_empty());
        let parsed = parse_journal(&text, 9).unwrap();
        let keys: Vec<_> = parsed
            .records
            .iter()
            .map(|record| format!("{record:?}"))
            .collect();
        assert_eq!(keys.len(), 3);
        assert!(
            keys[0].contains("\"b\"") && keys[1].contains("\"a\"") && keys[2].contains("Dirty")
        );
        assert_eq!(state.redundant_lines(), 1, "the DIRTY line");
    }

    #[test]
    fn probing_waits_for_the_retry_delay_and_one_caller() {
        let start = Instant::now();
        let retry = Duration::from_secs(30);
        assert!(!WriteGate::Open.probe_due(start, retry));
        let disabled = WriteGate::Disabled {
            reason: "full".into(),
            since: start,
            probing: false,
        };
        assert!(!disabled.probe_due(start + Duration::from_secs(29), retry));
        assert!(disabled.probe_due(start + retry, retry));
        let probing = WriteGate::Disabled {
            reason: "full".into(),
            since: start,
            probing: true,
        };
        assert!(!probing.probe_due(start + retry, retry));
    }

    #[test]
    fn ids_are_allocated_in_order() {
        let mut state = State::new(7, 0);
        assert_eq!(state.allocate_id(), 7);
        assert_eq!(state.allocate_id(), 8);
    }
}

//! Recently read small entries kept in memory, so that a hit on one answers without touching
//! the directory. Pure: the disk store fills it after a read that checked the files, and
//! forgets an entry whenever its version changes.
//!
//! Every kept entry remembers the [`EntryFiles`] it was read from, and is served only while
//! the index still names exactly those files: a version replaced, removed or evicted is never
//! served from here, even before it is forgotten.

use bytes::Bytes;

use super::journal::EntryFiles;
use crate::cache::lru::LruIndex;
use crate::cache::{DecodedMetadata, StoreKey};

/// Bodies up to this many bytes are kept (a larger body streams from its file anyway).
pub(super) const MAX_HOT_BODY: u64 = 64 * 1024;

/// The metadata and body of one version, as read and checked from its files.
#[derive(Clone, Debug)]
pub(super) struct HotEntry {
    pub(super) files: EntryFiles,
    pub(super) metadata: Bytes,
    /// The cache layer's decoded `metadata`, filled at its first read.
    pub(super) decoded: DecodedMetadata,
    pub(super) body: Bytes,
}

/// Recently read entries, least recently used dropped beyond a budget of bytes.
#[derive(Debug, Default)]
pub(super) struct HotEntries {
    entries: LruIndex<HotEntry>,
    budget: u64,
}

impl HotEntries {
    /// Keeps at most `budget` bytes (metadata and body files); 0 keeps nothing.
    pub(super) fn new(budget: u64) -> Self {
        HotEntries {
            entries: LruIndex::default(),
            budget,
        }
    }

    /// The kept entry of `key` if it is the version `current` (marked recently used). A kept
    /// entry of another version is forgotten.
    pub(super) fn get(&mut self, key: &str, current: &EntryFiles) -> Option<&HotEntry> {
        let matches = self.entries.get(key)?.files == *current;
        if !matches {
            self.entries.remove(key);
            return None;
        }
        self.entries.touch(key)
    }

    /// Keeps `entry` under `key` if it is small enough, dropping the least recently used
    /// entries beyond the budget.
    pub(super) fn remember(&mut self, key: &StoreKey, entry: HotEntry) {
        let size = entry.files.size();
        if entry.files.body_len > MAX_HOT_BODY
            || entry.body.len() as u64 != entry.files.body_len
            || size > self.budget / 2
        {
            return;
        }
        self.entries.insert(key.clone(), entry, size);
        self.entries.evict_to(self.budget);
    }

    /// Forgets `key`.
    pub(super) fn forget(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// Forgets everything.
    pub(super) fn clear(&mut self) {
        self.entries.drain();
    }

    /// The bytes kept.
    pub(super) fn size(&self) -> u64 {
        self.entries.total_size()
    }

    /// How many entries are kept.
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> StoreKey {
        StoreKey::new(text).unwrap()
    }

    fn files(id: u64, body_len: u64) -> EntryFiles {
        EntryFiles {
            meta_id: id,
            body_id: id,
            meta_len: 10,
            body_len,
        }
    }

    fn entry(id: u64, body: &'static [u8]) -> HotEntry {
        HotEntry {
            files: files(id, body.len() as u64),
            metadata: Bytes::from_static(b"meta"),
            decoded: DecodedMetadata::slot(),
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn serves_only_the_version_it_read() {
        let mut hot = HotEntries::new(1000);
        hot.remember(&key("a"), entry(1, b"body"));
        let found = hot.get("a", &files(1, 4)).unwrap();
        assert_eq!(
            (&found.metadata[..], &found.body[..]),
            (&b"meta"[..], &b"body"[..])
        );
        assert!(hot.get("a", &files(2, 4)).is_none(), "a newer version");
        assert!(
            hot.get("a", &files(1, 4)).is_none(),
            "the stale copy was forgotten"
        );
        assert!(hot.get("missing", &files(1, 4)).is_none());
    }

    #[test]
    fn stays_within_its_budget_dropping_the_least_recently_used() {
        let mut hot = HotEntries::new(60);
        hot.remember(&key("a"), entry(1, b"0123456789"));
        hot.remember(&key("b"), entry(2, b"0123456789"));
        assert!(
            hot.get("a", &files(1, 10)).is_some(),
            "a becomes most recent"
        );
        hot.remember(&key("c"), entry(3, b"0123456789"));
        assert_eq!(hot.len(), 3);
        assert_eq!(hot.size(), 60);
        hot.remember(&key("d"), entry(4, b"0123456789"));
        assert_eq!(hot.size(), 60);
        assert!(hot.get("b", &files(2, 10)).is_none(), "b was least recent");
        assert!(hot.get("a", &files(1, 10)).is_some());
    }

    #[test]
    fn large_entries_bodies_not_read_whole_and_a_zero_budget_are_not_kept() {
        let mut hot = HotEntries::new(40);
        hot.remember(&key("a"), entry(1, b"0123456789012"));
        assert_eq!(hot.len(), 0, "larger than half the budget");
        let mut partial = entry(2, b"0123");
        partial.files.body_len = 5;
        hot.remember(&key("b"), partial);
        assert_eq!(hot.len(), 0, "the body is not whole");
        let mut huge = HotEntries::new(u64::MAX);
        let mut big = entry(3, b"x");
        big.files.body_len = MAX_HOT_BODY + 1;
        huge.remember(&key("c"), big);
        assert_eq!(huge.len(), 0);
        let mut none = HotEntries::new(0);
        none.remember(&key("d"), entry(4, b""));
        assert_eq!(none.len(), 0);
    }

    #[test]
    fn forget_and_clear() {
        let mut hot = HotEntries::new(1000);
        hot.remember(&key("a"), entry(1, b"a"));
        hot.remember(&key("b"), entry(2, b"b"));
        hot.forget("a");
        assert!(hot.get("a", &files(1, 1)).is_none());
        assert_eq!(hot.len(), 1);
        hot.clear();
        assert_eq!((hot.len(), hot.size()), (0, 0));
    }
}

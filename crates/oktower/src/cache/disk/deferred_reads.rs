//! Reads not yet journaled. A read only changes the LRU order, so instead of one `READ` line
//! per read the store remembers which keys were read since the last journal line, and writes
//! one `READ` line per key, in the order of their last reads, just before the next line (or
//! when the journal is written). Replaying the journal then gives the same order as the
//! index, with a line per key instead of a line per read. Pure.

use std::collections::HashMap;

use super::journal::{self, Record};
use crate::cache::StoreKey;

/// The keys read since the last journal line, with the order of their last reads.
#[derive(Debug, Default)]
pub(super) struct DeferredReads {
    last_read: HashMap<StoreKey, u64>,
    next_tick: u64,
}

impl DeferredReads {
    /// Notes a read of `key` (no allocation when `key` was already read since the last line).
    pub(super) fn mark(&mut self, key: &StoreKey) {
        let tick = self.next_tick;
        self.next_tick += 1;
        match self.last_read.get_mut(key.as_str()) {
            Some(last) => *last = tick,
            None => {
                self.last_read.insert(key.clone(), tick);
            }
        }
    }

    /// How many keys wait for their `READ` line.
    pub(super) fn len(&self) -> usize {
        self.last_read.len()
    }

    /// Appends the `READ` lines of the keys `still_stored` accepts, least recently read
    /// first, to `out`; returns how many it wrote. Forgets every key.
    pub(super) fn drain_into(
        &mut self,
        out: &mut Vec<u8>,
        still_stored: impl Fn(&str) -> bool,
    ) -> u64 {
        if self.last_read.is_empty() {
            return 0;
        }
        let mut reads: Vec<(u64, StoreKey)> = self
            .last_read
            .drain()
            .filter(|(key, _)| still_stored(key.as_str()))
            .map(|(key, tick)| (tick, key))
            .collect();
        reads.sort_unstable_by_key(|(tick, _)| *tick);
        for (_, key) in &reads {
            journal::write_record(out, &Record::Read { key: key.as_str() });
        }
        reads.len() as u64
    }

    /// Forgets every key (a fresh journal holds the order already).
    pub(super) fn clear(&mut self) {
        self.last_read.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> StoreKey {
        StoreKey::new(text).unwrap()
    }

    fn drained(reads: &mut DeferredReads, stored: &[&str]) -> (String, u64) {
        let mut out = Vec::new();
        let lines = reads.drain_into(&mut out, |key| stored.contains(&key));
        (String::from_utf8(out).unwrap(), lines)
    }

    #[test]
    fn one_line_per_key_in_the_order_of_last_reads() {
        let mut reads = DeferredReads::default();
        for name in ["a", "b", "a", "c", "b", "a"] {
            reads.mark(&key(name));
        }
        assert_eq!(reads.len(), 3);
        assert_eq!(
            drained(&mut reads, &["a", "b", "c"]),
            ("READ c\nREAD b\nREAD a\n".to_owned(), 3)
        );
        assert_eq!(reads.len(), 0);
        assert_eq!(drained(&mut reads, &["a"]), (String::new(), 0));
    }

    #[test]
    fn keys_no_longer_stored_get_no_line_and_clear_forgets() {
        let mut reads = DeferredReads::default();
        reads.mark(&key("a"));
        reads.mark(&key("gone"));
        assert_eq!(drained(&mut reads, &["a"]), ("READ a\n".to_owned(), 1));
        reads.mark(&key("a"));
        reads.clear();
        assert_eq!(drained(&mut reads, &["a"]), (String::new(), 0));
    }
}

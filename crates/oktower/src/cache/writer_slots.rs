//! The one-writer-per-key rule, and discarding writes whose entry was removed meanwhile.

use std::collections::HashMap;

use super::StoreKey;

/// The open writers of a store, one per key at most.
#[derive(Debug, Default)]
pub(crate) struct WriterSlots {
    open: HashMap<StoreKey, Slot>,
    next_id: u64,
}

#[derive(Debug)]
struct Slot {
    id: u64,
    discarded: bool,
}

/// How a writer's slot ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SlotEnd {
    /// The writer may publish its entry.
    Publish,
    /// The entry was removed while the writer wrote: drop what it wrote.
    Discard,
}

impl WriterSlots {
    /// Claims `key` for a new writer; `None` if another writer holds it.
    pub(crate) fn claim(&mut self, key: &StoreKey) -> Option<u64> {
        if self.open.contains_key(key.as_str()) {
            return None;
        }
        self.next_id += 1;
        let id = self.next_id;
        self.open.insert(
            key.clone(),
            Slot {
                id,
                discarded: false,
            },
        );
        Some(id)
    }

    /// Marks the write of `key` in progress (if any) as discarded.
    pub(crate) fn discard(&mut self, key: &str) {
        if let Some(slot) = self.open.get_mut(key) {
            slot.discarded = true;
        }
    }

    /// Marks every write in progress as discarded.
    pub(crate) fn discard_all(&mut self) {
        for slot in self.open.values_mut() {
            slot.discarded = true;
        }
    }

    /// Whether the writer `id` of `key` still holds its slot and was not discarded.
    #[cfg(test)]
    pub(crate) fn is_live(&self, key: &str, id: u64) -> bool {
        self.open
            .get(key)
            .is_some_and(|slot| slot.id == id && !slot.discarded)
    }

    /// Releases the slot of writer `id`, telling whether it may publish.
    pub(crate) fn release(&mut self, key: &str, id: u64) -> SlotEnd {
        match self.open.get(key) {
            Some(slot) if slot.id == id => {
                let discarded = slot.discarded;
                self.open.remove(key);
                if discarded {
                    SlotEnd::Discard
                } else {
                    SlotEnd::Publish
                }
            }
            _ => SlotEnd::Discard,
        }
    }

    /// The keys being written, with their writer ids.
    pub(crate) fn open_writers(&self) -> impl Iterator<Item = (&StoreKey, u64)> {
        self.open.iter().map(|(key, slot)| (key, slot.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> StoreKey {
        StoreKey::new(text).unwrap()
    }

    #[test]
    fn one_writer_per_key() {
        let mut slots = WriterSlots::default();
        let first = slots.claim(&key("a")).unwrap();
        assert_eq!(slots.claim(&key("a")), None);
        let other = slots.claim(&key("b")).unwrap();
        assert_ne!(first, other);
        assert!(slots.is_live("a", first));
        assert_eq!(slots.release("a", first), SlotEnd::Publish);
        assert!(!slots.is_live("a", first));
        let again = slots.claim(&key("a")).unwrap();
        assert_ne!(again, first);
        assert_eq!(
            slots.release("a", first),
            SlotEnd::Discard,
            "a stale id releases nothing"
        );
        assert!(slots.is_live("a", again));
        assert_eq!(slots.open_writers().count(), 2);
    }

    #[test]
    fn removal_discards_the_write_in_progress() {
        let mut slots = WriterSlots::default();
        let a = slots.claim(&key("a")).unwrap();
        let b = slots.claim(&key("b")).unwrap();
        slots.discard("a");
        slots.discard("missing");
        assert!(!slots.is_live("a", a));
        assert_eq!(slots.release("a", a), SlotEnd::Discard);
        assert!(slots.is_live("b", b));
        slots.discard_all();
        assert_eq!(slots.release("b", b), SlotEnd::Discard);
        assert_eq!(slots.open_writers().count(), 0);
    }
}

//! Entries in least-recently-used order, with their sizes: the eviction bookkeeping shared by
//! the disk and memory stores.

use std::collections::{BTreeMap, HashMap};

use super::StoreKey;

/// A map from key to value that remembers use order and the total size of its values.
#[derive(Debug)]
pub(crate) struct LruIndex<V> {
    slots: HashMap<StoreKey, Slot<V>>,
    order: BTreeMap<u64, StoreKey>,
    next_tick: u64,
    total_size: u64,
}

#[derive(Debug)]
struct Slot<V> {
    value: V,
    size: u64,
    tick: u64,
}

impl<V> Default for LruIndex<V> {
    fn default() -> Self {
        LruIndex {
            slots: HashMap::new(),
            order: BTreeMap::new(),
            next_tick: 0,
            total_size: 0,
        }
    }
}

impl<V> LruIndex<V> {
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn total_size(&self) -> u64 {
        self.total_size
    }

    /// The value of `key`, without marking it used.
    pub(crate) fn get(&self, key: &str) -> Option<&V> {
        self.slots.get(key).map(|slot| &slot.value)
    }

    /// The value of `key`, marked as the most recently used.
    pub(crate) fn touch(&mut self, key: &str) -> Option<&V> {
        let tick = self.take_tick();
        let slot = self.slots.get_mut(key)?;
        let owned_key = self
            .order
            .remove(&slot.tick)
            .expect("every slot has its tick in the order map");
        slot.tick = tick;
        self.order.insert(tick, owned_key);
        Some(&slot.value)
    }

    /// Stores `value` of `size` bytes as the most recently used, returning the value it
    /// replaced.
    pub(crate) fn insert(&mut self, key: StoreKey, value: V, size: u64) -> Option<V> {
        let previous = self.remove(key.as_str());
        let tick = self.take_tick();
        self.order.insert(tick, key.clone());
        self.slots.insert(key, Slot { value, size, tick });
        self.total_size += size;
        previous
    }

    pub(crate) fn remove(&mut self, key: &str) -> Option<V> {
        let slot = self.slots.remove(key)?;
        self.order.remove(&slot.tick);
        self.total_size -= slot.size;
        Some(slot.value)
    }

    /// Removes least recently used entries until the total is at most `max_size`.
    pub(crate) fn evict_to(&mut self, max_size: u64) -> Vec<(StoreKey, V)> {
        let mut evicted = Vec::new();
        while self.total_size > max_size {
            let Some((_, key)) = self.order.pop_first() else {
                break;
            };
            let slot = self
                .slots
                .remove(key.as_str())
                .expect("every key in the order map has a slot");
            self.total_size -= slot.size;
            evicted.push((key, slot.value));
        }
        evicted
    }

    /// Removes everything.
    pub(crate) fn drain(&mut self) -> Vec<(StoreKey, V)> {
        self.order.clear();
        self.total_size = 0;
        self.slots
            .drain()
            .map(|(key, slot)| (key, slot.value))
            .collect()
    }

    /// Entries from the least to the most recently used.
    pub(crate) fn oldest_first(&self) -> impl Iterator<Item = (&StoreKey, &V)> {
        self.order.values().map(|key| {
            let slot = &self.slots[key.as_str()];
            (key, &slot.value)
        })
    }

    /// Every key, least recently used first.
    pub(crate) fn keys(&self) -> Vec<StoreKey> {
        self.order.values().cloned().collect()
    }

    fn take_tick(&mut self) -> u64 {
        let tick = self.next_tick;
        self.next_tick += 1;
        tick
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> StoreKey {
        StoreKey::new(text).unwrap()
    }

    fn order(index: &LruIndex<u32>) -> Vec<&str> {
        index.oldest_first().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn insertion_order_is_use_order_and_touch_moves_to_the_end() {
        let mut index = LruIndex::default();
        index.insert(key("a"), 1, 10);
        index.insert(key("b"), 2, 20);
        index.insert(key("c"), 3, 30);
        assert_eq!(order(&index), ["a", "b", "c"]);
        assert_eq!(index.touch("a"), Some(&1));
        assert_eq!(order(&index), ["b", "c", "a"]);
        assert_eq!(index.get("b"), Some(&2));
        assert_eq!(order(&index), ["b", "c", "a"], "get does not touch");
        assert_eq!(index.touch("missing"), None);
        assert_eq!(index.total_size(), 60);
        assert_eq!(index.len(), 3);
    }

    #[test]
    fn replacing_returns_the_old_value_and_fixes_the_size() {
        let mut index = LruIndex::default();
        index.insert(key("a"), 1, 10);
        index.insert(key("b"), 2, 20);
        assert_eq!(index.insert(key("a"), 9, 5), Some(1));
        assert_eq!(index.total_size(), 25);
        assert_eq!(order(&index), ["b", "a"]);
        assert_eq!(index.remove("b"), Some(2));
        assert_eq!(index.remove("b"), None);
        assert_eq!(index.total_size(), 5);
    }

    #[test]
    fn eviction_takes_the_least_recently_used_first() {
        let mut index = LruIndex::default();
        for (name, size) in [("a", 10), ("b", 10), ("c", 10), ("d", 10)] {
            index.insert(key(name), 0, size);
        }
        index.touch("a");
        let evicted: Vec<_> = index
            .evict_to(25)
            .into_iter()
            .map(|(k, _)| k.as_str().to_owned())
            .collect();
        assert_eq!(evicted, ["b", "c"]);
        assert_eq!(order(&index), ["d", "a"]);
        assert_eq!(index.total_size(), 20);
        assert!(index.evict_to(20).is_empty());
        assert_eq!(index.evict_to(0).len(), 2);
        assert_eq!(index.len(), 0);
    }

    #[test]
    fn drain_empties_everything() {
        let mut index = LruIndex::default();
        index.insert(key("a"), 1, 10);
        index.insert(key("b"), 2, 10);
        assert_eq!(index.keys(), [key("a"), key("b")]);
        assert_eq!(index.drain().len(), 2);
        assert_eq!(index.total_size(), 0);
        assert!(index.keys().is_empty());
    }
}

//! The pure admission core of the dispatcher: per-host FIFO queues under a global and a
//! per-host limit. No tokio, no clock, no wakers: the shared handle drives it under its lock.
//!
//! # Data structure
//!
//! Every call gets an increasing [`CallId`] when it arrives, so ids are arrival order. Each
//! host keeps its running count and its waiters (a `BTreeMap` by id: its first element is the
//! host's oldest waiter, and a waiter that leaves is removed in `O(log n)`). Hosts that have
//! waiters *and* room under the per-host limit are *runnable*; they sit in one `BTreeMap`
//! keyed by the id of their oldest waiter. Promotion pops the smallest key, which is exactly
//! the waiter OkHttp's `promoteAndExecute` would pick after scanning its ready queue (the
//! oldest waiter whose host is below its limit), then puts the host back under its next
//! waiter's id if it still has room. Every operation therefore costs `O(log n)`, never a scan
//! of the waiters. Only a change of the per-host limit visits every host (not every waiter).
//!
//! Calls and hosts live in slabs (vectors with free lists). A call's [`CallKey`] names its
//! call slot and its host slot, so once a call has arrived (one hash of its host name), its
//! promotion and its departure find everything by index, without hashing anything.
//!
//! The invariant kept after every operation: either no host is runnable or the global limit
//! is reached. So a call that arrives while both limits have room is admitted at once without
//! overtaking anyone.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// The identity of one call in the dispatcher, in arrival order.
pub(crate) type CallId = u64;

/// Below this many known hosts, idle host entries are kept (so that repeated calls to a host
/// find its entry without allocating its name again).
const MIN_SWEEP_AT: usize = 64;

/// Where one call is kept: its call slot, and the low 32 bits of its id (which tell a reused
/// call slot from the one the key was made for). 8 bytes: a key sits in every call's future.
///
/// A slot index fits in 32 bits: every slot is a live call (or a freed one, reused first),
/// and four billion live calls would take terabytes of futures before the table got there.
/// A slot is freed only when its call leaves, which its key's owner does once, so the id's
/// low bits are a second check, not the only one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallKey {
    call: u32,
    tag: u32,
}

impl CallKey {
    fn new(call: usize, id: CallId) -> Self {
        CallKey {
            call: call as u32,
            tag: id as u32,
        }
    }

    fn call(&self) -> usize {
        self.call as usize
    }

    /// Whether `slot` holds the call this key was made for.
    fn names<T>(&self, slot: &CallSlot<T>) -> bool {
        slot.id as u32 == self.tag
    }

    /// The call's id (its place in arrival order), for the first 2^32 calls.
    #[cfg(test)]
    pub(crate) fn id(&self) -> CallId {
        CallId::from(self.tag)
    }
}

/// What [`Admission::arrive`] decided for a new call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Arrival {
    /// Where the call is kept.
    pub(crate) key: CallKey,
    /// `true`: the call runs now; `false`: it waits.
    pub(crate) admitted: bool,
}

/// Per-host FIFO queues under a global and a per-host limit; each call carries a `T` (the
/// dispatcher's context and waker of the call).
#[derive(Debug)]
pub(crate) struct Admission<T> {
    max_requests: usize,
    max_requests_per_host: usize,
    running: usize,
    queued: usize,
    /// Host name (lower-cased) → its slot in `hosts`.
    host_slots: HashMap<Box<str>, usize>,
    hosts: Vec<Host>,
    free_hosts: Vec<usize>,
    calls: Vec<CallSlot<T>>,
    free_calls: Vec<usize>,
    /// Hosts with waiters and room under the per-host limit (their slots), by the id of
    /// their oldest waiter.
    runnable: BTreeMap<CallId, usize>,
    next_id: CallId,
    /// When the host map reaches this size, idle hosts are dropped from it.
    sweep_at: usize,
    /// The slot of the host the last call arrived for, and the key it arrived with (its host,
    /// or the authority the host was found in): a call with the same key (the common case)
    /// finds it by comparing the keys, without finding the host or hashing it. Never a freed
    /// slot.
    last_host: Option<usize>,
    last_key: String,
}

#[derive(Debug, Default)]
struct Host {
    /// The host name (its key in `host_slots`).
    name: Box<str>,
    running: usize,
    /// Waiting calls: id → call slot.
    waiters: BTreeMap<CallId, usize>,
    /// This host's key in `Admission::runnable`, if it is there.
    runnable_key: Option<CallId>,
}

#[derive(Debug)]
struct CallSlot<T> {
    id: CallId,
    /// The slot of the call's host.
    host: u32,
    waiting: bool,
    /// `None`: the slot is free.
    payload: Option<T>,
}

impl<T> Admission<T> {
    /// An empty dispatcher core with these limits (each at least 1).
    pub(crate) fn new(max_requests: usize, max_requests_per_host: usize) -> Self {
        Admission {
            max_requests: max_requests.max(1),
            max_requests_per_host: max_requests_per_host.max(1),
            running: 0,
            queued: 0,
            host_slots: HashMap::new(),
            hosts: Vec::new(),
            free_hosts: Vec::new(),
            calls: Vec::new(),
            free_calls: Vec::new(),
            runnable: BTreeMap::new(),
            next_id: 0,
            sweep_at: MIN_SWEEP_AT,
            last_host: None,
            last_key: String::new(),
        }
    }

    /// The global limit.
    pub(crate) fn max_requests(&self) -> usize {
        self.max_requests
    }

    /// The per-host limit.
    pub(crate) fn max_requests_per_host(&self) -> usize {
        self.max_requests_per_host
    }

    /// Calls running (admitted and not finished).
    pub(crate) fn running_count(&self) -> usize {
        self.running
    }

    /// Calls waiting.
    pub(crate) fn queued_count(&self) -> usize {
        self.queued
    }

    /// Calls running for `host`.
    #[cfg(test)]
    pub(crate) fn running_for(&self, host: &str) -> usize {
        self.host_slots
            .get(host)
            .map_or(0, |&slot| self.hosts[slot].running)
    }

    /// A new call to `host` (already lower-cased) carrying `payload` arrives.
    #[cfg(test)]
    pub(crate) fn arrive(&mut self, host: &str, payload: T) -> Arrival {
        self.arrive_keyed(host, |host| host.into(), payload)
    }

    /// A new call carrying `payload` arrives for the host `host_of` finds (lower-cased) in
    /// `key` (the call's authority; a call with the same key as the last one is not asked for
    /// its host): it runs at once when both limits have room, and waits at the end of its
    /// host's queue otherwise.
    pub(crate) fn arrive_keyed<'k>(
        &mut self,
        key: &'k str,
        host_of: impl FnOnce(&'k str) -> Cow<'k, str>,
        payload: T,
    ) -> Arrival {
        let id = self.next_id;
        self.next_id += 1;
        let host_slot = match self.last_host {
            Some(slot) if self.last_key == key => slot,
            _ => {
                let host = host_of(key);
                let slot = match self.host_slots.get(&*host) {
                    Some(&slot) => slot,
                    None => self.add_host(&host),
                };
                self.last_host = Some(slot);
                self.last_key.clear();
                self.last_key.push_str(key);
                slot
            }
        };
        let entry = &mut self.hosts[host_slot];
        let admitted =
            self.running < self.max_requests && entry.running < self.max_requests_per_host;
        let call_slot = self.free_calls.pop().unwrap_or(self.calls.len());
        if admitted {
            // The invariant says no host is runnable while the global limit has room, so
            // this host has no waiters and the call overtakes no one.
            debug_assert!(entry.waiters.is_empty());
            entry.running += 1;
            self.running += 1;
        } else {
            entry.waiters.insert(id, call_slot);
            self.queued += 1;
            refresh(
                entry,
                host_slot,
                self.max_requests_per_host,
                &mut self.runnable,
            );
        }
        let slot = CallSlot {
            id,
            host: host_slot as u32,
            waiting: !admitted,
            payload: Some(payload),
        };
        match self.calls.get_mut(call_slot) {
            Some(free) => *free = slot,
            None => self.calls.push(slot),
        }
        Arrival {
            key: CallKey::new(call_slot, id),
            admitted,
        }
    }

    /// The payload of call `key` and whether it is still waiting; `None` once it has left.
    pub(crate) fn call_mut(&mut self, key: CallKey) -> Option<(&mut T, bool)> {
        let slot = self
            .calls
            .get_mut(key.call())
            .filter(|slot| key.names(slot))?;
        let waiting = slot.waiting;
        slot.payload.as_mut().map(|payload| (payload, waiting))
    }

    /// Every call's payload, waiting or running.
    pub(crate) fn payloads(&self) -> impl Iterator<Item = &T> {
        self.calls.iter().filter_map(|slot| slot.payload.as_ref())
    }

    /// Call `key` leaves: a waiting call leaves its queue; a running call frees its slot and
    /// waiters are promoted, oldest first, each handed to `promoted`. Returns the call's
    /// payload, or `None` (changing nothing) if the call already left.
    pub(crate) fn leave(
        &mut self,
        key: CallKey,
        promoted: impl FnMut(CallId, &mut T),
    ) -> Option<T> {
        let slot = self
            .calls
            .get_mut(key.call())
            .filter(|slot| key.names(slot))?;
        let payload = slot.payload.take()?;
        let (id, host_slot, waiting) = (slot.id, slot.host as usize, slot.waiting);
        self.free_calls.push(key.call());
        let entry = self
            .hosts
            .get_mut(host_slot)
            .expect("a call's host is kept while the call is known");
        if waiting {
            entry.waiters.remove(&id);
            self.queued = self.queued.saturating_sub(1);
            refresh(
                entry,
                host_slot,
                self.max_requests_per_host,
                &mut self.runnable,
            );
            // Removing a waiter frees no slot, so nothing else becomes runnable.
        } else {
            entry.running = entry.running.saturating_sub(1);
            self.running = self.running.saturating_sub(1);
            refresh(
                entry,
                host_slot,
                self.max_requests_per_host,
                &mut self.runnable,
            );
            self.promote(promoted);
        }
        Some(payload)
    }

    /// Sets the global limit (at least 1); a higher limit promotes waiters, handing each to
    /// `promoted`. Calls already running above a lowered limit keep running.
    pub(crate) fn set_max_requests(&mut self, max: usize, promoted: impl FnMut(CallId, &mut T)) {
        self.max_requests = max.max(1);
        self.promote(promoted);
    }

    /// Sets the per-host limit (at least 1); a higher limit promotes waiters, handing each to
    /// `promoted`. Visits every known host once.
    pub(crate) fn set_max_requests_per_host(
        &mut self,
        max: usize,
        promoted: impl FnMut(CallId, &mut T),
    ) {
        self.max_requests_per_host = max.max(1);
        for &host_slot in self.host_slots.values() {
            refresh(
                &mut self.hosts[host_slot],
                host_slot,
                self.max_requests_per_host,
                &mut self.runnable,
            );
        }
        self.promote(promoted);
    }

    /// Admits the oldest runnable waiters while the global limit has room.
    fn promote(&mut self, mut promoted: impl FnMut(CallId, &mut T)) {
        while self.running < self.max_requests {
            let Some((id, host_slot)) = self.runnable.pop_first() else {
                break;
            };
            let entry = &mut self.hosts[host_slot];
            entry.runnable_key = None;
            let Some((first, call_slot)) = entry.waiters.pop_first() else {
                continue;
            };
            debug_assert_eq!(first, id, "a host is runnable under its oldest waiter");
            entry.running += 1;
            self.running += 1;
            self.queued = self.queued.saturating_sub(1);
            refresh(
                entry,
                host_slot,
                self.max_requests_per_host,
                &mut self.runnable,
            );
            if let Some(call) = self.calls.get_mut(call_slot) {
                call.waiting = false;
                if let Some(payload) = call.payload.as_mut() {
                    promoted(first, payload);
                }
            }
        }
    }

    /// Adds an entry for `host`, first dropping idle hosts if many are known.
    #[cold]
    fn add_host(&mut self, host: &str) -> usize {
        self.sweep_if_large();
        let slot = match self.free_hosts.pop() {
            Some(slot) => slot,
            None => {
                self.hosts.push(Host::default());
                self.hosts.len() - 1
            }
        };
        let name: Box<str> = Box::from(host);
        self.hosts[slot].name = name.clone();
        self.host_slots.insert(name, slot);
        slot
    }

    /// Drops idle hosts from the map once it has grown to `sweep_at` entries, then lets it
    /// grow to twice what is left: amortized `O(1)` per new host.
    fn sweep_if_large(&mut self) {
        if self.host_slots.len() < self.sweep_at {
            return;
        }
        // The remembered host may be freed below.
        self.last_host = None;
        let hosts = &self.hosts;
        let free_hosts = &mut self.free_hosts;
        self.host_slots.retain(|_, &mut slot| {
            let entry = &hosts[slot];
            let busy = entry.running > 0 || !entry.waiters.is_empty();
            if !busy {
                free_hosts.push(slot);
            }
            busy
        });
        self.sweep_at = (self.host_slots.len() * 2).max(MIN_SWEEP_AT);
    }

    /// How many host entries are kept (for tests of the sweep).
    #[cfg(test)]
    pub(crate) fn known_hosts(&self) -> usize {
        self.host_slots.len()
    }
}

/// Puts `entry` (in host slot `slot`) in `runnable` under its oldest waiter's id if it has
/// waiters and room under `per_host`, and takes it out otherwise.
fn refresh(entry: &mut Host, slot: usize, per_host: usize, runnable: &mut BTreeMap<CallId, usize>) {
    let wanted = if entry.running < per_host {
        entry.waiters.first_key_value().map(|(&id, _)| id)
    } else {
        None
    };
    if wanted == entry.runnable_key {
        return;
    }
    if let Some(old) = entry.runnable_key.take() {
        runnable.remove(&old);
    }
    if let Some(new) = wanted {
        runnable.insert(new, slot);
    }
    entry.runnable_key = wanted;
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;

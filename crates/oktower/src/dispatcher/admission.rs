//! The pure admission core of the dispatcher: per-host FIFO queues under a global and a
//! per-host limit. No tokio, no clock, no wakers: the shared handle drives it under its lock.
//!
//! # Data structure
//!
//! Every call gets an increasing [`CallId`] when it arrives, so ids are arrival order. Each
//! host keeps its running count and its waiters (a `BTreeSet` of ids: its first element is the
//! host's oldest waiter, and a waiter that leaves is removed in `O(log n)`). Hosts that have
//! waiters *and* room under the per-host limit are *runnable*; they sit in one `BTreeMap`
//! keyed by the id of their oldest waiter. Promotion pops the smallest key, which is exactly
//! the waiter OkHttp's `promoteAndExecute` would pick after scanning its ready queue (the
//! oldest waiter whose host is below its limit), then puts the host back under its next
//! waiter's id if it still has room. Every operation therefore costs `O(log n)`, never a scan
//! of the waiters. Only a change of the per-host limit visits every host (not every waiter).
//!
//! The invariant kept after every operation: either no host is runnable or the global limit
//! is reached. So a call that arrives while both limits have room is admitted at once without
//! overtaking anyone.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// The identity of one call in the dispatcher, in arrival order.
pub(crate) type CallId = u64;

/// Below this many known hosts, idle host entries are kept (so that repeated calls to a host
/// find its entry without allocating its name again).
const MIN_SWEEP_AT: usize = 64;

/// Per-host FIFO queues under a global and a per-host limit.
#[derive(Debug)]
pub(crate) struct Admission {
    max_requests: usize,
    max_requests_per_host: usize,
    running: usize,
    queued: usize,
    hosts: HashMap<Arc<str>, Host>,
    /// Hosts with waiters and room under the per-host limit, by the id of their oldest waiter.
    runnable: BTreeMap<CallId, Arc<str>>,
    next_id: CallId,
    /// When the host map reaches this size, idle hosts are dropped from it.
    sweep_at: usize,
}

#[derive(Debug)]
struct Host {
    name: Arc<str>,
    running: usize,
    waiters: BTreeSet<CallId>,
    /// This host's key in `Admission::runnable`, if it is there.
    runnable_key: Option<CallId>,
}

/// What [`Admission::arrive`] decided for a new call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Arrival {
    /// The call's id.
    pub(crate) id: CallId,
    /// The host key the call counts against (shared with the dispatcher's host entry).
    pub(crate) host: Arc<str>,
    /// `true`: the call runs now; `false`: it waits.
    pub(crate) admitted: bool,
}

impl Admission {
    /// An empty dispatcher core with these limits (each at least 1).
    pub(crate) fn new(max_requests: usize, max_requests_per_host: usize) -> Self {
        Admission {
            max_requests: max_requests.max(1),
            max_requests_per_host: max_requests_per_host.max(1),
            running: 0,
            queued: 0,
            hosts: HashMap::new(),
            runnable: BTreeMap::new(),
            next_id: 0,
            sweep_at: MIN_SWEEP_AT,
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
        self.hosts.get(host).map_or(0, |entry| entry.running)
    }

    /// A new call to `host` (already lower-cased) arrives: it runs at once when both limits
    /// have room, and waits at the end of its host's queue otherwise.
    pub(crate) fn arrive(&mut self, host: &str) -> Arrival {
        let id = self.next_id;
        self.next_id += 1;
        if !self.hosts.contains_key(host) {
            self.sweep_if_large();
            let name: Arc<str> = Arc::from(host);
            self.hosts.insert(name.clone(), Host::new(name));
        }
        let entry = self
            .hosts
            .get_mut(host)
            .expect("the host entry was just found or inserted");
        let name = entry.name.clone();
        let admitted =
            self.running < self.max_requests && entry.running < self.max_requests_per_host;
        if admitted {
            // The invariant says no host is runnable while the global limit has room, so
            // this host has no waiters and the call overtakes no one.
            debug_assert!(entry.waiters.is_empty());
            entry.running += 1;
            self.running += 1;
        } else {
            entry.waiters.insert(id);
            self.queued += 1;
            refresh(entry, self.max_requests_per_host, &mut self.runnable);
        }
        Arrival {
            id,
            host: name,
            admitted,
        }
    }

    /// A running call to `host` finished: its slot is freed and waiters are promoted into
    /// `promoted`, oldest first. Returns `false` (and changes nothing) if `host` had no
    /// running call.
    pub(crate) fn finish(&mut self, host: &str, promoted: &mut Vec<CallId>) -> bool {
        let Some(entry) = self.hosts.get_mut(host) else {
            return false;
        };
        if entry.running == 0 {
            return false;
        }
        entry.running -= 1;
        self.running = self.running.saturating_sub(1);
        refresh(entry, self.max_requests_per_host, &mut self.runnable);
        self.promote(promoted);
        true
    }

    /// The waiting call `id` to `host` leaves the queue without running (canceled, dropped).
    /// Returns `false` if it was not waiting.
    pub(crate) fn withdraw(&mut self, host: &str, id: CallId) -> bool {
        let Some(entry) = self.hosts.get_mut(host) else {
            return false;
        };
        if !entry.waiters.remove(&id) {
            return false;
        }
        self.queued = self.queued.saturating_sub(1);
        refresh(entry, self.max_requests_per_host, &mut self.runnable);
        // Removing a waiter frees no slot, so nothing else becomes runnable.
        true
    }

    /// Sets the global limit (at least 1); a higher limit promotes waiters into `promoted`.
    /// Calls already running above a lowered limit keep running.
    pub(crate) fn set_max_requests(&mut self, max: usize, promoted: &mut Vec<CallId>) {
        self.max_requests = max.max(1);
        self.promote(promoted);
    }

    /// Sets the per-host limit (at least 1); a higher limit promotes waiters into
    /// `promoted`. Visits every known host once.
    pub(crate) fn set_max_requests_per_host(&mut self, max: usize, promoted: &mut Vec<CallId>) {
        self.max_requests_per_host = max.max(1);
        for entry in self.hosts.values_mut() {
            refresh(entry, self.max_requests_per_host, &mut self.runnable);
        }
        self.promote(promoted);
    }

    /// Admits the oldest runnable waiters while the global limit has room.
    fn promote(&mut self, promoted: &mut Vec<CallId>) {
        while self.running < self.max_requests {
            let Some((id, host)) = self.runnable.pop_first() else {
                break;
            };
            let Some(entry) = self.hosts.get_mut(&*host) else {
                continue;
            };
            entry.runnable_key = None;
            entry.waiters.remove(&id);
            entry.running += 1;
            self.running += 1;
            self.queued = self.queued.saturating_sub(1);
            promoted.push(id);
            refresh(entry, self.max_requests_per_host, &mut self.runnable);
        }
    }

    /// Drops idle hosts from the map once it has grown to `sweep_at` entries, then lets it
    /// grow to twice what is left: amortized `O(1)` per new host.
    fn sweep_if_large(&mut self) {
        if self.hosts.len() < self.sweep_at {
            return;
        }
        self.hosts
            .retain(|_, entry| entry.running > 0 || !entry.waiters.is_empty());
        self.sweep_at = (self.hosts.len() * 2).max(MIN_SWEEP_AT);
    }

    /// How many host entries are kept (for tests of the sweep).
    #[cfg(test)]
    pub(crate) fn known_hosts(&self) -> usize {
        self.hosts.len()
    }
}

impl Host {
    fn new(name: Arc<str>) -> Self {
        Host {
            name,
            running: 0,
            waiters: BTreeSet::new(),
            runnable_key: None,
        }
    }
}

/// Puts `entry` in `runnable` under its oldest waiter's id if it has waiters and room under
/// `per_host`, and takes it out otherwise.
fn refresh(entry: &mut Host, per_host: usize, runnable: &mut BTreeMap<CallId, Arc<str>>) {
    let wanted = if entry.running < per_host {
        entry.waiters.first().copied()
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
        runnable.insert(new, entry.name.clone());
    }
    entry.runnable_key = wanted;
}

#[cfg(test)]
#[path = "admission_tests.rs"]
mod tests;

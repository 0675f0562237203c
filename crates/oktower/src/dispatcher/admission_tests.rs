//! Tests of the admission core, against a model that is OkHttp's `promoteAndExecute` scan.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

/// The core as the tests drive it: calls named by id and host, as the dispatcher's
/// registrations name them by key. Each call's payload is its id.
struct Core {
    inner: Admission<CallId>,
    running: HashMap<String, Vec<CallKey>>,
    waiting: HashMap<CallId, (String, CallKey)>,
}

/// What [`Core::arrive`] decided.
struct TestArrival {
    id: CallId,
    admitted: bool,
}

impl Core {
    fn new(max_requests: usize, per_host: usize) -> Self {
        Core {
            inner: Admission::new(max_requests, per_host),
            running: HashMap::new(),
            waiting: HashMap::new(),
        }
    }

    fn arrive(&mut self, host: &str) -> TestArrival {
        let id = self.inner.next_id;
        let arrival = self.inner.arrive(host, id);
        assert_eq!(arrival.key.id(), id);
        if arrival.admitted {
            self.running
                .entry(host.to_owned())
                .or_default()
                .push(arrival.key);
        } else {
            self.waiting.insert(id, (host.to_owned(), arrival.key));
        }
        TestArrival {
            id,
            admitted: arrival.admitted,
        }
    }

    /// Moves the promoted calls from waiting to running.
    fn record(&mut self, promoted: &[CallId]) {
        for id in promoted {
            let (host, key) = self
                .waiting
                .remove(id)
                .expect("a promoted call was waiting");
            assert_eq!(
                self.inner.call_mut(key).map(|(p, w)| (*p, w)),
                Some((*id, false))
            );
            self.running.entry(host).or_default().push(key);
        }
    }

    /// Finishes one running call to `host` (any: they are alike); `false` if none runs.
    fn finish(&mut self, host: &str, promoted: &mut Vec<CallId>) -> bool {
        let Some(key) = self.running.get_mut(host).and_then(Vec::pop) else {
            return false;
        };
        let left = self.inner.leave(key, |id, payload| {
            assert_eq!(id, *payload);
            promoted.push(id);
        });
        assert_eq!(left, Some(key.id()));
        assert!(self.inner.leave(key, |_, _| panic!("left twice")).is_none());
        self.record(promoted);
        true
    }

    /// The waiting call `id` to `host` leaves; `false` if it was not waiting there.
    fn withdraw(&mut self, host: &str, id: CallId) -> bool {
        match self.waiting.get(&id) {
            Some((waiting_host, _)) if waiting_host == host => {}
            _ => return false,
        }
        let (_, key) = self.waiting.remove(&id).expect("just found");
        assert_eq!(
            self.inner.call_mut(key).map(|(_, waiting)| waiting),
            Some(true)
        );
        let left = self
            .inner
            .leave(key, |_, _| panic!("a withdrawal promotes no one"));
        assert_eq!(left, Some(id));
        assert!(self.inner.call_mut(key).is_none());
        true
    }

    fn set_max_requests(&mut self, max: usize, promoted: &mut Vec<CallId>) {
        self.inner.set_max_requests(max, |id, _| promoted.push(id));
        self.record(promoted);
    }

    fn set_max_requests_per_host(&mut self, max: usize, promoted: &mut Vec<CallId>) {
        self.inner
            .set_max_requests_per_host(max, |id, _| promoted.push(id));
        self.record(promoted);
    }

    fn running_count(&self) -> usize {
        self.inner.running_count()
    }

    fn queued_count(&self) -> usize {
        self.inner.queued_count()
    }

    fn max_requests(&self) -> usize {
        self.inner.max_requests()
    }

    fn max_requests_per_host(&self) -> usize {
        self.inner.max_requests_per_host()
    }

    fn running_for(&self, host: &str) -> usize {
        let count = self.inner.running_for(host);
        assert_eq!(count, self.running.get(host).map_or(0, Vec::len));
        count
    }

    fn known_hosts(&self) -> usize {
        self.inner.known_hosts()
    }
}

/// OkHttp's algorithm, written as plainly as possible: one ready queue in arrival order,
/// scanned from the start on every promotion.
#[derive(Default)]
struct Model {
    max_requests: usize,
    per_host: usize,
    ready: Vec<(CallId, String)>,
    running: Vec<(CallId, String)>,
    next_id: CallId,
}

impl Model {
    fn new(max_requests: usize, per_host: usize) -> Self {
        Model {
            max_requests,
            per_host,
            ..Model::default()
        }
    }

    fn running_for(&self, host: &str) -> usize {
        self.running.iter().filter(|(_, h)| h == host).count()
    }

    fn arrive(&mut self, host: &str) -> bool {
        let id = self.next_id;
        self.next_id += 1;
        self.ready.push((id, host.to_owned()));
        let promoted = self.promote();
        assert!(promoted.len() <= 1 && promoted.iter().all(|p| *p == id));
        !promoted.is_empty()
    }

    fn promote(&mut self) -> Vec<CallId> {
        let mut promoted = Vec::new();
        let mut index = 0;
        while index < self.ready.len() {
            if self.running.len() >= self.max_requests {
                break;
            }
            if self.running_for(&self.ready[index].1) >= self.per_host {
                index += 1;
                continue;
            }
            let call = self.ready.remove(index);
            promoted.push(call.0);
            self.running.push(call);
        }
        promoted
    }
}

#[derive(Debug, Clone)]
enum Op {
    Arrive(usize),
    Finish(usize),
    Withdraw(usize),
    SetMax(usize),
    SetPerHost(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..5usize).prop_map(Op::Arrive),
        4 => any::<usize>().prop_map(Op::Finish),
        2 => any::<usize>().prop_map(Op::Withdraw),
        1 => (0..8usize).prop_map(Op::SetMax),
        1 => (0..5usize).prop_map(Op::SetPerHost),
    ]
}

const HOSTS: [&str; 5] = ["a.test", "b.test", "c.test", "", "[::1]"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any sequence of arrivals, finishes, withdrawals and limit changes admits exactly the
    /// calls OkHttp's scan admits, in the same order; limits are never exceeded by an
    /// admission; per-host order is FIFO; and no runnable waiter is left waiting.
    #[test]
    fn matches_okhttps_scan(max in 1..6usize, per_host in 1..4usize,
                            ops in proptest::collection::vec(op(), 1..200)) {
        let mut core = Core::new(max, per_host);
        let mut model = Model::new(max, per_host);
        let mut last_admitted_per_host: HashMap<String, CallId> = HashMap::new();
        for op in ops {
            let mut promoted: Vec<CallId> = Vec::new();
            let running_before = core.running_count();
            match op {
                Op::Arrive(host) => {
                    let host = HOSTS[host];
                    let arrival = core.arrive(host);
                    let model_admitted = model.arrive(host);
                    prop_assert_eq!(arrival.admitted, model_admitted);
                    if arrival.admitted {
                        prop_assert!(running_before < core.max_requests());
                        prop_assert!(core.running_for(host) <= core.max_requests_per_host());
                        promoted.push(arrival.id);
                    }
                }
                Op::Finish(pick) => {
                    if model.running.is_empty() {
                        prop_assert!(!core.finish("a.test", &mut promoted));
                        continue;
                    }
                    let (_, host) = model.running.remove(pick % model.running.len());
                    prop_assert!(core.finish(&host, &mut promoted));
                    let expected = model.promote();
                    prop_assert_eq!(&promoted, &expected);
                }
                Op::Withdraw(pick) => {
                    if model.ready.is_empty() {
                        prop_assert!(!core.withdraw("a.test", 0));
                        continue;
                    }
                    let (id, host) = model.ready.remove(pick % model.ready.len());
                    prop_assert!(core.withdraw(&host, id));
                    prop_assert!(!core.withdraw(&host, id), "withdrawn twice");
                    prop_assert!(model.promote().is_empty());
                }
                Op::SetMax(n) => {
                    core.set_max_requests(n, &mut promoted);
                    model.max_requests = n.max(1);
                    prop_assert_eq!(&promoted, &model.promote());
                }
                Op::SetPerHost(n) => {
                    core.set_max_requests_per_host(n, &mut promoted);
                    model.per_host = n.max(1);
                    prop_assert_eq!(&promoted, &model.promote());
                }
            }
            // Every admission respected both limits at the time it happened: after it, the
            // host is at most at its limit unless the limit was lowered meanwhile, which
            // the model's scan (break/continue) reproduces exactly.
            for id in &promoted {
                let (_, host) = model.running.iter().find(|(r, _)| r == id).expect("admitted call runs");
                let previous = last_admitted_per_host.insert(host.clone(), *id);
                prop_assert!(previous.is_none_or(|p| p < *id), "per-host FIFO broken");
            }
            prop_assert_eq!(core.running_count(), model.running.len());
            prop_assert_eq!(core.queued_count(), model.ready.len());
            // No runnable waiter is left waiting.
            for (_, host) in &model.ready {
                prop_assert!(core.running_count() >= core.max_requests()
                    || core.running_for(host) >= core.max_requests_per_host());
            }
        }
    }
}

#[test]
fn admits_up_to_the_limits_then_queues() {
    let mut core = Core::new(3, 2);
    assert!(core.arrive("a").admitted);
    assert!(core.arrive("a").admitted);
    let third_a = core.arrive("a");
    assert!(!third_a.admitted, "per-host limit");
    assert!(core.arrive("b").admitted);
    let second_b = core.arrive("b");
    assert!(!second_b.admitted, "global limit");
    assert_eq!((core.running_count(), core.queued_count()), (3, 2));

    // A slot of host b frees: the oldest waiter whose host has room is b's, since a is at
    // its own limit.
    let mut promoted = Vec::new();
    assert!(core.finish("b", &mut promoted));
    assert_eq!(promoted, vec![second_b.id]);
    // A slot of a frees: a's waiter goes.
    promoted.clear();
    assert!(core.finish("a", &mut promoted));
    assert_eq!(promoted, vec![third_a.id]);
    assert_eq!((core.running_count(), core.queued_count()), (3, 0));
}

#[test]
fn the_oldest_runnable_waiter_goes_first_across_hosts() {
    let mut core = Core::new(1, 5);
    assert!(core.arrive("a").admitted);
    let b = core.arrive("b");
    let a = core.arrive("a");
    let c = core.arrive("c");
    let mut promoted = Vec::new();
    for (finished, expected) in [("a", b.id), ("b", a.id), ("a", c.id)] {
        promoted.clear();
        assert!(core.finish(finished, &mut promoted));
        assert_eq!(promoted, vec![expected]);
    }
}

#[test]
fn finishing_or_withdrawing_unknown_calls_changes_nothing() {
    let mut core = Core::new(1, 1);
    let mut promoted = Vec::new();
    assert!(!core.finish("nobody", &mut promoted));
    let running = core.arrive("a");
    let waiting = core.arrive("a");
    assert!(
        !core.withdraw("a", running.id),
        "a running call is not a waiter"
    );
    assert!(!core.withdraw("b", waiting.id), "wrong host");
    assert!(core.withdraw("a", waiting.id));
    assert!(core.finish("a", &mut promoted));
    assert!(!core.finish("a", &mut promoted), "no running call left");
    assert!(promoted.is_empty());
    assert_eq!((core.running_count(), core.queued_count()), (0, 0));
}

#[test]
fn raising_limits_promotes_and_lowering_keeps_running_calls() {
    let mut core = Core::new(2, 1);
    let ids: Vec<_> = (0..4).map(|_| core.arrive("a")).collect();
    assert_eq!(core.running_count(), 1);
    let mut promoted = Vec::new();
    core.set_max_requests_per_host(10, &mut promoted);
    assert_eq!(
        promoted,
        vec![ids[1].id],
        "global limit 2 caps the promotion"
    );
    promoted.clear();
    core.set_max_requests(10, &mut promoted);
    assert_eq!(promoted, vec![ids[2].id, ids[3].id]);

    promoted.clear();
    core.set_max_requests(1, &mut promoted);
    core.set_max_requests_per_host(0, &mut promoted);
    assert_eq!(core.max_requests_per_host(), 1, "0 is clamped to 1");
    assert_eq!(core.running_count(), 4, "running calls are not stopped");
    let late = core.arrive("a");
    assert!(!late.admitted);
    for _ in 0..3 {
        assert!(core.finish("a", &mut promoted));
        assert!(promoted.is_empty(), "still at or over the lowered limit");
    }
    assert!(core.finish("a", &mut promoted));
    assert_eq!(promoted, vec![late.id]);
}

#[test]
fn idle_hosts_are_swept_once_many_are_known() {
    let mut core = Core::new(64, 5);
    let mut promoted = Vec::new();
    let busy = core.arrive("busy");
    assert!(busy.admitted);
    for n in 0..200 {
        let host = format!("h{n}");
        assert!(core.arrive(&host).admitted);
        assert!(core.finish(&host, &mut promoted));
    }
    assert!(core.known_hosts() <= MIN_SWEEP_AT, "{}", core.known_hosts());
    assert_eq!(core.running_for("busy"), 1, "a busy host is kept");
    assert!(core.finish("busy", &mut promoted));
}

#[test]
fn thousands_of_waiters_are_promoted_in_order() {
    let mut core = Core::new(8, 2);
    let hosts: Vec<String> = (0..20).map(|n| format!("h{n}")).collect();
    let mut running: Vec<(CallId, usize)> = Vec::new();
    let mut order: Vec<Vec<CallId>> = vec![Vec::new(); hosts.len()];
    let mut host_of = HashMap::new();
    for n in 0..5_000 {
        let host = n % hosts.len();
        let arrival = core.arrive(&hosts[host]);
        host_of.insert(arrival.id, host);
        if arrival.admitted {
            running.push((arrival.id, host));
            order[host].push(arrival.id);
        }
    }
    let mut promoted = Vec::new();
    while let Some((_, host)) = running.pop() {
        promoted.clear();
        assert!(core.finish(&hosts[host], &mut promoted));
        for id in &promoted {
            let host = host_of[id];
            running.insert(0, (*id, host));
            order[host].push(*id);
        }
        assert!(core.running_count() <= 8);
        assert!(hosts.iter().all(|h| core.running_for(h) <= 2));
    }
    assert_eq!(core.queued_count(), 0);
    assert_eq!(order.iter().map(Vec::len).sum::<usize>(), 5_000);
    for ids in &order {
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "per-host FIFO");
    }
}

#[test]
fn a_reused_call_slot_does_not_answer_to_an_old_key() {
    let mut core: Admission<&str> = Admission::new(1, 1);
    let first = core.arrive("a", "first");
    assert_eq!(core.leave(first.key, |_, _| {}), Some("first"));
    let second = core.arrive("a", "second");
    let waiting = core.arrive("a", "waiting");
    assert_eq!(second.key.call, first.key.call, "the call slot is reused");
    assert!(core.call_mut(first.key).is_none());
    assert_eq!(core.leave(first.key, |_, _| panic!("promoted")), None);
    assert_eq!((core.running_count(), core.queued_count()), (1, 1));
    let mut payloads: Vec<_> = core.payloads().copied().collect();
    payloads.sort_unstable();
    assert_eq!(payloads, vec!["second", "waiting"]);
    let mut promoted = Vec::new();
    assert_eq!(
        core.leave(second.key, |id, payload| promoted.push((id, *payload))),
        Some("second")
    );
    assert_eq!(promoted, vec![(waiting.key.id(), "waiting")]);
    assert_eq!(
        core.call_mut(waiting.key).map(|(p, w)| (*p, w)),
        Some(("waiting", false))
    );
}

#[test]
fn a_swept_host_slot_is_reused() {
    let mut core: Admission<()> = Admission::new(1000, 5);
    for n in 0..MIN_SWEEP_AT * 3 {
        let arrival = core.arrive(&format!("h{n}"), ());
        assert!(arrival.admitted);
        assert!(core.leave(arrival.key, |_, _| {}).is_some());
    }
    assert!(core.hosts.len() <= MIN_SWEEP_AT + 1, "{}", core.hosts.len());
    assert!(core.known_hosts() <= MIN_SWEEP_AT);
}

/// The host remembered from the last arrival is found again by name, also after sweeps have
/// freed its slot and handed slots to other hosts: calls to it still count against it alone.
#[test]
fn a_host_arriving_again_after_sweeps_counts_against_itself() {
    let mut core: Admission<()> = Admission::new(1000, 1);
    let first = core.arrive("a", ());
    assert!(core.leave(first.key, |_, _| {}).is_some());
    let mut busy = Vec::new();
    for n in 0..MIN_SWEEP_AT * 3 {
        let arrival = core.arrive(&format!("h{n}"), ());
        assert!(arrival.admitted);
        if n % 2 == 0 {
            assert!(core.leave(arrival.key, |_, _| {}).is_some());
        } else {
            busy.push(arrival.key);
        }
    }
    let again = core.arrive("a", ());
    assert!(again.admitted, "no call to a is running");
    assert!(
        !core.arrive("a", ()).admitted,
        "the per-host limit of a is reached"
    );
    assert_eq!(core.running_for("a"), 1);
    assert!(busy.iter().all(|key| core.leave(*key, |_, _| {}).is_some()));
    assert_eq!(core.running_count(), 1);
}

/// Calls keyed by their authority count against the host found in it: two authorities of one
/// host share its limit, and a call with the last call's key (found without asking for the
/// host) counts against the same host, also after a sweep freed the remembered slot.
#[test]
fn calls_keyed_by_authority_count_against_their_host() {
    let mut core: Admission<()> = Admission::new(1000, 2);
    let asked = std::cell::Cell::new(0);
    let host_of = |authority: &'static str| -> Cow<'static, str> {
        asked.set(asked.get() + 1);
        Cow::Borrowed(authority.split(':').next().unwrap_or(""))
    };
    assert!(core.arrive_keyed("a.test:80", host_of, ()).admitted);
    assert!(core.arrive_keyed("a.test:81", host_of, ()).admitted);
    assert_eq!(asked.get(), 2);
    assert!(!core.arrive_keyed("a.test:81", host_of, ()).admitted);
    assert_eq!(
        asked.get(),
        2,
        "the same key as the last call's: the host is remembered"
    );
    assert_eq!(core.running_for("a.test"), 2);
    // Other hosts come and go until sweeps free slots; the remembered one is then forgotten.
    for n in 0..MIN_SWEEP_AT * 3 {
        let arrival = core.arrive(&format!("h{n}"), ());
        assert!(core.leave(arrival.key, |_, _| {}).is_some());
    }
    let last = core.arrive("b.test", ());
    assert!(core.leave(last.key, |_, _| {}).is_some());
    assert!(!core.arrive_keyed("a.test:81", host_of, ()).admitted);
    assert_eq!(core.running_for("a.test"), 2);
}

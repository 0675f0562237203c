//! The global and per-host limits, FIFO order, host keys, runtime limit changes.

use super::*;

#[test]
fn the_global_limit_holds_calls_back_until_a_slot_frees() {
    let mut harness = Harness::new(2, 5);
    let mut a = harness.call("http://a.test/");
    let mut b = harness.call("http://b.test/");
    let mut c = harness.call("http://c.test/");
    let a = succeed(&mut a);
    let _b = succeed(&mut b);
    let (counter, waker) = CountingWaker::new();
    assert!(poll_with(&mut c, Some(&waker)).is_pending());
    assert_eq!(harness.counts(), (2, 1));
    assert_eq!(harness.started(), ["a.test/", "b.test/"]);

    drop(a);
    assert_eq!(counter.count(), 1, "the promoted call is woken");
    assert_eq!(harness.counts(), (2, 0));
    let _c = succeed(&mut c);
    assert_eq!(harness.started(), ["a.test/", "b.test/", "c.test/"]);
}

#[test]
fn the_per_host_limit_holds_back_only_that_host() {
    let mut harness = Harness::new(64, 2);
    let mut calls: Vec<Call> = (0..3)
        .map(|n| harness.call(&format!("http://a.test/{n}")))
        .collect();
    let first = succeed(&mut calls[0]);
    let _second = succeed(&mut calls[1]);
    assert_waiting(&mut calls[2]);
    let mut other = harness.call("http://b.test/");
    let _other = succeed(&mut other);
    assert_eq!(harness.counts(), (3, 1));

    drop(first);
    let _third = succeed(&mut calls[2]);
    assert_eq!(harness.counts(), (3, 0));
}

#[test]
fn calls_to_one_host_run_in_the_order_they_were_made() {
    let mut harness = Harness::new(64, 1);
    let mut calls: Vec<Call> = (0..6)
        .map(|n| harness.call(&format!("http://a.test/{n}")))
        .collect();
    let mut running = succeed(&mut calls[0]);
    for n in 1..6 {
        // Polled newest first: the order of polling does not decide the order of running.
        for call in calls[n..].iter_mut().rev() {
            assert_waiting(call);
        }
        drop(running);
        for call in calls[n + 1..].iter_mut().rev() {
            assert_waiting(call);
        }
        running = succeed(&mut calls[n]);
    }
    let expected: Vec<String> = (0..6).map(|n| format!("a.test/{n}")).collect();
    assert_eq!(harness.started(), expected);
}

#[test]
fn a_freed_slot_goes_to_the_oldest_waiter_whose_host_has_room() {
    let mut harness = Harness::new(2, 1);
    let mut a1 = harness.call("http://a.test/1");
    let mut b1 = harness.call("http://b.test/1");
    let mut a2 = harness.call("http://a.test/2");
    let mut c1 = harness.call("http://c.test/1");
    let _a1 = succeed(&mut a1);
    let b1 = succeed(&mut b1);
    assert_waiting(&mut a2);
    assert_waiting(&mut c1);
    // b's slot frees: a2 is older but a.test is at its limit, so c1 goes.
    drop(b1);
    assert_waiting(&mut a2);
    let _c1 = succeed(&mut c1);
}

#[test]
fn hosts_are_told_apart_by_lower_cased_name_alone() {
    let mut harness = Harness::new(64, 1);
    let mut first = harness.call("http://Example.TEST:8080/");
    let mut same_host = harness.call("https://example.test/");
    let mut no_host = harness.call("/relative");
    let mut no_host_again = harness.call("/again");
    let mut ipv6 = harness.call("http://[::1]:8080/");
    let _first = succeed(&mut first);
    assert_waiting(&mut same_host);
    let no_host = succeed(&mut no_host);
    assert_waiting(&mut no_host_again);
    let _ipv6 = succeed(&mut ipv6);
    drop(no_host);
    let _no_host_again = succeed(&mut no_host_again);
    assert_eq!(harness.counts(), (3, 1));
}

#[test]
fn raising_limits_at_run_time_promotes_waiting_calls() {
    let mut harness = Harness::new(1, 1);
    let mut calls: Vec<Call> = (0..4)
        .map(|n| harness.call(&format!("http://a.test/{n}")))
        .collect();
    let _first = succeed(&mut calls[0]);
    let (counter, waker) = CountingWaker::new();
    for call in &mut calls[1..] {
        assert!(poll_with(call, Some(&waker)).is_pending());
    }
    harness.dispatcher.set_max_requests_per_host(3);
    assert_eq!(counter.count(), 0, "the global limit still holds them");
    assert_eq!(harness.counts(), (1, 3));
    harness.dispatcher.set_max_requests(10);
    assert_eq!(counter.count(), 2);
    assert_eq!(harness.counts(), (3, 1));
    let _second = succeed(&mut calls[1]);
    let _third = succeed(&mut calls[2]);
    assert_waiting(&mut calls[3]);
}

#[test]
fn lowering_limits_stops_no_running_call_and_holds_new_ones() {
    let mut harness = Harness::new(64, 5);
    let mut calls: Vec<Call> = (0..3)
        .map(|n| harness.call(&format!("http://a.test/{n}")))
        .collect();
    let mut running: Vec<_> = calls.iter_mut().map(succeed).collect();
    harness.dispatcher.set_max_requests_per_host(1);
    let mut late = harness.call("http://a.test/late");
    assert_waiting(&mut late);
    running.pop();
    running.pop();
    assert_waiting(&mut late);
    running.pop();
    let _late = succeed(&mut late);
}

#[test]
fn the_inner_service_is_made_ready_only_after_admission() {
    let mut harness = Harness::new(1, 1);
    assert!(
        poll_with(
            &mut std::future::poll_fn(|cx| harness.service.poll_ready(cx)),
            None
        )
        .is_ready()
    );
    let mut first = harness.call("http://a.test/1");
    let mut second = harness.call("http://a.test/2");
    let first = succeed(&mut first);
    assert_waiting(&mut second);
    assert_waiting(&mut second);
    assert_eq!(
        harness.inner.ready_polls.load(Ordering::SeqCst),
        1,
        "only the running call"
    );
    drop(first);
    let _second = succeed(&mut second);
    assert_eq!(harness.inner.ready_polls.load(Ordering::SeqCst), 2);
}

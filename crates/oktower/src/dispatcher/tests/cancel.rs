//! Cancellation of queued calls, `cancel_all`, dropped calls.

use super::*;
use crate::NoEvents;

fn context() -> CallContext {
    CallContext::new(Arc::new(NoEvents))
}

#[test]
fn canceling_a_queued_call_ends_it_at_once_and_frees_its_place() {
    let mut harness = Harness::new(64, 1);
    let mut running = harness.call("http://a.test/1");
    let context = context();
    let mut canceled = harness.call_with("http://user:pw@a.test/2", &context);
    let mut next = harness.call("http://a.test/3");
    let running = succeed(&mut running);
    let (counter, waker) = CountingWaker::new();
    assert!(poll_with(&mut canceled, Some(&waker)).is_pending());
    assert_eq!(harness.counts(), (1, 2));

    context.cancel();
    assert_eq!(counter.count(), 1, "cancellation wakes the waiting call");
    let error = answer(&mut canceled).unwrap_err();
    assert!(error.is_canceled());
    assert_eq!(error.url(), Some("http://a.test/2"));
    assert_eq!(harness.counts(), (1, 1));

    drop(running);
    let _next = succeed(&mut next);
    assert_eq!(harness.started(), ["a.test/1", "a.test/3"]);
}

/// Queued calls sharing one context, made with the caller's token: the first waits in the
/// context's waker slot, the second on the token; canceling the token directly (not through
/// `CallContext::cancel`) ends both.
#[test]
fn a_token_canceled_directly_ends_every_queued_call_of_its_context() {
    let mut harness = Harness::new(64, 1);
    let mut running = harness.call("http://a.test/1");
    let token = tokio_util::sync::CancellationToken::new();
    let context = CallContext::with_token(Arc::new(NoEvents), token.child_token());
    let mut first = harness.call_with("http://a.test/2", &context);
    let mut second = harness.call_with("http://a.test/3", &context);
    let _running = succeed(&mut running);
    let (counter, waker) = CountingWaker::new();
    assert!(poll_with(&mut first, Some(&waker)).is_pending());
    assert!(poll_with(&mut second, Some(&waker)).is_pending());
    assert_eq!(harness.counts(), (1, 2));

    token.cancel();
    assert_eq!(counter.count(), 2, "both waiting calls are woken");
    assert!(answer(&mut first).unwrap_err().is_canceled());
    assert!(answer(&mut second).unwrap_err().is_canceled());
    assert_eq!(harness.counts(), (1, 0));
}

#[test]
fn a_call_canceled_after_its_promotion_frees_its_slot() {
    let mut harness = Harness::new(64, 1);
    let mut running = harness.call("http://a.test/1");
    let context = context();
    let mut promoted = harness.call_with("http://a.test/2", &context);
    let mut next = harness.call("http://a.test/3");
    let running = succeed(&mut running);
    assert_waiting(&mut promoted);
    drop(running);
    context.cancel();
    assert!(answer(&mut promoted).unwrap_err().is_canceled());
    let _next = succeed(&mut next);
    assert_eq!(harness.started(), ["a.test/1", "a.test/3"]);
}

#[test]
fn cancel_all_cancels_queued_and_running_calls_but_not_later_ones() {
    let mut harness = Harness::new(64, 2);
    let contexts: Vec<CallContext> = (0..4).map(|_| context()).collect();
    let mut calls: Vec<Call> = contexts
        .iter()
        .enumerate()
        .map(|(n, context)| harness.call_with(&format!("http://a.test/{n}"), context))
        .collect();
    let _running: Vec<_> = calls[..2].iter_mut().map(succeed).collect();
    assert_waiting(&mut calls[2]);
    assert_waiting(&mut calls[3]);
    // A call without a context gets one, which cancel_all reaches too.
    let mut bare = harness.call("http://b.test/");
    let _bare = succeed(&mut bare);

    harness.dispatcher.cancel_all();
    assert!(contexts.iter().all(CallContext::is_canceled));
    let seen = harness.inner.contexts.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(
        seen.iter()
            .all(|context| context.as_ref().is_some_and(CallContext::is_canceled))
    );
    assert!(answer(&mut calls[2]).unwrap_err().is_canceled());
    assert!(answer(&mut calls[3]).unwrap_err().is_canceled());
    assert_eq!(
        harness.counts(),
        (3, 0),
        "running calls hold their slots until they end"
    );

    let later = context();
    let mut later_call = harness.call_with("http://c.test/", &later);
    let _later = succeed(&mut later_call);
    assert!(!later.is_canceled());
}

#[test]
fn dropping_a_queued_call_gives_up_its_place() {
    let mut harness = Harness::new(64, 1);
    let mut running = harness.call("http://a.test/1");
    let mut dropped = harness.call("http://a.test/2");
    let mut next = harness.call("http://a.test/3");
    let running = succeed(&mut running);
    assert_waiting(&mut dropped);
    drop(dropped);
    assert_eq!(harness.counts(), (1, 1));
    drop(running);
    let _next = succeed(&mut next);
    assert_eq!(harness.started(), ["a.test/1", "a.test/3"]);
}

#[test]
fn dropping_a_promoted_call_before_it_runs_frees_its_slot() {
    let mut harness = Harness::new(64, 1);
    let mut running = harness.call("http://a.test/1");
    let promoted = harness.call("http://a.test/2");
    let mut next = harness.call("http://a.test/3");
    drop(succeed(&mut running));
    assert_eq!(
        harness.counts(),
        (1, 1),
        "the second call holds the slot, unpolled"
    );
    drop(promoted);
    let _next = succeed(&mut next);
    assert_eq!(harness.counts(), (1, 0));
    assert_eq!(harness.started(), ["a.test/1", "a.test/3"]);
}

#[test]
fn a_call_never_polled_still_takes_its_place_in_order() {
    let mut harness = Harness::new(64, 1);
    let mut first = harness.call("http://a.test/1");
    let mut second = harness.call("http://a.test/2");
    let mut third = harness.call("http://a.test/3");
    let first = succeed(&mut first);
    // The third is polled, the second is not: the second still goes first.
    assert_waiting(&mut third);
    drop(first);
    assert_waiting(&mut third);
    let _second = succeed(&mut second);
}

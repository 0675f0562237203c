//! The idle callback, `idle()`, and the queue events.

use super::*;

#[test]
fn the_idle_callback_runs_each_time_the_last_call_finishes() {
    let mut harness = Harness::new(64, 1);
    let idle_count = Arc::new(AtomicUsize::new(0));
    let counter = idle_count.clone();
    harness.dispatcher.idle_callback(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    harness.dispatcher.set_max_requests(10);
    assert_eq!(
        idle_count.load(Ordering::SeqCst),
        0,
        "a limit change is no transition"
    );

    let mut first = harness.call("http://a.test/1");
    let mut second = harness.call("http://a.test/2");
    let mut other = harness.call("http://b.test/");
    let first = succeed(&mut first);
    let other = succeed(&mut other);
    drop(first);
    let second = succeed(&mut second);
    drop(other);
    assert_eq!(idle_count.load(Ordering::SeqCst), 0);
    drop(second);
    assert_eq!(idle_count.load(Ordering::SeqCst), 1);

    let mut again = harness.call("http://a.test/empty");
    let _ = succeed(&mut again);
    assert_eq!(
        idle_count.load(Ordering::SeqCst),
        2,
        "an empty body finishes at once"
    );

    harness.dispatcher.clear_idle_callback();
    let mut last = harness.call("http://a.test/");
    drop(succeed(&mut last));
    assert_eq!(idle_count.load(Ordering::SeqCst), 2);
}

#[test]
fn idle_resolves_when_nothing_runs_or_waits() {
    let mut harness = Harness::new(64, 1);
    let dispatcher = harness.dispatcher.clone();
    assert!(poll_with(&mut Box::pin(dispatcher.idle()), None).is_ready());

    let mut first = harness.call("http://a.test/1");
    let mut second = harness.call("http://a.test/2");
    let first = succeed(&mut first);
    assert_waiting(&mut second);
    let mut idle = Box::pin(dispatcher.idle());
    let (counter, waker) = CountingWaker::new();
    assert!(poll_with(&mut idle, Some(&waker)).is_pending());
    drop(first);
    assert_eq!(counter.count(), 0, "the second call runs now");
    let second = succeed(&mut second);
    assert!(poll_with(&mut idle, Some(&waker)).is_pending());
    drop(second);
    assert_eq!(counter.count(), 1);
    assert!(poll_with(&mut idle, Some(&waker)).is_ready());
}

#[test]
fn only_calls_that_wait_hear_the_queue_events() {
    let mut harness = Harness::new(64, 1);
    let immediate = Arc::new(Recorder::default());
    let queued = Arc::new(Recorder::default());
    let canceled = Arc::new(Recorder::default());
    let immediate_context = CallContext::new(immediate.clone());
    let queued_context = CallContext::new(queued.clone());
    let canceled_context = CallContext::new(canceled.clone());

    let mut first = harness.call_with("http://a.test/1", &immediate_context);
    let mut second = harness.call_with("http://a.test/2", &queued_context);
    let mut third = harness.call_with("http://a.test/3", &canceled_context);
    assert_eq!(
        queued.events(),
        ["queue_start"],
        "heard when the call is made"
    );
    let first = succeed(&mut first);
    assert_waiting(&mut second);
    assert_waiting(&mut third);
    assert!(immediate.events().is_empty());

    drop(first);
    let _second = succeed(&mut second);
    assert_eq!(queued.events(), ["queue_start", "queue_end"]);

    canceled_context.cancel();
    assert!(answer(&mut third).unwrap_err().is_canceled());
    assert_eq!(canceled.events(), ["queue_start", "queue_end"]);
    assert!(immediate.events().is_empty());
}

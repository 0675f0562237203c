//! Thousands of queued calls on a runtime.

use super::*;

const CALLS: usize = 5_000;
const HOSTS: usize = 20;

/// Makes every call at once, then runs each to its end on its own task, holding its
/// response for a few turns of the scheduler. A lost wake-up would hang the calls: the
/// time limit turns that into a failure (it is a guard, the test never waits for it).
async fn run_load(harness: &mut Harness) {
    let limit = std::time::Duration::from_secs(120);
    tokio::time::timeout(limit, make_and_run_calls(harness))
        .await
        .expect("every call completes");
}

async fn make_and_run_calls(harness: &mut Harness) {
    let calls: Vec<Call> = (0..CALLS)
        .map(|n| harness.call(&format!("http://h{}.test/{n}", n % HOSTS)))
        .collect();
    assert_eq!(harness.counts(), (64, CALLS - 64));
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|call| {
            tokio::spawn(async move {
                let response = call.await.expect("the call succeeds");
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                drop(response);
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

fn assert_limits_kept(harness: &Harness) {
    assert_eq!(harness.started().len(), CALLS);
    assert!(harness.inner.in_flight.max_total.load(Ordering::SeqCst) <= 64);
    assert!(harness.inner.in_flight.max_per_host.load(Ordering::SeqCst) <= 5);
    assert_eq!(harness.counts(), (0, 0));
    assert!(harness.dispatcher.is_idle());
}

#[tokio::test(flavor = "current_thread")]
async fn thousands_of_queued_calls_all_run_in_order_within_the_limits() {
    let mut harness = Harness::new(64, 5);
    run_load(&mut harness).await;
    assert_limits_kept(&harness);
    assert_eq!(harness.inner.in_flight.max_total.load(Ordering::SeqCst), 64);
    // Tasks run in the order they are woken, so per-host admission order shows.
    let mut last_per_host = vec![None; HOSTS];
    for started in harness.started() {
        let (host, n) = started.split_once(".test/").unwrap();
        let host: usize = host[1..].parse().unwrap();
        let n: usize = n.parse().unwrap();
        assert!(
            last_per_host[host].is_none_or(|last| last < n),
            "{started} out of order"
        );
        last_per_host[host] = Some(n);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_queued_calls_complete_on_several_threads() {
    let mut harness = Harness::new(64, 5);
    let idle = harness.dispatcher.clone();
    run_load(&mut harness).await;
    idle.idle().await;
    assert_limits_kept(&harness);
}

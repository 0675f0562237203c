//! CI's quick run of scenario S9 (the dispatcher queue): small queues, every call checked to
//! reach the inner service in FIFO order per host, the counts checked.

use oktower_benches::dispatcher_queue::{QueueConfig, no_heap_meter, run};

#[test]
fn queued_calls_are_promoted_in_fifo_order_per_host() {
    for (queued, hosts) in [(200, 100), (1_000, 100), (300, 7)] {
        let config = QueueConfig {
            promotions: 150,
            hosts,
            ..QueueConfig::new(queued)
        };
        let report = run(&config, no_heap_meter).expect("the scenario runs");
        // Few hosts can hold fewer calls than the global limit.
        let running = config
            .max_requests
            .min(hosts as usize * config.max_requests_per_host);
        let made = queued + config.max_requests;
        assert_eq!(
            report.queued,
            made - running,
            "calls waiting once all were made"
        );
        assert_eq!(
            report.queued_after, report.queued,
            "the queue kept its length"
        );
        assert_eq!(report.running_after, running);
        // Every call made (the initial ones and one per promotion) reached the server once,
        // in FIFO order per host (checked inside `run`).
        assert_eq!(
            report.served,
            queued + config.max_requests + config.promotions
        );
    }
}

#[test]
fn promotion_follows_arrival_order_when_only_the_global_limit_binds() {
    // 100 hosts taking turns, 64 running: no host reaches 5 running, so each promotion
    // admits the oldest waiter overall.
    let config = QueueConfig {
        promotions: 100,
        ..QueueConfig::new(500)
    };
    let report = run(&config, no_heap_meter).expect("the scenario runs");
    assert!(report.global_fifo);
}

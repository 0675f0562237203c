//! CI's quick run of scenario S8 (cache hits through `oktower::Client`): every measured call
//! must be a fresh hit (checked inside `run`), each case must have run.

use std::time::Duration;

use oktower_benches::cache_hits::{HitsConfig, RAW_HYPER, run};

#[test]
fn cache_hits_quick_run_measures_every_case() {
    let config = HitsConfig {
        warm_up: Duration::from_millis(5),
        measure: Duration::from_millis(30),
        only: None,
    };
    let report = run(&config).expect("the scenario runs");
    let names: Vec<&str> = report.cases.iter().map(|case| case.name).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert_eq!(names[0], RAW_HYPER);
    assert!(report.cases.iter().all(|case| case.requests > 0));
    assert!(report.table().lines().count() == 6);
}

//! Scenario S9 driver: calls queued in oktower's `Dispatcher` across 100 hosts; memory per
//! queued call and the cost of a promotion at several queue lengths (see
//! `oktower_benches::dispatcher_queue`). Every heap allocation of this process is counted by
//! `stats_alloc`, which is why this is a binary of its own.
//!
//! ```sh
//! cargo run -p oktower-benches --release --bin dispatcher_queue            # 1k, 10k, 100k
//! cargo run -p oktower-benches --release --bin dispatcher_queue -- --quick # CI: small, checked
//! cargo run -p oktower-benches --release --bin dispatcher_queue -- --queued 100000 --promotions 2000
//! ```

use std::alloc::System;
use std::process::ExitCode;

use oktower_benches::dispatcher_queue::{
    HeapSnapshot, QueueConfig, QueueReport, report_table, run,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn heap() -> HeapSnapshot {
    let stats = GLOBAL.stats();
    let live = stats.bytes_allocated as i64 - stats.bytes_deallocated as i64
        + stats.bytes_reallocated as i64;
    HeapSnapshot {
        live_bytes: live,
        allocations: (stats.allocations + stats.reallocations) as u64,
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: dispatcher_queue [--quick] [--queued N]... [--promotions N] [--hosts N]\n\
         default: --queued 1000 --queued 10000 --queued 100000 --promotions 2000 --hosts 100"
    );
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let mut lengths = Vec::new();
    let mut promotions = None;
    let mut hosts = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = || args.next().and_then(|value| value.parse::<usize>().ok());
        match arg.as_str() {
            "--quick" => {
                lengths = vec![200, 1_000];
                promotions = Some(200);
            }
            "--queued" => match number() {
                Some(n) => lengths.push(n),
                None => return usage(),
            },
            "--promotions" => match number() {
                Some(n) => promotions = Some(n),
                None => return usage(),
            },
            "--hosts" => match number().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => hosts = Some(n),
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    if lengths.is_empty() {
        lengths = vec![1_000, 10_000, 100_000];
    }
    let mut reports: Vec<QueueReport> = Vec::new();
    for queued in lengths {
        let mut config = QueueConfig::new(queued);
        if let Some(promotions) = promotions {
            config.promotions = promotions;
        }
        if let Some(hosts) = hosts {
            config.hosts = hosts;
        }
        match run(&config, heap) {
            Ok(report) => {
                if report.queued_after != report.queued {
                    eprintln!("the queue did not hold {queued} calls: {report:?}");
                    return ExitCode::FAILURE;
                }
                reports.push(report);
            }
            Err(error) => {
                eprintln!("dispatcher_queue failed at {queued} queued calls: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    print!("{}", report_table(&reports));
    ExitCode::SUCCESS
}

//! Scenario S8 driver: cache hits through `oktower::Client` (memory store, disk store) next
//! to raw hyper's sequential keep-alive GET, in one run (see `oktower_benches::cache_hits`).
//!
//! ```sh
//! cargo run -p oktower-benches --release --bin cache_hits            # 1 s warm-up, 3 s per case
//! cargo run -p oktower-benches --release --bin cache_hits -- --quick # CI: about half a second
//! cargo run -p oktower-benches --release --bin cache_hits -- --seconds 10 --only memory # to profile
//! ```

use std::process::ExitCode;
use std::time::Duration;

use oktower_benches::cache_hits::{HitsConfig, run};

fn main() -> ExitCode {
    let mut config = HitsConfig::standard();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => {
                config = HitsConfig {
                    only: config.only,
                    ..HitsConfig::quick()
                }
            }
            "--only" => match args.next() {
                Some(name) => config.only = Some(name),
                None => return usage(),
            },
            "--seconds" => match args.next().and_then(|value| value.parse::<u64>().ok()) {
                Some(seconds) => config.measure = Duration::from_secs(seconds),
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    match run(&config) {
        Ok(report) => {
            print!("{}", report.table());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("cache_hits failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: cache_hits [--quick | --seconds N] [--only <part of a case name>]");
    ExitCode::FAILURE
}

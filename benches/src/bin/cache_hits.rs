//! Scenario S8 driver: cache hits through `oktower::Client` (memory store, disk store) next
//! to raw hyper's sequential keep-alive GET, in one run (see `oktower_benches::cache_hits`).
//!
//! ```sh
//! cargo run -p oktower-benches --release --bin cache_hits            # 1 s warm-up, 3 s per case
//! cargo run -p oktower-benches --release --bin cache_hits -- --quick # CI: about half a second
//! ```

use std::process::ExitCode;

use oktower_benches::cache_hits::{HitsConfig, run};

fn main() -> ExitCode {
    let config = match std::env::args().nth(1).as_deref() {
        None => HitsConfig::standard(),
        Some("--quick") => HitsConfig::quick(),
        Some(_) => {
            eprintln!("usage: cache_hits [--quick]");
            return ExitCode::FAILURE;
        }
    };
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

//! The side-by-side client benchmark driver (scenarios S1–S7): see `BENCHMARKS.md` and
//! `oktower_benches::compare`.
//!
//! ```sh
//! cargo run --release -p oktower-benches --bin compare -- --markdown
//! cargo run --release -p oktower-benches --bin compare -- --quick
//! cargo run --release -p oktower-benches --bin compare -- --scenario s1,s3 --client oktower,raw-hyper --rounds 3
//! ```

use clap::Parser;
use oktower_benches::BoxError;
use oktower_benches::compare::{Cli, Command, one, run, serve};

fn main() -> Result<(), BoxError> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Serve(options)) => serve(&options),
        Some(Command::One(options)) => {
            let outcome = one(&options)?;
            println!(
                "{} {} requests={} bytes={} wall_us={} cpu_us={}",
                options.client,
                options.scenario,
                outcome.requests,
                outcome.bytes,
                outcome.wall.as_micros(),
                outcome.cpu.as_micros()
            );
            Ok(())
        }
        None => {
            let exe = std::env::current_exe()?;
            let report = run(&cli.run, &exe)?;
            if cli.run.markdown {
                print!("{}", report.markdown());
            } else {
                print!("{}", report.plain());
            }
            Ok(())
        }
    }
}

//! The side-by-side client comparison (scenarios S1–S7): oktower's default stack, raw hyper
//! `client::conn`, hyper-util's legacy `Client` and reqwest against the same bare hyper server,
//! which runs in a separate process so that the client's CPU time (`getrusage`) is its own.
//!
//! Reproduce the `BENCHMARKS.md` table with
//! `cargo run --release -p oktower-benches --bin compare -- --markdown`; `--quick` runs a few
//! requests per scenario in one round (CI runs it through `benches/tests/compare_quick.rs`);
//! `benches/callgrind.sh` counts instructions per request with `compare serve` + `compare one`.
//!
//! To add a scenario (for example cache hits or dispatcher queuing), add a [`Scenario`] variant
//! with its transport, path, body mode, concurrency and request counts, a route in
//! [`server`] if it needs a new body, and a [`report`] target; the clients and the driver need
//! no change unless the scenario configures clients differently.

pub mod bodies;
pub mod body_reading;
pub mod clients;
pub mod cpu_time;
pub mod driver;
pub mod machine;
pub mod options;
pub mod report;
pub mod scenario;
pub mod server;
pub mod server_info;
pub mod server_process;
pub mod summary;
pub mod workload;

pub use clients::ClientKind;
pub use driver::{one, run, serve};
pub use options::{Cli, Command, OneOptions, RunOptions, ServeOptions};
pub use report::{Report, ScenarioReport};
pub use scenario::Scenario;

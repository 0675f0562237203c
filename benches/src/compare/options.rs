//! The driver's command line: `compare [run options]`, `compare serve`, `compare one`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::clients::ClientKind;
use super::scenario::Scenario;

/// Side-by-side client benchmark: oktower, raw hyper, hyper-util and reqwest against one local
/// server process.
#[derive(Debug, Parser)]
#[command(name = "compare", args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; without a subcommand, runs the comparison.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the comparison run.
    #[command(flatten)]
    pub run: RunOptions,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the server (prints its address line; used by the driver and `callgrind.sh`).
    Serve(ServeOptions),
    /// Runs one client on one scenario for N requests against a server started separately
    /// (for `valgrind --tool=callgrind`); prints the requests and bytes.
    One(OneOptions),
}

/// Options of a comparison run.
#[derive(Clone, Debug, Args)]
pub struct RunOptions {
    /// CI mode: a handful of requests per scenario, 1 round.
    #[arg(long)]
    pub quick: bool,
    /// Scenarios to run (default: all).
    #[arg(
        long = "scenario",
        value_enum,
        ignore_case = true,
        value_delimiter = ','
    )]
    pub scenarios: Vec<Scenario>,
    /// Clients to run (default: all four, and on S2 and S3 also oktower-connect).
    #[arg(long = "client", value_enum, value_delimiter = ',')]
    pub clients: Vec<ClientKind>,
    /// Measured requests per client per round (default: each scenario's own).
    #[arg(long)]
    pub requests: Option<usize>,
    /// Rounds (each round runs every client once, in rotating order); default 5, quick 1.
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Worker threads of the client's tokio multi-thread runtime.
    #[arg(long, default_value_t = 1)]
    pub worker_threads: usize,
    /// Worker threads of the server process's tokio runtime.
    #[arg(long, default_value_t = 1)]
    pub server_threads: usize,
    /// Prints the BENCHMARKS.md section instead of the plain table.
    #[arg(long)]
    pub markdown: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            quick: false,
            scenarios: Vec::new(),
            clients: Vec::new(),
            requests: None,
            rounds: None,
            worker_threads: 1,
            server_threads: 1,
            markdown: false,
        }
    }
}

impl RunOptions {
    /// The scenarios to run.
    pub fn scenarios(&self) -> Vec<Scenario> {
        if self.scenarios.is_empty() {
            Scenario::ALL.to_vec()
        } else {
            self.scenarios.clone()
        }
    }

    /// The clients to run on `scenario`: by default the four, and on S2 and S3 (the shapes of
    /// issue 3's `connect_stack` benchmark) also oktower's connection machinery alone, so that
    /// its ratio to raw hyper comes from the same interleaved rounds.
    pub fn clients(&self, scenario: Scenario) -> Vec<ClientKind> {
        if !self.clients.is_empty() {
            return self.clients.clone();
        }
        let mut clients = ClientKind::ALL.to_vec();
        if matches!(scenario, Scenario::S2 | Scenario::S3) {
            clients.push(ClientKind::OktowerConnect);
        }
        clients
    }

    /// Measured requests per client per round for `scenario`.
    pub fn requests(&self, scenario: Scenario) -> usize {
        match (self.requests, self.quick) {
            (Some(requests), _) => requests,
            (None, true) => scenario.quick_requests(),
            (None, false) => scenario.default_requests(),
        }
    }

    /// Rounds to run.
    pub fn rounds(&self) -> usize {
        self.rounds.unwrap_or(if self.quick { 1 } else { 5 }).max(1)
    }
}

/// Options of `compare serve`.
#[derive(Clone, Debug, Args)]
pub struct ServeOptions {
    /// Reads commands on stdin (`counts`) and exits when it closes; otherwise serves until
    /// killed.
    #[arg(long)]
    pub watch_stdin: bool,
    /// Worker threads of the server's tokio runtime.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

/// Options of `compare one`.
#[derive(Clone, Debug, Args)]
pub struct OneOptions {
    /// A file holding the server's address line (`compare serve > FILE`).
    #[arg(long)]
    pub server_info_file: PathBuf,
    /// The scenario.
    #[arg(long, value_enum, ignore_case = true)]
    pub scenario: Scenario,
    /// The client.
    #[arg(long, value_enum)]
    pub client: ClientKind,
    /// Measured requests (after the warm-up).
    #[arg(long)]
    pub requests: usize,
    /// Worker threads of the client's tokio runtime.
    #[arg(long, default_value_t = 1)]
    pub worker_threads: usize,
}

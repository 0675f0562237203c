//! The comparison's output: a plain table per scenario, or the Markdown section of
//! `BENCHMARKS.md` (settings, one table per scenario with ratios to raw hyper, targets met or
//! missed). CPU is reported whole (the targets' figure) and its user part alone: the kernel's
//! share (sockets, epoll, wake-ups) is about the same for every client, so the user part shows
//! what the client's own code costs.

use std::fmt::Write;

use super::clients::ClientKind;
use super::scenario::{Scenario, Unit};
use super::summary::ClientSummary;

/// One scenario's results.
#[derive(Clone, Debug)]
pub struct ScenarioReport {
    /// The scenario.
    pub scenario: Scenario,
    /// Measured requests per client per round.
    pub requests: usize,
    /// One summary per client, in the order run.
    pub clients: Vec<ClientSummary>,
}

impl ScenarioReport {
    /// The summary of `kind`, if it ran.
    pub fn client(&self, kind: ClientKind) -> Option<&ClientSummary> {
        self.clients.iter().find(|summary| summary.kind == kind)
    }

    /// `kind`'s CPU per request over raw hyper's.
    pub fn cpu_ratio(&self, kind: ClientKind) -> Option<f64> {
        self.ratio(kind, |summary| summary.cpu_us_per_request)
    }

    /// `kind`'s user CPU per request over raw hyper's: the part of the CPU ratio that is the
    /// client's own code.
    pub fn user_ratio(&self, kind: ClientKind) -> Option<f64> {
        self.ratio(kind, |summary| summary.user_us_per_request)
    }

    /// `kind`'s throughput over raw hyper's.
    pub fn throughput_ratio(&self, kind: ClientKind) -> Option<f64> {
        self.ratio(kind, |summary| summary.throughput)
    }

    /// `kind`'s `figure` over raw hyper's; `None` when either did not run or raw hyper's is
    /// zero (a round too short for the kernel's tick to have sampled any user time).
    fn ratio(&self, kind: ClientKind, figure: impl Fn(&ClientSummary) -> f64) -> Option<f64> {
        let reference = figure(self.client(ClientKind::RawHyper)?);
        if reference <= 0.0 {
            return None;
        }
        Some(figure(self.client(kind)?) / reference)
    }
}

/// A whole run.
#[derive(Clone, Debug)]
pub struct Report {
    /// Rounds per scenario.
    pub rounds: usize,
    /// Client runtime worker threads.
    pub worker_threads: usize,
    /// Server runtime worker threads.
    pub server_threads: usize,
    /// The scenarios, in the order run.
    pub scenarios: Vec<ScenarioReport>,
}

/// A target of the issue: oktower's figure relative to raw hyper's in the same run.
#[derive(Clone, Copy, Debug)]
enum Target {
    CpuAtMost(f64),
    ThroughputAtLeast(f64),
    OneConnection,
}

fn target(scenario: Scenario) -> Target {
    match scenario {
        Scenario::S1 | Scenario::S6 => Target::CpuAtMost(1.10),
        Scenario::S2 | Scenario::S3 => Target::CpuAtMost(1.15),
        Scenario::S4 | Scenario::S5 => Target::ThroughputAtLeast(0.97),
        Scenario::S7 => Target::OneConnection,
    }
}

impl Report {
    /// The plain table.
    pub fn plain(&self) -> String {
        let mut out = String::new();
        for scenario in &self.scenarios {
            let _ = writeln!(
                out,
                "{} — {} ({} requests × {} rounds)",
                scenario.scenario,
                scenario.scenario.description(),
                scenario.requests,
                self.rounds
            );
            let _ = writeln!(
                out,
                "  {:<15} {:>12} {:>12} {:>12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6}",
                "client",
                "throughput",
                "CPU µs/req",
                "user µs/req",
                "CPU/raw",
                "user/raw",
                "thr/raw",
                "p50",
                "p99",
                "conns"
            );
            for client in &scenario.clients {
                let _ = writeln!(
                    out,
                    "  {:<15} {:>12} {:>12.2} {:>12.2} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6}",
                    client.kind.name(),
                    throughput_text(scenario.scenario, client.throughput),
                    client.cpu_us_per_request,
                    client.user_us_per_request,
                    ratio_text(scenario.cpu_ratio(client.kind)),
                    ratio_text(scenario.user_ratio(client.kind)),
                    ratio_text(scenario.throughput_ratio(client.kind)),
                    micros_text(client.p50),
                    micros_text(client.p99),
                    client.connections
                );
            }
        }
        out
    }

    /// The Markdown section for `BENCHMARKS.md`.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Run on {}: {}; client runtime: tokio multi-thread, {} worker thread(s); server \
             process: {} worker thread(s); median of {} round(s).\n",
            super::machine::today(),
            super::machine::description(),
            self.worker_threads,
            self.server_threads,
            self.rounds
        );
        let _ = writeln!(
            out,
            "| scenario | client | throughput | CPU µs/request | of which user | CPU vs raw hyper | user vs raw hyper | throughput vs raw hyper | p50 | p99 | connections |"
        );
        let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|");
        for scenario in &self.scenarios {
            for client in &scenario.clients {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {:.2} | {:.2} | {} | {} | {} | {} | {} | {} |",
                    scenario.scenario,
                    client.kind.name(),
                    throughput_text(scenario.scenario, client.throughput),
                    client.cpu_us_per_request,
                    client.user_us_per_request,
                    ratio_text(scenario.cpu_ratio(client.kind)),
                    ratio_text(scenario.user_ratio(client.kind)),
                    ratio_text(scenario.throughput_ratio(client.kind)),
                    micros_text(client.p50),
                    micros_text(client.p99),
                    client.connections
                );
            }
        }
        let _ = writeln!(
            out,
            "\nTargets (oktower against raw hyper in the same run):\n"
        );
        let _ = writeln!(out, "| scenario | target | measured | |");
        let _ = writeln!(out, "|---|---|---|---|");
        for scenario in &self.scenarios {
            let Some(oktower) = scenario.client(ClientKind::Oktower) else {
                continue;
            };
            let (goal, measured, met) = match target(scenario.scenario) {
                Target::CpuAtMost(limit) => {
                    let ratio = scenario.cpu_ratio(ClientKind::Oktower);
                    (
                        format!("CPU/request ≤ {limit:.2}×"),
                        target_ratio_text(ratio),
                        ratio.map(|ratio| ratio <= limit),
                    )
                }
                Target::ThroughputAtLeast(limit) => {
                    let ratio = scenario.throughput_ratio(ClientKind::Oktower);
                    (
                        format!("throughput ≥ {limit:.2}×"),
                        target_ratio_text(ratio),
                        ratio.map(|ratio| ratio >= limit),
                    )
                }
                Target::OneConnection => (
                    "opens 1 connection".to_owned(),
                    format!("{} connection(s)", oktower.connections),
                    Some(oktower.connections == 1),
                ),
            };
            let verdict = match met {
                Some(true) => "met",
                Some(false) => "missed",
                None => "n/a",
            };
            let _ = writeln!(
                out,
                "| {} | {goal} | {measured} | {verdict} |",
                scenario.scenario
            );
        }
        // Issue 3: the connection machinery alone, on S2's and S3's shapes.
        for scenario in &self.scenarios {
            let Some(ratio) = scenario.cpu_ratio(ClientKind::OktowerConnect) else {
                continue;
            };
            let verdict = if ratio <= CONNECT_STACK_CPU_LIMIT {
                "met"
            } else {
                "missed"
            };
            let _ = writeln!(
                out,
                "| {}, `oktower-connect` (issue 3) | CPU/request ≤ {CONNECT_STACK_CPU_LIMIT:.2}× | {} | {verdict} |",
                scenario.scenario,
                target_ratio_text(Some(ratio))
            );
        }
        out
    }
}

/// Issue 3's limit for the connection machinery alone (`ConnectLayer` over `CallServer`):
/// at most 10 % more client CPU per request than raw hyper.
const CONNECT_STACK_CPU_LIMIT: f64 = 1.10;

/// A ratio set against a target: three decimals, so that a ratio just short of it does not
/// read as equal to it.
fn target_ratio_text(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "–".to_owned(), |ratio| format!("{ratio:.3}×"))
}

fn throughput_text(scenario: Scenario, value: f64) -> String {
    match scenario.unit() {
        Unit::RequestsPerSecond => format!("{value:.0} req/s"),
        Unit::MegabytesPerSecond => format!("{value:.0} MB/s"),
    }
}

fn ratio_text(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "–".to_owned(), |ratio| format!("{ratio:.2}×"))
}

fn micros_text(value: Option<std::time::Duration>) -> String {
    value.map_or_else(
        || "–".to_owned(),
        |d| format!("{:.1} µs", d.as_secs_f64() * 1e6),
    )
}

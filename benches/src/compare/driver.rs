//! The comparison run: start the server process, then for each scenario run every client once
//! per round, in an order that rotates from round to round, each round on a freshly built
//! client; ask the server how many connections each round opened; summarize.
//! Also `compare one` (one client, one scenario, for callgrind) and `compare serve`.

use std::collections::BTreeMap;
use std::path::Path;

use super::clients::ClientKind;
use super::options::{OneOptions, RunOptions, ServeOptions};
use super::report::{Report, ScenarioReport};
use super::server_info::{INFO_PREFIX, ServerInfo};
use super::server_process::ServerProcess;
use super::summary::ClientSummary;
use super::workload::{RoundOutcome, run_round};
use crate::BoxError;

/// The client's runtime: tokio multi-thread with `worker_threads` workers (the same for all
/// four clients).
pub fn client_runtime(worker_threads: usize) -> Result<tokio::runtime::Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads.max(1))
        .enable_all()
        .build()?)
}

/// Runs the comparison against a server started from `server_exe` (the `compare` binary).
pub fn run(options: &RunOptions, server_exe: &Path) -> Result<Report, BoxError> {
    let mut server = ServerProcess::spawn(server_exe, options.server_threads)?;
    let info = server.info().clone();
    let runtime = client_runtime(options.worker_threads)?;
    let rounds = options.rounds();
    let mut scenarios = Vec::new();
    for scenario in options.scenarios() {
        let clients = options.clients(scenario);
        let requests = options.requests(scenario);
        let mut outcomes: BTreeMap<ClientKind, Vec<RoundOutcome>> = BTreeMap::new();
        for round in 0..rounds {
            for offset in 0..clients.len() {
                let kind = clients[(round + offset) % clients.len()];
                let before = server.counts()?;
                let mut outcome = runtime
                    .block_on(run_round(kind, scenario, &info, requests))
                    .map_err(|error| format!("{scenario} with {kind}: {error}"))?;
                outcome.connections = server.counts()?.since(before).total();
                outcomes.entry(kind).or_default().push(outcome);
            }
        }
        let summaries = clients
            .iter()
            .map(|&kind| {
                let rounds = outcomes.remove(&kind).unwrap_or_default();
                ClientSummary::new(kind, scenario, rounds)
            })
            .collect();
        scenarios.push(ScenarioReport {
            scenario,
            requests,
            clients: summaries,
        });
    }
    Ok(Report {
        rounds,
        worker_threads: options.worker_threads,
        server_threads: options.server_threads,
        scenarios,
    })
}

/// `compare one`: one round of one client on one scenario against a running server; returns
/// the outcome (the caller prints it).
pub fn one(options: &OneOptions) -> Result<RoundOutcome, BoxError> {
    let text = std::fs::read_to_string(&options.server_info_file)?;
    let line = text
        .lines()
        .find(|line| line.starts_with(INFO_PREFIX))
        .ok_or("no server address line in the file")?;
    let info = ServerInfo::parse(line)?;
    let runtime = client_runtime(options.worker_threads)?;
    runtime.block_on(run_round(
        options.client,
        options.scenario,
        &info,
        options.requests,
    ))
}

/// `compare serve`: runs the server on its own runtime until stdin closes or it is killed.
pub fn serve(options: &ServeOptions) -> Result<(), BoxError> {
    let runtime = client_runtime(options.threads)?;
    runtime.block_on(super::server::serve(options.watch_stdin))
}

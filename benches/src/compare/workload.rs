//! One round of one scenario for one client: build the client, warm it up (untimed), then send
//! the round's requests from the scenario's number of tasks and measure wall time and the
//! process's CPU time (user and system).
//!
//! Warm-up: task 0 sends one request alone (in S7 to `h0.test`, so that the first connection
//! exists before the other names are asked for: that is what lets oktower coalesce), then every
//! task sends one request at once (task `i` to host `i % 8` in S7), so each client has opened
//! the connections it keeps before the timing starts. The measured requests follow, numbered
//! from a shared counter (S7 spreads them over the 8 names by number).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::clients::{BenchClient, ClientKind, Worker};
use super::cpu_time::process_cpu_time;
use super::scenario::Scenario;
use super::server_info::ServerInfo;
use crate::BoxError;

/// What one round measured.
#[derive(Clone, Debug, Default)]
pub struct RoundOutcome {
    /// Requests measured (warm-up excluded).
    pub requests: usize,
    /// (Decoded) body bytes read by the measured requests.
    pub bytes: u64,
    /// Wall time of the measured requests.
    pub wall: Duration,
    /// Client process CPU time (user + system) during the measured requests.
    pub cpu: Duration,
    /// The user part of [`cpu`](Self::cpu): the client's own code, without the kernel's.
    pub user_cpu: Duration,
    /// Per-request latencies, when the scenario records them (S1), in completion order.
    pub latencies: Vec<Duration>,
    /// Connections the server accepted during the whole round (warm-up included); the driver
    /// fills it in from the server's counts.
    pub connections: u64,
}

/// Runs one round: `requests` measured requests of `scenario` with a fresh `kind` client.
pub async fn run_round(
    kind: ClientKind,
    scenario: Scenario,
    server: &ServerInfo,
    requests: usize,
) -> Result<RoundOutcome, BoxError> {
    let client = BenchClient::build(kind, scenario, server).await?;
    let tasks = scenario.concurrency();
    let mut first = client.worker().await?;
    first.get(0).await?;
    let mut workers = vec![first];
    for _ in 1..tasks {
        workers.push(client.worker().await?);
    }

    // Every task warms up, then meets the others at `ready`; the clocks start before `go` lets
    // them all loose, so the wall time never misses requests done before the driver woke up.
    let ready = Arc::new(Barrier::new(tasks + 1));
    let go = Arc::new(Barrier::new(tasks + 1));
    let next = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for (task, worker) in workers.into_iter().enumerate() {
        set.spawn(task_loop(
            worker,
            task,
            scenario,
            requests,
            [ready.clone(), go.clone()],
            next.clone(),
        ));
    }
    ready.wait().await;
    let cpu_before = process_cpu_time()?;
    let started = Instant::now();
    go.wait().await;
    let mut outcome = RoundOutcome {
        requests,
        ..RoundOutcome::default()
    };
    while let Some(joined) = set.join_next().await {
        let (bytes, latencies) = joined??;
        outcome.bytes += bytes;
        outcome.latencies.extend(latencies);
    }
    outcome.wall = started.elapsed();
    let used = process_cpu_time()?.since(cpu_before);
    outcome.cpu = used.total();
    outcome.user_cpu = used.user;
    drop(client);
    Ok(outcome)
}

/// One task: a warm-up request, the `ready` and `go` barriers, then requests until the counter reaches
/// `requests`. Returns the measured body bytes and latencies.
async fn task_loop(
    mut worker: Worker,
    task: usize,
    scenario: Scenario,
    requests: usize,
    [ready, go]: [Arc<Barrier>; 2],
    next: Arc<AtomicUsize>,
) -> Result<(u64, Vec<Duration>), BoxError> {
    worker.get(task).await?;
    ready.wait().await;
    go.wait().await;
    let mut bytes = 0u64;
    let mut latencies = Vec::new();
    if scenario.records_latency() {
        latencies.reserve(requests);
    }
    loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= requests {
            break;
        }
        let sent = Instant::now();
        bytes += worker.get(index).await?;
        if scenario.records_latency() {
            latencies.push(sent.elapsed());
        }
    }
    Ok((bytes, latencies))
}

//! Per-client summaries of a scenario's rounds: medians over rounds of throughput, client CPU
//! per request and (S1) latency percentiles, plus ratios to raw hyper.

use std::time::Duration;

use super::clients::ClientKind;
use super::scenario::{Scenario, Unit};
use super::workload::RoundOutcome;

/// One client's figures in one scenario.
#[derive(Clone, Debug)]
pub struct ClientSummary {
    /// The client.
    pub kind: ClientKind,
    /// Median throughput over rounds, in the scenario's [`Unit`].
    pub throughput: f64,
    /// Median client CPU time (user + system) per request over rounds, in microseconds.
    pub cpu_us_per_request: f64,
    /// User CPU time per request, in microseconds: the client's own code, without the
    /// kernel's work for its sockets. All rounds together (their user time over their
    /// requests), not a median: the kernel splits a process's CPU time into user and system
    /// by sampling at its clock tick (250 Hz on the build machine), so a round of a tenth of
    /// a second (S6) holds only a few dozen samples, and five rounds pooled five times more.
    pub user_us_per_request: f64,
    /// Median p50 latency over rounds (S1 only).
    pub p50: Option<Duration>,
    /// Median p99 latency over rounds (S1 only).
    pub p99: Option<Duration>,
    /// Connections the server accepted per round: the median over rounds.
    pub connections: u64,
    /// Body bytes read per round (the first round's), to check every client got its bytes.
    pub bytes: u64,
    /// The rounds themselves.
    pub rounds: Vec<RoundOutcome>,
}

impl ClientSummary {
    /// Summarizes `rounds` of `kind` in `scenario`.
    pub fn new(kind: ClientKind, scenario: Scenario, rounds: Vec<RoundOutcome>) -> ClientSummary {
        let throughput = median(rounds.iter().map(|round| throughput(scenario, round)));
        let cpu_us_per_request = median(
            rounds
                .iter()
                .map(|round| round.cpu.as_secs_f64() * 1e6 / round.requests.max(1) as f64),
        );
        // Pooled over the rounds rather than a median of them: see `user_us_per_request`.
        let user_us_per_request = rounds
            .iter()
            .map(|round| round.user_cpu.as_secs_f64() * 1e6)
            .sum::<f64>()
            / rounds
                .iter()
                .map(|round| round.requests)
                .sum::<usize>()
                .max(1) as f64;
        let (p50, p99) = if scenario.records_latency() {
            let percentiles: Vec<(Duration, Duration)> = rounds
                .iter()
                .map(|round| {
                    (
                        percentile(&round.latencies, 0.50),
                        percentile(&round.latencies, 0.99),
                    )
                })
                .collect();
            (
                Some(median_duration(percentiles.iter().map(|p| p.0))),
                Some(median_duration(percentiles.iter().map(|p| p.1))),
            )
        } else {
            (None, None)
        };
        let connections = median(rounds.iter().map(|round| round.connections as f64)) as u64;
        ClientSummary {
            kind,
            throughput,
            cpu_us_per_request,
            user_us_per_request,
            p50,
            p99,
            connections,
            bytes: rounds.first().map_or(0, |round| round.bytes),
            rounds,
        }
    }
}

/// A round's throughput in the scenario's unit.
pub fn throughput(scenario: Scenario, round: &RoundOutcome) -> f64 {
    let seconds = round.wall.as_secs_f64().max(1e-9);
    match scenario.unit() {
        Unit::RequestsPerSecond => round.requests as f64 / seconds,
        Unit::MegabytesPerSecond => round.bytes as f64 / 1e6 / seconds,
    }
}

/// The median of `values` (the mean of the middle two for an even count; 0 when empty).
pub fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if !values.len().is_multiple_of(2) {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn median_duration(values: impl Iterator<Item = Duration>) -> Duration {
    Duration::from_secs_f64(median(values.map(|d| d.as_secs_f64())))
}

/// The `quantile` (0..=1) of `latencies` by nearest rank; zero when empty.
pub fn percentile(latencies: &[Duration], quantile: f64) -> Duration {
    if latencies.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = latencies.to_vec();
    sorted.sort_unstable();
    let rank = ((quantile * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_percentiles() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median([4.0, 1.0, 2.0, 3.0].into_iter()), 2.5);
        let latencies: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(percentile(&latencies, 0.5), Duration::from_micros(50));
        assert_eq!(percentile(&latencies, 0.99), Duration::from_micros(99));
    }
}

//! The comparison driver's quick mode (what CI runs): every client completes every scenario
//! against a real server process and reads every byte (oktower's connection machinery alone
//! too, on S2 and S3), and in S7 oktower coalesces the 8 host
//! names onto 1 connection while raw hyper, hyper-util and reqwest open 8.

use std::path::Path;

use oktower_benches::compare::bodies::{JSON_BODY_LEN, LARGE_BODY_LEN, SMALL_BODY};
use oktower_benches::compare::{ClientKind, RunOptions, Scenario, run};

#[test]
fn quick_mode_runs_every_scenario_with_every_client() {
    let options = RunOptions {
        quick: true,
        ..RunOptions::default()
    };
    let report = run(&options, Path::new(env!("CARGO_BIN_EXE_compare"))).expect("the quick run");
    assert_eq!(report.scenarios.len(), Scenario::ALL.len());
    for scenario in &report.scenarios {
        let body_len = match scenario.scenario {
            Scenario::S4 => LARGE_BODY_LEN,
            Scenario::S5 => JSON_BODY_LEN,
            _ => SMALL_BODY.len(),
        } as u64;
        let expected_clients = options.clients(scenario.scenario);
        assert_eq!(
            scenario
                .clients
                .iter()
                .map(|client| client.kind)
                .collect::<Vec<_>>(),
            expected_clients
        );
        let with_connect = matches!(scenario.scenario, Scenario::S2 | Scenario::S3);
        assert_eq!(
            expected_clients.contains(&ClientKind::OktowerConnect),
            with_connect,
            "{}: the connection machinery alone runs on S2 and S3",
            scenario.scenario
        );
        for client in &scenario.clients {
            assert_eq!(
                client.bytes,
                body_len * scenario.requests as u64,
                "{} with {}: body bytes read",
                scenario.scenario,
                client.kind
            );
            assert!(client.cpu_us_per_request >= 0.0 && client.throughput > 0.0);
            let most_cpu = client
                .rounds
                .iter()
                .map(|round| round.cpu.as_secs_f64() * 1e6 / round.requests.max(1) as f64)
                .fold(0.0, f64::max);
            assert!(
                client.user_us_per_request >= 0.0 && client.user_us_per_request <= most_cpu + 1e-9,
                "{} with {}: user time is part of the CPU time",
                scenario.scenario,
                client.kind
            );
        }
    }

    let s7 = report
        .scenarios
        .iter()
        .find(|scenario| scenario.scenario == Scenario::S7)
        .expect("S7 ran");
    for client in &s7.clients {
        let expected = if client.kind == ClientKind::Oktower {
            1
        } else {
            8
        };
        assert_eq!(
            client.connections, expected,
            "S7 connections opened by {}",
            client.kind
        );
    }
    let s6 = report
        .scenarios
        .iter()
        .find(|scenario| scenario.scenario == Scenario::S6)
        .expect("S6 ran");
    for client in &s6.clients {
        // Every request, the two warm-up requests included, had its own connection.
        assert_eq!(
            client.connections,
            s6.requests as u64 + 2,
            "S6 connections opened by {}",
            client.kind
        );
    }
    let markdown = report.markdown();
    assert!(markdown.contains("| S7 | opens 1 connection | 1 connection(s) | met |"));
    assert!(
        markdown
            .contains("| CPU µs/request | of which user | CPU vs raw hyper | user vs raw hyper |")
    );
}

#[test]
fn the_connect_stack_alone_runs_beside_raw_hyper() {
    // `--client oktower-connect` (ConnectLayer over CallServer), as benches/callgrind.sh runs
    // it; S5 is left out: the connect stack does not decode gzip.
    let scenarios = vec![
        Scenario::S1,
        Scenario::S2,
        Scenario::S3,
        Scenario::S4,
        Scenario::S6,
        Scenario::S7,
    ];
    let options = RunOptions {
        quick: true,
        scenarios: scenarios.clone(),
        clients: vec![ClientKind::OktowerConnect, ClientKind::RawHyper],
        ..RunOptions::default()
    };
    let report = run(&options, Path::new(env!("CARGO_BIN_EXE_compare"))).expect("the quick run");
    assert_eq!(report.scenarios.len(), scenarios.len());
    for scenario in &report.scenarios {
        let body_len = match scenario.scenario {
            Scenario::S4 => LARGE_BODY_LEN,
            _ => SMALL_BODY.len(),
        } as u64;
        let connect = scenario
            .client(ClientKind::OktowerConnect)
            .expect("the connect stack ran");
        assert_eq!(
            connect.bytes,
            body_len * scenario.requests as u64,
            "{}: body bytes read",
            scenario.scenario
        );
        let expected_connections = match scenario.scenario {
            Scenario::S2 => 64,
            Scenario::S6 => scenario.requests as u64 + 2,
            // S7: the 8 host names coalesce onto one connection.
            _ => 1,
        };
        assert_eq!(
            connect.connections, expected_connections,
            "{}: connections",
            scenario.scenario
        );
    }
}

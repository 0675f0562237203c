//! The README's two commands and `.ci/run` stay in step.

use std::path::PathBuf;

fn workspace_file(name: &str) -> String {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
}

/// The commands in the README's first code block, without comments.
fn readme_commands() -> Vec<String> {
    let readme = workspace_file("README.md");
    let block = readme
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README has a sh code block");
    block
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect()
}

#[test]
fn readme_opens_with_the_run_and_test_commands() {
    let readme = workspace_file("README.md");
    let first_block = readme.find("```").expect("a code block");
    let intro = &readme[..first_block];
    assert!(
        intro.starts_with("# oktower\n"),
        "the README starts with the project name"
    );
    assert!(
        intro.contains("HTTP client"),
        "the intro says what oktower is"
    );
    let commands = readme_commands();
    assert_eq!(commands.len(), 2, "exactly two commands: {commands:?}");
    assert!(commands[0].starts_with("cargo run "), "{}", commands[0]);
    assert!(commands[1].starts_with("cargo test "), "{}", commands[1]);
}

#[test]
fn ci_runs_the_readme_commands() {
    let ci = workspace_file(".ci/run");
    assert!(ci.starts_with("#!/usr/bin/env bash"));
    assert!(ci.contains("set -euo pipefail"));
    let ci_lines: Vec<&str> = ci.lines().map(str::trim).collect();
    for command in readme_commands() {
        assert!(
            ci_lines.contains(&command.as_str()),
            "`.ci/run` does not run the README's `{command}`"
        );
    }
    for required in [
        "cargo fmt --all -- --check",
        "cargo clippy --workspace --all-targets --all-features -- -D warnings",
        "cargo deny check bans licenses sources",
        "cargo install --locked cargo-deny",
    ] {
        assert!(ci_lines.contains(&required), "`.ci/run` lacks `{required}`");
    }
}

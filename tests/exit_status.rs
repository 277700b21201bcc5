//! One exit-status table for every command (`ripple --help`, the README, `src/cli/mod.rs`):
//! 0 nothing failed, 1 a failure was found, 2 the input was bad. Each command is held to it
//! here, on shipped scenarios.

use std::path::Path;
use std::process::Command;

fn status(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ripple-exit-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A swarm seed of the race that fails (found by sweeping, so the test does not pin one).
fn failing_race_seed() -> String {
    let (code, out) = status(&[
        "sweep",
        "scenarios/race.toml",
        "--seeds",
        "0..200",
        "--swarm",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(1), "{out}");
    let line = out
        .lines()
        .find(|l| l.contains("\"verdict\":\"fail\""))
        .expect("a failing seed");
    let json: serde_json::Value = serde_json::from_str(line).unwrap();
    json["seed"].to_string()
}

#[test]
fn run_and_sweep_exit_0_on_a_pass_1_on_a_violation_2_on_bad_input() {
    assert_eq!(status(&["run", "scenarios/order_payment.toml"]).0, Some(0));
    let seed = failing_race_seed();
    let (code, out) = status(&["run", "scenarios/race.toml", "--seed", &seed, "--swarm"]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        status(&["sweep", "scenarios/order_payment.toml", "--seeds", "0..20"]).0,
        Some(0)
    );
    assert_eq!(status(&["run", "scenarios/missing.toml"]).0, Some(2));
    assert_eq!(
        status(&["sweep", "scenarios/race.toml", "--seeds", "9..1"]).0,
        Some(2)
    );
}

#[test]
fn shrink_exits_0_when_the_seed_passes_1_when_it_wrote_a_failure_2_on_bad_input() {
    let dir = scratch("shrink");
    let out_file = dir.join("min.toml");
    let out_arg = out_file.to_str().unwrap();
    let (code, out) = status(&[
        "shrink",
        "scenarios/order_payment.toml",
        "--seed",
        "42",
        "--out",
        out_arg,
    ]);
    assert_eq!(code, Some(0), "order_payment passes: {out}");
    assert!(!out_file.exists(), "nothing to shrink, nothing written");
    let seed = failing_race_seed();
    let (code, out) = status(&[
        "shrink",
        "scenarios/race.toml",
        "--seed",
        &seed,
        "--swarm",
        "--out",
        out_arg,
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out_file.exists(), "{out}");
    let (code, _) = status(&["shrink", "scenarios/race.toml", "--seed", "x"]);
    assert_eq!(code, Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn check_and_corpus_check_follow_the_table() {
    let dir = scratch("check");
    let out = dir.to_str().unwrap();
    let (code, text) = status(&["check", "scenarios/two_tenants.toml", "--out", out]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = status(&["check", "scenarios/race.toml", "--out", out]);
    assert_eq!(
        code,
        Some(1),
        "the race is order dependent under faults: {text}"
    );
    assert_eq!(status(&["check", "scenarios/missing.toml"]).0, Some(2));
    assert_eq!(status(&["corpus", "check"]).0, Some(0));
    assert_eq!(status(&["corpus", "check", "no/such/dir"]).0, Some(2));
    assert!(Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds").is_dir());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn diff_exits_0_when_identical_1_when_the_runs_part_2_on_bad_input() {
    let same = ["diff", "scenarios/race.toml", "--seed", "0", "--seed", "0"];
    assert_eq!(status(&same).0, Some(0));
    let (code, out) = status(&["diff", "scenarios/race.toml", "--seed", "0", "--seed", "1"]);
    assert_eq!(code, Some(1), "{out}");
    let (code, out) = status(&["diff", "scenarios/race.toml", "scenarios/race.toml"]);
    assert_eq!(code, Some(2), "a scenario is not a trace: {out}");
}

#[test]
fn help_prints_the_table() {
    let (code, text) = status(&["--help"]);
    assert_eq!(code, Some(0));
    for line in [
        "Exit status, for every command:",
        "  0  nothing failed",
        "  1  a failure was found",
        "  2  the input was bad",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
}

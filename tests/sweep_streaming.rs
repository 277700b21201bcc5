//! Sweeps at any scale, through the binary (issue 19): seeds streamed one by one from a
//! range or a master seed, under a count, a time budget, `--until-fail` or Ctrl-C, with the
//! same output whatever the thread count.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn ripple(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CI", "true")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The per-seed JSON lines and the summary line of a `--format json` sweep.
fn lines(stdout: &str) -> (Vec<Value>, Value) {
    let mut all: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary = all.pop().expect("a summary line");
    assert_eq!(summary["summary"], true, "{summary}");
    (all, summary)
}

fn seeds_of(lines: &[Value]) -> Vec<u64> {
    lines.iter().map(|l| l["seed"].as_u64().unwrap()).collect()
}

#[test]
fn random_seeds_come_from_a_printed_master_seed_that_reproduces_them() {
    let args = |jobs: &'static str| {
        vec![
            "sweep",
            "scenarios/race.toml",
            "--seeds",
            "random",
            "--master-seed",
            "7",
            "--count",
            "30",
            "--swarm",
            "--format",
            "json",
            "--jobs",
            jobs,
        ]
    };
    let (code, one, err) = ripple(&args("1"));
    assert!(matches!(code, Some(0 | 1)), "{err}");
    assert!(err.contains("master seed 7"), "{err}");
    let (per_seed, summary) = lines(&one);
    assert_eq!(per_seed.len(), 30);
    assert_eq!(summary["total"], 30);
    assert_eq!(summary["master_seed"], 7);
    let seeds = seeds_of(&per_seed);
    // Fresh seeds, not 0..30.
    assert!(seeds.iter().any(|s| *s >= 30), "{seeds:?}");
    let positions: Vec<u64> = per_seed
        .iter()
        .map(|l| l["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions, (0..30).collect::<Vec<_>>());
    for l in &per_seed {
        assert_eq!(l["swarm"], true);
        assert_eq!(l["signature"].is_null(), l["verdict"] == "pass", "{l}");
    }
    // The same master seed, on two threads: the same lines in the same order (the summary
    // differs only in its timing and job count).
    let (_, two, _) = ripple(&args("2"));
    let (per_seed_two, _) = lines(&two);
    assert_eq!(per_seed_two, per_seed);
    // Another master seed draws other seeds.
    let (_, other, _) = ripple(&[
        "sweep",
        "scenarios/race.toml",
        "--seeds",
        "random",
        "--master-seed",
        "8",
        "--count",
        "30",
        "--format",
        "json",
    ]);
    assert_ne!(seeds_of(&lines(&other).0), seeds);
}

#[test]
fn a_random_sweep_prints_its_master_seed_and_how_to_run_it_again() {
    let (code, out, err) = ripple(&[
        "sweep",
        "scenarios/order_payment.toml",
        "--seeds",
        "random",
        "--count",
        "5",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let master = err
        .split("master seed ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .expect("the master seed on stderr");
    assert!(
        out.contains(&format!(
            "ripple sweep scenarios/order_payment.toml --seeds random --master-seed {master} --count 5"
        )),
        "{out}"
    );
}

#[test]
fn random_seeds_without_a_budget_or_master_seed_with_a_range_are_bad_input() {
    let (code, _, err) = ripple(&["sweep", "scenarios/race.toml", "--seeds", "random"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--count") && err.contains("--for"), "{err}");
    let (code, _, err) = ripple(&[
        "sweep",
        "scenarios/race.toml",
        "--seeds",
        "0..10",
        "--master-seed",
        "3",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--seeds random"), "{err}");
    let (code, _, err) = ripple(&[
        "sweep",
        "scenarios/race.toml",
        "--seeds",
        "random",
        "--for",
        "soon",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--for"), "{err}");
}

#[test]
fn until_fail_stops_at_the_first_failing_seed_in_seed_order_whatever_the_threads() {
    let run = |jobs: &str| {
        let (code, out, err) = ripple(&[
            "sweep",
            "scenarios/race.toml",
            "--seeds",
            "0..18446744073709551615",
            "--swarm",
            "--until-fail",
            "--format",
            "json",
            "--jobs",
            jobs,
        ]);
        assert_eq!(code, Some(1), "{err}");
        lines(&out)
    };
    let (one, summary) = run("1");
    let (last, before) = one.split_last().unwrap();
    assert_eq!(last["verdict"], "fail");
    assert!(before.iter().all(|l| l["verdict"] == "pass"));
    assert_eq!(seeds_of(&one), (0..one.len() as u64).collect::<Vec<_>>());
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["stopped"], "until-fail");
    let (two, _) = run("2");
    assert_eq!(two, one);
}

#[test]
fn the_widest_range_streams_under_a_count_or_a_time_budget() {
    let (code, out, err) = ripple(&[
        "sweep",
        "scenarios/order_payment.toml",
        "--seeds",
        "0..18446744073709551615",
        "--count",
        "40",
        "--format",
        "json",
        "--jobs",
        "2",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (per_seed, summary) = lines(&out);
    assert_eq!(seeds_of(&per_seed), (0..40).collect::<Vec<_>>());
    assert_eq!(summary["total"], 40);
    assert!(summary.get("stopped").is_none(), "{summary}");

    // Not a timed assertion: an endless range can only end by its budget.
    let (code, out, err) = ripple(&[
        "sweep",
        "scenarios/order_payment.toml",
        "--seeds",
        "0..18446744073709551615",
        "--for",
        "300ms",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("stopped early (time budget)"), "{out}");
}

#[test]
fn shards_of_a_random_sweep_run_its_seeds_between_them() {
    let shard = |s: &str| {
        let (_, out, _) = ripple(&[
            "sweep",
            "scenarios/order_payment.toml",
            "--seeds",
            "random",
            "--master-seed",
            "11",
            "--count",
            "25",
            "--shard",
            s,
            "--format",
            "json",
        ]);
        lines(&out).0
    };
    let (_, whole, _) = ripple(&[
        "sweep",
        "scenarios/order_payment.toml",
        "--seeds",
        "random",
        "--master-seed",
        "11",
        "--count",
        "25",
        "--format",
        "json",
    ]);
    let whole = lines(&whole).0;
    let mut merged: Vec<Value> = shard("0/3")
        .into_iter()
        .chain(shard("1/3"))
        .chain(shard("2/3"))
        .collect();
    merged.sort_by_key(|l| l["position"].as_u64());
    assert_eq!(merged, whole);
}

#[test]
fn ctrl_c_prints_the_summary_of_the_seeds_that_ran() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args([
            "sweep",
            "scenarios/order_payment.toml",
            "--seeds",
            "0..18446744073709551615",
            "--format",
            "json",
            "--jobs",
            "2",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CI", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    // Wait for the sweep to be under way (three seeds reported), then interrupt it.
    for _ in 0..3 {
        stdout.read_line(&mut text).unwrap();
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    text.push_str(&rest);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "every seed that ran passed");
    let (per_seed, summary) = lines(&text);
    assert!(per_seed.len() >= 3);
    assert_eq!(summary["total"], per_seed.len());
    assert_eq!(summary["stopped"], "interrupted");
    assert_eq!(
        seeds_of(&per_seed),
        (0..per_seed.len() as u64).collect::<Vec<_>>()
    );
}

#[test]
fn completions_are_printed_for_each_shell_and_know_the_new_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = ripple(&["completions", shell]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.contains("merge") && out.contains("until-fail"),
            "{shell}"
        );
    }
    let (code, _, _) = ripple(&["completions", "tcsh"]);
    assert_eq!(code, Some(2), "an unknown shell is bad input");
}

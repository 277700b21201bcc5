//! Coverage of a sweep and shards merged back into it, through the binary (issue 19):
//! what a sweep reached beside what its scenario declares, and `ripple merge` of two shards
//! (one told by `--shard`, one by a CI matrix's environment) equal to the one sweep.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ripple(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ripple"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CI", "true")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("RIPPLE_SHARD_INDEX")
        .env_remove("RIPPLE_SHARD_COUNT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ripple-merge-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn summary(stdout: &str) -> Value {
    serde_json::from_str(stdout.lines().last().expect("a summary line")).unwrap()
}

#[test]
fn a_sweep_says_what_it_reached_and_what_it_never_did_first() {
    let (code, out, err) = ripple(
        &[
            "sweep",
            "scenarios/order_payment.toml",
            "--seeds",
            "0..5",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    let c = &summary(&out)["coverage"];
    // No event cancels a confirmed order: declared, never reached.
    let never = &c["declared_never_reached"]["transitions"];
    assert!(
        never
            .as_array()
            .unwrap()
            .contains(&"Order: Confirmed -> Cancelled".into()),
        "{c}"
    );
    assert!(!never
        .as_array()
        .unwrap()
        .contains(&"Order: Draft -> Submitted".into()));
    // Counts add over seeds: o1 is submitted once in each of the 5 runs.
    assert_eq!(c["transitions"]["Order"]["Draft -> Submitted"], 5);
    assert_eq!(
        c["rules"]["order_confirmed_authorizes_payment"]["0"]["succeeded"],
        5
    );
    assert_eq!(
        c["resolvers"]["order_cancelled_voids_payment"]["resolved"],
        5
    );

    // The text table lists what was never reached before the rules' counts.
    let (_, text, _) = ripple(
        &["sweep", "scenarios/order_payment.toml", "--seeds", "0..5"],
        &[],
    );
    let never_at = text.find("never reached: transition never made: Order: Confirmed -> Cancelled");
    let rules_at = text.find("\n  rule ");
    assert!(never_at.is_some() && never_at < rules_at, "{text}");

    // And the sweep page has the section.
    let dir = scratch("page");
    let (code, _, err) = ripple(
        &[
            "sweep",
            "scenarios/order_payment.toml",
            "--seeds",
            "0..5",
            "--report",
            dir.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{err}");
    let page = std::fs::read_to_string(dir.join("order_payment-sweep.html")).unwrap();
    assert!(page.contains("id=\"never-reached\""));
    assert!(page.contains("Order: Confirmed -&gt; Cancelled"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The fields of a summary that must not depend on how the sweep was split.
fn comparable(s: &Value) -> Vec<(&'static str, Value)> {
    [
        "total",
        "passed",
        "failed",
        "distinct_trace_hashes",
        "steps",
        "failures",
        "coverage",
        "sometimes",
        "scenario_path",
        "seeds",
        "swarm",
    ]
    .into_iter()
    .map(|k| (k, s[k].clone()))
    .collect()
}

fn shard_file(dir: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let (code, out, err) = ripple(args, env);
    assert!(matches!(code, Some(0 | 1)), "{err}");
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn two_shards_merged_are_the_one_sweep_counts_groups_and_coverage() {
    let dir = scratch("shards");
    let sweep = [
        "sweep",
        "scenarios/race.toml",
        "--seeds",
        "0..150",
        "--swarm",
        "--format",
        "json",
    ];
    let (code, whole, err) = ripple(&sweep, &[]);
    assert_eq!(code, Some(1), "the race fails under some seeds: {err}");
    let whole = summary(&whole);
    assert!(whole["failures"].as_array().unwrap().len() >= 2, "{whole}");

    let with = |extra: &[&'static str]| {
        sweep
            .iter()
            .copied()
            .chain(extra.iter().copied())
            .collect::<Vec<_>>()
    };
    let a = shard_file(&dir, "a.jsonl", &with(&["--shard", "0/2"]), &[]);
    // The other shard from a CI matrix's environment.
    let b = shard_file(
        &dir,
        "b.jsonl",
        &with(&[]),
        &[("RIPPLE_SHARD_INDEX", "1"), ("RIPPLE_SHARD_COUNT", "2")],
    );
    let (code, merged, err) = ripple(&["merge", &b, &a, "--format", "json"], &[]);
    assert_eq!(code, Some(1), "{err}");
    let merged = summary(&merged);
    assert_eq!(comparable(&merged), comparable(&whole));
    assert!(merged.get("stopped").is_none(), "{merged}");

    // A shard given twice would count its seeds twice: refused.
    let (code, _, err) = ripple(&["merge", &a, &a], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("twice"), "{err}");
    // A missing shard is said, not hidden.
    let (_, text, _) = ripple(&["merge", &a], &[]);
    assert!(text.contains("shards missing: 1/2"), "{text}");
    // JUnit from the merge: one case per failure group and per `sometimes` invariant, plus
    // the passing seeds.
    let (_, xml, _) = ripple(&["merge", &a, &b, "--format", "junit"], &[]);
    let groups = whole["failures"].as_array().unwrap().len();
    assert_eq!(xml.matches("<testcase ").count(), groups + 1 + 1, "{xml}");
    assert!(xml.contains("name=\"sometimes a_payment_is_voided\""));
    assert!(xml.contains("name=\"reproduce\""));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_indexed_job_without_a_shard_count_is_bad_input() {
    let (code, _, err) = ripple(
        &["sweep", "scenarios/race.toml", "--seeds", "0..4"],
        &[("JOB_COMPLETION_INDEX", "0")],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("RIPPLE_SHARD_COUNT"), "{err}");
}

/// order_payment with a `sometimes` invariant no run can satisfy (no action leads to
/// `Failed`), written beside a copy of its rules.
fn unreachable_sometimes(dir: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(dir.join("reactions")).unwrap();
    std::fs::copy(
        root.join("scenarios/reactions/shop.toml"),
        dir.join("reactions/shop.toml"),
    )
    .unwrap();
    let mut text = std::fs::read_to_string(root.join("scenarios/order_payment.toml")).unwrap();
    text.push_str(
        "\n[[invariant]]\nname = \"a_payment_fails\"\nsometimes = \"Payment[id].status == 'Failed'\"\n",
    );
    let path = dir.join("unreachable.toml");
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn a_sometimes_invariant_that_no_seed_reaches_fails_the_sweep_and_the_run() {
    let dir = scratch("sometimes");
    let scenario = unreachable_sometimes(&dir);
    let (code, out, err) = ripple(&["sweep", &scenario, "--seeds", "0..20"], &[]);
    assert_eq!(
        code,
        Some(1),
        "every seed passes, the sweep does not: {out}{err}"
    );
    assert!(out.contains("0 failed"), "{out}");
    assert!(
        out.contains("FAIL sometimes a_payment_fails: \"Payment[id].status == 'Failed'\" held in no state of any of the 20 seeds"),
        "{out}"
    );
    let (_, json, _) = ripple(
        &["sweep", &scenario, "--seeds", "0..20", "--format", "json"],
        &[],
    );
    let s = summary(&json);
    assert_eq!(s["sometimes"][0]["name"], "a_payment_fails");
    assert_eq!(s["sometimes"][0]["seeds"], 0);
    // Merged shards say the same.
    let a = shard_file(
        &dir,
        "a.jsonl",
        &[
            "sweep", &scenario, "--seeds", "0..20", "--shard", "0/2", "--format", "json",
        ],
        &[],
    );
    let b = shard_file(
        &dir,
        "b.jsonl",
        &[
            "sweep", &scenario, "--seeds", "0..20", "--shard", "1/2", "--format", "json",
        ],
        &[],
    );
    let (code, text, _) = ripple(&["merge", &a, &b], &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("FAIL sometimes a_payment_fails"), "{text}");
    // One run taken alone: the invariant is a violation of that run.
    let (code, out, _) = ripple(&["run", &scenario, "--seed", "3", "--format", "json"], &[]);
    assert_eq!(code, Some(1));
    let run: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        run["violations"][0]["invariant"], "a_payment_fails",
        "{run}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_race_sweep_reaches_its_sometimes_invariant() {
    let (_, out, err) = ripple(
        &[
            "sweep",
            "scenarios/race.toml",
            "--seeds",
            "0..30",
            "--swarm",
            "--format",
            "json",
        ],
        &[],
    );
    let s = summary(&out);
    let row = &s["sometimes"][0];
    assert_eq!(row["name"], "a_payment_is_voided", "{err}");
    assert!(row["seeds"].as_u64().unwrap() > 0, "{row}");
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(first["sometimes_held"].is_array());
}

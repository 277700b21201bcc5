//! Faults in real runs, and sweep output in every format.

use ripple::__private::{
    render_sweep_json_summary, render_sweep_junit, render_sweep_text, SweepInfo,
};
use ripple::FaultConfig;
use ripple::Runner;
use ripple::Seed;
use ripple::{load_scenario, parse_scenario, Scenario};
use ripple::{FaultKind, Record};
use std::collections::BTreeMap;
use std::path::Path;

fn scenario(name: &str) -> Scenario {
    load_scenario(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(name),
    )
    .unwrap()
}

fn fault_counts(s: &Scenario, seeds: std::ops::Range<u64>) -> BTreeMap<FaultKind, usize> {
    let mut out = BTreeMap::new();
    for seed in seeds {
        for r in Runner::new(s).run(Seed(seed)).records {
            if let Record::Fault { fault, .. } = r {
                *out.entry(fault).or_insert(0) += 1;
            }
        }
    }
    out
}

#[test]
fn every_fault_kind_fires_in_a_real_run_and_is_recorded() {
    let mut s = scenario("netops.toml");
    s.faults = Some(FaultConfig {
        delay_p: 0.3,
        delay_ms_max: 40,
        drop_p: 0.1,
        duplicate_p: 0.1,
        reorder: true,
        handler_panic_p: 0.1,
        action_failure_p: 0.1,
        reflex_restart_p: 0.1,
    });
    let counts = fault_counts(&s, 0..30);
    for kind in [
        FaultKind::Delay,
        FaultKind::Drop,
        FaultKind::Duplicate,
        FaultKind::HandlerPanic,
        FaultKind::ActionFailure,
        FaultKind::ReflexRestart,
    ] {
        assert!(
            counts.get(&kind).copied().unwrap_or(0) > 0,
            "{kind:?} never fired: {counts:?}"
        );
    }
    // The same seed gives the same faults.
    let a = Runner::new(&s).run(Seed(5));
    let b = Runner::new(&s).run(Seed(5));
    assert_eq!(a.trace_hash, b.trace_hash);
}

#[test]
fn without_faults_nothing_is_injected() {
    assert!(fault_counts(&scenario("netops.toml"), 0..10).is_empty());
}

#[test]
fn dropped_deliveries_are_accounted_and_a_restart_forgets_dedup() {
    let mut s = scenario("netops.toml");
    s.faults = Some(FaultConfig {
        reflex_restart_p: 1.0,
        ..FaultConfig::default()
    });
    let o = Runner::new(&s).run(Seed(1));
    // With a restart before every delivery, the poll 30 s after the trap is no longer a
    // duplicate: nothing is skipped.
    assert!(
        o.outcomes.iter().all(|x| x.outcome.as_str() != "skipped"),
        "{:?}",
        o.outcomes.iter().map(|x| x.outcome).collect::<Vec<_>>()
    );
    assert!(o.passed(), "{:?}", o.violations);

    s.faults = Some(FaultConfig {
        drop_p: 0.5,
        ..FaultConfig::default()
    });
    for seed in 0..20 {
        let o = Runner::new(&s).run(Seed(seed));
        assert!(
            !o.violations.iter().any(|v| v.invariant == "delivery"),
            "seed {seed}: {:?}",
            o.violations
        );
    }
}

#[test]
fn an_unmet_expectation_is_an_expect_violation() {
    let text = r#"
[scenario]
name = "x"
[[tenant]]
id = "t"
[[entity]]
type = "A"
states = ["Idle", "Done"]
initial = "Idle"
[[entity.action]]
name = "Go"
to = "Done"
[[event]]
at = "0ms"
tenant = "t"
dispatch = { entity_type = "A", id = "1", action = "Go" }
[[expect]]
tenant = "t"
entity_type = "A"
id = "1"
status = "Idle"
[[expect]]
tenant = "t"
entity_type = "A"
id = "2"
[[expect]]
tenant = "t"
entity_type = "A"
id = "1"
exists = false
"#;
    let s = parse_scenario(text, Path::new("x.toml")).unwrap();
    let o = Runner::new(&s).run(Seed(0));
    let messages: Vec<&str> = o
        .violations
        .iter()
        .filter(|v| v.invariant == "expect")
        .map(|v| v.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "t/A/1 has status Done, expected Idle",
            "t/A/2 does not exist",
            "t/A/1 exists (status Done), expected it never to be created"
        ]
    );
}

#[test]
fn a_run_stopped_by_its_budget_is_a_quiescence_violation() {
    let mut s = scenario("netops.toml");
    s.until = ripple::SimTime(60_000);
    let o = Runner::new(&s).run(Seed(0));
    let v: Vec<_> = o
        .violations
        .iter()
        .filter(|v| v.invariant == "quiescence")
        .collect();
    assert_eq!(v.len(), 1, "{:?}", o.violations);
    assert!(v[0].message.contains("messages pending"));
}

fn race_sweep() -> (SweepInfo, ripple::SweepTally) {
    let s = scenario("race.toml");
    let seeds: Vec<u64> = (0..40).collect();
    let results = ripple::SweepTally::of(&Runner::new(&s).sweep(&seeds, 2));
    let info = SweepInfo {
        scenario: s.name.clone(),
        scenario_path: "scenarios/race.toml".into(),
        seeds: "0..40".into(),
        shard: None,
        jobs: 2,
        swarm: false,
        master_seed: None,
        stopped: None,
        timing: None,
        declared: None,
    };
    (info, results)
}

#[test]
fn sweep_results_do_not_depend_on_the_thread_count() {
    let s = scenario("netops.toml");
    let seeds: Vec<u64> = (0..30).collect();
    let one = Runner::new(&s).swarm(true).sweep(&seeds, 1);
    let two = Runner::new(&s).swarm(true).sweep(&seeds, 2);
    let hashes =
        |r: &[ripple::SeedResult]| r.iter().map(|x| (x.seed, x.trace_hash)).collect::<Vec<_>>();
    assert_eq!(hashes(&one), hashes(&two));
    // Every seed is reported once, as it finishes, whichever thread ran it (the calling
    // thread runs seeds too, and collects the others' between its own).
    for jobs in [1, 3, 7] {
        let mut heard = Vec::new();
        let more = Runner::new(&s)
            .swarm(true)
            .sweep_with(&seeds, jobs, &|_| None, &mut |r| heard.push(r.seed));
        heard.sort_unstable();
        assert_eq!(heard, seeds, "jobs {jobs}");
        assert_eq!(hashes(&more), hashes(&one), "jobs {jobs}");
    }
}

#[test]
fn sweep_text_summary_is_pinned() {
    let (info, results) = race_sweep();
    insta::assert_snapshot!(render_sweep_text(&info, &results));
}

#[test]
fn sweep_json_summary_is_pinned() {
    let (info, results) = race_sweep();
    let v: serde_json::Value =
        serde_json::from_str(&render_sweep_json_summary(&info, &results)).unwrap();
    insta::assert_snapshot!(serde_json::to_string_pretty(&v).unwrap());
}

#[test]
fn sweep_junit_is_pinned() {
    let (info, results) = race_sweep();
    let xml = render_sweep_junit(&info, &results);
    assert!(xml.starts_with("<?xml"));
    insta::assert_snapshot!(xml);
}

#[test]
fn the_cli_sweep_prints_json_lines_then_a_summary_and_exits_1_on_failure() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "sweep",
            "scenarios/race.toml",
            "--seeds",
            "0..20",
            "--format",
            "json",
            "--jobs",
            "2",
        ])
        .env("CI", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 21);
    let seeds: Vec<u64> = lines[..20]
        .iter()
        .map(|l| l["seed"].as_u64().unwrap())
        .collect();
    assert_eq!(seeds, (0..20).collect::<Vec<_>>(), "in seed order");
    for key in [
        "scenario",
        "verdict",
        "trace_hash",
        "steps",
        "virtual_time_ms",
        "violations",
        "reactions",
        "outcomes",
        "entities",
    ] {
        assert!(lines[0].get(key).is_some(), "missing {key}");
    }
    assert_eq!(lines[20]["summary"], true);
    assert_eq!(lines[20]["total"], 20);
    // Two shards concatenate to the whole.
    let shard = |i: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "sweep",
                "scenarios/race.toml",
                "--seeds",
                "0..20",
                "--format",
                "json",
                "--shard",
                i,
            ])
            .env("CI", "true")
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|l| !l.contains("\"summary\":true"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    let mut both: Vec<String> = shard("0/2").into_iter().chain(shard("1/2")).collect();
    both.sort();
    let mut whole: Vec<String> = text.lines().take(20).map(String::from).collect();
    whole.sort();
    assert_eq!(both, whole);
}

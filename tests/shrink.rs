//! The shrinker on planted bugs: k needed root events hidden among n, with noise events and
//! noise rules. The output must keep exactly the needed events and rules, be 1-minimal, and
//! fail the same way when loaded back.

use ripple::__private::Input;
use ripple::__private::{planted_scenario, PLANTED_PARTS};
use ripple::failure_signature;
use ripple::Runner;
use ripple::Seed;
use ripple::{emit_scenario, load_scenario, parse_scenario, Scenario};
use ripple::{shrink, ShrinkBudget, ShrinkError};
use std::path::Path;

const PARTS: [&str; 3] = PLANTED_PARTS;

fn planted(k: usize, n: usize) -> String {
    planted_scenario(k, n)
}

fn needed_ids(s: &Scenario) -> Vec<String> {
    s.events
        .iter()
        .map(|e| match &e.input {
            Input::Dispatch { id, .. } => id.0.clone(),
            Input::Publish { subject, .. } => subject.to_string(),
        })
        .collect()
}

fn check_planted(k: usize, n: usize) {
    let text = planted(k, n);
    let scenario =
        parse_scenario(&text, Path::new("planted.toml")).unwrap_or_else(|e| panic!("{e}"));
    let seed = Seed(1);
    let original = Runner::new(&scenario).run(seed);
    let signature = failure_signature(&original).expect("the planted bug fails");
    let result = shrink(&scenario, seed, false, ShrinkBudget::default(), &mut |_| {}).unwrap();
    let min = &result.minimal;
    let mut ids = needed_ids(min);
    ids.sort();
    let want: Vec<String> = PARTS[..k].iter().map(|p| format!("k_{p}")).collect();
    assert_eq!(ids, want, "k={k} n={n}: kept exactly the needed events");
    let rules: Vec<&str> = min
        .rules
        .values()
        .flatten()
        .map(|r| r.name.as_str())
        .collect();
    let want_rules: Vec<String> = PARTS[..k].iter().map(|p| format!("mark_{p}")).collect();
    assert_eq!(rules, want_rules, "k={k} n={n}: only the rules they need");
    assert!(
        !min.entities.contains_key("Noise") && !min.entities.contains_key("Sink"),
        "noise types removed"
    );
    // 1-minimal: removing any one more event makes it pass.
    for i in 0..min.events.len() {
        let mut fewer = min.clone();
        fewer.events.remove(i);
        assert!(
            Runner::new(&fewer).run(seed).passed(),
            "k={k}: event {i} was removable"
        );
    }
    // Loaded back from the emitted text, it fails with the same signature.
    let emitted = emit_scenario(min, "planted");
    let reloaded = parse_scenario(&emitted, Path::new("min.toml")).unwrap();
    let o = Runner::new(&reloaded).run(seed);
    assert_eq!(failure_signature(&o), Some(signature));
    assert!(result.runs < 1_000, "k={k} n={n}: {} runs", result.runs);
}

#[test]
fn one_needed_event_among_a_thousand() {
    check_planted(1, 1000);
}

#[test]
fn two_needed_events_among_three_hundred() {
    check_planted(2, 300);
}

#[test]
fn three_needed_events_among_a_thousand() {
    check_planted(3, 1000);
}

#[test]
fn the_race_shrinks_to_the_two_racing_events_two_rules_and_one_fault() {
    let s =
        load_scenario(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/race.toml")).unwrap();
    let seed = (0..1000)
        .map(Seed)
        .find(|s2| !Runner::new(&s).run(*s2).passed())
        .expect("a failing seed");
    let mut log = Vec::new();
    let r = shrink(&s, seed, false, ShrinkBudget::default(), &mut |l| {
        log.push(l.to_string())
    })
    .unwrap();
    let m = &r.minimal;
    assert_eq!(m.events.len(), 2, "{log:#?}");
    let actions: Vec<String> = m
        .events
        .iter()
        .map(|e| match &e.input {
            Input::Dispatch { id, action, .. } => format!("{id}.{action}"),
            _ => String::new(),
        })
        .collect();
    assert_eq!(actions, ["o1.ConfirmOrder", "o1.CancelOrder"]);
    let mut rules: Vec<&str> = m
        .rules
        .values()
        .flatten()
        .map(|r| r.name.as_str())
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        [
            "order_cancelled_voids_payment",
            "order_confirmed_authorizes_payment"
        ]
    );
    let faults = m.schedule.as_ref().expect("a schedule");
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(faults[0].kind.as_str(), "delay");
    assert!(!log.is_empty(), "every accepted step is reported");
    // The emitted file runs without the original [faults]: its schedule is explicit.
    let text = emit_scenario(m, "race");
    assert!(!text.contains("[faults]"));
    let again = parse_scenario(&text, Path::new("race.min.toml")).unwrap();
    assert!(!Runner::new(&again).run(seed).passed());
}

#[test]
fn a_passing_seed_is_refused() {
    let s =
        load_scenario(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/order_payment.toml"))
            .unwrap();
    match shrink(&s, Seed(0), false, ShrinkBudget::default(), &mut |_| {}) {
        Err(ShrinkError::Passes { seed: 0 }) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_run_budget_still_yields_the_best_scenario_so_far() {
    let s = parse_scenario(&planted(3, 400), Path::new("planted.toml")).unwrap();
    let r = shrink(
        &s,
        Seed(1),
        false,
        ShrinkBudget {
            runs_max: 12,
            ..ShrinkBudget::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert!(r.budget_exhausted);
    assert!(r.runs <= 12);
    assert!(r.after.events < 400, "some progress within the budget");
    assert!(
        !Runner::new(&r.minimal).run(Seed(1)).passed(),
        "what it kept still fails"
    );
}

/// Issue 20: a shrink cut short by its budget never hands back more than it was given. The
/// hostile fixture's concrete form (every generated event and every duplicate that fired)
/// weighs about twice the input; with a budget of five runs nothing smaller is found, so the
/// input's own form comes back, and it still fails the same way.
#[test]
fn a_shrink_out_of_budget_never_returns_more_than_its_input() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile/many_faults.toml");
    let scenario = load_scenario(&path).unwrap();
    let weight = |s: &Scenario| -> u64 {
        let generated: u64 = s.generators.iter().map(|g| g.count).sum();
        let rules: usize = s.rules.values().map(Vec::len).sum();
        let faults = s.schedule.as_ref().map_or(0, Vec::len);
        (s.events.len() + rules + s.reflexes.len() + faults) as u64 + generated
    };
    for runs_max in [5, 40] {
        let budget = ShrinkBudget {
            runs_max,
            time_max: std::time::Duration::from_secs(600),
        };
        let result = shrink(&scenario, Seed(1), false, budget, &mut |_| {}).unwrap();
        assert!(
            weight(&result.minimal) <= weight(&scenario),
            "runs_max {runs_max}: {} is larger than the input ({})",
            result.after,
            weight(&scenario)
        );
        let again = Runner::new(&result.minimal).run(Seed(1));
        assert_eq!(
            failure_signature(&again).as_ref(),
            Some(&result.signature),
            "runs_max {runs_max}"
        );
        if runs_max == 5 {
            assert!(result.kept_input, "{}", result.after);
            assert_eq!(result.budget_spent, Some("runs"));
        }
    }
}

/// Issue 20: `shrink --budget-time` holds even when one run of the scenario takes longer than
/// the whole budget (the hostile fixture's first run alone takes minutes): the command ends,
/// says that the time budget ran out, and writes nothing. No timing is asserted; the test
/// would hang without the budget.
#[test]
fn a_shrink_whose_one_run_outlasts_the_budget_ends_saying_so() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile/slow_run.toml");
    let out = std::env::temp_dir().join(format!("ripple-slow-shrink-{}.toml", std::process::id()));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args([
            "shrink",
            path.to_str().unwrap(),
            "--seed",
            "1",
            "--budget-time",
            "1s",
        ])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("incomplete: the time budget (1s) ran out"),
        "{stdout}"
    );
    assert!(!out.exists(), "nothing is written");
}

/// Issue 20: `shrink` and `check` write scenarios whose names (tenants, rules, states, ids,
/// fields, invariants) hold quotes, backslashes, control characters and escape sequences;
/// every written file loads back and fails the same way.
#[test]
fn written_scenarios_with_odd_names_load_back() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile/odd_names.toml");
    let dir = std::env::temp_dir().join(format!("ripple-odd-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let minimal = dir.join("minimal.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(["shrink", path.to_str().unwrap(), "--seed", "1"])
        .args(["--out", minimal.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        !stdout.contains('\u{1b}'),
        "escape sequences reach the terminal: {stdout}"
    );
    let original = load_scenario(&path).unwrap();
    let failed = failure_signature(&Runner::new(&original).run(Seed(1))).unwrap();
    let written = load_scenario(&minimal).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        failure_signature(&Runner::new(&written).run(Seed(1))),
        Some(failed)
    );
    assert!(
        written.tenants[0].as_str().contains('\u{7}'),
        "the names are kept"
    );

    let found = dir.join("check");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args([
            "check",
            path.to_str().unwrap(),
            "--out",
            found.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let mut loaded = 0;
    for entry in std::fs::read_dir(&found).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "toml") {
            load_scenario(&p).unwrap_or_else(|e| panic!("{e}"));
            loaded += 1;
        }
    }
    assert!(
        loaded > 0,
        "check wrote no counterexample under {}",
        found.display()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

//! Handlers and invariants written in Rust, registered with a `Runner` (examples/
//! library_handler.rs and examples/library/flap.toml).

#[path = "../examples/library_handler.rs"]
#[allow(dead_code)]
mod example;

use example::{Flap, OpensOnlyAfterFlaps};
use ripple::{load_scenario, parse_scenario, Invariant, Record, Runner, Scenario, Seed};
use std::path::Path;
use std::process::Command;

fn flap() -> Scenario {
    load_scenario(Path::new("examples/library/flap.toml")).unwrap()
}

fn runner(s: &Scenario) -> Runner<'_> {
    Runner::new(s)
        .handler(|| Box::new(Flap::default()))
        .invariant(|| Box::new(OpensOnlyAfterFlaps::default()))
}

/// The flap scenario with `extra` TOML appended.
fn flap_with(extra: &str) -> Scenario {
    let text = std::fs::read_to_string("examples/library/flap.toml").unwrap() + extra;
    parse_scenario(&text, Path::new("examples/library/flap.toml")).unwrap()
}

#[test]
fn a_rust_handler_acts_and_a_rust_invariant_watches() {
    let s = flap();
    let outcome = runner(&s).run_twice(Seed(1));
    assert!(outcome.passed(), "{:?}", outcome.violations);
    // The expectation (opened = 2) holds only because the handler opened the incident on
    // the third and fourth flap.
    let opens = outcome
        .records
        .iter()
        .filter(|r| matches!(r, Record::Dispatch { action, .. } if action == "Open"))
        .count();
    assert_eq!(opens, 2);
    let outcomes: Vec<_> = outcome
        .outcomes
        .iter()
        .map(|o| o.outcome.as_str())
        .collect();
    assert_eq!(outcomes, ["logged", "logged", "applied", "applied"]);
}

#[test]
fn a_library_invariant_reports_under_its_name() {
    struct NoIncidents;
    impl Invariant for NoIncidents {
        fn name(&self) -> &'static str {
            "no_incidents"
        }
        fn on_record(&mut self, record: &Record) -> Option<String> {
            match record {
                Record::Transition {
                    entity_type, id, ..
                } if entity_type == "Incident" => Some(format!("Incident {id} changed")),
                _ => None,
            }
        }
    }
    let s = flap();
    let outcome = Runner::new(&s)
        .handler(|| Box::new(Flap::default()))
        .invariant(|| Box::new(NoIncidents))
        .run(Seed(1));
    let names: Vec<&str> = outcome
        .violations
        .iter()
        .map(|v| v.invariant.as_str())
        .collect();
    assert!(names.contains(&"no_incidents"), "{names:?}");
}

#[test]
fn a_restart_really_loses_the_handlers_memory() {
    // Every delivery restarts the reflex first: the handler never counts past one flap.
    let s = flap_with("\n[faults]\nreflex_restart = 1.0\n");
    let outcome = runner(&s).run(Seed(1));
    assert!(!outcome.passed());
    assert!(
        outcome.violations.iter().any(|v| v.invariant == "expect"),
        "{:?}",
        outcome.violations
    );
    assert!(outcome
        .outcomes
        .iter()
        .all(|o| o.outcome.as_str() == "logged"));
}

#[test]
fn a_sweep_runs_the_library_on_every_thread_as_single_runs_do() {
    let s = flap();
    let r = runner(&s).swarm(true);
    let seeds: Vec<u64> = (0..40).collect();
    let swept = r.sweep(&seeds, 2);
    for result in &swept {
        let single = runner(&s).swarm(true).run(Seed(result.seed));
        assert_eq!(result.trace_hash, single.trace_hash, "seed {}", result.seed);
        assert_eq!(result.passed, single.passed());
    }
}

#[test]
fn a_name_that_refers_to_nothing_is_an_error() {
    let s = flap();
    // Nothing registered under the scenario's `flap`.
    let e = Runner::new(&s).check_library().unwrap_err();
    assert!(e.message.contains("\"flap\""), "{e}");
    assert_eq!((e.line, e.column), (32, 6), "{e}");
    assert!(
        e.hint.as_deref().unwrap().contains("Runner::handler"),
        "{e}"
    );
    // A handler registered but named by no reflex.
    let quiet = parse_scenario(
        "[scenario]\nname = \"q\"\n[[tenant]]\nid = \"t\"\n[[event]]\nat = \"0ms\"\ntenant = \"t\"\nsubject = \"sensory.x\"\n",
        Path::new("q.toml"),
    )
    .unwrap();
    let e = Runner::new(&quiet)
        .handler(|| Box::new(Flap::default()))
        .check_library()
        .unwrap_err();
    assert!(e.message.contains("no reflex"), "{e}");
}

#[test]
#[should_panic(expected = "library handler")]
fn running_without_the_handler_panics_with_the_error() {
    let s = flap();
    Runner::new(&s).run(Seed(1));
}

#[test]
fn the_command_line_refuses_a_library_handler_with_exit_2() {
    for cmd in [
        vec!["run", "examples/library/flap.toml"],
        vec!["check", "examples/library/flap.toml"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
            .args(&cmd)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {stderr}");
        assert!(stderr.contains("flap.toml:32:6"), "{cmd:?}: {stderr}");
        assert!(stderr.contains("Runner::handler"), "{cmd:?}: {stderr}");
    }
}

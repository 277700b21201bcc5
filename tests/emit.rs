//! Writing a scenario back as TOML and loading it again gives the same runs.

use ripple::Runner;
use ripple::Seed;
use ripple::{emit_scenario, load_scenario, parse_scenario};
use std::path::Path;

#[test]
fn every_shipped_scenario_round_trips_through_the_emitter() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let original = load_scenario(&path).unwrap();
        let text = emit_scenario(&original, "a header line\n\nanother");
        assert!(
            text.starts_with("# a header line\n#\n# another\n"),
            "{text}"
        );
        // Written next to the original (temper files are named relative to it).
        let again = parse_scenario(&text, &path.with_file_name("emitted.toml"))
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()));
        for seed in 0..5 {
            let a = Runner::new(&original).run(Seed(seed));
            let b = Runner::new(&again).run(Seed(seed));
            assert_eq!(
                a.trace_hash,
                b.trace_hash,
                "{} seed {seed}\n{text}",
                path.display()
            );
        }
    }
}

/// Every kind of scheduled fault, on every kind of target, written and loaded back: the
/// same schedule (a zero-ms delay included: the loader requires a delay fault's `delay`).
#[test]
fn fault_schedules_round_trip_through_the_emitter() {
    use ripple::__private::fault_table;
    use ripple::ScheduledFault;
    use ripple::{FaultKind, FaultTarget};
    // Names netops.toml has: the loader refuses a fault on a rule, reflex, type or action
    // the scenario does not have.
    let reaction = FaultTarget::Reaction {
        rule: "first_signal_pages_oncall".into(),
        target: "Pager/oncall".into(),
    };
    let delivery = FaultTarget::Delivery {
        subject: "sensory.link_down.x".into(),
        handler: "link_down".into(),
    };
    let action = FaultTarget::Action {
        target: "Incident/r1\"|Gi0/1".into(),
        action: "Open".into(),
    };
    let handler = FaultTarget::Handler {
        handler: "link_down".into(),
        subject: "sensory.link_down.x".into(),
    };
    let mut cases = Vec::new();
    for on in [&reaction, &delivery] {
        for (kind, delay_ms) in [
            (FaultKind::Delay, 0),
            (FaultKind::Delay, 25),
            (FaultKind::Duplicate, 0),
            (FaultKind::Duplicate, 7),
            (FaultKind::Drop, 0),
        ] {
            cases.push((kind, on.clone(), delay_ms));
        }
    }
    cases.push((FaultKind::ActionFailure, action, 0));
    cases.push((FaultKind::HandlerPanic, handler.clone(), 0));
    cases.push((FaultKind::ReflexRestart, handler, 0));
    let schedule: Vec<ScheduledFault> = cases
        .into_iter()
        .enumerate()
        .map(|(i, (kind, on, delay_ms))| ScheduledFault {
            kind,
            on,
            nth: 1 + (i % 3) as u32,
            delay_ms,
        })
        .collect();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/netops.toml");
    let mut scenario = load_scenario(&path).unwrap();
    scenario.faults = None;
    scenario.schedule = Some(schedule.clone());
    let text = emit_scenario(&scenario, "faults");
    let again =
        parse_scenario(&text, Path::new("emitted.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(again.schedule.as_ref(), Some(&schedule), "{text}");
    let one = fault_table(&schedule[0]);
    assert!(one.contains("delay = \"0ms\""), "{one}");
}

/// A builtin's pattern and dedup window, written back and loaded again.
#[test]
fn builtin_overrides_round_trip_through_the_emitter() {
    let text = r#"
[scenario]
name = "seed-layout"
[[tenant]]
id = "t"
[[reflex]]
builtin = "link_down"
pattern = "sensory.snmp.trap.link_down.>"
dedup_window = "30s"
[[reflex]]
builtin = "bgp_drop"
[[event]]
at = "0ms"
tenant = "t"
subject = "sensory.snmp.trap.link_down.r1"
payload = { device = "r1", interface = "Gi0/1" }
"#;
    let original = parse_scenario(text, Path::new("x.toml")).unwrap();
    let emitted = emit_scenario(&original, "");
    assert!(
        emitted.contains("pattern = \"sensory.snmp.trap.link_down.>\""),
        "{emitted}"
    );
    assert!(emitted.contains("dedup_window = \"30s\""), "{emitted}");
    // A default is left out.
    assert!(!emitted.contains("sensory.bgp_drop.>"), "{emitted}");
    let again = parse_scenario(&emitted, Path::new("emitted.toml")).unwrap();
    let a = Runner::new(&original).run(Seed(0));
    let b = Runner::new(&again).run(Seed(0));
    assert_eq!(a.trace_hash, b.trace_hash);
    assert_eq!(a.outcomes, b.outcomes);
}

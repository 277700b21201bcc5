//! Every trace record names its cause (`cause`, the step of the record that made it happen),
//! and the causes are true: checked on every shipped scenario, with and without faults.

use ripple::Runner;
use ripple::Seed;
use ripple::{load_scenario, FaultConfig, Scenario};
use ripple::{Origin, Record};
use std::path::Path;

fn scenario(name: &str) -> Scenario {
    load_scenario(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scenarios")
            .join(name),
    )
    .unwrap()
}

const SHIPPED: [&str; 8] = [
    "agent_loop.toml",
    "cycle.toml",
    "netops.toml",
    "order_payment.toml",
    "pipeline.toml",
    "race.toml",
    "race_crowd.toml",
    "two_tenants.toml",
];

/// Every fault at once, often: delayed, dropped and duplicated messages, failed actions,
/// panicking and restarted handlers all have causes to name.
fn every_fault() -> FaultConfig {
    FaultConfig {
        delay_p: 0.4,
        delay_ms_max: 300,
        drop_p: 0.05,
        duplicate_p: 0.1,
        reorder: true,
        handler_panic_p: 0.05,
        action_failure_p: 0.05,
        reflex_restart_p: 0.05,
    }
}

/// The kind of the record a record's cause must be, by the table in `Record`'s docs; and
/// what must agree between the two.
fn check_cause(records: &[Record], step: usize, at: &str) {
    let r = &records[step];
    let Some(cause) = r.cause() else {
        assert!(
            matches!(r, Record::Input { .. }),
            "{at}: only inputs have no cause"
        );
        return;
    };
    let cause = cause as usize;
    assert!(
        cause < step,
        "{at}: step {step} names a later cause {cause}"
    );
    let c = &records[cause];
    let fail = || format!("{at}: step {step} {r:?}\n  names as its cause step {cause} {c:?}");
    match r {
        Record::Input { .. } => unreachable!(),
        Record::Dispatch { origin, .. } => match (origin, c) {
            (Origin::Root { event }, Record::Input { event: e, .. }) => {
                assert_eq!(event, e, "{}", fail())
            }
            (
                Origin::Reflex { handler, event },
                Record::Outcome {
                    handler: h,
                    event: e,
                    ..
                },
            ) => assert!(handler == h && event == e, "{}", fail()),
            (Origin::Rule { .. }, Record::Transition { .. }) => {}
            _ => panic!("{}", fail()),
        },
        Record::Transition { id, action, .. } | Record::ActionFailed { id, action, .. } => {
            match c {
                Record::Dispatch {
                    id: i, action: a, ..
                } => assert!(id == i && action == a, "{}", fail()),
                _ => panic!("{}", fail()),
            }
        }
        Record::Reaction { .. } | Record::GuardSkip { .. } | Record::Warning { .. } => {
            assert!(matches!(c, Record::Transition { .. }), "{}", fail())
        }
        Record::DepthLimit { .. } => assert!(
            matches!(
                c,
                Record::Transition { .. } | Record::Input { .. } | Record::Outcome { .. }
            ),
            "{}",
            fail()
        ),
        Record::Publish { .. } => assert!(
            matches!(c, Record::Transition { .. } | Record::Input { .. }),
            "{}",
            fail()
        ),
        Record::Deliver { event, .. } => match c {
            Record::Publish { event: e, .. } => assert_eq!(event, e, "{}", fail()),
            _ => panic!("{}", fail()),
        },
        Record::Outcome { event, handler, .. } => match c {
            Record::Deliver {
                event: e,
                handler: h,
                ..
            } => assert!(event == e && handler == h, "{}", fail()),
            _ => panic!("{}", fail()),
        },
        Record::Fault { .. } => assert!(
            matches!(
                c,
                Record::Transition { .. }
                    | Record::Publish { .. }
                    | Record::Deliver { .. }
                    | Record::Dispatch { .. }
            ),
            "{}",
            fail()
        ),
    }
    // A reaction's dispatch and its result name the same source commit.
    if let Record::Reaction {
        target_id: Some(_), ..
    } = r
    {
        let dispatch = records[..step]
            .iter()
            .rev()
            .find(|d| matches!(d, Record::Dispatch { .. }))
            .expect("a reaction with a target follows its dispatch");
        assert_eq!(dispatch.cause(), r.cause(), "{}", fail());
    }
}

/// Following causes from any record ends at an input.
fn root_of(records: &[Record], mut step: usize) -> usize {
    while let Some(c) = records[step].cause() {
        step = c as usize;
    }
    assert!(matches!(records[step], Record::Input { .. }));
    step
}

#[test]
fn every_record_names_a_true_cause_in_every_shipped_scenario() {
    let mut checked = 0usize;
    let mut kinds = std::collections::BTreeSet::new();
    // The pipeline with one upload that lacks the `file` its rule copies: a warning.
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/pipeline.toml"),
    )
    .unwrap()
    .replace("file = \"cat.png\", ", "");
    let warned = ripple::parse_scenario(&text, Path::new("pipeline_warned.toml")).unwrap();
    for name in SHIPPED.iter().copied().chain(["pipeline_warned"]) {
        for faults in [false, true] {
            let mut s = match name {
                "pipeline_warned" => warned.clone(),
                _ => scenario(name),
            };
            if faults {
                s.faults = Some(every_fault());
            }
            for seed in 0..6 {
                let run = Runner::new(&s).run(Seed(seed));
                assert!(run.records_complete(), "{name}: every record kept");
                for step in 0..run.records.len() {
                    let at = format!("{name} faults={faults} seed {seed}");
                    check_cause(&run.records, step, &at);
                    root_of(&run.records, step);
                    kinds.insert(run.records[step].kind());
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 1_000, "only {checked} records checked");
    // Not vacuous: every kind of record was among them.
    assert_eq!(
        kinds.len(),
        ripple::RecordKind::COUNT,
        "kinds seen: {kinds:?}"
    );
}

/// With faults, a reaction delivered late runs while a later root event's cascade is under
/// way: its cause still leads back to the root event that set it off, not to the one that
/// happens to be running.
#[test]
fn a_delayed_reaction_names_the_root_that_set_it_off() {
    let mut s = scenario("race.toml");
    s.faults = Some(every_fault());
    let mut late = 0;
    for seed in 0..40 {
        let run = Runner::new(&s).run(Seed(seed));
        let mut current_input = None;
        for (step, r) in run.records.iter().enumerate() {
            if let Record::Input { .. } = r {
                current_input = Some(step);
            }
            if let Record::Dispatch {
                origin: Origin::Rule { .. },
                ..
            } = r
            {
                let root = root_of(&run.records, step);
                if Some(root) != current_input {
                    late += 1;
                    assert!(root < current_input.unwrap());
                }
            }
        }
    }
    assert!(late > 0, "no reaction was delivered during a later input");
}

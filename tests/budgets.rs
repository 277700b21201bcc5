//! Budgets on the work of one run: a reaction fan-out is cut at `cascade_dispatches_max`
//! dispatches in one step, multiplying messages at `messages_max`; either ends the run with
//! a `budget` violation that says which budget and how far the run got.

use ripple::{emit_scenario, parse_scenario, Record, Retain, Runner, Scenario, Seed, Stop};
use std::path::Path;
use std::process::Command;

const FAN_OUT: &str = "tests/fixtures/hostile/fan_out.toml";

/// The fan-out scenario with `extra` lines added to its `[scenario]` table (and `tail`
/// at the end).
fn fan_out(extra: &str, tail: &str) -> Scenario {
    let text = std::fs::read_to_string(FAN_OUT).unwrap();
    let text = text.replacen(
        "name = \"fan_out\"\n",
        &format!("name = \"fan_out\"\n{extra}\n"),
        1,
    );
    parse_scenario(&(text + tail), Path::new(FAN_OUT)).unwrap()
}

#[test]
fn a_fan_out_is_cut_at_the_cascade_budget() {
    let s = fan_out("cascade_dispatches_max = 1000", "");
    let outcome = Runner::new(&s).run(Seed(0));
    assert_eq!(outcome.stop, Stop::CascadeBudget);
    let dispatches = outcome
        .records
        .iter()
        .filter(|r| matches!(r, Record::Dispatch { .. }))
        .count();
    assert_eq!(dispatches, 1000, "exactly the budget, then nothing");
    let budget: Vec<_> = outcome
        .violations
        .iter()
        .filter(|v| v.invariant == "budget")
        .collect();
    assert_eq!(budget.len(), 1, "{:?}", outcome.violations);
    assert!(
        budget[0].message.contains("cascade_dispatches_max"),
        "{}",
        budget[0].message
    );
    // Not also reported as a run that did not go quiet.
    assert!(outcome
        .violations
        .iter()
        .all(|v| v.invariant != "quiescence"));
    assert!(
        outcome.stop_text().starts_with("budget:"),
        "{}",
        outcome.stop_text()
    );
}

#[test]
fn the_default_cascade_budget_keeps_a_fan_out_bounded() {
    // 6^8 dispatches without the budget; 100,000 with it.
    let s = fan_out("", "");
    let outcome = Runner::new(&s).keep(Retain::Summary).run(Seed(0));
    assert_eq!(outcome.stop, Stop::CascadeBudget);
    assert!(!outcome.passed());
}

#[test]
fn multiplying_messages_stop_at_the_message_budget() {
    // With faults, reactions travel as messages, and every one is delivered twice.
    let s = fan_out("messages_max = 200", "\n[faults]\nduplicate = 1.0\n");
    let outcome = Runner::new(&s).keep(Retain::Summary).run(Seed(3));
    assert_eq!(outcome.stop, Stop::MessageBudget);
    assert!(outcome.pending > 200);
    let v = outcome
        .violations
        .iter()
        .find(|v| v.invariant == "budget")
        .unwrap();
    assert!(v.message.contains("messages_max is 200"), "{}", v.message);
}

#[test]
fn budgets_survive_a_written_scenario() {
    let s = fan_out("cascade_dispatches_max = 77\nmessages_max = 99", "");
    let text = emit_scenario(&s, "");
    let again = parse_scenario(&text, Path::new("again.toml")).unwrap();
    assert_eq!((again.cascade_dispatches_max, again.messages_max), (77, 99));
}

#[test]
fn a_budget_that_is_not_positive_is_bad_input() {
    let text = std::fs::read_to_string(FAN_OUT).unwrap().replacen(
        "name = \"fan_out\"\n",
        "name = \"fan_out\"\ncascade_dispatches_max = 0\n",
        1,
    );
    let e = parse_scenario(&text, Path::new(FAN_OUT)).unwrap_err();
    assert!(
        e.message
            .contains("cascade_dispatches_max must be positive"),
        "{e}"
    );
    assert!(e.line > 0 && e.hint.is_some(), "{e}");
}

#[test]
fn the_command_line_reports_the_budget_and_exits_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(["run", FAN_OUT, "--seed", "0"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("budget"), "{stdout}");
    assert!(stdout.contains("cascade_dispatches_max"), "{stdout}");
}

#[test]
fn a_generator_past_until_costs_no_memory_and_keeps_its_draws() {
    // Two million events, five of them before `until`: the rest are drawn, never built.
    let text = r#"
[scenario]
name = "long_generator"
until = "4s"

[[tenant]]
id = "t"

[[generator]]
tenant = "t"
count = 2000000
every = "1s"
subject = "sensory.tick.{device}"
payload = { device = "{device}", n = "{n}" }
[generator.values]
device = ["r1", "r2"]

[[generator]]
tenant = "t"
count = 3
every = "1s"
subject = "sensory.after.{n}"
"#;
    let s = parse_scenario(text, Path::new("long.toml")).unwrap();
    let outcome = Runner::new(&s).run(Seed(5));
    assert_eq!(outcome.root_events, 2_000_003);
    let inputs: Vec<u32> = outcome
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Input { event, .. } => Some(*event),
            _ => None,
        })
        .collect();
    // Five ticks (0s..4s) and the second generator's three, numbered after all two
    // million of the first's.
    let mut sorted = inputs.clone();
    sorted.sort();
    assert_eq!(sorted, [0, 1, 2, 3, 4, 2_000_000, 2_000_001, 2_000_002]);
    // What is left is every tick after `until`.
    assert_eq!(outcome.stop, Stop::TimeBudget);
    assert_eq!(outcome.pending, 2_000_000 - 5);
    // The ticks a run reaches are drawn as a generator of five draws them.
    let short = parse_scenario(
        &text.replace("count = 2000000", "count = 5"),
        Path::new("long.toml"),
    )
    .unwrap();
    let o2 = Runner::new(&short).run(Seed(5));
    let subjects = |o: &ripple::RunOutcome| -> Vec<String> {
        o.records
            .iter()
            .filter_map(|r| match r {
                Record::Publish { subject, .. } if subject.as_str().starts_with("sensory.tick") => {
                    Some(subject.to_string())
                }
                _ => None,
            })
            .collect()
    };
    assert_eq!(subjects(&outcome), subjects(&o2));
}

#[test]
fn the_model_checker_cuts_a_fan_out_at_the_same_budget() {
    let dir = std::env::temp_dir().join(format!("ripple-budget-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fan_out.toml");
    let text = std::fs::read_to_string(FAN_OUT).unwrap().replacen(
        "name = \"fan_out\"\n",
        "name = \"fan_out\"\ncascade_dispatches_max = 500\n",
        1,
    );
    std::fs::write(&path, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(["check", path.to_str().unwrap(), "--out"])
        .arg(dir.join("out"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("budget"), "{stdout}");
    assert!(stdout.contains("cascade_dispatches_max"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Ten million generated events, all inside `until`, each a small cascade that creates an
/// entity: generated lazily, the run's world grows with the events run, and the memory
/// budget stops it (a `budget` violation naming `memory_max`), where building the events
/// first took gigabytes before the first step.
const SLOW_RUN: &str = "tests/fixtures/hostile/slow_run.toml";

fn slow_run(memory_max: &str) -> Scenario {
    let text = std::fs::read_to_string(SLOW_RUN).unwrap().replacen(
        "name = \"slow_run\"\n",
        &format!("name = \"slow_run\"\nmemory_max = \"{memory_max}\"\n"),
        1,
    );
    parse_scenario(&text, Path::new(SLOW_RUN)).unwrap()
}

#[test]
fn a_run_stops_at_its_memory_budget_at_the_same_step_whatever_it_keeps() {
    let s = slow_run("16MiB");
    assert_eq!(s.memory_max, 16 << 20);
    let kept = Runner::new(&s).run(Seed(1));
    assert_eq!(kept.stop, Stop::MemoryBudget);
    let budget: Vec<_> = kept
        .violations
        .iter()
        .filter(|v| v.invariant == "budget")
        .collect();
    assert_eq!(budget.len(), 1, "{:?}", kept.violations);
    assert!(
        budget[0].message.contains("memory_max is 16 MiB"),
        "{}",
        budget[0].message
    );
    assert!(
        kept.stop_text().contains("memory_max"),
        "{}",
        kept.stop_text()
    );
    // Far fewer steps than events: the budget, not the work, ended it.
    assert!(kept.scheduler_steps > 1000 && kept.scheduler_steps < 1_000_000);
    // Keeping every record (and the trace text), or none, does not move the stop: what a
    // run keeps for its output is not its memory.
    for retain in [Retain::Summary, Retain::Report, Retain::Script] {
        let other = Runner::new(&s).keep(retain).run(Seed(1));
        assert_eq!(
            (other.scheduler_steps, &other.trace_hash),
            (kept.scheduler_steps, &kept.trace_hash),
            "{retain:?}"
        );
    }
    // A larger budget goes further.
    let more = Runner::new(&slow_run("32MiB"))
        .keep(Retain::Summary)
        .run(Seed(1));
    assert_eq!(more.stop, Stop::MemoryBudget);
    assert!(more.scheduler_steps > kept.scheduler_steps);
}

#[test]
fn a_memory_budget_is_read_written_and_refused_when_it_is_not_a_size() {
    let mut s = slow_run("3GiB");
    s.generators.clear(); // a written scenario names its events
    let again = parse_scenario(&emit_scenario(&s, ""), Path::new("again.toml")).unwrap();
    assert_eq!(again.memory_max, 3 << 30);
    for bad in ["3GB", "0MiB", "lots"] {
        let text = std::fs::read_to_string(SLOW_RUN).unwrap().replacen(
            "name = \"slow_run\"\n",
            &format!("name = \"slow_run\"\nmemory_max = \"{bad}\"\n"),
            1,
        );
        let e = parse_scenario(&text, Path::new(SLOW_RUN)).unwrap_err();
        assert!(e.message.contains("memory_max"), "{e}");
        assert!(
            e.line > 0 && e.hint.as_deref().unwrap_or("").contains("GiB"),
            "{e}"
        );
    }
}

#[test]
fn the_command_line_stops_a_long_generated_run_at_its_budget_and_exits_1() {
    let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(["run", SLOW_RUN, "--seed", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("memory_max is 256 MiB"), "{stdout}");
    // Deterministic: the run that checks it stopped at the same step.
    assert!(!stdout.contains("determinism"), "{stdout}");
}

#[test]
fn a_run_too_long_for_a_report_page_says_so_and_writes_none() {
    // Millions of records: a page would hold them all. The run still reports its verdict.
    let dir = std::env::temp_dir().join(format!("ripple-long-report-{}", std::process::id()));
    let scenario = dir.join("slow.toml");
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(SLOW_RUN).unwrap().replacen(
        "name = \"slow_run\"\n",
        "name = \"slow_run\"\nmemory_max = \"32MiB\"\n",
        1,
    );
    std::fs::write(&scenario, text).unwrap();
    let pages = dir.join("pages");
    let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(["run", scenario.to_str().unwrap(), "--seed", "1", "--report"])
        .arg(&pages)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("report: not written"), "{stderr}");
    assert!(stderr.contains("hint: "), "{stderr}");
    assert!(!pages.exists() || std::fs::read_dir(&pages).unwrap().next().is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

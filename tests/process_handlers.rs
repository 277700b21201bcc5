//! Reflex handlers that run as child processes (`[[reflex]] command = [...]`), with the
//! machine's `python3`: the Python port of netcortex's `link_down`, run by the adapter,
//! answers as the builtin does; a restart really restarts the process; crashes, timeouts and
//! malformed answers are `errored` outcomes and the run goes on; a nondeterministic handler
//! is named; a handler that cannot start is bad input.
//!
//! Every test prints why and passes when `python3` is missing (CI has it).

use ripple::__private::preflight;
use ripple::{
    load_scenario, parse_scenario, FaultKind, Outcome, OutcomeKind, Record, RunOutcome, Runner,
    Scenario, Seed,
};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Whether `python3` (3.8 or newer) runs; prints why a test is skipped when not.
fn python3(test: &str) -> bool {
    let ok = Command::new("python3")
        .args([
            "-c",
            "import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        println!("{test}: skipped: python3 (3.8 or newer) is not on PATH");
    }
    ok
}

/// The netops scenario with the builtin `link_down` swapped for the Python port, run by the
/// adapter.
fn netops_with_python_link_down() -> Scenario {
    let path = root().join("scenarios/netops.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let builtin = "[[reflex]]\nbuiltin = \"link_down\"\ntenant = \"netops\"\n";
    assert!(
        text.contains(builtin),
        "netops declares the builtin link_down"
    );
    let python = "[[reflex]]\nid = \"link_down\"\ntenant = \"netops\"\npattern = \"sensory.link_down.>\"\ncommand = [\"python3\", \"../examples/python/ripple_adapter.py\", \"../examples/python/link_down.py\"]\n";
    parse_scenario(&text.replace(builtin, python), &path).unwrap_or_else(|e| panic!("{e}"))
}

/// A scenario in `tests/handlers/`, where the test handlers live.
fn handlers_scenario(name: &str, text: &str) -> Scenario {
    let path = root().join("tests/handlers").join(format!("{name}.toml"));
    parse_scenario(text, &path).unwrap_or_else(|e| panic!("{e}"))
}

fn kinds(outcomes: &[Outcome]) -> Vec<OutcomeKind> {
    outcomes.iter().map(|o| o.outcome).collect()
}

#[test]
fn the_python_link_down_answers_as_the_builtin_on_netops_for_100_seeds() {
    if !python3("the_python_link_down_answers_as_the_builtin_on_netops_for_100_seeds") {
        return;
    }
    let builtin = load_scenario(&root().join("scenarios/netops.toml")).unwrap();
    let python = netops_with_python_link_down();
    preflight(&python).unwrap_or_else(|e| panic!("{e}"));
    let mut restarts = 0;
    for swarm in [false, true] {
        let builtin = Runner::new(&builtin).swarm(swarm);
        let ported = Runner::new(&python).swarm(swarm);
        for seed in 0..100 {
            let expected = builtin.run(Seed(seed));
            let got = ported.run(Seed(seed));
            // Every field of every outcome (ids, targets, payloads, rationales, times).
            assert_eq!(got.outcomes, expected.outcomes, "seed {seed} swarm {swarm}");
            assert!(
                got.outcomes.iter().any(|o| o.handler == "link_down"),
                "seed {seed}: the Python handler answered"
            );
            // Hence the same trace, and the same again on a second run.
            assert_eq!(
                got.trace_hash, expected.trace_hash,
                "seed {seed} swarm {swarm}"
            );
            let again = Runner::new(&python).swarm(swarm).run(Seed(seed));
            assert_eq!(
                again.trace_hash, got.trace_hash,
                "seed {seed} swarm {swarm}"
            );
            restarts += got
                .records
                .iter()
                .filter(|r| {
                    matches!(
                        r,
                        Record::Fault {
                            fault: FaultKind::ReflexRestart,
                            ..
                        }
                    )
                })
                .count();
        }
    }
    assert!(restarts > 0, "some swarm seed restarts reflexes");
}

#[test]
fn a_sweep_on_two_threads_gives_each_thread_its_own_process_and_the_same_results() {
    if !python3("a_sweep_on_two_threads_gives_each_thread_its_own_process_and_the_same_results") {
        return;
    }
    let python = netops_with_python_link_down();
    let seeds: Vec<u64> = (0..24).collect();
    let runner = Runner::new(&python).swarm(true);
    let one = runner.sweep(&seeds, 1);
    let two = runner.sweep(&seeds, 2);
    let hashes =
        |r: &[ripple::SeedResult]| r.iter().map(|s| (s.seed, s.trace_hash)).collect::<Vec<_>>();
    assert_eq!(hashes(&one), hashes(&two));
}

const PID_SCENARIO: &str = r#"
[scenario]
name = "pid"
[[tenant]]
id = "t"
[[reflex]]
id = "pid"
pattern = "sensory.>"
command = ["python3", "../../examples/python/ripple_adapter.py", "pid.py"]
[[event]]
at = "0ms"
tenant = "t"
subject = "sensory.link_down.snmp_trap.r1"
[[event]]
at = "1s"
tenant = "t"
subject = "sensory.link_down.snmp_trap.r1"
[[event]]
at = "2s"
tenant = "t"
subject = "sensory.link_down.snmp_trap.r1"
"#;

fn pids(o: &RunOutcome) -> Vec<i64> {
    o.outcomes
        .iter()
        .map(|x| x.payload["pid"].as_i64().unwrap())
        .collect()
}

#[test]
fn a_reflex_restart_really_restarts_the_process_and_its_memory_is_lost() {
    if !python3("a_reflex_restart_really_restarts_the_process_and_its_memory_is_lost") {
        return;
    }
    let calm = handlers_scenario("pid", PID_SCENARIO);
    let o = Runner::new(&calm).run(Seed(0));
    assert_eq!(
        kinds(&o.outcomes),
        [
            OutcomeKind::Logged,
            OutcomeKind::Skipped,
            OutcomeKind::Skipped
        ]
    );
    let p = pids(&o);
    assert!(p.iter().all(|&x| x == p[0]), "one process: {p:?}");

    // The second delivery restarts the handler first.
    let restarted = handlers_scenario(
        "pid",
        &format!(
            "{PID_SCENARIO}\n[[fault]]\nkind = \"reflex_restart\"\nhandler = \"pid\"\nsubject = \"sensory.link_down.snmp_trap.r1\"\nnth = 2\n"
        ),
    );
    let o = Runner::new(&restarted).run(Seed(0));
    assert_eq!(
        kinds(&o.outcomes),
        [
            OutcomeKind::Logged,
            OutcomeKind::Logged,
            OutcomeKind::Skipped
        ],
        "the restarted process forgot the first event"
    );
    let p = pids(&o);
    assert_ne!(p[0], p[1], "a new process: {p:?}");
    assert_eq!(p[1], p[2], "which then remembers: {p:?}");
    // The process is really gone, not just told to forget.
    let alive = Command::new("kill")
        .args(["-0", &p[0].to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(!alive, "process {} still runs", p[0]);
}

const MISBEHAVE_SCENARIO: &str = r#"
[scenario]
name = "misbehave"
[[tenant]]
id = "t"
[[reflex]]
id = "misbehave"
pattern = "sensory.>"
command = ["python3", "misbehave.py"]
timeout = "1s"
wall_timeout = "1s"
"#;

/// What one delivery to `misbehave.py` must give: logged, or errored with this rationale and
/// diagnostic.
enum Want {
    Logged,
    Errored(&'static str, &'static str),
}

#[test]
fn crashes_timeouts_and_malformed_answers_are_errored_and_the_run_goes_on() {
    if !python3("crashes_timeouts_and_malformed_answers_are_errored_and_the_run_goes_on") {
        return;
    }
    use Want::*;
    let steps: [(&str, Want); 14] = [
        ("ok", Logged),
        (
            "crash",
            Errored(
                "handler process exited (exit status: 3)",
                "boom: the handler fell over",
            ),
        ),
        ("ok", Logged),
        (
            "hang",
            Errored("no answer within its 1s wall-clock guard", ""),
        ),
        ("ok", Logged),
        ("garbage", Errored("handler sent a malformed answer", "")),
        ("ok", Logged),
        (
            "raise",
            Errored("handler raised RuntimeError", "simulated handler failure"),
        ),
        ("ok", Logged),
        (
            "slow",
            Errored("handler used 5s of virtual time, over its budget of 1s", ""),
        ),
        ("ok", Logged),
        ("extra", Logged),
        // The line nobody asked for is found before the next answer, or read as it.
        ("ok", Errored("", "")),
        ("ok", Logged),
    ];
    let mut text = MISBEHAVE_SCENARIO.to_string();
    for (i, (what, _)) in steps.iter().enumerate() {
        text.push_str(&format!(
            "[[event]]\nat = \"{i}s\"\ntenant = \"t\"\nsubject = \"sensory.test.src.x\"\npayload = {{ do = \"{what}\", target = \"x1\" }}\n"
        ));
    }
    let s = handlers_scenario("misbehave", &text);
    let o = Runner::new(&s).run(Seed(0));
    assert_eq!(o.outcomes.len(), steps.len(), "{:#?}", o.outcomes);
    let mut processes = Vec::new();
    for ((what, want), outcome) in steps.iter().zip(&o.outcomes) {
        match want {
            Logged => {
                assert_eq!(outcome.outcome, OutcomeKind::Logged, "{what}: {outcome:?}");
                processes.push(outcome.target.clone().unwrap());
            }
            Errored(rationale, diagnostic) => {
                assert_eq!(outcome.outcome, OutcomeKind::Errored, "{what}: {outcome:?}");
                assert_eq!(outcome.severity.as_str(), "high");
                // As netcortex's runner: the target from the payload, an empty payload.
                assert_eq!(outcome.target.as_deref(), Some("x1"), "{what}");
                assert_eq!(*outcome.payload, serde_json::json!({}));
                assert!(
                    outcome.rationale.contains(rationale),
                    "{what}: {}",
                    outcome.rationale
                );
                assert!(
                    outcome.diagnostic.contains(diagnostic),
                    "{what}: {}",
                    outcome.diagnostic
                );
                assert!(outcome.diagnostic.len() <= 4096);
            }
        }
    }
    // A crash, a timeout, a malformed answer and an unasked line each cost the process (the
    // next delivery starts a new one); an exception and an overrun do not.
    processes.dedup();
    assert_eq!(processes.len(), 5, "{processes:?}");
    assert!(o.passed(), "{:?}", o.violations);
}

#[test]
fn a_nondeterministic_process_handler_is_named_by_the_determinism_check() {
    if !python3("a_nondeterministic_process_handler_is_named_by_the_determinism_check") {
        return;
    }
    let s = handlers_scenario(
        "dice",
        r#"
[scenario]
name = "dice"
[[tenant]]
id = "t"
[[reflex]]
id = "dice"
pattern = "sensory.>"
command = ["python3", "../../examples/python/ripple_adapter.py", "random_target.py"]
[[event]]
at = "0ms"
tenant = "t"
subject = "sensory.link_down.snmp_trap.r1"
"#,
    );
    let o = Runner::new(&s).run_twice(Seed(0));
    let v: Vec<_> = o
        .violations
        .iter()
        .filter(|v| v.invariant == "determinism")
        .collect();
    assert_eq!(v.len(), 1, "{:?}", o.violations);
    assert!(
        v[0].message
            .contains("where reflex handler `dice` answered"),
        "{}",
        v[0].message
    );
    assert!(
        v[0].message.contains("runs as a child process"),
        "{}",
        v[0].message
    );
}

#[test]
fn the_flap_example_opens_an_incident_from_python() {
    if !python3("the_flap_example_opens_an_incident_from_python") {
        return;
    }
    let s = load_scenario(&root().join("examples/python/flap.toml")).unwrap();
    let o = Runner::new(&s).run_twice(Seed(1));
    assert!(o.passed(), "{:?}", o.violations);
    let applied = o
        .outcomes
        .iter()
        .filter(|x| x.outcome == OutcomeKind::Applied)
        .count();
    assert_eq!(applied, 2);
}

#[test]
fn a_handler_that_cannot_start_is_bad_input_with_its_place_and_its_stderr() {
    if !python3("a_handler_that_cannot_start_is_bad_input_with_its_place_and_its_stderr") {
        return;
    }
    let dir = root().join("tests/handlers");
    let text = "[scenario]\nname = \"broken\"\n[[tenant]]\nid = \"t\"\n[[reflex]]\nid = \"broken\"\npattern = \"sensory.>\"\ncommand = [\"python3\", \"../../examples/python/ripple_adapter.py\", \"broken.py\"]\n";
    let s = parse_scenario(text, &dir.join("broken.toml")).unwrap();
    let e = preflight(&s).unwrap_err();
    assert_eq!((e.line, e.column), (8, 11), "{e}");
    assert!(
        e.message.contains("failed to start reflex \"broken\""),
        "{e}"
    );
    assert!(e.message.contains("exit status: 2"), "{e}");
    assert!(e.message.contains("ZeroDivisionError"), "{e}");
    assert!(e.hint.as_deref().unwrap_or("").contains("ready"), "{e}");

    // The CLI: exit status 2, the place first.
    let file = std::env::temp_dir().join(format!("ripple-broken-{}.toml", std::process::id()));
    let absolute = text.replace(
        "\"../../examples/python/ripple_adapter.py\", \"broken.py\"",
        &format!(
            "{:?}, {:?}",
            root().join("examples/python/ripple_adapter.py"),
            dir.join("broken.py")
        ),
    );
    std::fs::write(&file, absolute).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(["run", file.to_str().unwrap()])
        .output()
        .unwrap();
    std::fs::remove_file(&file).unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "error: {}:8:11: failed to start reflex",
            file.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_process_handler_answers_through_a_scenario_written_back_by_the_emitter() {
    if !python3("a_process_handler_answers_through_a_scenario_written_back_by_the_emitter") {
        return;
    }
    let original = handlers_scenario("pid", PID_SCENARIO);
    let text = ripple::emit_scenario(&original, "");
    // Written elsewhere: `dir` is absolute, so the command still finds its files.
    let again = parse_scenario(&text, Path::new("/tmp/elsewhere.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    let a = Runner::new(&original).run(Seed(0));
    let b = Runner::new(&again).run(Seed(0));
    assert_eq!(kinds(&a.outcomes), kinds(&b.outcomes));
    assert_eq!(a.trace_hash, b.trace_hash);
}

//! Temper apps as they are: I/O-automaton specs, rule files for either of temper's engines,
//! integrations as seeded choices, spec invariants, `ripple init --temper`.
//!
//! The fixtures under `tests/fixtures/temper/` are Ripple's own small files in the shape of
//! every `*.ioa.toml` and rule file under three folders of nerdsane/temper, one fixture per
//! real file, each exercising the constructs its real file uses (its header says which):
//! `os-apps/temper-fs/` (specs/directory, file, file_version, workspace; reactions/
//! reactions.toml), `crates/temper-agents/specs/` (agent, agent_definition, process,
//! tool_router; agent.reactions.toml, process.reactions.toml) and `test-fixtures/specs/`
//! (agent_definition, approval, compactor, context_manager, directory, gmail_oauth, issue,
//! keyed_doc, message, order, process, process_api_only, program_definition, subscription,
//! ticket, vectored_item; process.reactions.toml). The real files were read with the
//! search tools; every construct in them loads here.
//!
//! What loads but is not simulated (a warning with its place, never a silent drop):
//! `[automaton.timeouts]` and `[[state_timeout]]` (no run times a state out yet),
//! `[[liveness]]` and `allow_indefinite_states` (a finite run cannot show liveness),
//! `[[webhook]]` and `[[agent_trigger]]` (inbound inputs: `[[event]]`s stand in for them),
//! `[[key]]` and `[[vector]]` (indexes), state variables' storage knobs; a param named like
//! a counter or bool (temper keeps the two apart, Ripple merges the param into the field);
//! `var += n` (temper's line parser ignores it; Ripple applies it); a runtime-engine rule
//! keyed on a name its source never produces (it never fires, in temper too); a rule that
//! hands a trigger to the actor implementing an integration (Ripple simulates the
//! integration itself). Not supported, an error with its place (none of the files above use
//! them): `[[field_invariant]]` and `[admission]` (temper enforces them on every action),
//! cross-entity and list guards on actions, `spawn`, `schedule_at` and list effects.

use ripple::{check_scenario, CheckOptions, FindingKind};
use ripple::{failure_signature, Record, RunOutcome, Runner, Seed};
use ripple::{load_scenario, parse_scenario, Scenario, SourceError};
use ripple::{shrink, ShrinkBudget};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// One run of `scenario` under `seed`, keeping every record.
fn run(scenario: &Scenario, seed: Seed) -> RunOutcome {
    Runner::new(scenario).run(seed)
}

fn fixtures() -> PathBuf {
    root().join("tests/fixtures/temper")
}

/// A scenario text at `tests/fixtures/temper/scenario.toml` (so that its paths are relative
/// to the fixtures).
fn parse(text: &str) -> Result<Scenario, SourceError> {
    parse_scenario(text, &fixtures().join("scenario.toml"))
}

fn specs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            specs_under(&p, out);
        } else if p.to_string_lossy().ends_with(".ioa.toml") {
            out.push(p);
        }
    }
}

/// Each fixture spec, alone in a scenario: it loads, and it warns exactly about the
/// constructs its real file uses that Ripple reads but does not simulate.
#[test]
fn every_fixture_spec_loads_as_it_is() {
    let expected: BTreeMap<&str, &[&str]> = [
        (
            "temper-fs/specs/workspace.ioa.toml",
            &["param \"quota_limit\" has the name of a counter"][..],
        ),
        (
            "temper-agents/specs/agent.ioa.toml",
            &["[automaton.timeouts]"][..],
        ),
        (
            "temper-agents/specs/agent_definition.ioa.toml",
            &["temper's spec parser has no `+=` form"][..],
        ),
        (
            "temper-agents/specs/process.ioa.toml",
            &["[automaton.timeouts]"][..],
        ),
        (
            "test-fixtures/specs/agent_definition.ioa.toml",
            &["temper's spec parser has no `+=` form"][..],
        ),
        (
            "test-fixtures/specs/directory.ioa.toml",
            &["allow_indefinite_states", "[[key]]"][..],
        ),
        (
            "test-fixtures/specs/gmail_oauth.ioa.toml",
            &["[[webhook]]", "[[liveness]]"][..],
        ),
        ("test-fixtures/specs/keyed_doc.ioa.toml", &["[[key]]"][..]),
        ("test-fixtures/specs/order.ioa.toml", &["[[key]]"][..]),
        (
            "test-fixtures/specs/process.ioa.toml",
            &["[[state_timeout]]"][..],
        ),
        ("test-fixtures/specs/ticket.ioa.toml", &["[[liveness]]"][..]),
        (
            "test-fixtures/specs/vectored_item.ioa.toml",
            &["[[vector]]"][..],
        ),
    ]
    .into_iter()
    .collect();
    let mut specs = Vec::new();
    specs_under(&fixtures(), &mut specs);
    assert_eq!(specs.len(), 24, "one fixture per real spec: {specs:?}");
    for spec in specs {
        let rel = spec
            .strip_prefix(fixtures())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text =
            format!("[scenario]\nname = \"one\"\n\n[[tenant]]\nid = \"t\"\nspecs = [\"{rel}\"]\n");
        let s = parse(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(s.spec_types.len(), 1, "{rel}");
        let want = expected.get(rel.as_str()).copied().unwrap_or(&[]);
        for w in want {
            assert!(
                s.warnings.iter().any(|x| x.contains(w)),
                "{rel}: no warning about {w}: {:?}",
                s.warnings
            );
        }
        for w in &s.warnings {
            assert!(w.contains(&rel) && w.contains(": warning: "), "{rel}: {w}");
            assert!(
                want.iter().any(|x| w.contains(x)),
                "{rel}: unexpected warning {w}"
            );
        }
    }
}

#[test]
fn a_spec_becomes_an_entity_with_fields_invariants_and_integrations() {
    let text = "[scenario]\nname = \"x\"\n[[tenant]]\nid = \"t\"\nspecs = [\"test-fixtures/specs/gmail_oauth.ioa.toml\", \"test-fixtures/specs/ticket.ioa.toml\"]\n";
    let s = parse(text).unwrap();
    let names: Vec<&str> = s.spec_invariants.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["spec:Ticket.terminal", "spec:Ticket.ResolvedNeedsReply"]
    );
    let ticket = &s.entities["Ticket"];
    assert_eq!(ticket.fields_initial["replies"], serde_json::json!(0));
    // on_success / on_failure are the answers; a schedule is an integration of its own.
    let exchange = s
        .integrations
        .iter()
        .find(|i| i.name == "exchange_code")
        .unwrap();
    let answers: Vec<&str> = exchange.answers.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(answers, vec!["ExchangeSucceeded", "ExchangeFailed"]);
    assert!(s.integration_rule_names().contains("schedule:RefreshToken"));
}

fn fs_app(reactions: &str) -> String {
    format!(
        r#"[scenario]
name = "temper-fs"

[[tenant]]
id = "fs"
specs = ["temper-fs/specs/*.ioa.toml"]
reactions = [{reactions}]

[[event]]
at = "0ms"
tenant = "fs"
dispatch = {{ entity_type = "Workspace", id = "w1", action = "Create", params = {{ name = "home", quota_limit = 100 }} }}

[[event]]
at = "1ms"
tenant = "fs"
dispatch = {{ entity_type = "File", id = "f1", action = "Create", params = {{ name = "a.txt", workspace_id = "w1" }} }}

[[event]]
at = "2ms"
tenant = "fs"
dispatch = {{ entity_type = "File", id = "f1", action = "StreamUpdated", params = {{ content_hash = "h1", size = 40 }} }}
"#
    )
}

/// temper-fs's rule file spells resolvers in PascalCase: the server's dispatcher (the
/// default) rejects it with the hint it always gave; declared for the runtime engine, it
/// loads, keys on actions, and `CreateIfMissing` derives an id when the field is missing.
#[test]
fn temper_fs_runs_with_its_rule_file_on_the_runtime_engine() {
    let e = parse(&fs_app("\"temper-fs/reactions/reactions.toml\"")).unwrap_err();
    assert!(
        e.message
            .contains("unknown resolver type `CreateIfMissing`"),
        "{e}"
    );
    assert_eq!(
        e.hint.as_deref(),
        Some("types are snake_case and spelled exactly as listed")
    );
    assert!(e.file.ends_with("reactions.toml") && e.line > 0, "{e}");

    let s = parse(&fs_app(
        r#"{ path = "temper-fs/reactions/reactions.toml", engine = "runtime" }"#,
    ))
    .unwrap();
    assert!(
        s.warnings.iter().all(|w| w.contains("quota_limit")),
        "{:?}",
        s.warnings
    );
    let o = run(&s, Seed(1));
    assert!(o.passed(), "{:?}", o.violations);
    let entity = |ty: &str, id: &str| {
        o.entities
            .iter()
            .find(|e| e.entity_type == ty && e.id.as_str() == id)
            .unwrap_or_else(|| panic!("{ty}/{id}: {:?}", o.entities))
    };
    let file = entity("File", "f1");
    assert_eq!(file.status, "Ready");
    assert_eq!(
        file.fields.get("has_content"),
        Some(&serde_json::json!(true))
    );
    assert_eq!(
        file.fields.get("version_count"),
        Some(&serde_json::json!(1))
    );
    let version = entity("FileVersion", "f1-derived");
    assert_eq!(
        version.fields.get("file_id"),
        Some(&serde_json::json!("a.txt"))
    );
    let ws = entity("Workspace", "w1");
    assert_eq!(ws.fields.get("used_bytes"), Some(&serde_json::json!(40)));
    assert_eq!(ws.fields.get("quota_limit"), Some(&serde_json::json!(100)));
}

/// The usage bound of temper-fs's workspace is a spec invariant a run can break.
#[test]
fn a_broken_spec_invariant_is_reported_under_its_name() {
    let text = fs_app(r#"{ path = "temper-fs/reactions/reactions.toml", engine = "runtime" }"#)
        .replace("size = 40", "size = 400");
    let o = run(&parse(&text).unwrap(), Seed(1));
    let names: Vec<&str> = o.violations.iter().map(|v| v.invariant.as_str()).collect();
    assert_eq!(
        names,
        vec!["spec:Workspace.UsageBelowQuota"],
        "{:?}",
        o.violations
    );
    assert!(
        o.violations[0].message.contains("used_bytes = 400"),
        "{}",
        o.violations[0].message
    );
}

fn agents_app() -> String {
    r#"[scenario]
name = "agents"

[[tenant]]
id = "agent"
specs = ["temper-agents/specs/agent.ioa.toml", "temper-agents/specs/tool_router.ioa.toml", "test-fixtures/specs/context_manager.ioa.toml", "test-fixtures/specs/compactor.ioa.toml"]
reactions = [{ path = "temper-agents/specs/agent.reactions.toml", engine = "runtime" }]

[[tenant]]
id = "process"
specs = ["temper-agents/specs/process.ioa.toml"]
reactions = [{ path = "temper-agents/specs/process.reactions.toml", engine = "runtime" }]

# Context is always ready, the LLM never fails, tools always finish: the loop's happy path,
# with the LLM choosing between a final answer and a tool round.
[[integration]]
name = "assemble_context"
answers = { ContextOverflow = 0, AssemblyFailed = 0 }

[[integration]]
name = "invoke_llm"
entity_type = "Agent"
answers = { InferenceFailed = 0 }

[[integration]]
name = "execute_tool_batch"
answers = { ToolCallBatchFailed = 0, BatchNeedsApproval = 0 }

[[event]]
at = "0ms"
tenant = "agent"
dispatch = { entity_type = "Agent", id = "a1", action = "Initialize" }

[[event]]
at = "1ms"
tenant = "agent"
dispatch = { entity_type = "Agent", id = "a1", action = "StartProcess", params = { user_prompt = "hi" } }
"#
    .to_string()
}

/// temper-agents' rule files: emit- and trigger-keyed, PascalCase; the rules that hand
/// triggers to integration actors are left out (Ripple simulates those integrations), the
/// one keyed on a name nothing produces is kept and never fires, both with warnings.
#[test]
fn temper_agents_rule_files_wire_the_agent_loop() {
    let s = parse(&agents_app()).unwrap();
    let wiring = s
        .warnings
        .iter()
        .filter(|w| w.contains("so the rule is left out"))
        .count();
    assert_eq!(wiring, 8, "{:#?}", s.warnings);
    let never = s
        .warnings
        .iter()
        .filter(|w| w.contains("it never fires"))
        .count();
    assert_eq!(never, 2, "{:#?}", s.warnings);
    // A seed on which the whole chain runs: context, inference, tools, inference, answer.
    let mut full_chain = 0;
    for seed in 0..60 {
        let o = run(&s, Seed(seed));
        assert!(o.passed(), "seed {seed}: {:?}", o.violations);
        let agent = o
            .entities
            .iter()
            .find(|e| e.entity_type == "Agent")
            .unwrap();
        if agent.status == "Ready" && agent.fields.get("turns") == Some(&serde_json::json!(2)) {
            full_chain += 1;
        }
    }
    assert!(
        full_chain > 0,
        "no seed ran the agent through a tool round and back"
    );
}

#[test]
fn test_fixtures_process_rules_load() {
    let text = r#"[scenario]
name = "p"
[[tenant]]
id = "t"
specs = ["test-fixtures/specs/process.ioa.toml", "test-fixtures/specs/context_manager.ioa.toml", "test-fixtures/specs/compactor.ioa.toml", "temper-agents/specs/tool_router.ioa.toml"]
reactions = [{ path = "test-fixtures/specs/process.reactions.toml", engine = "runtime" }]
"#;
    let s = parse(text).unwrap();
    assert_eq!(s.runtime_rules.values().map(Vec::len).sum::<usize>(), 10);
    let left_out = s.warnings.iter().filter(|w| w.contains("left out")).count();
    assert_eq!(left_out, 6, "{:#?}", s.warnings);
}

/// An integration's answers are drawn per call from the seed: the same seed, the same
/// answers; a weight of 0 is never drawn; faults drop answers like any reaction message.
#[test]
fn integration_answers_are_seeded_choices_that_faults_reach() {
    let base = r#"[scenario]
name = "llm"
[[tenant]]
id = "agent"
specs = ["temper-agents/specs/agent.ioa.toml", "temper-agents/specs/tool_router.ioa.toml", "test-fixtures/specs/context_manager.ioa.toml", "test-fixtures/specs/compactor.ioa.toml"]
reactions = [{ path = "temper-agents/specs/agent.reactions.toml", engine = "runtime" }]

[[integration]]
name = "invoke_llm"
answers = { InferenceCompleteToolCalls = 0 }
delay = { min = "1s", max = "2s" }

[[event]]
at = "0ms"
tenant = "agent"
dispatch = { entity_type = "Agent", id = "a1", action = "Initialize" }

[[event]]
at = "1ms"
tenant = "agent"
dispatch = { entity_type = "Agent", id = "a1", action = "StartProcess" }
"#;
    let s = parse(base).unwrap();
    let mut seen = BTreeMap::new();
    for seed in 0..100 {
        let a = run(&s, Seed(seed));
        let b = run(&s, Seed(seed));
        assert_eq!(a.trace_hash, b.trace_hash);
        for r in &a.records {
            if let Record::Reaction { rule, .. } = r {
                if rule.starts_with("integration:invoke_llm/") {
                    *seen.entry(rule.to_string()).or_insert(0) += 1;
                }
            }
        }
    }
    assert!(
        !seen.contains_key("integration:invoke_llm/InferenceCompleteToolCalls"),
        "{seen:?}"
    );
    assert!(seen.len() == 2, "both other answers drawn: {seen:?}");

    let dropping = base.replacen("[[event]]", "[faults]\ndrop = 1.0\n\n[[event]]", 1);
    let s = parse(&dropping).unwrap();
    let o = run(&s, Seed(3));
    let agent = o
        .entities
        .iter()
        .find(|e| e.entity_type == "Agent")
        .unwrap();
    assert_eq!(
        agent.status, "PreparingContext",
        "every reaction and answer was dropped"
    );
    assert!(o.records.iter().any(|r| matches!(r, Record::Fault { .. })));
}

/// `[[answer]]` pins a call's answer: the run takes it whatever the seed draws.
#[test]
fn a_pinned_answer_overrides_the_draw() {
    let text = format!(
        "{}\n[[answer]]\nintegration = \"invoke_llm\"\ntarget = \"Agent/a1\"\nanswer = \"InferenceFailed\"\ndelay = \"5ms\"\n",
        agents_app()
    );
    let s = parse(&text).unwrap();
    for seed in 0..10 {
        let o = run(&s, Seed(seed));
        let agent = o
            .entities
            .iter()
            .find(|e| e.entity_type == "Agent")
            .unwrap();
        // Its weight is 0, yet the pinned first call answers InferenceFailed.
        assert_eq!(agent.status, "Failed", "seed {seed}: {agent:?}");
    }
    let e = parse(&text.replace("answer = \"InferenceFailed\"", "answer = \"Nope\"")).unwrap_err();
    assert!(
        e.message.contains("is not an answer of Agent.invoke_llm"),
        "{e}"
    );
    // A second pin of the same call could never apply: an error with its place.
    let twice = format!(
        "{text}\n[[answer]]\nintegration = \"invoke_llm\"\ntarget = \"Agent/a1\"\nnth = 1\nanswer = \"InferenceFailed\"\n"
    );
    let e = parse(&twice).unwrap_err();
    assert!(
        e.message
            .contains("call 1 of invoke_llm on Agent/a1 is pinned twice"),
        "{e}"
    );
    assert!(e.line > 0, "{e:?}");
}

fn agent_loop() -> Scenario {
    load_scenario(&root().join("scenarios/agent_loop.toml")).unwrap()
}

/// The shipped agent loop: a sweep finds the turn-budget bug its spec carries, every failing
/// seed reproduces, and the shrunk scenario fails the same way.
#[test]
fn the_agent_loop_turn_budget_is_found_by_a_sweep_and_shrunk() {
    let s = agent_loop();
    let failing: Vec<u64> = (0..300)
        .filter(|&seed| !run(&s, Seed(seed)).passed())
        .collect();
    // It takes an LLM that keeps asking for tools: some seeds, far from all.
    assert!(!failing.is_empty() && failing.len() < 150, "{failing:?}");
    for &seed in &failing {
        let o = run(&s, Seed(seed));
        let signature = failure_signature(&o).map(|s| s.to_string());
        assert!(
            signature
                .as_deref()
                .is_some_and(|s| s.starts_with("spec:Agent.TurnBudget@tools_done_to_agent [")),
            "{signature:?}"
        );
    }
    let seed = Seed(failing[0]);
    let budget = ShrinkBudget {
        runs_max: 500,
        time_max: Duration::from_secs(60),
    };
    let result = shrink(&s, seed, false, budget, &mut |_| {}).unwrap();
    assert!(
        result.after.events < s.events.len(),
        "{} -> {}",
        result.before,
        result.after
    );
    let again = run(&result.minimal, seed);
    assert_eq!(failure_signature(&again), Some(result.signature));
}

/// The model checker explores every integration answer as a branch, finds the same bug,
/// and writes a counterexample that `ripple run` replays.
#[test]
fn the_model_checker_explores_integration_answers() {
    let s = agent_loop();
    let out = std::env::temp_dir().join(format!("ripple-temper-check-{}", std::process::id()));
    let options = CheckOptions {
        states_max: 100_000,
        timeout: Duration::from_secs(120),
        out_dir: Some(out.clone()),
        ..CheckOptions::default()
    };
    let text = std::fs::read_to_string(&s.path).unwrap();
    let report = check_scenario(&s, Some(&text), &options);
    let cascade = report.models.iter().find(|m| m.name == "cascade").unwrap();
    assert!(cascade.complete);
    let v: Vec<_> = report
        .findings()
        .filter(|f| f.kind == FindingKind::Violation)
        .collect();
    assert_eq!(v.len(), 1, "{:#?}", report.findings().collect::<Vec<_>>());
    assert!(
        v[0].message.starts_with("spec:Agent.TurnBudget"),
        "{}",
        v[0].message
    );
    assert!(v[0]
        .path
        .iter()
        .any(|p| p.contains("answers Agent/a1 with WantsTools")));
    assert_eq!(
        v[0].replays,
        Some(true),
        "the counterexample pins its answers and replays"
    );
    assert_eq!(
        report
            .findings()
            .filter(|f| f.kind == FindingKind::OrderDependent)
            .count(),
        0
    );
    let _ = std::fs::remove_dir_all(out);
}

fn ripple(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("the ripple binary runs")
}

/// `ripple init --temper APP_DIR` writes a scenario wired to the app, which runs.
#[test]
fn init_writes_a_scenario_that_runs() {
    let dir = std::env::temp_dir().join(format!("ripple-init-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("agents.toml");
    let app = fixtures().join("temper-agents");
    let o = ripple(&[
        "init",
        "--temper",
        app.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    // temper-agents' rule files name types of test-fixtures (ContextManager, Compactor):
    // init leaves them out, saying why, and the rest loads and runs.
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("# not loaded: ")
            && text.contains("\"ContextManager\" is not a declared entity type"),
        "{text}"
    );
    assert!(text.contains("[[integration]]\nname = \"invoke_llm\"\nentity_type = \"Agent\"\nanswers = { InferenceCompleteEndTurn = 1, InferenceCompleteToolCalls = 1, InferenceFailed = 1 }"), "{text}");
    let o = ripple(&["run", out.to_str().unwrap(), "--seed", "1"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::remove_file(&out).unwrap();

    // Two specs of one type (test-fixtures has two Process specs): the first is loaded.
    let app = fixtures().join("test-fixtures");
    let o = ripple(&[
        "init",
        "--temper",
        app.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.contains("process_api_only.ioa.toml: it defines Process too"),
        "{text}"
    );
    std::fs::remove_file(&out).unwrap();

    let app = fixtures().join("temper-fs");
    let o = ripple(&[
        "init",
        "--temper",
        app.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("engine = \"runtime\""), "{text}");
    assert!(text.contains("# dispatch = { entity_type = \"Workspace\", id = \"workspace-1\", action = \"Create\", params = { name = \"name-1\", quota_limit = \"quota_limit-1\" } }"), "{text}");
    let o = ripple(&["run", out.to_str().unwrap(), "--seed", "1"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // Uncommented, the sample events drive the app.
    let live = text
        .replace("# [[event]]", "[[event]]")
        .replace("# at = ", "at = ")
        .replace("# tenant = ", "tenant = ")
        .replace("# dispatch = ", "dispatch = ");
    std::fs::write(&out, live).unwrap();
    let o = ripple(&["run", out.to_str().unwrap(), "--seed", "1"]);
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = ripple(&[
        "init",
        "--temper",
        app.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "refuses to overwrite");
    let _ = std::fs::remove_dir_all(dir);
}

/// Bad temper input is an error with file, line and column, and the CLI exits 2.
#[test]
fn bad_temper_input_names_the_place() {
    let dir = std::env::temp_dir().join(format!("ripple-temper-bad-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("specs")).unwrap();
    let spec = "[automaton]\nname = \"Doc\"\nstates = [\"A\", \"B\"]\ninitial = \"A\"\n\n[[state]]\nname = \"n\"\ntype = \"counter\"\ninitial = \"0\"\n\n[[action]]\nname = \"Go\"\nfrom = [\"A\"]\nto = \"B\"\nguard = \"m > 0\"\n";
    std::fs::write(dir.join("specs/doc.ioa.toml"), spec).unwrap();
    let scenario = dir.join("s.toml");
    std::fs::write(
        &scenario,
        "[scenario]\nname = \"bad\"\n[[tenant]]\nid = \"t\"\nspecs = [\"specs/*.ioa.toml\"]\n",
    )
    .unwrap();
    let o = ripple(&["run", scenario.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(
            "doc.ioa.toml:15:10: action Go: guard \"m > 0\": `m` is not a declared state variable"
        ),
        "{err}"
    );
    assert!(err.contains("hint: declared: n (counter)"), "{err}");

    // A server rule keyed on an emitted event points at the runtime engine.
    let emitting = spec.replace(
        "guard = \"m > 0\"",
        "effect = [{ type = \"emit\", event = \"Went\" }]",
    );
    std::fs::write(dir.join("specs/doc.ioa.toml"), emitting).unwrap();
    std::fs::write(dir.join("r.toml"), "[[reaction]]\nname = \"r\"\n[reaction.when]\nentity_type = \"Doc\"\naction = \"Went\"\n[reaction.then]\nentity_type = \"Doc\"\naction = \"Go\"\n[reaction.resolve_target]\ntype = \"same_id\"\n").unwrap();
    std::fs::write(&scenario, "[scenario]\nname = \"bad\"\n[[tenant]]\nid = \"t\"\nspecs = [\"specs/*.ioa.toml\"]\nreactions = [\"r.toml\"]\n").unwrap();
    let e = load_scenario(&scenario).unwrap_err();
    assert!(
        e.message.contains("is an event Doc emits, not an action"),
        "{e}"
    );
    assert!(e.hint.unwrap().contains("engine = \"runtime\""));

    // A glob that matches nothing, at its place in the scenario.
    std::fs::write(
        &scenario,
        "[scenario]\nname = \"bad\"\n[[tenant]]\nid = \"t\"\nspecs = [\"nope/*.ioa.toml\"]\n",
    )
    .unwrap();
    let e = load_scenario(&scenario).unwrap_err();
    assert_eq!((e.line, e.column), (5, 10), "{e}");
    assert!(e.message.contains("matches no file"), "{e}");
    let _ = std::fs::remove_dir_all(dir);
}

/// `[[entity]]` gains initial fields; a scenario with specs writes back naming its files,
/// and loads again to the same runs.
#[test]
fn initial_fields_and_temper_files_round_trip_through_the_emitter() {
    let text = format!(
        "{}\n[[entity]]\ntype = \"Note\"\nstates = [\"Open\"]\ninitial = \"Open\"\nfields = {{ pages = 0, tag = \"x\" }}\n[[entity.action]]\nname = \"Write\"\neffect = [\"increment pages\"]\n\n[[event]]\nat = \"3ms\"\ntenant = \"fs\"\ndispatch = {{ entity_type = \"Note\", id = \"n1\", action = \"Write\" }}\n",
        fs_app(r#"{ path = "temper-fs/reactions/reactions.toml", engine = "runtime" }"#)
    );
    let s = parse(&text).unwrap();
    let o = run(&s, Seed(2));
    let note = o.entities.iter().find(|e| e.entity_type == "Note").unwrap();
    assert_eq!(note.fields.get("pages"), Some(&serde_json::json!(1)));
    assert_eq!(note.fields.get("tag"), Some(&serde_json::json!("x")));
    let written = ripple::emit_scenario(&s, "");
    assert!(written.contains("engine = \"runtime\""), "{written}");
    assert!(
        !written.contains("[[entity]]\ntype = \"Workspace\""),
        "spec types are not written out: {written}"
    );
    let again = parse(&written).unwrap();
    for seed in 0..5 {
        assert_eq!(
            run(&s, Seed(seed)).trace_hash,
            run(&again, Seed(seed)).trace_hash
        );
    }
}

/// A `schedule` effect dispatches the entity's own action after its delay, in virtual time.
#[test]
fn a_scheduled_action_fires_after_its_delay() {
    let text = r#"[scenario]
name = "mail"
until = "2h"
[[tenant]]
id = "t"
specs = ["test-fixtures/specs/gmail_oauth.ioa.toml"]

[[integration]]
name = "exchange_code"
answers = { ExchangeFailed = 0 }

[[integration]]
name = "refresh_token"
answers = { RefreshSucceeded = 0 }

[[event]]
at = "0ms"
tenant = "t"
dispatch = { entity_type = "MailAuth", id = "m1", action = "Callback", params = { code = "c" } }
"#;
    let s = parse(text).unwrap();
    let o = run(&s, Seed(1));
    assert!(o.passed(), "{:?}", o.violations);
    let refresh = o
        .records
        .iter()
        .find_map(|r| match r {
            Record::Reaction { at, rule, .. } if rule == "schedule:RefreshToken" => Some(*at),
            _ => None,
        })
        .expect("the scheduled refresh ran");
    // 2700 s after the exchange answered (within its first second).
    assert!((2_700_000..2_701_000).contains(&refresh.ms()), "{refresh}");
    let m = o
        .entities
        .iter()
        .find(|e| e.entity_type == "MailAuth")
        .unwrap();
    assert_eq!(
        m.status, "Expired",
        "the refresh failed: the one answer left"
    );
}

/// `tests/fixtures/answers/payout.toml` with `extra` inserted before its first event, written
/// next to the fixture (so that its spec path holds) under a name of this process; removed
/// by the caller.
fn payout_with(name: &str, extra: &str) -> PathBuf {
    let dir = root().join("tests/fixtures/answers");
    let text = std::fs::read_to_string(dir.join("payout.toml")).unwrap();
    let text = text.replacen("[[event]]", &format!("{extra}\n[[event]]"), 1);
    let path = dir.join(format!("{name}-{}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

fn text_of(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A `[[fault]]` schedule may name an integration's answer by its rule
/// (`integration:<name>/<answer>`); a duplicate of it that fails `ripple run` on every seed
/// fails `ripple check`, completely explored.
#[test]
fn a_scheduled_duplicate_answer_that_fails_runs_fails_the_check() {
    let scenario = payout_with(
        "scheduled",
        "[[fault]]\nkind = \"duplicate\"\nrule = \"integration:bank_transfer/Transferred\"\ntarget = \"Payout/p1\"\ndelay = \"5ms\"\n",
    );
    let s = load_scenario(&scenario).unwrap();
    for seed in 0..5 {
        let outcome = run(&s, Seed(seed));
        assert!(!outcome.passed(), "seed {seed} passed");
    }
    let out = std::env::temp_dir().join(format!("ripple-answer-sched-{}", std::process::id()));
    let o = ripple(&[
        "check",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--require-complete",
    ]);
    std::fs::remove_file(&scenario).unwrap();
    let text = text_of(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("spec:Payout.PaidOnce"), "{text}");
    assert!(text.contains("(replayed: fails as found)"), "{text}");
    let _ = std::fs::remove_dir_all(&out);
}

/// An `[[answer]]` pin fixes its call's answer in the check as in a run: pinning the
/// agent's first LLM call to `LlmFailed` leaves no path to the turn budget's violation.
#[test]
fn a_pinned_answer_is_the_checks_only_choice_for_its_call() {
    let options = CheckOptions {
        walk_seed: None,
        ..CheckOptions::default()
    };
    let cascade = |s: &Scenario| {
        check_scenario(s, None, &options)
            .models
            .into_iter()
            .find(|m| m.name == "cascade")
            .unwrap()
    };
    let free = cascade(&agent_loop());
    assert!(free.complete);
    assert!(free
        .findings
        .iter()
        .any(|f| f.message.contains("spec:Agent.TurnBudget")));
    let mut pinned = agent_loop();
    pinned.answers = vec![ripple::PinnedAnswer {
        integration: "invoke_llm".into(),
        target: "Agent/a1".into(),
        nth: 1,
        answer: "LlmFailed".into(),
        delay_ms: None,
    }];
    let m = cascade(&pinned);
    assert!(m.complete, "{:?}", m.notes);
    assert!(m.unique_states < free.unique_states);
    assert!(
        !m.findings
            .iter()
            .any(|f| f.message.contains("spec:Agent.TurnBudget")),
        "{:?}",
        m.findings
    );
}

/// With a schedule that names an answer, calls of one integration on one entity are answered
/// in call order (a run counts an answer's occurrence at its call): two calls waiting at
/// once leave orders out, and the check says `incomplete`, never `pass`.
#[test]
fn answers_to_overlapping_calls_under_a_schedule_are_incomplete() {
    let scenario = payout_with(
        "overlap",
        "[[fault]]\nkind = \"duplicate\"\nrule = \"integration:bank_transfer/Transferred\"\ntarget = \"Payout/p1\"\nnth = 5\ndelay = \"5ms\"\n\n[[event]]\nat = \"1ms\"\ntenant = \"bank\"\ndispatch = { entity_type = \"Payout\", id = \"p1\", action = \"Resend\" }\n",
    );
    let s = load_scenario(&scenario).unwrap();
    std::fs::remove_file(&scenario).unwrap();
    let options = CheckOptions {
        walk_seed: None,
        ..CheckOptions::default()
    };
    let m = check_scenario(&s, None, &options)
        .models
        .into_iter()
        .find(|m| m.name == "cascade")
        .unwrap();
    assert!(!m.complete, "{:?}", m.notes);
    assert!(
        m.notes
            .iter()
            .any(|n| n.starts_with("not explored: two calls of one integration")),
        "{:?}",
        m.notes
    );
}

/// `ripple check --require-complete` of the payout fixture with `faults` (a `[faults]`
/// table): it fails with `step` on the path to `property`, and the scenario it writes for
/// it replays failing under the check, holds `entry`, and fails `ripple run` with
/// `run_says`. Returns that file and the check's output (the scratch folder is the
/// caller's to remove).
fn payout_counterexample(
    name: &str,
    faults: &str,
    step: &str,
    property: &str,
    entry: &str,
    run_says: &str,
) -> (PathBuf, PathBuf, String) {
    let scenario = payout_with(name, faults);
    let out = std::env::temp_dir().join(format!("ripple-answer-{name}-{}", std::process::id()));
    let o = ripple(&[
        "check",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--require-complete",
    ]);
    let text = text_of(&o);
    let stem = scenario.file_stem().unwrap().to_string_lossy().into_owned();
    std::fs::remove_file(&scenario).unwrap();
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains(step), "{text}");
    assert!(text.contains("(replayed: fails as found)"), "{text}");
    assert!(!text.contains("incomplete"), "{text}");
    let written = out.join(format!("{stem}-{property}.toml"));
    let body = std::fs::read_to_string(&written).unwrap();
    assert!(body.contains(entry), "{body}");
    assert!(
        body.contains("[[answer]]\nintegration = \"bank_transfer\""),
        "{body}"
    );
    let run = ripple(&["run", written.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1), "{}", text_of(&run));
    assert!(text_of(&run).contains(run_says), "{}", text_of(&run));
    (written, out, text)
}

/// A duplicated integration answer is one of the checker's choices under `[faults]
/// duplicate`: it finds the double payment, writes the path as a `[[fault]]` duplicate of the
/// answer's rule with an `[[answer]]` pin, and `ripple run` of that file fails the same way,
/// as does `ripple check` of it (which follows its schedule).
#[test]
fn a_duplicated_answer_is_a_choice_and_its_counterexample_fails_a_run() {
    let (written, out, text) = payout_counterexample(
        "dup",
        "[faults]\nduplicate = 0.1\n",
        "answers Payout/p1 with Transferred (twice: the answer is duplicated)",
        "invariant",
        "kind = \"duplicate\"\nrule = \"integration:bank_transfer/Transferred\"\ntarget = \"Payout/p1\"",
        "spec:Payout.PaidOnce",
    );
    assert!(text.contains("spec:Payout.PaidOnce"), "{text}");
    let again = ripple(&[
        "check",
        written.to_str().unwrap(),
        "--out",
        out.join("again").to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(1), "{}", text_of(&again));
    assert!(text_of(&again).contains("spec:Payout.PaidOnce"));
    let _ = std::fs::remove_dir_all(&out);
}

/// A lost answer is written as a drop of the answer the run must then draw (pinned), under
/// the rule a run names it by: the file loads and `ripple run` ends as the check found.
#[test]
fn a_lost_answer_is_written_as_a_drop_that_a_run_follows() {
    let (_, out, _) = payout_counterexample(
        "drop",
        "[faults]\ndrop = 0.1\n",
        "drop integration bank_transfer -> Payout/p1",
        "invariant_at_end",
        "kind = \"drop\"\nrule = \"integration:bank_transfer/Transferred\"\ntarget = \"Payout/p1\"",
        "has status Sending, expected Sent",
    );
    let _ = std::fs::remove_dir_all(&out);
}

/// An answer whose action fails is a choice too under `[faults] action_failure`: written as
/// an `action_failure` of the answer's action on its call's entity, which a run follows.
#[test]
fn a_failing_answer_is_a_choice_and_its_counterexample_fails_a_run() {
    let (_, out, _) = payout_counterexample(
        "fail",
        "[faults]\naction_failure = 0.1\n",
        "answers Payout/p1 with Transferred (its action fails)",
        "invariant_at_end",
        "kind = \"action_failure\"\ntarget = \"Payout/p1\"\naction = \"Transferred\"",
        "has status Sending, expected Sent",
    );
    let _ = std::fs::remove_dir_all(&out);
}

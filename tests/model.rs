//! `ripple check`: the stateright models of guards, rule pairs, resolvers and cascades, run
//! against the real engine.

use ripple::__private::{check_guard, render_check_json, render_check_text, ModelReport};
use ripple::__private::{EngineEvaluator, Guard, GuardEvaluator, GuardInput, Rule};
use ripple::FindingKind;
use ripple::{check_scenario, CheckOptions, CheckReport};
use ripple::{load_scenario, parse_scenario, Scenario};
use ripple::{TenantId, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

fn options() -> CheckOptions {
    CheckOptions {
        timeout: Duration::from_secs(120),
        walk_seed: None,
        ..CheckOptions::default()
    }
}

fn shipped(name: &str) -> Scenario {
    load_scenario(Path::new(&format!("scenarios/{name}.toml"))).expect("shipped scenarios load")
}

fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ripple-model-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn model<'a>(report: &'a CheckReport, name: &str) -> &'a ModelReport {
    report
        .models
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no model {name}: {:?}",
                report.models.iter().map(|m| &m.name).collect::<Vec<_>>()
            )
        })
}

fn rule(scenario: &Scenario, name: &str) -> (TenantId, Arc<Rule>) {
    for (tenant, rules) in &scenario.rules {
        if let Some(r) = rules.iter().find(|r| r.name == name) {
            return (tenant.clone(), r.clone());
        }
    }
    panic!("no rule {name}")
}

/// A scenario with guarded rules on an Order that looks up its Customer.
const GUARDS: &str = r#"
[scenario]
name = "guards"

[[tenant]]
id = "shop"

[[entity]]
type = "Order"
states = ["Open", "Confirmed", "Cancelled"]
initial = "Open"
[[entity.action]]
name = "Confirm"
from = ["Open"]
to = "Confirmed"
[[entity.action]]
name = "Touch"

[[entity]]
type = "Customer"
states = ["Active", "Trial", "Banned"]
initial = "Active"
[[entity.action]]
name = "Touch"

[[reaction]]
name = "paying_customer_confirms"
[reaction.when]
entity_type = "Order"
action = "Touch"
[reaction.when.guard]
type = "all_of"
guards = [
  { type = "cross_entity_state_in", entity_type = "Customer", entity_id_source = "customer_id", required_status = ["Active", "Trial"] },
  { type = "not", guard = { type = "cross_entity_state_in", entity_type = "Customer", entity_id_source = "customer_id", required_status = ["Trial"] } },
]
[reaction.then]
entity_type = "Order"
action = "Confirm"
[reaction.resolve_target]
type = "same_id"

[[reaction]]
name = "not_banned_confirms"
[reaction.when]
entity_type = "Order"
action = "Touch"
[reaction.when.guard]
type = "not"
guard = { type = "cross_entity_state_in", entity_type = "Customer", entity_id_source = "customer_id", required_status = ["Banned"] }
[reaction.then]
entity_type = "Order"
action = "Confirm"
[reaction.resolve_target]
type = "same_id"

[[reaction]]
name = "cancelled_confirmation"
[reaction.when]
entity_type = "Order"
action = "Confirm"
to_state = "Confirmed"
[reaction.when.guard]
type = "state_in"
values = ["Cancelled"]
[reaction.then]
entity_type = "Customer"
action = "Touch"
[reaction.resolve_target]
type = "same_id"

[[reaction]]
name = "vip_or_not"
[reaction.when]
entity_type = "Order"
action = "Touch"
[reaction.when.guard]
type = "any_of"
guards = [{ type = "bool_true", field = "vip" }, { type = "not", guard = { type = "bool_true", field = "vip" } }]
[reaction.then]
entity_type = "Customer"
action = "Touch"
[reaction.resolve_target]
type = "field"
field = "customer_id"
"#;

fn guards() -> Scenario {
    parse_scenario(GUARDS, Path::new("guards.toml")).expect("the test scenario loads")
}

/// Evaluates like the engine, except for what `keyed_by_entity` and `not_failed_is_false`
/// get wrong on purpose.
struct Wrong {
    /// The model engine's bug: resolved lookups keyed by (type, id) only, so two leaves on
    /// one entity with different status lists overwrite each other.
    keyed_by_entity: bool,
    /// `not` of a failed lookup treated as false.
    not_failed_is_false: bool,
}

impl Wrong {
    fn eval(
        &self,
        guard: &Guard,
        input: &GuardInput,
        by_entity: &BTreeMap<(String, String), bool>,
    ) -> bool {
        match guard {
            Guard::CrossEntityStateIn {
                entity_type,
                entity_id_source,
                ..
            } if self.keyed_by_entity => {
                let Some(Value::String(id)) = input.fields.get(entity_id_source) else {
                    return false;
                };
                by_entity
                    .get(&(entity_type.clone(), id.clone()))
                    .copied()
                    .unwrap_or(false)
            }
            Guard::Not { guard: inner } if self.not_failed_is_false => {
                if matches!(**inner, Guard::CrossEntityStateIn { .. })
                    && !self.eval(inner, input, by_entity)
                {
                    return false;
                }
                !self.eval(inner, input, by_entity)
            }
            Guard::Not { guard: inner } => !self.eval(inner, input, by_entity),
            Guard::AllOf { guards } => guards.iter().all(|g| self.eval(g, input, by_entity)),
            Guard::AnyOf { guards } => guards.iter().any(|g| self.eval(g, input, by_entity)),
            leaf => leaf.evaluate(input),
        }
    }
}

impl GuardEvaluator for Wrong {
    fn evaluate(&self, guard: &Guard, input: &GuardInput) -> bool {
        // Last answer wins, as in a map keyed by entity alone.
        let by_entity = input
            .lookups
            .iter()
            .map(|(k, v)| ((k.entity_type.clone(), k.id.clone()), *v))
            .collect();
        self.eval(guard, input, &by_entity)
    }
}

fn violations(report: &ModelReport) -> Vec<&str> {
    report
        .findings
        .iter()
        .filter(|f| f.kind == FindingKind::Violation)
        .filter_map(|f| f.property.as_deref())
        .collect()
}

#[test]
fn guard_checker_accepts_the_engine_evaluator() {
    let s = guards();
    for name in ["paying_customer_confirms", "not_banned_confirms"] {
        let (tenant, r) = rule(&s, name);
        let report = check_guard(&tenant, &r, &s, EngineEvaluator, &options());
        assert!(report.complete, "{report:?}");
        assert!(report.findings.is_empty(), "{name}: {:?}", report.findings);
    }
}

#[test]
fn guard_checker_catches_lookups_keyed_by_entity_only() {
    let s = guards();
    let (tenant, r) = rule(&s, "paying_customer_confirms");
    let wrong = Wrong {
        keyed_by_entity: true,
        not_failed_is_false: false,
    };
    let report = check_guard(&tenant, &r, &s, wrong, &options());
    assert_eq!(
        violations(&report),
        ["engine_matches_reference"],
        "{report:?}"
    );
    let f = &report.findings[0];
    assert_eq!(f.rule.as_deref(), Some("paying_customer_confirms"));
    // The counterexample names the customer's state: Active passes in truth, but the
    // [Trial] answer overwrote the [Active, Trial] one.
    assert!(f.message.contains("Customer/e1 is Active"), "{}", f.message);
}

#[test]
fn guard_checker_catches_not_of_failed_lookup_treated_as_false() {
    let s = guards();
    let (tenant, r) = rule(&s, "not_banned_confirms");
    let wrong = Wrong {
        keyed_by_entity: false,
        not_failed_is_false: true,
    };
    let report = check_guard(&tenant, &r, &s, wrong, &options());
    assert_eq!(
        violations(&report),
        ["engine_matches_reference"],
        "{report:?}"
    );
    assert!(
        report.findings[0]
            .message
            .contains("reference semantics pass"),
        "{}",
        report.findings[0].message
    );
}

#[test]
fn dead_rule_and_always_firing_guard_are_found() {
    let report = check_scenario(&guards(), None, &options());
    let kinds: Vec<(FindingKind, &str)> = report
        .findings()
        .filter(|f| f.kind.is_warning())
        .map(|f| (f.kind, f.rule.as_deref().unwrap_or("")))
        .collect();
    assert!(
        kinds.contains(&(FindingKind::DeadRule, "cancelled_confirmation")),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&(FindingKind::AlwaysFires, "vip_or_not")),
        "{kinds:?}"
    );
    // Warnings do not fail the check unless denied.
    assert!(!report.failed(false));
    assert!(report.failed(true));
}

#[test]
fn order_payment_pair_is_exclusive_exactly_one_fires() {
    let report = check_scenario(&shipped("order_payment"), None, &options());
    let pair = model(
        &report,
        "pair:order_confirmed_authorizes_payment+order_cancelled_voids_payment",
    );
    assert!(pair.complete);
    assert!(pair.findings.is_empty(), "{:?}", pair.findings);
    assert!(
        pair.notes
            .iter()
            .any(|n| n.contains("exactly one of them fires in every one of the 2 states")),
        "{:?}",
        pair.notes
    );
    assert_eq!(report.count(FindingKind::Conflict), 0);
    // Its confirmation guard (`not state_in [Cancelled]`) cannot fail after ConfirmOrder.
    let guard = model(&report, "guard:order_confirmed_authorizes_payment");
    assert_eq!(guard.findings[0].kind, FindingKind::AlwaysFires);
}

#[test]
fn two_rules_on_one_target_are_a_conflict() {
    let report = check_scenario(&shipped("two_tenants"), None, &options());
    let pair = model(&report, "pair:acme_vip_discount+paid_order_ships");
    assert_eq!(pair.findings.len(), 1);
    let f = &pair.findings[0];
    assert_eq!(f.kind, FindingKind::Conflict);
    assert!(
        f.message.contains("Payment/e1 is Authorized"),
        "{}",
        f.message
    );
    assert!(!report.failed(false));
}

#[test]
fn race_is_order_dependent_and_its_counterexample_replays() {
    let dir = scratch_dir("race");
    let scenario = shipped("race");
    let text = std::fs::read_to_string("scenarios/race.toml").unwrap();
    let report = check_scenario(
        &scenario,
        Some(&text),
        &CheckOptions {
            out_dir: Some(dir.clone()),
            ..options()
        },
    );
    assert!(report.failed(false));
    let f = report
        .findings()
        .find(|f| f.kind == FindingKind::OrderDependent)
        .expect("order dependence");
    let path = f.scenario.clone().expect("a counterexample scenario");
    assert_eq!(path, dir.join("race-order_dependent.toml"));
    assert_eq!(f.replays, Some(true), "{}", f.message);
    assert!(dir.join("race-order_dependent-other.toml").exists());
    let written = std::fs::read_to_string(&path).unwrap();
    assert!(written.contains("[[fault]]\nkind = \"delay\""), "{written}");
    assert!(
        !written.lines().any(|l| l.trim() == "[faults]"),
        "{written}"
    );

    // `ripple run` reproduces it: exit 1.
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args(["run", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("violations ("), "{stdout}");
    // The other schedule is the one the scenario gives without the race: it passes.
    let other = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args([
            "run",
            dir.join("race-order_dependent-other.toml")
                .to_str()
                .unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(
        other.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&other.stdout)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn ripple_check_exits_1_on_the_race_and_0_on_order_payment() {
    let dir = scratch_dir("cli");
    let check = |scenario: &str, extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
            .args([
                "check",
                scenario,
                "--out",
                dir.to_str().unwrap(),
                "--format",
                "json",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let race = check("scenarios/race.toml", &[]);
    assert_eq!(race.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&race.stdout).unwrap();
    assert_eq!(json["verdict"], "fail");
    let findings: Vec<&serde_json::Value> = json["models"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|m| m["findings"].as_array().unwrap())
        .collect();
    let kinds: Vec<&str> = findings
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"order_dependent"), "{kinds:?}");
    for f in &findings {
        for key in ["kind", "rule", "message", "scenario"] {
            assert!(f.get(key).is_some(), "{key} missing in {f}");
        }
    }
    for m in json["models"].as_array().unwrap() {
        for key in ["name", "states", "unique_states", "findings"] {
            assert!(m.get(key).is_some(), "{key} missing in {m}");
        }
    }
    let ok = check("scenarios/order_payment.toml", &[]);
    assert_eq!(ok.status.code(), Some(0));
    // The always-firing guard is a warning; denied, it fails.
    let denied = check("scenarios/order_payment.toml", &["--deny", "warnings"]);
    assert_eq!(denied.status.code(), Some(1));
    let bad = check("scenarios/order_payment.toml", &["--timeout", "soon"]);
    assert_eq!(bad.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn running_out_of_states_is_reported_not_a_hang() {
    let report = check_scenario(
        &shipped("race"),
        None,
        &CheckOptions {
            states_max: 5,
            ..options()
        },
    );
    let cascade = model(&report, "cascade");
    assert!(!cascade.complete);
    assert!(cascade
        .budget_exhausted
        .as_deref()
        .unwrap()
        .contains("state budget"));
    assert!(cascade
        .notes
        .iter()
        .any(|n| n.contains("order dependence not judged")));
    let text = render_check_text(&report, false, false);
    assert!(
        text.contains("INCOMPLETE: state budget (5 states) ran out"),
        "{text}"
    );
}

#[test]
fn concurrent_creates_are_one_world_up_to_minted_ids() {
    // u1 and u2 arrive at the same time and each mints a job: two orders, two namings of
    // the jobs, one world after symmetry reduction.
    let report = check_scenario(&shipped("pipeline"), None, &options());
    let cascade = model(&report, "cascade");
    assert!(cascade.findings.is_empty(), "{:?}", cascade.findings);
    assert!(
        cascade
            .notes
            .iter()
            .any(|n| n.starts_with("1 terminal world")),
        "{:?}",
        cascade.notes
    );
    assert!(
        cascade.unique_states < cascade.states,
        "symmetry merged the two orders"
    );
}

/// Every shipped scenario's state spaces, pinned (as stateright's examples pin theirs):
/// (model, states generated, unique states).
#[test]
fn shipped_scenarios_have_pinned_state_counts() {
    #[allow(clippy::type_complexity)]
    let expected: &[(&str, &[(&str, usize, usize)])] = &[
        (
            "order_payment",
            &[
                ("guard:order_confirmed_authorizes_payment", 1, 1),
                (
                    "pair:order_confirmed_authorizes_payment+order_cancelled_voids_payment",
                    2,
                    2,
                ),
                ("resolver:order_cancelled_voids_payment", 6, 6),
                ("resolver:order_confirmed_authorizes_payment", 6, 6),
                ("cascade", 8, 7),
            ],
        ),
        (
            "race",
            &[
                ("guard:order_cancelled_voids_payment", 4, 4),
                (
                    "pair:order_confirmed_authorizes_payment+order_cancelled_voids_payment",
                    11,
                    8,
                ),
                ("resolver:order_cancelled_voids_payment", 6, 6),
                ("resolver:order_confirmed_authorizes_payment", 6, 6),
                ("cascade", 16, 16),
            ],
        ),
        (
            "race_crowd",
            &[
                ("guard:order_cancelled_voids_payment", 4, 4),
                (
                    "pair:order_confirmed_authorizes_payment+order_cancelled_voids_payment",
                    11,
                    8,
                ),
                ("resolver:order_cancelled_voids_payment", 6, 6),
                ("resolver:order_confirmed_authorizes_payment", 6, 6),
                // 376877 states, 57359 unique without the reduction (see
                // `race_crowd_without_reduction_is_pinned`).
                ("cascade", 88, 88),
            ],
        ),
        (
            "pipeline",
            &[
                ("guard:upload_spawns_job", 5, 5),
                ("resolver:job_done_marks_upload", 20, 18),
                ("resolver:running_job_finishes", 6, 6),
                ("resolver:upload_spawns_job", 6, 6),
                ("cascade", 6, 5),
            ],
        ),
        (
            "two_tenants",
            &[
                ("guard:paid_order_ships", 13, 9),
                ("pair:acme_vip_discount+paid_order_ships", 13, 9),
                ("resolver:acme_vip_discount", 6, 6),
                ("resolver:paid_order_ships", 6, 6),
                ("cascade", 9, 7),
            ],
        ),
        (
            "cycle",
            &[("resolver:ping_hits_pong", 6, 6), ("cascade", 6, 6)],
        ),
        // Every integration answer is a branch; the spec's guards bound the loop.
        ("agent_loop", &[("cascade", 2130, 2130)]),
        (
            "netops",
            &[
                ("guard:first_signal_pages_oncall", 4, 4),
                ("resolver:first_signal_pages_oncall", 6, 6),
                ("cascade", 21, 21),
            ],
        ),
    ];
    let mut shipped_files: Vec<String> = std::fs::read_dir("scenarios")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".toml"))
                .map(String::from)
        })
        .collect();
    shipped_files.sort();
    let mut pinned: Vec<String> = expected.iter().map(|(n, _)| n.to_string()).collect();
    pinned.sort();
    assert_eq!(
        shipped_files, pinned,
        "pin the state counts of every shipped scenario"
    );
    for (name, models) in expected {
        let report = check_scenario(&shipped(name), None, &options());
        let got: Vec<(&str, usize, usize)> = report
            .models
            .iter()
            .map(|m| (m.name.as_str(), m.states, m.unique_states))
            .collect();
        assert_eq!(&got, models, "{name}");
        assert!(report.models.iter().all(|m| m.complete), "{name}");
    }
}

/// The cascade model without partial-order reduction: every interleaving (the counts
/// before the reduction; `reports/CHECK.md` compares the two).
#[test]
fn shipped_cascades_without_reduction_have_pinned_state_counts() {
    let expected: &[(&str, usize, usize)] = &[
        ("agent_loop", 2130, 2130),
        ("cycle", 6, 6),
        ("netops", 21, 21),
        ("order_payment", 8, 7),
        ("pipeline", 6, 5),
        ("race", 28, 22),
        ("two_tenants", 9, 7),
    ];
    for &(name, states, unique) in expected {
        let report = check_scenario(
            &shipped(name),
            None,
            &CheckOptions {
                model: ripple::ModelConfig {
                    reduce: false,
                    ..ripple::ModelConfig::default()
                },
                ..options()
            },
        );
        let cascade = model(&report, "cascade");
        assert_eq!(
            (cascade.states, cascade.unique_states),
            (states, unique),
            "{name}"
        );
        assert!(cascade.complete, "{name}");
    }
}

/// The crowd without the reduction: 4,300 times the states (half a minute in a release
/// build; run with `cargo test --release -- --ignored`).
#[test]
#[ignore]
fn race_crowd_without_reduction_is_pinned() {
    let report = check_scenario(
        &shipped("race_crowd"),
        None,
        &CheckOptions {
            states_max: 10_000_000,
            timeout: Duration::from_secs(600),
            model: ripple::ModelConfig {
                reduce: false,
                ..ripple::ModelConfig::default()
            },
            walk_seed: None,
            ..CheckOptions::default()
        },
    );
    let cascade = model(&report, "cascade");
    assert!(cascade.complete);
    assert_eq!((cascade.states, cascade.unique_states), (376_877, 57_359));
    assert_eq!(report.count(FindingKind::OrderDependent), 1);
}

#[test]
fn text_report_is_pinned() {
    let report = check_scenario(&shipped("two_tenants"), None, &options());
    insta::assert_snapshot!(
        "two_tenants_check",
        render_check_text(&report, false, false)
    );
}

#[test]
fn json_report_has_the_documented_shape() {
    let report = check_scenario(&shipped("order_payment"), None, &options());
    let json: serde_json::Value = serde_json::from_str(&render_check_json(&report, false)).unwrap();
    assert_eq!(json["verdict"], "pass");
    assert_eq!(json["version"], 1);
    let guard = &json["models"][0];
    assert_eq!(guard["name"], "guard:order_confirmed_authorizes_payment");
    assert_eq!(guard["findings"][0]["kind"], "always_fires");
    assert_eq!(
        guard["findings"][0]["rule"],
        "order_confirmed_authorizes_payment"
    );
    assert!(guard["findings"][0]["scenario"].is_null());
}

/// Two entity types and a rule that bumps a counter once per `Go`, an invariant that it is
/// bumped at most once, and one `Go`: the scenarios below add their faults to it.
macro_rules! counter_scenario {
    ($name:literal, $tail:literal) => {
        concat!(
            "\n[scenario]\nname = \"",
            $name,
            "\"\n\n",
            r#"[[tenant]]
id = "t"

[[entity]]
type = "Source"
states = ["Idle"]
initial = "Idle"
[[entity.action]]
name = "Go"

[[entity]]
type = "Counter"
states = ["Idle"]
initial = "Idle"
[[entity.action]]
name = "Bump"
effect = ["increment n"]

[[reaction]]
name = "go_bumps"
[reaction.when]
entity_type = "Source"
action = "Go"
[reaction.then]
entity_type = "Counter"
action = "Bump"
[reaction.resolve_target]
type = "same_id"

[[invariant]]
name = "bumped_at_most_once"
never = "Counter[id].n > 1"

[[event]]
at = "0ms"
tenant = "t"
dispatch = { entity_type = "Source", id = "c1", action = "Go" }

"#,
            $tail
        )
    };
}

const DUPLICATES: &str = counter_scenario!(
    "dup",
    r#"[faults]
duplicate = 0.01
drop = 0.01

[[expect]]
tenant = "t"
entity_type = "Counter"
id = "c1"
fields = { n = 1 }
"#
);

#[test]
fn duplicated_and_dropped_messages_are_explored_and_replay() {
    let dir = scratch_dir("dup");
    let file = dir.join("dup.toml");
    std::fs::write(&file, DUPLICATES).unwrap();
    let scenario = load_scenario(&file).unwrap();
    let report = check_scenario(
        &scenario,
        Some(DUPLICATES),
        &CheckOptions {
            out_dir: Some(dir.join("out")),
            ..options()
        },
    );
    let cascade = model(&report, "cascade");
    let by_property: BTreeMap<&str, _> = cascade
        .findings
        .iter()
        .filter_map(|f| f.property.as_deref().map(|p| (p, f)))
        .collect();
    // A second delivery bumps twice; a lost one never creates the counter.
    let dup = by_property["invariant"];
    assert!(
        dup.path
            .iter()
            .any(|s| s.starts_with("duplicate rule go_bumps")),
        "{:?}",
        dup.path
    );
    assert_eq!(dup.replays, Some(true), "{}", dup.message);
    let text = std::fs::read_to_string(dup.scenario.as_ref().unwrap()).unwrap();
    assert!(text.contains("kind = \"duplicate\""), "{text}");
    let drop = by_property["invariant_at_end"];
    assert!(
        drop.path
            .iter()
            .any(|s| s.starts_with("drop rule go_bumps")),
        "{:?}",
        drop.path
    );
    assert_eq!(drop.replays, Some(true), "{}", drop.message);
    assert!(cascade
        .findings
        .iter()
        .any(|f| f.kind == FindingKind::OrderDependent));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A scenario the cascade model cannot explore within its budget is never reported as a
/// pass: the verdict is `incomplete` in text and JSON, the exit status is 0, and
/// `--require-complete` turns it into 1. The random walk that goes on after the state
/// budget says what it covered.
#[test]
fn a_check_that_did_not_explore_everything_says_incomplete_not_pass() {
    let dir = scratch_dir("incomplete");
    let check = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
            .args(["check", "scenarios/order_payment.toml", "--max-states", "3"])
            .args(["--timeout", "1s", "--out", dir.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, stdout) = check(&[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("INCOMPLETE"), "{stdout}");
    assert!(stdout.contains("\nincomplete: "), "{stdout}");
    assert!(!stdout.contains("\npass: "), "{stdout}");
    assert!(stdout.contains("random walk (seed 0)"), "{stdout}");
    let (code, stdout) = check(&["--format", "json"]);
    assert_eq!(code, Some(0), "{stdout}");
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(json["verdict"], "incomplete");
    assert_eq!(json["complete"], false);
    assert!(json["incomplete"][0]
        .as_str()
        .unwrap()
        .contains("state budget"));
    let (code, stdout) = check(&["--require-complete"]);
    assert_eq!(code, Some(1), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Thirty root events, the race among them: checked completely within the default budget
/// (partial-order reduction), the order dependence and the violation found, and the
/// scenario written for each fails under `ripple run`.
#[test]
fn a_crowd_of_thirty_roots_is_checked_completely_and_its_race_replays() {
    let dir = scratch_dir("crowd");
    let scenario = shipped("race_crowd");
    assert!(scenario.events.len() >= 30);
    let text = std::fs::read_to_string("scenarios/race_crowd.toml").unwrap();
    let report = check_scenario(
        &scenario,
        Some(&text),
        &CheckOptions {
            out_dir: Some(dir.clone()),
            ..CheckOptions::default()
        },
    );
    let cascade = model(&report, "cascade");
    assert!(cascade.complete, "{:?}", cascade.budget_exhausted);
    assert!(report.complete());
    let violation = cascade
        .findings
        .iter()
        .find(|f| f.property.as_deref() == Some("invariant"))
        .expect("the race's violation");
    assert!(
        violation.message.contains("no_authorized_voided_payment"),
        "{}",
        violation.message
    );
    assert_eq!(violation.replays, Some(true), "{}", violation.message);
    let order = cascade
        .findings
        .iter()
        .find(|f| f.kind == FindingKind::OrderDependent)
        .expect("order dependence");
    assert_eq!(order.replays, Some(true), "{}", order.message);
    for f in [violation, order] {
        let run = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
            .args(["run", f.scenario.as_ref().unwrap().to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(
            run.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&run.stdout)
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Generators are expanded into root events, once per seed, and each seed's cascade is
/// checked: thirty generated link-downs through netops' reflexes.
#[test]
fn generated_events_are_checked_for_each_seed() {
    let mut text = std::fs::read_to_string("scenarios/netops.toml").unwrap();
    text.push_str(
        r#"
[[generator]]
tenant = "netops"
count = 30
every = "250ms"
jitter = "100ms"
subject = "sensory.link_down.snmp_trap.{device}|{iface}"
payload = { device = "{device}", interface = "{iface}" }
[generator.values]
device = ["r1", "r2", "r3"]
iface = ["Gi0/1", "Gi0/2"]
"#,
    );
    let scenario = parse_scenario(&text, Path::new("scenarios/netops_generated.toml")).unwrap();
    let report = check_scenario(
        &scenario,
        Some(&text),
        &CheckOptions {
            seeds: vec![0, 1],
            ..options()
        },
    );
    for name in ["cascade@seed=0", "cascade@seed=1"] {
        let m = model(&report, name);
        assert!(m.complete, "{name}: {:?} {:?}", m.budget_exhausted, m.notes);
        assert!(
            m.depth >= 30,
            "{name}: every generated event is a root ({})",
            m.depth
        );
    }
    assert!(report.complete());
}

/// The race with a generator of orders beside it: the race is found for each seed and the
/// counterexample, written with the generated events as `[[event]]`s, fails `ripple run`.
#[test]
fn a_generated_crowd_keeps_the_race_and_its_counterexample_replays() {
    let dir = scratch_dir("generated");
    let mut text = std::fs::read_to_string("scenarios/race.toml").unwrap();
    text.push_str(
        r#"
[[generator]]
tenant = "shop"
count = 12
every = "20ms"
dispatch = { entity_type = "Order", id = "g{n}", action = "ConfirmOrder", params = { total = 5, paid = true } }
"#,
    );
    let file = dir.join("race_generated.toml");
    std::fs::write(&file, &text).unwrap();
    let scenario = load_scenario(&file).unwrap();
    let report = check_scenario(
        &scenario,
        Some(&text),
        &CheckOptions {
            out_dir: Some(dir.join("out")),
            seeds: vec![3],
            ..options()
        },
    );
    let cascade = model(&report, "cascade@seed=3");
    assert!(cascade.complete);
    let f = cascade
        .findings
        .iter()
        .find(|f| f.property.as_deref() == Some("invariant"))
        .expect("the race");
    assert_eq!(f.replays, Some(true), "{}", f.message);
    let written = std::fs::read_to_string(f.scenario.as_ref().unwrap()).unwrap();
    assert!(!written.contains("[[generator]]"), "{written}");
    assert!(written.contains("id = \"g11\""), "{written}");
    std::fs::remove_dir_all(&dir).unwrap();
}

const SCHEDULED: &str = counter_scenario!(
    "scheduled",
    r#"[[fault]]
kind = "duplicate"
rule = "go_bumps"
target = "Counter/c1"
delay = "5ms"
"#
);

/// A `[[fault]]` schedule (what `ripple shrink` writes) is followed exactly: its duplicate
/// fails `ripple run` on every seed and fails `ripple check`; without the entry, both pass.
#[test]
fn a_scheduled_duplicate_that_fails_run_fails_check() {
    let dir = scratch_dir("scheduled");
    let file = dir.join("scheduled.toml");
    std::fs::write(&file, SCHEDULED).unwrap();
    let scenario = load_scenario(&file).unwrap();
    let run = |path: &Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
            .args(["run", path.to_str().unwrap()])
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(run(&file), Some(1), "the schedule's duplicate bumps twice");
    let report = check_scenario(&scenario, Some(SCHEDULED), &options());
    let cascade = model(&report, "cascade");
    assert!(cascade.complete);
    assert!(
        cascade
            .findings
            .iter()
            .any(|f| f.property.as_deref() == Some("invariant")),
        "{:?}",
        cascade.findings
    );
    assert!(report.failed(false));
    // The same scenario without its schedule: one bump, no violation.
    let plain = SCHEDULED.split("[[fault]]").next().unwrap();
    let plain_file = dir.join("plain.toml");
    std::fs::write(&plain_file, plain).unwrap();
    assert_eq!(run(&plain_file), Some(0));
    let report = check_scenario(&load_scenario(&plain_file).unwrap(), None, &options());
    assert!(!report.failed(false), "{:?}", report.models);
    std::fs::remove_dir_all(&dir).unwrap();
}

const FAILURES: &str = r#"
[scenario]
name = "failures"

[[tenant]]
id = "t"

[[entity]]
type = "Order"
states = ["Open", "Paid"]
initial = "Open"
[[entity.action]]
name = "Pay"
to = "Paid"

[[entity]]
type = "Receipt"
states = ["None", "Sent"]
initial = "None"
[[entity.action]]
name = "Send"
to = "Sent"

[[entity]]
type = "Audit"
states = ["Empty", "Logged"]
initial = "Empty"
[[entity.action]]
name = "Log"
to = "Logged"

[[reaction]]
name = "paid_sends_receipt"
[reaction.when]
entity_type = "Order"
action = "Pay"
[reaction.then]
entity_type = "Receipt"
action = "Send"
[reaction.resolve_target]
type = "same_id"

[[reflex]]
id = "audit"
tenant = "t"
pattern = "entity.Receipt.>"
severity = "info"
then = { entity_type = "Audit", action = "Log", id = "a1" }

[faults]
action_failure = 0.01
handler_panic = 0.01

[[event]]
at = "0ms"
tenant = "t"
dispatch = { entity_type = "Order", id = "o1", action = "Pay" }

[[expect]]
tenant = "t"
entity_type = "Receipt"
id = "o1"
status = "Sent"

[[expect]]
tenant = "t"
entity_type = "Audit"
id = "a1"
status = "Logged"
"#;

/// Action failures and handler crashes are choices of the search (one per path by
/// default): a failed receipt and a crashed audit each break an expectation, and each
/// counterexample replays under `ripple run`. With `--faults-max 0`, none is tried.
#[test]
fn action_failures_and_handler_crashes_are_explored_and_replay() {
    let dir = scratch_dir("failures");
    let file = dir.join("failures.toml");
    std::fs::write(&file, FAILURES).unwrap();
    let scenario = load_scenario(&file).unwrap();
    let report = check_scenario(
        &scenario,
        Some(FAILURES),
        &CheckOptions {
            out_dir: Some(dir.join("out")),
            ..options()
        },
    );
    let cascade = model(&report, "cascade");
    assert!(cascade.complete);
    let end = cascade
        .findings
        .iter()
        .find(|f| f.property.as_deref() == Some("invariant_at_end"))
        .expect("an expectation broken by a fault");
    assert!(
        end.path
            .iter()
            .any(|s| s.contains("(its action fails)") || s.contains("(the handler crashes)")),
        "{:?}",
        end.path
    );
    assert_eq!(end.replays, Some(true), "{}", end.message);
    let text = std::fs::read_to_string(end.scenario.as_ref().unwrap()).unwrap();
    assert!(
        text.contains("kind = \"action_failure\"") || text.contains("kind = \"handler_panic\""),
        "{text}"
    );
    // Every path with one fault, both kinds: a terminal world for each.
    let none = check_scenario(
        &scenario,
        None,
        &CheckOptions {
            model: ripple::ModelConfig {
                faults_max: 0,
                ..ripple::ModelConfig::default()
            },
            ..options()
        },
    );
    assert!(!none.failed(false), "{:?}", none.models);
    assert!(model(&none, "cascade").states < cascade.states);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Beyond the state budget, the random walk goes on until the timeout and finds the race
/// that the truncated exhaustive search had not reached; the verdict stays incomplete.
#[test]
fn the_random_walk_finds_the_race_beyond_the_state_budget() {
    let scenario = shipped("race_crowd");
    let truncated = |walk_seed| {
        check_scenario(
            &scenario,
            None,
            &CheckOptions {
                states_max: 40,
                timeout: Duration::from_secs(20),
                model: ripple::ModelConfig {
                    reduce: false,
                    ..ripple::ModelConfig::default()
                },
                walk_seed,
                ..CheckOptions::default()
            },
        )
    };
    // The truncated breadth of the exhaustive search alone does not reach the race.
    let alone = truncated(None);
    assert_eq!(alone.count(FindingKind::Violation), 0, "{:?}", alone.models);
    assert!(!alone.complete());
    let report = truncated(Some(1));
    let cascade = model(&report, "cascade");
    assert!(!cascade.complete);
    assert!(!report.complete());
    assert!(
        cascade
            .notes
            .iter()
            .any(|n| n.starts_with("random walk (seed 1)")),
        "{:?}",
        cascade.notes
    );
    let found = cascade
        .findings
        .iter()
        .find(|f| f.property.as_deref() == Some("invariant"))
        .expect("the walk finds the race");
    assert!(found.message.contains("no_authorized_voided_payment"));
    assert!(found.message.contains("found by the random walk (seed 1)"));
}

/// The race of `scenarios/race.toml` in small, without `[faults]`: one order confirmed at
/// 0 ms and cancelled at 10 ms. Inline, the authorization lands first and the payment ends
/// voided; the scenarios below add a `[[fault]]` to it.
const RACE_SMALL: &str = r#"
[scenario]
name = "scheduled-delay"

[[tenant]]
id = "t"

[[entity]]
type = "Order"
states = ["Open", "Confirmed", "Cancelled"]
initial = "Open"
[[entity.action]]
name = "ConfirmOrder"
from = ["Open"]
to = "Confirmed"
[[entity.action]]
name = "CancelOrder"
to = "Cancelled"

[[entity]]
type = "Payment"
states = ["Pending", "Authorized", "Voided"]
initial = "Pending"
[[entity.action]]
name = "AuthorizePayment"
from = ["Pending", "Voided"]
to = "Authorized"
[[entity.action]]
name = "VoidPayment"
from = ["Pending", "Authorized"]
to = "Voided"
effect = ["set voided true"]

[[reaction]]
name = "confirmed_authorizes"
[reaction.when]
entity_type = "Order"
action = "ConfirmOrder"
[reaction.then]
entity_type = "Payment"
action = "AuthorizePayment"
[reaction.resolve_target]
type = "same_id"

[[reaction]]
name = "cancelled_voids"
[reaction.when]
entity_type = "Order"
action = "CancelOrder"
[reaction.then]
entity_type = "Payment"
action = "VoidPayment"
[reaction.resolve_target]
type = "same_id"

[[invariant]]
name = "no_authorized_voided_payment"
never = "Payment[id].status == 'Authorized' && Payment[id].voided == true"

[[event]]
at = "0ms"
tenant = "t"
dispatch = { entity_type = "Order", id = "o1", action = "ConfirmOrder" }

[[event]]
at = "10ms"
tenant = "t"
dispatch = { entity_type = "Order", id = "o1", action = "CancelOrder" }

"#;

/// A declarative reflex that opens an incident for a link-down trap, and the expectation
/// that it did.
const REFLEX_SMALL: &str = r#"
[scenario]
name = "scheduled-panic"

[[tenant]]
id = "t"

[[entity]]
type = "Incident"
states = ["None", "Open"]
initial = "None"
[[entity.action]]
name = "Open"
to = "Open"

[[reflex]]
id = "opener"
tenant = "t"
pattern = "sensory.link_down.>"
severity = "high"
then = { entity_type = "Incident", action = "Open", id = "{payload.device}" }

[[event]]
at = "0ms"
tenant = "t"
subject = "sensory.link_down.snmp_trap.r1"
payload = { device = "r1" }

[[expect]]
tenant = "t"
entity_type = "Incident"
id = "r1"
status = "Open"

"#;

/// A `[[fault]]` schedule is followed by `check` for every kind a checkable scenario can
/// fail by: each scenario below fails `ripple run` on every seed tried because of its one
/// scheduled fault (and passes without it), and fails `ripple check` (and passes without
/// it). A delay is followed by exploring every order of the messages, the delayed one
/// included. (A reflex restart only loses a first-party handler's dedup memory, which
/// changes outcomes and never an entity: no checkable scenario fails by one; see
/// `model::schedule_tests` for the model following it.)
#[test]
fn every_scheduled_fault_kind_that_fails_run_fails_check() {
    let cases = [
        (
            "delay",
            RACE_SMALL,
            "[[fault]]\nkind = \"delay\"\nrule = \"confirmed_authorizes\"\ntarget = \"Payment/o1\"\ndelay = \"50ms\"\n",
        ),
        (
            "action_failure",
            counter_scenario!(
                "scheduled-failure",
                "[[expect]]\ntenant = \"t\"\nentity_type = \"Counter\"\nid = \"c1\"\nfields = { n = 1 }\n\n"
            ),
            "[[fault]]\nkind = \"action_failure\"\ntarget = \"Counter/c1\"\naction = \"Bump\"\n",
        ),
        (
            "root_action_failure",
            counter_scenario!(
                "scheduled-root-failure",
                "[[expect]]\ntenant = \"t\"\nentity_type = \"Counter\"\nid = \"c1\"\nfields = { n = 1 }\n\n"
            ),
            "[[fault]]\nkind = \"action_failure\"\ntarget = \"Source/c1\"\naction = \"Go\"\n",
        ),
        (
            "handler_panic",
            REFLEX_SMALL,
            "[[fault]]\nkind = \"handler_panic\"\nhandler = \"opener\"\nsubject = \"sensory.link_down.snmp_trap.r1\"\n",
        ),
    ];
    let dir = scratch_dir("scheduled-kinds");
    for (kind, plain, fault) in cases {
        let faulty = format!("{plain}{fault}");
        let run = |text: &str, seed: u64| {
            let file = dir.join(format!("{kind}.toml"));
            std::fs::write(&file, text).unwrap();
            std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
                .args(["run", file.to_str().unwrap(), "--seed", &seed.to_string()])
                .output()
                .unwrap()
                .status
                .code()
        };
        let check = |text: &str| {
            let file = dir.join(format!("{kind}.toml"));
            std::fs::write(&file, text).unwrap();
            check_scenario(&load_scenario(&file).unwrap(), Some(text), &options())
        };
        for seed in 0..3 {
            assert_eq!(
                run(&faulty, seed),
                Some(1),
                "{kind}: the fault fails the run"
            );
            assert_eq!(
                run(plain, seed),
                Some(0),
                "{kind}: without it, the run passes"
            );
        }
        let report = check(&faulty);
        assert!(model(&report, "cascade").complete, "{kind}");
        assert!(
            report.failed(false),
            "{kind}: the scheduled fault fails check: {:?}",
            model(&report, "cascade").findings
        );
        let report = check(plain);
        assert!(!report.failed(false), "{kind}: {:?}", report.models);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// One door closed by a root action, and the expectation that it is closed: only a
/// failure of the root action itself can break it.
const ROOT_FAILURE: &str = r#"
[scenario]
name = "root-failure"

[[tenant]]
id = "t"

[[entity]]
type = "Door"
states = ["Open", "Closed"]
initial = "Open"
[[entity.action]]
name = "Close"
from = ["Open"]
to = "Closed"

[[event]]
at = "0ms"
tenant = "t"
dispatch = { entity_type = "Door", id = "d1", action = "Close" }

[faults]
action_failure = 0.01

[[expect]]
tenant = "t"
entity_type = "Door"
id = "d1"
status = "Closed"
"#;

/// Faults as choices include root actions that fail: the counterexample is written with
/// an `action_failure` on the root's action, and `ripple run` replays it failing.
#[test]
fn a_failing_root_action_is_explored_and_replays() {
    let dir = scratch_dir("root-failure");
    let file = dir.join("root-failure.toml");
    std::fs::write(&file, ROOT_FAILURE).unwrap();
    let report = check_scenario(
        &load_scenario(&file).unwrap(),
        Some(ROOT_FAILURE),
        &CheckOptions {
            out_dir: Some(dir.join("out")),
            ..options()
        },
    );
    let cascade = model(&report, "cascade");
    let f = cascade
        .findings
        .iter()
        .find(|f| f.property.as_deref() == Some("invariant_at_end"))
        .unwrap_or_else(|| panic!("the failed root leaves the door open: {cascade:?}"));
    assert!(
        f.path
            .iter()
            .any(|s| s.starts_with("root #1") && s.ends_with("(its action fails)")),
        "{:?}",
        f.path
    );
    assert_eq!(f.replays, Some(true), "{}", f.message);
    let text = std::fs::read_to_string(f.scenario.as_ref().unwrap()).unwrap();
    assert!(
        text.contains("kind = \"action_failure\"") && text.contains("Door/d1"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The cascade search keeps a memory budget: past it no state is expanded, and the model
/// is incomplete, says which budget, and never passes; with room it completes as pinned.
#[test]
fn a_search_out_of_memory_is_incomplete_and_says_so() {
    let s = shipped("race_crowd");
    let run = |memory_max: u64| {
        let report = check_scenario(
            &s,
            None,
            &CheckOptions {
                memory_max,
                model: ripple::ModelConfig {
                    reduce: false,
                    ..ripple::ModelConfig::default()
                },
                ..options()
            },
        );
        report
            .models
            .into_iter()
            .find(|m| m.name == "cascade")
            .unwrap()
    };
    let starved = run(1 << 20);
    assert!(!starved.complete);
    let why = starved.budget_exhausted.as_deref().unwrap_or("");
    assert!(why.contains("memory budget (1 MiB"), "{why}");
    assert!(starved.unique_states < 57_359, "{}", starved.unique_states);
    let roomy = run(256 << 20);
    assert!(roomy.complete, "{:?}", roomy.budget_exhausted);
    assert_eq!(roomy.unique_states, 57_359);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ripple"))
        .args([
            "check",
            "scenarios/race_crowd.toml",
            "--no-reduction",
            "--memory-max",
            "1MiB",
            "--walk-seed",
            "none",
            "--require-complete",
            "--out",
        ])
        .arg(std::env::temp_dir().join(format!("ripple-mem-{}", std::process::id())))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("INCOMPLETE"), "{text}");
    assert!(text.contains("--memory-max"), "{text}");
}

/// A run never reaches a root event after `until`, so neither does the check: the race
/// with its cancellation moved past `until` cannot void an authorized payment in any run,
/// and the check says it left the event out instead of finding a violation no run has.
#[test]
fn root_events_after_until_are_left_out_as_runs_leave_them() {
    let text = std::fs::read_to_string("scenarios/race.toml").unwrap();
    let late = text.replacen(
        "at = \"110ms\"\ntenant = \"shop\"\ndispatch = { entity_type = \"Order\", id = \"o1\", action = \"CancelOrder\" }",
        "at = \"20s\"\ntenant = \"shop\"\ndispatch = { entity_type = \"Order\", id = \"o1\", action = \"CancelOrder\" }",
        1,
    );
    assert_ne!(
        late, text,
        "the race's cancellation is where this test expects it"
    );
    let s = parse_scenario(&late, Path::new("scenarios/race_late.toml")).unwrap();
    let runner = ripple::Runner::new(&s);
    for seed in 0..50 {
        let o = runner.run(ripple::Seed(seed));
        assert!(
            !o.violations
                .iter()
                .any(|v| v.invariant == "no_authorized_voided_payment"),
            "seed {seed}"
        );
    }
    let report = check_scenario(&s, None, &options());
    let cascade = model(&report, "cascade");
    assert!(cascade.complete, "{:?}", cascade.notes);
    assert!(
        !cascade
            .findings
            .iter()
            .any(|f| f.message.contains("no_authorized_voided_payment")),
        "{:?}",
        cascade.findings
    );
    assert!(
        cascade
            .notes
            .iter()
            .any(|n| n.starts_with("1 root event(s) after `until` (10s) left out")),
        "{:?}",
        cascade.notes
    );
    // The same space as without the event at all.
    let gone = text.replacen(
        "[[event]]\nat = \"110ms\"\ntenant = \"shop\"\ndispatch = { entity_type = \"Order\", id = \"o1\", action = \"CancelOrder\" }",
        "",
        1,
    );
    assert_ne!(gone, text);
    let without = parse_scenario(&gone, Path::new("scenarios/race_gone.toml")).unwrap();
    let report_without = check_scenario(&without, None, &options());
    let without = model(&report_without, "cascade");
    assert_eq!(
        (cascade.states, cascade.unique_states),
        (without.states, without.unique_states)
    );
    // Within `until`, the same event is explored and the race found.
    let report = check_scenario(&shipped("race"), None, &options());
    assert!(model(&report, "cascade")
        .findings
        .iter()
        .any(|f| f.message.contains("no_authorized_voided_payment")));
}

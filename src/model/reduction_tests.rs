//! Partial-order reduction keeps what it must: on small models, the reduced search reaches
//! exactly the terminal worlds of the full search, with the same violations (the properties
//! broken on the way there, and the end conditions), on hand-written scenarios and on
//! generated ones.

use crate::model::cascade::{CascadeModel, CascadeState, ModelConfig};
use crate::scenario::{parse_scenario, Scenario};
use proptest::prelude::*;
use stateright::Model;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;

/// A terminal world and the properties broken on the way to it (`invariant_at_end` for an
/// end condition).
type Terminal = (String, Vec<String>);

/// Every terminal world reachable with `config`, and how many states were explored (an
/// explicit search, independent of stateright's checkers).
fn terminals(scenario: &Scenario, config: ModelConfig) -> (BTreeSet<Terminal>, usize) {
    terminals_within(scenario, config, 2_000_000).expect("a small model stays small")
}

/// [`terminals`], or `None` once more than `max` states were explored.
fn terminals_within(
    scenario: &Scenario,
    config: ModelConfig,
    max: usize,
) -> Option<(BTreeSet<Terminal>, usize)> {
    let model = CascadeModel::new(Arc::new(scenario.clone()), config).expect("a cascade model");
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    let mut stack: Vec<CascadeState> = model.init_states();
    let mut out = BTreeSet::new();
    let mut explored = 0;
    while let Some(s) = stack.pop() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        s.hash(&mut h);
        if !seen.insert(h.finish()) {
            continue;
        }
        explored += 1;
        if explored > max {
            return None;
        }
        let mut actions = Vec::new();
        model.actions(&s, &mut actions);
        if actions.is_empty() {
            let mut broken: Vec<String> = s.violations.keys().cloned().collect();
            if model.end_violation(&s).is_some() {
                broken.push("invariant_at_end".into());
            }
            out.insert((model.outcome(&s), broken));
            continue;
        }
        for a in actions {
            stack.push(model.transition(&s, a).0);
        }
    }
    Some((out, explored))
}

fn load(text: &str) -> Scenario {
    parse_scenario(text, Path::new("scenarios/generated.toml")).expect("the test scenario loads")
}

/// Reduced and full search agree; returns (full, reduced) state counts.
fn agree(scenario: &Scenario, faults_max: u8) -> (usize, usize) {
    let full = terminals(
        scenario,
        ModelConfig {
            reduce: false,
            faults_max,
        },
    );
    let reduced = terminals(
        scenario,
        ModelConfig {
            reduce: true,
            faults_max,
        },
    );
    assert_eq!(full.0, reduced.0, "terminal worlds and violations differ");
    assert!(reduced.1 <= full.1);
    (full.1, reduced.1)
}

fn shipped(name: &str) -> Scenario {
    crate::scenario::load_scenario(Path::new(&format!("scenarios/{name}.toml")))
        .expect("shipped scenarios load")
}

#[test]
fn reduction_keeps_the_race_worlds_and_its_violation() {
    let (full, reduced) = agree(&shipped("race"), 1);
    assert!(reduced < full, "{reduced} < {full}");
    let (worlds, _) = terminals(&shipped("race"), ModelConfig::default());
    assert!(worlds
        .iter()
        .any(|(_, broken)| broken.contains(&"invariant".to_string())));
}

#[test]
fn reduction_keeps_the_worlds_of_every_shipped_scenario() {
    for name in [
        "order_payment",
        "pipeline",
        "two_tenants",
        "cycle",
        "netops",
    ] {
        agree(&shipped(name), 1);
    }
}

#[test]
fn reduction_keeps_worlds_with_drops_duplicates_and_failures() {
    let mut text = std::fs::read_to_string("scenarios/race.toml").unwrap();
    text = text.replace(
        "reorder = true",
        "reorder = true\ndrop = 0.01\nduplicate = 0.01\naction_failure = 0.01",
    );
    let (full, reduced) = agree(&load(&text), 1);
    assert!(reduced < full, "{reduced} < {full}");
}

/// A small random scenario: two entity types, rules between them with every resolver the
/// footprint distinguishes, a cross-entity guard, an invariant over `[id]` and one over a
/// literal id, a reflex that listens to commits, and a few roots close together.
fn scenario_text(
    rules: &[(u8, u8, u8, bool)],
    roots: &[(u8, u8, u8)],
    reflex: bool,
    literal: bool,
) -> String {
    let mut t = String::from(
        r#"[scenario]
name = "generated"
until = "10s"
max_depth = 3
allow_truncation = true

[[tenant]]
id = "t"

[[entity]]
type = "A"
states = ["S0", "S1", "S2"]
initial = "S0"
[[entity.action]]
name = "Go"
from = ["S0", "S1"]
to = "S1"
effect = ["increment n"]
[[entity.action]]
name = "Stop"
to = "S2"

[[entity]]
type = "B"
states = ["S0", "S1", "S2"]
initial = "S0"
[[entity.action]]
name = "Go"
from = ["S0"]
to = "S1"
[[entity.action]]
name = "Stop"
from = ["S0", "S1"]
to = "S2"
effect = ["set stopped true"]

[faults]
delay = { p = 0.5, max = "30ms" }
reorder = true

[[invariant]]
name = "not_both_done"
never = "A[id].status == 'S2' && B[id].status == 'S1'"
"#,
    );
    if literal {
        t.push_str(
            "\n[[invariant]]\nname = \"x_not_stopped\"\nnever = \"B['x'].stopped == true && A['x'].n > 1\"\n",
        );
    }
    let types = ["A", "B"];
    let actions = ["Go", "Stop"];
    for (k, &(from, to, resolver, guarded)) in rules.iter().enumerate() {
        let from_ty = types[from as usize % 2];
        let to_ty = types[to as usize % 2];
        let action = actions[(k + from as usize) % 2];
        let resolve = match resolver % 4 {
            0 => "type = \"same_id\"".to_string(),
            1 => "type = \"static\"\nentity_id = \"x\"".to_string(),
            2 => "type = \"create\"".to_string(),
            _ => "type = \"field\"\nfield = \"peer\"".to_string(),
        };
        t.push_str(&format!(
            "\n[[reaction]]\nname = \"r{k}\"\n[reaction.when]\nentity_type = \"{from_ty}\"\naction = \"{}\"\n",
            actions[k % 2]
        ));
        if guarded {
            t.push_str(
                "[reaction.when.guard]\ntype = \"cross_entity_state_in\"\nentity_type = \"B\"\nentity_id_source = \"peer\"\nrequired_status = [\"S0\", \"S1\"]\n",
            );
        }
        t.push_str(&format!(
            "[reaction.then]\nentity_type = \"{to_ty}\"\naction = \"{action}\"\n[reaction.resolve_target]\n{resolve}\n"
        ));
    }
    if reflex {
        t.push_str(
            "\n[[reflex]]\nid = \"watch\"\ntenant = \"t\"\npattern = \"entity.B.Stop.>\"\nseverity = \"info\"\nthen = { entity_type = \"A\", action = \"Stop\", id = \"x\" }\n",
        );
    }
    let ids = ["x", "y", "z"];
    for &(ty, id, at) in roots {
        t.push_str(&format!(
            "\n[[event]]\nat = \"{}ms\"\ntenant = \"t\"\ndispatch = {{ entity_type = \"{}\", id = \"{}\", action = \"{}\", params = {{ peer = \"{}\" }} }}\n",
            [0, 5, 10, 40][at as usize % 4],
            types[ty as usize % 2],
            ids[id as usize % 3],
            actions[(ty as usize + id as usize) % 2],
            ids[(id as usize + 1) % 3],
        ));
    }
    t
}

/// The most states a generated case's full search may explore before the case is skipped.
const STATES_PER_CASE_MAX: usize = 20_000;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn reduced_and_full_search_reach_the_same_worlds_and_violations(
        rules in prop::collection::vec((0u8..2, 0u8..2, 0u8..4, any::<bool>()), 1..4),
        roots in prop::collection::vec((0u8..2, 0u8..3, 0u8..4), 2..5),
        reflex in any::<bool>(),
        literal in any::<bool>(),
    ) {
        let text = scenario_text(&rules, &roots, reflex, literal);
        let scenario = load(&text);
        // A generated model whose full search passes 20,000 states (cascades of created
        // ids under every delay order can) is skipped, not searched for minutes: the
        // property is about the reduction, and the small cases cover it.
        let full = terminals_within(&scenario, ModelConfig { reduce: false, faults_max: 0 }, STATES_PER_CASE_MAX);
        prop_assume!(full.is_some());
        let full = full.expect("assumed");
        let reduced = terminals(&scenario, ModelConfig { reduce: true, faults_max: 0 });
        prop_assert_eq!(&full.0, &reduced.0, "{}", text);
    }
}

/// The counts the reduction gives on the shipped race, pinned: (full, reduced) states of
/// the explicit search.
#[test]
fn race_state_counts_are_pinned() {
    let counts: BTreeMap<&str, (usize, usize)> =
        [("race", agree(&shipped("race"), 1))].into_iter().collect();
    assert_eq!(counts["race"], (22, 16));
}

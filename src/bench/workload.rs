//! The generated benchmark workload: a validated [`Scenario`] built in memory, big enough to
//! measure (100,000 root events by default) and shaped like the systems Ripple simulates.
//!
//! Shape, for `T` tenants x `E` entities per tenant:
//!
//! - Entity types `L0`..`L6`, each with states `Idle`/`Armed` and actions `Touch` (keeps the
//!   state, counts `touches`), `Arm` and `Disarm`.
//! - Fan-out 2, depth 6: every `Lk` (k < 6) has two rules on `Touch`, both dispatching `Touch`
//!   on `L(k+1)`. `lk_chain` resolves `same_id` and has no guard, so every `L0` touch reaches
//!   `L6` (dispatch depth 6). `lk_peer` resolves through the `peer` field (even k) or the
//!   `static` id `hub` (odd k) and carries a guard that passes only sometimes: `state_in`,
//!   `all_of`/`not`/`field_equals`, `cross_entity_state_in` on the peer, `any_of`/`field_in`.
//!   Guards therefore run on every commit and the cascade's width depends on what the run
//!   did before (which entities are `Armed`).
//! - Reflexes on wildcard subjects: `gen_touch` (`sensory.*.gen.>`) touches an `L0` entity
//!   named by the payload, starting a cascade one hop deep; `link_log` (`sensory.link_down.>`)
//!   only logs, so link-down events fan out to two subscribers; `l3_arms_l4` (`entity.L3.>`)
//!   hears every `L3` commit and arms the `L4` entity of the same id, a feedback loop through
//!   the bus that changes later guard results.
//! - Root events, four per virtual millisecond (so concurrent inputs share a time and their
//!   order is drawn from the seed): half are `Touch` on `L0`, a quarter are publications
//!   `sensory.<class>.gen.<entity>` with small payloads, and the rest `Arm` (1 in 16) or
//!   `Disarm` (3 in 16) an entity at some level.
//!
//! Variety comes from a fixed mixing function of the event's index, not from a random
//! source: the scenario is a pure function of the [`WorkloadConfig`] (the seed only decides
//! what the run's scheduler decides, as for any scenario).
//!
//! Not covered: faults, `create` resolvers, builtin reflex handlers, expectations. The
//! workload measures the fault-free hot path: scheduler, bus, reflexes, cascade, trace.

use crate::bus::Pattern;
use crate::core::Severity;
use crate::core::SimTime;
use crate::core::Subject;
use crate::core::{EntityId, TenantId, Value, MAX_REACTION_DEPTH};
use crate::engine::reflex::ThenTemplate;
use crate::engine::{ActionSpec, EntitySpec, Guard, Resolver, Rule, Then, When};
use crate::scenario::{
    parse_scenario, Input, ReflexKind, ReflexSpec, RootEvent, Scenario, STEPS_MAX_DEFAULT,
};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Entity types `L0..=L6`: rules go from each level to the next, so a cascade is at most
/// six reaction hops deep.
pub const LEVELS: usize = 7;
/// Root events per virtual millisecond.
pub const EVENTS_PER_MS: u64 = 4;
/// The event classes of generated sensory publications.
pub const SENSORY_CLASSES: [&str; 4] = ["link_down", "bgp_drop", "cpu_high", "fan_fail"];

/// The scenario every workload starts from: nothing but a name.
const BASE_SCENARIO: &str = "[scenario]\nname = \"generated\"\n";

/// The size of the generated workload. Everything else is fixed, and nothing depends on a
/// seed: two builds from one config are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadConfig {
    pub tenants: u32,
    pub entities_per_tenant: u32,
    pub root_events: u32,
}

impl Default for WorkloadConfig {
    /// 4 tenants x 250 entities, 100,000 root events over 25 s of virtual time.
    fn default() -> Self {
        WorkloadConfig {
            tenants: 4,
            entities_per_tenant: 250,
            root_events: 100_000,
        }
    }
}

/// Builds the workload for `config` (see the module doc for its shape).
pub fn generated_workload(config: &WorkloadConfig) -> Scenario {
    assert!(config.tenants > 0, "a workload needs a tenant");
    assert!(
        config.entities_per_tenant > 0,
        "a workload needs entities to act on"
    );
    let tenants: Vec<TenantId> = (0..config.tenants)
        .map(|t| TenantId::new(format!("t{t}")))
        .collect();
    let entities: BTreeMap<String, EntitySpec> =
        (0..LEVELS).map(|k| (level(k), entity_spec(k))).collect();
    let rule_list: Vec<Arc<Rule>> = (0..LEVELS - 1)
        .flat_map(|k| [Arc::new(chain_rule(k)), Arc::new(peer_rule(k))])
        .collect();
    // Every tenant registers the same rules (shared `Arc`s: a rule is immutable).
    let rules = tenants
        .iter()
        .map(|t| (t.clone(), rule_list.clone()))
        .collect();
    let events: Vec<RootEvent> = (0..config.root_events)
        .map(|i| root_event(config, &tenants, i))
        .collect();
    let last_ms = events.last().map_or(0, |e| e.at.ms());
    // Start from the loader's own empty scenario and fill in what this workload defines:
    // sections it does not use (faults, generators, its own invariants, ...) keep exactly
    // the defaults a scenario file without them gets, whatever sections the format grows.
    let mut scenario = parse_scenario(BASE_SCENARIO, Path::new("<generated>"))
        .expect("the base scenario is valid");
    scenario.name = "generated".into();
    scenario.description = format!(
        "generated workload: {} tenants x {} entities, {} root events",
        config.tenants, config.entities_per_tenant, config.root_events
    );
    scenario.path = PathBuf::from("<generated>");
    scenario.depth_max = MAX_REACTION_DEPTH;
    // A minute of slack after the last input: the system is quiet long before that.
    scenario.until = SimTime(last_ms + 60_000);
    scenario.allow_truncation = false;
    // Scheduler steps are root inputs plus bus deliveries: a few per root event.
    scenario.steps_max = STEPS_MAX_DEFAULT.max(u64::from(config.root_events) * 64);
    scenario.tenants = tenants;
    scenario.rules = rules;
    scenario.entities = entities;
    scenario.reflexes = reflexes();
    scenario.events = events;
    scenario.expects = Vec::new();
    debug_assert!(scenario.rules.values().flatten().all(|r| r
        .when
        .guard
        .as_ref()
        .is_none_or(|g| g.depth() <= crate::core::MAX_GUARD_DEPTH)));
    scenario
}

fn level(k: usize) -> String {
    format!("L{k}")
}

fn entity_id(j: u64) -> String {
    format!("e{j}")
}

fn entity_spec(k: usize) -> EntitySpec {
    let action = |name: &str, to: Option<&str>, effects: Vec<crate::engine::Effect>| {
        (
            name.to_string(),
            ActionSpec {
                name: name.into(),
                from: None,
                to: to.map(String::from),
                requires: None,
                guard: None,
                effects,
                commands: Vec::new(),
            },
        )
    };
    let touch_effect = crate::engine::Effect::Increment("touches".into());
    EntitySpec {
        type_name: level(k),
        states: vec!["Idle".into(), "Armed".into()],
        initial: "Idle".into(),
        fields_initial: crate::engine::Fields::new(),
        actions: [
            action("Touch", None, vec![touch_effect]),
            action("Arm", Some("Armed"), Vec::new()),
            action("Disarm", Some("Idle"), Vec::new()),
        ]
        .into_iter()
        .collect(),
    }
}

/// The params every hop passes on, so that deeper levels can resolve and guard on them.
fn carried_fields() -> BTreeMap<String, String> {
    ["peer", "lane", "quiet"]
        .into_iter()
        .map(|f| (f.to_string(), f.to_string()))
        .collect()
}

/// `Lk.Touch -> L(k+1).Touch` on the same id, unguarded: the spine that reaches depth 6.
fn chain_rule(k: usize) -> Rule {
    Rule {
        name: format!("l{k}_chain"),
        when: When {
            entity_type: level(k),
            action: Some("Touch".into()),
            to_state: None,
            guard: None,
        },
        then: Then {
            entity_type: level(k + 1),
            action: "Touch".into(),
            params: json!({ "hop": k + 1 }),
            params_from: carried_fields(),
        },
        resolve_target: Resolver::SameId,
    }
}

/// `Lk.Touch -> L(k+1).Touch` on the peer (even k) or the hub (odd k), behind a guard that
/// passes only sometimes.
fn peer_rule(k: usize) -> Rule {
    let armed = || vec!["Armed".to_string()];
    let on_peer = |status: Vec<String>| Guard::CrossEntityStateIn {
        entity_type: level(k + 1),
        entity_id_source: "peer".into(),
        required_status: status,
    };
    let guard = match k {
        0 | 3 => Guard::StateIn { values: armed() },
        1 => Guard::AllOf {
            guards: vec![
                Guard::FieldEquals {
                    field: "lane".into(),
                    value: json!("a"),
                },
                Guard::Not {
                    guard: Box::new(Guard::BoolTrue {
                        field: "quiet".into(),
                    }),
                },
            ],
        },
        2 => on_peer(armed()),
        4 => Guard::AnyOf {
            guards: vec![
                Guard::FieldIn {
                    field: "lane".into(),
                    values: vec![json!("bgp_drop")],
                },
                on_peer(armed()),
            ],
        },
        _ => Guard::Not {
            guard: Box::new(on_peer(vec!["Idle".into()])),
        },
    };
    let resolve_target = if k.is_multiple_of(2) {
        Resolver::Field {
            field: "peer".into(),
        }
    } else {
        Resolver::Static {
            entity_id: "hub".into(),
        }
    };
    Rule {
        name: format!("l{k}_peer"),
        when: When {
            entity_type: level(k),
            action: Some("Touch".into()),
            to_state: None,
            guard: Some(guard),
        },
        then: Then {
            entity_type: level(k + 1),
            action: "Touch".into(),
            params: json!({ "via": format!("l{k}_peer") }),
            params_from: carried_fields(),
        },
        resolve_target,
    }
}

fn reflexes() -> Vec<ReflexSpec> {
    let pattern = |p: &str| Pattern::new(p).expect("a valid pattern");
    vec![
        ReflexSpec {
            id: "gen_touch".into(),
            tenant: None,
            kind: ReflexKind::Declarative {
                pattern: pattern("sensory.*.gen.>"),
                severity: Severity::Info,
                then: Some(ThenTemplate {
                    entity_type: level(0),
                    action: "Touch".into(),
                    id: "{payload.device}".into(),
                    params: json!({
                        "peer": "{payload.peer}",
                        "lane": "{token.1}",
                        "quiet": "{payload.quiet}",
                    }),
                }),
            },
        },
        ReflexSpec {
            id: "link_log".into(),
            tenant: None,
            kind: ReflexKind::Declarative {
                pattern: pattern("sensory.link_down.>"),
                severity: Severity::Warn,
                then: None,
            },
        },
        ReflexSpec {
            id: "l3_arms_l4".into(),
            tenant: None,
            kind: ReflexKind::Declarative {
                pattern: pattern("entity.L3.>"),
                severity: Severity::Info,
                then: Some(ThenTemplate {
                    entity_type: level(4),
                    action: "Arm".into(),
                    id: "{token.3}".into(),
                    params: json!({}),
                }),
            },
        },
    ]
}

/// splitmix64's finaliser: a fixed bijection that spreads consecutive indices.
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn root_event(config: &WorkloadConfig, tenants: &[TenantId], i: u32) -> RootEvent {
    let i = u64::from(i);
    let h = mix(i);
    let entities = u64::from(config.entities_per_tenant);
    let tenant = tenants[(h % tenants.len() as u64) as usize].clone();
    let j = (h >> 16) % entities;
    let peer = entity_id((j * 7 + 3) % entities);
    let dispatch = |k: usize, action: &str, params: Value| Input::Dispatch {
        entity_type: level(k),
        id: EntityId(entity_id(j)),
        action: action.into(),
        params,
        created_by: None,
    };
    // Per 16 events: 8 touches, 4 publications, 1 arm, 3 disarms. Disarming three times
    // as often keeps about a quarter of the entities `Armed` however long the run, so the
    // guards' pass rates (and the cascades' width) do not drift with the workload's size.
    let input = match i % 16 {
        0 | 1 | 4 | 5 | 8 | 9 | 12 | 13 => dispatch(
            0,
            "Touch",
            json!({
                "peer": peer,
                "lane": if (h >> 40).is_multiple_of(2) { "b" } else { "a" },
                "quiet": (h >> 44).is_multiple_of(5),
            }),
        ),
        2 => dispatch(((h >> 48) % LEVELS as u64) as usize, "Arm", json!({})),
        6 | 10 | 14 => dispatch(((h >> 48) % LEVELS as u64) as usize, "Disarm", json!({})),
        _ => {
            let class = SENSORY_CLASSES[((h >> 52) % SENSORY_CLASSES.len() as u64) as usize];
            let device = entity_id(j);
            Input::Publish {
                subject: Subject::new(format!("sensory.{class}.gen.{device}"))
                    .expect("class and entity ids are plain tokens"),
                payload: json!({
                    "device": device,
                    "peer": peer,
                    "quiet": false,
                    "seq": i,
                }),
            }
        }
    };
    RootEvent {
        at: SimTime(i / EVENTS_PER_MS),
        tenant,
        input,
        vendor: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Record;
    use crate::core::Seed;
    use crate::core::MAX_GUARD_DEPTH;
    use crate::sim::{run_scenario, RunOptions};

    fn small() -> WorkloadConfig {
        WorkloadConfig {
            tenants: 1,
            entities_per_tenant: 10,
            root_events: 200,
        }
    }

    #[test]
    fn default_workload_has_at_least_100k_mixed_root_events() {
        let scenario = generated_workload(&WorkloadConfig::default());
        assert!(scenario.events.len() >= 100_000);
        let publications = scenario
            .events
            .iter()
            .filter(|e| matches!(e.input, Input::Publish { .. }))
            .count();
        let dispatches = scenario.events.len() - publications;
        assert!(publications >= 20_000, "{publications} publications");
        assert!(dispatches >= 50_000, "{dispatches} dispatches");
        assert!(
            scenario.events.windows(2).all(|w| w[0].at <= w[1].at),
            "root events are in time order"
        );
        assert!(scenario.events.last().unwrap().at < scenario.until);
    }

    #[test]
    fn every_level_but_the_last_fires_two_rules_on_touch() {
        let scenario = generated_workload(&small());
        let rules = &scenario.rules[&TenantId::new("t0")];
        for k in 0..LEVELS {
            let fan_out = rules
                .iter()
                .filter(|r| {
                    r.when.entity_type == level(k) && r.when.action.as_deref() == Some("Touch")
                })
                .inspect(|r| assert_eq!(r.then.entity_type, level(k + 1)))
                .count();
            assert_eq!(fan_out, if k + 1 < LEVELS { 2 } else { 0 }, "level {k}");
        }
        let guarded = rules.iter().filter(|r| r.when.guard.is_some()).count();
        assert_eq!(guarded, LEVELS - 1, "every peer rule is guarded");
        assert!(rules
            .iter()
            .filter_map(|r| r.when.guard.as_ref())
            .all(|g| g.depth() <= MAX_GUARD_DEPTH));
    }

    #[test]
    fn small_workload_cascades_six_hops_deep_and_passes() {
        let outcome = run_scenario(
            &generated_workload(&small()),
            Seed(1),
            RunOptions::default(),
        );
        assert!(outcome.passed(), "{:?}", outcome.violations);
        let deepest_dispatch = outcome
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Dispatch { depth, .. } => Some(depth.0),
                _ => None,
            })
            .max();
        assert!(
            deepest_dispatch >= Some(6),
            "deepest dispatch {deepest_dispatch:?}"
        );
        let deepest_reaction = outcome
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Reaction {
                    depth,
                    success: true,
                    ..
                } => Some(depth.0),
                _ => None,
            })
            .max();
        assert!(
            deepest_reaction >= Some(5),
            "deepest reaction {deepest_reaction:?}"
        );
        let kinds = |pred: fn(&Record) -> bool| outcome.records.iter().filter(|r| pred(r)).count();
        assert!(
            kinds(|r| matches!(r, Record::GuardSkip { .. })) > 0,
            "guards fail sometimes"
        );
        assert!(
            kinds(|r| matches!(r, Record::Deliver { .. })) > 0,
            "reflexes hear events"
        );
        assert!(
            kinds(|r| matches!(r, Record::Reaction { rule, .. } if rule.ends_with("_peer"))) > 0,
            "guards pass sometimes"
        );
    }

    #[test]
    fn workload_and_its_runs_are_deterministic() {
        assert_eq!(
            format!("{:?}", generated_workload(&small())),
            format!("{:?}", generated_workload(&small())),
        );
        let run = || {
            run_scenario(
                &generated_workload(&small()),
                Seed(7),
                RunOptions::default(),
            )
        };
        let (a, b) = (run(), run());
        assert_eq!(a.trace_hash, b.trace_hash);
        assert_eq!(a.steps(), b.steps());
    }
}

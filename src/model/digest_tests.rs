//! The model checker's incremental fast paths agree with their references in every state a
//! full search meets (plain shipped scenarios, and the same with every fault kind a choice:
//! drops, duplicates, action failures, handler crashes, reflex restarts):
//! - the state digest (`CascadeState::seal`, `store_digest_after`) is the digest computed
//!   from scratch, also for symmetry's renamed representatives, and every pending
//!   reaction's digest (`message::Pending`) is what its content hashes to;
//! - the settled-state invariant check of changed bindings only finds the violation that
//!   checking the whole world finds;
//! - a step the transition cache answers (`cascade::CacheKey`) leaves the store, the
//!   messages, the findings and the digest that the engine's run of it leaves (`step`
//!   compares the two on every hit under test; the test below makes sure there are hits).

use crate::model::cascade::{CascadeModel, CascadeState, ModelConfig};
use crate::model::message::Message;
use crate::model::symmetry::representative;
use crate::scenario::{parse_scenario, CheckAt, Scenario};
use stateright::Model;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

const ALL_FAULTS: &str = "\n[faults]\ndelay = { p = 0.3, max = \"50ms\" }\nreorder = true\ndrop = 0.1\nduplicate = 0.1\naction_failure = 0.1\nhandler_panic = 0.1\nreflex_restart = 0.1\n";

/// The scenario, and with `faults` its `[faults]` replaced by every kind at once.
fn shipped(name: &str, faults: bool) -> Scenario {
    let path = format!("scenarios/{name}.toml");
    let mut text = std::fs::read_to_string(&path).expect("a shipped scenario");
    if faults {
        if let Some(at) = text.find("\n[faults]") {
            let end = text[at + 1..]
                .find("\n[")
                .map_or(text.len(), |k| at + 1 + k);
            text.replace_range(at..end, "");
        }
        text.push_str(ALL_FAULTS);
    }
    parse_scenario(&text, Path::new(&path)).expect("the scenario loads")
}

/// Explores up to `states_max` states of `scenario`, checking every digest; returns how
/// many states were checked.
fn check_digests(scenario: &Scenario, faults_max: u8, states_max: usize) -> usize {
    check_digests_hits(scenario, faults_max, states_max).0
}

/// [`check_digests`], and how many steps the transition cache answered.
fn check_digests_hits(scenario: &Scenario, faults_max: u8, states_max: usize) -> (usize, usize) {
    let config = ModelConfig {
        reduce: false,
        faults_max,
    };
    let model = CascadeModel::new(Arc::new(scenario.clone()), config).expect("a cascade model");
    let mut seen: BTreeSet<u64> = BTreeSet::new();
    let mut stack: Vec<CascadeState> = model.init_states();
    let mut checked = 0;
    while let Some(s) = stack.pop() {
        assert_eq!(s.digest(), s.digest_reference(), "a stale digest: {s:?}");
        let r = representative(&s);
        assert_eq!(r.digest(), r.digest_reference(), "a stale representative");
        for m in s.pending.iter().chain(&r.pending) {
            if let Message::Reaction(p) = m {
                assert!(p.digest_is_fresh(), "a stale message digest: {m:?}");
            }
        }
        if !seen.insert(s.digest_reference()) || checked >= states_max {
            continue;
        }
        checked += 1;
        let mut actions = Vec::new();
        model.actions(&s, &mut actions);
        for a in actions {
            let next = model.transition(&s, a).0;
            // The reference: the first violation kept, else the whole world checked when
            // the instant is settled (with delays, always).
            let settled = model.delays()
                || next
                    .pending
                    .iter()
                    .all(|m| matches!(m, Message::Answer { .. }));
            let expected = s.violations.get("invariant").cloned().or_else(|| {
                settled
                    .then(|| model.invariant_violation(&next.store, CheckAt::Step))
                    .flatten()
            });
            assert_eq!(
                next.violations.get("invariant"),
                expected.as_ref(),
                "{}",
                model.describe_step(&s, a)
            );
            stack.push(next);
        }
    }
    let hits = model.cache_hits.load(std::sync::atomic::Ordering::Relaxed);
    (checked, hits)
}

/// The transition cache's reference is the engine: every hit is compared with the engine's
/// run of the same step (in `step`, under test). Here, on every shipped scenario whose model
/// caches (plain and with every fault kind), the cache answers steps, so the comparison ran.
#[test]
fn cached_steps_are_the_engines_on_shipped_scenarios() {
    let mut hits = Vec::new();
    for faults in [false, true] {
        for name in crate::model::SHIPPED_SCENARIOS {
            let (checked, hit) = check_digests_hits(&shipped(name, faults), 1, 5_000);
            assert!(checked >= 5, "{name}: only {checked} states");
            hits.push((name, faults, hit));
        }
    }
    let hit = |name: &str, faults: bool| {
        hits.iter()
            .find(|h| (h.0, h.1) == (name, faults))
            .unwrap()
            .2
    };
    // Without `[faults]` cascades run inline: nothing is cached.
    assert_eq!(hit("agent_loop", false), 0, "{hits:?}");
    assert!(hit("race", false) > 0, "{hits:?}");
    assert!(hit("race_crowd", false) > 1_000, "{hits:?}");
    // An integration call's number is path state: a model with integrations never caches.
    assert_eq!(hit("agent_loop", true), 0, "{hits:?}");
    assert!(hit("cycle", true) > 0, "{hits:?}");
    assert!(hit("netops", true) > 0, "{hits:?}");
}

#[test]
fn incremental_digests_match_the_reference_on_shipped_scenarios() {
    for name in [
        "agent_loop",
        "cycle",
        "netops",
        "order_payment",
        "pipeline",
        "race",
        "two_tenants",
    ] {
        let checked = check_digests(&shipped(name, false), 1, 3_000);
        assert!(checked >= 5, "{name}: only {checked} states");
    }
}

#[test]
fn incremental_digests_match_the_reference_with_every_fault_kind() {
    for name in [
        "cycle",
        "netops",
        "pipeline",
        "race",
        "race_crowd",
        "two_tenants",
    ] {
        let checked = check_digests(&shipped(name, true), 2, 3_000);
        assert!(checked >= 20, "{name}: only {checked} states");
    }
}

#[test]
fn equal_states_have_equal_digests_and_different_ones_differ() {
    let scenario = shipped("race", false);
    let model = CascadeModel::new(Arc::new(scenario), ModelConfig::default()).unwrap();
    let init = model.initial();
    let mut actions = Vec::new();
    model.actions(&init, &mut actions);
    let a = model.transition(&init, actions[0]).0;
    let b = model.transition(&init, actions[0]).0;
    assert_eq!(a, b);
    assert_eq!(a.digest(), b.digest());
    assert_ne!(
        a.digest(),
        init.digest(),
        "a step changes the world and its digest"
    );
}

/// The look-ahead (`CascadeModel::search_ahead`) against its reference, the same search
/// building every state: on every shipped scenario (plain and with every fault kind, with
/// and without the reduction), the same counts, depth, terminal worlds and discoveries by
/// the same paths. Under test every hollow successor is also built and its digest compared
/// (`step_ahead`); the look-ahead must have recognised some.
#[test]
fn searching_ahead_explores_as_building_every_state() {
    use stateright::Checker;
    let mut hollow = Vec::new();
    for faults in [false, true] {
        for name in crate::model::SHIPPED_SCENARIOS {
            let scenario = Arc::new(shipped(name, faults));
            for reduce in [true, false] {
                let config = ModelConfig {
                    reduce,
                    faults_max: 1,
                };
                let plain = CascadeModel::new(scenario.clone(), config).expect("a model");
                if plain.mints() {
                    continue;
                }
                let plain = plain
                    .checker()
                    .target_state_count(30_000)
                    .spawn_dfs()
                    .join();
                let ahead = CascadeModel::new(scenario.clone(), config)
                    .expect("a model")
                    .search_ahead()
                    .checker()
                    .target_state_count(30_000)
                    .spawn_dfs()
                    .join();
                ahead.model().searched();
                let what = format!("{name} faults={faults} reduce={reduce}");
                assert_eq!(plain.state_count(), ahead.state_count(), "{what}");
                assert_eq!(
                    plain.unique_state_count(),
                    ahead.unique_state_count(),
                    "{what}"
                );
                assert_eq!(plain.max_depth(), ahead.max_depth(), "{what}");
                let worlds = |c: &dyn Checker<CascadeModel>| -> Vec<String> {
                    c.model().outcomes.lock().unwrap().keys().cloned().collect()
                };
                assert_eq!(worlds(&plain), worlds(&ahead), "{what}");
                let paths = |c: &dyn Checker<CascadeModel>| {
                    let mut found: Vec<_> = c
                        .discoveries()
                        .into_iter()
                        .map(|(k, p)| (k, p.into_vec()))
                        .collect();
                    found.sort_by_key(|(k, _)| *k);
                    found
                };
                assert_eq!(paths(&plain), paths(&ahead), "{what}");
                hollow.push((
                    what,
                    ahead
                        .model()
                        .hollow_count
                        .load(std::sync::atomic::Ordering::Relaxed),
                ));
            }
        }
    }
    let count = |w: &str| hollow.iter().find(|h| h.0 == w).unwrap().1;
    assert!(
        count("race_crowd faults=false reduce=false") > 1_000,
        "{hollow:?}"
    );
    assert!(count("race faults=true reduce=false") > 0, "{hollow:?}");
}

/// The look-ahead in stateright's breadth-first checker, as order dependence uses it (a
/// search for a path to one terminal world), against the same search building every state:
/// the same counts and the same path to terminal worlds of `race` (plain and with every
/// fault kind) and `race_crowd` (its whole unreduced space).
#[test]
fn searching_ahead_breadth_first_finds_the_same_paths() {
    use stateright::Checker;
    let mut hollow = 0;
    for (name, faults, worlds_max) in [
        ("race", false, 8),
        ("race", true, 8),
        ("race_crowd", false, 1),
    ] {
        let scenario = Arc::new(shipped(name, faults));
        let config = ModelConfig {
            reduce: false,
            faults_max: 1,
        };
        // The terminal worlds, from the reduced search (the same worlds, fewer states).
        let reduced = ModelConfig {
            reduce: true,
            faults_max: 1,
        };
        let dfs = CascadeModel::new(scenario.clone(), reduced)
            .expect("a model")
            .checker()
            .spawn_dfs()
            .join();
        let model = CascadeModel::new(scenario.clone(), config).expect("a model");
        let worlds: Vec<String> = dfs
            .model()
            .outcomes
            .lock()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert!(!worlds.is_empty(), "{name}");
        for world in worlds.iter().take(worlds_max) {
            let bfs = |ahead: bool| {
                let mut m = model.with_target(world.clone());
                if ahead {
                    m = m.search_ahead();
                }
                let c = m.checker().target_state_count(1_000_000).spawn_bfs().join();
                c.model().searched();
                let path = c.discovery("reaches_target").map(|p| p.into_vec());
                let hollow = c
                    .model()
                    .hollow_count
                    .load(std::sync::atomic::Ordering::Relaxed);
                (c.state_count(), c.unique_state_count(), path, hollow)
            };
            let (plain, ahead) = (bfs(false), bfs(true));
            assert_eq!(plain.0, ahead.0, "{name} {world}");
            assert_eq!(plain.1, ahead.1, "{name} {world}");
            assert!(ahead.2.is_some(), "{name}: a path to {world}");
            assert_eq!(plain.2, ahead.2, "{name} {world}");
            hollow += ahead.3;
        }
    }
    assert!(hollow > 100, "{hollow} successors recognised ahead");
}

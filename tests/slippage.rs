//! The three slippage cases of issue 13, shipped as scenarios: each shrinks to its true cause
//! and the minimal scenario fails with the original's signature (the invariant or
//! expectation, the entity, what was seen). A failure that needed faults keeps needing them.

use ripple::{emit_scenario, load_scenario, parse_scenario, shrink, Scenario, ShrinkBudget};
use ripple::{failure_signature, FailureSignature, RunOutcome, Runner, Seed};
use std::collections::BTreeSet;
use std::path::Path;

fn scenario(rel: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    load_scenario(&path).unwrap_or_else(|e| panic!("{e}"))
}

fn run(s: &Scenario, seed: u64, swarm: bool) -> RunOutcome {
    Runner::new(s).swarm(swarm).run(Seed(seed))
}

fn without_faults(s: &Scenario) -> Scenario {
    let mut s = s.clone();
    s.faults = None;
    s.schedule = None;
    s
}

/// Shrinks `seed` and checks what every minimal scenario must satisfy: the same signature
/// as the original, also once written and loaded back, and a pass without its faults.
fn shrink_checked(s: &Scenario, seed: u64, swarm: bool) -> (Scenario, FailureSignature) {
    let original = failure_signature(&run(s, seed, swarm)).expect("the seed fails");
    assert!(
        run(&without_faults(s), seed, false).passed(),
        "the original passes without faults"
    );
    let result = shrink(s, Seed(seed), swarm, ShrinkBudget::default(), &mut |_| {}).unwrap();
    assert_eq!(result.signature, original);
    assert!(result.needs_faults);
    let min = result.minimal;
    let again = failure_signature(&run(&min, seed, false));
    assert_eq!(
        again.as_ref(),
        Some(&original),
        "the minimal scenario's signature"
    );
    let reloaded = parse_scenario(&emit_scenario(&min, "minimal"), Path::new("min.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        failure_signature(&run(&reloaded, seed, false)),
        Some(original.clone())
    );
    assert!(
        run(&without_faults(&min), seed, false).passed(),
        "the minimal scenario still needs its faults"
    );
    (min, original)
}

fn rule_names(s: &Scenario) -> BTreeSet<&str> {
    s.rules
        .values()
        .flatten()
        .map(|r| r.name.as_str())
        .collect()
}

#[test]
fn the_race_checked_by_an_expectation_shrinks_to_two_events_both_rules_and_one_delay() {
    let s = scenario("scenarios/slippage/race_expect.toml");
    let (min, signature) = shrink_checked(&s, 0, false);
    assert_eq!(
        signature.to_string(),
        "expect [shop/Payment/o1: status Authorized]"
    );
    assert_eq!(min.events.len(), 2, "{:?}", min.events);
    assert_eq!(
        rule_names(&min),
        BTreeSet::from([
            "order_cancelled_voids_payment",
            "order_confirmed_authorizes_payment"
        ])
    );
    let schedule = min.schedule.as_deref().unwrap_or_default();
    assert_eq!(schedule.len(), 1, "{schedule:?}");
    assert_eq!(schedule[0].kind.as_str(), "delay");
}

#[test]
fn a_dropped_authorization_shrinks_to_one_event_the_rule_and_the_fault() {
    let s = scenario("scenarios/slippage/dropped_authorization.toml");
    // The first swarm seed whose fault loses a1's authorization.
    let seed = (0..1000)
        .find(|&seed| {
            failure_signature(&run(&s, seed, true)).is_some_and(|sig| {
                sig.to_string().contains(
                    "[shop/a1: Order[a1].status = \"Confirmed\", Payment[a1].status = (no entity)]",
                )
            })
        })
        .expect("a swarm seed loses a1's authorization");
    let (min, _) = shrink_checked(&s, seed, true);
    assert_eq!(min.events.len(), 1, "{:?}", min.events);
    assert_eq!(
        rule_names(&min),
        BTreeSet::from(["order_confirmed_authorizes_payment"])
    );
    let schedule = min.schedule.as_deref().unwrap_or_default();
    assert_eq!(schedule.len(), 1, "{schedule:?}");
    assert!(
        ["drop", "action_failure"].contains(&schedule[0].kind.as_str()),
        "{schedule:?}"
    );
}

#[test]
fn a_netops_swarm_seed_shrinks_to_a_scenario_with_the_same_pages_count() {
    let s = scenario("scenarios/netops.toml");
    let signature = failure_signature(&run(&s, 2, true)).expect("seed 2 fails under --swarm");
    let text = signature.to_string();
    assert!(text.contains("[netops/Pager/oncall: pages = "), "{text}");
    let (min, minimal) = shrink_checked(&s, 2, true);
    assert_eq!(minimal.to_string(), text);
    assert!(!min.events.is_empty() && min.events.len() < s.events.len());
}

#[test]
fn a_netops_swarm_sweep_tells_its_failures_apart() {
    let s = scenario("scenarios/netops.toml");
    let seeds: Vec<u64> = (0..300).collect();
    let results = Runner::new(&s).swarm(true).sweep(&seeds, 1);
    let groups: BTreeSet<&str> = results
        .iter()
        .filter_map(|r| r.signature.as_deref())
        .collect();
    assert!(groups.len() > 5, "{groups:?}");
    assert!(
        groups.iter().all(|g| g.starts_with("expect [netops/")),
        "{groups:?}"
    );
}

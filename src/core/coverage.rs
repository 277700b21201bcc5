//! Coverage: what a run (or a whole sweep) reached, counted from its trace records as they
//! are written: which rules fired and at which depths, which guards passed and failed,
//! which reactions resolved their target and which could not, which handlers gave which
//! outcome kinds, which transitions each entity type made, which faults fired on what.
//!
//! Counts only: two coverages merge by adding them ([`Coverage::merge`]), so the coverage of
//! a sweep is the sum of its seeds', and the coverage of merged shards is the sweep's.
//! Keys are names from the scenario (rules, handlers, entity types, actions, states), never
//! ids, so a coverage stays small however many seeds or entities a sweep has.
//!
//! What it leaves out: what was declared but never reached. Only the scenario knows what
//! was declared; the sweep report sets the two side by side.

use crate::core::RecordRef;
use crate::core::{FaultTarget, OutcomeKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

thread_local! {
    /// A count's key (`From -> To`, a fault's site), rebuilt for each record without
    /// allocating: a sweep sees millions of them.
    static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Counts by name.
pub type Counts = BTreeMap<String, u64>;

/// How a rule fared at one depth.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHits {
    /// Its guard passed and its target action committed.
    pub succeeded: u64,
    /// Its guard passed and the dispatch failed (could not resolve, action failed).
    pub failed: u64,
}

/// A guard's verdicts (a rule without a guard passes every time).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardHits {
    pub passed: u64,
    pub failed: u64,
}

/// A rule's target resolution: resolved to an id, or not ("could not resolve target").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveHits {
    pub resolved: u64,
    pub unresolved: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Rule -> reaction depth -> outcomes.
    pub rules: BTreeMap<String, BTreeMap<u32, RuleHits>>,
    /// Rule -> its guard's verdicts.
    pub guards: BTreeMap<String, GuardHits>,
    /// Rule -> how its resolver fared.
    pub resolvers: BTreeMap<String, ResolveHits>,
    /// Rule -> times it was dropped at the depth bound.
    pub depth_limits: Counts,
    /// Handler -> outcome kind (`logged`, `applied`, `skipped`, `errored`) -> count.
    pub handlers: BTreeMap<String, Counts>,
    /// Entity type -> `From -> To` -> count.
    pub transitions: BTreeMap<String, Counts>,
    /// Entity type -> action -> failures.
    pub action_failures: BTreeMap<String, Counts>,
    /// Fault kind -> what it hit (`rule R`, `handler H`, `Type.Action`) -> count.
    pub faults: BTreeMap<String, Counts>,
}

/// Adds one to `map[key]`, allocating the key only the first time it is seen.
fn bump(map: &mut Counts, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

fn entry<'m, V: Default>(map: &'m mut BTreeMap<String, V>, key: &str) -> &'m mut V {
    if !map.contains_key(key) {
        map.insert(key.to_string(), V::default());
    }
    map.get_mut(key).expect("inserted above")
}

fn add_counts(into: &mut Counts, from: &Counts) {
    for (k, n) in from {
        *into.entry(k.clone()).or_insert(0) += n;
    }
}

impl Coverage {
    /// Counts one record.
    pub fn observe(&mut self, record: &RecordRef<'_>) {
        match record {
            RecordRef::Reaction {
                rule,
                depth,
                success,
                target_id,
                ..
            } => {
                let hits = entry(&mut self.rules, rule).entry(depth.0).or_default();
                if *success {
                    hits.succeeded += 1;
                } else {
                    hits.failed += 1;
                }
                entry(&mut self.guards, rule).passed += 1;
                let r = entry(&mut self.resolvers, rule);
                if target_id.is_some() {
                    r.resolved += 1;
                } else {
                    r.unresolved += 1;
                }
            }
            RecordRef::GuardSkip { rule, .. } => entry(&mut self.guards, rule).failed += 1,
            RecordRef::DepthLimit { rule, .. } => bump(&mut self.depth_limits, rule),
            RecordRef::Outcome {
                handler, outcome, ..
            } => bump(entry(&mut self.handlers, handler), outcome_name(*outcome)),
            RecordRef::Transition {
                entity_type,
                from,
                to,
                ..
            } => {
                // A creation goes from the initial state like any other first action. The key
                // is built in a buffer kept across calls: a sweep sees millions of these.
                let counts = entry(&mut self.transitions, entity_type);
                KEY.with_borrow_mut(|key| {
                    key.clear();
                    key.push_str(from);
                    key.push_str(" -> ");
                    key.push_str(to);
                    bump(counts, key);
                });
            }
            RecordRef::ActionFailed {
                entity_type,
                action,
                ..
            } => bump(entry(&mut self.action_failures, entity_type), action),
            RecordRef::Fault { fault, on, .. } => {
                let counts = entry(&mut self.faults, fault.as_str());
                KEY.with_borrow_mut(|key| {
                    key.clear();
                    fault_site_into(on, key);
                    bump(counts, key);
                });
            }
            RecordRef::Input { .. }
            | RecordRef::Publish { .. }
            | RecordRef::Deliver { .. }
            | RecordRef::Dispatch { .. }
            | RecordRef::Warning { .. } => {}
        }
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: &Coverage) {
        for (rule, depths) in &other.rules {
            let mine = self.rules.entry(rule.clone()).or_default();
            for (d, h) in depths {
                let m = mine.entry(*d).or_default();
                m.succeeded += h.succeeded;
                m.failed += h.failed;
            }
        }
        for (rule, g) in &other.guards {
            let m = self.guards.entry(rule.clone()).or_default();
            m.passed += g.passed;
            m.failed += g.failed;
        }
        for (rule, r) in &other.resolvers {
            let m = self.resolvers.entry(rule.clone()).or_default();
            m.resolved += r.resolved;
            m.unresolved += r.unresolved;
        }
        add_counts(&mut self.depth_limits, &other.depth_limits);
        for (maps, from) in [
            (&mut self.handlers, &other.handlers),
            (&mut self.transitions, &other.transitions),
            (&mut self.action_failures, &other.action_failures),
            (&mut self.faults, &other.faults),
        ] {
            for (k, counts) in from {
                add_counts(maps.entry(k.clone()).or_default(), counts);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Coverage::default()
    }
}

fn outcome_name(kind: OutcomeKind) -> &'static str {
    kind.as_str()
}

/// What a fault hit, by name and not by id: the rule, the handler, or `Type.Action`.
fn fault_site_into(on: &FaultTarget, out: &mut String) {
    match on {
        FaultTarget::Reaction { rule, .. } => {
            out.push_str("rule ");
            out.push_str(rule);
        }
        FaultTarget::Delivery { handler, .. } | FaultTarget::Handler { handler, .. } => {
            out.push_str("handler ");
            out.push_str(handler);
        }
        FaultTarget::Action { target, action } => {
            out.push_str(target.split('/').next().unwrap_or(target));
            out.push('.');
            out.push_str(action);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Depth, FaultKind, SimTime};

    fn reaction(rule: &str, depth: u32, success: bool, resolved: bool) -> RecordRef<'_> {
        RecordRef::Reaction {
            at: SimTime(0),
            cause: 0,
            tenant: "t",
            rule,
            depth: Depth(depth),
            success,
            target_type: "T",
            target_id: resolved.then_some("x"),
            target_status: None,
            error: None,
        }
    }

    #[test]
    fn coverage_counts_by_name_and_merges_by_adding() {
        let mut a = Coverage::default();
        a.observe(&reaction("r1", 0, true, true));
        a.observe(&reaction("r1", 1, false, false));
        a.observe(&RecordRef::GuardSkip {
            at: SimTime(0),
            cause: 0,
            tenant: "t",
            rule: "r2",
            depth: Depth(0),
        });
        let target = FaultTarget::Action {
            target: "Order/o7".into(),
            action: "Pay".into(),
        };
        a.observe(&RecordRef::Fault {
            at: SimTime(0),
            cause: 0,
            fault: FaultKind::Drop,
            on: &target,
            nth: 0,
            event: None,
            delay_ms: 0,
        });
        assert_eq!(a.rules["r1"][&0].succeeded, 1);
        assert_eq!(a.rules["r1"][&1].failed, 1);
        assert_eq!(a.guards["r1"].passed, 2);
        assert_eq!(a.guards["r2"].failed, 1);
        assert_eq!(a.resolvers["r1"].unresolved, 1);
        assert_eq!(a.faults[FaultKind::Drop.as_str()]["Order.Pay"], 1);

        let mut b = a.clone();
        b.merge(&a);
        assert_eq!(b.rules["r1"][&0].succeeded, 2);
        assert_eq!(b.guards["r2"].failed, 2);
        assert_eq!(b.faults[FaultKind::Drop.as_str()]["Order.Pay"], 2);
        let mut empty = Coverage::default();
        empty.merge(&a);
        assert_eq!(empty, a, "merging into nothing gives the same coverage");
    }

    #[test]
    fn a_faults_site_is_its_rule_its_handler_or_its_type_and_action() {
        let mut c = Coverage::default();
        let sites = [
            FaultTarget::Reaction {
                rule: "r1".into(),
                target: "Payment/o1".into(),
            },
            FaultTarget::Delivery {
                subject: "sensory.x".into(),
                handler: "link_down".into(),
            },
            FaultTarget::Handler {
                handler: "link_down".into(),
                subject: "sensory.y".into(),
            },
            FaultTarget::Action {
                target: "Order/o2".into(),
                action: "Pay".into(),
            },
        ];
        for on in &sites {
            c.observe(&RecordRef::Fault {
                at: SimTime(0),
                cause: 0,
                fault: FaultKind::Delay,
                on,
                nth: 1,
                event: None,
                delay_ms: 5,
            });
        }
        let delays = &c.faults[FaultKind::Delay.as_str()];
        assert_eq!(delays["rule r1"], 1);
        assert_eq!(delays["handler link_down"], 2);
        assert_eq!(delays["Order.Pay"], 1);
        assert_eq!(delays.len(), 3);
    }
}

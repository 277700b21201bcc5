//! `spec:<Type>.<Name>`: the `[[invariant]]`s of temper I/O-automaton specs, checked in every
//! run (`run`, `sweep`, `shrink`) and in every state the model checker explores.
//!
//! An invariant applies to every entity of its spec's type whose status is in its `when`
//! list (an empty list: every status), in each tenant. Two kinds:
//!
//! - A state assert (`items > 0`, `has_content`, `used_bytes <= quota_limit`,
//!   `status in ['Resolved'] => replies > 0`, `never(Invalid)`) is checked on the store
//!   whenever a scenario's own `[[invariant]]` is: after every scheduler step that settles an
//!   instant of virtual time, and at the end. The first entity (in id order) that breaks it is
//!   reported with the values the assert reads.
//! - A history assert is checked on the trace, record by record, so that a cascade that
//!   passes through a state within one instant is seen: `no_further_transitions` (no action
//!   commits on an entity while it is in a `when` state: the state is final) and
//!   `ordering(A, B)` (an entity reaches `B` only after it has been in `A`). A spec's
//!   `terminal` states are checked as `spec:<Type>.terminal`, a `no_further_transitions`
//!   over them.
//!
//! What it does not verify: temper's `[[liveness]]` properties (a run is finite; the
//! `quiescence` built-in is the nearest thing), `[[field_invariant]]`s (rejected when the
//! spec loads), and states inside one instant for state asserts (as for the scenario's own
//! invariants).

use crate::check::Invariant;
use crate::core::{Record, RecordKind, RecordRef};
use crate::engine::Store;
use crate::scenario::temper::{SpecAssert, SpecInvariant};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

/// Checking a spec invariant (the type is the scenario's: `scenario/temper/invariant.rs`).
impl SpecInvariant {
    /// A state assert, checked on `store` in `tenant`: the first entity that breaks it, as a
    /// message. `None` when it holds (or is a history assert, which [`SpecTransitions`]
    /// checks).
    pub fn check(&self, store: &Store, tenant: &str) -> Option<String> {
        self.check_observed(store, tenant)
            .map(|(message, _)| message)
    }

    /// [`SpecInvariant::check`], with what a failure signature keeps of it: the status and
    /// the values the assert reads (`Thinking: turns = 9`), not the entity's id, which a
    /// spec's entities often mint.
    pub fn check_observed(&self, store: &Store, tenant: &str) -> Option<(String, String)> {
        let SpecAssert::State(expr) = &self.assert else {
            return None;
        };
        for id in store.ids_of(tenant, &self.entity_type) {
            let Some(e) = store.get(tenant, &self.entity_type, id.as_str()) else {
                continue;
            };
            if !self.applies_in(&e.status) || expr.holds(&e.status, &e.fields) {
                continue;
            }
            let mut message = format!(
                "{}/{id} is {} and `{}` is false",
                self.entity_type, e.status, self.text
            );
            let mut reads = String::new();
            for (i, var) in expr.vars().iter().enumerate() {
                if i > 0 {
                    reads.push_str(", ");
                }
                match e.fields.get(var) {
                    Some(v) => {
                        let _ = write!(reads, "{var} = {v}");
                    }
                    None => {
                        let _ = write!(reads, "{var} missing");
                    }
                }
            }
            if !reads.is_empty() {
                let _ = write!(message, " ({reads})");
            }
            let observed = if reads.is_empty() {
                e.status.clone()
            } else {
                format!("{}: {reads}", e.status)
            };
            return Some((message, observed));
        }
        None
    }

    /// The record checker of a history assert (`None` for a state assert).
    pub fn transitions(&self) -> Option<SpecTransitions> {
        let kind = match &self.assert {
            SpecAssert::State(_) => return None,
            SpecAssert::NoFurtherTransitions => History::Final,
            SpecAssert::Ordering { before, after } => History::Ordering {
                before: before.clone(),
                after: after.clone(),
            },
        };
        Some(SpecTransitions {
            name: intern(&self.name),
            entity_type: self.entity_type.clone(),
            when: self.when.clone(),
            kind,
            visited: BTreeMap::new(),
        })
    }
}

/// The checker of one history assert: it watches transition records.
#[derive(Debug, Clone)]
pub struct SpecTransitions {
    name: &'static str,
    entity_type: String,
    when: Vec<String>,
    kind: History,
    /// Ordering only: per (tenant, id), whether the entity has been in `before`.
    visited: BTreeMap<(String, String), bool>,
}

#[derive(Debug, Clone)]
enum History {
    Final,
    Ordering { before: String, after: String },
}

impl Invariant for SpecTransitions {
    fn name(&self) -> &'static str {
        self.name
    }

    fn watches(&self, kind: RecordKind) -> bool {
        kind == RecordKind::Transition
    }

    fn on_record(&mut self, record: &Record) -> Option<String> {
        self.on_record_ref(&record.view())
    }

    fn on_record_ref(&mut self, record: &RecordRef<'_>) -> Option<String> {
        let RecordRef::Transition {
            tenant,
            entity_type,
            id,
            action,
            from,
            to,
            created,
            ..
        } = record
        else {
            return None;
        };
        if *entity_type != self.entity_type {
            return None;
        }
        match &self.kind {
            History::Final => {
                // A new entity's `from` is its initial state, which it was never in before
                // this action.
                let final_state = !*created && self.when.iter().any(|s| s == from);
                final_state.then(|| {
                    format!("{entity_type}/{id}: {action} committed in {from} ({from} -> {to}), which is final")
                })
            }
            History::Ordering { before, after } => {
                let key = (tenant.to_string(), id.to_string());
                let seen = self.visited.entry(key).or_insert(false);
                if from == before || to == before {
                    *seen = true;
                }
                (to == after && !*seen).then(|| {
                    format!("{entity_type}/{id} reached {after} without having been in {before} ({action}: {from} -> {to})")
                })
            }
        }
    }
}

/// A spec invariant's name, for the life of the process: invariants report under a
/// `&'static str` ([`Invariant::name`]), and spec names are only known once a spec loads.
/// Each distinct name is stored once, so loading the same scenarios again (a sweep, the
/// corpus) does not grow the set.
fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(|| Mutex::new(BTreeSet::new()))
        .lock()
        .expect("the interned names are never poisoned: nothing panics while holding them");
    if let Some(found) = names.get(name) {
        return found;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{EntityId, SimTime, TenantId};
    use crate::engine::{CmpOp, CounterRhs, Entity, Expr, Fields};
    use serde_json::json;

    fn inv(when: &[&str], assert: SpecAssert) -> SpecInvariant {
        SpecInvariant {
            name: SpecInvariant::name_of("File", "X"),
            entity_type: "File".into(),
            when: when.iter().map(|s| s.to_string()).collect(),
            assert,
            text: "x".into(),
        }
    }

    fn transition<'a>(id: &'a str, from: &'a str, to: &'a str) -> RecordRef<'a> {
        RecordRef::Transition {
            at: SimTime::ZERO,
            cause: 0,
            tenant: "t",
            entity_type: "File",
            id,
            action: "Go",
            from,
            to,
            created: false,
        }
    }

    #[test]
    fn a_state_assert_applies_only_in_its_states_and_names_the_values() {
        let i = inv(
            &["Ready"],
            SpecAssert::State(Expr::Counter {
                var: "size".into(),
                op: CmpOp::Gt,
                rhs: CounterRhs::Number(0),
            }),
        );
        let mut store = Store::default();
        let t = TenantId::new("t");
        let entity = |status: &str, size: i64| Entity {
            status: status.into(),
            fields: serde_json::from_value::<Fields>(json!({ "size": size })).unwrap(),
        };
        store.insert(&t, "File", &EntityId::new("f1"), entity("Created", 0));
        assert_eq!(i.check(&store, "t"), None, "Created is not a `when` state");
        store.insert(&t, "File", &EntityId::new("f2"), entity("Ready", 0));
        assert_eq!(
            i.check(&store, "t").as_deref(),
            Some("File/f2 is Ready and `x` is false (size = 0)")
        );
        assert_eq!(i.check(&store, "other"), None);
    }

    #[test]
    fn a_final_state_breaks_on_the_next_commit() {
        let mut c = inv(&["Archived"], SpecAssert::NoFurtherTransitions)
            .transitions()
            .unwrap();
        assert_eq!(c.name(), "spec:File.X");
        assert_eq!(
            c.on_record_ref(&transition("f1", "Ready", "Archived")),
            None
        );
        let m = c.on_record_ref(&transition("f1", "Archived", "Archived"));
        assert!(m.unwrap().contains("committed in Archived"));
    }

    #[test]
    fn ordering_needs_the_earlier_state_first() {
        let mut c = inv(
            &[],
            SpecAssert::Ordering {
                before: "Submitted".into(),
                after: "Shipped".into(),
            },
        )
        .transitions()
        .unwrap();
        assert_eq!(
            c.on_record_ref(&transition("a", "Draft", "Submitted")),
            None
        );
        assert_eq!(
            c.on_record_ref(&transition("a", "Submitted", "Shipped")),
            None
        );
        assert!(c
            .on_record_ref(&transition("b", "Draft", "Shipped"))
            .is_some());
    }

    #[test]
    fn names_are_interned_once() {
        assert!(std::ptr::eq(intern("spec:A.B"), intern("spec:A.B")));
    }
}

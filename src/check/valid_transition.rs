//! `valid_transition`: every committed transition is one the entity's spec allows.
//!
//! Re-checks each `Transition` record against the declared spec, independently of the
//! engine: the action exists, the prior state is in its `from` (when given), and the new
//! state is its `to` (or unchanged without `to`) and a declared state. It does not re-check
//! `requires` (that needs the fields before the action, which the trace does not carry).

use crate::check::Invariant;
use crate::engine::{get_named, same_name, EntitySpec};
use crate::trace::{Record, RecordKind, RecordRef};
use std::collections::BTreeMap;

pub struct ValidTransition {
    pub specs: BTreeMap<String, EntitySpec>,
}

impl Invariant for ValidTransition {
    fn name(&self) -> &'static str {
        "valid_transition"
    }

    fn watches(&self, kind: RecordKind) -> bool {
        kind == RecordKind::Transition
    }

    fn on_record(&mut self, record: &Record) -> Option<String> {
        self.on_record_ref(&record.view())
    }

    fn on_record_ref(&mut self, record: &RecordRef<'_>) -> Option<String> {
        let RecordRef::Transition {
            entity_type,
            id,
            action,
            from,
            to,
            ..
        } = record
        else {
            return None;
        };
        let Some(spec) = get_named(&self.specs, entity_type) else {
            return Some(format!("{entity_type}/{id}: entity type is not declared"));
        };
        let Some(a) = get_named(&spec.actions, action) else {
            return Some(format!(
                "{entity_type}/{id}: {action} is not an action of {entity_type}"
            ));
        };
        if let Some(allowed) = &a.from {
            if !allowed.iter().any(|s| same_name(s, from)) {
                return Some(format!("{entity_type}/{id}: {action} committed from {from}, but it is enabled only in {}", allowed.join(", ")));
            }
        }
        let expected = a.to.as_deref().unwrap_or(from);
        if !same_name(to, expected) {
            return Some(format!("{entity_type}/{id}: {action} moved {from} -> {to}, but the spec says -> {expected}"));
        }
        if !spec.states.iter().any(|s| same_name(s, to)) {
            return Some(format!(
                "{entity_type}/{id}: {to} is not a state of {entity_type}"
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{ActionSpec, EntityId, TenantId};
    use crate::sim::SimTime;

    fn checker() -> ValidTransition {
        let mut actions = BTreeMap::new();
        actions.insert(
            "Go".to_string(),
            ActionSpec {
                name: "Go".into(),
                from: Some(vec!["A".into()]),
                to: Some("B".into()),
                requires: None,
                effects: vec![],
            },
        );
        let mut specs = BTreeMap::new();
        specs.insert(
            "X".to_string(),
            EntitySpec {
                type_name: "X".into(),
                states: vec!["A".into(), "B".into()],
                initial: "A".into(),
                actions,
            },
        );
        ValidTransition { specs }
    }

    fn transition(from: &str, to: &str) -> Record {
        Record::Transition {
            at: SimTime(0),
            tenant: TenantId::new("t"),
            entity_type: "X".into(),
            id: EntityId::new("1"),
            action: "Go".into(),
            from: from.into(),
            to: to.into(),
            created: false,
        }
    }

    #[test]
    fn allowed_transition_holds_others_break() {
        let mut c = checker();
        assert_eq!(c.on_record(&transition("A", "B")), None);
        assert!(c
            .on_record(&transition("B", "B"))
            .unwrap()
            .contains("enabled only in A"));
        assert!(c
            .on_record(&transition("A", "A"))
            .unwrap()
            .contains("spec says -> B"));
    }
}

//! `valid_transition`: every committed transition is one the entity's spec allows.
//!
//! Re-checks each `Transition` record against the declared spec, independently of the
//! engine: the action exists, the prior state is in its `from` (when given), and the new
//! state is its `to` (or unchanged without `to`) and a declared state. It does not re-check
//! `requires` (that needs the fields before the action, which the trace does not carry).

use crate::check::memo::NameMemo;
use crate::check::Invariant;
use crate::core::{get_named, same_name, LookupMap};
use crate::core::{Record, RecordKind, RecordRef};
use crate::engine::{ActionSpec, EntitySpec};
use crate::scenario::Scenario;
use std::collections::BTreeMap;
use std::sync::Arc;

pub struct ValidTransition {
    pub specs: BTreeMap<String, EntitySpec>,
}

impl ValidTransition {
    /// The property for `scenario`'s entity specs.
    pub fn of(scenario: &Scenario) -> ValidTransition {
        ValidTransition {
            specs: scenario.entities.clone(),
        }
    }

    /// The checker a run uses: this property, with every declared (type, action) in a
    /// table (a run checks every transition, millions on a big run).
    pub fn indexed(self) -> ValidTransitionIndexed {
        let mut pairs = Vec::new();
        let mut indexed = SpecIndex {
            types: LookupMap::default(),
            states: Vec::new(),
            actions: Vec::new(),
            memo: NameMemo::new([]),
        };
        for (name, spec) in self.specs {
            let states = indexed.states.len();
            indexed.states.push(spec.states);
            for (a, action) in spec.actions {
                pairs.push((name.clone(), a, (states, indexed.actions.len())));
                indexed.actions.push(action);
            }
            indexed.types.insert(name, states);
        }
        indexed.memo = NameMemo::new(
            pairs
                .iter()
                .map(|(t, a, (states, action))| (t.as_str(), a.as_str(), (*states, *action))),
        );
        ValidTransitionIndexed {
            specs: Arc::new(indexed),
        }
    }
}

/// [`ValidTransition`], its specs hashed (see [`ValidTransition::indexed`]): the same
/// property and messages.
#[derive(Clone)]
pub struct ValidTransitionIndexed {
    /// The specs, shared by the copies a sweep makes, one per run.
    specs: Arc<SpecIndex>,
}

/// The specs by index.
struct SpecIndex {
    /// Per declared type: where its states are (for an action it does not declare).
    types: LookupMap<String, usize>,
    states: Vec<Vec<String>>,
    actions: Vec<ActionSpec>,
    /// Every declared (type, action): where the type's states and the action are.
    memo: NameMemo<(usize, usize)>,
}

/// A spec as the property reads it: its declared states, and its action by name.
type SpecView<'a> = (&'a [String], Option<&'a ActionSpec>);

/// The property, given how to find a type's states and one of its actions.
fn judge<'a>(
    record: &RecordRef<'_>,
    spec: impl FnOnce(&str, &str) -> Option<SpecView<'a>>,
) -> Option<String> {
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
    let Some((states, a)) = spec(entity_type, action) else {
        return Some(format!("{entity_type}/{id}: entity type is not declared"));
    };
    let Some(a) = a else {
        return Some(format!(
            "{entity_type}/{id}: {action} is not an action of {entity_type}"
        ));
    };
    if let Some(allowed) = &a.from {
        if !allowed.iter().any(|s| same_name(s, from)) {
            return Some(format!(
                "{entity_type}/{id}: {action} committed from {from}, but it is enabled only in {}",
                allowed.join(", ")
            ));
        }
    }
    let expected = a.to.as_deref().unwrap_or(from);
    if !same_name(to, expected) {
        return Some(format!(
            "{entity_type}/{id}: {action} moved {from} -> {to}, but the spec says -> {expected}"
        ));
    }
    if !states.iter().any(|s| same_name(s, to)) {
        return Some(format!(
            "{entity_type}/{id}: {to} is not a state of {entity_type}"
        ));
    }
    None
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
        judge(record, |entity_type, action| {
            let spec = get_named(&self.specs, entity_type)?;
            Some((spec.states.as_slice(), get_named(&spec.actions, action)))
        })
    }
}

impl Invariant for ValidTransitionIndexed {
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
        let specs = &*self.specs;
        judge(record, |entity_type, action| {
            // Not in the table: the action is undeclared, or its type is.
            let (states, action) = match specs.memo.get(entity_type, action) {
                Some((states, action)) => (states, Some(action)),
                None => (*specs.types.get(entity_type)?, None),
            };
            Some((
                specs.states[states].as_slice(),
                action.map(|a| &specs.actions[a]),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::SimTime;
    use crate::core::{EntityId, TenantId};

    fn checker() -> ValidTransition {
        let mut actions = BTreeMap::new();
        actions.insert(
            "Go".to_string(),
            ActionSpec {
                name: "Go".into(),
                from: Some(vec!["A".into()]),
                to: Some("B".into()),
                requires: None,
                guard: None,
                effects: vec![],
                commands: vec![],
            },
        );
        let mut specs = BTreeMap::new();
        specs.insert(
            "X".to_string(),
            EntitySpec {
                type_name: "X".into(),
                states: vec!["A".into(), "B".into()],
                initial: "A".into(),
                fields_initial: Default::default(),
                actions,
            },
        );
        ValidTransition { specs }
    }

    fn transition(from: &str, to: &str) -> Record {
        Record::Transition {
            at: SimTime(0),
            cause: 0,
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

    #[test]
    fn the_indexed_checker_says_what_the_plain_one_says() {
        let mut plain = checker();
        let mut indexed = checker().indexed();
        let mut cases = vec![];
        for (from, to) in [("A", "B"), ("B", "B"), ("A", "A"), ("A", "C"), ("C", "B")] {
            cases.push(transition(from, to));
        }
        for (ty, action) in [("Y", "Go"), ("X", "Stop")] {
            if let Record::Transition {
                at,
                tenant,
                id,
                from,
                to,
                created,
                ..
            } = transition("A", "B")
            {
                cases.push(Record::Transition {
                    at,
                    cause: 0,
                    tenant,
                    entity_type: ty.into(),
                    id,
                    action: action.into(),
                    from,
                    to,
                    created,
                });
            }
        }
        for r in &cases {
            assert_eq!(indexed.on_record(r), plain.on_record(r), "{r:?}");
        }
    }
}

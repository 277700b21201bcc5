//! The input space of a rule's guard (and resolver fields): the values each source field can
//! take, the post-action states the trigger can lead to, and the states of every entity a
//! cross-entity lookup can land on. The guard and conflict models enumerate it.
//!
//! Field values are chosen to reach every branch of the guard semantics: each literal the
//! guard mentions for the field, one other value of the same type (an integer literal's
//! "other" is the same number as a float, since JSON equality tells them apart), a value of
//! a type no literal has, and the field missing. An id field read by `cross_entity_state_in`
//! also takes an id string (`e1`); each entity a lookup can reach takes every state of its
//! type, or does not exist.
//!
//! Not covered: values the guard cannot tell apart (two "other" strings behave alike), and
//! lookups across tenants (the engine scopes them structurally; `tenant_isolation` and the
//! engine's tests cover that).

use crate::core::{EntityId, TenantId, Value};
use crate::engine::{Entity, EntitySpec, Fields, Guard, Rule, Store, When};
use crate::model::reference::World;
use serde_json::json;
use std::collections::BTreeMap;

/// The id string an id field holds when it names an entity.
pub const LOOKUP_ID: &str = "e1";

/// One field's candidate values; `None` is "missing".
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDim {
    pub field: String,
    pub values: Vec<Option<Value>>,
}

/// One entity a lookup can land on: its candidate states; `None` is "no such entity".
#[derive(Debug, Clone, PartialEq)]
pub struct LookupDim {
    pub entity_type: String,
    pub id: String,
    pub states: Vec<Option<String>>,
}

/// The whole space: one coordinate per dimension.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InputSpace {
    /// (action, post-action status) pairs the trigger can produce.
    pub triggers: Vec<(String, String)>,
    pub fields: Vec<FieldDim>,
    pub lookups: Vec<LookupDim>,
}

/// A point of the space: an index into each dimension, in the order triggers, fields,
/// lookups.
pub type Point = Vec<u8>;

/// Moves one coordinate off its first candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Choose {
    pub dimension: u8,
    pub candidate: u8,
}

impl Choose {
    /// `point` with this move made.
    pub fn apply(self, point: &[u8]) -> Point {
        let mut point = point.to_vec();
        point[self.dimension as usize] = self.candidate;
        point
    }
}

impl InputSpace {
    /// The first point: every coordinate on its first candidate (where a model starts).
    pub fn origin(&self) -> Point {
        vec![0; self.radices().len()]
    }

    /// The moves from `point`: every other candidate of each coordinate still on its first,
    /// so that each point is reached along one path only.
    pub fn moves(&self, point: &[u8], out: &mut Vec<Choose>) {
        for (d, radix) in self.radices().into_iter().enumerate() {
            if point[d] == 0 {
                for c in 1..radix {
                    out.push(Choose {
                        dimension: d as u8,
                        candidate: c as u8,
                    });
                }
            }
        }
    }

    /// The number of candidates of every dimension, in point order.
    pub fn radices(&self) -> Vec<usize> {
        let mut out = vec![self.triggers.len()];
        out.extend(self.fields.iter().map(|d| d.values.len()));
        out.extend(self.lookups.iter().map(|d| d.states.len()));
        out
    }

    /// The number of points.
    pub fn size(&self) -> usize {
        self.radices().iter().product()
    }

    pub fn trigger<'a>(&'a self, p: &[u8]) -> (&'a str, &'a str) {
        let (a, s) = &self.triggers[p[0] as usize];
        (a, s)
    }

    /// The source's fields at `p`.
    pub fn fields_at(&self, p: &[u8]) -> Fields {
        let mut out = Fields::new();
        for (i, dim) in self.fields.iter().enumerate() {
            if let Some(v) = &dim.values[p[1 + i] as usize] {
                out.insert(&dim.field, v.clone());
            }
        }
        out
    }

    /// The looked-up entities at `p`: (type, id) -> status, existing ones only.
    pub fn world_at(&self, p: &[u8]) -> WorldAt {
        let base = 1 + self.fields.len();
        let mut out = BTreeMap::new();
        for (i, dim) in self.lookups.iter().enumerate() {
            if let Some(s) = &dim.states[p[base + i] as usize] {
                out.insert((dim.entity_type.clone(), dim.id.clone()), s.clone());
            }
        }
        WorldAt(out)
    }

    /// `status Confirmed (ConfirmOrder), total = 1.0, customer_id missing, Customer/e1 absent`.
    pub fn describe(&self, p: &[u8]) -> String {
        let (action, status) = self.trigger(p);
        let mut parts = vec![format!("status {status} (after {action})")];
        for (i, dim) in self.fields.iter().enumerate() {
            parts.push(match &dim.values[p[1 + i] as usize] {
                Some(v) => format!("{} = {}", dim.field, crate::model::canonical::json_text(v)),
                None => format!("{} missing", dim.field),
            });
        }
        let base = 1 + self.fields.len();
        for (i, dim) in self.lookups.iter().enumerate() {
            parts.push(match &dim.states[p[base + i] as usize] {
                Some(s) => format!("{}/{} is {s}", dim.entity_type, dim.id),
                None => format!("no {}/{}", dim.entity_type, dim.id),
            });
        }
        parts.join(", ")
    }
}

/// The looked-up entities of one point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldAt(pub BTreeMap<(String, String), String>);

impl WorldAt {
    /// A store in `tenant` holding these entities (each with its status and no fields), for
    /// the engine's lookup resolution.
    pub fn store_in(&self, tenant: &TenantId) -> Store {
        let mut store = Store::default();
        for ((entity_type, id), status) in &self.0 {
            let entity = Entity {
                status: status.clone(),
                fields: Fields::new(),
            };
            store.insert(tenant, entity_type, &EntityId::new(id.as_str()), entity);
        }
        store
    }
}

impl World for WorldAt {
    fn status_of(&self, entity_type: &str, id: &str) -> Option<&str> {
        self.0
            .get(&(entity_type.to_string(), id.to_string()))
            .map(String::as_str)
    }
}

/// The (action, post-status) pairs a rule's trigger can produce: every action of the source
/// type that `when.action` names (or all of them), each leading to its `to`, or staying in
/// one of its `from` states (every state when it has none), filtered by `when.to_state`.
/// Empty when the source type is not declared or nothing matches.
pub fn trigger_outcomes(
    when: &When,
    specs: &BTreeMap<String, EntitySpec>,
) -> Vec<(String, String)> {
    let Some(spec) = specs.get(&when.entity_type) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, action) in &spec.actions {
        if when.action.as_ref().is_some_and(|a| a != name) {
            continue;
        }
        let statuses: Vec<String> = match (&action.to, &action.from) {
            (Some(to), _) => vec![to.clone()],
            (None, Some(from)) => from.clone(),
            (None, None) => spec.states.clone(),
        };
        for status in statuses {
            if when.to_state.as_ref().is_some_and(|s| *s != status) {
                continue;
            }
            let pair = (name.clone(), status);
            if !out.contains(&pair) {
                out.push(pair);
            }
        }
    }
    out
}

/// Builds the space for `rules` (one rule, or a pair) plus extra fields the resolvers read.
pub fn input_space(
    rules: &[&Rule],
    resolver_fields: &[String],
    specs: &BTreeMap<String, EntitySpec>,
) -> InputSpace {
    let mut triggers = Vec::new();
    for rule in rules {
        for t in trigger_outcomes(&rule.when, specs) {
            if !triggers.contains(&t) {
                triggers.push(t);
            }
        }
    }
    // field -> literals, and which fields are lookup ids.
    let mut literals: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut id_fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for rule in rules {
        if let Some(guard) = &rule.when.guard {
            collect(guard, &mut literals, &mut id_fields);
        }
    }
    for field in resolver_fields {
        literals.entry(field.clone()).or_default();
        id_fields.entry(field.clone()).or_default();
    }
    let mut fields = Vec::new();
    for (field, lits) in &literals {
        let is_id = id_fields.contains_key(field);
        fields.push(FieldDim {
            field: field.clone(),
            values: candidates(lits, is_id),
        });
    }
    let mut lookups: Vec<LookupDim> = Vec::new();
    for (field, types) in &id_fields {
        let ids: Vec<String> = fields
            .iter()
            .filter(|d| &d.field == field)
            .flat_map(|d| d.values.iter())
            .filter_map(|v| v.as_ref().and_then(Value::as_str).map(String::from))
            .collect();
        for entity_type in types {
            for id in &ids {
                if lookups
                    .iter()
                    .any(|l| &l.entity_type == entity_type && &l.id == id)
                {
                    continue;
                }
                let mut states: Vec<Option<String>> = vec![None];
                if let Some(spec) = specs.get(entity_type) {
                    states.extend(spec.states.iter().cloned().map(Some));
                }
                lookups.push(LookupDim {
                    entity_type: entity_type.clone(),
                    id: id.clone(),
                    states,
                });
            }
        }
    }
    InputSpace {
        triggers,
        fields,
        lookups,
    }
}

fn collect(
    guard: &Guard,
    literals: &mut BTreeMap<String, Vec<Value>>,
    id_fields: &mut BTreeMap<String, Vec<String>>,
) {
    let mut push = |field: &str, value: Value| {
        let list = literals.entry(field.to_string()).or_default();
        if !list.contains(&value) {
            list.push(value);
        }
    };
    match guard {
        Guard::FieldEquals { field, value } => push(field, value.clone()),
        Guard::FieldIn { field, values } => {
            for v in values {
                push(field, v.clone());
            }
        }
        Guard::BoolTrue { field } | Guard::BoolFalse { field } => {
            push(field, Value::Bool(true));
            push(field, Value::Bool(false));
        }
        Guard::StateIn { .. } => {}
        Guard::CrossEntityStateIn {
            entity_type,
            entity_id_source,
            ..
        } => {
            literals.entry(entity_id_source.clone()).or_default();
            let types = id_fields.entry(entity_id_source.clone()).or_default();
            if !types.contains(entity_type) {
                types.push(entity_type.clone());
            }
        }
        Guard::AllOf { guards } | Guard::AnyOf { guards } => {
            for g in guards {
                collect(g, literals, id_fields);
            }
        }
        Guard::Not { guard } => collect(guard, literals, id_fields),
    }
}

/// The candidates of one field: its literals, one other value, a value of another type,
/// and missing (last, so that the all-zero point is the first literal).
fn candidates(literals: &[Value], is_id: bool) -> Vec<Option<Value>> {
    let mut out: Vec<Value> = literals.to_vec();
    let add = |v: Value, out: &mut Vec<Value>| {
        if !out.contains(&v) {
            out.push(v);
        }
    };
    if is_id {
        add(json!(LOOKUP_ID), &mut out);
    }
    // One other value, of the first literal's type.
    match literals.first() {
        Some(Value::String(_)) | None => {
            let mut n = 0;
            let other = loop {
                let candidate = if n == 0 {
                    "other".to_string()
                } else {
                    format!("other{n}")
                };
                if !literals.iter().any(|l| l.as_str() == Some(&candidate)) {
                    break candidate;
                }
                n += 1;
            };
            if !is_id || !literals.is_empty() {
                add(json!(other), &mut out);
            }
        }
        Some(Value::Number(n)) => {
            // An integer's "other" is the same number as a float: JSON equality tells them
            // apart, and that is the mistake worth probing.
            let other = if let Some(i) = n.as_i64() {
                json!(i as f64)
            } else {
                json!(n.as_f64().unwrap_or(0.0) + 1.0)
            };
            add(other, &mut out);
        }
        Some(Value::Bool(b)) => add(Value::Bool(!b), &mut out),
        Some(_) => add(json!("other"), &mut out),
    }
    // A value of a type that no literal has.
    let has = |pred: fn(&Value) -> bool| literals.iter().any(pred);
    let wrong = if !has(Value::is_number) {
        json!(7)
    } else if !has(Value::is_string) {
        json!("7")
    } else if !has(Value::is_boolean) {
        json!(true)
    } else {
        json!([])
    };
    add(wrong, &mut out);
    let mut values: Vec<Option<Value>> = out.into_iter().map(Some).collect();
    values.push(None);
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_literal_is_probed_with_its_float_twin_a_string_and_missing() {
        let c = candidates(&[json!(1)], false);
        assert_eq!(
            c,
            vec![Some(json!(1)), Some(json!(1.0)), Some(json!("7")), None]
        );
    }

    #[test]
    fn id_field_takes_an_id_a_number_and_missing() {
        let c = candidates(&[], true);
        assert_eq!(c, vec![Some(json!(LOOKUP_ID)), Some(json!(7)), None]);
    }

    #[test]
    fn string_literals_get_another_string_and_a_number() {
        let c = candidates(&[json!("small"), json!("medium")], false);
        assert_eq!(
            c,
            vec![
                Some(json!("small")),
                Some(json!("medium")),
                Some(json!("other")),
                Some(json!(7)),
                None
            ]
        );
    }
}

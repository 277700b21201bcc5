//! The reference semantics of guards, written from DESIGN section 1 and nothing else: the
//! guard checker compares the engine's evaluation against this in every state.
//!
//! It is deliberately shaped unlike the engine. The engine evaluates in two passes (collect
//! the cross-entity lookup keys, resolve them, evaluate against the answers, keyed by
//! `(entity_type, id, required_status)`); this reads the world directly, one leaf at a time,
//! so a bug in how the engine keys or resolves its lookups shows up as a disagreement.
//!
//! Not covered: parsing, the guard depth budget, tenants (the caller passes the source
//! tenant's entities only).

use crate::core::Value;
use crate::engine::{Fields, Guard};

/// The other entities a guard may look up, as the reference sees them: the status of
/// `entity_type`/`id` in the source's tenant, or `None` when there is no such entity.
pub trait World {
    fn status_of(&self, entity_type: &str, id: &str) -> Option<&str>;
}

/// Whether `guard` passes for a source with these post-action `fields` and `status`.
///
/// - `field_equals`: the field exists and is the same JSON value (so `1` and `1.0` differ).
/// - `field_in`: the field exists and is the same JSON value as one of `values`.
/// - `bool_true` / `bool_false`: the field exists and is that boolean.
/// - `state_in`: the post-action status is listed.
/// - `cross_entity_state_in`: the source field is a string, an entity of that type with
///   that id exists in the tenant, and its status is listed. Anything else is false.
/// - `all_of`: no child fails (so empty is true); `any_of`: a child passes (empty is false);
///   `not`: the opposite of its child, so `not` of a failed lookup is true.
pub fn reference_passes(guard: &Guard, fields: &Fields, status: &str, world: &dyn World) -> bool {
    match guard {
        Guard::FieldEquals { field, value } => {
            matches!(fields.get(field), Some(v) if json_equal(v, value))
        }
        Guard::FieldIn { field, values } => match fields.get(field) {
            None => false,
            Some(v) => values.iter().any(|candidate| json_equal(v, candidate)),
        },
        Guard::BoolTrue { field } => matches!(fields.get(field), Some(Value::Bool(true))),
        Guard::BoolFalse { field } => matches!(fields.get(field), Some(Value::Bool(false))),
        Guard::StateIn { values } => values.iter().any(|s| s.as_str() == status),
        Guard::CrossEntityStateIn {
            entity_type,
            entity_id_source,
            required_status,
        } => {
            let Some(Value::String(id)) = fields.get(entity_id_source) else {
                return false;
            };
            match world.status_of(entity_type, id) {
                None => false,
                Some(found) => required_status.iter().any(|s| s.as_str() == found),
            }
        }
        Guard::AllOf { guards } => !guards
            .iter()
            .any(|g| !reference_passes(g, fields, status, world)),
        Guard::AnyOf { guards } => guards
            .iter()
            .any(|g| reference_passes(g, fields, status, world)),
        Guard::Not { guard } => !reference_passes(guard, fields, status, world),
    }
}

/// JSON equality as DESIGN states it: same type and same value; an integer never equals a
/// float. Written out rather than delegated to `Value`'s `==`, which is what the engine uses.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => {
            if x.is_f64() != y.is_f64() {
                return false;
            }
            if x.is_f64() {
                x.as_f64() == y.as_f64()
            } else {
                x.as_i64() == y.as_i64() && x.as_u64() == y.as_u64()
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    struct Map(BTreeMap<(String, String), String>);
    impl World for Map {
        fn status_of(&self, t: &str, id: &str) -> Option<&str> {
            self.0
                .get(&(t.to_string(), id.to_string()))
                .map(String::as_str)
        }
    }

    fn cross(statuses: &[&str]) -> Guard {
        Guard::CrossEntityStateIn {
            entity_type: "Customer".into(),
            entity_id_source: "customer_id".into(),
            required_status: statuses.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn reference_not_of_missing_lookup_is_true() {
        let empty = Map(BTreeMap::new());
        let f: Fields = json!({"customer_id": "c1"})
            .as_object()
            .cloned()
            .unwrap()
            .into();
        let g = Guard::Not {
            guard: Box::new(cross(&["Banned"])),
        };
        assert!(reference_passes(&g, &f, "S", &empty));
        assert!(reference_passes(&g, &Fields::new(), "S", &empty));
    }

    #[test]
    fn reference_reads_each_leaf_against_the_world() {
        let world = Map(BTreeMap::from([(
            ("Customer".into(), "c1".into()),
            "Trial".into(),
        )]));
        let f: Fields = json!({"customer_id": "c1"})
            .as_object()
            .cloned()
            .unwrap()
            .into();
        let g = Guard::AllOf {
            guards: vec![
                cross(&["Active", "Trial"]),
                Guard::Not {
                    guard: Box::new(cross(&["Trial"])),
                },
            ],
        };
        assert!(!reference_passes(&g, &f, "S", &world));
    }

    #[test]
    fn reference_int_and_float_differ() {
        let f: Fields = json!({"n": 1.0}).as_object().cloned().unwrap().into();
        let g = Guard::FieldEquals {
            field: "n".into(),
            value: json!(1),
        };
        assert!(!reference_passes(&g, &f, "S", &Map(BTreeMap::new())));
    }
}

//! Guards: the runtime type, its depth, and its evaluation in two passes: `collect_lookups` lists the cross-entity queries a guard
//! needs, the caller resolves them against the world (same tenant only), then `evaluate`
//! decides purely from the source's fields, its post-action status and those answers.
//!
//! Splitting the passes keeps evaluation free of I/O, so the model checker can run the same
//! code, and it makes every lookup visible to the trace. Resolved lookups are keyed by
//! `(entity_type, id, required_status)`: the model engine keyed them by entity alone, and two
//! leaves about one entity with different status lists overwrote each other.
//!
//! Not covered here: parsing and the depth budget (`rule.rs`), resolving lookups (the
//! dispatcher, which owns the world and the tenant boundary).

use super::Fields;
use crate::core::Value;
use serde::Serialize;
use std::collections::BTreeMap;

/// A condition on the source entity (and, for `CrossEntityStateIn`, on one other entity of
/// the same tenant). Built from a `GuardDef` by `rule.rs`, which also enforces the depth
/// budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Guard {
    FieldEquals {
        field: String,
        value: Value,
    },
    FieldIn {
        field: String,
        values: Vec<Value>,
    },
    BoolTrue {
        field: String,
    },
    BoolFalse {
        field: String,
    },
    StateIn {
        values: Vec<String>,
    },
    CrossEntityStateIn {
        entity_type: String,
        entity_id_source: String,
        required_status: Vec<String>,
    },
    AllOf {
        guards: Vec<Guard>,
    },
    AnyOf {
        guards: Vec<Guard>,
    },
    Not {
        guard: Box<Guard>,
    },
}

impl Guard {
    /// Nesting depth, as budgeted by `MAX_GUARD_DEPTH`: a leaf is 1; `all_of`, `any_of` and
    /// `not` add 1 to their deepest child; an empty list counts as a leaf.
    pub fn depth(&self) -> usize {
        match self {
            Guard::AllOf { guards } | Guard::AnyOf { guards } => {
                1 + guards.iter().map(Guard::depth).max().unwrap_or(0)
            }
            Guard::Not { guard } => 1 + guard.depth(),
            _ => 1,
        }
    }
}

/// One cross-entity query: does `entity_type`/`id` exist in the source's tenant with a status
/// in `required_status`? The status list is part of the key on purpose (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LookupKey {
    pub entity_type: String,
    pub id: String,
    pub required_status: Vec<String>,
}

/// What a guard sees: the source entity after its action committed, and the resolved lookups.
#[derive(Debug, Clone, Copy)]
pub struct GuardInput<'a> {
    /// The source entity's fields after the action.
    pub fields: &'a Fields,
    /// The source entity's post-action status.
    pub status: &'a str,
    /// For every key from `collect_lookups`: true when the entity exists in the same tenant
    /// and its status is in `required_status`. A key that is absent counts as false.
    pub lookups: &'a BTreeMap<LookupKey, bool>,
}

impl Guard {
    /// Pass 1: pushes the key of every `cross_entity_state_in` leaf whose `entity_id_source`
    /// is a string field of the source, including leaves under `not` (their answer matters
    /// just as much). A leaf whose id field is missing or not a string needs no lookup: it is
    /// false. Keys may repeat; the caller may dedup.
    pub fn collect_lookups(&self, fields: &Fields, out: &mut Vec<LookupKey>) {
        match self {
            Guard::CrossEntityStateIn { .. } => {
                if let Some(key) = self.lookup_key(fields) {
                    out.push(key);
                }
            }
            Guard::AllOf { guards } | Guard::AnyOf { guards } => {
                for guard in guards {
                    guard.collect_lookups(fields, out);
                }
            }
            Guard::Not { guard } => guard.collect_lookups(fields, out),
            Guard::FieldEquals { .. }
            | Guard::FieldIn { .. }
            | Guard::BoolTrue { .. }
            | Guard::BoolFalse { .. }
            | Guard::StateIn { .. } => {}
        }
    }

    /// Pass 2: pure evaluation.
    ///
    /// - `field_equals`: the field is present and JSON-equal to `value` (so `1 != 1.0`).
    /// - `field_in`: the field is present and JSON-equal to one of `values`.
    /// - `bool_true` / `bool_false`: the field is that boolean; missing or not a bool is false
    ///   for both.
    /// - `state_in`: the post-action status is one of `values`.
    /// - `cross_entity_state_in`: the resolved lookup; a missing id field, a missing entity or
    ///   an unresolved key is false.
    /// - `all_of`: every child (empty = true); `any_of`: some child (empty = false);
    ///   `not`: the negation, so `not` of a failed lookup is true.
    pub fn evaluate(&self, input: &GuardInput) -> bool {
        self.evaluate_with(
            input.fields,
            input.status,
            &mut |entity_type, id, required| {
                // The key `collect_lookups` made for this leaf (`lookup_key` builds the same).
                let key = LookupKey {
                    entity_type: entity_type.to_string(),
                    id: id.to_string(),
                    required_status: required.to_vec(),
                };
                input.lookups.get(&key).copied().unwrap_or(false)
            },
        )
    }

    /// [`Guard::evaluate`] with the cross-entity lookups answered by `lookup(entity_type, id,
    /// required_status)` as they come, instead of from a resolved map: the engine answers
    /// them from its store, where a two-pass evaluation would build a key per lookup. The
    /// semantics are `evaluate`'s (which calls this): a leaf whose id field is missing or
    /// not a string is false without a lookup.
    pub fn evaluate_with(
        &self,
        fields: &Fields,
        status: &str,
        lookup: &mut dyn FnMut(&str, &str, &[String]) -> bool,
    ) -> bool {
        match self {
            Guard::FieldEquals { field, value } => fields.get(field) == Some(value),
            Guard::FieldIn { field, values } => fields
                .get(field)
                .is_some_and(|actual| values.contains(actual)),
            Guard::BoolTrue { field } => fields.get(field) == Some(&Value::Bool(true)),
            Guard::BoolFalse { field } => fields.get(field) == Some(&Value::Bool(false)),
            Guard::StateIn { values } => values.iter().any(|v| v == status),
            Guard::CrossEntityStateIn {
                entity_type,
                entity_id_source,
                required_status,
            } => match fields.get(entity_id_source).and_then(Value::as_str) {
                Some(id) => lookup(entity_type, id, required_status),
                None => false,
            },
            Guard::AllOf { guards } => guards
                .iter()
                .all(|g| g.evaluate_with(fields, status, lookup)),
            Guard::AnyOf { guards } => guards
                .iter()
                .any(|g| g.evaluate_with(fields, status, lookup)),
            Guard::Not { guard } => !guard.evaluate_with(fields, status, lookup),
        }
    }

    /// The key of a `cross_entity_state_in` leaf for these source fields, if the id field is
    /// a string. One function for both passes, so they cannot disagree on the key.
    fn lookup_key(&self, fields: &Fields) -> Option<LookupKey> {
        let Guard::CrossEntityStateIn {
            entity_type,
            entity_id_source,
            required_status,
        } = self
        else {
            return None;
        };
        let id = fields.get(entity_id_source)?.as_str()?;
        Some(LookupKey {
            entity_type: entity_type.clone(),
            id: id.to_string(),
            required_status: required_status.clone(),
        })
    }
}

/// Evaluates a guard. The engine uses `EngineEvaluator`; the model checker also feeds
/// deliberately wrong evaluators through this interface to show that its properties catch
/// them.
pub trait GuardEvaluator {
    fn evaluate(&self, guard: &Guard, input: &GuardInput) -> bool;
}

/// The real semantics: `Guard::evaluate`.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineEvaluator;

impl GuardEvaluator for EngineEvaluator {
    fn evaluate(&self, guard: &Guard, input: &GuardInput) -> bool {
        guard.evaluate(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> Fields {
        match value {
            Value::Object(map) => map.into(),
            other => panic!("not an object: {other}"),
        }
    }

    fn eval(guard: &Guard, fields: &Fields, status: &str) -> bool {
        eval_with(guard, fields, status, &BTreeMap::new())
    }

    fn eval_with(
        guard: &Guard,
        fields: &Fields,
        status: &str,
        lookups: &BTreeMap<LookupKey, bool>,
    ) -> bool {
        guard.evaluate(&GuardInput {
            fields,
            status,
            lookups,
        })
    }

    fn field_equals(field: &str, value: Value) -> Guard {
        Guard::FieldEquals {
            field: field.into(),
            value,
        }
    }

    fn cross(entity_type: &str, source: &str, statuses: &[&str]) -> Guard {
        Guard::CrossEntityStateIn {
            entity_type: entity_type.into(),
            entity_id_source: source.into(),
            required_status: statuses.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn key(entity_type: &str, id: &str, statuses: &[&str]) -> LookupKey {
        LookupKey {
            entity_type: entity_type.into(),
            id: id.into(),
            required_status: statuses.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn not(guard: Guard) -> Guard {
        Guard::Not {
            guard: Box::new(guard),
        }
    }

    #[test]
    fn field_equals_compares_json_values() {
        let f = fields(json!({"kind": "gold", "n": 3, "tags": ["a"]}));
        assert!(eval(&field_equals("kind", json!("gold")), &f, "S"));
        assert!(!eval(&field_equals("kind", json!("silver")), &f, "S"));
        assert!(eval(&field_equals("tags", json!(["a"])), &f, "S"));
        assert!(!eval(&field_equals("n", json!("3")), &f, "S"));
    }

    #[test]
    fn field_equals_missing_field_is_false() {
        let f = fields(json!({}));
        assert!(!eval(&field_equals("kind", json!("gold")), &f, "S"));
        // Not even equal to null: TOML has no null, but JSON payloads do.
        assert!(!eval(&field_equals("kind", Value::Null), &f, "S"));
    }

    #[test]
    fn field_equals_int_vs_float_differ() {
        // Both sides come from TOML, as they do in a scenario: `1` is an integer, `1.0` a float.
        let int_guard: Guard = {
            let text = "[[reaction]]\nname = \"r\"\n[reaction.when]\nentity_type = \"A\"\n\
                        guard = { type = \"field_equals\", field = \"total\", value = 1 }\n\
                        [reaction.then]\nentity_type = \"B\"\naction = \"X\"\n\
                        [reaction.resolve_target]\ntype = \"same_id\"\n";
            let rules = crate::scenario::parse_rules_file(text, std::path::Path::new("r.toml"));
            rules.unwrap()[0].when.guard.clone().unwrap()
        };
        let float_fields: Fields = toml::from_str("total = 1.0").unwrap();
        let int_fields: Fields = toml::from_str("total = 1").unwrap();
        assert!(eval(&int_guard, &int_fields, "S"));
        assert!(!eval(&int_guard, &float_fields, "S"));
    }

    #[test]
    fn field_in_matches_any_listed_value() {
        let guard = Guard::FieldIn {
            field: "region".into(),
            values: vec![json!("eu"), json!(3)],
        };
        assert!(eval(&guard, &fields(json!({"region": "eu"})), "S"));
        assert!(eval(&guard, &fields(json!({"region": 3})), "S"));
        assert!(!eval(&guard, &fields(json!({"region": "us"})), "S"));
        assert!(!eval(&guard, &fields(json!({"region": 3.0})), "S"));
        assert!(!eval(&guard, &fields(json!({})), "S"));
        let empty = Guard::FieldIn {
            field: "region".into(),
            values: vec![],
        };
        assert!(!eval(&empty, &fields(json!({"region": "eu"})), "S"));
    }

    #[test]
    fn bool_guards_are_false_for_missing_or_non_bool_fields() {
        let t = Guard::BoolTrue {
            field: "vip".into(),
        };
        let f = Guard::BoolFalse {
            field: "vip".into(),
        };
        assert!(eval(&t, &fields(json!({"vip": true})), "S"));
        assert!(!eval(&f, &fields(json!({"vip": true})), "S"));
        assert!(!eval(&t, &fields(json!({"vip": false})), "S"));
        assert!(eval(&f, &fields(json!({"vip": false})), "S"));
        for other in [
            json!({}),
            json!({"vip": "true"}),
            json!({"vip": 1}),
            json!({"vip": 0}),
        ] {
            let other = fields(other);
            assert!(!eval(&t, &other, "S"), "{other:?}");
            assert!(!eval(&f, &other, "S"), "{other:?}");
        }
    }

    #[test]
    fn state_in_reads_the_post_action_status() {
        let guard = Guard::StateIn {
            values: vec!["Cancelled".into(), "Refunded".into()],
        };
        let f = fields(json!({"status": "Confirmed"}));
        assert!(eval(&guard, &f, "Cancelled"));
        assert!(eval(&guard, &f, "Refunded"));
        // The status argument, not a field that happens to be called `status`.
        assert!(!eval(&guard, &f, "Confirmed"));
        assert!(!eval(
            &guard,
            &fields(json!({"status": "Cancelled"})),
            "Draft"
        ));
    }

    #[test]
    fn cross_entity_state_in_uses_the_resolved_lookup() {
        let guard = cross("Customer", "customer_id", &["Active"]);
        let f = fields(json!({"customer_id": "c1"}));
        let mut out = vec![];
        guard.collect_lookups(&f, &mut out);
        assert_eq!(out, vec![key("Customer", "c1", &["Active"])]);

        let yes = BTreeMap::from([(key("Customer", "c1", &["Active"]), true)]);
        let no = BTreeMap::from([(key("Customer", "c1", &["Active"]), false)]);
        assert!(eval_with(&guard, &f, "S", &yes));
        assert!(!eval_with(&guard, &f, "S", &no));
        // Unresolved key: false, never a panic.
        assert!(!eval_with(&guard, &f, "S", &BTreeMap::new()));
        // Another entity's answer does not leak in.
        let other = BTreeMap::from([(key("Customer", "c2", &["Active"]), true)]);
        assert!(!eval_with(&guard, &f, "S", &other));
    }

    #[test]
    fn cross_entity_state_in_without_a_string_id_is_false_and_needs_no_lookup() {
        let guard = cross("Customer", "customer_id", &["Active"]);
        // Even if a caller resolved a key for the number's text, a non-string id never matches.
        let lookups = BTreeMap::from([(key("Customer", "7", &["Active"]), true)]);
        for f in [
            json!({}),
            json!({"customer_id": 7}),
            json!({"customer_id": null}),
        ] {
            let f = fields(f);
            let mut out = vec![];
            guard.collect_lookups(&f, &mut out);
            assert!(out.is_empty(), "{f:?}");
            assert!(!eval_with(&guard, &f, "S", &lookups), "{f:?}");
        }
    }

    #[test]
    fn guard_not_of_missing_lookup_is_true() {
        let guard = not(cross("Customer", "customer_id", &["Banned"]));
        // Missing id field.
        assert!(eval(&guard, &fields(json!({})), "S"));
        // Id present, entity absent (the caller resolved it to false).
        let f = fields(json!({"customer_id": "c1"}));
        let absent = BTreeMap::from([(key("Customer", "c1", &["Banned"]), false)]);
        assert!(eval_with(&guard, &f, "S", &absent));
        let banned = BTreeMap::from([(key("Customer", "c1", &["Banned"]), true)]);
        assert!(!eval_with(&guard, &f, "S", &banned));
    }

    #[test]
    fn collect_lookups_includes_leaves_under_not_and_lists() {
        let guard = Guard::AllOf {
            guards: vec![
                cross("Customer", "customer_id", &["Active"]),
                Guard::AnyOf {
                    guards: vec![not(cross("Warehouse", "warehouse_id", &["Closed"]))],
                },
                cross("Carrier", "carrier_id", &["Active"]),
                Guard::BoolTrue {
                    field: "vip".into(),
                },
            ],
        };
        let f = fields(json!({"customer_id": "c1", "warehouse_id": "w1"}));
        let mut out = vec![key("Stale", "x", &[])];
        guard.collect_lookups(&f, &mut out);
        // Appends (the caller owns the buffer) and skips the leaf without a carrier id.
        assert_eq!(
            out,
            vec![
                key("Stale", "x", &[]),
                key("Customer", "c1", &["Active"]),
                key("Warehouse", "w1", &["Closed"]),
            ]
        );
    }

    #[test]
    fn two_lookups_of_one_entity_with_different_status_lists_do_not_collide() {
        // The model engine's bug: keyed by entity alone, the second answer overwrote the first.
        let guard = Guard::AllOf {
            guards: vec![
                cross("Customer", "customer_id", &["Active", "Trial"]),
                not(cross("Customer", "customer_id", &["Trial"])),
            ],
        };
        let f = fields(json!({"customer_id": "c1"}));
        let mut keys = vec![];
        guard.collect_lookups(&f, &mut keys);
        assert_eq!(keys.len(), 2);
        assert_ne!(keys[0], keys[1]);

        // The customer is Active: in [Active, Trial], not in [Trial].
        let active: BTreeMap<_, _> = [(keys[0].clone(), true), (keys[1].clone(), false)].into();
        assert_eq!(active.len(), 2);
        assert!(eval_with(&guard, &f, "S", &active));
        // The customer is on Trial: in both lists, so the `not` fails.
        let trial: BTreeMap<_, _> = [(keys[0].clone(), true), (keys[1].clone(), true)].into();
        assert!(!eval_with(&guard, &f, "S", &trial));
    }

    #[test]
    fn guard_depth_counts_leaves_lists_and_not() {
        let leaf = Guard::BoolTrue { field: "x".into() };
        assert_eq!(leaf.depth(), 1);
        assert_eq!(Guard::AllOf { guards: vec![] }.depth(), 1);
        let not = Guard::Not {
            guard: Box::new(leaf.clone()),
        };
        assert_eq!(not.depth(), 2);
        let mixed = Guard::AnyOf {
            guards: vec![leaf.clone(), not],
        };
        assert_eq!(mixed.depth(), 3);
    }

    #[test]
    fn empty_all_of_is_true() {
        assert!(eval(&Guard::AllOf { guards: vec![] }, &Fields::new(), "S"));
    }

    #[test]
    fn empty_any_of_is_false() {
        assert!(!eval(&Guard::AnyOf { guards: vec![] }, &Fields::new(), "S"));
    }

    #[test]
    fn all_of_and_any_of_combine_children() {
        let yes = Guard::StateIn {
            values: vec!["S".into()],
        };
        let no = Guard::StateIn {
            values: vec!["T".into()],
        };
        let f = Fields::new();
        let all = |guards: Vec<Guard>| Guard::AllOf { guards };
        let any = |guards: Vec<Guard>| Guard::AnyOf { guards };
        assert!(eval(&all(vec![yes.clone(), yes.clone()]), &f, "S"));
        assert!(!eval(&all(vec![yes.clone(), no.clone()]), &f, "S"));
        assert!(eval(&any(vec![no.clone(), yes.clone()]), &f, "S"));
        assert!(!eval(&any(vec![no.clone(), no.clone()]), &f, "S"));
        assert!(eval(&not(no), &f, "S"));
        assert!(!eval(&not(yes), &f, "S"));
    }

    #[test]
    fn engine_evaluator_is_guard_evaluate() {
        let guard = not(Guard::StateIn {
            values: vec!["Cancelled".into()],
        });
        let f = Fields::new();
        let lookups = BTreeMap::new();
        for status in ["Cancelled", "Confirmed"] {
            let input = GuardInput {
                fields: &f,
                status,
                lookups: &lookups,
            };
            assert_eq!(
                EngineEvaluator.evaluate(&guard, &input),
                guard.evaluate(&input)
            );
        }
        assert!(!EngineEvaluator.evaluate(
            &guard,
            &GuardInput {
                fields: &f,
                status: "Cancelled",
                lookups: &lookups
            }
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn leaf() -> impl Strategy<Value = Guard> {
            let field = prop::sample::select(vec!["a", "b", "id"]);
            let value = prop_oneof![
                Just(json!(1)),
                Just(json!(1.0)),
                Just(json!(true)),
                Just(json!("x"))
            ];
            let status = prop::sample::select(vec!["S", "T"]);
            prop_oneof![
                (field.clone(), value.clone()).prop_map(|(f, v)| field_equals(f, v)),
                (field.clone(), prop::collection::vec(value, 0..3)).prop_map(|(f, values)| {
                    Guard::FieldIn {
                        field: f.into(),
                        values,
                    }
                }),
                field
                    .clone()
                    .prop_map(|f| Guard::BoolTrue { field: f.into() }),
                field
                    .clone()
                    .prop_map(|f| Guard::BoolFalse { field: f.into() }),
                prop::collection::vec(status.clone(), 0..3).prop_map(|v| Guard::StateIn {
                    values: v.into_iter().map(String::from).collect()
                }),
                (field, prop::collection::vec(status, 0..3)).prop_map(|(f, s)| cross("E", f, &s)),
            ]
        }

        fn guard() -> impl Strategy<Value = Guard> {
            leaf().prop_recursive(3, 24, 3, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..3)
                        .prop_map(|guards| Guard::AllOf { guards }),
                    prop::collection::vec(inner.clone(), 0..3)
                        .prop_map(|guards| Guard::AnyOf { guards }),
                    inner.prop_map(not),
                ]
            })
        }

        fn source() -> impl Strategy<Value = (Fields, &'static str)> {
            let value = prop_oneof![
                Just(json!(1)),
                Just(json!(1.0)),
                Just(json!(true)),
                Just(json!(false)),
                Just(json!("x")),
                Just(json!("id1")),
            ];
            let fields = prop::collection::btree_map(
                prop::sample::select(vec!["a", "b", "id"]).prop_map(String::from),
                value,
                0..3,
            )
            .prop_map(|m| m.into_iter().collect::<Fields>());
            (fields, prop::sample::select(vec!["S", "T"]))
        }

        proptest! {
            #[test]
            fn not_negates((guard, (f, status), answer) in (guard(), source(), any::<bool>())) {
                let mut keys = vec![];
                guard.collect_lookups(&f, &mut keys);
                let lookups: BTreeMap<_, _> = keys.into_iter().map(|k| (k, answer)).collect();
                prop_assert_eq!(
                    eval_with(&not(guard.clone()), &f, status, &lookups),
                    !eval_with(&guard, &f, status, &lookups)
                );
            }

            #[test]
            fn evaluation_reads_only_collected_lookups(
                (guard, (f, status), answers) in (guard(), source(), prop::collection::vec(any::<bool>(), 8))
            ) {
                let mut keys = vec![];
                guard.collect_lookups(&f, &mut keys);
                let lookups: BTreeMap<_, _> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (k.clone(), answers[i % answers.len()]))
                    .collect();
                let before = eval_with(&guard, &f, status, &lookups);
                // Extra answers for keys the guard never asked about change nothing.
                let mut noisy = lookups.clone();
                for (i, status_list) in [vec![], vec!["S".to_string()], vec!["T".to_string()]].into_iter().enumerate() {
                    for id in ["x", "id1", "1"] {
                        let k = LookupKey { entity_type: "E".into(), id: id.into(), required_status: status_list.clone() };
                        noisy.entry(k).or_insert(answers[i] ^ true);
                    }
                    noisy.entry(LookupKey { entity_type: "Other".into(), id: "x".into(), required_status: status_list }).or_insert(true);
                }
                prop_assert_eq!(eval_with(&guard, &f, status, &noisy), before);
            }
        }
    }
}

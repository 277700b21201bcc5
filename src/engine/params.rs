//! The `then` part of a rule: the action dispatched on the target, and its params: the rule's
//! static `params`, plus `params_from`, which copies source fields in (target param <- source
//! field, in key order).
//!
//! A missing source field is not an error: the param is left out, a warning is recorded and
//! the reaction still fires, as on the reaction server. Collisions between `params` and
//! `params_from` are rejected when the rule is parsed (`rule.rs`), so here a copied field
//! never overwrites a static param of a validated rule.
//!
//! `params_from = { order_id = "id" }` (or `"Id"`) copies the source entity's own id, not a
//! field: temper's dispatcher does the same (`crates/temper-server/src/trigger/params.rs`,
//! its test `id_alias_reads_source_entity_id`), even when the source has a field named `id`.

use super::entity::set_field_hinted;
use super::fields::Hint;
use super::Fields;
use crate::core::Value;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// A `params_from` source that names the source entity's own id rather than a field.
pub fn reads_source_id(source: &str) -> bool {
    source == "id" || source == "Id"
}

/// The action dispatched on the target, and how its params are built.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Then {
    pub entity_type: String,
    pub action: String,
    /// Static params (an object unless the file gave another value).
    pub params: Value,
    /// Target param name -> source field name, applied in key order.
    pub params_from: BTreeMap<String, String>,
}

impl Then {
    /// Builds the params for one dispatch from the source's id and fields (after its
    /// action). Warnings are appended to `warnings`, one sentence each.
    pub fn build_params(
        &self,
        source_id: &str,
        fields: &Fields,
        warnings: &mut Vec<String>,
    ) -> Value {
        self.params_warnings(fields, warnings);
        let Value::Object(static_params) = &self.params else {
            // A non-table `params` goes to the target as it is; there is nowhere to put
            // copied fields.
            return self.params.clone();
        };
        let mut params = static_params.clone();
        // BTreeMap iteration: key order, so params come out deterministically.
        for (target, source) in &self.params_from {
            if reads_source_id(source) {
                params.insert(target.clone(), Value::String(source_id.to_string()));
            } else if let Some(value) = fields.get(source) {
                params.insert(target.clone(), value.clone());
            }
        }
        Value::Object(params)
    }

    /// The warnings [`Then::build_params`] appends for these source fields, without building
    /// the params.
    pub fn params_warnings(&self, fields: &Fields, warnings: &mut Vec<String>) {
        if !matches!(self.params, Value::Object(_)) {
            if !self.params_from.is_empty() {
                warnings.push(not_a_table(self.params_from.len()));
            }
            return;
        }
        for (target, source) in &self.params_from {
            if !reads_source_id(source) && fields.get(source).is_none() {
                warnings.push(missing_source(source, target));
            }
        }
    }
}

fn not_a_table(copies: usize) -> String {
    format!(
        "params_from ignored: params is not a table, so {copies} copied field(s) have nowhere to go"
    )
}

fn missing_source(source: &str, target: &str) -> String {
    format!("params_from: source field `{source}` is missing; param `{target}` not set")
}

/// A rule's params as the cascade builds them on every firing: the static params and the
/// copies as lists, made once from the [`Then`]. Walking two B-trees (the `params_from`
/// map and serde_json's map of static params) on every firing cost more than the field
/// lookups the walks feed.
#[derive(Debug, Clone)]
pub struct ParamPlan {
    /// The static params, in key order, when they are a table; with where each was last
    /// found in a target.
    statics: Vec<(String, Value, Hint)>,
    /// `params_from` as (target param, source field), in key order; with where each was
    /// last found in a target and in a source.
    copies: Vec<Copied>,
    /// The static params are a table (otherwise nothing is merged, and copies only warn).
    is_object: bool,
}

/// One `params_from` entry of a [`ParamPlan`].
#[derive(Debug, Clone)]
struct Copied {
    param: String,
    source: String,
    /// `source` names the source entity's id ([`reads_source_id`]).
    reads_id: bool,
    in_target: Hint,
    in_source: Hint,
}

impl ParamPlan {
    pub fn new(then: &Then) -> ParamPlan {
        let statics = match &then.params {
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| (k.clone(), v.clone(), Hint::default()))
                .collect(),
            _ => Vec::new(),
        };
        ParamPlan {
            statics,
            copies: then
                .params_from
                .iter()
                .map(|(param, source)| Copied {
                    param: param.clone(),
                    source: source.clone(),
                    reads_id: reads_source_id(source),
                    in_target: Hint::default(),
                    in_source: Hint::default(),
                })
                .collect(),
            is_object: matches!(then.params, Value::Object(_)),
        }
    }

    /// The source fields the copies read, looked up once, for both
    /// [`ParamPlan::warnings_from`] and [`ParamPlan::merge_sources_into`].
    pub fn sources<'a>(&self, source_id: &'a str, fields: &'a Fields) -> Sources<'a> {
        let kept = self.copies.len() <= SOURCES_KEPT;
        let mut sources = Sources {
            values: [None; SOURCES_KEPT],
            kept,
            source_id,
            fields,
            complete: false,
        };
        if kept {
            let mut complete = true;
            for (slot, copy) in sources.values.iter_mut().zip(&self.copies) {
                if copy.reads_id {
                    continue;
                }
                *slot = fields.get_hinted(&copy.source, &copy.in_source);
                complete &= slot.is_some();
            }
            sources.complete = complete;
        }
        sources
    }

    /// [`Then::params_warnings`], from sources already looked up.
    pub fn warnings_from(&self, sources: &Sources<'_>, warnings: &mut Vec<String>) {
        if self.is_object && sources.complete {
            return;
        }
        if !self.is_object {
            if !self.copies.is_empty() {
                warnings.push(not_a_table(self.copies.len()));
            }
            return;
        }
        for (i, copy) in self.copies.iter().enumerate() {
            if sources.get(i, copy).is_none() {
                warnings.push(missing_source(&copy.source, &copy.param));
            }
        }
    }

    /// Merges into `target` what `merge_params(target, &then.build_params(fields, ..))`
    /// merges, without building the params: the static params, then the copied fields (a
    /// copied field wins over a static param of the same name, as in `build_params`). Each
    /// field ends with the same value whichever order the keys are set in.
    pub fn merge_sources_into(&self, sources: &Sources<'_>, target: &mut Fields) {
        if !self.is_object {
            // `merge_params` ignores a non-object.
            return;
        }
        for (k, v, hint) in &self.statics {
            set_field_hinted(target, k, v, hint);
        }
        for (i, copy) in self.copies.iter().enumerate() {
            if let Some(value) = sources.get(i, copy) {
                set_field_hinted(target, &copy.param, &value, &copy.in_target);
            }
        }
    }
}

/// Up to this many `params_from` sources are kept once looked up; a longer `params_from`
/// looks them up again where they are needed.
pub const SOURCES_KEPT: usize = 8;

/// The source fields a rule's `params_from` copies (see [`ParamPlan::sources`]).
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// By position in `params_from` (key order), when `kept`.
    values: [Option<&'a Value>; SOURCES_KEPT],
    /// `params_from` has at most `SOURCES_KEPT` entries, so `values` holds them (but for
    /// copies of the source's id, which are made from `source_id`).
    kept: bool,
    /// The source entity's id.
    source_id: &'a str,
    /// The source's fields.
    fields: &'a Fields,
    /// Every source was found (and kept in `values`): nothing to warn about.
    complete: bool,
}

impl<'a> Sources<'a> {
    /// The value of the `i`-th source (`copy`) of `params_from`.
    fn get(&self, i: usize, copy: &Copied) -> Option<Cow<'a, Value>> {
        if copy.reads_id {
            Some(Cow::Owned(Value::String(self.source_id.to_string())))
        } else if self.kept {
            self.values[i].map(Cow::Borrowed)
        } else {
            self.fields.get(&copy.source).map(Cow::Borrowed)
        }
    }

    /// The source entity's id.
    pub fn source_id(&self) -> &'a str {
        self.source_id
    }

    /// The source's fields, which the sources were looked up in.
    pub fn fields(&self) -> &'a Fields {
        self.fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn then(params: Value, params_from: &[(&str, &str)]) -> Then {
        Then {
            entity_type: "Payment".into(),
            action: "AuthorizePayment".into(),
            params,
            params_from: params_from
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn fields(value: Value) -> Fields {
        value.as_object().cloned().expect("an object").into()
    }

    #[test]
    fn params_merge_static_and_copied_fields() {
        let t = then(
            json!({"origin": "e2e"}),
            &[("amount", "total"), ("who", "customer")],
        );
        let f = fields(json!({"total": 12.5, "customer": {"id": "c1"}, "other": 1}));
        let mut warnings = vec![];
        assert_eq!(
            t.build_params("o1", &f, &mut warnings),
            json!({"origin": "e2e", "amount": 12.5, "who": {"id": "c1"}})
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn no_params_gives_an_empty_object() {
        let t = then(json!({}), &[]);
        let mut warnings = vec![];
        assert_eq!(
            t.build_params("o1", &fields(json!({"total": 1})), &mut warnings),
            json!({})
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn missing_source_field_is_skipped_with_a_warning() {
        let t = then(json!({"origin": "e2e"}), &[("amount", "total"), ("b", "x")]);
        let mut warnings = vec!["earlier".to_string()];
        let params = t.build_params("o1", &fields(json!({"x": false})), &mut warnings);
        assert_eq!(params, json!({"origin": "e2e", "b": false}));
        assert_eq!(
            warnings,
            vec![
                "earlier".to_string(),
                "params_from: source field `total` is missing; param `amount` not set".to_string(),
            ]
        );
    }

    #[test]
    fn one_source_field_can_feed_several_params() {
        let t = then(json!({}), &[("a", "total"), ("b", "total")]);
        let mut warnings = vec![];
        assert_eq!(
            t.build_params("o1", &fields(json!({"total": 3})), &mut warnings),
            json!({"a": 3, "b": 3})
        );
    }

    #[test]
    fn non_object_params_pass_through_and_warn_about_params_from() {
        let f = fields(json!({"total": 3}));
        let mut warnings = vec![];
        assert_eq!(
            then(json!([1, 2]), &[]).build_params("o1", &f, &mut warnings),
            json!([1, 2])
        );
        assert!(warnings.is_empty());

        let t = then(json!("raw"), &[("amount", "total")]);
        assert_eq!(t.build_params("o1", &f, &mut warnings), json!("raw"));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("params_from ignored"), "{warnings:?}");
    }

    #[test]
    fn params_from_collision_is_a_parse_error_not_an_overwrite() {
        // The merge itself would let the copied field win; the parser must refuse the rule.
        let text = "[[reaction]]\nname = \"r\"\n[reaction.when]\nentity_type = \"Order\"\n\
                    [reaction.then]\nentity_type = \"Payment\"\naction = \"Pay\"\n\
                    params = { amount = 0 }\nparams_from = { amount = \"total\" }\n\
                    [reaction.resolve_target]\ntype = \"same_id\"\n";
        let e =
            crate::scenario::parse_rules_file(text, std::path::Path::new("r.toml")).unwrap_err();
        assert!(e.message.contains("`amount`"), "{e}");
        assert_eq!(e.line, 9);
    }

    #[test]
    fn merging_in_place_is_merging_the_built_params() {
        let source = fields(json!({"total": 12.5, "customer": {"id": "c1"}, "lane": "a"}));
        let many: Vec<(String, String)> = (0..SOURCES_KEPT + 3)
            .map(|i| {
                (
                    format!("p{i}"),
                    if i % 2 == 0 {
                        "total".into()
                    } else {
                        format!("gone{i}")
                    },
                )
            })
            .collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        let target = fields(json!({"origin": "old", "lane": "b", "keep": 1}));
        let cases = [
            then(
                json!({"origin": "e2e"}),
                &[("amount", "total"), ("who", "customer")],
            ),
            then(json!({}), &[("lane", "lane"), ("gone", "missing")]),
            then(json!({"lane": "static"}), &[("lane", "lane")]),
            then(json!({"origin": "e2e", "lane": "x"}), &[]),
            then(json!("not a table"), &[("amount", "total")]),
            then(json!(3), &[]),
            then(json!({"origin": "e2e"}), &many),
            then(
                json!({}),
                &[("order", "id"), ("again", "Id"), ("lane", "lane")],
            ),
            then(json!("not a table"), &[("order", "id")]),
        ];
        for t in cases {
            let mut built = target.clone();
            let mut warnings = vec![];
            crate::engine::merge_params(&mut built, &t.build_params("o1", &source, &mut warnings));
            let plan = ParamPlan::new(&t);
            let sources = plan.sources("o1", &source);
            let mut merged = target.clone();
            plan.merge_sources_into(&sources, &mut merged);
            assert_eq!(merged, built, "{t:?}");
            let mut only = vec![];
            t.params_warnings(&source, &mut only);
            assert_eq!(only, warnings, "{t:?}");
            let mut planned = vec![];
            plan.warnings_from(&sources, &mut planned);
            assert_eq!(planned, warnings, "{t:?}");
        }
    }

    /// As temper's dispatcher (`trigger/params.rs`, `id_alias_reads_source_entity_id`):
    /// `id` and `Id` name the source entity's id, even when the source has a field `id`.
    #[test]
    fn params_from_id_copies_the_source_entitys_own_id() {
        let t = then(json!({}), &[("last_version_id", "Id"), ("order_id", "id")]);
        let f = fields(json!({"id": "a field", "total": 1}));
        let mut warnings = vec![];
        assert_eq!(
            t.build_params("fv-123", &f, &mut warnings),
            json!({"last_version_id": "fv-123", "order_id": "fv-123"})
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        let plan = ParamPlan::new(&t);
        let sources = plan.sources("fv-123", &f);
        let mut merged = fields(json!({}));
        plan.merge_sources_into(&sources, &mut merged);
        assert_eq!(
            merged,
            fields(json!({"last_version_id": "fv-123", "order_id": "fv-123"}))
        );
    }
}

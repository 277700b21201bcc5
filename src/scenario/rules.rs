//! The reaction rule schema: the `[[reaction]]` tables of a `reactions.toml`, parsed into
//! definition types (`RuleDef`, which keep spans for error messages) and validated into the
//! runtime types the engine runs (`Rule`, `When`, `Then`, `Guard`, `Resolver`).
//!
//! The schema is the reaction server's, so a user's existing file loads unchanged. Unlike that
//! server, unknown keys are errors: a typo in a guard must not turn a rule into one that
//! always fires. Errors name the rule and point at a line and column.
//!
//! This module only parses and validates. Guard evaluation lives in `guard.rs`, target
//! resolution in `resolver.rs`, params in `params.rs`, per-tenant registration and rule order
//! in `rule_set.rs`; running a cascade is the dispatcher's job.
//!
//! An example is the test `a_rules_file_of_the_reaction_server_loads_unchanged` below.

use crate::core::{Value, MAX_GUARD_DEPTH};
use crate::engine::{Guard, Resolver, Rule, Then, When};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

use crate::scenario::SourceError;

// ---------------------------------------------------------------------------------------------
// Definition types: what the file says, with spans.
// ---------------------------------------------------------------------------------------------

/// A whole rules file: `[[reaction]]` entries and nothing else.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFileDef {
    #[serde(default)]
    pub reaction: Vec<RuleDef>,
}

/// One `[[reaction]]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Spanned so that semantic errors, found after deserialization, can point at the rule.
    pub name: Spanned<String>,
    pub when: WhenDef,
    pub then: ThenDef,
    pub resolve_target: ResolverDef,
}

/// `[reaction.when]`: which committed actions fire the rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenDef {
    pub entity_type: String,
    /// Absent: any action (a wildcard rule, ordered after exact-action rules).
    #[serde(default)]
    pub action: Option<String>,
    /// Absent: any post-action state.
    #[serde(default)]
    pub to_state: Option<String>,
    /// Spanned so that a guard over the depth budget is reported where it is written.
    #[serde(default)]
    pub guard: Option<Spanned<GuardDef>>,
}

/// `[reaction.then]`: the action dispatched on the target.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThenDef {
    pub entity_type: String,
    pub action: String,
    /// Static params: any TOML value; a non-table is passed to the target as it is.
    #[serde(default = "empty_object", deserialize_with = "crate::core::finite")]
    pub params: Value,
    /// Target param name -> source field name. Keys are spanned so that a collision with
    /// `params` points at the key.
    #[serde(default)]
    pub params_from: BTreeMap<Spanned<String>, String>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// A guard table as written. `type` selects the kind; every other key is optional here and
/// checked against the kind during validation.
///
/// Not an internally tagged enum on purpose: serde buffers such a table before it reads the
/// tag, which loses every span inside it, so an unknown key on its own line would be reported
/// at the table's header. As a plain struct each key keeps its place, keys that no guard takes
/// are rejected by serde at their own line, and keys of another kind by `validate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardDef {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    #[serde(default)]
    pub field: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "crate::core::finite_spanned")]
    pub value: Option<Spanned<Value>>,
    #[serde(default, deserialize_with = "crate::core::finite_list_spanned")]
    pub values: Option<Spanned<Vec<Value>>>,
    #[serde(default)]
    pub entity_type: Option<Spanned<String>>,
    #[serde(default)]
    pub entity_id_source: Option<Spanned<String>>,
    #[serde(default)]
    pub required_status: Option<Spanned<OneOrMany>>,
    #[serde(default)]
    pub guards: Option<Spanned<Vec<Spanned<GuardDef>>>>,
    #[serde(default)]
    pub guard: Option<Box<Spanned<GuardDef>>>,
}

/// `required_status = "Active"` or `required_status = ["Active", "Trial"]`: the server
/// accepted both, so existing files use both.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    untagged,
    expecting = "`required_status` must be a status name or a list of status names"
)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// `[reaction.resolve_target]` as written; a plain struct for the same reason as `GuardDef`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolverDef {
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    #[serde(default)]
    pub field: Option<Spanned<String>>,
    #[serde(default)]
    pub entity_id: Option<Spanned<String>>,
    #[serde(default)]
    pub id_field: Option<Spanned<String>>,
}

/// Each guard `type` and the keys it takes besides `type` (all of them required).
const GUARD_TYPES: &[(&str, &[&str])] = &[
    ("field_equals", &["field", "value"]),
    ("field_in", &["field", "values"]),
    ("bool_true", &["field"]),
    ("bool_false", &["field"]),
    ("state_in", &["values"]),
    (
        "cross_entity_state_in",
        &["entity_type", "entity_id_source", "required_status"],
    ),
    ("all_of", &["guards"]),
    ("any_of", &["guards"]),
    ("not", &["guard"]),
];

/// Each resolver `type` and the keys it takes besides `type` (all of them required).
const RESOLVER_TYPES: &[(&str, &[&str])] = &[
    ("same_id", &[]),
    ("field", &["field"]),
    ("static", &["entity_id"]),
    ("create_if_missing", &["id_field"]),
    ("create", &[]),
];

// ---------------------------------------------------------------------------------------------
// Validation.
// ---------------------------------------------------------------------------------------------

/// A semantic error in one rule, found after deserialization.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rule {rule:?}: {message}")]
pub struct RuleError {
    /// The rule's name (empty when the name itself is the problem).
    pub rule: String,
    pub message: String,
    pub hint: String,
    /// Byte offset in the file to point at.
    pub offset: usize,
}

impl RuleDef {
    /// Checks what serde cannot (names, params collisions, the guard depth budget) and builds
    /// the runtime rule.
    pub fn validate(self) -> Result<Rule, RuleError> {
        let rule_offset = self.name.span().start;
        let name = self.name.into_inner();
        let err = |message: String, hint: &str, offset: usize| RuleError {
            rule: name.clone(),
            message,
            hint: hint.to_string(),
            offset,
        };

        if name.trim().is_empty() {
            return Err(err(
                "name is empty".into(),
                "give every rule a non-empty name: reports and traces refer to rules by name",
                rule_offset,
            ));
        }
        let required = [
            ("when.entity_type", Some(&self.when.entity_type)),
            ("when.action", self.when.action.as_ref()),
            ("when.to_state", self.when.to_state.as_ref()),
            ("then.entity_type", Some(&self.then.entity_type)),
            ("then.action", Some(&self.then.action)),
        ];
        for (key, value) in required {
            if value.is_some_and(|v| v.trim().is_empty()) {
                return Err(err(
                    format!("`{key}` is empty"),
                    "name it, or leave an optional key (when.action, when.to_state) out to match any",
                    rule_offset,
                ));
            }
        }

        let guard = match self.when.guard {
            None => None,
            Some(spanned) => {
                let guard_offset = spanned.span().start;
                let guard = spanned
                    .into_inner()
                    .into_guard()
                    .map_err(|e| err(e.message, e.hint, e.offset))?;
                let depth = guard.depth();
                if depth > MAX_GUARD_DEPTH {
                    return Err(err(
                        format!(
                            "guard is {depth} levels deep; at most {MAX_GUARD_DEPTH} are allowed"
                        ),
                        "flatten it (an all_of inside an all_of is one all_of), or split the rule in two",
                        guard_offset,
                    ));
                }
                Some(guard)
            }
        };

        let params = datetimes_to_strings(self.then.params);
        // A key in both would make one of them silently win: the file must say which it means.
        if let Value::Object(static_params) = &params {
            for key in self.then.params_from.keys() {
                if static_params.contains_key(key.get_ref()) {
                    return Err(err(
                        format!(
                            "param `{}` is set in both then.params and then.params_from",
                            key.get_ref()
                        ),
                        "keep it in one of them: params is a fixed value, params_from copies a source field",
                        key.span().start,
                    ));
                }
            }
        }
        let params_from: BTreeMap<String, String> = self
            .then
            .params_from
            .into_iter()
            .map(|(k, v)| (k.into_inner(), v))
            .collect();
        if let Some((target, _)) = params_from
            .iter()
            .find(|(k, v)| k.is_empty() || v.is_empty())
        {
            return Err(err(
                format!("then.params_from has an empty name (param `{target}`)"),
                "write `param = \"source_field\"` with both names non-empty",
                rule_offset,
            ));
        }

        let resolve_target = self
            .resolve_target
            .into_resolver()
            .map_err(|e| err(e.message, e.hint, e.offset))?;

        Ok(Rule {
            name,
            when: When {
                entity_type: self.when.entity_type,
                action: self.when.action,
                to_state: self.when.to_state,
                guard,
            },
            then: Then {
                entity_type: self.then.entity_type,
                action: self.then.action,
                params,
                params_from,
            },
            resolve_target,
        })
    }
}

/// A problem inside a guard or resolver table, placed at a byte offset of the file.
struct DefError {
    message: String,
    hint: &'static str,
    offset: usize,
}

fn quoted_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks a table's keys against its `type`: the type is known, it has every key the type
/// takes, and no key the type does not take. `keys` lists each optional key with the offset
/// of its value when present.
fn check_keys(
    what: &str,
    kind: &Spanned<String>,
    types: &[(&str, &[&str])],
    keys: &[(&'static str, Option<usize>)],
) -> Result<(), DefError> {
    let kind_name = kind.get_ref();
    let Some((_, takes)) = types.iter().find(|(t, _)| t == kind_name) else {
        let valid: Vec<&str> = types.iter().map(|(t, _)| *t).collect();
        return Err(DefError {
            message: format!(
                "unknown {what} type `{kind_name}`; expected one of {}",
                quoted_list(&valid)
            ),
            hint: "types are snake_case and spelled exactly as listed",
            offset: kind.span().start,
        });
    };
    for (key, offset) in keys {
        if let Some(offset) = offset {
            if !takes.contains(key) {
                let takes = if takes.is_empty() {
                    "no other key".to_string()
                } else {
                    quoted_list(takes)
                };
                return Err(DefError {
                    message: format!(
                        "`{key}` is not a key of a `{kind_name}` {what} (it takes {takes})"
                    ),
                    hint: "remove the key, or change `type` to the kind that takes it",
                    offset: *offset,
                });
            }
        }
    }
    for key in *takes {
        if keys.iter().any(|(k, offset)| k == key && offset.is_none()) {
            return Err(DefError {
                message: format!("`{kind_name}` {what} is missing its `{key}` key"),
                hint: "add the missing key",
                offset: kind.span().start,
            });
        }
    }
    Ok(())
}

fn offset_of<T>(value: &Option<Spanned<T>>) -> Option<usize> {
    value.as_ref().map(|v| v.span().start)
}

/// A key that `check_keys` has shown to be present.
fn present<T>(value: Option<Spanned<T>>) -> Spanned<T> {
    value.expect("check_keys ensures every key of the type is present")
}

/// A name (of a field, an entity type, an id): an empty one could never match anything,
/// which is almost certainly not what the author meant.
fn non_empty(what: &str, key: &str, value: Spanned<String>) -> Result<String, DefError> {
    if value.get_ref().trim().is_empty() {
        return Err(DefError {
            message: format!("{what} has an empty `{key}`"),
            hint: "name the field or entity it refers to",
            offset: value.span().start,
        });
    }
    Ok(value.into_inner())
}

impl GuardDef {
    fn into_guard(self) -> Result<Guard, DefError> {
        let keys = [
            ("field", offset_of(&self.field)),
            ("value", offset_of(&self.value)),
            ("values", offset_of(&self.values)),
            ("entity_type", offset_of(&self.entity_type)),
            ("entity_id_source", offset_of(&self.entity_id_source)),
            ("required_status", offset_of(&self.required_status)),
            ("guards", offset_of(&self.guards)),
            ("guard", self.guard.as_ref().map(|g| g.span().start)),
        ];
        check_keys("guard", &self.kind, GUARD_TYPES, &keys)?;
        let name = |key: &str, value| non_empty("guard", key, present(value));
        let guards = |list: Option<Spanned<Vec<Spanned<GuardDef>>>>| {
            present(list)
                .into_inner()
                .into_iter()
                .map(|g| g.into_inner().into_guard())
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(match self.kind.get_ref().as_str() {
            "field_equals" => Guard::FieldEquals {
                field: name("field", self.field)?,
                value: datetimes_to_strings(present(self.value).into_inner()),
            },
            "field_in" => Guard::FieldIn {
                field: name("field", self.field)?,
                values: present(self.values)
                    .into_inner()
                    .into_iter()
                    .map(datetimes_to_strings)
                    .collect(),
            },
            "bool_true" => Guard::BoolTrue {
                field: name("field", self.field)?,
            },
            "bool_false" => Guard::BoolFalse {
                field: name("field", self.field)?,
            },
            "state_in" => {
                let values = present(self.values);
                let offset = values.span().start;
                let statuses = values
                    .into_inner()
                    .into_iter()
                    .map(|v| match v {
                        Value::String(s) => Ok(s),
                        _ => Err(DefError {
                            message: format!("`state_in` values must be status names, found {v}"),
                            hint: "quote each status: values = [\"Cancelled\"]",
                            offset,
                        }),
                    })
                    .collect::<Result<_, _>>()?;
                Guard::StateIn { values: statuses }
            }
            "cross_entity_state_in" => Guard::CrossEntityStateIn {
                entity_type: name("entity_type", self.entity_type)?,
                entity_id_source: name("entity_id_source", self.entity_id_source)?,
                required_status: present(self.required_status).into_inner().into_vec(),
            },
            "all_of" => Guard::AllOf {
                guards: guards(self.guards)?,
            },
            "any_of" => Guard::AnyOf {
                guards: guards(self.guards)?,
            },
            "not" => Guard::Not {
                guard: Box::new(present(self.guard.map(|g| *g)).into_inner().into_guard()?),
            },
            other => unreachable!("check_keys accepted unknown guard type {other:?}"),
        })
    }
}

impl ResolverDef {
    fn into_resolver(self) -> Result<Resolver, DefError> {
        let keys = [
            ("field", offset_of(&self.field)),
            ("entity_id", offset_of(&self.entity_id)),
            ("id_field", offset_of(&self.id_field)),
        ];
        check_keys("resolver", &self.kind, RESOLVER_TYPES, &keys)?;
        let name = |key: &str, value| non_empty("resolve_target", key, present(value));
        Ok(match self.kind.get_ref().as_str() {
            "same_id" => Resolver::SameId,
            "field" => Resolver::Field {
                field: name("field", self.field)?,
            },
            "static" => Resolver::Static {
                entity_id: name("entity_id", self.entity_id)?,
            },
            "create_if_missing" => Resolver::CreateIfMissing {
                id_field: name("id_field", self.id_field)?,
            },
            "create" => Resolver::Create,
            other => unreachable!("check_keys accepted unknown resolver type {other:?}"),
        })
    }
}

/// The `toml` crate hands a datetime to a JSON value as `{"$__toml_private_datetime": "..."}`;
/// entity fields hold the plain string, so params and guard values must too.
fn datetimes_to_strings(value: Value) -> Value {
    const DATETIME_KEY: &str = "$__toml_private_datetime";
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some(Value::String(s)) = map.get(DATETIME_KEY) {
                    return Value::String(s.clone());
                }
            }
            Value::Object(
                map.into_iter()
                    .map(|(k, v)| (k, datetimes_to_strings(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(datetimes_to_strings).collect()),
        other => other,
    }
}

// ---------------------------------------------------------------------------------------------
// Files.
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
/// Parses and validates a rules file (`[[reaction]]` entries and nothing else).
pub fn parse_rules_file(text: &str, file: &Path) -> Result<Vec<Rule>, SourceError> {
    Ok(parse_rules_file_located(text, file)?
        .into_iter()
        .map(|(rule, _)| rule)
        .collect())
}

/// Like [`parse_rules_file`], with the byte offset of each rule's `name` value, so that
/// later checks (against the scenario's entity types) can point at the right rule.
pub fn parse_rules_file_located(
    text: &str,
    file: &Path,
) -> Result<Vec<(Rule, usize)>, SourceError> {
    let defs: RulesFileDef = toml::from_str(text).map_err(|e| {
        let mut err = SourceError::from_toml(file, text, &e);
        // serde's messages say what is wrong but not in which rule; the place is known, so
        // find the rule around it.
        if let Some(offset) = e.span().map(|s| s.start) {
            if let Some(rule) = rule_label_at(text, offset) {
                err.message = format!("{rule}: {}", err.message);
            }
        }
        err
    })?;
    let offsets: Vec<usize> = defs.reaction.iter().map(|d| d.name.span().start).collect();
    let rules = validate_rule_defs(defs.reaction, file, text)?;
    Ok(rules.into_iter().zip(offsets).collect())
}

/// Validates rule definitions that came from `text` (the contents of `file`): a rules file,
/// or the inline `[[reaction]]` tables of a scenario.
pub fn validate_rule_defs(
    defs: Vec<RuleDef>,
    file: &Path,
    text: &str,
) -> Result<Vec<Rule>, SourceError> {
    let mut rules = Vec::with_capacity(defs.len());
    for (index, def) in defs.into_iter().enumerate() {
        let rule = def.validate().map_err(|e| {
            let label = if e.rule.trim().is_empty() {
                format!("rule #{}", index + 1)
            } else {
                format!("rule {:?}", e.rule)
            };
            SourceError::at(file, text, e.offset, format!("{label}: {}", e.message))
                .with_hint(e.hint)
        })?;
        rules.push(rule);
    }
    Ok(rules)
}

/// The rule whose tables hold byte `offset` of `text`, a rules file or a scenario (its
/// `[[reaction]]` and `[[tenant.reaction]]` entries), as `rule "name"` (or `rule #N` for an
/// unnamed top-level one): serde's messages say what is wrong but not in which rule. The
/// one lenient re-parser of rule labels, for rule files and scenarios alike.
pub(crate) fn rule_label_at(text: &str, offset: usize) -> Option<String> {
    // Lenient on purpose: unknown keys and wrong types are exactly what the strict parse
    // just rejected.
    #[derive(Deserialize)]
    struct Lenient {
        #[serde(default)]
        reaction: Vec<Spanned<LenientRule>>,
        #[serde(default)]
        tenant: Vec<LenientTenant>,
    }
    #[derive(Deserialize)]
    struct LenientTenant {
        #[serde(default)]
        reaction: Vec<Spanned<LenientRule>>,
    }
    #[derive(Deserialize)]
    struct LenientRule {
        #[serde(default)]
        name: Option<toml::Value>,
    }
    let lenient: Lenient = toml::from_str(text).ok()?;
    // An array-of-tables entry's span is its header; its sub-tables follow it until the
    // next header, so the last rule header before the offset owns the offset, unless
    // another table starts in between.
    let top = lenient
        .reaction
        .iter()
        .enumerate()
        .map(|(i, r)| (Some(i), r));
    let in_tenants = lenient
        .tenant
        .iter()
        .flat_map(|t| t.reaction.iter())
        .map(|r| (None, r));
    let (index, rule) = top
        .chain(in_tenants)
        .filter(|(_, r)| r.span().start <= offset)
        .max_by_key(|(_, r)| r.span().start)?;
    let between = &text[rule.span().start..offset.min(text.len())];
    let foreign = between.lines().skip(1).any(|l| {
        let l = l.trim_start();
        l.starts_with('[') && !l.starts_with("[reaction.") && !l.starts_with("[tenant.reaction.")
    });
    if foreign {
        return None;
    }
    match (&rule.get_ref().name, index) {
        (Some(toml::Value::String(name)), _) if !name.trim().is_empty() => {
            Some(format!("rule {name:?}"))
        }
        (_, Some(index)) => Some(format!("rule #{}", index + 1)),
        (_, None) => None,
    }
}

#[cfg(test)]
mod tests {

    /// The example of this module's documentation.
    #[test]
    fn a_rules_file_of_the_reaction_server_loads_unchanged() {
        use crate::engine::Resolver;
        use crate::scenario::parse_rules_file;
        use std::path::Path;

        let text = r#"
        [[reaction]]
        name = "order_confirmed_authorizes_payment"
        [reaction.when]
        entity_type = "Order"
        action = "ConfirmOrder"
        [reaction.then]
        entity_type = "Payment"
        action = "AuthorizePayment"
        [reaction.resolve_target]
        type = "same_id"
        "#;
        let rules = parse_rules_file(text, Path::new("reactions.toml")).unwrap();
        assert_eq!(rules[0].resolve_target, Resolver::SameId);
    }
    use super::*;

    const FILE: &str = "reactions.toml";

    fn parse(text: &str) -> Result<Vec<Rule>, SourceError> {
        parse_rules_file(text, Path::new(FILE))
    }

    fn parse_err(text: &str) -> SourceError {
        match parse(text) {
            Ok(rules) => panic!("expected an error, parsed {rules:?}"),
            Err(e) => e,
        }
    }

    /// 1-based line of the first line of `text` that contains `needle`.
    fn line_of(text: &str, needle: &str) -> usize {
        text.lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} not in text"))
            + 1
    }

    /// A minimal valid rule named `name`, with `extra` appended inside its tables.
    fn rule_with(name: &str, when_extra: &str, then_extra: &str, resolver: &str) -> String {
        format!(
            "[[reaction]]\nname = \"{name}\"\n[reaction.when]\nentity_type = \"Order\"\n{when_extra}\n\
             [reaction.then]\nentity_type = \"Payment\"\naction = \"AuthorizePayment\"\n{then_extra}\n\
             [reaction.resolve_target]\n{resolver}\n"
        )
    }

    const DESIGN_FILE: &str = r#"
# The order/payment pair from the reaction server's own app.
[[reaction]]
name = "order_confirmed_authorizes_payment"
[reaction.when]
entity_type = "Order"
action = "ConfirmOrder"        # optional; absent = any action
to_state = "Confirmed"         # optional; absent = any post-state
[reaction.when.guard]          # optional
type = "not"
guard = { type = "state_in", values = ["Cancelled"] }
[reaction.then]
entity_type = "Payment"
action = "AuthorizePayment"
params = { origin = "e2e" }                 # static, default {}
params_from = { amount = "total" }          # target param = source field
[reaction.resolve_target]
type = "same_id"

[[reaction]]
name = "order_cancelled_voids_payment"
[reaction.when]
entity_type = "Order"
action = "CancelOrder"
to_state = "Cancelled"
[reaction.then]
entity_type = "Payment"
action = "VoidPayment"
[reaction.resolve_target]
type = "same_id"
"#;

    #[test]
    fn design_reactions_file_loads_unchanged() {
        let rules = parse(DESIGN_FILE).unwrap();
        assert_eq!(rules.len(), 2);
        let confirmed = &rules[0];
        assert_eq!(confirmed.name, "order_confirmed_authorizes_payment");
        assert_eq!(confirmed.when.entity_type, "Order");
        assert_eq!(confirmed.when.action.as_deref(), Some("ConfirmOrder"));
        assert_eq!(confirmed.when.to_state.as_deref(), Some("Confirmed"));
        assert_eq!(
            confirmed.when.guard,
            Some(Guard::Not {
                guard: Box::new(Guard::StateIn {
                    values: vec!["Cancelled".into()]
                })
            })
        );
        assert_eq!(confirmed.then.params, serde_json::json!({"origin": "e2e"}));
        assert_eq!(
            confirmed.then.params_from,
            BTreeMap::from([("amount".to_string(), "total".to_string())])
        );
        assert_eq!(confirmed.resolve_target, Resolver::SameId);

        let cancelled = &rules[1];
        assert_eq!(cancelled.name, "order_cancelled_voids_payment");
        assert_eq!(cancelled.when.action.as_deref(), Some("CancelOrder"));
        assert_eq!(cancelled.when.to_state.as_deref(), Some("Cancelled"));
        assert_eq!(cancelled.when.guard, None);
        assert_eq!(cancelled.then.action, "VoidPayment");
        assert_eq!(cancelled.then.params, serde_json::json!({}));
        assert!(cancelled.then.params_from.is_empty());
    }

    #[test]
    fn empty_file_has_no_rules() {
        assert_eq!(parse("# nothing yet\n").unwrap(), vec![]);
    }

    #[test]
    fn every_guard_and_resolver_type_parses() {
        let text = rule_with(
            "all_kinds",
            r#"[reaction.when.guard]
type = "any_of"
guards = [
  { type = "all_of", guards = [
      { type = "field_equals", field = "kind", value = "gold" },
      { type = "field_in", field = "region", values = ["eu", 3] },
  ] },
  { type = "bool_true", field = "vip" },
  { type = "bool_false", field = "blocked" },
  { type = "cross_entity_state_in", entity_type = "Customer", entity_id_source = "customer_id", required_status = "Active" },
  { type = "not", guard = { type = "cross_entity_state_in", entity_type = "Customer", entity_id_source = "customer_id", required_status = ["Banned", "Closed"] } },
]"#,
            "",
            "type = \"create_if_missing\"\nid_field = \"payment_id\"",
        );
        let rules = parse(&text).unwrap();
        let guard = rules[0].when.guard.as_ref().unwrap();
        assert_eq!(guard.depth(), 3);
        let Guard::AnyOf { guards } = guard else {
            panic!("{guard:?}")
        };
        assert_eq!(guards.len(), 5);
        assert_eq!(
            guards[3],
            Guard::CrossEntityStateIn {
                entity_type: "Customer".into(),
                entity_id_source: "customer_id".into(),
                required_status: vec!["Active".into()],
            }
        );
        assert_eq!(
            rules[0].resolve_target,
            Resolver::CreateIfMissing {
                id_field: "payment_id".into()
            }
        );

        for (resolver, expected) in [
            ("type = \"same_id\"", Resolver::SameId),
            (
                "type = \"field\"\nfield = \"payment_id\"",
                Resolver::Field {
                    field: "payment_id".into(),
                },
            ),
            (
                "type = \"static\"\nentity_id = \"ledger\"",
                Resolver::Static {
                    entity_id: "ledger".into(),
                },
            ),
            ("type = \"create\"", Resolver::Create),
        ] {
            let rules = parse(&rule_with("r", "", "", resolver)).unwrap();
            assert_eq!(rules[0].resolve_target, expected);
        }
    }

    #[test]
    fn non_table_params_are_kept_as_they_are() {
        let text = rule_with("r", "", "params = [1, 2]", "type = \"same_id\"");
        assert_eq!(
            parse(&text).unwrap()[0].then.params,
            serde_json::json!([1, 2])
        );
    }

    #[test]
    fn toml_datetimes_become_strings() {
        let text = rule_with(
            "r",
            "guard = { type = \"field_equals\", field = \"due\", value = 2024-05-01 }",
            "params = { at = 2024-05-01T10:00:00Z }",
            "type = \"same_id\"",
        );
        let rule = &parse(&text).unwrap()[0];
        assert_eq!(
            rule.then.params,
            serde_json::json!({"at": "2024-05-01T10:00:00Z"})
        );
        assert_eq!(
            rule.when.guard,
            Some(Guard::FieldEquals {
                field: "due".into(),
                value: serde_json::json!("2024-05-01"),
            })
        );
    }

    #[test]
    fn rule_serializes_back_to_the_file_schema() {
        let rules = parse(DESIGN_FILE).unwrap();
        let file = serde_json::json!({ "reaction": rules });
        let text = toml::to_string(&file).unwrap();
        assert_eq!(parse(&text).unwrap(), rules, "{text}");
    }

    // --- One test per class of error. ---

    #[test]
    fn unknown_resolver_type_is_rejected_with_the_valid_ones() {
        let text = rule_with("pay", "", "", "type = \"same_idd\"");
        let e = parse_err(&text);
        assert!(e.message.contains("rule \"pay\""), "{e}");
        assert!(e.message.contains("same_idd"), "{e}");
        for valid in ["same_id", "field", "static", "create_if_missing", "create"] {
            assert!(e.message.contains(&format!("`{valid}`")), "{e}");
        }
        assert_eq!(e.line, line_of(&text, "same_idd"), "{e}");
        assert!(e.hint.is_some());

        // snake_case only: the server's enum spelling is not a type name.
        let e = parse_err(&rule_with("pay", "", "", "type = \"SameId\""));
        assert!(e.message.contains("unknown resolver type `SameId`"), "{e}");
    }

    #[test]
    fn resolver_missing_its_key_is_rejected() {
        let text = rule_with("pay", "", "", "type = \"field\"");
        let e = parse_err(&text);
        assert!(e.message.starts_with("rule \"pay\": "), "{e}");
        assert!(
            e.message
                .contains("`field` resolver is missing its `field` key"),
            "{e}"
        );
        assert_eq!(e.line, line_of(&text, "type = \"field\""), "{e}");

        // A key of another resolver is no substitute.
        let text = rule_with("pay", "", "", "type = \"static\"\nid_field = \"x\"");
        let e = parse_err(&text);
        assert!(
            e.message
                .contains("`id_field` is not a key of a `static` resolver"),
            "{e}"
        );
        assert_eq!(e.line, line_of(&text, "id_field"), "{e}");

        // And the `type` itself is required.
        let text = rule_with("pay", "", "", "field = \"x\"");
        let e = parse_err(&text);
        assert!(e.message.contains("missing field `type`"), "{e}");
        assert!(e.message.contains("rule \"pay\""), "{e}");
    }

    #[test]
    fn params_and_params_from_collision_is_rejected() {
        let text = rule_with(
            "pay",
            "",
            "params = { amount = 1, origin = \"e2e\" }\nparams_from = { amount = \"total\" }",
            "type = \"same_id\"",
        );
        let e = parse_err(&text);
        assert!(e.message.starts_with("rule \"pay\": "), "{e}");
        assert!(e.message.contains("`amount`"), "{e}");
        assert!(!e.message.contains("`origin`"), "{e}");
        assert_eq!(e.line, line_of(&text, "params_from"), "{e}");
        assert_eq!(e.column, "params_from = { ".len() + 1, "{e}");
        assert!(e.hint.is_some());
    }

    #[test]
    fn guard_over_the_depth_budget_is_rejected() {
        // not(not(not(not(leaf)))) is 5 levels.
        let too_deep = rule_with(
            "deep",
            "[reaction.when.guard]\ntype = \"not\"\nguard = { type = \"not\", guard = { type = \"not\", guard = { type = \"not\", guard = { type = \"bool_true\", field = \"x\" } } } }",
            "",
            "type = \"same_id\"",
        );
        let e = parse_err(&too_deep);
        assert!(e.message.starts_with("rule \"deep\": "), "{e}");
        assert!(e.message.contains("5 levels"), "{e}");
        assert!(e.message.contains("at most 4"), "{e}");
        assert_eq!(e.line, line_of(&too_deep, "[reaction.when.guard]"), "{e}");

        // Exactly at the budget is fine, and an empty list counts as a leaf.
        let at_budget = rule_with(
            "ok",
            "guard = { type = \"not\", guard = { type = \"all_of\", guards = [{ type = \"any_of\", guards = [{ type = \"all_of\", guards = [] }] }] } }",
            "",
            "type = \"same_id\"",
        );
        assert_eq!(
            parse(&at_budget).unwrap()[0]
                .when
                .guard
                .as_ref()
                .unwrap()
                .depth(),
            4
        );
    }

    #[test]
    fn unknown_guard_type_is_rejected() {
        let text = rule_with(
            "g",
            "guard = { type = \"state_is\", values = [\"Cancelled\"] }",
            "",
            "type = \"same_id\"",
        );
        let e = parse_err(&text);
        assert!(e.message.contains("rule \"g\""), "{e}");
        assert!(e.message.contains("state_is"), "{e}");
        assert!(e.message.contains("`state_in`"), "{e}");
        assert_eq!(e.line, line_of(&text, "state_is"), "{e}");
    }

    #[test]
    fn unknown_key_in_a_guard_is_rejected() {
        // `fiel` instead of `field`: accepted silently, the rule would never read the field.
        let inline = rule_with(
            "g",
            "guard = { type = \"bool_true\", fiel = \"vip\" }",
            "",
            "type = \"same_id\"",
        );
        let e = parse_err(&inline);
        assert!(e.message.contains("rule \"g\""), "{e}");
        assert!(e.message.contains("`fiel`"), "{e}");
        assert_eq!(e.line, line_of(&inline, "fiel"), "{e}");

        // Also inside a nested guard, and when the field is there too.
        let nested = rule_with(
            "g2",
            "[reaction.when.guard]\ntype = \"not\"\nguard = { type = \"field_equals\", field = \"x\", value = 1, fiel = \"y\" }",
            "",
            "type = \"same_id\"",
        );
        let e = parse_err(&nested);
        assert!(e.message.contains("rule \"g2\""), "{e}");
        assert!(e.message.contains("`fiel`"), "{e}");
        assert_eq!(e.line, line_of(&nested, "fiel"), "{e}");

        // In a guard table of its own, the error is at the key's line, not the header's.
        let table = rule_with(
            "g3",
            "[reaction.when.guard]\ntype = \"bool_true\"\nfield = \"vip\"\nfiel = \"vip\"",
            "",
            "type = \"same_id\"",
        );
        let e = parse_err(&table);
        assert!(e.message.contains("rule \"g3\""), "{e}");
        assert!(e.message.contains("`fiel`"), "{e}");
        assert_eq!(e.line, line_of(&table, "fiel ="), "{e}");
        assert_eq!(e.column, 1, "{e}");
    }

    #[test]
    fn key_of_another_guard_type_is_rejected() {
        // `values` is a guard key, but not of `bool_true`: it would be ignored.
        let text = rule_with(
            "g",
            "[reaction.when.guard]\ntype = \"any_of\"\nguards = [\n  { type = \"bool_true\", field = \"vip\" },\n  { type = \"bool_true\", field = \"a\", values = [1] },\n]",
            "",
            "type = \"same_id\"",
        );
        let e = parse_err(&text);
        assert!(e.message.starts_with("rule \"g\": "), "{e}");
        assert!(
            e.message
                .contains("`values` is not a key of a `bool_true` guard (it takes `field`)"),
            "{e}"
        );
        assert_eq!(e.line, line_of(&text, "values = [1]"), "{e}");

        // A kind without its key: pointed at its `type`.
        let text = rule_with(
            "g",
            "[reaction.when.guard]\ntype = \"not\"\nguard = { type = \"field_in\", field = \"x\" }",
            "",
            "type = \"same_id\"",
        );
        let e = parse_err(&text);
        assert!(
            e.message
                .contains("`field_in` guard is missing its `values` key"),
            "{e}"
        );
        assert_eq!(e.line, line_of(&text, "field_in"), "{e}");
    }

    #[test]
    fn state_in_values_must_be_strings() {
        let text = rule_with(
            "s",
            "guard = { type = \"state_in\", values = [\"Cancelled\", 3] }",
            "",
            "type = \"same_id\"",
        );
        let e = parse_err(&text);
        assert!(e.message.contains("status names, found 3"), "{e}");
        assert_eq!(e.line, line_of(&text, "state_in"), "{e}");
    }

    #[test]
    fn empty_guard_field_is_rejected() {
        let text = rule_with(
            "s",
            "guard = { type = \"bool_true\", field = \"\" }",
            "",
            "type = \"same_id\"",
        );
        let e = parse_err(&text);
        assert!(e.message.contains("guard has an empty `field`"), "{e}");
        assert_eq!(e.line, line_of(&text, "bool_true"), "{e}");
    }

    #[test]
    fn unknown_key_in_when_is_rejected() {
        let text = rule_with("w", "to_sate = \"Confirmed\"", "", "type = \"same_id\"");
        let e = parse_err(&text);
        assert!(e.message.contains("rule \"w\""), "{e}");
        assert!(e.message.contains("`to_sate`"), "{e}");
        assert_eq!(e.line, line_of(&text, "to_sate"), "{e}");
        assert!(e.hint.as_deref().unwrap().contains("spelling"));
    }

    #[test]
    fn unknown_top_level_key_is_rejected() {
        let text = format!(
            "reactions = []\n{}",
            rule_with("r", "", "", "type = \"same_id\"")
        );
        let e = parse_err(&text);
        assert!(e.message.contains("`reactions`"), "{e}");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn empty_name_is_rejected() {
        let text = format!(
            "{}{}",
            rule_with("first", "", "", "type = \"same_id\""),
            rule_with("", "", "", "type = \"same_id\"")
        );
        let e = parse_err(&text);
        assert!(e.message.starts_with("rule #2: name is empty"), "{e}");
        assert_eq!(e.line, line_of(&text, "name = \"\""), "{e}");
    }

    #[test]
    fn errors_in_a_later_rule_name_that_rule() {
        let text = format!(
            "{}{}",
            rule_with("first", "", "", "type = \"same_id\""),
            rule_with("second", "", "params_form = {}", "type = \"same_id\"")
        );
        let e = parse_err(&text);
        assert!(e.message.starts_with("rule \"second\": "), "{e}");
        assert_eq!(e.line, line_of(&text, "params_form"), "{e}");
    }

    #[test]
    fn validate_rule_defs_reports_at_the_rule() {
        // The scenario parser's path: its own struct holds the defs.
        let text = rule_with("", "", "", "type = \"create\"");
        let defs = toml::from_str::<RulesFileDef>(&text).unwrap().reaction;
        let e = validate_rule_defs(defs, Path::new("s.toml"), &text).unwrap_err();
        assert_eq!(e.file, Path::new("s.toml"));
        assert_eq!(e.line, 2);
        assert!(e.message.contains("name is empty"), "{e}");
    }
}

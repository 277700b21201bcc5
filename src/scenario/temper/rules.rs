//! Rule files written for temper's runtime engine (`temper-runtime`'s reaction module, which
//! temper's spec actors read: temper-agents' `agent.reactions.toml`, temper-fs'
//! `reactions.toml`). A scenario declares them as such:
//!
//! ```toml
//! [[tenant]]
//! id = "agents"
//! reactions = [{ path = "specs/agent.reactions.toml", engine = "runtime" }]
//! ```
//!
//! The schema is the server's (`[[reaction]]` with `when`, `then`, `resolve_target`), with
//! that engine's differences, taken from its code:
//! - resolver types are spelled `SameId`, `Field`, `Static`, `CreateIfMissing` (the
//!   snake_case spellings are accepted too); there is no `create`; a missing
//!   `[reaction.resolve_target]` (or a missing `type`) means `SameId`;
//! - there are no guards: that engine would ignore one, so here it is an error (a guard that
//!   is silently not applied turns a rule into one that always fires);
//! - `when.action` names what a transition produces: the action itself, or an event it
//!   `emit`s, or an integration it `trigger`s (see `engine/cascade.rs`);
//! - `create_if_missing` falls back to `{source_id}-derived` when the id field is missing,
//!   empty or not a string (`Resolver::resolve_runtime_ref`).
//!
//! As in the server's schema here, unknown keys are errors with their place.

use crate::core::Value;
use crate::engine::{Resolver, Rule, Then, When};
use crate::scenario::SourceError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDef {
    #[serde(default)]
    reaction: Vec<RuleDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    name: Spanned<String>,
    when: WhenDef,
    then: ThenDef,
    resolve_target: Option<Spanned<ResolverDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WhenDef {
    entity_type: String,
    action: Option<String>,
    to_state: Option<String>,
    guard: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThenDef {
    entity_type: String,
    action: String,
    #[serde(default = "empty_object")]
    params: Value,
    #[serde(default)]
    params_from: BTreeMap<Spanned<String>, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResolverDef {
    #[serde(rename = "type")]
    kind: Option<Spanned<String>>,
    field: Option<Spanned<String>>,
    entity_id: Option<Spanned<String>>,
    id_field: Option<Spanned<String>>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// Parses a runtime-engine rule file: each rule with the byte offset of its name.
pub fn parse_runtime_rules(text: &str, file: &Path) -> Result<Vec<(Rule, usize)>, SourceError> {
    let def: FileDef = toml::from_str(text).map_err(|e| SourceError::from_toml(file, text, &e))?;
    let mut out = Vec::new();
    for r in def.reaction {
        let at = r.name.span().start;
        let name = r.name.into_inner();
        let err = |offset: usize, message: String| {
            SourceError::at(file, text, offset, format!("rule {name:?}: {message}")).with_hint(
                "a runtime rule file is read as temper's runtime engine reads it (PascalCase resolvers)",
            )
        };
        if name.trim().is_empty() {
            return Err(err(at, "name is empty".into())
                .with_hint("reports and traces refer to rules by name"));
        }
        if let Some(g) = &r.when.guard {
            return Err(err(g.span().start, "temper's runtime engine has no guards".into())
                .with_hint("it would ignore this guard and always fire the rule; move the rule to a server-dispatcher file (reactions = [\"...\"]) to keep the guard"));
        }
        for (key, value) in [
            ("when.entity_type", Some(&r.when.entity_type)),
            ("when.action", r.when.action.as_ref()),
            ("when.to_state", r.when.to_state.as_ref()),
            ("then.entity_type", Some(&r.then.entity_type)),
            ("then.action", Some(&r.then.action)),
        ] {
            if value.is_some_and(|v| v.trim().is_empty()) {
                return Err(err(at, format!("`{key}` is empty"))
                    .with_hint("name it, or leave an optional key out to match any"));
            }
        }
        if let Value::Object(p) = &r.then.params {
            if let Some(k) = r
                .then
                .params_from
                .keys()
                .find(|k| p.contains_key(k.get_ref()))
            {
                return Err(err(
                    k.span().start,
                    format!(
                        "param `{}` is set in both then.params and then.params_from",
                        k.get_ref()
                    ),
                )
                .with_hint("keep it in one of them"));
            }
        }
        let resolve_target = match &r.resolve_target {
            None => Resolver::SameId,
            Some(d) => resolver(d, &err)?,
        };
        out.push((
            Rule {
                name,
                when: When {
                    entity_type: r.when.entity_type,
                    action: r.when.action,
                    to_state: r.when.to_state,
                    guard: None,
                },
                then: Then {
                    entity_type: r.then.entity_type,
                    action: r.then.action,
                    params: r.then.params,
                    params_from: r
                        .then
                        .params_from
                        .into_iter()
                        .map(|(k, v)| (k.into_inner(), v))
                        .collect(),
                },
                resolve_target,
            },
            at,
        ));
    }
    Ok(out)
}

fn resolver(
    d: &Spanned<ResolverDef>,
    err: &dyn Fn(usize, String) -> SourceError,
) -> Result<Resolver, SourceError> {
    let def = d.get_ref();
    let kind = def.kind.as_ref().map_or("SameId", |k| k.get_ref().as_str());
    let at = def.kind.as_ref().map_or(d.span().start, |k| k.span().start);
    let key = |v: &Option<Spanned<String>>, name: &str| -> Result<String, SourceError> {
        match v {
            Some(s) if !s.get_ref().trim().is_empty() => Ok(s.get_ref().clone()),
            _ => Err(err(
                at,
                format!("a `{kind}` resolver needs a non-empty `{name}`"),
            )
            .with_hint("add the key")),
        }
    };
    let keys = [
        ("field", &def.field),
        ("entity_id", &def.entity_id),
        ("id_field", &def.id_field),
    ];
    let (resolver, takes) = match kind {
        "SameId" | "same_id" => (Resolver::SameId, ""),
        "Field" | "field" => (
            Resolver::Field {
                field: key(&def.field, "field")?,
            },
            "field",
        ),
        "Static" | "static" => (
            Resolver::Static {
                entity_id: key(&def.entity_id, "entity_id")?,
            },
            "entity_id",
        ),
        "CreateIfMissing" | "create_if_missing" => (
            Resolver::CreateIfMissing {
                id_field: key(&def.id_field, "id_field")?,
            },
            "id_field",
        ),
        other => {
            return Err(err(at, format!("unknown resolver type `{other}` for temper's runtime engine; expected `SameId`, `Field`, `Static` or `CreateIfMissing`"))
                .with_hint(if other.eq_ignore_ascii_case("create") {
                    "the runtime engine has no `create` resolver; declare the file for the server's dispatcher to use it"
                } else {
                    "the runtime engine spells resolvers in PascalCase (snake_case is accepted too)"
                }))
        }
    };
    for (name, value) in keys {
        if let Some(v) = value {
            if name != takes {
                return Err(err(
                    v.span().start,
                    format!("`{name}` is not a key of a `{kind}` resolver"),
                )
                .with_hint("remove the key, or change `type`"));
            }
        }
    }
    Ok(resolver)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Rule>, SourceError> {
        parse_runtime_rules(text, Path::new("r.toml"))
            .map(|v| v.into_iter().map(|(r, _)| r).collect())
    }

    const RULE: &str = r#"
[[reaction]]
name = "to_router"
[reaction.when]
entity_type = "Agent"
action = "ToolCallBatchRequested"
[reaction.then]
entity_type = "ToolRouter"
action = "ToolCallBatchRequested"
[reaction.resolve_target]
type = "SameId"
"#;

    #[test]
    fn pascal_case_resolvers_load_and_a_missing_resolver_is_same_id() {
        let rules = parse(RULE).unwrap();
        assert_eq!(rules[0].resolve_target, Resolver::SameId);
        let no_resolver = RULE.replace("[reaction.resolve_target]\ntype = \"SameId\"\n", "");
        assert_eq!(
            parse(&no_resolver).unwrap()[0].resolve_target,
            Resolver::SameId
        );
        let cim = RULE.replace(
            "type = \"SameId\"",
            "type = \"CreateIfMissing\"\nid_field = \"v\"",
        );
        assert_eq!(
            parse(&cim).unwrap()[0].resolve_target,
            Resolver::CreateIfMissing {
                id_field: "v".into()
            }
        );
    }

    #[test]
    fn guards_create_and_stray_keys_are_errors_with_a_place() {
        let guarded = RULE.replace(
            "action = \"ToolCallBatchRequested\"\n[reaction.then]",
            "action = \"ToolCallBatchRequested\"\nguard = { type = \"bool_true\", field = \"x\" }\n[reaction.then]",
        );
        let e = parse(&guarded).unwrap_err();
        assert!(e.message.contains("no guards"), "{e}");
        assert_eq!(e.line, 7, "{e}");
        let e = parse(&RULE.replace("\"SameId\"", "\"Create\"")).unwrap_err();
        assert!(e.message.contains("unknown resolver type `Create`"), "{e}");
        let e = parse(&RULE.replace("type = \"SameId\"", "type = \"SameId\"\nfield = \"x\""))
            .unwrap_err();
        assert!(e.message.contains("`field` is not a key"), "{e}");
        let e =
            parse(&RULE.replace("entity_type = \"Agent\"", "entity_typ = \"Agent\"")).unwrap_err();
        assert!(e.message.contains("unknown field"), "{e}");
    }
}

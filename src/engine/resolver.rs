//! Target resolution: which entity a reaction acts on, from the source's id and fields.
//!
//! Resolution is pure except for `create`, which needs a fresh id: the caller passes a minting
//! function (the simulator's `sim_uuid`), so ids stay deterministic and the engine owns no id
//! source. Not covered here: whether the target exists or is in the same tenant (the
//! dispatcher creates targets on first touch, always in the source's tenant).

use super::Fields;
use crate::core::Value;
use serde::Serialize;
use std::borrow::Cow;

/// How the target entity's id is found. Built from a `ResolverDef` by `rule.rs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Resolver {
    SameId,
    Field { field: String },
    Static { entity_id: String },
    CreateIfMissing { id_field: String },
    Create,
}

impl Resolver {
    /// The target entity's id, or the message of a "could not resolve target" result.
    ///
    /// - `same_id`: the source's id.
    /// - `field`: the source field's value, which must be a string.
    /// - `static`: the fixed `entity_id` (a per-tenant singleton).
    /// - `create_if_missing`: the source field's string value; if the field is absent,
    ///   `"{source_id}-derived"`. Present but not a string is an error, not a fallback: a
    ///   number where an id was expected is a bug in the source, not a missing id.
    /// - `create`: a fresh id from `mint_id`, called exactly once. Call `resolve` only after
    ///   the guard passed, so that a rule that does not fire consumes no id and the id
    ///   sequence of the run does not depend on guards that failed.
    ///
    /// `mint_id` is called by `create` and by nothing else.
    pub fn resolve(
        &self,
        source_id: &str,
        fields: &Fields,
        mint_id: &mut dyn FnMut() -> String,
    ) -> Result<String, String> {
        self.resolve_ref(source_id, fields, mint_id)
            .map(Cow::into_owned)
    }

    /// [`Resolver::resolve`], borrowing the id from the source, its fields or the rule when
    /// it is there already (only `create_if_missing`'s fallback and `create` make a new one).
    pub fn resolve_ref<'a>(
        &'a self,
        source_id: &'a str,
        fields: &'a Fields,
        mint_id: &mut dyn FnMut() -> String,
    ) -> Result<Cow<'a, str>, String> {
        match self {
            Resolver::SameId => Ok(Cow::Borrowed(source_id)),
            Resolver::Field { field } => match fields.get(field) {
                Some(Value::String(id)) => Ok(Cow::Borrowed(id)),
                Some(other) => Err(not_a_string(field, other)),
                None => Err(format!(
                    "could not resolve target: field `{field}` is missing"
                )),
            },
            Resolver::Static { entity_id } => Ok(Cow::Borrowed(entity_id)),
            Resolver::CreateIfMissing { id_field } => match fields.get(id_field) {
                Some(Value::String(id)) => Ok(Cow::Borrowed(id)),
                Some(other) => Err(not_a_string(id_field, other)),
                None => Ok(Cow::Owned(format!("{source_id}-derived"))),
            },
            Resolver::Create => Ok(Cow::Owned(mint_id())),
        }
    }

    /// [`Resolver::resolve_ref`] as temper's runtime engine resolves (`temper-runtime`'s
    /// reaction rules, read by its spec actors). It differs from the server's dispatcher on
    /// purpose, and Ripple follows each engine's own code: a `field` or `create_if_missing`
    /// id must be a non-empty string, and anything else counts as missing, so
    /// `create_if_missing` falls back to `"{source_id}-derived"` where the server's
    /// semantics report a field that is not a string. That engine has no `create`; the
    /// loader rejects it in runtime-engine files, so it resolves as the server's here.
    pub fn resolve_runtime_ref<'a>(
        &'a self,
        source_id: &'a str,
        fields: &'a Fields,
        mint_id: &mut dyn FnMut() -> String,
    ) -> Result<Cow<'a, str>, String> {
        let id_in = |field: &str| match fields.get(field) {
            Some(Value::String(id)) if !id.is_empty() => Some(id.as_str()),
            _ => None,
        };
        match self {
            Resolver::Field { field } => id_in(field).map(Cow::Borrowed).ok_or_else(|| {
                format!("could not resolve target: field `{field}` is missing or not a non-empty string")
            }),
            Resolver::CreateIfMissing { id_field } => Ok(match id_in(id_field) {
                Some(id) => Cow::Borrowed(id),
                None => Cow::Owned(format!("{source_id}-derived")),
            }),
            Resolver::SameId | Resolver::Static { .. } | Resolver::Create => {
                self.resolve_ref(source_id, fields, mint_id)
            }
        }
    }
}

fn not_a_string(field: &str, found: &Value) -> String {
    format!(
        "could not resolve target: field `{field}` is not a string (found {})",
        json_type_name(found)
    )
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: Value) -> Fields {
        value.as_object().cloned().expect("an object").into()
    }

    /// Resolves with a minter that panics: only `create` may mint.
    fn resolve(resolver: &Resolver, source_id: &str, f: &Fields) -> Result<String, String> {
        resolver.resolve(source_id, f, &mut || panic!("{resolver:?} minted an id"))
    }

    #[test]
    fn same_id_resolves_to_the_source_id() {
        let f = fields(json!({"id": "other"}));
        assert_eq!(resolve(&Resolver::SameId, "o1", &f), Ok("o1".into()));
    }

    #[test]
    fn field_resolver_reads_a_string_field() {
        let r = Resolver::Field {
            field: "payment_id".into(),
        };
        let f = fields(json!({"payment_id": "p9"}));
        assert_eq!(resolve(&r, "o1", &f), Ok("p9".into()));
    }

    #[test]
    fn field_resolver_with_missing_field_fails() {
        let r = Resolver::Field {
            field: "payment_id".into(),
        };
        assert_eq!(
            resolve(&r, "o1", &Fields::new()),
            Err("could not resolve target: field `payment_id` is missing".into())
        );
    }

    #[test]
    fn field_resolver_with_non_string_fails() {
        let r = Resolver::Field {
            field: "payment_id".into(),
        };
        for (value, kind) in [
            (json!(42), "number"),
            (json!(null), "null"),
            (json!(true), "boolean"),
            (json!(["p9"]), "array"),
            (json!({"id": "p9"}), "object"),
        ] {
            let f = fields(json!({ "payment_id": value }));
            assert_eq!(
                resolve(&r, "o1", &f),
                Err(format!(
                    "could not resolve target: field `payment_id` is not a string (found {kind})"
                ))
            );
        }
    }

    #[test]
    fn static_resolver_ignores_the_source() {
        let r = Resolver::Static {
            entity_id: "ledger".into(),
        };
        let f = fields(json!({"ledger": "no"}));
        assert_eq!(resolve(&r, "o1", &f), Ok("ledger".into()));
        assert_eq!(resolve(&r, "o2", &Fields::new()), Ok("ledger".into()));
    }

    #[test]
    fn create_if_missing_uses_the_field_when_present() {
        let r = Resolver::CreateIfMissing {
            id_field: "invoice_id".into(),
        };
        let f = fields(json!({"invoice_id": "inv-3"}));
        assert_eq!(resolve(&r, "o1", &f), Ok("inv-3".into()));
    }

    #[test]
    fn create_if_missing_derives_from_the_source_id_when_absent() {
        let r = Resolver::CreateIfMissing {
            id_field: "invoice_id".into(),
        };
        assert_eq!(resolve(&r, "o1", &Fields::new()), Ok("o1-derived".into()));
    }

    #[test]
    fn create_if_missing_with_non_string_fails() {
        let r = Resolver::CreateIfMissing {
            id_field: "invoice_id".into(),
        };
        let f = fields(json!({"invoice_id": 7}));
        assert_eq!(
            resolve(&r, "o1", &f),
            Err(
                "could not resolve target: field `invoice_id` is not a string (found number)"
                    .into()
            )
        );
    }

    #[test]
    fn create_mints_only_when_called() {
        let mut minted = 0;
        let mut mint = || {
            minted += 1;
            format!("uuid-{minted}")
        };
        // Other resolvers never touch the minter.
        for r in [
            Resolver::SameId,
            Resolver::Static {
                entity_id: "s".into(),
            },
            Resolver::CreateIfMissing {
                id_field: "x".into(),
            },
        ] {
            r.resolve("o1", &Fields::new(), &mut mint).unwrap();
        }
        assert_eq!(
            Resolver::Create.resolve("o1", &Fields::new(), &mut mint),
            Ok("uuid-1".into())
        );
        // One fresh id per call.
        assert_eq!(
            Resolver::Create.resolve("o1", &Fields::new(), &mut mint),
            Ok("uuid-2".into())
        );
        assert_eq!(minted, 2);
    }
    #[test]
    fn the_runtime_engine_derives_an_id_where_the_field_is_not_a_string() {
        let r = Resolver::CreateIfMissing {
            id_field: "child_id".into(),
        };
        let none = &mut || panic!("no minting");
        for f in [json!({"child_id": 7}), json!({"child_id": ""}), json!({})] {
            let f = fields(f);
            assert_eq!(r.resolve_runtime_ref("p1", &f, none).unwrap(), "p1-derived");
        }
        let f = fields(json!({"child_id": "c1"}));
        assert_eq!(r.resolve_runtime_ref("p1", &f, none).unwrap(), "c1");
        // The server's semantics differ: a number is an error there.
        assert!(resolve(&r, "p1", &fields(json!({"child_id": 7}))).is_err());
        let field = Resolver::Field {
            field: "target".into(),
        };
        assert!(field
            .resolve_runtime_ref("p1", &fields(json!({"target": ""})), none)
            .is_err());
    }
}

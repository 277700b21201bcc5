//! `[[invariant]]`: the scenario's own properties, in the predicate language.

use super::{byte_offset_of_char, known_or, Loader};
use crate::core::TenantId;
use crate::engine::EntitySpec;
use crate::scenario::SourceError;
use crate::scenario::{CheckAt, InvariantSpec};
use crate::scenario::{InvariantKind, Predicate, UserInvariant};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InvariantDef {
    pub(super) name: Spanned<String>,
    pub(super) always: Option<Spanned<String>>,
    pub(super) never: Option<Spanned<String>>,
    pub(super) sometimes: Option<Spanned<String>>,
    pub(super) at: Option<Spanned<String>>,
    pub(super) tenant: Option<Spanned<String>>,
}

impl Loader<'_> {
    pub(super) fn invariants(
        &self,
        defs: Vec<InvariantDef>,
        tenants: &[TenantId],
        entities: &BTreeMap<String, EntitySpec>,
    ) -> Result<Vec<InvariantSpec>, SourceError> {
        let mut out: Vec<InvariantSpec> = Vec::new();
        for d in defs {
            let name = d.name.get_ref().clone();
            if name.trim().is_empty() {
                return Err(self
                    .err(d.name.span().start, "invariant name is empty")
                    .with_hint("name it: reports and corpus signatures use the name"));
            }
            if out.iter().any(|x| x.invariant.name == name) {
                return Err(self
                    .err(
                        d.name.span().start,
                        format!("invariant {name:?} is declared twice"),
                    )
                    .with_hint("rename one: reports tell invariants apart by name"));
            }
            let (kind, expr) = match (d.always, d.never, d.sometimes) {
                (Some(a), None, None) => (InvariantKind::Always, a),
                (None, Some(n), None) => (InvariantKind::Never, n),
                (None, None, Some(s)) => (InvariantKind::Sometimes, s),
                _ => {
                    return Err(self
                        .err(d.name.span().start, format!("invariant {name:?} needs exactly one of `always`, `never` or `sometimes`"))
                        .with_hint("e.g. never = \"Order[id].status == 'Cancelled' && Payment[id].status == 'Authorized'\""))
                }
            };
            // The expression is a TOML string: point into it (after the opening quote).
            let predicate = Predicate::parse(expr.get_ref()).map_err(|e| {
                let mut err = self.err(
                    expr.span().start
                        + 1
                        + byte_offset_of_char(expr.get_ref(), e.column.saturating_sub(1)),
                    format!("invariant {name:?}: {}", e.message),
                );
                err.hint = Some(e.hint.clone().unwrap_or_else(|| {
                    "the predicate language: Type[x].status == 'State', Type[x].field > 1, !, &&, ||, parentheses (docs/scenario.md)".into()
                }));
                err
            })?;
            for ty in predicate.entity_types() {
                if !entities.contains_key(&ty) {
                    return Err(self
                        .err(
                            expr.span().start,
                            format!("invariant {name:?}: entity type {ty:?} is not declared"),
                        )
                        .with_hint(known_or(
                            "declared types",
                            entities.keys().map(String::as_str),
                        )));
                }
            }
            let at = match &d.at {
                None => CheckAt::Step,
                Some(a) => match a.get_ref().as_str() {
                    "step" => CheckAt::Step,
                    "end" => CheckAt::End,
                    other => {
                        return Err(self
                            .err(a.span().start, format!("invariant {name:?}: unknown `at` {other:?}"))
                            .with_hint("use \"step\" (after every settled step, the default) or \"end\" (once, at the end)"))
                    }
                },
            };
            let tenant = match &d.tenant {
                Some(t) => Some(self.tenant(t, tenants)?),
                None => None,
            };
            out.push(InvariantSpec {
                invariant: UserInvariant {
                    name,
                    kind,
                    predicate,
                    text: expr.into_inner(),
                },
                at,
                tenant,
            });
        }
        Ok(out)
    }
}

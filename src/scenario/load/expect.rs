//! `[[expect]]`: what must hold at quiescence.

use super::{known_or, Loader};
use crate::core::{EntityId, TenantId};
use crate::engine::{EntitySpec, Fields};
use crate::scenario::Expect;
use crate::scenario::SourceError;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExpectDef {
    pub(super) tenant: Spanned<String>,
    pub(super) entity_type: Spanned<String>,
    pub(super) id: Spanned<String>,
    pub(super) status: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) fields: Fields,
    pub(super) exists: Option<bool>,
}

impl Loader<'_> {
    pub(super) fn expects(
        &self,
        defs: Vec<ExpectDef>,
        tenants: &[TenantId],
        entities: &BTreeMap<String, EntitySpec>,
    ) -> Result<Vec<Expect>, SourceError> {
        let mut out = Vec::new();
        for x in defs {
            let tenant = self.tenant(&x.tenant, tenants)?;
            let ty = x.entity_type.get_ref();
            let spec = entities.get(ty).ok_or_else(|| {
                self.err(
                    x.entity_type.span().start,
                    format!("expect: entity type {ty:?} is not declared"),
                )
                .with_hint(known_or(
                    "declared types",
                    entities.keys().map(String::as_str),
                ))
            })?;
            if let Some(s) = &x.status {
                if !spec.states.contains(s.get_ref()) {
                    return Err(self
                        .err(
                            s.span().start,
                            format!("expect: {:?} is not a state of {ty}", s.get_ref()),
                        )
                        .with_hint(known_or("states", spec.states.iter().map(String::as_str))));
                }
            }
            let exists = x.exists.unwrap_or(true);
            if !exists && (x.status.is_some() || !x.fields.is_empty()) {
                return Err(self
                    .err(
                        x.id.span().start,
                        "expect: `exists = false` cannot also check status or fields",
                    )
                    .with_hint("remove status/fields, or drop exists = false"));
            }
            out.push(Expect {
                tenant,
                entity_type: ty.clone(),
                id: EntityId(x.id.get_ref().clone()),
                status: x.status.map(Spanned::into_inner),
                fields: x.fields,
                exists,
            });
        }
        Ok(out)
    }
}

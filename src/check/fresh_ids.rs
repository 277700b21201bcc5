//! `fresh_ids`: no id minted by a `create` resolver is ever reused.
//!
//! Watches dispatches by rules whose resolver is `create`: the target id must not have been
//! seen before in that tenant and type, and the action must create the entity (a
//! `transition` with `created = true`). The second copy of a duplicated reaction message is
//! exempt: the fault layer redelivered the same message, the resolver minted nothing. It
//! does not check ids from other resolvers, which name existing entities by design.

use crate::check::Invariant;
use crate::core::{EntityId, TenantId};
use crate::core::{OriginRef, Record, RecordKind, RecordRef};
use std::collections::BTreeSet;

#[derive(Clone)]
pub struct FreshIds {
    /// Names of the rules whose resolver is `create`.
    pub create_rules: BTreeSet<String>,
    seen: BTreeSet<(TenantId, String, EntityId)>,
    /// A create dispatch waiting for its transition.
    pending: Option<(String, EntityId)>,
}

impl FreshIds {
    pub fn new(create_rules: BTreeSet<String>) -> FreshIds {
        FreshIds {
            create_rules,
            seen: BTreeSet::new(),
            pending: None,
        }
    }
}

impl Invariant for FreshIds {
    fn name(&self) -> &'static str {
        "fresh_ids"
    }

    /// Nothing, in a scenario without `create` rules (most of them).
    fn watches(&self, kind: RecordKind) -> bool {
        !self.create_rules.is_empty()
            && matches!(
                kind,
                RecordKind::Dispatch | RecordKind::Transition | RecordKind::ActionFailed
            )
    }

    fn on_record(&mut self, record: &Record) -> Option<String> {
        self.on_record_ref(&record.view())
    }

    fn on_record_ref(&mut self, record: &RecordRef<'_>) -> Option<String> {
        match record {
            RecordRef::Dispatch {
                tenant,
                entity_type,
                id,
                origin: OriginRef::Rule { rule, copy: false },
                ..
            } if self.create_rules.contains(*rule) => {
                self.pending = Some((rule.to_string(), EntityId::new(*id)));
                (!self.seen.insert((
                    TenantId::new(*tenant),
                    entity_type.to_string(),
                    EntityId::new(*id),
                )))
                .then(|| format!("rule {rule} (create) reused id {id} for {entity_type}"))
            }
            RecordRef::Transition {
                created,
                id,
                entity_type,
                ..
            } => {
                let (rule, want) = self.pending.take()?;
                (want.as_str() == *id && !created).then(|| {
                    format!(
                        "rule {rule} (create) minted {id}, but {entity_type}/{id} already existed"
                    )
                })
            }
            RecordRef::ActionFailed { .. } => {
                self.pending = None;
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Depth;
    use crate::core::Origin;
    use crate::core::SimTime;

    fn dispatch(id: &str, copy: bool) -> Record {
        Record::Dispatch {
            at: SimTime(0),
            cause: 0,
            tenant: TenantId::new("t"),
            source_tenant: TenantId::new("t"),
            entity_type: "Job".into(),
            id: EntityId::new(id),
            action: "Start".into(),
            depth: Depth(1),
            origin: Origin::Rule {
                rule: "spawn".into(),
                copy,
            },
        }
    }

    #[test]
    fn a_reused_create_id_is_a_violation_but_a_duplicate_copy_is_not() {
        let mut c = FreshIds::new(BTreeSet::from(["spawn".to_string()]));
        assert_eq!(c.on_record(&dispatch("a", false)), None);
        assert_eq!(
            c.on_record(&dispatch("a", true)),
            None,
            "a redelivered copy"
        );
        assert_eq!(c.on_record(&dispatch("b", false)), None);
        assert!(c
            .on_record(&dispatch("a", false))
            .unwrap()
            .contains("reused id a"));
    }
}

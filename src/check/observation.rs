//! What a violation was about: the entity it concerns and what was seen of it. Failure
//! signatures (`sim/signature.rs`) are made of these, so that two failures of one invariant
//! on different entities, or with different observations, are different failures.
//!
//! What it leaves out: entity ids the engine mints (`create` resolvers) are not named for
//! built-in invariants (a fresh id per seed would make every failure its own group); only
//! the type is.

use crate::core::{RecordRef, Value};
use serde::Serialize;

/// The entity a violation concerns (any part may be unknown) and the kind of observation,
/// with its value: `missing`, `status Authorized`, `pages = 3`, `depth 8`,
/// `duplicate delivery to link_down`...
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Observation {
    pub tenant: Option<String>,
    pub entity_type: Option<String>,
    pub id: Option<String>,
    pub observed: String,
}

impl Observation {
    /// An observation of one entity.
    pub fn of_entity(
        tenant: &str,
        entity_type: &str,
        id: &str,
        observed: impl Into<String>,
    ) -> Observation {
        Observation {
            tenant: Some(tenant.to_string()),
            entity_type: Some(entity_type.to_string()),
            id: Some(id.to_string()),
            observed: observed.into(),
        }
    }

    /// `tenant/Type/id` as far as it is known (empty when nothing is).
    pub fn entity(&self) -> String {
        let parts: Vec<&str> = [&self.tenant, &self.entity_type, &self.id]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect();
        parts.join("/")
    }
}

/// A field value as a signature shows it: JSON, with strings quoted.
pub fn observed_value(v: &Value) -> String {
    v.to_string()
}

/// What a built-in invariant named `invariant` saw in `record`, the record it was broken at.
/// `None` when the invariant's name and rule say it all.
pub fn observe_record(invariant: &str, record: &RecordRef<'_>) -> Option<Observation> {
    let typed = |tenant: &str, entity_type: &str, observed: String| Observation {
        tenant: Some(tenant.to_string()),
        entity_type: Some(entity_type.to_string()),
        id: None,
        observed,
    };
    match (invariant, record) {
        (
            "depth_bound",
            RecordRef::Dispatch {
                tenant,
                entity_type,
                depth,
                ..
            },
        ) => Some(typed(
            tenant,
            entity_type,
            format!("dispatch at depth {}", depth.0),
        )),
        (
            "depth_bound",
            RecordRef::Reaction {
                tenant,
                target_type,
                depth,
                ..
            },
        ) => Some(typed(
            tenant,
            target_type,
            format!("reaction at depth {}", depth.0),
        )),
        ("cascade_truncated", RecordRef::DepthLimit { tenant, depth, .. }) => Some(Observation {
            tenant: Some(tenant.to_string()),
            observed: format!("truncated at depth {}", depth.0),
            ..Observation::default()
        }),
        ("delivery", RecordRef::Deliver { handler, .. }) => Some(Observation {
            observed: format!("duplicate delivery to {handler}"),
            ..Observation::default()
        }),
        (
            "valid_transition",
            RecordRef::Transition {
                tenant,
                entity_type,
                action,
                from,
                to,
                ..
            },
        ) => Some(typed(
            tenant,
            entity_type,
            format!("{action}: {from} -> {to}"),
        )),
        (
            "tenant_isolation",
            RecordRef::Dispatch {
                tenant,
                entity_type,
                source_tenant,
                ..
            },
        ) => Some(typed(
            tenant,
            entity_type,
            format!("dispatch from tenant {source_tenant}"),
        )),
        (
            "tenant_isolation",
            RecordRef::Reaction {
                tenant,
                target_type,
                ..
            },
        ) => Some(typed(tenant, target_type, "rule of another tenant".into())),
        (
            "fresh_ids",
            RecordRef::Dispatch {
                tenant,
                entity_type,
                ..
            },
        )
        | (
            "fresh_ids",
            RecordRef::Transition {
                tenant,
                entity_type,
                ..
            },
        ) => Some(typed(tenant, entity_type, "reused id".into())),
        (
            "fresh_ids",
            RecordRef::Reaction {
                tenant,
                target_type,
                ..
            },
        ) => Some(typed(tenant, target_type, "reused id".into())),
        (
            "guard_skip_silent",
            RecordRef::Reaction {
                tenant,
                target_type,
                ..
            },
        )
        | (
            "guard_skip_silent",
            RecordRef::Dispatch {
                tenant,
                entity_type: target_type,
                ..
            },
        ) => Some(typed(
            tenant,
            target_type,
            "acted although its guard failed".into(),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Depth, SimTime};

    #[test]
    fn a_duplicate_delivery_is_observed_with_its_handler() {
        let r = RecordRef::Deliver {
            at: SimTime::ZERO,
            cause: 0,
            event: crate::core::EventId(3),
            sub: crate::core::SubId(0),
            handler: "link_down",
        };
        let o = observe_record("delivery", &r).unwrap();
        assert_eq!(o.observed, "duplicate delivery to link_down");
        assert_eq!(o.entity(), "");
        let d = RecordRef::DepthLimit {
            at: SimTime::ZERO,
            cause: 0,
            tenant: "t",
            rule: "r",
            depth: Depth(8),
        };
        assert_eq!(
            observe_record("cascade_truncated", &d).unwrap().entity(),
            "t"
        );
        assert_eq!(observe_record("delivery", &d), None);
    }
}

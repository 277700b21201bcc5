//! `depth_bound`: the engine never dispatches at or past `max_depth`.
//!
//! Verifies, on every `Dispatch` record, that a dispatch caused by a rule or a reflex is at
//! causal depth <= `max_depth` (its reaction depth is < `max_depth`), and that every
//! `Reaction` record's depth is < `max_depth`. It does not judge whether a cascade *should*
//! have been cut: that is `cascade_truncated`.

use crate::check::Invariant;
use crate::core::{OriginRef, Record, RecordKind, RecordRef};

#[derive(Clone)]
pub struct DepthBound {
    pub depth_max: u32,
}

impl Invariant for DepthBound {
    fn name(&self) -> &'static str {
        "depth_bound"
    }

    fn watches(&self, kind: RecordKind) -> bool {
        matches!(kind, RecordKind::Dispatch | RecordKind::Reaction)
    }

    fn on_record(&mut self, record: &Record) -> Option<String> {
        self.on_record_ref(&record.view())
    }

    /// Called for every dispatch and reaction result: in line, and quick when the depth is
    /// within the bound (the message is built out of line).
    #[inline]
    fn on_record_ref(&mut self, record: &RecordRef<'_>) -> Option<String> {
        match record {
            RecordRef::Dispatch { depth, origin, entity_type, id, action, .. }
                if !matches!(origin, OriginRef::Root { .. }) && depth.0 > self.depth_max =>
            {
                Some(format!(
                    "{entity_type}/{id}.{action} dispatched at depth {depth} (reaction depth {}), past max_depth {}",
                    depth.0 - 1,
                    self.depth_max
                ))
            }
            RecordRef::Reaction { rule, depth, .. } if depth.0 >= self.depth_max => Some(format!(
                "rule {rule} fired at depth {depth}, at or past max_depth {}",
                self.depth_max
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Origin;
    use crate::core::SimTime;
    use crate::core::{Depth, EntityId, TenantId};

    fn dispatch(depth: u32) -> Record {
        Record::Dispatch {
            at: SimTime(0),
            cause: 0,
            tenant: TenantId::new("t"),
            source_tenant: TenantId::new("t"),
            entity_type: "A".into(),
            id: EntityId::new("1"),
            action: "Go".into(),
            depth: Depth(depth),
            origin: Origin::Rule {
                rule: "r".into(),
                copy: false,
            },
        }
    }

    #[test]
    fn dispatch_at_the_bound_holds_past_it_breaks() {
        let mut c = DepthBound { depth_max: 8 };
        assert_eq!(c.on_record(&dispatch(8)), None);
        let msg = c.on_record(&dispatch(9)).expect("violation");
        assert!(msg.contains("past max_depth 8"), "{msg}");
    }
}

//! `guard_skip_silent`: a rule whose guard failed records no reaction result and dispatches
//! nothing.
//!
//! The engine records a `guard_skip` and moves on to the next rule. If it went on with the
//! skipped rule instead, the very next record would be that rule's reaction result (a
//! resolver failure) or its dispatch (inline). So the checker judges the record right after
//! each skip, within the same scheduler step. It does not look further: with faults on, a
//! dispatch by the same rule from an *earlier* commit may legitimately arrive next, as its
//! own message (its own step).

use crate::check::Invariant;
use crate::core::{OriginRef, Record, RecordRef};

#[derive(Default, Clone)]
pub struct GuardSkipSilent {
    /// The depth of a skip that the next record is judged against; its rule is in `rule`.
    skipped: Option<u32>,
    /// The skipped rule's name (a buffer reused from skip to skip).
    rule: String,
}

impl Invariant for GuardSkipSilent {
    fn name(&self) -> &'static str {
        "guard_skip_silent"
    }

    /// A new scheduler step is a new message: whatever it dispatches was decided elsewhere.
    fn on_step(&mut self) {
        self.skipped = None;
    }

    fn on_record(&mut self, record: &Record) -> Option<String> {
        self.on_record_ref(&record.view())
    }

    /// Every record comes here, and almost every one is neither a skip nor right after one:
    /// that case is a test and a return, in line; the rest is [`GuardSkipSilent::judge`].
    #[inline]
    fn on_record_ref(&mut self, record: &RecordRef<'_>) -> Option<String> {
        if self.skipped.is_none() && !matches!(record, RecordRef::GuardSkip { .. }) {
            return None;
        }
        self.judge(record)
    }
}

impl GuardSkipSilent {
    #[inline(never)]
    fn judge(&mut self, record: &RecordRef<'_>) -> Option<String> {
        let skipped = self.skipped.take();
        let skipped_rule = self.rule.as_str();
        match record {
            RecordRef::GuardSkip { rule, depth, .. } => {
                self.rule.clear();
                self.rule.push_str(rule);
                self.skipped = Some(depth.0);
                None
            }
            RecordRef::Reaction { rule, depth, .. } if skipped.is_some_and(|d| skipped_rule == *rule && d == depth.0) => {
                Some(format!("rule {rule} recorded a reaction result at depth {depth} although its guard failed"))
            }
            RecordRef::Dispatch { origin: OriginRef::Rule { rule, .. }, depth, .. }
                if skipped.is_some_and(|d| skipped_rule == *rule && d + 1 == depth.0) =>
            {
                Some(format!("rule {rule} dispatched at depth {depth} although its guard failed"))
            }
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

    fn skip() -> Record {
        Record::GuardSkip {
            at: SimTime(0),
            cause: 0,
            tenant: TenantId::new("t"),
            rule: "r".into(),
            depth: Depth(0),
        }
    }

    fn reaction(rule: &str) -> Record {
        Record::Reaction {
            at: SimTime(0),
            cause: 0,
            tenant: TenantId::new("t"),
            rule: rule.into(),
            depth: Depth(0),
            success: true,
            target_type: "X".into(),
            target_id: None,
            target_status: None,
            error: None,
        }
    }

    fn dispatch(rule: &str) -> Record {
        Record::Dispatch {
            at: SimTime(5),
            cause: 0,
            tenant: TenantId::new("t"),
            source_tenant: TenantId::new("t"),
            entity_type: "X".into(),
            id: EntityId::new("1"),
            action: "Go".into(),
            depth: Depth(1),
            origin: Origin::Rule {
                rule: rule.into(),
                copy: false,
            },
        }
    }

    #[test]
    fn a_result_or_dispatch_right_after_a_skip_is_a_violation() {
        let mut c = GuardSkipSilent::default();
        c.on_record(&skip());
        assert!(c
            .on_record(&reaction("r"))
            .unwrap()
            .contains("guard failed"));
        c.on_record(&skip());
        assert!(c.on_record(&dispatch("r")).unwrap().contains("dispatched"));
        c.on_record(&skip());
        assert_eq!(c.on_record(&reaction("other")), None);
    }

    #[test]
    fn a_later_message_of_the_same_rule_is_not_a_violation() {
        let mut c = GuardSkipSilent::default();
        c.on_record(&skip());
        c.on_step();
        assert_eq!(
            c.on_record(&dispatch("r")),
            None,
            "a deferred message is its own step"
        );
    }
}

//! `guard_skip_silent`: a rule whose guard failed records no reaction result and dispatches
//! nothing.
//!
//! After a `guard_skip` for rule R at depth d, a `reaction` result for R at depth d, or a
//! dispatch by R at depth d + 1, before the next commit or input is a violation. It sees
//! only what directly follows the skip; a skipped rule that fires from a later commit is a
//! new evaluation and is fine.

use crate::check::Invariant;
use crate::trace::{Origin, Record};

#[derive(Default)]
pub struct GuardSkipSilent {
    skipped: Vec<(String, u32)>,
}

impl Invariant for GuardSkipSilent {
    fn name(&self) -> &'static str {
        "guard_skip_silent"
    }

    fn on_record(&mut self, record: &Record) -> Option<String> {
        match record {
            Record::GuardSkip { rule, depth, .. } => {
                self.skipped.push((rule.clone(), depth.0));
                None
            }
            Record::Reaction { rule, depth, .. } if self.skipped.iter().any(|(r, d)| r == rule && *d == depth.0) => {
                Some(format!("rule {rule} recorded a reaction result at depth {depth} although its guard failed"))
            }
            Record::Dispatch { origin: Origin::Rule { rule, .. }, depth, .. }
                if self.skipped.iter().any(|(r, d)| r == rule && d + 1 == depth.0) =>
            {
                Some(format!("rule {rule} dispatched at depth {depth} although its guard failed"))
            }
            Record::Transition { .. } | Record::Input { .. } | Record::Deliver { .. } => {
                self.skipped.clear();
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Depth, TenantId};
    use crate::sim::SimTime;

    #[test]
    fn a_result_after_a_skip_is_a_violation() {
        let mut c = GuardSkipSilent::default();
        c.on_record(&Record::GuardSkip {
            at: SimTime(0),
            tenant: TenantId::new("t"),
            rule: "r".into(),
            depth: Depth(0),
        });
        let reaction = Record::Reaction {
            at: SimTime(0),
            tenant: TenantId::new("t"),
            rule: "r".into(),
            depth: Depth(0),
            success: true,
            target_type: "X".into(),
            target_id: None,
            target_status: None,
            error: None,
        };
        assert!(c.on_record(&reaction).unwrap().contains("guard failed"));
        let mut other = reaction.clone();
        if let Record::Reaction { rule, .. } = &mut other {
            *rule = "other".into();
        }
        assert_eq!(c.on_record(&other), None);
    }
}

//! `quiescence`: after the last input the system goes quiet within the budget.
//!
//! At the end of a run, the queue must be empty: a run stopped by its virtual-time budget
//! (`until`) or its step budget with messages still pending did not settle (a livelock, a
//! timer loop, or a budget too small for the scenario). It does not say which message kept
//! the system busy; the trace does.

use crate::check::{Invariant, RunEnd};
use crate::core::{RecordKind, RecordRef};

#[derive(Clone)]
pub struct Quiescence;

impl Invariant for Quiescence {
    fn name(&self) -> &'static str {
        "quiescence"
    }

    fn watches(&self, _kind: RecordKind) -> bool {
        false
    }

    fn on_record_ref(&mut self, _record: &RecordRef<'_>) -> Option<String> {
        None
    }

    fn at_end(&mut self, end: &RunEnd) -> Vec<String> {
        if end.quiescent {
            return Vec::new();
        }
        let next = end
            .next_due
            .map(|t| format!(", the next due at {t}"))
            .unwrap_or_default();
        vec![format!(
            "the run did not go quiet: stopped at {} with {} messages pending{next}; raise `until`/`steps_max` if the scenario needs longer",
            end.now, end.pending
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::SimTime;
    use crate::engine::Store;

    #[test]
    fn pending_messages_at_the_end_are_a_violation() {
        let store = Store::default();
        let quiet = RunEnd {
            store: &store,
            quiescent: true,
            pending: 0,
            now: SimTime(5),
            next_due: None,
        };
        assert!(Quiescence.at_end(&quiet).is_empty());
        let busy = RunEnd {
            store: &store,
            quiescent: false,
            pending: 3,
            now: SimTime(5),
            next_due: Some(SimTime(9)),
        };
        let v = Quiescence.at_end(&busy);
        assert!(v[0].contains("3 messages pending"), "{v:?}");
    }
}

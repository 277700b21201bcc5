//! `determinism`: a second run of the seed gives the same trace.
//!
//! Compares two runs' hashes and, when they differ, finds the first differing step so the
//! report can say where the runs parted, and names the reflex handler when that step is one
//! of its deliveries, outcomes or actions (a handler that runs as a child process and reads a
//! clock is the usual suspect). It cannot say *why* (a `HashMap` iteration, a wall clock
//! read, a thread); the first differing record is where to start looking. It sees only what
//! the trace records: of an outcome, its kind, severity and target, not its payload or
//! rationale.

use crate::check::Violation;
use crate::core::{Origin, Record};
use crate::trace::TraceHash;

/// A `determinism` violation when the two traces differ.
pub fn compare_runs(
    seed: u64,
    first: (&TraceHash, &[Record]),
    second: (&TraceHash, &[Record]),
) -> Option<Violation> {
    if first.0 == second.0 {
        return None;
    }
    let step = first
        .1
        .iter()
        .zip(second.1)
        .position(|(a, b)| a != b)
        .unwrap_or(first.1.len().min(second.1.len())) as u64;
    let handler = handler_at(first.1, step).or_else(|| handler_at(second.1, step));
    let at_handler = handler
        .map(|h| format!(", where reflex handler `{h}` answered"))
        .unwrap_or_default();
    Some(Violation {
        invariant: "determinism".into(),
        message: format!(
            "a second run of seed {seed} gave trace {} instead of {} (first difference at step {step}{at_handler})",
            second.0, first.0
        ),
        step,
    })
}

/// The reflex handler a record at `step` belongs to: its delivery, its outcome, or an action
/// it dispatched.
pub fn handler_at(records: &[Record], step: u64) -> Option<&str> {
    match records.get(usize::try_from(step).ok()?)? {
        Record::Deliver { handler, .. } | Record::Outcome { handler, .. } => Some(handler),
        Record::Dispatch {
            origin: Origin::Reflex { handler, .. },
            ..
        } => Some(handler),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::SimTime;

    #[test]
    fn different_traces_name_the_first_differing_step() {
        let a = vec![
            Record::Input {
                at: SimTime(0),
                event: 0,
            },
            Record::Input {
                at: SimTime(1),
                event: 1,
            },
        ];
        let mut b = a.clone();
        b[1] = Record::Input {
            at: SimTime(1),
            event: 2,
        };
        assert!(compare_runs(1, (&TraceHash(1), &a), (&TraceHash(1), &a)).is_none());
        let v = compare_runs(1, (&TraceHash(1), &a), (&TraceHash(2), &b)).unwrap();
        assert_eq!(v.step, 1);
        assert_eq!(v.invariant, "determinism");
        assert!(!v.message.contains("handler"), "{}", v.message);
    }

    #[test]
    fn a_difference_in_an_outcome_names_its_handler() {
        use crate::core::{EventId, OutcomeKind, Severity};
        let outcome = |target: &str| Record::Outcome {
            at: SimTime(0),
            cause: 0,
            event: EventId(0),
            handler: "flap".into(),
            id: "0".into(),
            outcome: OutcomeKind::Logged,
            severity: Severity::High,
            target: Some(target.into()),
        };
        let a = vec![outcome("r1")];
        let b = vec![outcome("r2")];
        let v = compare_runs(3, (&TraceHash(1), &a), (&TraceHash(2), &b)).unwrap();
        assert!(
            v.message
                .ends_with("(first difference at step 0, where reflex handler `flap` answered)"),
            "{}",
            v.message
        );
    }
}

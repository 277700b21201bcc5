//! `determinism`: a second run of the seed gives the same trace.
//!
//! Compares two runs' hashes and, when they differ, finds the first differing step so the
//! report can say where the runs parted. It cannot say *why* (a `HashMap` iteration, a wall
//! clock read, a thread); the first differing record is where to start looking.

use crate::check::Violation;
use crate::core::Record;
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
    Some(Violation {
        invariant: "determinism".into(),
        message: format!(
            "a second run of seed {seed} gave trace {} instead of {} (first difference at step {step})",
            second.0, first.0
        ),
        step,
    })
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
    }
}

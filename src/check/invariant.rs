//! The invariant interface and the violations it reports.

use crate::check::Observation;
use crate::core::SimTime;
use crate::core::{Record, RecordKind, RecordRef};
use crate::engine::Store;
use serde::Serialize;

/// A broken invariant: which one, what happened, and at which trace step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub invariant: String,
    pub message: String,
    pub step: u64,
}

/// A named property watched during a run. Record checks see every trace record as it is
/// written; end checks see the final store at quiescence.
pub trait Invariant: Send {
    fn name(&self) -> &'static str;
    /// Called when a scheduler step begins (a message is taken off the queue).
    fn on_step(&mut self) {}
    /// Called for every record; returns a message when the record breaks the property.
    fn on_record(&mut self, _record: &Record) -> Option<String> {
        None
    }
    /// [`Invariant::on_record`] on a borrowed record: what a run calls. The default makes the
    /// owned record and calls `on_record`; the built-in invariants implement this one (their
    /// `on_record` forwards to it), so that a run checks its records without copying them.
    fn on_record_ref(&mut self, record: &RecordRef<'_>) -> Option<String> {
        self.on_record(&record.to_record())
    }
    /// Whether records of this kind can matter to the invariant: a run calls `on_record_ref`
    /// only for the kinds it watches. It is asked for every record, so it should be a plain
    /// function of the kind and of what the invariant was built with, the same for the whole
    /// run (the built-ins' are, and inline to a test or two). Default: every kind.
    fn watches(&self, _kind: RecordKind) -> bool {
        true
    }
    /// Called once at the end of the run.
    fn at_end(&mut self, _end: &RunEnd) -> Vec<String> {
        Vec::new()
    }
    /// [`Invariant::at_end`] with what each violation was about, for its failure signature.
    /// The default knows nothing more than the messages.
    fn at_end_observed(&mut self, end: &RunEnd) -> Vec<(String, Option<Observation>)> {
        self.at_end(end).into_iter().map(|m| (m, None)).collect()
    }
}

/// What the world looks like when a run ends.
pub struct RunEnd<'a> {
    pub store: &'a Store,
    /// The queue ran empty (no budget stopped the run).
    pub quiescent: bool,
    pub pending: usize,
    pub now: SimTime,
    pub next_due: Option<SimTime>,
}

//! Making a failing run concrete: generators become explicit events, concurrent inputs get
//! the order the run gave them, and the faults the seed drew become an explicit schedule
//! keyed by message identity. After this, removing one event does not reshuffle every other
//! decision: the schedule names "the 1st AuthorizePayment reaction to Payment/o1", not
//! "the 17th draw".

use crate::core::Record;
use crate::core::Seed;
use crate::scenario::ScheduledFault;
use crate::scenario::{expand_generators, RootEvent, Scenario};
use crate::sim::RunOutcome;

/// The faults that fired in a run, as a schedule.
pub fn schedule_from_trace(records: &[Record]) -> Vec<ScheduledFault> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Fault {
                fault,
                on,
                nth,
                delay_ms,
                ..
            } => Some(ScheduledFault {
                kind: *fault,
                on: on.clone(),
                nth: *nth,
                delay_ms: *delay_ms,
            }),
            _ => None,
        })
        .collect()
}

/// The concrete form of `scenario` as `outcome` (a run of `seed`) played it.
pub fn make_concrete(scenario: &Scenario, seed: Seed, outcome: &RunOutcome) -> Scenario {
    let mut all: Vec<RootEvent> = scenario.events.clone();
    all.extend(expand_generators(&scenario.generators, seed));
    // Events in the order the run executed them; any it never reached keep file order.
    let mut order: Vec<usize> = outcome
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Input { event, .. } => Some(*event as usize),
            _ => None,
        })
        .collect();
    let mut ran = vec![false; all.len()];
    for &i in &order {
        ran[i] = true;
    }
    order.extend((0..all.len()).filter(|i| !ran[*i]));
    let mut out = scenario.clone();
    out.events = order.into_iter().map(|i| all[i].clone()).collect();
    out.generators.clear();
    out.file_order = true;
    if outcome.faults.is_some() {
        out.faults = None;
        out.schedule = Some(schedule_from_trace(&outcome.records));
    }
    out
}

//! What a run leaves behind: how it stopped, what it kept, its violations, outcomes and
//! final entities, and its trace file.

use crate::check::{Observation, Violation};
use crate::core::{Depth, EntityId, TenantId};
use crate::core::{Record, RecordCounts};
use crate::core::{Seed, SimTime};
use crate::engine::reflex::Outcome;
use crate::engine::Fields;
use crate::trace::{trace_file_bytes, TraceHash, TraceHeader, TRACE_FILE_VERSION};
use serde::Serialize;

/// At most this many violations are kept per run (a cycle can break a property thousands
/// of times; the first ones say it all).
pub const VIOLATIONS_MAX: usize = 100;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// Nothing left to do.
    Quiescent,
    /// The next message was due after the virtual-time budget (`until`).
    TimeBudget,
    /// `steps_max` scheduler steps ran.
    StepBudget,
    /// One step dispatched `cascade_dispatches_max` actions: the cascade was cut there.
    CascadeBudget,
    /// More than `messages_max` messages were in flight.
    MessageBudget,
    /// The run held more than `memory_max` bytes.
    MemoryBudget,
}

impl Stop {
    /// Whether a budget of the run's work (not of its time) stopped it: the run reports it
    /// as a `budget` violation.
    pub fn is_work_budget(self) -> bool {
        matches!(
            self,
            Stop::CascadeBudget | Stop::MessageBudget | Stop::MemoryBudget
        )
    }
}

/// The most reaction results and reflex outcomes a run keeps for its report
/// ([`Retain::Report`], [`Retain::Records`]): the first ones; the record counts
/// ([`RunOutcome::counts`]) say how many there were.
pub const OUTPUT_ROWS_MAX: usize = 100_000;

/// Options for one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Keep the canonical trace text (for `--trace` and replay).
    pub keep_trace: bool,
    /// Draw the fault configuration from the seed, replacing the scenario's `[faults]`.
    pub swarm: bool,
}

/// What a run keeps of its trace besides the hash, once each record is encoded, hashed and
/// checked. Not an option of [`RunOptions`] (whose fields callers set by name): see
/// [`run_scenario_retaining`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retain {
    /// Every record, in [`RunOutcome::records`]: reports, replay, the determinism check, the
    /// shrinker and the model checker read them. What [`run_scenario`] does.
    #[default]
    Records,
    /// What a JSON report needs and no records: the reaction results
    /// ([`RunOutcome::reactions`]) and the reflex outcomes. A sweep's JSON lines.
    Report,
    /// The root inputs and the faults, the records a concrete scenario is made of (in
    /// [`RunOutcome::records`], without their step numbers), and the times of the
    /// violations: what the shrinker reads. Memory grows with the inputs and faults only.
    Script,
    /// Nothing that grows with the run: the hash, the counts, the violations with their
    /// failure signature, the final entities. A sweep's summary and the benchmarks: memory
    /// stays flat however long the run.
    Summary,
}

/// A reaction's result, as a report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReactionResult {
    pub rule: String,
    pub depth: Depth,
    pub success: bool,
    pub target_status: Option<String>,
    pub error: Option<String>,
}

/// A final entity, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityRow {
    pub tenant: TenantId,
    pub entity_type: String,
    pub id: EntityId,
    pub status: String,
    pub fields: Fields,
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub scenario: String,
    pub seed: Seed,
    pub swarm: bool,
    /// The faults in force, described (`None`: inline cascades, no faults).
    pub faults: Option<String>,
    pub trace_hash: TraceHash,
    /// Every record, when the run kept them ([`Retain::Records`]); empty otherwise.
    pub records: Vec<Record>,
    pub trace_text: Option<Vec<u8>>,
    /// Why the streamed trace text ([`crate::sim::Sim::stream_trace`]) could not be written.
    pub trace_error: Option<String>,
    /// What the run reached, when it counted it ([`crate::sim::Sim::count_coverage`]).
    pub coverage: Option<crate::core::Coverage>,
    /// The `sometimes` invariants that held in some checked state of the run, by name.
    pub sometimes_held: Vec<String>,
    pub violations: Vec<Violation>,
    /// For each violation, in order: the rule that acted last in its scheduler step, up to
    /// its step (`None`: none did), as the sweep's failure signature shows it. Noted during
    /// the run, so that it is there whatever the run kept.
    pub violation_rules: Vec<Option<String>>,
    /// For each violation, in order: what it was about, as far as the invariant said (the
    /// entity and the kind of observation; `None`: its name and rule say it all).
    pub violation_observations: Vec<Option<Observation>>,
    /// The virtual time of each violation.
    pub violation_times: Vec<SimTime>,
    /// Reflex outcomes (empty with [`Retain::Summary`]).
    pub outcomes: Vec<Outcome>,
    /// What the run kept.
    pub retained: Retain,
    /// The records written, by kind (whatever was kept).
    pub counts: RecordCounts,
    /// Reaction results in trace order, with [`Retain::Report`] (with
    /// [`Retain::Records`] they are among the records; with [`Retain::Summary`], gone).
    pub reactions: Vec<ReactionResult>,
    pub entities: Vec<EntityRow>,
    pub virtual_time: SimTime,
    pub scheduler_steps: u64,
    pub stop: Stop,
    pub pending: usize,
    /// Root inputs: scripted then generated.
    pub root_events: usize,
    /// The scenario's warnings (load time and lint), one line each.
    pub warnings: Vec<String>,
}

impl RunOutcome {
    /// Why the run ended, in words: `quiescent`, or which budget ran out and what was left.
    pub fn stop_text(&self) -> String {
        let pending = self.pending;
        match self.stop {
            Stop::Quiescent => "quiescent".to_string(),
            Stop::TimeBudget => {
                format!("virtual-time budget reached, {pending} messages pending")
            }
            Stop::StepBudget => format!("step budget reached, {pending} messages pending"),
            Stop::CascadeBudget => format!(
                "budget: one step dispatched cascade_dispatches_max actions, {pending} messages pending"
            ),
            Stop::MessageBudget => {
                format!("budget: messages_max exceeded, {pending} messages pending")
            }
            Stop::MemoryBudget => {
                format!("budget: memory_max exceeded, {pending} messages pending")
            }
        }
    }

    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The run's trace file (`ripple run --trace FILE`), naming `scenario_path`; `None` when
    /// the run did not keep its trace text.
    pub fn trace_file(&self, scenario_path: &str) -> Option<Vec<u8>> {
        let text = self.trace_text.as_ref()?;
        Some(trace_file_bytes(&self.trace_header(scenario_path), text))
    }

    /// The header of the run's trace file, naming `scenario_path`: what goes before the
    /// records, whether they were kept or streamed.
    pub fn trace_header(&self, scenario_path: &str) -> TraceHeader {
        TraceHeader {
            ripple_trace: TRACE_FILE_VERSION,
            scenario: scenario_path.to_string(),
            scenario_name: self.scenario.clone(),
            seed: self.seed.0,
            swarm: self.swarm,
            trace_hash: self.trace_hash.to_string(),
            steps: self.steps(),
        }
    }

    /// Whether [`RunOutcome::records`] holds every record of the run (with
    /// [`Retain::Records`] and no cap, [`crate::sim::Sim::keep_records_max`]).
    pub fn records_complete(&self) -> bool {
        self.retained == Retain::Records && self.records.len() as u64 == self.steps()
    }

    /// Trace records, one per step (counted whether or not they were kept).
    pub fn steps(&self) -> u64 {
        self.counts.total()
    }
}

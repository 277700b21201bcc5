//! The JSON report of one run (DESIGN section 4), with a `version`.

use crate::check::Violation;
use crate::core::Record;
use crate::engine::reflex::Outcome;
use crate::sim::{failure_signature, EntityRow, Retain, RunOutcome, Stop, ViolationSignature};
use serde::Serialize;

/// Bumped when a field changes meaning or is removed (adding fields does not bump it).
pub const JSON_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
pub struct RunReport<'a> {
    pub version: u32,
    pub scenario: &'a str,
    pub seed: u64,
    pub verdict: &'static str,
    pub trace_hash: String,
    pub steps: u64,
    pub virtual_time_ms: u64,
    pub stop: Stop,
    pub violations: &'a [Violation],
    /// The first reaction results (at most [`crate::sim::OUTPUT_ROWS_MAX`]).
    pub reactions: Vec<ReactionRow<'a>>,
    /// How many reactions the run made (`reactions` lists all of them when it is as long).
    pub reactions_total: u64,
    /// The first reflex outcomes (at most [`crate::sim::OUTPUT_ROWS_MAX`]).
    pub outcomes: &'a [Outcome],
    /// How many reflex outcomes the run recorded.
    pub outcomes_total: u64,
    pub entities: &'a [EntityRow],
    pub reproduce: String,
    /// The fault configuration in force, human-readable (`null`: no faults).
    pub faults: Option<String>,
    /// The failure signature (`null`: the run passed): what sweeps group by and what a
    /// shrunk scenario must fail with.
    pub signature: Option<SignatureRow>,
    /// The scenario's warnings (load time and lint), one line each.
    pub warnings: &'a [String],
}

/// A failure signature: its text and its parts.
#[derive(Debug, Serialize)]
pub struct SignatureRow {
    pub text: String,
    pub violations: Vec<ViolationSignature>,
}

#[derive(Debug, Serialize)]
pub struct ReactionRow<'a> {
    pub rule: &'a str,
    pub depth: u32,
    pub success: bool,
    pub target_status: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// The command that reproduces a run.
pub fn reproduce_command(scenario_path: &str, seed: u64, swarm: bool) -> String {
    let swarm = if swarm { " --swarm" } else { "" };
    format!("ripple run {scenario_path} --seed {seed}{swarm}")
}

pub fn verdict(outcome: &RunOutcome) -> &'static str {
    if outcome.passed() {
        "pass"
    } else {
        "fail"
    }
}

pub fn reactions(records: &[Record]) -> Vec<ReactionRow<'_>> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::Reaction {
                rule,
                depth,
                success,
                target_status,
                error,
                ..
            } => Some(ReactionRow {
                rule,
                depth: depth.0,
                success: *success,
                target_status: target_status.as_deref(),
                error: error.as_deref(),
            }),
            _ => None,
        })
        .collect()
}

/// The reaction results of a run, from its records or, when it kept none, from what it kept
/// of them ([`Retain::Report`]).
pub fn reaction_rows(outcome: &RunOutcome) -> Vec<ReactionRow<'_>> {
    match outcome.retained {
        Retain::Records => reactions(&outcome.records),
        Retain::Report | Retain::Script | Retain::Summary => outcome
            .reactions
            .iter()
            .map(|r| ReactionRow {
                rule: &r.rule,
                depth: r.depth.0,
                success: r.success,
                target_status: r.target_status.as_deref(),
                error: r.error.as_deref(),
            })
            .collect(),
    }
}

pub fn run_report<'a>(outcome: &'a RunOutcome, scenario_path: &str) -> RunReport<'a> {
    RunReport {
        version: JSON_VERSION,
        scenario: &outcome.scenario,
        seed: outcome.seed.0,
        verdict: verdict(outcome),
        trace_hash: outcome.trace_hash.to_string(),
        steps: outcome.steps(),
        virtual_time_ms: outcome.virtual_time.ms(),
        stop: outcome.stop,
        violations: &outcome.violations,
        reactions: reaction_rows(outcome),
        reactions_total: outcome.counts.get(crate::core::RecordKind::Reaction),
        outcomes: &outcome.outcomes,
        outcomes_total: outcome.counts.get(crate::core::RecordKind::Outcome),
        entities: &outcome.entities,
        reproduce: reproduce_command(scenario_path, outcome.seed.0, outcome.swarm),
        faults: outcome.faults.clone(),
        signature: failure_signature(outcome).map(|s| SignatureRow {
            text: s.to_string(),
            violations: s.violations,
        }),
        warnings: &outcome.warnings,
    }
}

/// One JSON object on one line.
pub fn render_json(outcome: &RunOutcome, scenario_path: &str) -> String {
    serde_json::to_string(&run_report(outcome, scenario_path)).expect("reports serialize")
}

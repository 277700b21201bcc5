//! What `ripple check` reports: per model, how much of its space was explored and what it
//! found.

use serde::Serialize;
use std::path::PathBuf;

/// The kinds of findings. `Violation` and `OrderDependent` fail the check; the others are
/// warnings (failures under `--deny warnings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A property broke: the engine disagreed with the reference, an invariant failed, ...
    Violation,
    /// A rule whose guard can never pass (or whose trigger never happens).
    DeadRule,
    /// A guard that can never fail.
    AlwaysFires,
    /// Two rules of one trigger that can both act on one target with different actions.
    Conflict,
    /// Two schedules of the same inputs end in different worlds.
    OrderDependent,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Violation => "violation",
            FindingKind::DeadRule => "dead_rule",
            FindingKind::AlwaysFires => "always_fires",
            FindingKind::Conflict => "conflict",
            FindingKind::OrderDependent => "order_dependent",
        }
    }

    pub fn is_warning(self) -> bool {
        matches!(
            self,
            FindingKind::DeadRule | FindingKind::AlwaysFires | FindingKind::Conflict
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// The rule it is about, if one.
    pub rule: Option<String>,
    /// The property that broke (`engine_matches_reference`, `depth_bound`, ...), if one.
    pub property: Option<String>,
    pub message: String,
    /// The steps (or the input point) that show it.
    pub path: Vec<String>,
    /// The scenario that replays it under `ripple run`, when one was written.
    pub scenario: Option<PathBuf>,
    /// Whether `ripple run` of that scenario (seed 0) failed, as the finding says it must.
    pub replays: Option<bool>,
}

impl Finding {
    pub fn new(kind: FindingKind, rule: Option<&str>, message: impl Into<String>) -> Finding {
        Finding {
            kind,
            rule: rule.map(String::from),
            property: None,
            message: message.into(),
            path: Vec::new(),
            scenario: None,
            replays: None,
        }
    }
}

/// One model's exploration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelReport {
    /// `guard:<rule>`, `pair:<a>+<b>`, `resolver:<rule>`, `cascade`.
    pub name: String,
    /// States generated, repeats included.
    pub states: usize,
    pub unique_states: usize,
    /// The deepest path explored.
    pub depth: usize,
    pub seconds: f64,
    pub states_per_second: f64,
    pub unique_states_per_second: f64,
    /// `true`: every reachable state was explored (or every property was decided).
    pub complete: bool,
    /// Which budget ran out, if one did.
    pub budget_exhausted: Option<String>,
    /// States left in the budget.
    pub states_left: usize,
    pub findings: Vec<Finding>,
    /// What was proved or skipped, in words.
    pub notes: Vec<String>,
}

/// Everything `ripple check` found in one scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub scenario: String,
    pub models: Vec<ModelReport>,
}

impl CheckReport {
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.models.iter().flat_map(|m| m.findings.iter())
    }

    /// Failed: a violation or order dependence, or (with `deny_warnings`) any finding.
    pub fn failed(&self, deny_warnings: bool) -> bool {
        self.findings()
            .any(|f| !f.kind.is_warning() || deny_warnings)
    }

    /// Whether every model explored its whole space (or decided every property). A check
    /// that is not complete never says `pass`.
    pub fn complete(&self) -> bool {
        self.models.iter().all(|m| m.complete)
    }

    /// The models that did not explore everything, with why, in words.
    pub fn incomplete(&self) -> Vec<String> {
        self.models
            .iter()
            .filter(|m| !m.complete)
            .map(|m| match &m.budget_exhausted {
                Some(budget) => format!(
                    "{}: {budget} ran out after {} states (depth {})",
                    m.name, m.states, m.depth
                ),
                None => {
                    match m.notes.iter().find(|n| {
                        n.starts_with("not model-checked") || n.starts_with("not explored")
                    }) {
                        Some(why) => format!("{}: {why}", m.name),
                        None => format!("{}: not explored to the end", m.name),
                    }
                }
            })
            .collect()
    }

    pub fn count(&self, kind: FindingKind) -> usize {
        self.findings().filter(|f| f.kind == kind).count()
    }
}

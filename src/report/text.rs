//! The human report of one run: the cascade as a tree, reflex outcomes, final entities,
//! violations, and the command that reproduces the run.

use crate::core::escape_controls;
use crate::core::{Origin, OutcomeKind, Record, RecordKind, SimTime};
use crate::report::causes::CauseTree;
use crate::report::reproduce_command;
use crate::sim::RunOutcome;
use std::fmt::Write;

/// At most this many cascade lines are printed; the JSON and the trace have everything.
pub const CASCADE_LINES_MAX: usize = 200;

pub fn render_text(outcome: &RunOutcome, scenario_path: &str) -> String {
    let mut out = String::new();
    let verdict = if outcome.passed() { "PASS" } else { "FAIL" };
    let stop = outcome.stop_text();
    let _ = writeln!(
        out,
        "{verdict} {} (seed {})",
        outcome.scenario, outcome.seed
    );
    let _ = writeln!(
        out,
        "  {} steps, {} virtual, {stop}, trace {}",
        outcome.steps(),
        outcome.virtual_time,
        outcome.trace_hash
    );

    if let Some(f) = &outcome.faults {
        let _ = writeln!(
            out,
            "  faults{}: {f}",
            if outcome.swarm {
                " (swarm, drawn from the seed)"
            } else {
                ""
            }
        );
    }
    out.push_str("\ncascade\n");
    let (lines, total, reactions, skips) = cascade_lines(outcome);
    for l in &lines {
        out.push_str(l);
    }
    // A run that kept only its first records (its trace went to a file) counts from the
    // record counts, which cover the whole run.
    let complete = outcome.records_complete();
    let (reactions, skips) = if complete {
        (reactions, skips)
    } else {
        (
            outcome.counts.get(RecordKind::Reaction) as usize,
            outcome.counts.get(RecordKind::GuardSkip) as usize,
        )
    };
    if !complete && (total > CASCADE_LINES_MAX || !outcome.records.is_empty()) {
        let _ = writeln!(
            out,
            "  ... (the first {} of {} records shown; the trace file has them all)",
            outcome.records.len(),
            outcome.steps()
        );
    } else if total > lines.len() {
        let _ = writeln!(
            out,
            "  ... {} more lines (use --format json or --trace FILE)",
            total - lines.len()
        );
    }
    let _ = writeln!(
        out,
        "  {reactions} reactions, {skips} guard skips, {} reflex outcomes",
        outcome.outcomes.len()
    );

    let _ = writeln!(out, "\nentities ({})", outcome.entities.len());
    for e in outcome.entities.iter().take(CASCADE_LINES_MAX) {
        let fields = serde_json::to_string(&e.fields).unwrap_or_default();
        let _ = writeln!(
            out,
            "  {}: {}/{} {} {fields}",
            e.tenant, e.entity_type, e.id, e.status
        );
    }

    if outcome.violations.is_empty() {
        out.push_str("\nno violations\n");
    } else {
        let _ = writeln!(out, "\nviolations ({})", outcome.violations.len());
        for v in &outcome.violations {
            let _ = writeln!(out, "  {} at step {}: {}", v.invariant, v.step, v.message);
        }
    }
    let _ = writeln!(
        out,
        "\nreproduce: {}",
        reproduce_command(scenario_path, outcome.seed.0, outcome.swarm)
    );
    // Names, ids and payloads come from the scenario and the system under test.
    match escape_controls(&out) {
        std::borrow::Cow::Borrowed(_) => out,
        std::borrow::Cow::Owned(escaped) => escaped,
    }
}

/// The cascade as a tree of causes (see `report/causes.rs`): under each root input what it
/// caused, each dispatch under the commit whose rule fired it or the reflex outcome that asked
/// for it, however late its message was delivered. A line delivered at another instant than
/// its parent says when (`@115ms`); the line where an invariant first failed is marked.
/// Returns the first [`CASCADE_LINES_MAX`] lines (only those are formatted), how many lines
/// there are in all, and the reactions and guard skips counted.
fn cascade_lines(outcome: &RunOutcome) -> (Vec<String>, usize, usize, usize) {
    let records = &outcome.records;
    let tree = CauseTree::new(records);
    let first_failure = outcome
        .violations
        .iter()
        .filter(|v| (v.step as usize) < records.len())
        .min_by_key(|v| v.step)
        .and_then(|v| Some((tree.node_of(v.step as usize)?, v)));
    let reactions = records
        .iter()
        .filter(|r| matches!(r, Record::Reaction { .. }))
        .count();
    let skips = records
        .iter()
        .filter(|r| matches!(r, Record::GuardSkip { .. }))
        .count();
    let mut lines = Vec::new();
    let mut total = 0usize;
    // The instants of the node's ancestors, to say when a child happened later.
    let mut parent_at: Vec<SimTime> = Vec::new();
    for &root in &tree.roots {
        parent_at.clear();
        for (node, depth) in tree.walk(root) {
            total += 1;
            if lines.len() == CASCADE_LINES_MAX {
                continue;
            }
            let r = &records[node];
            let at = r.at();
            parent_at.truncate(depth);
            let when = match parent_at.last() {
                Some(p) if *p != at => format!("@{at} "),
                _ => String::new(),
            };
            parent_at.push(at);
            let Some(mut text) = node_text(records, &tree, node) else {
                total -= 1;
                continue;
            };
            // An errored reflex says why (its rationale, from the run's outcomes).
            if let Record::Outcome {
                id,
                outcome: OutcomeKind::Errored,
                ..
            } = r
            {
                if let Some(o) = outcome.outcomes.iter().find(|o| &o.id == id) {
                    text.push_str(&format!(": {}", o.rationale));
                }
            }
            let mark = match first_failure {
                Some((n, v)) if n == node => {
                    format!("   <== {} first fails here (step {})", v.invariant, v.step)
                }
                _ => String::new(),
            };
            lines.push(line(depth, format!("{when}{text}{mark}")));
        }
    }
    (lines, total, reactions, skips)
}

/// What a node of the cause tree says (`None`: nothing to draw).
fn node_text(records: &[Record], tree: &CauseTree, node: usize) -> Option<String> {
    Some(match &records[node] {
        Record::Input { at, event } => format!("@{at} event #{event}"),
        Record::Dispatch {
            depth,
            entity_type,
            id,
            action,
            origin,
            tenant,
            ..
        } => {
            let by = match origin {
                Origin::Root { .. } => String::new(),
                Origin::Reflex { handler, .. } => format!("  <- reflex {handler}"),
                Origin::Rule { rule, copy } => format!(
                    "  <- rule {rule}{} [depth {}]",
                    if *copy { " (duplicate)" } else { "" },
                    depth.0.saturating_sub(1)
                ),
            };
            let result = match tree.result(node).map(|s| &records[s]) {
                Some(Record::Transition {
                    from, to, created, ..
                }) => {
                    let new = if *created { " (created)" } else { "" };
                    format!("{from} -> {to}{new}")
                }
                Some(Record::ActionFailed { error, .. }) => format!("FAILED: {error}"),
                _ => "(no result recorded)".to_string(),
            };
            format!("{tenant}: {entity_type}/{id}.{action}: {result}{by}")
        }
        Record::Reaction {
            rule, depth, error, ..
        } => {
            let error = error.as_deref().unwrap_or("");
            format!("x {rule} [depth {depth}]: {error}")
        }
        Record::GuardSkip { rule, depth, .. } => {
            format!("- {rule} [depth {depth}]: guard false, not fired")
        }
        Record::DepthLimit { rule, depth, .. } => {
            format!("! {rule}: dropped at depth {depth} (max_depth)")
        }
        Record::Outcome {
            handler,
            outcome: kind,
            severity,
            target,
            ..
        } => {
            let target = target.as_ref().map(|t| format!(" {t}")).unwrap_or_default();
            format!(
                "reflex {handler}: {} {}{target}",
                kind.as_str(),
                severity.as_str()
            )
        }
        Record::Warning { message, .. } => format!("warning: {message}"),
        Record::Fault {
            fault,
            on,
            delay_ms,
            ..
        } => {
            let delay = if *delay_ms > 0 {
                format!(" +{delay_ms}ms")
            } else {
                String::new()
            };
            format!("fault {}{delay}: {on}", fault.as_str())
        }
        Record::Publish { .. }
        | Record::Deliver { .. }
        | Record::Transition { .. }
        | Record::ActionFailed { .. } => return None,
    })
}

fn line(indent: usize, text: String) -> String {
    format!("{:width$}{text}\n", "", width = 2 * indent)
}

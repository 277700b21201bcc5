//! The human report of one run: the cascade as a tree, reflex outcomes, final entities,
//! violations, and the command that reproduces the run.

use crate::core::escape_controls;
use crate::core::{Origin, Record, RecordKind};
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
    let mut lines: Vec<String> = Vec::new();
    let mut reactions = 0usize;
    let mut skips = 0usize;
    // A dispatch line waits for its result (transition or failure), then names its cause.
    let mut pending: Option<(usize, String, String)> = None;
    // Messages delivered later than the input they came from say when they ran.
    let mut shown_at = None;
    for r in &outcome.records {
        let indent = |depth: u32, extra: usize| depth as usize + extra;
        match r {
            Record::Input { at, event } => {
                shown_at = Some(*at);
                lines.push(line(0, format!("@{at} event #{event}")));
            }
            Record::Dispatch {
                depth,
                entity_type,
                id,
                action,
                origin,
                tenant,
                at,
                ..
            } => {
                let when = if shown_at != Some(*at) {
                    shown_at = Some(*at);
                    format!("@{at} ")
                } else {
                    String::new()
                };
                let by = match origin {
                    Origin::Root { .. } => String::new(),
                    Origin::Reflex { handler, .. } => format!("  <- reflex {handler}"),
                    Origin::Rule { rule, .. } => {
                        format!("  <- rule {rule} [depth {}]", depth.0.saturating_sub(1))
                    }
                };
                pending = Some((
                    indent(depth.0, 1),
                    format!("{when}{tenant}: {entity_type}/{id}.{action}"),
                    by,
                ));
            }
            Record::Transition {
                from, to, created, ..
            } => {
                if let Some((i, head, by)) = pending.take() {
                    let new = if *created { " (created)" } else { "" };
                    lines.push(line(i, format!("{head}: {from} -> {to}{new}{by}")));
                }
            }
            Record::ActionFailed { error, .. } => {
                if let Some((i, head, by)) = pending.take() {
                    lines.push(line(i, format!("{head}: FAILED: {error}{by}")));
                }
            }
            Record::Reaction {
                rule,
                depth,
                error,
                target_id: None,
                ..
            } => {
                reactions += 1;
                let error = error.as_deref().unwrap_or("");
                lines.push(line(
                    indent(depth.0, 2),
                    format!("x {rule} [depth {depth}]: {error}"),
                ));
            }
            Record::Reaction { .. } => reactions += 1,
            Record::GuardSkip { rule, depth, .. } => {
                skips += 1;
                lines.push(line(
                    indent(depth.0, 2),
                    format!("- {rule} [depth {depth}]: guard false, not fired"),
                ));
            }
            Record::DepthLimit { rule, depth, .. } => {
                lines.push(line(
                    indent(depth.0, 2),
                    format!("! {rule}: dropped at depth {depth} (max_depth)"),
                ));
            }
            Record::Outcome {
                handler,
                outcome: kind,
                severity,
                target,
                ..
            } => {
                let target = target.as_ref().map(|t| format!(" {t}")).unwrap_or_default();
                lines.push(line(
                    1,
                    format!(
                        "reflex {handler}: {} {}{target}",
                        kind.as_str(),
                        severity.as_str()
                    ),
                ));
            }
            Record::Warning { message, .. } => lines.push(line(1, format!("warning: {message}"))),
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
                lines.push(line(1, format!("fault {}{delay}: {on}", fault.as_str())));
            }
            Record::Publish { .. } | Record::Deliver { .. } => {}
        }
    }
    for l in lines.iter().take(CASCADE_LINES_MAX) {
        out.push_str(l);
    }
    // A run that kept only its first records (its trace went to a file) counts from the
    // record counts, which cover the whole run.
    let complete = outcome.records_complete();
    if !complete {
        reactions = outcome.counts.get(RecordKind::Reaction) as usize;
        skips = outcome.counts.get(RecordKind::GuardSkip) as usize;
    }
    if !complete && (lines.len() > CASCADE_LINES_MAX || !outcome.records.is_empty()) {
        let _ = writeln!(
            out,
            "  ... (the first {} of {} records shown; the trace file has them all)",
            outcome.records.len(),
            outcome.steps()
        );
    } else if lines.len() > CASCADE_LINES_MAX {
        let _ = writeln!(
            out,
            "  ... {} more lines (use --format json or --trace FILE)",
            lines.len() - CASCADE_LINES_MAX
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

fn line(indent: usize, text: String) -> String {
    format!("{:width$}{text}\n", "", width = 2 * indent)
}

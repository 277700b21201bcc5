//! Renders a check report: readable text, or one JSON object (`version` 1).

use crate::model::finding::{CheckReport, FindingKind, ModelReport};
use serde_json::json;
use std::fmt::Write;

/// The verdict: `fail` on a violation or order dependence (or any finding under
/// `--deny warnings`); else `incomplete` when some model did not explore its whole space;
/// `pass` only when every model did and found nothing that fails.
pub fn verdict(report: &CheckReport, deny_warnings: bool) -> &'static str {
    if report.failed(deny_warnings) {
        "fail"
    } else if !report.complete() {
        "incomplete"
    } else {
        "pass"
    }
}

pub fn render_check_json(report: &CheckReport, deny_warnings: bool) -> String {
    let models: Vec<_> = report
        .models
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "states": m.states,
                "unique_states": m.unique_states,
                "depth": m.depth,
                "seconds": m.seconds,
                "states_per_second": m.states_per_second.round(),
                "unique_states_per_second": m.unique_states_per_second.round(),
                "complete": m.complete,
                "budget_exhausted": m.budget_exhausted,
                "states_left": m.states_left,
                "notes": m.notes,
                "findings": m.findings.iter().map(|f| json!({
                    "kind": f.kind,
                    "rule": f.rule,
                    "property": f.property,
                    "message": f.message,
                    "path": f.path,
                    "scenario": f.scenario.as_ref().map(|p| p.display().to_string()),
                    "replays": f.replays,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "version": 1,
        "scenario": report.scenario,
        "verdict": verdict(report, deny_warnings),
        "complete": report.complete(),
        "incomplete": report.incomplete(),
        "models": models,
    })
    .to_string()
}

/// The human report. `timings`: include seconds and rates (off for pinned snapshots).
pub fn render_check_text(report: &CheckReport, deny_warnings: bool, timings: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "ripple check: {}", report.scenario);
    for m in &report.models {
        model_text(&mut out, m, timings);
    }
    let count = |k| report.count(k);
    let _ = writeln!(
        out,
        "\n{}: {} violation(s), {} order dependence(s), {} dead rule(s), {} always-firing guard(s), {} conflict(s){}",
        verdict(report, deny_warnings),
        count(FindingKind::Violation),
        count(FindingKind::OrderDependent),
        count(FindingKind::DeadRule),
        count(FindingKind::AlwaysFires),
        count(FindingKind::Conflict),
        if deny_warnings { " (warnings denied)" } else { "" }
    );
    let incomplete = report.incomplete();
    if !incomplete.is_empty() {
        let _ = writeln!(
            out,
            "INCOMPLETE: {} of {} model(s) did not explore their whole space, so this is not a pass:",
            incomplete.len(),
            report.models.len()
        );
        for why in &incomplete {
            let _ = writeln!(out, "  - {why}");
        }
        let _ = writeln!(
            out,
            "  raise the budget that ran out (--max-states, --timeout, --memory-max), or use `ripple sweep` for what the checker cannot reach"
        );
    }
    out
}

fn model_text(out: &mut String, m: &ModelReport, timings: bool) {
    let budget = match (&m.budget_exhausted, m.complete) {
        (Some(b), _) => format!("INCOMPLETE: {b} ran out"),
        (None, true) => format!("complete, {} states of budget left", m.states_left),
        (None, false) => "INCOMPLETE: not explored".to_string(),
    };
    let rate = if timings {
        format!(
            ", {:.3}s, {:.0} states/s ({:.0} unique/s)",
            m.seconds, m.states_per_second, m.unique_states_per_second
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "\n{}: {} states, {} unique, depth {}{rate}; {budget}",
        m.name, m.states, m.unique_states, m.depth
    );
    for note in &m.notes {
        let _ = writeln!(out, "  ok: {note}");
    }
    for f in &m.findings {
        let level = if f.kind.is_warning() {
            "warning"
        } else {
            "error"
        };
        let rule = f
            .rule
            .as_ref()
            .map(|r| format!(" rule {r}"))
            .unwrap_or_default();
        let prop = f
            .property
            .as_ref()
            .map(|p| format!(" [{p}]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {level}: {}{rule}{prop}: {}",
            f.kind.as_str(),
            f.message
        );
        if !f.path.is_empty() {
            let _ = writeln!(out, "    path:");
            for step in &f.path {
                let _ = writeln!(out, "      {step}");
            }
        }
        if let Some(p) = &f.scenario {
            let replay = match f.replays {
                Some(true) => " (replayed: fails as found)",
                Some(false) => " (replayed: did NOT fail)",
                None => "",
            };
            let _ = writeln!(out, "    reproduce: ripple run {}{replay}", p.display());
        }
    }
}

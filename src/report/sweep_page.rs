//! The HTML overview of a sweep (`ripple sweep --report DIR`): pass and fail counts, the
//! failures grouped by signature, each with its first seed, a link to that seed's run
//! report, the faults that fired in it and whether the failure needs them, and histograms of
//! steps and virtual time over every seed.
//!
//! Like the run report it is byte-identical for the same sweep: the sweep's wall-clock
//! figures (seeds per second) are left out.

use crate::core::{FaultKind, Record, Seed};
use crate::report::{escape_html, page, reproduce_command, summarize_sweep, SweepInfo};
use crate::scenario::Scenario;
use crate::sim::{RunOutcome, Runner, SweepTally};
use std::collections::BTreeMap;
use std::fmt::Write;

const SWEEP_SCRIPT: &str = include_str!("assets/sweep.js");

/// Bars per histogram.
pub const HISTOGRAM_BINS: u64 = 24;
/// Seeds listed per group on the page (the JSON output lists them all).
pub const GROUP_SEEDS_LISTED_MAX: usize = 200;

/// One failure signature of a sweep, with a run of its first seed.
pub struct SweepGroup {
    pub signature: String,
    /// Seeds with this signature.
    pub count: u64,
    /// The first of them, in sweep order.
    pub seeds: Vec<u64>,
    /// The first seed's run, every record kept (for its run report).
    pub first: RunOutcome,
    /// Faults that fired in the first seed's run, by kind.
    pub faults_fired: BTreeMap<&'static str, usize>,
    /// Whether the first seed still fails with faults off (`None`: no faults were in play).
    pub fails_without_faults: Option<bool>,
    /// The file name of the first seed's run report, beside the overview.
    pub report: String,
}

/// Runs the first seed of each failure signature again (keeping its records, and once more
/// with faults off) for the overview. `stem` names the run reports: `<stem>-seed<N>.html`.
pub fn sweep_groups(
    scenario: &Scenario,
    info: &SweepInfo,
    tally: &SweepTally,
    stem: &str,
) -> Vec<SweepGroup> {
    let summary = summarize_sweep(info, tally);
    let runner = Runner::new(scenario).swarm(info.swarm);
    let mut quiet = scenario.clone();
    quiet.faults = None;
    quiet.schedule = None;
    let quiet_runner = Runner::new(&quiet);
    let faults_in_play = info.swarm || scenario.faults.is_some() || scenario.schedule.is_some();
    summary
        .failures
        .iter()
        .map(|g| {
            let seed = g.seeds[0];
            let first = runner.run(Seed(seed));
            let mut faults_fired = BTreeMap::new();
            for r in &first.records {
                if let Record::Fault { fault, .. } = r {
                    *faults_fired.entry(FaultKind::as_str(*fault)).or_insert(0) += 1;
                }
            }
            let fails_without_faults =
                faults_in_play.then(|| !quiet_runner.run(Seed(seed)).passed());
            SweepGroup {
                signature: g.signature.clone(),
                count: g.count,
                seeds: g.seeds.clone(),
                first,
                faults_fired,
                fails_without_faults,
                report: format!("{stem}-seed{seed}.html"),
            }
        })
        .collect()
}

/// A stacked bar chart of `values` (pass and fail), as inline SVG.
fn histogram(
    title: &str,
    unit: &dyn Fn(u64) -> String,
    values: &[(u64, bool)],
    id: &str,
) -> String {
    let (w, h, pad_bottom, pad_top) = (480.0_f64, 150.0_f64, 30.0_f64, 8.0_f64);
    let mut out = format!("<figure class=\"hist\" id=\"{id}\"><figcaption>{title}</figcaption>\n");
    if values.is_empty() {
        out.push_str("<p class=\"note\">no seeds</p></figure>\n");
        return out;
    }
    let min = values.iter().map(|v| v.0).min().unwrap_or(0);
    let max = values.iter().map(|v| v.0).max().unwrap_or(0);
    let width = ((max - min) / HISTOGRAM_BINS + 1).max(1);
    let bins = ((max - min) / width + 1) as usize;
    let mut counts = vec![(0u64, 0u64); bins];
    for &(v, passed) in values {
        let b = ((v - min) / width) as usize;
        if passed {
            counts[b].0 += 1;
        } else {
            counts[b].1 += 1;
        }
    }
    let top = counts.iter().map(|c| c.0 + c.1).max().unwrap_or(1).max(1) as f64;
    let bar_w = w / bins as f64;
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">"
    );
    for (b, (pass, fail)) in counts.iter().enumerate() {
        let x = b as f64 * bar_w;
        let lo = min + b as u64 * width;
        let hi = lo + width - 1;
        let scale = (h - pad_bottom - pad_top) / top;
        let (hp, hf) = (*pass as f64 * scale, *fail as f64 * scale);
        let base = h - pad_bottom;
        let range = if width == 1 {
            unit(lo)
        } else {
            format!("{}–{}", unit(lo), unit(hi))
        };
        let _ = writeln!(
            out,
            "<g><title>{}: {pass} passed, {fail} failed</title><rect class=\"bar-pass\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hp:.1}\"/><rect class=\"bar-fail\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hf:.1}\"/></g>",
            escape_html(&range),
            x + 1.0,
            base - hp,
            (bar_w - 2.0).max(1.0),
            x + 1.0,
            base - hp - hf,
            (bar_w - 2.0).max(1.0),
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"0\" y=\"{}\">{}</text><text x=\"{w}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        h - 10.0,
        escape_html(&unit(min)),
        h - 10.0,
        escape_html(&unit(max))
    );
    out.push_str("</svg></figure>\n");
    out
}

/// The sweep overview. `groups` come from [`sweep_groups`].
pub fn render_sweep_html(info: &SweepInfo, tally: &SweepTally, groups: &[SweepGroup]) -> String {
    let s = summarize_sweep(info, tally);
    let mut out = String::new();
    let (verdict, class) = if crate::report::sweep_passed(info, tally) {
        ("PASS", "pass")
    } else {
        ("FAIL", "fail")
    };
    let _ = writeln!(
        out,
        "<header>\n<h1><span class=\"verdict {class}\" id=\"verdict\">{verdict}</span> sweep {} <span class=\"seed\">seeds {}{}{}</span></h1>",
        escape_html(&info.scenario),
        escape_html(&info.seeds),
        info.shard
            .as_ref()
            .map(|x| format!(", shard {}", escape_html(x)))
            .unwrap_or_default(),
        if info.swarm { ", swarm" } else { "" }
    );
    let _ = writeln!(
        out,
        "<div class=\"counts\"><div class=\"count\" id=\"count-total\"><b>{}</b>seeds</div><div class=\"count pass\" id=\"count-passed\"><b>{}</b>passed</div><div class=\"count fail\" id=\"count-failed\"><b>{}</b>failed</div><div class=\"count\"><b>{}</b>signatures</div><div class=\"count\"><b>{}{}</b>distinct traces</div></div>",
        s.total,
        s.passed,
        s.failed,
        s.failures.len(),
        s.distinct_trace_hashes,
        if s.distinct_trace_hashes_capped { "+" } else { "" }
    );
    let _ = writeln!(
        out,
        "<p class=\"note\">Scenario <code>{}</code>, {} steps in all{}. Run it again: <code>{}</code></p>\n</header>",
        escape_html(&info.scenario_path),
        s.steps,
        info.stopped
            .as_ref()
            .map(|why| format!("; stopped early ({}) after {} seeds", escape_html(why), s.total))
            .unwrap_or_default(),
        escape_html(&info.rerun_command(s.total)),
    );

    out.push_str("<section id=\"failures\">\n<h2>Failures by signature</h2>\n");
    if groups.is_empty() {
        out.push_str("<p>No seed failed.</p>\n");
    } else {
        out.push_str("<table class=\"groups\" id=\"groups\">\n<thead><tr><th>signature</th><th>seeds</th><th>first seed</th><th>faults that fired in it</th><th>needs faults?</th><th>first violation</th></tr></thead>\n<tbody>\n");
        for (n, g) in groups.iter().enumerate() {
            let fired = if g.faults_fired.is_empty() {
                "none".to_string()
            } else {
                g.faults_fired
                    .iter()
                    .map(|(k, c)| format!("{k} &times;{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let needs = match g.fails_without_faults {
                None => "no faults in play",
                Some(true) => "no: it fails without faults too",
                Some(false) => "yes: without faults it passes",
            };
            let violation = g
                .first
                .violations
                .first()
                .map(|v| format!("{} at step {}: {}", v.invariant, v.step, v.message))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<tr class=\"group\" id=\"group-{n}\" data-group=\"{n}\"><td><code>{}</code></td><td>{}</td><td><a class=\"run-report\" href=\"{}\">seed {}</a></td><td>{fired}</td><td>{needs}</td><td>{}</td></tr>",
                escape_html(&g.signature),
                g.count,
                escape_html(&g.report),
                g.seeds[0],
                escape_html(&violation)
            );
        }
        out.push_str("</tbody>\n</table>\n<div id=\"group-detail\"><p class=\"note\">Click a group to list its seeds.</p></div>\n");
    }
    out.push_str("</section>\n");

    let sampled = if tally.samples.len() as u64 == s.total {
        String::new()
    } else {
        format!(" Of the first {} seeds.", tally.samples.len())
    };
    let _ = writeln!(out, "<section id=\"histograms\">\n<h2>Steps and virtual time per seed</h2>\n<p class=\"note\">Green: seeds that passed; red: seeds that failed. Hover a bar for its range.{sampled}</p>");
    let steps: Vec<(u64, bool)> = tally.samples.iter().map(|r| (r.0, r.2)).collect();
    let times: Vec<(u64, bool)> = tally.samples.iter().map(|r| (r.1, r.2)).collect();
    out.push_str(&histogram(
        "trace steps",
        &|v| v.to_string(),
        &steps,
        "hist-steps",
    ));
    out.push_str(&histogram(
        "virtual time",
        &crate::core::format_duration_ms,
        &times,
        "hist-time",
    ));
    out.push_str("</section>\n");
    if !s.sometimes.is_empty() {
        out.push_str("<section id=\"sometimes\">\n<h2>Sometimes</h2>\n<p class=\"note\">Each must hold in some state of at least one seed.</p>\n<ul>\n");
        for row in &s.sometimes {
            let _ = writeln!(
                out,
                "<li class=\"{}\"><code>{}</code>: <code>{}</code> held in {} of {} seeds</li>",
                if row.seeds > 0 { "pass" } else { "fail" },
                escape_html(&row.name),
                escape_html(&row.predicate),
                row.seeds,
                s.total
            );
        }
        out.push_str("</ul>\n</section>\n");
    }
    if let Some(d) = &info.declared {
        out.push_str(&crate::report::render_coverage_html(d, &tally.coverage));
    }
    out.push_str("<footer>Written by <code>ripple sweep --report</code>. The page is self-contained: it loads nothing but the run reports it links to.</footer>\n");

    let data = serde_json::json!({
        "groups": groups.iter().map(|g| serde_json::json!({
            "signature": g.signature,
            "count": g.count,
            "seeds": g.seeds.iter().take(GROUP_SEEDS_LISTED_MAX).collect::<Vec<_>>(),
            "reproduce": reproduce_command(&info.scenario_path, g.seeds[0], info.swarm),
            "report": g.report,
        })).collect::<Vec<_>>(),
        "scenario_path": info.scenario_path,
        "swarm": info.swarm,
    });
    let title = format!("sweep {} {}: {verdict}", info.scenario, info.seeds);
    page(&title, &out, Some(&data), SWEEP_SCRIPT)
}

//! Sweep reports: a text summary, a JSON summary line (after one JSON line per seed), and
//! JUnit XML that CI systems render.

use crate::report::reproduce_command;
use crate::sim::SeedResult;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// Failing seeds listed per signature in the text summary.
pub const SEEDS_LISTED_MAX: usize = 20;

/// What the sweep was and how fast it ran.
#[derive(Debug, Clone, Serialize)]
pub struct SweepInfo {
    pub scenario: String,
    pub scenario_path: String,
    pub seeds: String,
    pub shard: Option<String>,
    pub jobs: usize,
    pub swarm: bool,
    /// Wall-clock figures; `None` in tests (they are not deterministic).
    pub timing: Option<Timing>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Timing {
    pub wall_ms: u64,
    pub seeds_per_sec: f64,
    pub steps_per_sec: f64,
}

#[derive(Debug, Serialize)]
pub struct SignatureGroup {
    pub signature: String,
    pub seeds: Vec<u64>,
    pub reproduce: String,
}

#[derive(Debug, Serialize)]
pub struct SweepSummary<'a> {
    pub version: u32,
    pub summary: bool,
    #[serde(flatten)]
    pub info: &'a SweepInfo,
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub distinct_trace_hashes: usize,
    pub steps: u64,
    pub failures: Vec<SignatureGroup>,
}

pub fn summarize_sweep<'a>(info: &'a SweepInfo, results: &[SeedResult]) -> SweepSummary<'a> {
    let mut groups: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for r in results {
        if let Some(sig) = &r.signature {
            groups.entry(sig).or_default().push(r.seed);
        }
    }
    let mut failures: Vec<SignatureGroup> = groups
        .into_iter()
        .map(|(sig, seeds)| SignatureGroup {
            signature: sig.to_string(),
            reproduce: reproduce_command(&info.scenario_path, seeds[0], info.swarm),
            seeds,
        })
        .collect();
    // The most frequent failure first.
    failures.sort_by(|a, b| {
        b.seeds
            .len()
            .cmp(&a.seeds.len())
            .then(a.signature.cmp(&b.signature))
    });
    let failed = results.iter().filter(|r| !r.passed).count();
    SweepSummary {
        version: crate::report::JSON_VERSION,
        summary: true,
        info,
        total: results.len(),
        passed: results.len() - failed,
        failed,
        distinct_trace_hashes: results
            .iter()
            .map(|r| r.trace_hash)
            .collect::<BTreeSet<_>>()
            .len(),
        steps: results.iter().map(|r| r.steps).sum(),
        failures,
    }
}

pub fn render_sweep_text(info: &SweepInfo, results: &[SeedResult]) -> String {
    let s = summarize_sweep(info, results);
    let mut out = String::new();
    let shard = info
        .shard
        .as_ref()
        .map(|x| format!(", shard {x}"))
        .unwrap_or_default();
    let swarm = if info.swarm { ", swarm" } else { "" };
    let _ = writeln!(
        out,
        "sweep {}: {} seeds ({}{shard}{swarm}), {} jobs",
        s.info.scenario, s.total, info.seeds, info.jobs
    );
    let _ = writeln!(
        out,
        "  {} passed, {} failed, {} distinct trace hashes, {} steps",
        s.passed, s.failed, s.distinct_trace_hashes, s.steps
    );
    if let Some(t) = info.timing {
        let _ = writeln!(
            out,
            "  {:.2} s, {:.0} seeds/s, {:.0} steps/s",
            t.wall_ms as f64 / 1000.0,
            t.seeds_per_sec,
            t.steps_per_sec
        );
    }
    if !s.failures.is_empty() {
        out.push_str("\nfailures by signature\n");
        for g in &s.failures {
            let _ = writeln!(out, "  {} ({} seeds)", g.signature, g.seeds.len());
            for seed in g.seeds.iter().take(SEEDS_LISTED_MAX) {
                let _ = writeln!(
                    out,
                    "    {}",
                    reproduce_command(&info.scenario_path, *seed, info.swarm)
                );
            }
            if g.seeds.len() > SEEDS_LISTED_MAX {
                let _ = writeln!(
                    out,
                    "    ... {} more (see --format json)",
                    g.seeds.len() - SEEDS_LISTED_MAX
                );
            }
        }
        // The first violation of the first failing seed, to show what the signature means.
        if let Some(r) = results.iter().find(|r| !r.passed) {
            if let Some(v) = r.violations.first() {
                let _ = writeln!(
                    out,
                    "\nfirst failure (seed {}): {} at step {}: {}",
                    r.seed, v.invariant, v.step, v.message
                );
            }
            if let Some(f) = &r.faults {
                let _ = writeln!(out, "  faults: {f}");
            }
        }
    }
    out
}

pub fn render_sweep_json_summary(info: &SweepInfo, results: &[SeedResult]) -> String {
    serde_json::to_string(&summarize_sweep(info, results)).expect("summaries serialize")
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

pub fn render_sweep_junit(info: &SweepInfo, results: &[SeedResult]) -> String {
    let failed = results.iter().filter(|r| !r.passed).count();
    let name = xml_escape(&info.scenario);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"ripple\" tests=\"{}\" failures=\"{failed}\">",
        results.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{name}\" tests=\"{}\" failures=\"{failed}\">",
        results.len()
    );
    for r in results {
        let case = format!("seed {}", r.seed);
        if r.passed {
            let _ = writeln!(out, "    <testcase classname=\"{name}\" name=\"{case}\"/>");
            continue;
        }
        let _ = writeln!(out, "    <testcase classname=\"{name}\" name=\"{case}\">");
        let message = xml_escape(r.signature.as_deref().unwrap_or("failed"));
        let mut body = String::new();
        for v in &r.violations {
            let _ = writeln!(body, "{} at step {}: {}", v.invariant, v.step, v.message);
        }
        if let Some(f) = &r.faults {
            let _ = writeln!(body, "faults: {f}");
        }
        let _ = writeln!(
            body,
            "reproduce: {}",
            reproduce_command(&info.scenario_path, r.seed, info.swarm)
        );
        let _ = writeln!(
            out,
            "      <failure message=\"{message}\">{}</failure>",
            xml_escape(&body)
        );
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

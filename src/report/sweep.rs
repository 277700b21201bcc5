//! Sweep reports: a text summary, a JSON summary line (after one JSON line per seed), and
//! JUnit XML that CI systems render.

use crate::report::{
    coverage_report, render_coverage_text, reproduce_command, CoverageReport, Declared,
};
use crate::sim::{failure_signature, RunOutcome, SweepTally};
use serde::Serialize;
use std::fmt::Write;

/// One seed's JSON line in a sweep: the run's JSON report, its position in the sweep (which
/// orders merged shards), its failure signature and whether it drew a swarm configuration.
#[derive(Debug, Serialize)]
pub struct SweepLine<'a> {
    #[serde(flatten)]
    pub report: crate::report::RunReport<'a>,
    pub position: u64,
    pub signature: Option<String>,
    pub swarm: bool,
    /// The `sometimes` invariants that held in some state of the run.
    pub sometimes_held: &'a [String],
}

pub fn render_sweep_line(outcome: &RunOutcome, scenario_path: &str, position: u64) -> String {
    let line = SweepLine {
        report: crate::report::run_report(outcome, scenario_path),
        position,
        signature: failure_signature(outcome).map(|s| s.to_string()),
        swarm: outcome.swarm,
        sometimes_held: &outcome.sometimes_held,
    };
    serde_json::to_string(&line).expect("reports serialize")
}

/// Failing seeds listed per signature in the text summary.
pub const SEEDS_LISTED_MAX: usize = 20;

/// What the sweep was and how fast it ran.
#[derive(Debug, Clone, Serialize)]
pub struct SweepInfo {
    pub scenario: String,
    pub scenario_path: String,
    /// The seed plan: `0..100`, or `random (master seed 7)`.
    pub seeds: String,
    pub shard: Option<String>,
    pub jobs: usize,
    pub swarm: bool,
    /// The master seed of a `--seeds random` sweep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_seed: Option<u64>,
    /// Why the sweep ended before its seeds did (`interrupted`, `time budget`, `until-fail`);
    /// `None`: every seed of the plan ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// Wall-clock figures; `None` in tests (they are not deterministic).
    pub timing: Option<Timing>,
    /// What the scenario declares, for the coverage table (`None`: no coverage shown).
    #[serde(skip)]
    pub declared: Option<Declared>,
}

impl SweepInfo {
    /// The command that runs these seeds again: the plan, and for random seeds the master
    /// seed and how many were drawn.
    pub fn rerun_command(&self, total: u64) -> String {
        let swarm = if self.swarm { " --swarm" } else { "" };
        let shard = self
            .shard
            .as_ref()
            .map(|s| format!(" --shard {s}"))
            .unwrap_or_default();
        let seeds = match self.master_seed {
            Some(m) => {
                let count = match &self.shard {
                    // A shard of N ran the positions I, I+N, ... of the whole sweep.
                    Some(s) => {
                        let n: u64 = s
                            .split('/')
                            .nth(1)
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(1);
                        total.saturating_mul(n)
                    }
                    None => total,
                };
                format!("random --master-seed {m} --count {count}")
            }
            None => self.seeds.clone(),
        };
        format!(
            "ripple sweep {} --seeds {seeds}{swarm}{shard}",
            self.scenario_path
        )
    }
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
    /// Seeds with this signature.
    pub count: u64,
    /// The first of them (at most [`crate::sim::GROUP_SEEDS_KEPT`]), in sweep order.
    pub seeds: Vec<u64>,
    pub reproduce: String,
}

#[derive(Debug, Serialize)]
pub struct SweepSummary<'a> {
    pub version: u32,
    pub summary: bool,
    #[serde(flatten)]
    pub info: &'a SweepInfo,
    pub total: u64,
    pub passed: u64,
    pub failed: u64,
    pub distinct_trace_hashes: u64,
    /// More distinct hashes than were counted: `distinct_trace_hashes` is a floor.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub distinct_trace_hashes_capped: bool,
    pub steps: u64,
    pub failures: Vec<SignatureGroup>,
    /// The `sometimes` invariants: each must hold in some state of at least one seed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sometimes: Vec<SometimesRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<CoverageReport<'a>>,
}

/// A `sometimes` invariant over a sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SometimesRow {
    pub name: String,
    pub predicate: String,
    /// Seeds in which it held in some state; 0 fails the sweep.
    pub seeds: u64,
}

/// The `sometimes` invariants of the sweep with the seeds that saw each.
pub fn sometimes_rows(info: &SweepInfo, tally: &SweepTally) -> Vec<SometimesRow> {
    let Some(d) = &info.declared else {
        return Vec::new();
    };
    d.sometimes
        .iter()
        .map(|(name, predicate)| SometimesRow {
            name: name.clone(),
            predicate: predicate.clone(),
            seeds: tally.sometimes.get(name).copied().unwrap_or(0),
        })
        .collect()
}

/// Whether the sweep passed: no seed failed, and every `sometimes` invariant held in some
/// seed.
pub fn sweep_passed(info: &SweepInfo, tally: &SweepTally) -> bool {
    tally.failed == 0 && sometimes_rows(info, tally).iter().all(|r| r.seeds > 0)
}

pub fn summarize_sweep<'a>(info: &'a SweepInfo, tally: &'a SweepTally) -> SweepSummary<'a> {
    let mut failures: Vec<SignatureGroup> = tally
        .groups
        .iter()
        .map(|(sig, g)| SignatureGroup {
            signature: sig.clone(),
            count: g.count,
            reproduce: reproduce_command(&info.scenario_path, g.seeds[0], info.swarm),
            seeds: g.seeds.clone(),
        })
        .collect();
    // The most frequent failure first.
    failures.sort_by(|a, b| b.count.cmp(&a.count).then(a.signature.cmp(&b.signature)));
    SweepSummary {
        version: crate::report::JSON_VERSION,
        summary: true,
        info,
        total: tally.total,
        passed: tally.passed,
        failed: tally.failed,
        distinct_trace_hashes: tally.distinct_trace_hashes(),
        distinct_trace_hashes_capped: tally.hashes_capped,
        steps: tally.steps,
        failures,
        sometimes: sometimes_rows(info, tally),
        coverage: info
            .declared
            .as_ref()
            .map(|d| coverage_report(d, &tally.coverage)),
    }
}

pub fn render_sweep_text(info: &SweepInfo, tally: &SweepTally) -> String {
    let s = summarize_sweep(info, tally);
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
        "  {} passed, {} failed, {}{} distinct trace hashes, {} steps",
        s.passed,
        s.failed,
        s.distinct_trace_hashes,
        if s.distinct_trace_hashes_capped {
            "+"
        } else {
            ""
        },
        s.steps
    );
    if let Some(why) = &info.stopped {
        let _ = writeln!(out, "  stopped early ({why}) after {} seeds", s.total);
    }
    if info.master_seed.is_some() {
        let _ = writeln!(
            out,
            "  run these seeds again: {}",
            info.rerun_command(s.total)
        );
    }
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
            let _ = writeln!(out, "  {} ({} seeds)", g.signature, g.count);
            for seed in g.seeds.iter().take(SEEDS_LISTED_MAX) {
                let _ = writeln!(
                    out,
                    "    {}",
                    reproduce_command(&info.scenario_path, *seed, info.swarm)
                );
            }
            if g.count > SEEDS_LISTED_MAX as u64 {
                let _ = writeln!(
                    out,
                    "    ... {} more (see --format json)",
                    g.count - SEEDS_LISTED_MAX as u64
                );
            }
        }
        // The first violation of the first failing seed, to show what the signature means.
        if let Some(r) = &tally.first_failure {
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
    for row in &s.sometimes {
        if row.seeds == 0 {
            let _ = writeln!(
                out,
                "\nFAIL sometimes {}: {:?} held in no state of any of the {} seeds",
                row.name, row.predicate, s.total
            );
        } else {
            let _ = writeln!(
                out,
                "  sometimes {}: held in {} of {} seeds",
                row.name, row.seeds, s.total
            );
        }
    }
    if let Some(d) = &info.declared {
        out.push_str(&render_coverage_text(d, &tally.coverage));
    }
    out
}

pub fn render_sweep_json_summary(info: &SweepInfo, tally: &SweepTally) -> String {
    serde_json::to_string(&summarize_sweep(info, tally)).expect("summaries serialize")
}

/// JUnit XML ([`quick_junit`]): one test suite for the sweep, one test case per failure
/// group (its signature, seed count, first seeds with their reproduce commands, the first
/// violation) and one for the seeds that passed. Properties carry the seed, the signature and
/// the reproduce command; times are wall-clock (present only when `info.timing` is).
pub fn render_sweep_junit(info: &SweepInfo, tally: &SweepTally) -> String {
    use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
    let s = summarize_sweep(info, tally);
    let mut suite = TestSuite::new(info.scenario.clone());
    suite.add_property(Property::new("scenario", info.scenario_path.clone()));
    suite.add_property(Property::new("seeds", info.seeds.clone()));
    suite.add_property(Property::new("swarm", info.swarm.to_string()));
    if let Some(m) = info.master_seed {
        suite.add_property(Property::new("master_seed", m.to_string()));
    }
    if let Some(shard) = &info.shard {
        suite.add_property(Property::new("shard", shard.clone()));
    }
    suite.add_property(Property::new("rerun", info.rerun_command(s.total)));
    if let Some(why) = &info.stopped {
        suite.add_property(Property::new("stopped", why.clone()));
    }
    let timed = info.timing.is_some();
    for g in &s.failures {
        let first = tally.groups.get(&g.signature);
        let mut out = format!("{} seeds failed with signature {}\n", g.count, g.signature);
        for seed in &g.seeds {
            let _ = writeln!(
                out,
                "  {}",
                reproduce_command(&info.scenario_path, *seed, info.swarm)
            );
        }
        if g.count > g.seeds.len() as u64 {
            let _ = writeln!(out, "  ... {} more", g.count - g.seeds.len() as u64);
        }
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_message(g.signature.clone());
        status.set_type(
            g.signature
                .split(['@', '+'])
                .next()
                .unwrap_or("violation")
                .to_string(),
        );
        if let Some(v) = first.and_then(|f| f.first_violation.as_ref()) {
            status.set_description(format!(
                "seed {}: {} at step {}: {}\nreproduce: {}",
                g.seeds[0], v.invariant, v.step, v.message, g.reproduce
            ));
        }
        let mut case = TestCase::new(g.signature.clone(), status);
        case.set_classname(info.scenario.clone());
        case.add_property(Property::new("seed", g.seeds[0].to_string()));
        case.add_property(Property::new("signature", g.signature.clone()));
        case.add_property(Property::new("reproduce", g.reproduce.clone()));
        case.add_property(Property::new("count", g.count.to_string()));
        if let (true, Some(f)) = (timed, first) {
            case.set_time(std::time::Duration::from_micros(f.wall_us));
        }
        case.set_system_out(out);
        suite.add_test_case(case);
    }
    // A name that does not change with the count, so CI tracks one test across runs.
    for row in &s.sometimes {
        let status = if row.seeds > 0 {
            TestCaseStatus::success()
        } else {
            let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
            st.set_message(format!("held in no state of any of the {} seeds", s.total));
            st.set_type("sometimes");
            st
        };
        let mut case = TestCase::new(format!("sometimes {}", row.name), status);
        case.set_classname(info.scenario.clone());
        case.add_property(Property::new("predicate", row.predicate.clone()));
        case.add_property(Property::new("seeds", row.seeds.to_string()));
        suite.add_test_case(case);
    }
    let mut case = TestCase::new("passing seeds", TestCaseStatus::success());
    case.set_classname(info.scenario.clone());
    case.add_property(Property::new("count", s.passed.to_string()));
    if timed {
        case.set_time(std::time::Duration::from_micros(tally.passed_wall_us));
    }
    suite.add_test_case(case);
    let mut report = Report::new("ripple");
    if let Some(t) = info.timing {
        suite.set_time(std::time::Duration::from_millis(t.wall_ms));
        report.set_time(std::time::Duration::from_millis(t.wall_ms));
    }
    report.add_test_suite(suite);
    report.to_string().unwrap_or_default()
}

//! `ripple shrink SCENARIO --seed N`: the smallest scenario that fails the same way.

use crate::cli::{
    bad_input, load_linted, print_warnings, write_report_files, EXIT_FAIL, EXIT_PASS,
};
use crate::core::{parse_duration_ms, Seed};
use crate::scenario::{emit_scenario_to, parse_scenario};
use crate::shrink::{shrink, ShrinkBudget, ShrinkError};
use crate::sim::{failure_signature, preflight, run_scenario_while, Retain, RunOptions};
use std::path::PathBuf;
use std::time::Duration;

/// Shrink a failing seed to a minimal scenario that fails the same way.
///
/// Runs the seed twice (refusing if the traces differ), takes its failure signature (the
/// violated invariants or expectations, the rule at the violating step, the entity each was
/// about and what was seen of it: a missing entity, another status, a field's value, the
/// values an invariant read), makes the run concrete
/// (generators become events, the faults the seed drew become an explicit [[fault]]
/// schedule, concurrent inputs keep their order), then removes whatever is not needed: events
/// after the violation, root events (ddmin), faults, shorter delays, rules, reflexes,
/// checks, entity types, times and params. A candidate counts only if it fails with the same
/// signature and, when the original passes with its faults removed, only if it still does
/// (a failure that needed faults keeps needing them). Every accepted step is printed. When a budget runs out, the best scenario so far
/// is still written.
///
/// Exit status (the table of `ripple --help`): 0 the seed passes, so there is nothing to
/// shrink; 1 the seed fails and its minimal scenario was written (or it does not
/// reproduce); 2 bad input.
///
/// Example: ripple shrink scenarios/race.toml --seed 0 --out race-seed0.min.toml
#[derive(Debug, clap::Args)]
pub struct ShrinkArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// The failing seed.
    #[arg(long)]
    pub seed: u64,
    /// The seed fails under `--swarm` (faults drawn from the seed).
    #[arg(long)]
    pub swarm: bool,
    /// Where to write the minimal scenario [default: reports/shrink/<scenario>-seed<N>.toml].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write the minimal scenario's run report (HTML and Markdown) to
    /// DIR/<minimal scenario>-seed<N>.html.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// At most this many runs.
    #[arg(long, default_value_t = 10_000)]
    pub budget_runs: u64,
    /// At most this much wall time (e.g. "30s", "2m").
    #[arg(long, default_value = "2m")]
    pub budget_time: String,
    /// `warnings`: the lint pass's warnings (things that can never happen) are bad input.
    #[arg(long, value_name = "WHAT", value_parser = ["warnings"])]
    pub deny: Option<String>,
}

pub fn run(args: &ShrinkArgs) -> u8 {
    let time_ms = match parse_duration_ms(&args.budget_time) {
        Ok(ms) => ms,
        Err(e) => return bad_input(format!("--budget-time: {e}")),
    };
    let scenario = match load_linted(&args.scenario, args.deny.is_some())
        .and_then(|s| preflight(&s).map(|()| s).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    print_warnings(&scenario);
    let stem = args
        .scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".into());
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports/shrink").join(format!("{stem}-seed{}.toml", args.seed))
    });
    if crate::core::same_file(&out, &args.scenario) {
        return bad_input(format!(
            "--out {}: that is the scenario being shrunk; refusing to overwrite an input\n  hint: write the minimal scenario to another file",
            out.display()
        ));
    }
    let budget = ShrinkBudget {
        runs_max: args.budget_runs,
        time_max: Duration::from_millis(time_ms),
    };
    #[allow(clippy::disallowed_methods)] // The shrink's wall-time budget, never inside a run.
    let started = std::time::Instant::now();
    // Lines name rules, ids and subjects from the scenario: escaped, as all text output.
    let mut log = |line: &str| println!("shrink: {}", crate::core::escape_controls(line));
    let result = match shrink(&scenario, Seed(args.seed), args.swarm, budget, &mut log) {
        Ok(r) => r,
        // Nothing failed, so there is nothing to shrink: the verdict is a pass.
        Err(e @ ShrinkError::Passes { .. }) => {
            println!("shrink: {e}");
            return EXIT_PASS;
        }
        // The seed does not reproduce: the `determinism` invariant is what failed.
        Err(e @ ShrinkError::NotDeterministic { .. }) => {
            eprintln!("error: failed to shrink: {e}");
            return EXIT_FAIL;
        }
        // A budget ran out before there was anything to write: an honest `incomplete`.
        Err(e @ (ShrinkError::OutOfTime { .. } | ShrinkError::NotSmaller { .. })) => {
            println!("shrink: {e}");
            return EXIT_FAIL;
        }
        Err(e) => {
            eprintln!("error: failed to shrink: {e}");
            return EXIT_FAIL;
        }
    };
    let swarm = if args.swarm { " --swarm" } else { "" };
    let header = format!(
        "Minimal scenario, written by `ripple shrink {} --seed {}{swarm}`.\n\
         Failure: {}\n\
         Before: {}\n\
         After:  {}\n\
         Runs: {}, {:.2} s{}\n\
         Reproduce: ripple run {} --seed {}",
        args.scenario.display(),
        args.seed,
        result.signature,
        result.before,
        result.after,
        result.runs,
        result.elapsed.as_secs_f64(),
        match (result.budget_spent, result.kept_input) {
            (Some(b), false) => format!(" (the {b} budget ran out: this is the best so far)"),
            (Some(b), true) => format!(" (the {b} budget ran out before anything smaller than the input was found: this is the input)"),
            (None, _) => String::new(),
        },
        out.display(),
        args.seed,
    );
    let out_dir = out.parent().unwrap_or(std::path::Path::new("."));
    let text = emit_scenario_to(&result.minimal, &header, out_dir);
    // The file must fail the same way when loaded back, or it is worth nothing.
    let mut reports = Vec::new();
    match parse_scenario(&text, &out) {
        Ok(reloaded) => {
            // Within the budget too (and its second of grace): a check that cannot finish
            // in time leaves the file unwritten rather than unchecked.
            let deadline = started + budget.time_max + Duration::from_millis(900);
            // The signature needs no records; a report needs them all.
            let retain = if args.report.is_some() {
                Retain::Records
            } else {
                Retain::Script
            };
            #[allow(clippy::disallowed_methods)] // The shrink's wall-time budget.
            let checked = run_scenario_while(
                &reloaded,
                Seed(args.seed),
                RunOptions::default(),
                retain,
                &mut || std::time::Instant::now() < deadline,
            );
            let Some(o) = checked else {
                println!("shrink: incomplete: the time budget ran out while checking the written scenario; nothing written (raise --budget-time)");
                return EXIT_FAIL;
            };
            if failure_signature(&o).as_ref() != Some(&result.signature) {
                eprintln!("error: the written scenario does not reproduce the failure; please report this as a bug");
                return EXIT_FAIL;
            }
            if let Some(dir) = &args.report {
                let path = out.display().to_string();
                let name = format!(
                    "{}-seed{}",
                    out.file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_else(|| "minimal".into()),
                    args.seed
                );
                reports.push((
                    dir.join(format!("{name}.md")),
                    crate::report::render_markdown(&o, &path).into_bytes(),
                ));
                reports.push((
                    dir.join(format!("{name}.html")),
                    crate::report::render_html(&o, &reloaded, &path).into_bytes(),
                ));
            }
        }
        Err(e) => {
            eprintln!(
                "error: the written scenario does not load ({e}); please report this as a bug"
            );
            return EXIT_FAIL;
        }
    }
    if let Err(e) = crate::core::write_atomic(&out, text.as_bytes()) {
        return bad_input(format!("failed to write {}: {e}", out.display()));
    }
    if let Err(code) = write_report_files(&reports) {
        return code;
    }
    println!(
        "shrink: {} -> {} in {} runs, {:.2} s",
        result.before,
        result.after,
        result.runs,
        result.elapsed.as_secs_f64()
    );
    println!("shrink: wrote {}", out.display());
    println!(
        "reproduce: ripple run {} --seed {}",
        out.display(),
        args.seed
    );
    println!(
        "keep it: ripple corpus add {} --seed {}{swarm} --minimal {}",
        args.scenario.display(),
        args.seed,
        out.display()
    );
    // A failure was found (and written down): the verdict, as for `run`.
    EXIT_FAIL
}

//! `ripple diff A B`: where two runs part.

use crate::cli::{bad_input, write_report_files, EXIT_FAIL, EXIT_PASS};
use crate::core::Seed;
use crate::report::{render_diff_html, render_diff_text, DiffSide, DIFF_PAGE_STEPS_MAX};
use crate::sim::{run_scenario, RunOptions};
use crate::trace::{first_difference_within, read_trace_file};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Show where two runs part: the first step at which their traces differ, the steps both
/// had just before, and each side from there.
///
/// Give two trace files (written by `ripple run --trace FILE`), or one scenario and two
/// seeds. The text is coloured on a terminal (not when NO_COLOR is set); --report DIR also
/// writes a side-by-side HTML page. Exit status: 0 the runs are identical, 1 they differ,
/// 2 bad input (a file that is not a trace, traces of two different scenarios).
///
/// Examples:
///   ripple diff a.jsonl b.jsonl
///   ripple diff scenarios/race.toml --seed 0 --seed 1 --report reports/runs
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// Two trace files, or one scenario file (with two --seed).
    #[arg(required = true, num_args = 1..=2, value_name = "TRACE_A [TRACE_B] | SCENARIO")]
    pub inputs: Vec<PathBuf>,
    /// With a scenario: the two seeds to run and compare (give --seed twice).
    #[arg(long = "seed", value_name = "N")]
    pub seeds: Vec<u64>,
    /// With a scenario: both seeds run with a swarm fault configuration.
    #[arg(long)]
    pub swarm: bool,
    /// Steps shown on each side after the parting point (text).
    #[arg(long, default_value_t = 10)]
    pub lines: usize,
    /// Also write a side-by-side HTML page to DIR/<scenario>-diff-<A>-<B>.html.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
}

/// One side: how it is shown, and its canonical records.
struct Side {
    show: DiffSide,
    records: Vec<u8>,
    /// For the page's file name.
    tag: String,
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trace".into())
}

/// A name made safe for a file name: anything but letters, digits, `-` and `_` becomes `_`.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn read_side(path: &Path) -> Result<Side, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{}: failed to read the trace: {e}", path.display()))?;
    let (header, records) = read_trace_file(&bytes).map_err(|e| {
        format!(
            "{}:{}:1: {}\n  hint: write traces with `ripple run SCENARIO --seed N --trace FILE`, and do not edit them",
            path.display(),
            e.line,
            e.message
        )
    })?;
    let steps = records.iter().filter(|b| **b == b'\n').count();
    Ok(Side {
        show: DiffSide {
            source: path.display().to_string(),
            scenario: header.scenario_name,
            seed: header.seed,
            swarm: header.swarm,
            trace_hash: header.trace_hash,
            steps,
        },
        records: records.to_vec(),
        tag: stem(path),
    })
}

fn run_side(scenario_path: &Path, seed: u64, swarm: bool) -> Result<Side, String> {
    let scenario = crate::cli::load_linted(scenario_path, false)?;
    let outcome = run_scenario(
        &scenario,
        Seed(seed),
        RunOptions {
            keep_trace: true,
            swarm,
        },
    );
    Ok(Side {
        show: DiffSide {
            source: format!("{} --seed {seed}", scenario_path.display()),
            scenario: scenario.name.clone(),
            seed,
            swarm,
            trace_hash: outcome.trace_hash.to_string(),
            steps: outcome.steps() as usize,
        },
        records: outcome.trace_text.expect("trace kept"),
        tag: format!("seed{seed}"),
    })
}

fn sides(args: &DiffArgs) -> Result<(Side, Side), String> {
    match (args.inputs.as_slice(), args.seeds.as_slice()) {
        ([a, b], []) => {
            if args.swarm {
                return Err("--swarm goes with a scenario and two --seed; a trace file says whether it ran with swarm".into());
            }
            let (a, b) = (read_side(a)?, read_side(b)?);
            if a.show.scenario != b.show.scenario {
                return Err(format!(
                    "the traces are of different scenarios ({} is of `{}`, {} of `{}`): a diff of them would say nothing\n  hint: compare two runs of one scenario",
                    a.show.source, a.show.scenario, b.show.source, b.show.scenario
                ));
            }
            Ok((a, b))
        }
        ([scenario], [x, y]) => Ok((
            run_side(scenario, *x, args.swarm)?,
            run_side(scenario, *y, args.swarm)?,
        )),
        ([_], seeds) => Err(format!(
            "with a scenario, give two seeds (--seed A --seed B); got {}",
            seeds.len()
        )),
        _ => Err("give two trace files, or one scenario and --seed A --seed B".into()),
    }
}

pub fn run(args: &DiffArgs) -> u8 {
    let (a, b) = match sides(args) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let diff = first_difference_within(&a.records, &b.records, args.lines);
    if let Some(dir) = &args.report {
        let page_diff = first_difference_within(&a.records, &b.records, DIFF_PAGE_STEPS_MAX);
        let (mut ta, mut tb) = (a.tag.clone(), b.tag.clone());
        if ta == tb {
            (ta, tb) = ("a".into(), "b".into());
        }
        let name = format!("{}-diff-{ta}-{tb}.html", file_safe(&a.show.scenario));
        let html = render_diff_html(&a.show, &b.show, page_diff.as_ref());
        if let Err(code) = write_report_files(&[(dir.join(name), html.into_bytes())]) {
            return code;
        }
    }
    let color = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    print!(
        "{}",
        render_diff_text(&a.show, &b.show, diff.as_ref(), color)
    );
    if diff.is_some() {
        EXIT_FAIL
    } else {
        EXIT_PASS
    }
}

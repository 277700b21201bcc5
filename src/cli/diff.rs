//! `ripple diff A B`: where two runs part.

use crate::cli::{bad_input, write_report_files, EXIT_FAIL, EXIT_PASS};
use crate::core::Seed;
use crate::report::{render_diff_html, render_diff_text, DiffSide, DIFF_PAGE_STEPS_MAX};
use crate::sim::{Retain, Runner};
use crate::trace::{first_difference_streams, verify_trace, TraceReadError};
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

/// One side: how it is shown, and where its canonical records are (a file, read as a
/// stream: two traces of gigabytes are compared in a chunk's worth of memory).
struct Side {
    show: DiffSide,
    records: Records,
    /// For the page's file name.
    tag: String,
}

/// A side's records: a trace file after its header line, or a scratch file of a run's
/// records (removed when the side is dropped).
struct Records {
    path: PathBuf,
    skip_header: bool,
    scratch: bool,
}

impl Records {
    fn open(&self) -> std::io::Result<std::io::BufReader<std::fs::File>> {
        let mut r = std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(&self.path)?);
        if self.skip_header {
            std::io::BufRead::read_until(&mut r, b'\n', &mut Vec::new())?;
        }
        Ok(r)
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        if self.scratch {
            let _ = std::fs::remove_file(&self.path);
        }
    }
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
    let failed = |e: &dyn std::fmt::Display| {
        format!(
            "{}: failed to read the trace: {e}\n  hint: check the path; traces are written by `ripple run SCENARIO --seed N --trace FILE`",
            path.display()
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| failed(&e))?;
    if !meta.is_file() {
        return Err(failed(&"it is not a regular file"));
    }
    let file = std::fs::File::open(path).map_err(|e| failed(&e))?;
    let header = match verify_trace(std::io::BufReader::with_capacity(1 << 16, file)) {
        Ok(header) => header,
        Err(TraceReadError::Io(e)) => return Err(failed(&e)),
        Err(TraceReadError::Corrupt(e)) => {
            return Err(format!(
                "{}:{}:1: {}\n  hint: write traces with `ripple run SCENARIO --seed N --trace FILE`, and do not edit them",
                path.display(),
                e.line,
                e.message
            ))
        }
    };
    Ok(Side {
        show: DiffSide {
            source: path.display().to_string(),
            scenario: header.scenario_name,
            seed: header.seed,
            swarm: header.swarm,
            trace_hash: header.trace_hash,
            steps: header.steps as usize,
        },
        records: Records {
            path: path.to_path_buf(),
            skip_header: true,
            scratch: false,
        },
        tag: stem(path),
    })
}

fn run_side(scenario_path: &Path, seed: u64, swarm: bool, label: &str) -> Result<Side, String> {
    let scenario = crate::cli::load_linted(scenario_path, false)?;
    // The run's records go to a scratch file as it goes (none of them held in memory).
    let scratch = std::env::temp_dir().join(format!(
        "ripple-diff-{}-{label}-seed{seed}.tmp",
        std::process::id()
    ));
    let records = Records {
        path: scratch,
        skip_header: false,
        scratch: true,
    };
    let out = std::fs::File::create(&records.path).map_err(|e| {
        format!(
            "{}: failed to write a scratch trace: {e}",
            records.path.display()
        )
    })?;
    let outcome = Runner::new(&scenario)
        .swarm(swarm)
        .keep(Retain::Summary)
        .sim(Seed(seed))
        .stream_trace(Box::new(std::io::BufWriter::with_capacity(1 << 16, out)))
        .run();
    if let Some(e) = &outcome.trace_error {
        return Err(format!(
            "{}: failed to write a scratch trace: {e}",
            records.path.display()
        ));
    }
    Ok(Side {
        show: DiffSide {
            source: format!("{} --seed {seed}", scenario_path.display()),
            scenario: scenario.name.clone(),
            seed,
            swarm,
            trace_hash: outcome.trace_hash.to_string(),
            steps: outcome.steps() as usize,
        },
        records,
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
            run_side(scenario, *x, args.swarm, "a")?,
            run_side(scenario, *y, args.swarm, "b")?,
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
    let compare = |context: usize| -> std::io::Result<_> {
        first_difference_streams(a.records.open()?, b.records.open()?, context)
    };
    let diff = match compare(args.lines) {
        Ok(diff) => diff,
        Err(e) => return bad_input(format!("failed to read the traces: {e}\n  hint: check that both files are still there and readable")),
    };
    if let Some(dir) = &args.report {
        let page_diff = match compare(DIFF_PAGE_STEPS_MAX) {
            Ok(diff) => diff,
            Err(e) => return bad_input(format!("failed to read the traces: {e}\n  hint: check that both files are still there and readable")),
        };
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

//! `ripple sweep SCENARIO --seeds A..B`: many seeds, on many threads, streamed.

use crate::cli::{bad_input, print_warnings, write_report_files, EXIT_FAIL, EXIT_PASS};
use crate::report::{
    render_sweep_json_summary, render_sweep_junit, render_sweep_line, render_sweep_text, SweepInfo,
    Timing,
};
use crate::sim::{
    preflight, sweep_stream, Prepared, Retain, RunOptions, SeedPlan, SeedStream, Shard, SweepEnd,
    SweepTally,
};
use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Run a scenario under many seeds and group the failures.
///
/// Each seed runs alone on one thread; seeds are spread over --jobs threads, and streamed:
/// a seed is drawn, run, reported and forgotten, so memory stays flat at any range or time
/// budget. The summary groups failing seeds by signature (the violated invariants and the
/// rule involved), each with the command that reproduces it, and counts distinct trace
/// hashes. Ctrl-C stops taking seeds and prints the summary of those that ran. Exit status 1
/// when any seed fails.
///
/// Examples:
///   ripple sweep scenarios/race.toml --seeds 0..1000
///   ripple sweep scenarios/netops.toml --seeds 0..10000 --swarm --jobs 2
///   ripple sweep scenarios/netops.toml --seeds random --for 10m --swarm
///   ripple sweep scenarios/race.toml --seeds random --master-seed 42 --count 5000
///   ripple sweep scenarios/race.toml --seeds 0..18446744073709551615 --until-fail
///   ripple sweep scenarios/race.toml --seeds 0..100000 --shard 3/8 --format json > shard3.jsonl
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct SweepArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Seeds to run: A..B (B excluded), A..=B, one seed N, or `random`: fresh seeds drawn
    /// from a master seed (printed; --master-seed reproduces them), with --count, --for or
    /// --until-fail as the budget.
    #[arg(long, default_value = "0..100")]
    pub seeds: String,
    /// With --seeds random: the master seed the seeds are drawn from (default: a fresh one,
    /// printed on stderr and in the summary).
    #[arg(long, value_name = "S")]
    pub master_seed: Option<u64>,
    /// Run at most N seeds (the first N of the plan; with --shard, this shard's share of them).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Stop taking seeds after this much wall time (e.g. 90s, 10m, 1h); the seeds in flight
    /// finish. The summary says the sweep stopped early, and how to run the same seeds again.
    #[arg(long = "for", value_name = "DURATION")]
    pub for_: Option<String>,
    /// Stop at the first failing seed (in seed order, whatever the thread count).
    #[arg(long)]
    pub until_fail: bool,
    /// Draw a fault configuration per seed from the seed (swarm testing): which faults are
    /// on, and their rates. The drawn configuration is printed with each failure.
    #[arg(long)]
    pub swarm: bool,
    /// Threads to use (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run only shard I of N (0-based): seeds whose position in the sweep is I mod N.
    /// `ripple merge` makes the shards' JSON lines into the whole sweep's summary. Without
    /// it, the shard comes from the environment when set there: JOB_COMPLETION_INDEX
    /// (a Kubernetes Indexed Job) or RIPPLE_SHARD_INDEX (a CI matrix), with
    /// RIPPLE_SHARD_COUNT.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Output: a text summary, JSON lines (one per seed, then a summary line), or JUnit XML.
    #[arg(long, value_enum, default_value_t = SweepFormat::Text)]
    pub format: SweepFormat,
    /// Also write an HTML overview to DIR/<scenario>-sweep.html (counts, failures by
    /// signature and the faults each needed, histograms of steps and virtual time), a
    /// Markdown summary beside it, and the run report (HTML and Markdown) of the first
    /// failing seed of each signature.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// `warnings`: the lint pass's warnings (things that can never happen) are bad input.
    #[arg(long, value_name = "WHAT", value_parser = ["warnings"])]
    pub deny: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SweepFormat {
    Text,
    Json,
    Junit,
}

/// The shard index and count a batch scheduler gives, when `--shard` is not given: a
/// Kubernetes Indexed Job's `JOB_COMPLETION_INDEX` with `RIPPLE_SHARD_COUNT`, or a CI
/// matrix's `RIPPLE_SHARD_INDEX` and `RIPPLE_SHARD_COUNT`. Returns the shard and the names
/// it came from.
pub fn shard_from_env(
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<(Shard, &'static str)>, String> {
    let (index_var, index) = match (var("JOB_COMPLETION_INDEX"), var("RIPPLE_SHARD_INDEX")) {
        (Some(i), _) => ("JOB_COMPLETION_INDEX", i),
        (None, Some(i)) => ("RIPPLE_SHARD_INDEX", i),
        (None, None) => return Ok(None),
    };
    let from = if index_var == "JOB_COMPLETION_INDEX" {
        "JOB_COMPLETION_INDEX and RIPPLE_SHARD_COUNT"
    } else {
        "RIPPLE_SHARD_INDEX and RIPPLE_SHARD_COUNT"
    };
    let Some(count) = var("RIPPLE_SHARD_COUNT") else {
        return Err(format!(
            "{index_var} is set ({index}) but RIPPLE_SHARD_COUNT is not: set it to the number of shards (the Job's completions, the matrix's size), or pass --shard I/N"
        ));
    };
    Shard::parse(&format!("{index}/{count}"))
        .map(|s| Some((s, from)))
        .map_err(|e| format!("{from}: {e}"))
}

/// Colour only for a person at a terminal, and never when `NO_COLOR` is set (no-color.org).
pub fn color_on_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// The text summary with its verdict words coloured: failures and `FAIL` lines red, the
/// passed count green. Without `color`, the text as it is.
pub fn paint(text: &str, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let red = |t: &str| format!("\x1b[31m{t}\x1b[0m");
    let green = |t: &str| format!("\x1b[32m{t}\x1b[0m");
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        let end = &line[body.len()..];
        if body.starts_with("FAIL") || body == "failures by signature" {
            out.push_str(&red(body));
        } else if let Some((passed, rest)) = body
            .strip_prefix("  ")
            .and_then(|b| b.split_once(" passed, "))
            .filter(|(p, _)| p.chars().all(|c| c.is_ascii_digit()))
        {
            let (failed, tail) = rest.split_once(" failed").unwrap_or((rest, ""));
            let failed = format!("{failed} failed");
            let failed = if failed.starts_with("0 ") {
                failed
            } else {
                red(&failed)
            };
            out.push_str(&format!(
                "  {} {failed}{tail}",
                green(&format!("{passed} passed,"))
            ));
        } else {
            out.push_str(body);
        }
        out.push_str(end);
    }
    out
}

/// A master seed nobody chose: the wall clock and the process id, mixed. Printed, so the
/// sweep it starts can be run again.
fn fresh_master_seed() -> u64 {
    #[allow(clippy::disallowed_methods)] // Picks a master seed; never inside a run.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut x = nanos ^ (u64::from(std::process::id()) << 32);
    // splitmix64's finalizer: nearby clocks give unrelated seeds.
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Set by Ctrl-C: the sweep takes no more seeds. A second Ctrl-C quits at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    let installed = ctrlc::set_handler(move || {
        if set.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: finishing the seeds in flight, then the summary (Ctrl-C again to quit now)");
    });
    if let Err(e) = installed {
        eprintln!("warning: Ctrl-C will not print a summary: {e}");
    }
    flag
}

pub fn run(args: &SweepArgs) -> u8 {
    let random = args.seeds.trim() == "random";
    if !random && args.master_seed.is_some() {
        return bad_input("--master-seed: only with --seeds random\n  hint: --seeds random --master-seed S --count N");
    }
    if random && args.count.is_none() && args.for_.is_none() && !args.until_fail {
        return bad_input("--seeds random needs a budget: --count N, --for DURATION or --until-fail\n  hint: ripple sweep SCENARIO --seeds random --for 10m");
    }
    let master = args.master_seed.unwrap_or_else(fresh_master_seed);
    let plan = match SeedPlan::parse(&args.seeds, master) {
        Ok(p) => p,
        Err(e) => return bad_input(format!("--seeds: {e}, or random")),
    };
    if args.count == Some(0) {
        return bad_input("--count: run at least 1 seed");
    }
    let budget = match args
        .for_
        .as_deref()
        .map(crate::core::parse_duration_ms)
        .transpose()
    {
        Ok(Some(0)) => return bad_input("--for: give a positive duration, e.g. 10m"),
        Ok(b) => b.map(std::time::Duration::from_millis),
        Err(e) => return bad_input(format!("--for: {e}")),
    };
    let shard = match args.shard.as_deref() {
        Some(text) => match Shard::parse(text) {
            Ok(s) => Some(s),
            Err(e) => return bad_input(format!("--shard: {e}")),
        },
        None => match shard_from_env(&|k| std::env::var(k).ok()) {
            Ok(Some((s, from))) => {
                eprintln!("sweep: shard {}/{} (from {from})", s.index, s.count);
                Some(s)
            }
            Ok(None) => None,
            Err(e) => return bad_input(e),
        },
    };
    if args.jobs == Some(0) {
        return bad_input("--jobs: use at least 1 thread");
    }
    let scenario = match crate::cli::load_linted(&args.scenario, args.deny.is_some())
        .and_then(|s| preflight(&s).map(|()| s).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    print_warnings(&scenario);
    let path = args.scenario.display().to_string();
    let mut seeds = SeedStream::new(plan.clone(), shard.unwrap_or(Shard::ALL), args.count);
    let seeds_max = seeds.len_max();
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    // No more threads than seeds.
    let jobs = seeds_max.map_or(jobs, |n| jobs.min(n.max(1) as usize));
    let options = RunOptions {
        keep_trace: false,
        swarm: args.swarm,
    };
    if random {
        eprintln!(
            "sweep: seeds drawn from master seed {master} (--seeds random --master-seed {master} draws them again)"
        );
    }

    // A progress bar only for a person watching: not when piped, not in CI.
    let show_progress = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let bar = show_progress.then(|| {
        let (bar, template) = match seeds_max {
            Some(n) => (
                indicatif::ProgressBar::new(n),
                "{bar:40} {pos}/{len} seeds, {per_sec}, {msg} [{elapsed}<{eta}]",
            ),
            None => (
                indicatif::ProgressBar::no_length(),
                "{spinner} {pos} seeds, {per_sec}, {msg} [{elapsed}]",
            ),
        };
        bar.set_style(
            indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });

    let json = args.format == SweepFormat::Json;
    let render_path = path.clone();
    let render = move |o: &crate::sim::RunOutcome, position: u64| {
        json.then(|| render_sweep_line(o, &render_path, position))
    };
    // Results arrive in seed order: each JSON line goes out as soon as it is in.
    let mut stdout = std::io::stdout().lock();
    let mut tally = SweepTally::default();
    let interrupted = interrupt_flag();
    #[allow(clippy::disallowed_methods)] // Wall time of the sweep itself, never inside a run.
    let started = std::time::Instant::now();
    let stop =
        || interrupted.load(Ordering::Relaxed) || budget.is_some_and(|b| started.elapsed() >= b);
    // A run keeps no records: the JSON lines need the reaction results and outcomes, the
    // summaries only the hash, the counts and the failure signature.
    let retain = if json {
        Retain::Report
    } else {
        Retain::Summary
    };
    let end = sweep_stream(
        &|| Prepared::new(&scenario),
        &mut seeds,
        jobs,
        options,
        retain,
        &render,
        &stop,
        &mut |r| {
            tally.add(&r);
            if let Some(bar) = &bar {
                bar.inc(1);
                bar.set_message(format!("{} failed", tally.failed));
            }
            if let Some(line) = &r.json {
                let _ = writeln!(stdout, "{line}");
            }
            if args.until_fail && !r.passed {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    );
    let wall = started.elapsed();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let stopped = match end {
        SweepEnd::Exhausted => None,
        SweepEnd::Broke => Some("until-fail".to_string()),
        SweepEnd::Stopped if interrupted.load(Ordering::Relaxed) => Some("interrupted".to_string()),
        SweepEnd::Stopped => Some("time budget".to_string()),
    };
    let secs = wall.as_secs_f64().max(1e-9);
    let info = SweepInfo {
        scenario: scenario.name.clone(),
        scenario_path: path,
        seeds: plan.describe(),
        shard: shard.map(|s| format!("{}/{}", s.index, s.count)),
        jobs,
        swarm: args.swarm,
        master_seed: random.then_some(master),
        stopped,
        timing: Some(Timing {
            wall_ms: wall.as_millis() as u64,
            seeds_per_sec: tally.total as f64 / secs,
            steps_per_sec: tally.steps as f64 / secs,
        }),
        declared: Some(crate::report::Declared::of(&scenario)),
    };
    if let Some(dir) = &args.report {
        if let Err(code) = write_reports(dir, &args.scenario, &scenario, &info, &tally) {
            return code;
        }
    }
    let _ = match args.format {
        SweepFormat::Text => write!(
            stdout,
            "{}",
            paint(&render_sweep_text(&info, &tally), color_on_stdout())
        ),
        SweepFormat::Json => writeln!(stdout, "{}", render_sweep_json_summary(&info, &tally)),
        SweepFormat::Junit => write!(stdout, "{}", render_sweep_junit(&info, &tally)),
    };
    let _ = stdout.flush();
    if crate::report::sweep_passed(&info, &tally) {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

/// The sweep overview (HTML and Markdown) and the run reports (HTML and Markdown) of the
/// first seed of each failure signature: all written, or none.
fn write_reports(
    dir: &std::path::Path,
    scenario_path: &std::path::Path,
    scenario: &crate::scenario::Scenario,
    info: &SweepInfo,
    tally: &SweepTally,
) -> Result<(), u8> {
    let stem = scenario_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let groups = crate::report::sweep_groups(scenario, info, tally, &stem);
    let mut md = format!(
        "# sweep {} ({})\n\n```text\n{}```\n",
        info.scenario,
        info.seeds,
        render_sweep_text(info, tally)
    );
    let mut files = Vec::new();
    for g in &groups {
        let seed = g.first.seed.0;
        let name = format!("{stem}-seed{seed}");
        files.push((
            dir.join(format!("{name}.md")),
            crate::report::render_markdown(&g.first, &info.scenario_path).into_bytes(),
        ));
        files.push((
            dir.join(format!("{name}.html")),
            crate::report::render_html(&g.first, scenario, &info.scenario_path).into_bytes(),
        ));
        md.push_str(&format!(
            "\n- `{}` ({} seeds): first seed {seed}, [report]({name}.md)\n",
            g.signature, g.count
        ));
    }
    files.push((dir.join(format!("{stem}-sweep.md")), md.into_bytes()));
    files.push((
        dir.join(format!("{stem}-sweep.html")),
        crate::report::render_sweep_html(info, tally, &groups).into_bytes(),
    ));
    write_report_files(&files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn colour_marks_the_verdict_and_nothing_else() {
        let text = "sweep x: 3 seeds\n  2 passed, 1 failed, 3 distinct\n\nfailures by signature\n  a (1 seeds)\n";
        assert_eq!(paint(text, false), text);
        let painted = paint(text, true);
        assert!(painted.contains("\x1b[31m1 failed\x1b[0m"), "{painted}");
        assert!(painted.contains("\x1b[32m2 passed,\x1b[0m"), "{painted}");
        // Without the escapes it is the same text.
        let plain = painted
            .replace("\x1b[31m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[0m", "");
        assert_eq!(plain, text);
    }

    #[test]
    fn shards_come_from_an_indexed_job_or_a_ci_matrix() {
        assert_eq!(shard_from_env(&env(&[])), Ok(None));
        let job = shard_from_env(&env(&[
            ("JOB_COMPLETION_INDEX", "2"),
            ("RIPPLE_SHARD_COUNT", "4"),
        ]));
        assert_eq!(job.unwrap().unwrap().0, Shard { index: 2, count: 4 });
        let matrix = shard_from_env(&env(&[
            ("RIPPLE_SHARD_INDEX", "0"),
            ("RIPPLE_SHARD_COUNT", "3"),
        ]));
        assert_eq!(matrix.unwrap().unwrap().0, Shard { index: 0, count: 3 });
        let no_count = shard_from_env(&env(&[("JOB_COMPLETION_INDEX", "1")])).unwrap_err();
        assert!(no_count.contains("RIPPLE_SHARD_COUNT"), "{no_count}");
        let out_of_range = shard_from_env(&env(&[
            ("RIPPLE_SHARD_INDEX", "3"),
            ("RIPPLE_SHARD_COUNT", "3"),
        ]));
        assert!(out_of_range.is_err());
    }
}

//! `ripple sweep SCENARIO --seeds A..B`: many seeds, on many threads.

use crate::cli::{bad_input, print_warnings, write_report_files, EXIT_FAIL, EXIT_PASS};
use crate::report::{
    render_json, render_sweep_json_summary, render_sweep_junit, render_sweep_text, SweepInfo,
    Timing,
};
use crate::sim::{
    parse_seed_range, preflight, sweep_retaining, Prepared, Retain, RunOptions, Shard,
};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// Run a scenario under many seeds and group the failures.
///
/// Each seed runs alone on one thread; seeds are spread over --jobs threads. The summary
/// groups failing seeds by signature (the violated invariants and the rule involved), each
/// with the command that reproduces it, and counts distinct trace hashes. Exit status 1 when
/// any seed fails.
///
/// Examples:
///   ripple sweep scenarios/race.toml --seeds 0..1000
///   ripple sweep scenarios/netops.toml --seeds 0..10000 --swarm --jobs 2
///   ripple sweep scenarios/race.toml --seeds 0..100000 --shard 3/8 --format json > shard3.jsonl
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// Seeds to run: A..B (B excluded), A..=B, or one seed N.
    #[arg(long, default_value = "0..100")]
    pub seeds: String,
    /// Draw a fault configuration per seed from the seed (swarm testing): which faults are
    /// on, and their rates. The drawn configuration is printed with each failure.
    #[arg(long)]
    pub swarm: bool,
    /// Threads to use (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run only shard I of N (0-based): seeds whose index in the range is I mod N. The
    /// shards' JSON lines concatenate into the whole sweep.
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

pub fn run(args: &SweepArgs) -> u8 {
    let range = match parse_seed_range(&args.seeds) {
        Ok(r) => r,
        Err(e) => return bad_input(format!("--seeds: {e}")),
    };
    let shard = match args.shard.as_deref().map(Shard::parse).transpose() {
        Ok(s) => s,
        Err(e) => return bad_input(format!("--shard: {e}")),
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
    let seeds = shard.unwrap_or(Shard::ALL).seeds(&range);
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let options = RunOptions {
        keep_trace: false,
        swarm: args.swarm,
    };

    // A progress bar only for a person watching: not when piped, not in CI.
    let show_progress = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let bar = show_progress.then(|| {
        let bar = indicatif::ProgressBar::new(seeds.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} seeds, {per_sec}, {msg} [{elapsed}<{eta}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });

    let json = args.format == SweepFormat::Json;
    let render_path = path.clone();
    let render = move |o: &crate::sim::RunOutcome| json.then(|| render_json(o, &render_path));
    // JSON lines stream out in seed order as soon as a prefix of the seeds is done.
    let mut stdout = std::io::stdout().lock();
    let mut waiting: std::collections::BTreeMap<u64, String> = std::collections::BTreeMap::new();
    let mut next_index = 0usize;
    let mut failed = 0u64;
    #[allow(clippy::disallowed_methods)] // Wall time of the sweep itself, never inside a run.
    let started = std::time::Instant::now();
    // A run keeps no records: the JSON lines need the reaction results and outcomes, the
    // summaries only the hash, the counts and the failure signature.
    let retain = if json {
        Retain::Report
    } else {
        Retain::Summary
    };
    let results = sweep_retaining(
        &|| Prepared::new(&scenario),
        &seeds,
        jobs,
        options,
        retain,
        &render,
        &mut |r| {
            if !r.passed {
                failed += 1;
            }
            if let Some(bar) = &bar {
                bar.inc(1);
                bar.set_message(format!("{failed} failed"));
            }
            if let Some(line) = &r.json {
                waiting.insert(r.seed, line.clone());
                while let Some(line) = seeds.get(next_index).and_then(|s| waiting.remove(s)) {
                    let _ = writeln!(stdout, "{line}");
                    next_index += 1;
                }
            }
        },
    );
    let wall = started.elapsed();
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let steps: u64 = results.iter().map(|r| r.steps).sum();
    let secs = wall.as_secs_f64().max(1e-9);
    let info = SweepInfo {
        scenario: scenario.name.clone(),
        scenario_path: path,
        seeds: format!("{}..{}", range.start, range.end),
        shard: shard.map(|s| format!("{}/{}", s.index, s.count)),
        jobs,
        swarm: args.swarm,
        timing: Some(Timing {
            wall_ms: wall.as_millis() as u64,
            seeds_per_sec: results.len() as f64 / secs,
            steps_per_sec: steps as f64 / secs,
        }),
    };
    if let Some(dir) = &args.report {
        if let Err(code) = write_reports(dir, &args.scenario, &scenario, &info, &results) {
            return code;
        }
    }
    let _ = match args.format {
        SweepFormat::Text => write!(stdout, "{}", render_sweep_text(&info, &results)),
        SweepFormat::Json => writeln!(stdout, "{}", render_sweep_json_summary(&info, &results)),
        SweepFormat::Junit => write!(stdout, "{}", render_sweep_junit(&info, &results)),
    };
    if results.iter().all(|r| r.passed) {
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
    results: &[crate::sim::SeedResult],
) -> Result<(), u8> {
    let stem = scenario_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let groups = crate::report::sweep_groups(scenario, info, results, &stem);
    let mut md = format!(
        "# sweep {} ({})\n\n```text\n{}```\n",
        info.scenario,
        info.seeds,
        render_sweep_text(info, results)
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
            g.signature,
            g.seeds.len()
        ));
    }
    files.push((dir.join(format!("{stem}-sweep.md")), md.into_bytes()));
    files.push((
        dir.join(format!("{stem}-sweep.html")),
        crate::report::render_sweep_html(info, results, &groups).into_bytes(),
    ));
    write_report_files(&files)
}

//! `ripple bench [SCENARIO] [--seeds A..B]`: how fast runs go on this machine.

use crate::bench::{
    bench_seeds_retaining, generated_workload, BenchFigures, Stopwatch, WorkloadConfig,
};
use crate::cli::{bad_input, Format, EXIT_FAIL, EXIT_PASS};
use crate::scenario::Scenario;
use crate::sim::{parse_seed_range, Retain};
use serde::Serialize;
use std::ops::Range;
use std::path::PathBuf;

/// Version of the `--format json` object.
const JSON_VERSION: u32 = 1;
/// Seeds run on a scenario file when `--seeds` is not given.
const SEEDS_DEFAULT_FILE: Range<u64> = 0..100;
/// Seeds run on the generated workload when `--seeds` is not given: one run is already
/// 100,000 root events.
const SEEDS_DEFAULT_GENERATED: Range<u64> = 0..1;

/// Measure throughput: runs per second, trace steps per second, events per second
///
/// With a SCENARIO, loads it once and runs it under every seed of --seeds (default 0..100),
/// one after another on one thread, as one shard of a sweep would, and reports seeds/sec,
/// steps/sec and events/sec. Without one, runs Ripple's generated workload (4 tenants x 250
/// entities, 100,000 root events: entity actions and `sensory.<class>.gen.<id>`
/// publications, reflexes on wildcard subjects, rules with fan-out 2 cascading 6 deep) under
/// one seed, and also reports cascade steps/sec.
///
/// A step is one trace record; an event is a root event or a bus publication; a cascade step
/// is one action dispatch. Wall time covers the runs and dropping their outcomes (as a sweep
/// does after each seed), not loading or generating the scenario. Runs keep no records, as
/// a sweep's summary does; --keep-records keeps them all, as `ripple run` does. Peak RSS is the process's
/// high-water mark (Linux). Build with --release: a debug build is many times slower.
/// Exit status: 0, 1 when a run broke an invariant (the figures are still printed), 2 on
/// bad input.
///
/// Examples:
///   ripple bench
///   ripple bench --root-events 20000 --format json
///   ripple bench scenarios/netops.toml --seeds 0..10000
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct BenchArgs {
    /// The scenario file (TOML). Absent: the generated workload.
    pub scenario: Option<PathBuf>,
    /// Seeds to run, as for `ripple sweep`: A..B (B excluded), A..=B, or one seed N.
    /// Default: 0..100 for a scenario file, 0..1 for the generated workload.
    #[arg(long, value_name = "A..B", value_parser = parse_seed_range)]
    pub seeds: Option<Range<u64>>,
    /// Root events of the generated workload (ignored with a SCENARIO).
    #[arg(long, value_name = "N", default_value_t = WorkloadConfig::default().root_events)]
    pub root_events: u32,
    /// Keep every trace record of each run (as `ripple run` does) instead of none (as a
    /// sweep's summary does): measures what keeping them costs.
    #[arg(long)]
    pub keep_records: bool,
    /// Output format: a readable summary, or one JSON object.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    version: u32,
    scenario: &'a str,
    seed_range: String,
    failed_seeds: u64,
    keep_records: bool,
    #[serde(flatten)]
    figures: &'a BenchFigures,
}

pub fn run(args: &BenchArgs) -> u8 {
    let (scenario, label, seeds) = match &args.scenario {
        Some(path) => match crate::cli::load_linted(path, false) {
            Ok(s) => (s, path.display().to_string(), SEEDS_DEFAULT_FILE),
            Err(e) => return bad_input(e),
        },
        None => {
            if args.root_events == 0 {
                return bad_input("--root-events must be at least 1");
            }
            let config = WorkloadConfig {
                root_events: args.root_events,
                ..WorkloadConfig::default()
            };
            let watch = Stopwatch::start();
            let scenario = generated_workload(&config);
            if args.format == Format::Text {
                println!(
                    "{} (built in {} ms, not timed)",
                    scenario.description,
                    watch.elapsed().as_millis()
                );
            }
            (scenario, "<generated>".to_string(), SEEDS_DEFAULT_GENERATED)
        }
    };
    let seeds = args.seeds.clone().unwrap_or(seeds);
    let mut failed: Vec<u64> = Vec::new();
    let retain = if args.keep_records {
        Retain::Records
    } else {
        Retain::Summary
    };
    let figures = bench_seeds_retaining(&scenario, seeds.clone(), retain, |outcome| {
        if !outcome.passed() {
            failed.push(outcome.seed.0);
        }
    });
    match args.format {
        Format::Text => print!(
            "{}",
            render_text(
                &scenario,
                &label,
                &seeds,
                &figures,
                &failed,
                args.keep_records
            )
        ),
        Format::Json => {
            let report = JsonReport {
                version: JSON_VERSION,
                scenario: &label,
                seed_range: format!("{}..{}", seeds.start, seeds.end),
                failed_seeds: failed.len() as u64,
                keep_records: args.keep_records,
                figures: &figures,
            };
            println!(
                "{}",
                serde_json::to_string(&report).expect("figures serialize")
            );
        }
    }
    if failed.is_empty() {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

fn render_text(
    scenario: &Scenario,
    label: &str,
    seeds: &Range<u64>,
    f: &BenchFigures,
    failed: &[u64],
    keep_records: bool,
) -> String {
    let mut out = String::new();
    let line = |out: &mut String, name: &str, rate: f64, total: u64, unit: &str| {
        out.push_str(&format!(
            "  {name:<18} {:>14}/s   ({total} {unit})\n",
            thousands(rate)
        ));
    };
    out.push_str(&format!(
        "bench {label} ({}), seeds {}..{}{}: {} run(s) in {:.1} ms ({:.1} ms of it dropping outcomes)\n",
        scenario.name,
        seeds.start,
        seeds.end,
        if keep_records { ", records kept" } else { "" },
        f.seeds,
        f.wall_ms,
        f.teardown_ms
    ));
    line(&mut out, "seeds", f.seeds_per_sec, f.seeds, "run(s)");
    line(&mut out, "steps", f.steps_per_sec, f.steps, "trace records");
    line(
        &mut out,
        "events",
        f.events_per_sec,
        f.events,
        "root events + publications",
    );
    line(
        &mut out,
        "cascade steps",
        f.cascade_steps_per_sec,
        f.cascade_steps,
        "dispatches",
    );
    line(
        &mut out,
        "scheduler steps",
        f.scheduler_steps_per_sec,
        f.scheduler_steps,
        "queue pops",
    );
    match f.peak_rss_bytes {
        Some(b) => out.push_str(&format!("  peak RSS           {:>11.1} MiB\n", mib(b))),
        None => out.push_str("  peak RSS           (not available on this platform)\n"),
    }
    if !failed.is_empty() {
        let shown: Vec<String> = failed.iter().take(10).map(u64::to_string).collect();
        out.push_str(&format!(
            "  {} seed(s) broke an invariant (first: {}); see `ripple run {label} --seed {}`\n",
            failed.len(),
            shown.join(", "),
            failed[0]
        ));
    }
    out
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `1234567.8` -> `1,234,568`; below 100, two decimals (`0.04`), so that one slow run
/// per second does not read as zero.
fn thousands(x: f64) -> String {
    if x < 100.0 {
        return format!("{:.2}", x.max(0.0));
    }
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::cli::Cli;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
        let cli = Cli::try_parse_from(["ripple", "bench"].iter().chain(args))?;
        match cli.command {
            crate::cli::Command::Bench(args) => Ok(args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn seeds_take_the_sweep_forms() {
        assert_eq!(parse(&["--seeds", "0..100"]).unwrap().seeds, Some(0..100));
        assert_eq!(parse(&["--seeds", "3..=4"]).unwrap().seeds, Some(3..5));
        assert_eq!(parse(&["x.toml"]).unwrap().seeds, None);
    }

    #[test]
    fn bad_seeds_are_bad_input_with_exit_status_2() {
        for bad in ["5..3", "a..b", "1..", ""] {
            let err = parse(&["--seeds", bad]).unwrap_err();
            assert_eq!(
                err.exit_code(),
                i32::from(crate::cli::EXIT_BAD_INPUT),
                "{bad:?}"
            );
            assert!(err.to_string().contains("0..1000"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.04), "0.04");
        assert_eq!(thousands(99.0), "99.00");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_234_567.8), "1,234,568");
    }
}

//! `ripple replay TRACE`: re-execute a recorded trace and confirm byte-identity.

use crate::cli::{bad_input, EXIT_FAIL, EXIT_PASS};
use crate::core::Seed;
use crate::sim::Runner;
use crate::trace::{first_difference, read_trace_file};
use std::path::{Path, PathBuf};

/// Re-execute a trace written by `ripple run --trace FILE` and confirm it is byte-identical.
///
/// Reads the scenario path, seed and swarm flag from the trace's header, runs the seed
/// again, and compares every record. On a difference, shows the first step that differs
/// (recorded vs replayed) and exits 1. The header is checked first: a trace whose records
/// are not the ones its header vouches for (hash, record count, format version) is bad
/// input (exit 2), not a behaviour change. The scenario is looked up beside the trace
/// first (where `ripple run --trace` names it from), then from the current directory.
///
/// Example: ripple run scenarios/netops.toml --seed 7 --trace t.jsonl && ripple replay t.jsonl
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// The trace file.
    pub trace: PathBuf,
}

pub fn run(args: &ReplayArgs) -> u8 {
    let bytes = match std::fs::read(&args.trace) {
        Ok(b) => b,
        Err(e) => {
            return bad_input(format!(
                "{}: failed to read the trace: {e}",
                args.trace.display()
            ))
        }
    };
    let (header, recorded) = match read_trace_file(&bytes) {
        Ok(read) => read,
        Err(e) => {
            return bad_input(format!(
                "{}:{}:1: {}\n  hint: write traces with `ripple run SCENARIO --seed N --trace FILE`, and do not edit them",
                args.trace.display(),
                e.line,
                e.message
            ))
        }
    };
    let Some(scenario_path) = resolve_scenario(&args.trace, &header.scenario) else {
        return bad_input(format!(
            "{}:1:1: the trace names the scenario {:?}, which is not a file beside the trace ({}) nor from here\n  hint: replay from the directory the trace was recorded in, or keep the scenario beside the trace",
            args.trace.display(),
            header.scenario,
            args.trace.parent().map(|d| d.display().to_string()).unwrap_or_default()
        ));
    };
    let scenario = match crate::cli::load_linted(&scenario_path, false) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let outcome = Runner::new(&scenario)
        .swarm(header.swarm)
        .trace_text(true)
        .run(Seed(header.seed));
    let replayed = outcome.trace_text.as_deref().expect("trace kept");
    let shown = scenario_path.display();
    match first_difference(recorded, replayed) {
        None => {
            println!(
                "replay: identical, {} steps, trace {} ({shown} --seed {})",
                outcome.steps(),
                outcome.trace_hash,
                header.seed
            );
            EXIT_PASS
        }
        Some(diff) => {
            println!("replay: the trace differs ({shown} --seed {})", header.seed);
            println!(
                "  recorded hash {}, replayed hash {}",
                header.trace_hash, outcome.trace_hash
            );
            println!("{diff}");
            EXIT_FAIL
        }
    }
}

/// The scenario a trace names: relative to the trace's own directory when that is a file
/// (`ripple run --trace` writes it so), else as written, relative to here (older traces
/// and the corpus's). Only regular files: a trace cannot make replay read a device.
pub(crate) fn resolve_scenario(trace: &Path, named: &str) -> Option<PathBuf> {
    let named = Path::new(named);
    let beside = trace.parent().map(|dir| dir.join(named));
    beside
        .into_iter()
        .chain(std::iter::once(named.to_path_buf()))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file()))
}

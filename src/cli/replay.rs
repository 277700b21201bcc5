//! `ripple replay TRACE`: re-execute a recorded trace and confirm byte-identity.

use crate::cli::{bad_input, EXIT_FAIL, EXIT_PASS};
use crate::core::Seed;
use crate::scenario::load_scenario;
use crate::sim::{run_scenario, RunOptions};
use crate::trace::{first_difference, TraceHeader};
use std::path::PathBuf;

/// Re-execute a trace written by `ripple run --trace FILE` and confirm it is byte-identical.
///
/// Reads the scenario path, seed and swarm flag from the trace's header, runs the seed
/// again, and compares every record. On a difference, shows the first step that differs
/// (recorded vs replayed) and exits 1. Run it from the directory the trace was recorded in
/// (the scenario path in the header is relative to it).
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
    let Some(split) = bytes.iter().position(|b| *b == b'\n') else {
        return bad_input(format!(
            "{}: not a ripple trace (no header line)",
            args.trace.display()
        ));
    };
    let header: TraceHeader = match serde_json::from_slice(&bytes[..split]) {
        Ok(h) => h,
        Err(e) => {
            return bad_input(format!(
                "{}:1:1: not a ripple trace: the first line must be its header ({e})\n  hint: write traces with `ripple run SCENARIO --seed N --trace FILE`",
                args.trace.display()
            ))
        }
    };
    let recorded = &bytes[split + 1..];
    let scenario = match load_scenario(std::path::Path::new(&header.scenario)) {
        Ok(s) => s,
        Err(e) => {
            return bad_input(format!(
            "{e}\n  (the trace names this scenario; replay from the directory it was recorded in)"
        ))
        }
    };
    let outcome = run_scenario(
        &scenario,
        Seed(header.seed),
        RunOptions {
            keep_trace: true,
            swarm: header.swarm,
        },
    );
    let replayed = outcome.trace_text.as_deref().expect("trace kept");
    match first_difference(recorded, replayed) {
        None => {
            println!(
                "replay: identical, {} steps, trace {} ({} --seed {})",
                outcome.steps(),
                outcome.trace_hash,
                header.scenario,
                header.seed
            );
            EXIT_PASS
        }
        Some(diff) => {
            println!(
                "replay: the trace differs ({} --seed {})",
                header.scenario, header.seed
            );
            println!(
                "  recorded hash {}, replayed hash {}",
                header.trace_hash, outcome.trace_hash
            );
            println!("{diff}");
            EXIT_FAIL
        }
    }
}

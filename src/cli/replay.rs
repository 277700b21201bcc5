//! `ripple replay TRACE`: re-execute a recorded trace and confirm byte-identity.

use crate::cli::{bad_input, EXIT_FAIL, EXIT_PASS};
use crate::core::Seed;
use crate::sim::Retain;
use crate::sim::Runner;
use crate::trace::{first_difference_streams, verify_trace, TraceReadError, DIFF_CONTEXT_LINES};
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
    let read_failed = |e: &dyn std::fmt::Display| {
        bad_input(format!(
            "{}: failed to read the trace: {e}\n  hint: check the path; traces are written by `ripple run SCENARIO --seed N --trace FILE`",
            args.trace.display()
        ))
    };
    // The trace is read as a stream, twice at most: once to check it, and (only when the
    // replay differs) once to find where. Memory holds a chunk, not a trace of gigabytes.
    let open = || -> std::io::Result<std::io::BufReader<std::fs::File>> {
        let meta = std::fs::metadata(&args.trace)?;
        if !meta.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it is not a regular file",
            ));
        }
        Ok(std::io::BufReader::with_capacity(
            1 << 16,
            std::fs::File::open(&args.trace)?,
        ))
    };
    let header = match open().map_err(TraceReadError::Io).and_then(verify_trace) {
        Ok(header) => header,
        Err(TraceReadError::Io(e)) => return read_failed(&e),
        Err(TraceReadError::Corrupt(e)) => {
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
    // The file's records hash to the header's hash (checked above): a replay with the same
    // hash and count is the same bytes.
    let runner = Runner::new(&scenario)
        .swarm(header.swarm)
        .keep(Retain::Summary);
    let outcome = runner.run(Seed(header.seed));
    let shown = scenario_path.display();
    if outcome.trace_hash.to_string() == header.trace_hash && outcome.steps() == header.steps {
        println!(
            "replay: identical, {} steps, trace {} ({shown} --seed {})",
            outcome.steps(),
            outcome.trace_hash,
            header.seed
        );
        return EXIT_PASS;
    }
    // Different: replay again into a scratch file beside the trace, and compare the two
    // streams line by line.
    let scratch = crate::core::scratch_beside(&args.trace, "replayed");
    let diff = (|| -> std::io::Result<_> {
        let out = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&scratch)?);
        let again = runner
            .sim(Seed(header.seed))
            .stream_trace(Box::new(out))
            .run();
        if let Some(e) = again.trace_error {
            return Err(std::io::Error::other(e));
        }
        let mut recorded = open()?;
        let mut skipped = Vec::new();
        std::io::BufRead::read_until(&mut recorded, b'\n', &mut skipped)?; // the header
        let replayed = std::io::BufReader::new(std::fs::File::open(&scratch)?);
        first_difference_streams(recorded, replayed, DIFF_CONTEXT_LINES)
    })();
    let _ = std::fs::remove_file(&scratch);
    println!("replay: the trace differs ({shown} --seed {})", header.seed);
    println!(
        "  recorded hash {}, replayed hash {}",
        header.trace_hash, outcome.trace_hash
    );
    match diff {
        Ok(Some(diff)) => println!("{diff}"),
        Ok(None) => println!("  (the records are the same lines; the hashes differ)"),
        Err(e) => println!("  (could not compare the records: {e})"),
    }
    EXIT_FAIL
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

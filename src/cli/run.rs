//! `ripple run SCENARIO --seed N`: one seeded run.

use crate::cli::{
    bad_input, load_linted, print_warnings, write_report_files, Format, EXIT_FAIL, EXIT_PASS,
};
use crate::core::Seed;
use crate::report::{render_json, render_text};
use crate::sim::{preflight, run_checked_keeping, run_checked_streaming, Retain, RunOptions};
use crate::trace::trace_file_bytes;
use std::path::PathBuf;

/// Run a scenario under one seed and report what happened.
///
/// Prints the cascade (what fired, what was skipped, which faults fired), reflex outcomes,
/// the final entities, any violations, and the command that reproduces the run. Every run
/// is executed twice and the two traces compared (the `determinism` invariant).
///
/// Example: ripple run scenarios/order_payment.toml --seed 42 --format json
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// The seed: it decides the order of concurrent inputs, fan-out order, sim_uuid ids,
    /// generated events and every fault.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Draw the fault configuration from the seed (as `sweep --swarm` does), replacing the
    /// scenario's [faults]. Use it to reproduce a swarm seed.
    #[arg(long)]
    pub swarm: bool,
    /// Output format: a readable summary, or one JSON object.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the full trace (JSON lines, with a header) to this file; `ripple replay
    /// FILE` re-executes it.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Also write reports to DIR (e.g. --report reports/runs): a self-contained HTML page,
    /// DIR/<scenario>-seed<N>.html, with a timeline of causes in virtual time (open it in a
    /// browser), and a Markdown one beside it with a picture of each cascade.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// `warnings`: the lint pass's warnings (things that can never happen) are bad input.
    #[arg(long, value_name = "WHAT", value_parser = ["warnings"])]
    pub deny: Option<String>,
}

/// Records a text report keeps when the trace goes to a file: far more than its cascade
/// lines need.
const TEXT_RECORDS_MAX: usize = 20_000;

/// The most records `--report` draws: a page holds every record (and the run is stepped
/// again to show the world between them), so a longer run gets no page, and says so,
/// instead of holding its whole trace in memory.
pub const REPORT_RECORDS_MAX: usize = 200_000;

/// What a run keeps of its records in memory: what its output needs. A report page needs
/// them all (up to [`REPORT_RECORDS_MAX`]); the text, its first lines' worth; the JSON, the
/// reaction results.
fn retention(args: &RunArgs) -> (Retain, usize) {
    match (&args.report, args.format) {
        (Some(_), _) => (Retain::Records, REPORT_RECORDS_MAX + 1),
        (None, Format::Text) => (Retain::Records, TEXT_RECORDS_MAX),
        (None, Format::Json) => (Retain::Report, 0),
    }
}

/// Runs the seed with its trace text streamed to a scratch file beside `file` as the run
/// goes (none of it held in memory), then writes `file`: the header, known only at the end,
/// and the records copied from the scratch file, atomically. The bytes are the ones a kept
/// trace gives.
fn run_streaming_trace(
    scenario: &crate::scenario::Scenario,
    args: &RunArgs,
    file: &std::path::Path,
    options: RunOptions,
) -> std::io::Result<crate::sim::RunOutcome> {
    let body_path = crate::core::scratch_beside(file, "records");
    if let Some(dir) = body_path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let body = std::fs::File::create(&body_path)?;
    let result = (|| {
        let out = std::io::BufWriter::with_capacity(64 * 1024, body);
        // The file gets every record: memory keeps what the output needs.
        let (retain, records_max) = retention(args);
        let outcome = run_checked_streaming(
            scenario,
            Seed(args.seed),
            options,
            retain,
            records_max,
            Box::new(out),
        );
        if let Some(e) = &outcome.trace_error {
            return Err(std::io::Error::other(e.clone()));
        }
        // The header names the scenario from the trace's directory, so that `ripple
        // replay` finds it wherever it is run from.
        let trace_dir = file.parent().unwrap_or(std::path::Path::new(""));
        let named = crate::core::relative_path(trace_dir, &args.scenario);
        let head = trace_file_bytes(&outcome.trace_header(&named.display().to_string()), &[]);
        crate::core::write_atomic_parts(file, &head, &mut std::fs::File::open(&body_path)?)?;
        Ok(outcome)
    })();
    let _ = std::fs::remove_file(&body_path);
    result
}

/// Whether the run is short enough for its `--report` pages; if not, says why.
fn report_fits(outcome: &crate::sim::RunOutcome) -> bool {
    if outcome.records_complete() && outcome.records.len() <= REPORT_RECORDS_MAX {
        return true;
    }
    eprintln!(
        "report: not written: the run has {} records, more than a report page draws ({REPORT_RECORDS_MAX})\n  hint: lower `until` or `steps_max` for a run worth drawing, or keep the whole trace with --trace FILE",
        outcome.steps()
    );
    false
}

pub fn run(args: &RunArgs) -> u8 {
    let scenario = match load_linted(&args.scenario, args.deny.is_some())
        .and_then(|s| preflight(&s).map(|()| s).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    print_warnings(&scenario);
    if let Some(file) = args
        .trace
        .as_ref()
        .filter(|f| crate::core::same_file(f, &args.scenario))
    {
        return bad_input(format!(
            "--trace {}: that is the scenario being run; refusing to overwrite an input\n  hint: write the trace to another file, e.g. t.jsonl",
            file.display()
        ));
    }
    let path = args.scenario.display().to_string();
    let options = RunOptions {
        keep_trace: false,
        swarm: args.swarm,
    };
    let outcome = match &args.trace {
        Some(file) => match run_streaming_trace(&scenario, args, file, options) {
            Ok(outcome) => outcome,
            Err(e) => {
                return bad_input(format!(
                    "failed to write the trace to {}: {e}",
                    file.display()
                ))
            }
        },
        None => {
            let (retain, records_max) = retention(args);
            run_checked_keeping(&scenario, Seed(args.seed), options, retain, records_max)
        }
    };
    if let Some(dir) = args.report.as_ref().filter(|_| report_fits(&outcome)) {
        let stem = args
            .scenario
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = format!("{stem}-seed{}", args.seed);
        let files = vec![
            (
                dir.join(format!("{name}.md")),
                crate::report::render_markdown(&outcome, &path).into_bytes(),
            ),
            (
                dir.join(format!("{name}.html")),
                crate::report::render_html(&outcome, &scenario, &path).into_bytes(),
            ),
        ];
        if let Err(code) = write_report_files(&files) {
            return code;
        }
    }
    match args.format {
        Format::Text => print!("{}", render_text(&outcome, &path)),
        Format::Json => println!("{}", render_json(&outcome, &path)),
    }
    if outcome.passed() {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

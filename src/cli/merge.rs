//! `ripple merge SHARD.jsonl...`: shards' JSON lines into one summary, coverage and JUnit.

use crate::cli::sweep::SweepFormat;
use crate::cli::{bad_input, write_report_files, EXIT_FAIL, EXIT_PASS};
use crate::report::{
    merge_shards, render_sweep_json_summary, render_sweep_junit, render_sweep_text, Declared,
};
use std::io::Write;
use std::path::PathBuf;

/// Merge the JSON lines of a sweep's shards into the sweep's summary.
///
/// Each FILE is the output of one `ripple sweep ... --shard I/N --format json`. The seeds
/// are merged in sweep order, so the failure groups, counts and coverage are those of the
/// unsharded sweep; a missing shard is said ("shards missing"), a repeated one is refused.
/// Exit status 1 when any seed failed, 2 when the files are not shards of one sweep.
///
/// Examples:
///   ripple merge shard-0.jsonl shard-1.jsonl
///   ripple merge shards/*.jsonl --format junit > junit.xml
///   ripple merge shards/*.jsonl --out reports/   # text, JSON and JUnit files at once
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct MergeArgs {
    /// The shards' JSON-lines files (`ripple sweep --format json` output).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output: a text summary, the JSON summary line, or JUnit XML.
    #[arg(long, value_enum, default_value_t = SweepFormat::Text)]
    pub format: SweepFormat,
    /// Also write DIR/<scenario>-merged.txt, .json and .junit.xml.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn run(args: &MergeArgs) -> u8 {
    let mut files = Vec::new();
    for path in &args.files {
        match std::fs::File::open(path) {
            Ok(f) => files.push((path.display().to_string(), std::io::BufReader::new(f))),
            Err(e) => return bad_input(format!("failed to read {}: {e}", path.display())),
        }
    }
    let (mut info, tally) = match merge_shards(files) {
        Ok(m) => m,
        Err(e) => {
            return bad_input(format!(
                "{e}\n  hint: give each shard's `ripple sweep --format json` output once"
            ))
        }
    };
    // The declared rules, transitions and handlers, when the scenario is where the shards
    // ran it from: coverage then lists what was never reached.
    if let Ok(s) = crate::scenario::load_scenario(std::path::Path::new(&info.scenario_path)) {
        info.declared = Some(Declared::of(&s));
    }
    if let Some(dir) = &args.out {
        let stem = std::path::Path::new(&info.scenario_path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sweep".into());
        let files = vec![
            (
                dir.join(format!("{stem}-merged.txt")),
                render_sweep_text(&info, &tally).into_bytes(),
            ),
            (
                dir.join(format!("{stem}-merged.json")),
                format!("{}\n", render_sweep_json_summary(&info, &tally)).into_bytes(),
            ),
            (
                dir.join(format!("{stem}-merged.junit.xml")),
                render_sweep_junit(&info, &tally).into_bytes(),
            ),
        ];
        if let Err(code) = write_report_files(&files) {
            return code;
        }
    }
    let mut stdout = std::io::stdout().lock();
    let _ = match args.format {
        SweepFormat::Text => write!(
            stdout,
            "{}",
            crate::cli::sweep::paint(
                &render_sweep_text(&info, &tally),
                crate::cli::sweep::color_on_stdout()
            )
        ),
        SweepFormat::Json => writeln!(stdout, "{}", render_sweep_json_summary(&info, &tally)),
        SweepFormat::Junit => write!(stdout, "{}", render_sweep_junit(&info, &tally)),
    };
    if crate::report::sweep_passed(&info, &tally) {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

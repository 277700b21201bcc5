//! The command line. Nothing else in the crate knows about the terminal.
//!
//! Exit status, one table for every command (`tests/exit_status.rs` holds each command to it):
//!
//! | status | meaning | run, sweep | shrink | check | replay | diff | corpus check | bench | record, publish |
//! |---|---|---|---|---|---|---|---|---|---|
//! | 0 | nothing failed | every invariant held | the seed passes: nothing to shrink | no counterexample (`pass`, or `incomplete` without `--require-complete`) | the replay is identical | the two runs are identical | every seed as recorded | the run passed | the scenario was written; the server has every message |
//! | 1 | a failure was found | a violation | the seed fails: its minimal scenario was written | a violation or order dependence (or a warning under `--deny warnings`, or `incomplete` under `--require-complete`) | the replay differs | the runs part at some step | a seed changed verdict or hash | the run broke an invariant | (never) |
//! | 2 | the input was bad | the message says where (file, line, column) and how to fix it | | | (a corrupt trace too) | (not a trace; traces of two scenarios) | | | an invalid pattern or path, an unreachable server (which, and what failed), refused credentials, a lost connection |

mod bench;
mod check;
mod corpus;
mod diff;
mod init;
mod lint;
mod merge;
mod publish;
mod record;
mod replay;
mod run;
mod shrink;
mod sweep;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

pub const EXIT_PASS: u8 = 0;
pub const EXIT_FAIL: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

/// The exit-status table, as `--help` prints it.
const EXIT_STATUS_HELP: &str = "Exit status, for every command:
  0  nothing failed: every invariant held (run, sweep); the seed passes, nothing to shrink
     (shrink); no counterexample (check: pass, or incomplete without --require-complete);
     identical (replay, diff); every seed as recorded (corpus check); written (record); the
     server has every message (publish)
  1  a failure was found: a violation (run, sweep); the seed fails and its minimal scenario
     was written (shrink); a counterexample (check; or incomplete with --require-complete);
     the replay differs (replay); the runs part (diff); a seed changed (corpus check)
  2  the input was bad: the message says where (file, line, column) and how to fix it; for
     record and publish also an unreachable server, refused credentials, a lost connection;
     a lint error (every command lints the scenario first; `ripple lint` only lints), or a
     lint warning under --deny warnings";

/// Deterministic simulation testing for event-driven systems.
///
/// One seed fully determines one run: a single-threaded scheduler in virtual time, with
/// deterministic ids, replays bus events and reaction cascades while invariants watch every
/// step.
#[derive(Debug, Parser)]
#[command(name = "ripple", version, about, long_about, after_long_help = EXIT_STATUS_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Run(run::RunArgs),
    Sweep(sweep::SweepArgs),
    Shrink(shrink::ShrinkArgs),
    Replay(replay::ReplayArgs),
    Corpus(corpus::CorpusArgs),
    Bench(bench::BenchArgs),
    Check(check::CheckArgs),
    Init(init::InitArgs),
    Record(record::RecordArgs),
    Publish(publish::PublishArgs),
    Diff(diff::DiffArgs),
    Lint(lint::LintArgs),
    Merge(merge::MergeArgs),
    Completions(CompletionsArgs),
}

/// Print a shell completion script.
///
/// Examples:
///   ripple completions bash > ~/.local/share/bash-completion/completions/ripple
///   ripple completions zsh > "${fpath[1]}/_ripple"
///   ripple completions fish > ~/.config/fish/completions/ripple.fish
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Parses the arguments, runs the command, returns the exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => run::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::Shrink(args) => shrink::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Corpus(args) => corpus::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Check(args) => check::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Record(args) => record::run(&args),
        Command::Publish(args) => publish::run(&args),
        Command::Diff(args) => diff::run(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Completions(args) => {
            use clap::CommandFactory;
            clap_complete::generate(
                args.shell,
                &mut Cli::command(),
                "ripple",
                &mut std::io::stdout(),
            );
            EXIT_PASS
        }
    };
    ExitCode::from(code)
}

/// Loads a scenario and lints it (`scenario/lint.rs`), before anything runs: what every
/// command that runs a scenario calls. Lint errors are bad input; its warnings join the
/// scenario's load-time warnings (printed by [`print_warnings`], carried by JSON reports),
/// and with `deny_warnings` they are bad input too. The error is every message, one after
/// the other, for [`bad_input`].
fn load_linted(
    path: &std::path::Path,
    deny_warnings: bool,
) -> Result<crate::scenario::Scenario, String> {
    let mut scenario = crate::scenario::load_scenario(path).map_err(|e| e.to_string())?;
    // The command line has no Rust handlers: a library reflex names nothing here.
    crate::sim::Library::default()
        .check(&scenario)
        .map_err(|e| e.to_string())?;
    let lints = crate::scenario::lint_scenario(&scenario);
    let mut failures: Vec<String> = lints.errors.iter().map(|e| e.to_string()).collect();
    let warnings = lints.warning_lines();
    if deny_warnings {
        failures.extend(
            warnings
                .iter()
                .map(|w| format!("{w}\n  (an error under --deny warnings)")),
        );
    }
    if !failures.is_empty() {
        return Err(failures.join("\nerror: "));
    }
    scenario.warnings.extend(warnings);
    Ok(scenario)
}

/// Prints the scenario's load-time warnings (constructs of temper files that Ripple reads
/// but does not simulate) to stderr, where they do not mix with JSON output.
fn print_warnings(scenario: &crate::scenario::Scenario) {
    for w in &scenario.warnings {
        eprintln!("{w}");
    }
}

/// Writes report files, all or none, and says where each went and how large it is. An
/// unwritable place is bad input: `Err` carries exit status 2, after saying why.
fn write_report_files(files: &[(std::path::PathBuf, Vec<u8>)]) -> Result<(), u8> {
    if let Err(e) = crate::core::write_all_atomic(files) {
        let dir = files
            .first()
            .and_then(|(p, _)| p.parent())
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        return Err(bad_input(format!(
            "failed to write the report to {dir}: {e} (nothing was written)"
        )));
    }
    for (path, bytes) in files {
        eprintln!("report: {} ({})", path.display(), size_text(bytes.len()));
    }
    Ok(())
}

/// `812 B`, `23.4 KB`, `5.1 MB`.
fn size_text(bytes: usize) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// Prints a user error and returns exit status 2.
fn bad_input(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    EXIT_BAD_INPUT
}

//! `ripple corpus check|add|bless`: the seed corpus as a regression suite.

use crate::cli::{bad_input, EXIT_FAIL, EXIT_PASS};
use crate::corpus::{add_to_corpus, bless_corpus_dir, check_corpus_dir, Change, EntryCheck};
use crate::report::render_parting_text;
use std::io::IsTerminal;
use std::path::PathBuf;

/// A changed entry: what changed, and for a changed trace, where the recorded and the
/// replayed runs part (as `ripple diff` shows it).
fn print_change(c: &EntryCheck, color: bool) {
    let mut plain = c.clone();
    let mut partings = Vec::new();
    for change in &mut plain.changes {
        if let Change::Hash { diff, .. } = change {
            partings.extend(diff.take());
        }
    }
    println!("{plain}");
    for d in partings {
        for line in render_parting_text(&d, "recorded", "replayed", color).lines() {
            println!("    {line}");
        }
    }
}

/// Keep seeds with their expected verdict and trace hash, and replay them.
///
/// `check` replays every seed of every corpus file and fails (exit 1) on any change of
/// verdict or trace hash, showing the first differing trace step. `cargo test` runs it over
/// seeds/, so CI is a regression run. `add` records a seed (a known failure stays a known
/// failure); `bless` accepts intended changes.
#[derive(Debug, clap::Args)]
pub struct CorpusArgs {
    #[command(subcommand)]
    pub command: CorpusCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum CorpusCommand {
    /// Replay every seed in DIR (default seeds/); exit 1 on any change.
    Check {
        #[arg(default_value = "seeds")]
        dir: PathBuf,
    },
    /// Run SCENARIO under --seed N and record it in DIR/<scenario>.toml.
    Add {
        scenario: PathBuf,
        #[arg(long)]
        seed: u64,
        /// The seed runs with a swarm fault configuration.
        #[arg(long)]
        swarm: bool,
        /// Why this seed is in the corpus (e.g. "known failure: late authorization").
        #[arg(long)]
        note: Option<String>,
        /// A minimal scenario for this failing seed (from `ripple shrink`); `corpus check`
        /// then also checks that it still fails.
        #[arg(long, value_name = "FILE")]
        minimal: Option<PathBuf>,
        /// The corpus directory.
        #[arg(long, default_value = "seeds")]
        dir: PathBuf,
    },
    /// Re-run every seed in DIR and accept the new verdicts, hashes and traces.
    Bless {
        #[arg(default_value = "seeds")]
        dir: PathBuf,
    },
}

pub fn run(args: &CorpusArgs) -> u8 {
    match &args.command {
        CorpusCommand::Check { dir } => match check_corpus_dir(dir) {
            Err(e) => bad_input(e),
            Ok(checks) => {
                let changed: Vec<_> = checks.iter().filter(|c| !c.changes.is_empty()).collect();
                let color = std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
                for c in &changed {
                    print_change(c, color);
                }
                println!("corpus: {} seeds, {} changed", checks.len(), changed.len());
                if changed.is_empty() {
                    EXIT_PASS
                } else {
                    println!(
                        "if the changes are intended: ripple corpus bless {}",
                        dir.display()
                    );
                    EXIT_FAIL
                }
            }
        },
        CorpusCommand::Add {
            scenario,
            seed,
            swarm,
            note,
            minimal,
            dir,
        } => match crate::cli::load_linted(scenario, false).and_then(|_| {
            // A minimal scenario is linted as well: it is what the corpus will replay.
            match minimal {
                Some(m) => crate::cli::load_linted(m, false).map(|_| ()),
                None => Ok(()),
            }
        }) {
            Err(e) => bad_input(e),
            Ok(()) => match add_to_corpus(
                dir,
                scenario,
                *seed,
                *swarm,
                note.clone(),
                minimal.as_deref(),
            ) {
                Err(e) => bad_input(e),
                Ok(e) => {
                    println!(
                        "corpus: added seed {} ({}, trace {}) to {}",
                        e.seed,
                        e.verdict,
                        e.trace_hash,
                        dir.display()
                    );
                    EXIT_PASS
                }
            },
        },
        CorpusCommand::Bless { dir } => match bless_corpus_dir(dir) {
            Err(e) => bad_input(e),
            Ok(changed) => {
                let color = std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
                for c in &changed {
                    print_change(c, color);
                }
                println!("corpus: blessed, {} entries changed", changed.len());
                EXIT_PASS
            }
        },
    }
}

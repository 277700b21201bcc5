//! The command line. Nothing else in the crate knows about the terminal.
//!
//! Exit status, for every command:
//!
//! | status | meaning |
//! |---|---|
//! | 0 | every invariant held |
//! | 1 | a violation (or a counterexample) was found |
//! | 2 | the input was bad: the message says where and why |

mod bench;
mod check;
mod corpus;
mod replay;
mod run;
mod shrink;
mod sweep;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

pub const EXIT_PASS: u8 = 0;
pub const EXIT_FAIL: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

/// Deterministic simulation testing for event-driven systems.
///
/// One seed fully determines one run: a single-threaded scheduler in virtual time, with
/// deterministic ids, replays bus events and reaction cascades while invariants watch every
/// step. Exit status: 0 all invariants held, 1 a violation was found, 2 bad input.
#[derive(Debug, Parser)]
#[command(name = "ripple", version, about, long_about)]
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
    };
    ExitCode::from(code)
}

/// Prints a user error and returns exit status 2.
fn bad_input(message: impl std::fmt::Display) -> u8 {
    eprintln!("error: {message}");
    EXIT_BAD_INPUT
}

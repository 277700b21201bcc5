//! `ripple publish SCENARIO`: a scenario onto a live NATS bus.

use crate::cli::record::{per_sec, ServerArgs};
use crate::cli::{bad_input, EXIT_PASS};
use crate::core::{format_duration_ms, Seed};
use crate::live::{publications, publish, PublishPlan, Speed, TENANT_HEADER};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

/// Publish a scenario's bus events to a live NATS server
///
/// Publishes the scenario's bus events (generators expanded for --seed, concurrent events
/// in the seed's order) at their virtual times scaled by --speed, so that a staging system
/// is driven by the same scenario that was swept. With --with-commits, also the
/// `entity.<Type>.<Action>.<id>` publications that a run of the seed makes, when it makes
/// them. Each message carries its tenant in the `Ripple-Tenant` header (`ripple record`
/// reads it back); a string payload is sent as its text, anything else as JSON.
///
/// Exit status: 0 the server has every message; 2 bad input (a scenario that does not
/// load, a server that cannot be reached or refuses the credentials, a lost connection).
///
/// Examples:
///   ripple publish scenarios/recorded.toml --server nats://staging:4222 --speed 10x
///   ripple publish scenarios/order_payment.toml --with-commits --seed 7 --speed max
///   ripple publish scenarios/netops.toml --dry-run
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct PublishArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    #[command(flatten)]
    pub server: ServerArgs,
    /// How fast virtual time runs: 1x (the scenario's pace), 10x, 0.5x, or max (no waits).
    #[arg(long, default_value = "1x", value_parser = Speed::parse)]
    pub speed: Speed,
    /// The seed of the run whose publications are sent (generators, order, commits).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also publish the entity.<Type>.<Action>.<id> messages of committed actions.
    #[arg(long)]
    pub with_commits: bool,
    /// Print what would be published (JSON lines: at_ms, tenant, subject, payload) and
    /// connect to nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: &PublishArgs) -> u8 {
    let scenario = match crate::cli::load_linted(&args.scenario, false) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let pubs = publications(&scenario, Seed(args.seed), args.with_commits);
    let commits = pubs.iter().filter(|p| p.commit).count();
    if args.dry_run {
        let mut stdout = std::io::stdout().lock();
        for p in &pubs {
            let line = json!({
                "at_ms": p.at.ms(),
                "tenant": p.tenant.as_str(),
                "subject": p.subject.as_str(),
                "payload": p.payload,
                "commit": p.commit,
            });
            if writeln!(stdout, "{line}").is_err() {
                break;
            }
        }
        return EXIT_PASS;
    }
    let plan = PublishPlan {
        server: args.server.spec(),
        speed: args.speed,
        progress: std::io::stderr().is_terminal() && std::env::var_os("CI").is_none(),
    };
    let span_ms = pubs.last().map_or(0, |p| p.at.ms());
    eprintln!(
        "publishing {} messages ({} events, {} commits) spanning {} of virtual time to {} at {}",
        pubs.len(),
        pubs.len() - commits,
        commits,
        format_duration_ms(span_ms),
        plan.server.display_url(),
        args.speed
    );
    let stats = match publish(&pubs, &plan) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let secs = stats.elapsed.as_secs_f64().max(1e-9);
    println!(
        "published {} messages ({} bytes of payload, tenant in the {TENANT_HEADER} header) to {} in {:.2}s: {} msg/s",
        stats.messages,
        stats.bytes,
        plan.server.display_url(),
        secs,
        per_sec(stats.messages as f64, secs)
    );
    if stats.disconnects > 0 {
        eprintln!(
            "note: the connection dropped {} times while publishing: some messages may not have reached the server",
            stats.disconnects
        );
    }
    EXIT_PASS
}

//! `ripple check SCENARIO`: model-check the scenario's guards, rule pairs, resolvers and
//! (when small enough) cascades with stateright, next to the real engine.

use crate::cli::{bad_input, print_warnings, write_report_files, Format, EXIT_FAIL, EXIT_PASS};
use crate::core::parse_duration_ms;
use crate::model::{
    check_scenario, render_check_json, render_check_text, CheckOptions, ModelConfig,
};
use crate::scenario::load_scenario;
use std::path::PathBuf;
use std::time::Duration;

/// Seeds of one `ripple check --seeds` at most (each is a model of its own).
const SEEDS_MAX: u64 = 1000;

/// Explore every state of a scenario's guards, resolvers and small cascades.
///
/// Each rule's guard is evaluated by the engine in every input its trigger can produce and
/// compared with a reference semantics; rules that can never fire, guards that never fail
/// and pairs of rules that can act on one target at once are reported. Small scenarios are
/// explored as cascades: every order of concurrent inputs (and, with faults, of messages),
/// checking the invariants in every state; two schedules that end differently are reported
/// with both, written as scenarios that `ripple run` replays.
///
/// The verdict is `pass` only when every model explored its whole space; a model that ran
/// out of a budget, or that was not explored (too many root events, generators), makes it
/// `incomplete`, printed where it cannot be missed.
///
/// Exit status: 0 no violation (`pass`, or `incomplete` without --require-complete), 1 a
/// violation or order dependence (or, with --deny warnings, any finding; or, with
/// --require-complete, an incomplete check), 2 bad input.
///
/// The cascade model explores one order of deliveries that touch different things
/// (partial-order reduction; --no-reduction explores every order), with up to --faults-max
/// faults per path of the kinds `[faults]` enables (drops, duplicates, action failures,
/// handler crashes, reflex restarts; an integration's answer may be lost, duplicated or
/// fail too); a `[[fault]]` schedule and `[[answer]]` pins are followed exactly. A scenario
/// with generators is checked for each seed of --seeds, its generated events as roots. When
/// the states run out before the timeout, a seeded random walk goes on looking for
/// violations until the timeout; the verdict stays `incomplete`.
///
/// Example: ripple check scenarios/race.toml --format json
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// States per model; a model that reaches it is reported incomplete.
    #[arg(long, value_name = "N", default_value_t = crate::model::STATES_MAX_DEFAULT)]
    pub max_states: usize,
    /// Wall-clock budget of the whole check (e.g. "30s", "2m").
    #[arg(long, value_name = "T", default_value = "60s")]
    pub timeout: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// `warnings`: dead rules, always-firing guards and conflicts fail the check too.
    #[arg(long, value_name = "WHAT", value_parser = ["warnings"])]
    pub deny: Option<String>,
    /// Exit 1 when the check is incomplete (some model did not explore its whole space).
    #[arg(long)]
    pub require_complete: bool,
    /// Explore every interleaving of independent deliveries (no partial-order reduction).
    #[arg(long)]
    pub no_reduction: bool,
    /// Faults injected per path at most, of the kinds the scenario's `[faults]` enables.
    #[arg(long, value_name = "N", default_value_t = crate::model::FAULTS_MAX_DEFAULT)]
    pub faults_max: u8,
    /// Seeds whose generated events are checked (scenarios with `[[generator]]`s): one
    /// seed (`7`) or a range (`0..10`).
    #[arg(long, value_name = "A..B", default_value = "0")]
    pub seeds: String,
    /// The random walk's seed (after the states run out); `none`: no walk.
    #[arg(long, value_name = "N", default_value = "0")]
    pub walk_seed: String,
    /// Memory the cascade search may hold (e.g. 512MiB, 4GiB): past it the model stops
    /// growing and is reported incomplete (`memory budget`).
    #[arg(long, value_name = "SIZE", default_value = "512MiB")]
    pub memory_max: String,
    /// Where counterexample scenarios are written, each with the HTML report of its run
    /// beside it (<counterexample>.html).
    #[arg(long, value_name = "DIR", default_value = "reports/check")]
    pub out: PathBuf,
}

pub fn run(args: &CheckArgs) -> u8 {
    // Its --deny warnings covers the lint pass's warnings too (as bad input, exit 2).
    let scenario = match crate::cli::load_linted(&args.scenario, args.deny.is_some()) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    print_warnings(&scenario);
    let timeout_ms = match parse_duration_ms(&args.timeout) {
        Ok(ms) => ms,
        Err(e) => return bad_input(format!("--timeout: {e}")),
    };
    if args.max_states == 0 {
        return bad_input("--max-states must be at least 1");
    }
    let memory_max = match crate::core::parse_size(&args.memory_max) {
        Ok(bytes) => bytes,
        Err(e) => {
            return bad_input(format!(
                "--memory-max: {e}\n  hint: a size with a binary unit, e.g. --memory-max 2GiB (the default is 512MiB)"
            ))
        }
    };
    let seeds = match crate::sim::parse_seed_range(&args.seeds) {
        Ok(r) if r.end - r.start > SEEDS_MAX => {
            return bad_input(format!(
                "--seeds: {} seeds; at most {SEEDS_MAX} are checked at once",
                r.end - r.start
            ))
        }
        Ok(r) => r.collect(),
        Err(e) => return bad_input(format!("--seeds: {e}")),
    };
    let walk_seed = match args.walk_seed.as_str() {
        "none" => None,
        text => match text.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                return bad_input(format!(
                    "--walk-seed: {text:?} is neither a number nor `none`"
                ))
            }
        },
    };
    let text = std::fs::read_to_string(&args.scenario).ok();
    let options = CheckOptions {
        states_max: args.max_states,
        timeout: Duration::from_millis(timeout_ms),
        out_dir: Some(args.out.clone()),
        model: ModelConfig {
            reduce: !args.no_reduction,
            faults_max: args.faults_max,
        },
        seeds,
        memory_max,
        walk_seed,
    };
    #[allow(clippy::disallowed_methods)] // The command's wall-clock budget, outside any run.
    let deadline = std::time::Instant::now() + options.timeout;
    let report = check_scenario(&scenario, text.as_deref(), &options);
    if let Err(code) = write_counterexample_pages(&report, deadline) {
        return code;
    }
    let deny = args.deny.is_some();
    match args.format {
        Format::Text => print!("{}", render_check_text(&report, deny, true)),
        Format::Json => println!("{}", render_check_json(&report, deny)),
    }
    if report.failed(deny) || (args.require_complete && !report.complete()) {
        EXIT_FAIL
    } else {
        if !report.complete() && args.format == Format::Json {
            eprintln!("ripple check: INCOMPLETE: not every model explored its whole space");
        }
        EXIT_PASS
    }
}

/// The most records a counterexample's page is drawn for by `check`.
const PAGE_STEPS_MAX: u64 = 200_000;

/// The run report of each counterexample scenario the check wrote, beside it: the same
/// page `ripple run COUNTEREXAMPLE --report DIR` writes. Within the check's `--timeout`:
/// a page whose run would end past it is not written, and the check says so.
fn write_counterexample_pages(
    report: &crate::model::CheckReport,
    deadline: std::time::Instant,
) -> Result<(), u8> {
    let mut files = Vec::new();
    #[allow(clippy::disallowed_methods)] // The command's wall time, between steps of a run.
    let mut go_on = || std::time::Instant::now() < deadline;
    for path in report.findings().filter_map(|f| f.scenario.as_ref()) {
        let Ok(scenario) = load_scenario(path) else {
            continue;
        };
        // Only a page's worth of records is kept: a longer run gets no page (below), and its
        // records would only have been dropped.
        let Some(outcome) = crate::sim::Sim::retaining(
            &scenario,
            crate::core::Seed(0),
            crate::sim::RunOptions::default(),
            crate::sim::Retain::Records,
        )
        .keep_records_max(PAGE_STEPS_MAX as usize)
        .run_while(&mut go_on) else {
            eprintln!(
                "report: {} not written: the check's --timeout ran out (ripple run {} --report DIR writes it)",
                path.with_extension("html").display(),
                path.display()
            );
            continue;
        };
        // A page draws every record: past this many, the page (tens of MB, a GB to build)
        // is not worth making for every check.
        if outcome.steps() > PAGE_STEPS_MAX {
            eprintln!(
                "report: {} not written: its run has {} records, more than a check draws ({PAGE_STEPS_MAX}); ripple run {} --report DIR writes it",
                path.with_extension("html").display(),
                outcome.steps(),
                path.display()
            );
            continue;
        }
        let shown = path.display().to_string();
        files.push((
            path.with_extension("html"),
            crate::report::render_html(&outcome, &scenario, &shown).into_bytes(),
        ));
    }
    write_report_files(&files)
}

//! The one way in: [`Runner`] starts a run, a step-by-step simulation, a run checked for
//! determinism, or a sweep of one scenario.
//!
//! ```
//! use ripple::{load_scenario, Runner, Seed};
//! use std::path::Path;
//!
//! let scenario = load_scenario(Path::new("scenarios/order_payment.toml")).unwrap();
//! let runner = Runner::new(&scenario);
//! let outcome = runner.run(Seed(42));
//! assert!(outcome.passed(), "{:?}", outcome.violations);
//! // The same seed gives the same trace, byte for byte.
//! assert_eq!(runner.run(Seed(42)).trace_hash, outcome.trace_hash);
//! ```

use crate::check::{compare_runs, handler_at, Invariant, Violation};
use crate::core::Seed;
use crate::engine::reflex::ReflexHandler;
use crate::scenario::{InvariantKind, ReflexKind, Scenario, SourceError};
use crate::sim::{
    sweep_retaining, Library, Prepared, Retain, RunOptions, RunOutcome, SeedResult, Sim,
};
use std::cell::OnceCell;
use std::sync::Arc;

/// Runs one scenario: configure it once, then start as many runs as you like.
///
/// A runner prepares the scenario on its first run (the engine's tables, the subscriptions,
/// the scripted payloads) and starts every later run from there; a sweep prepares it once per
/// thread. Every run started here gives the trace a run from scratch gives, byte for byte.
pub struct Runner<'s> {
    scenario: &'s Scenario,
    options: RunOptions,
    /// `None`: every record for one run, the least for a sweep.
    retain: Option<Retain>,
    library: Library,
    prepared: OnceCell<Prepared<'s>>,
}

impl<'s> Runner<'s> {
    /// A runner of `scenario`: its own `[faults]` (no swarm), every record kept, no trace
    /// text.
    pub fn new(scenario: &'s Scenario) -> Runner<'s> {
        Runner {
            scenario,
            options: RunOptions::default(),
            retain: None,
            library: Library::default(),
            prepared: OnceCell::new(),
        }
    }

    /// Registers a reflex handler written in Rust: `make` makes a fresh one (empty memory),
    /// called for every run (and again when a `reflex_restart` fault restarts it). The
    /// scenario names it by its id: `[[reflex]]` with `id` equal to the handler's
    /// [`ReflexHandler::id`] and `library = true`. The handler brings its own pattern.
    ///
    /// ```
    /// # use ripple::{parse_scenario, Runner, Seed, ReflexHandler, Envelope, Pattern,
    /// #     HandlerOutput, SimTime};
    /// struct Silent(Pattern);
    /// impl ReflexHandler for Silent {
    ///     fn id(&self) -> &str { "silent" }
    ///     fn pattern(&self) -> &Pattern { &self.0 }
    ///     fn fingerprint(&self) -> String { "silent".into() }
    ///     fn handle(&mut self, _: &Envelope, _: SimTime) -> Result<Option<HandlerOutput>, String> {
    ///         Ok(None)
    ///     }
    /// }
    /// let scenario = parse_scenario(r#"
    ///     [scenario]
    ///     name = "quiet"
    ///     [[tenant]]
    ///     id = "t"
    ///     [[reflex]]
    ///     id = "silent"
    ///     library = true
    ///     [[event]]
    ///     at = "0ms"
    ///     tenant = "t"
    ///     subject = "sensory.ping"
    /// "#, std::path::Path::new("quiet.toml")).unwrap();
    /// let runner = Runner::new(&scenario)
    ///     .handler(|| Box::new(Silent(Pattern::new("sensory.>").unwrap())));
    /// assert!(runner.run(Seed(1)).passed());
    /// ```
    pub fn handler<F>(mut self, make: F) -> Runner<'s>
    where
        F: Fn() -> Box<dyn ReflexHandler> + Send + Sync + 'static,
    {
        self.library.add_handler(Arc::new(make));
        self.prepared = OnceCell::new();
        self
    }

    /// Registers an invariant written in Rust: `make` makes a fresh one for every run, which
    /// sees every record of the run and its end, as the built-in invariants do. Its
    /// violations are reported under its [`Invariant::name`].
    pub fn invariant<F>(mut self, make: F) -> Runner<'s>
    where
        F: Fn() -> Box<dyn Invariant> + Send + Sync + 'static,
    {
        self.library.add_invariant(Arc::new(make));
        self.prepared = OnceCell::new();
        self
    }

    /// Whether every library handler the scenario names is registered, and every registered
    /// one is named: `Err` says which is not, where, and how to fix it. Runs check this
    /// first, and panic with that message when it fails.
    pub fn check_library(&self) -> Result<(), SourceError> {
        self.library.check(self.scenario)
    }

    /// With `on`, each seed draws a whole fault configuration (which faults are on, their
    /// rates) in place of the scenario's `[faults]`, as `ripple run --swarm` does.
    pub fn swarm(mut self, on: bool) -> Runner<'s> {
        self.options.swarm = on;
        self
    }

    /// What each run keeps ([`Retain`]). By default a run keeps every record and a sweep
    /// keeps only a summary per seed.
    pub fn keep(mut self, retain: Retain) -> Runner<'s> {
        self.retain = Some(retain);
        self
    }

    /// With `on`, each run keeps its canonical trace text ([`RunOutcome::trace_file`]).
    pub fn trace_text(mut self, on: bool) -> Runner<'s> {
        self.options.keep_trace = on;
        self
    }

    pub fn scenario(&self) -> &'s Scenario {
        self.scenario
    }

    fn prepared(&self) -> &Prepared<'s> {
        self.prepared.get_or_init(|| {
            self.ready();
            Prepared::with_library(self.scenario, &self.library)
        })
    }

    /// Panics with [`Runner::check_library`]'s error, if any.
    fn ready(&self) {
        if let Err(e) = self.check_library() {
            panic!("{e}");
        }
    }

    /// Runs the scenario under `seed` to its end.
    ///
    /// # Panics
    ///
    /// When [`Runner::check_library`] fails (so do [`Runner::sim`], [`Runner::run_twice`]
    /// and the sweeps).
    pub fn run(&self, seed: Seed) -> RunOutcome {
        self.sim(seed).run()
    }

    /// A run of the scenario under `seed`, ready to step ([`Sim::step`]).
    pub fn sim(&self, seed: Seed) -> Sim<'s> {
        let retain = self.retain.unwrap_or(Retain::Records);
        self.prepared().sim(seed, self.options, retain)
    }

    /// Runs the seed twice and adds a `determinism` violation if the two traces differ:
    /// what `ripple run` does, since a run that does not reproduce is the first thing to know.
    pub fn run_twice(&self, seed: Seed) -> RunOutcome {
        let retain = self.retain.unwrap_or(Retain::Records);
        let mut first = self.run(seed);
        let quiet = RunOptions {
            keep_trace: false,
            ..self.options
        };
        // From scratch, not from the prepared scenario: the second run shares nothing with
        // the first.
        let second = Prepared::build(self.scenario, false, &self.library)
            .sim(seed, quiet, retain)
            .run();
        if let Some(mut v) = compare_runs(
            seed.0,
            (&first.trace_hash, &first.records),
            (&second.trace_hash, &second.records),
        ) {
            name_process_handler(self.scenario, &first, &second, &mut v);
            // No rule noted: `failure_signature` finds it in the records.
            first.violations.push(v);
        }
        first
    }

    /// Runs `seeds` on `jobs` threads (each run alone on its thread) and returns one result
    /// per seed, in seed order.
    pub fn sweep(&self, seeds: &[u64], jobs: usize) -> Vec<SeedResult> {
        self.sweep_with(seeds, jobs, &|_| None, &mut |_| {})
    }

    /// [`Runner::sweep`], calling `on_result` on the calling thread as each seed finishes
    /// (progress, streaming output) with the line `render` made of its run (a JSON report,
    /// or nothing). Runs rendered keep what a report needs ([`Retain::Report`]) unless
    /// [`Runner::keep`] said otherwise.
    pub fn sweep_with(
        &self,
        seeds: &[u64],
        jobs: usize,
        render: &(dyn Fn(&RunOutcome) -> Option<String> + Sync),
        on_result: &mut dyn FnMut(&SeedResult),
    ) -> Vec<SeedResult> {
        let retain = self.retain.unwrap_or(Retain::Summary);
        self.ready();
        let (scenario, library) = (self.scenario, &self.library);
        sweep_retaining(
            &|| Prepared::with_library(scenario, library),
            seeds,
            jobs,
            self.options,
            retain,
            render,
            on_result,
        )
    }
}

/// Runs `scenario` under `seed`, keeping every record.
pub fn run_scenario(scenario: &Scenario, seed: Seed, options: RunOptions) -> RunOutcome {
    Sim::new(scenario, seed, options).run()
}

/// [`run_scenario`], asking `go_on` now and then whether to continue ([`Sim::run_while`]):
/// `None` when it said no. The shrinker's time budget.
pub fn run_scenario_while(
    scenario: &Scenario,
    seed: Seed,
    options: RunOptions,
    retain: Retain,
    go_on: &mut dyn FnMut() -> bool,
) -> Option<RunOutcome> {
    Sim::retaining(scenario, seed, options, retain).run_while(go_on)
}

/// Runs `scenario` under `seed`, keeping what `retain` says. The trace (its hash, and its
/// text with `keep_trace`) is the same whatever is kept.
pub fn run_scenario_retaining(
    scenario: &Scenario,
    seed: Seed,
    options: RunOptions,
    retain: Retain,
) -> RunOutcome {
    Sim::retaining(scenario, seed, options, retain).run()
}

/// Runs the seed twice and adds a `determinism` violation if the two traces differ. This is
/// what `ripple run` does: a run that does not reproduce is the first thing to know.
pub fn run_checked(scenario: &Scenario, seed: Seed, options: RunOptions) -> RunOutcome {
    let first = run_scenario(scenario, seed, options);
    check_determinism(scenario, seed, options, first)
}

/// [`run_checked`], the first run keeping what `retain` says of its records, at most
/// `records_max` of them: `ripple run` without `--trace`, whose memory then does not grow
/// with the records of a long run.
pub fn run_checked_keeping(
    scenario: &Scenario,
    seed: Seed,
    options: RunOptions,
    retain: Retain,
    records_max: usize,
) -> RunOutcome {
    let first = Sim::retaining(scenario, seed, options, retain)
        .keep_records_max(records_max)
        .run();
    check_determinism(scenario, seed, options, first)
}

/// [`run_checked`], the first run streaming its trace text to `out` as it goes
/// ([`Sim::stream_trace`]) instead of keeping it, and keeping what `retain` says of its
/// records, at most `records_max` of them: `ripple run --trace FILE`, whose memory then
/// does not grow with the run.
pub fn run_checked_streaming(
    scenario: &Scenario,
    seed: Seed,
    options: RunOptions,
    retain: Retain,
    records_max: usize,
    out: Box<dyn std::io::Write + Send>,
) -> RunOutcome {
    let quiet = RunOptions {
        keep_trace: false,
        ..options
    };
    let first = Sim::retaining(scenario, seed, quiet, retain)
        .keep_records_max(records_max)
        .stream_trace(out)
        .run();
    check_determinism(scenario, seed, options, first)
}

/// Runs the seed a second time, from scratch, and adds a `determinism` violation to `first`
/// if the traces differ. The second run keeps only its hash; only when the hashes differ
/// does a third run keep its records, to say where the runs part.
fn check_determinism(
    scenario: &Scenario,
    seed: Seed,
    options: RunOptions,
    mut first: RunOutcome,
) -> RunOutcome {
    let quiet = RunOptions {
        keep_trace: false,
        ..options
    };
    add_sometimes_violations(scenario, &mut first);
    let second = run_scenario_retaining(scenario, seed, quiet, Retain::Summary);
    if second.trace_hash == first.trace_hash {
        return first;
    }
    let again = run_scenario(scenario, seed, quiet);
    // A first run that kept only some of its records (its trace went to a file) is run once
    // more with all of them, to say where the runs part.
    let whole = (!first.records_complete()).then(|| run_scenario(scenario, seed, quiet));
    let first_whole = whole.as_ref().unwrap_or(&first);
    if let Some(mut v) = compare_runs(
        seed.0,
        (&first.trace_hash, &first_whole.records),
        (&second.trace_hash, &again.records),
    ) {
        name_process_handler(scenario, first_whole, &again, &mut v);
        // No rule noted: `failure_signature` finds it in the records.
        first.violations.push(v);
    }
    first
}

/// For one run taken alone (`ripple run`, the corpus): a `sometimes` invariant that held in
/// no checked state of it is a violation, at the end of the run. (A sweep asks it of the
/// sweep instead: see [`crate::sim::SweepTally::sometimes`].)
pub fn add_sometimes_violations(scenario: &Scenario, outcome: &mut RunOutcome) {
    for spec in &scenario.invariants {
        let inv = &spec.invariant;
        if inv.kind == InvariantKind::Sometimes && !outcome.sometimes_held.contains(&inv.name) {
            outcome.violations.push(Violation {
                invariant: inv.name.clone(),
                message: format!("sometimes {:?} held in no state of this run", inv.text),
                step: outcome.steps(),
            });
            outcome.violation_rules.push(None);
        }
    }
}

/// When two runs parted at a process handler's record, says so in the `determinism`
/// violation: a process handler is the usual suspect, and what it must not do is known.
fn name_process_handler(
    scenario: &Scenario,
    first: &RunOutcome,
    second: &RunOutcome,
    v: &mut Violation,
) {
    let process = handler_at(&first.records, v.step)
        .or_else(|| handler_at(&second.records, v.step))
        .and_then(|h| {
            scenario.reflexes.iter().find_map(|r| match &r.kind {
                ReflexKind::Process { spec, .. } if spec.id == h => Some(spec),
                _ => None,
            })
        });
    if let Some(spec) = process {
        v.message.push_str(&format!(
            "; `{}` runs as a child process (`{}`): its answers must depend only on what Ripple sends it (no clock, no randomness, nothing kept across a hello)",
            spec.id,
            spec.command_line()
        ));
    }
}

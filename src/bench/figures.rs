//! What a benchmark counts and the rates it reports.
//!
//! Definitions, shared by `ripple bench` and `cargo bench --bench throughput`:
//!
//! - a **step** is one trace record (`RunOutcome::steps`);
//! - an **event** is a root event or a bus publication (a `Publish` record); a root
//!   publication therefore counts twice, once as the input and once as what it published;
//! - a **cascade step** is an action dispatch (a `Dispatch` record), whatever caused it;
//! - a **scheduler step** is one message popped from the scheduler's queue (a root input or
//!   a delivery to one subscription).
//!
//! Rates divide by wall time around the runs only: building or loading the scenario is not
//! timed. Not measured here: time per record kind (use a profiler).

use crate::core::RecordKind;
use crate::core::Seed;
use crate::scenario::Scenario;
use crate::sim::{Prepared, Retain, RunOptions, RunOutcome};
use serde::Serialize;
use std::ops::Range;
use std::time::Duration;

/// A wall-clock timer for the benchmark harness, outside any run.
pub struct Stopwatch(std::time::Instant);

impl Stopwatch {
    // The one sanctioned wall-clock read in the crate: it times runs from the outside and
    // nothing it returns reaches a run or a trace.
    #[allow(clippy::disallowed_methods)]
    pub fn start() -> Stopwatch {
        Stopwatch(std::time::Instant::now())
    }

    pub fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
}

/// What one or more runs did (see the module doc for the definitions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RunCounts {
    pub runs: u64,
    pub steps: u64,
    pub root_events: u64,
    pub publications: u64,
    pub cascade_steps: u64,
    pub scheduler_steps: u64,
}

impl RunCounts {
    /// The counts of one run. Root events include the ones the scenario's generators made.
    pub fn of(outcome: &RunOutcome) -> RunCounts {
        RunCounts {
            runs: 1,
            steps: outcome.steps(),
            root_events: outcome.root_events as u64,
            publications: outcome.counts.get(RecordKind::Publish),
            cascade_steps: outcome.counts.get(RecordKind::Dispatch),
            scheduler_steps: outcome.scheduler_steps,
        }
    }

    /// Root events plus publications.
    pub fn events(&self) -> u64 {
        self.root_events + self.publications
    }

    pub fn add(&mut self, other: &RunCounts) {
        self.runs += other.runs;
        self.steps += other.steps;
        self.root_events += other.root_events;
        self.publications += other.publications;
        self.cascade_steps += other.cascade_steps;
        self.scheduler_steps += other.scheduler_steps;
    }
}

/// Rates over a measured stretch of wall time, with the counts they come from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BenchFigures {
    pub steps_per_sec: f64,
    pub events_per_sec: f64,
    /// Runs (one per seed) per second.
    pub seeds_per_sec: f64,
    pub cascade_steps_per_sec: f64,
    pub scheduler_steps_per_sec: f64,
    pub seeds: u64,
    pub steps: u64,
    pub events: u64,
    pub cascade_steps: u64,
    pub scheduler_steps: u64,
    pub root_events: u64,
    /// Wall time of the runs, teardown included.
    pub wall_ms: f64,
    /// The part of `wall_ms` spent dropping outcomes (records, entities) after each run.
    pub teardown_ms: f64,
    /// `VmHWM` of the process when measured; `None` off Linux.
    pub peak_rss_bytes: Option<u64>,
}

impl BenchFigures {
    pub fn new(counts: &RunCounts, wall: Duration, peak_rss_bytes: Option<u64>) -> BenchFigures {
        // A run is never 0 ns, but a coarse clock might say so: keep the rates finite.
        let secs = wall.as_secs_f64().max(1e-9);
        let rate = |n: u64| n as f64 / secs;
        BenchFigures {
            steps_per_sec: rate(counts.steps),
            events_per_sec: rate(counts.events()),
            seeds_per_sec: rate(counts.runs),
            cascade_steps_per_sec: rate(counts.cascade_steps),
            scheduler_steps_per_sec: rate(counts.scheduler_steps),
            seeds: counts.runs,
            steps: counts.steps,
            events: counts.events(),
            cascade_steps: counts.cascade_steps,
            scheduler_steps: counts.scheduler_steps,
            root_events: counts.root_events,
            wall_ms: wall.as_secs_f64() * 1000.0,
            teardown_ms: 0.0,
            peak_rss_bytes,
        }
    }
}

#[cfg(test)]
/// Runs `scenario` once per seed in `seeds` (keeping no records and no trace text, as a
/// sweep's summary does: [`Retain::Summary`]) and measures the whole, as one shard of a
/// sweep: each outcome is dropped before the next run, and the drop is timed. `on_run` sees
/// every outcome (for verdicts or progress); it and the counting are not timed.
pub fn bench_seeds(
    scenario: &Scenario,
    seeds: Range<u64>,
    on_run: impl FnMut(&RunOutcome),
) -> BenchFigures {
    bench_seeds_retaining(scenario, seeds, Retain::Summary, on_run)
}

/// [`bench_seeds`], each run keeping what `retain` says: with [`Retain::Records`], what
/// keeping every record costs (freeing a big run's records is a real part of it).
pub fn bench_seeds_retaining(
    scenario: &Scenario,
    seeds: Range<u64>,
    retain: Retain,
    mut on_run: impl FnMut(&RunOutcome),
) -> BenchFigures {
    let mut counts = RunCounts::default();
    let mut teardown = Duration::ZERO;
    // Prepared once, as a sweep's thread does; timed with the runs.
    let watch = Stopwatch::start();
    let prepared = Prepared::for_runs(scenario, seeds.end.saturating_sub(seeds.start));
    let mut run = watch.elapsed();
    for seed in seeds {
        let watch = Stopwatch::start();
        let outcome = prepared.run(Seed(seed), RunOptions::default(), retain);
        run += watch.elapsed();
        counts.add(&RunCounts::of(&outcome));
        on_run(&outcome);
        let watch = Stopwatch::start();
        drop(outcome);
        teardown += watch.elapsed();
    }
    let mut figures = BenchFigures::new(&counts, run + teardown, super::peak_rss_bytes());
    figures.teardown_ms = teardown.as_secs_f64() * 1000.0;
    figures
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::{generated_workload, WorkloadConfig};

    #[test]
    fn counts_add_up_over_seeds_and_rates_divide_by_wall_time() {
        let scenario = generated_workload(&WorkloadConfig {
            tenants: 2,
            entities_per_tenant: 5,
            root_events: 50,
        });
        let one = RunCounts::of(&crate::sim::run_scenario(
            &scenario,
            Seed(3),
            RunOptions::default(),
        ));
        assert_eq!(one.root_events, 50);
        assert!(one.publications > 0 && one.cascade_steps > 0);
        assert!(one.steps > one.events() - one.root_events);
        let figures = bench_seeds(&scenario, 3..5, |_| {});
        let kept = bench_seeds_retaining(&scenario, 3..5, Retain::Records, |_| {});
        assert_eq!(
            (figures.steps, figures.events, figures.cascade_steps),
            (kept.steps, kept.events, kept.cascade_steps),
            "the counts do not depend on what the runs keep"
        );
        assert_eq!(figures.seeds, 2);
        assert_eq!(figures.root_events, 100);
        assert!(figures.steps > one.steps, "two runs");
        let again = BenchFigures::new(
            &RunCounts {
                runs: 4,
                steps: 1000,
                root_events: 10,
                publications: 90,
                cascade_steps: 30,
                scheduler_steps: 50,
            },
            Duration::from_millis(500),
            None,
        );
        assert_eq!(again.steps_per_sec, 2000.0);
        assert_eq!(again.events_per_sec, 200.0);
        assert_eq!(again.seeds_per_sec, 8.0);
        assert_eq!(again.cascade_steps_per_sec, 60.0);
        assert_eq!(again.wall_ms, 500.0);
    }
}

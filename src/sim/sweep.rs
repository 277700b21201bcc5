//! Sweeps: many seeds of one scenario, spread over threads, each run alone on its thread.
//!
//! A sweep streams: its seeds come one at a time from a [`SeedStream`] (a range, or fresh
//! seeds drawn from a master seed), workers take the next one from the stream, and each
//! result is handed to the caller in the order the seeds were taken, then dropped. What a
//! sweep keeps grows with its failure groups, not with its seeds ([`SweepTally`]), so a
//! sweep of `0..2^64` under a time budget holds as much memory after an hour as after a
//! second. Output is the same whatever the thread count.
//!
//! What this leaves out: the wall clock. A time budget or Ctrl-C reaches a sweep through the
//! `stop` callback of [`sweep_stream`], which the driver (the CLI) owns; no run sees it.

use crate::check::Violation;
use crate::core::{Coverage, Purpose, RngStream, Seed};
use crate::sim::{failure_signature, Prepared, Retain, RunOptions, RunOutcome};
use crate::trace::TraceHash;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::{ControlFlow, Range};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

/// `--shard I/N`: this machine runs the seeds whose position in the sweep is I mod N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/N` (0-based I < N).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let err = || format!("invalid shard {text:?}: write I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = text.split_once('/').ok_or_else(err)?;
        let index: u64 = i.trim().parse().map_err(|_| err())?;
        let count: u64 = n.trim().parse().map_err(|_| err())?;
        if count == 0 || index >= count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }

    /// Whether the seed at `position` of the sweep is this shard's. Striding (not chunking)
    /// keeps shards balanced when failures cluster, and works for a sweep of unknown length;
    /// the union over I in 0..N is the whole sweep, with no overlap.
    pub fn owns(&self, position: u64) -> bool {
        position % self.count == self.index
    }
}

/// Where a sweep's seeds come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedPlan {
    /// `--seeds A..B`: every seed of the range, in order.
    Range(Range<u64>),
    /// `--seeds random`: fresh seeds drawn, one after another, from the master seed's own
    /// stream ([`Purpose::SweepSeeds`]): the same master seed gives the same seeds.
    Random { master: u64 },
}

impl SeedPlan {
    /// Parses `--seeds`: `random` (drawn from `master`), or a range ([`parse_seed_range`]).
    pub fn parse(text: &str, master: u64) -> Result<SeedPlan, String> {
        if text.trim() == "random" {
            return Ok(SeedPlan::Random { master });
        }
        parse_seed_range(text).map(SeedPlan::Range)
    }

    /// How many seeds the plan has, when that fits in a u64 (`None`: endless).
    pub fn seeds_max(&self) -> Option<u64> {
        match self {
            SeedPlan::Range(r) => Some(r.end - r.start),
            SeedPlan::Random { .. } => None,
        }
    }

    /// `0..100`, or `random (master seed 7)`.
    pub fn describe(&self) -> String {
        match self {
            SeedPlan::Range(r) => format!("{}..{}", r.start, r.end),
            SeedPlan::Random { master } => format!("random (master seed {master})"),
        }
    }
}

/// The seeds one shard of a sweep runs, one at a time, each with its position in the whole
/// sweep (0-based; positions order the output and the first seeds of each failure group,
/// and let shards merge back into the sweep they split).
#[derive(Debug, Clone)]
pub struct SeedStream {
    plan: SeedPlan,
    shard: Shard,
    /// The next position of the whole sweep.
    position: u64,
    /// Positions past this one are not run (`--count`).
    count_max: Option<u64>,
    rng: Option<RngStream>,
}

impl SeedStream {
    /// The seeds of `plan` that `shard` owns, among the first `count_max` positions of the
    /// sweep (all of them with `None`).
    pub fn new(plan: SeedPlan, shard: Shard, count_max: Option<u64>) -> SeedStream {
        let rng = match &plan {
            SeedPlan::Random { master } => Some(RngStream::new(Seed(*master), Purpose::SweepSeeds)),
            SeedPlan::Range(_) => None,
        };
        SeedStream {
            plan,
            shard,
            position: 0,
            count_max,
            rng,
        }
    }

    /// How many seeds of the whole sweep (every shard) there are at most: the range and
    /// `--count`, whichever is smaller (`None`: endless).
    pub fn sweep_len(&self) -> Option<u64> {
        match (self.plan.seeds_max(), self.count_max) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// How many seeds this shard runs at most (`None`: endless).
    pub fn len_max(&self) -> Option<u64> {
        let n = self.sweep_len()?;
        let (i, c) = (self.shard.index, self.shard.count);
        Some(n / c + u64::from(n % c > i))
    }
}

impl Iterator for SeedStream {
    /// `(position, seed)`.
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        loop {
            let position = self.position;
            if self.count_max.is_some_and(|max| position >= max) {
                return None;
            }
            let seed = match (&self.plan, &mut self.rng) {
                (SeedPlan::Range(r), _) => {
                    let seed = r.start.checked_add(position)?;
                    if seed >= r.end {
                        return None;
                    }
                    seed
                }
                // Every position draws, whichever shard owns it: shard I of N runs the
                // seeds the whole sweep runs at its positions.
                (SeedPlan::Random { .. }, Some(rng)) => rng.next_u64(),
                (SeedPlan::Random { .. }, None) => unreachable!("a random plan has its stream"),
            };
            self.position = position.checked_add(1)?;
            if self.shard.owns(position) {
                return Some((position, seed));
            }
        }
    }
}

/// Parses `A..B` (B excluded), `A..=B`, or a single seed `N`.
pub fn parse_seed_range(text: &str) -> Result<Range<u64>, String> {
    let err = |why: &str| format!("invalid seed range {text:?}: {why}; write e.g. 0..1000");
    let t = text.trim();
    let (a, b, inclusive) = if let Some((a, b)) = t.split_once("..=") {
        (a, b, true)
    } else if let Some((a, b)) = t.split_once("..") {
        (a, b, false)
    } else {
        let n: u64 = t.parse().map_err(|_| err("not a number"))?;
        return Ok(n..n.checked_add(1).ok_or_else(|| err("too large"))?);
    };
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| err("the start is not a number"))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|_| err("the end is not a number"))?;
    let end = if inclusive {
        b.checked_add(1).ok_or_else(|| err("too large"))?
    } else {
        b
    };
    if end <= a {
        return Err(err("it is empty"));
    }
    Ok(a..end)
}

/// What a sweep keeps of one run.
#[derive(Debug, Clone)]
pub struct SeedResult {
    /// The seed's position in the whole sweep ([`SeedStream`]).
    pub position: u64,
    pub seed: u64,
    pub passed: bool,
    pub trace_hash: TraceHash,
    pub steps: u64,
    pub virtual_time_ms: u64,
    pub violations: Vec<Violation>,
    /// The failure signature ([`failure_signature`]), as text, e.g.
    /// `cascade_truncated@ping_hits_pong [shop: truncated at depth 8]`.
    pub signature: Option<String>,
    pub faults: Option<String>,
    /// The JSON report, when the caller asked for it (json output).
    pub json: Option<String>,
    /// Wall time the run took on its thread (microseconds): for JUnit's times only, never
    /// in anything compared or hashed.
    pub wall_us: u64,
    /// What the run reached (a sweep counts it for every seed).
    pub coverage: Option<Coverage>,
    /// The `sometimes` invariants that held in some state of the run.
    pub sometimes_held: Vec<String>,
}

/// A seed's result, taking what it keeps from the run (nothing is copied).
pub fn summarize(outcome: RunOutcome, position: u64, json: Option<String>) -> SeedResult {
    let signature = failure_signature(&outcome).map(|s| s.to_string());
    SeedResult {
        position,
        seed: outcome.seed.0,
        passed: outcome.passed(),
        trace_hash: outcome.trace_hash,
        steps: outcome.steps(),
        virtual_time_ms: outcome.virtual_time.ms(),
        signature,
        violations: outcome.violations,
        faults: outcome.faults,
        json,
        wall_us: 0,
        coverage: outcome.coverage,
        sometimes_held: outcome.sometimes_held,
    }
}

/// How a streaming sweep ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepEnd {
    /// Every seed of the stream ran.
    Exhausted,
    /// `stop` said so (a time budget, Ctrl-C): the seeds taken before it ran.
    Stopped,
    /// `on_result` said so (`--until-fail`): nothing after that seed was reported.
    Broke,
}

/// Runs the seeds of `seeds` on `jobs` threads (each run alone on its thread), keeping what
/// `retain` says, renders each run with `render(outcome, position)` on its thread, and hands each result to `on_result` on the calling thread, in the order
/// the seeds came from the stream, whatever thread ran them. Before taking each seed a
/// worker asks `stop`; once `on_result` breaks, no later result is handed over.
///
/// Results wait only until the seeds taken before them are done, so what is held is a few
/// results per thread, not one per seed.
#[allow(clippy::too_many_arguments)]
pub fn sweep_stream<'s>(
    prepare: &(dyn Fn() -> Prepared<'s> + Sync),
    seeds: &mut (dyn Iterator<Item = (u64, u64)> + Send),
    jobs: usize,
    options: RunOptions,
    retain: Retain,
    render: &(dyn Fn(&RunOutcome, u64) -> Option<String> + Sync),
    stop: &(dyn Fn() -> bool + Sync),
    on_result: &mut dyn FnMut(SeedResult) -> ControlFlow<()>,
) -> SweepEnd {
    let jobs = jobs.max(1);
    // The stream and the ticket of the next seed taken from it: tickets order the output.
    let source = Mutex::new((seeds, 0u64));
    let halted = AtomicBool::new(false);
    let exhausted = AtomicBool::new(false);
    let take = || -> Option<(u64, u64, u64)> {
        if halted.load(Ordering::Relaxed) || stop() {
            return None;
        }
        let mut guard = source.lock().unwrap_or_else(|p| p.into_inner());
        let (stream, ticket) = &mut *guard;
        match stream.next() {
            Some((position, seed)) => {
                let t = *ticket;
                *ticket += 1;
                Some((t, position, seed))
            }
            None => {
                exhausted.store(true, Ordering::Relaxed);
                None
            }
        }
    };
    let run = |prepared: &Prepared<'_>, position: u64, seed: u64| {
        // The harness times each run from outside it, for JUnit; the run never sees it.
        #[allow(clippy::disallowed_methods)]
        let started = std::time::Instant::now();
        let outcome = prepared
            .sim(Seed(seed), options, retain)
            .count_coverage()
            .run();
        let json = render(&outcome, position);
        let mut r = summarize(outcome, position, json);
        r.wall_us = started.elapsed().as_micros() as u64;
        r
    };
    let (tx, rx) = mpsc::channel::<(u64, SeedResult)>();
    // Results that finished before a seed taken earlier: handed over once it is done.
    let mut waiting: BTreeMap<u64, SeedResult> = BTreeMap::new();
    let mut next_ticket = 0u64;
    let mut deliver = |ticket: u64, r: SeedResult| {
        if halted.load(Ordering::Relaxed) {
            return;
        }
        waiting.insert(ticket, r);
        while let Some(r) = waiting.remove(&next_ticket) {
            next_ticket += 1;
            if on_result(r).is_break() {
                halted.store(true, Ordering::Relaxed);
                waiting.clear();
                return;
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..jobs {
            let tx = tx.clone();
            let (take, run) = (&take, &run);
            scope.spawn(move || {
                let prepared = prepare();
                while let Some((ticket, position, seed)) = take() {
                    if tx.send((ticket, run(&prepared, position, seed))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // The calling thread is one of the `jobs` workers: between its own seeds it takes
        // what the others finished, without waiting for them, so that no thread sleeps on
        // the channel (a wake-up per seed cost a third of a one-thread sweep's time), and
        // `--jobs 1` spawns nothing.
        let prepared = prepare();
        while let Some((ticket, position, seed)) = take() {
            let r = run(&prepared, position, seed);
            deliver(ticket, r);
            for (t, r) in rx.try_iter() {
                deliver(t, r);
            }
        }
        for (t, r) in rx {
            deliver(t, r);
        }
    });
    if halted.load(Ordering::Relaxed) {
        SweepEnd::Broke
    } else if exhausted.load(Ordering::Relaxed) {
        SweepEnd::Exhausted
    } else {
        SweepEnd::Stopped
    }
}

/// [`sweep_stream`] over a list of seeds, every result kept: one per seed, in seed order.
/// `on_result` hears each as it is handed over. `prepare` makes what each thread's runs
/// start from ([`Prepared`], with a runner's library handlers and invariants if it has any).
pub fn sweep_retaining<'s>(
    prepare: &(dyn Fn() -> Prepared<'s> + Sync),
    seeds: &[u64],
    jobs: usize,
    options: RunOptions,
    retain: Retain,
    render: &(dyn Fn(&RunOutcome) -> Option<String> + Sync),
    on_result: &mut dyn FnMut(&SeedResult),
) -> Vec<SeedResult> {
    let jobs = jobs.clamp(1, seeds.len().max(1));
    let mut stream = seeds.iter().enumerate().map(|(i, s)| (i as u64, *s));
    let mut results = Vec::with_capacity(seeds.len());
    sweep_stream(
        prepare,
        &mut stream,
        jobs,
        options,
        retain,
        &|o, _| render(o),
        &|| false,
        &mut |r| {
            on_result(&r);
            results.push(r);
            ControlFlow::Continue(())
        },
    );
    results.sort_by_key(|r| r.seed);
    results
}

/// First seeds kept per failure group (the count goes on).
pub const GROUP_SEEDS_KEPT: usize = 200;
/// Distinct trace hashes counted exactly; past this many the count is a floor.
pub const DISTINCT_HASHES_MAX: usize = 1 << 16;
/// Seeds whose steps and virtual time are kept for the histograms.
pub const SAMPLES_MAX: usize = 100_000;

/// One failure signature's share of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureGroup {
    /// Seeds with this signature.
    pub count: u64,
    /// The first [`GROUP_SEEDS_KEPT`] of them, by position in the sweep.
    pub seeds: Vec<u64>,
    /// The first violation of the first seed.
    pub first_violation: Option<Violation>,
    /// Wall time its seeds took, summed (microseconds; not deterministic, for JUnit).
    pub wall_us: u64,
}

/// The first failing seed of a sweep, as the summary shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstFailure {
    pub seed: u64,
    pub violations: Vec<Violation>,
    pub faults: Option<String>,
}

/// What a sweep keeps of its results, added one by one in sweep order: counts, the failure
/// groups with their first seeds, and bounded samples. Its size does not grow with the
/// number of seeds (past [`DISTINCT_HASHES_MAX`] hashes and [`SAMPLES_MAX`] samples).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepTally {
    pub total: u64,
    pub passed: u64,
    pub failed: u64,
    pub steps: u64,
    /// Distinct trace hashes, up to [`DISTINCT_HASHES_MAX`].
    pub hashes: BTreeSet<TraceHash>,
    /// More distinct hashes were seen than are kept: `hashes.len()` is a floor.
    pub hashes_capped: bool,
    /// Failure groups by signature.
    pub groups: BTreeMap<String, FailureGroup>,
    pub first_failure: Option<FirstFailure>,
    /// `(steps, virtual_time_ms, passed)` of the first [`SAMPLES_MAX`] seeds.
    pub samples: Vec<(u64, u64, bool)>,
    /// Wall time of the seeds that passed, summed (microseconds; not deterministic).
    pub passed_wall_us: u64,
    /// What the seeds reached, summed.
    pub coverage: Coverage,
    /// `sometimes` invariant -> seeds in which it held (those that never held are absent).
    pub sometimes: BTreeMap<String, u64>,
}

impl SweepTally {
    /// The tally of `results`, taken in the order given.
    pub fn of(results: &[SeedResult]) -> SweepTally {
        let mut t = SweepTally::default();
        for r in results {
            t.add(r);
        }
        t
    }

    /// Adds the next result of the sweep.
    pub fn add(&mut self, r: &SeedResult) {
        self.total += 1;
        if let Some(c) = &r.coverage {
            self.coverage.merge(c);
        }
        for name in &r.sometimes_held {
            *self.sometimes.entry(name.clone()).or_insert(0) += 1;
        }
        self.steps += r.steps;
        if r.passed {
            self.passed += 1;
            self.passed_wall_us += r.wall_us;
        } else {
            self.failed += 1;
        }
        if self.hashes.len() < DISTINCT_HASHES_MAX {
            self.hashes.insert(r.trace_hash);
        } else if !self.hashes.contains(&r.trace_hash) {
            self.hashes_capped = true;
        }
        if self.samples.len() < SAMPLES_MAX {
            self.samples.push((r.steps, r.virtual_time_ms, r.passed));
        }
        if let Some(sig) = &r.signature {
            let g = self
                .groups
                .entry(sig.clone())
                .or_insert_with(|| FailureGroup {
                    count: 0,
                    seeds: Vec::new(),
                    first_violation: r.violations.first().cloned(),
                    wall_us: 0,
                });
            g.count += 1;
            g.wall_us += r.wall_us;
            if g.seeds.len() < GROUP_SEEDS_KEPT {
                g.seeds.push(r.seed);
            }
        }
        if !r.passed && self.first_failure.is_none() {
            self.first_failure = Some(FirstFailure {
                seed: r.seed,
                violations: r.violations.clone(),
                faults: r.faults.clone(),
            });
        }
    }

    /// The number of distinct trace hashes (a floor when `hashes_capped`).
    pub fn distinct_trace_hashes(&self) -> u64 {
        self.hashes.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_ranges_parse_and_reject_nonsense() {
        assert_eq!(parse_seed_range("0..1000"), Ok(0..1000));
        assert_eq!(parse_seed_range("5..=7"), Ok(5..8));
        assert_eq!(parse_seed_range("42"), Ok(42..43));
        assert!(parse_seed_range("10..5").unwrap_err().contains("empty"));
        assert!(parse_seed_range("a..5").unwrap_err().contains("start"));
    }

    #[test]
    fn shards_partition_the_range_without_overlap() {
        let range = 3..103;
        for n in 1..7 {
            let mut all: Vec<u64> = (0..n)
                .flat_map(|i| {
                    let shard = Shard { index: i, count: n };
                    let stream = SeedStream::new(SeedPlan::Range(range.clone()), shard, None);
                    assert_eq!(stream.len_max(), Some(stream.clone().count() as u64));
                    stream.map(|(_, s)| s)
                })
                .collect();
            all.sort();
            assert_eq!(all, range.clone().collect::<Vec<_>>(), "n = {n}");
        }
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        assert!(Shard::parse("4/4").is_err());
        assert!(Shard::parse("x").is_err());
    }

    #[test]
    fn random_seeds_come_from_the_master_seed_and_shards_split_them() {
        let whole: Vec<(u64, u64)> =
            SeedStream::new(SeedPlan::Random { master: 7 }, Shard::ALL, Some(50)).collect();
        assert_eq!(whole.len(), 50);
        assert_eq!(
            whole,
            SeedStream::new(SeedPlan::Random { master: 7 }, Shard::ALL, Some(50))
                .collect::<Vec<_>>(),
            "the same master seed draws the same seeds"
        );
        let other: Vec<(u64, u64)> =
            SeedStream::new(SeedPlan::Random { master: 8 }, Shard::ALL, Some(50)).collect();
        assert_ne!(whole, other);
        let mut merged: Vec<(u64, u64)> = (0..3)
            .flat_map(|i| {
                let shard = Shard { index: i, count: 3 };
                SeedStream::new(SeedPlan::Random { master: 7 }, shard, Some(50))
            })
            .collect();
        merged.sort();
        assert_eq!(merged, whole);
    }

    #[test]
    fn the_widest_range_streams_without_collecting() {
        let mut s = SeedStream::new(SeedPlan::Range(0..u64::MAX), Shard::ALL, None);
        assert_eq!(s.len_max(), Some(u64::MAX));
        assert_eq!(s.next(), Some((0, 0)));
        let tail = SeedStream::new(SeedPlan::Range(u64::MAX - 2..u64::MAX), Shard::ALL, None);
        assert_eq!(
            tail.map(|(_, s)| s).collect::<Vec<_>>(),
            [u64::MAX - 2, u64::MAX - 1]
        );
    }
}

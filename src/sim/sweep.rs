//! Sweeps: many seeds of one scenario, spread over threads, each run alone on its thread.
//!
//! A run is single-threaded and owns all its state, so seeds are independent: workers take
//! the next seed from a shared counter and send back a small summary. Results come back in
//! any order; [`SweepResults::sorted`] puts them in seed order so output is the same
//! whatever the thread count.

use crate::check::Violation;
use crate::core::Seed;
use crate::sim::{failure_signature, Prepared, Retain, RunOptions, RunOutcome};
use crate::trace::TraceHash;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// `--shard I/N`: this machine runs the seeds whose index in the range is I mod N.
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

    /// The seeds of `range` in this shard. Striding (not chunking) keeps shards balanced
    /// when failures cluster; the union over I in 0..N is the range, with no overlap.
    pub fn seeds(&self, range: &Range<u64>) -> Vec<u64> {
        range
            .clone()
            .filter(|s| (s - range.start) % self.count == self.index)
            .collect()
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
}

pub fn summarize(outcome: &RunOutcome, json: Option<String>) -> SeedResult {
    SeedResult {
        seed: outcome.seed.0,
        passed: outcome.passed(),
        trace_hash: outcome.trace_hash,
        steps: outcome.steps(),
        virtual_time_ms: outcome.virtual_time.ms(),
        violations: outcome.violations.clone(),
        signature: failure_signature(outcome).map(|s| s.to_string()),
        faults: outcome.faults.clone(),
        json,
    }
}

/// [`sweep`], each run keeping what `retain` says ([`Retain::Summary`] when nothing is
/// rendered per seed).
///
/// `prepare` makes what each thread's runs start from ([`Prepared`], with a runner's
/// library handlers and invariants if it has any).
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
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<SeedResult>();
    let mut results = Vec::with_capacity(seeds.len());
    // Each thread prepares the scenario once and starts every seed's run from it.
    let run = |prepared: &Prepared<'_>, seed: u64| {
        let outcome = prepared.run(Seed(seed), options, retain);
        let json = render(&outcome);
        summarize(&outcome, json)
    };
    std::thread::scope(|scope| {
        for _ in 1..jobs {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                let prepared = prepare();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&seed) = seeds.get(i) else { break };
                    if tx.send(run(&prepared, seed)).is_err() {
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
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&seed) = seeds.get(i) else { break };
            let r = run(&prepared, seed);
            on_result(&r);
            results.push(r);
            for r in rx.try_iter() {
                on_result(&r);
                results.push(r);
            }
        }
        for r in rx {
            on_result(&r);
            results.push(r);
        }
    });
    results.sort_by_key(|r| r.seed);
    results
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
                .flat_map(|i| Shard { index: i, count: n }.seeds(&range))
                .collect();
            all.sort();
            assert_eq!(all, range.clone().collect::<Vec<_>>(), "n = {n}");
        }
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        assert!(Shard::parse("4/4").is_err());
        assert!(Shard::parse("x").is_err());
    }
}

//! `ripple merge`: the JSON lines of a sweep's shards back into the sweep. Each shard's
//! file holds one line per seed, in the order of their positions in the whole sweep, then
//! its summary line. The seed lines of all files are merged by position, a line at a time
//! (memory stays flat whatever the number of seeds), and added to one [`SweepTally`] as the
//! unsharded sweep adds them; coverages, which seed lines do not carry, are the sum of the
//! shards' summaries. So two shards merged give the counts, groups and coverage of the one
//! sweep.
//!
//! What it leaves out: the wall-clock figures (they do not add up across machines), and
//! checking that every seed line is the one its shard should have run.

use crate::check::Violation;
use crate::core::Coverage;
use crate::report::SweepInfo;
use crate::sim::{SeedResult, SweepTally};
use crate::trace::TraceHash;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::BufRead;

/// A merge that cannot be trusted: which file, which line, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError(pub String);

impl std::fmt::Display for MergeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One shard's file, read a line at a time.
struct ShardFile<R> {
    name: String,
    lines: std::io::Lines<R>,
    line: usize,
    summary: Option<Value>,
}

impl<R: BufRead> ShardFile<R> {
    /// The next seed line (its position and result); a summary line is kept aside.
    fn next_seed(&mut self) -> Result<Option<(u64, SeedResult)>, MergeError> {
        for text in self.lines.by_ref() {
            self.line += 1;
            let at = format!("{}:{}", self.name, self.line);
            let text = text.map_err(|e| MergeError(format!("{at}: failed to read: {e}")))?;
            if text.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&text).map_err(|e| {
                MergeError(format!(
                    "{at}: not a JSON line of `ripple sweep --format json` ({e})"
                ))
            })?;
            if v["summary"] == true {
                if self.summary.is_some() {
                    return Err(MergeError(format!(
                        "{at}: a second summary line: one file per shard, please"
                    )));
                }
                self.summary = Some(v);
                continue;
            }
            return seed_line(&v)
                .map(Some)
                .ok_or_else(|| MergeError(format!("{at}: a seed line without `position`, `seed`, `verdict`, `trace_hash` or `steps`: written by an older ripple? Sweep again with this one")));
        }
        Ok(None)
    }
}

fn seed_line(v: &Value) -> Option<(u64, SeedResult)> {
    let position = v["position"].as_u64()?;
    let violations = v["violations"]
        .as_array()?
        .iter()
        .map(|x| {
            Some(Violation {
                invariant: x["invariant"].as_str()?.to_string(),
                message: x["message"].as_str()?.to_string(),
                step: x["step"].as_u64()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let r = SeedResult {
        position,
        seed: v["seed"].as_u64()?,
        passed: v["verdict"].as_str()? == "pass",
        trace_hash: TraceHash(u128::from_str_radix(v["trace_hash"].as_str()?, 16).ok()?),
        steps: v["steps"].as_u64()?,
        virtual_time_ms: v["virtual_time_ms"].as_u64()?,
        violations,
        signature: v["signature"].as_str().map(str::to_string),
        faults: v["faults"].as_str().map(str::to_string),
        json: None,
        wall_us: 0,
        coverage: None,
        sometimes_held: v["sometimes_held"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    };
    Some((position, r))
}

/// What the shards' summaries say about the sweep they split.
fn info_of(summaries: &[(String, Value)]) -> Result<SweepInfo, MergeError> {
    let (first_name, first) = &summaries[0];
    let same = ["scenario_path", "seeds", "swarm", "master_seed"];
    for (name, s) in &summaries[1..] {
        for key in same {
            if s[key] != first[key] {
                return Err(MergeError(format!(
                    "{name} and {first_name} are not shards of one sweep: their `{key}` differ ({} and {})",
                    s[key], first[key]
                )));
            }
        }
    }
    // Which shards are here, and whether any is missing or repeated.
    let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
    let mut count = None;
    for (name, s) in summaries {
        let shard = s["shard"].as_str().unwrap_or("0/1");
        let (i, n) = shard
            .split_once('/')
            .and_then(|(i, n)| Some((i.parse::<u64>().ok()?, n.parse::<u64>().ok()?)))
            .ok_or_else(|| MergeError(format!("{name}: shard {shard:?} is not I/N")))?;
        if *count.get_or_insert(n) != n {
            return Err(MergeError(format!(
                "{name}: shard {shard} is of a split into {n}, the others into {}",
                count.unwrap_or(n)
            )));
        }
        *seen.entry(i).or_insert(0) += 1;
    }
    if let Some((i, _)) = seen.iter().find(|(_, n)| **n > 1) {
        return Err(MergeError(format!(
            "shard {i} is given twice: its seeds would count twice"
        )));
    }
    let n = count.unwrap_or(1);
    let missing: Vec<String> = (0..n)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{n}"))
        .collect();
    let mut stopped: Vec<String> = summaries
        .iter()
        .filter_map(|(name, s)| Some(format!("{name}: {}", s["stopped"].as_str()?)))
        .collect();
    if !missing.is_empty() {
        stopped.insert(0, format!("shards missing: {}", missing.join(", ")));
    }
    Ok(SweepInfo {
        scenario: first["scenario"].as_str().unwrap_or_default().to_string(),
        scenario_path: first["scenario_path"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        seeds: first["seeds"].as_str().unwrap_or_default().to_string(),
        shard: None,
        jobs: summaries
            .iter()
            .map(|(_, s)| s["jobs"].as_u64().unwrap_or(1) as usize)
            .sum(),
        swarm: first["swarm"] == true,
        master_seed: first["master_seed"].as_u64(),
        stopped: (!stopped.is_empty()).then(|| stopped.join("; ")),
        timing: None,
        declared: None,
    })
}

/// Merges the shards' JSON lines (`(name, reader)` per file) into the sweep's info and
/// tally.
pub fn merge_shards<R: BufRead>(
    files: Vec<(String, R)>,
) -> Result<(SweepInfo, SweepTally), MergeError> {
    if files.is_empty() {
        return Err(MergeError("no files to merge".into()));
    }
    let mut shards: Vec<ShardFile<R>> = files
        .into_iter()
        .map(|(name, r)| ShardFile {
            name,
            lines: r.lines(),
            line: 0,
            summary: None,
        })
        .collect();
    let mut tally = SweepTally::default();
    // The next seed line of each file, by (position, file).
    let mut heads: BTreeMap<(u64, usize), SeedResult> = BTreeMap::new();
    for (i, shard) in shards.iter_mut().enumerate() {
        if let Some((p, r)) = shard.next_seed()? {
            heads.insert((p, i), r);
        }
    }
    let mut last: Option<u64> = None;
    while let Some(((position, i), r)) = heads.pop_first() {
        if last.is_some_and(|l| l >= position) {
            return Err(MergeError(format!(
                "{}: position {position} comes twice or out of order: each shard's lines must be as `ripple sweep` wrote them, and each shard given once",
                shards[i].name
            )));
        }
        last = Some(position);
        tally.add(&r);
        if let Some((p, r)) = shards[i].next_seed()? {
            heads.insert((p, i), r);
        }
    }
    let mut summaries = Vec::new();
    let mut coverage = Coverage::default();
    for s in &mut shards {
        let Some(summary) = s.summary.take() else {
            return Err(MergeError(format!(
                "{}: no summary line: the shard did not finish (run it again)",
                s.name
            )));
        };
        if let Some(c) = summary.get("coverage") {
            let c: Coverage = serde_json::from_value(c.clone())
                .map_err(|e| MergeError(format!("{}: its coverage does not read: {e}", s.name)))?;
            coverage.merge(&c);
        }
        summaries.push((s.name.clone(), summary));
    }
    tally.coverage = coverage;
    let info = info_of(&summaries)?;
    Ok((info, tally))
}

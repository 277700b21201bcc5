//! Trace files (`ripple run --trace FILE`): a header line naming the scenario, the seed and
//! the hash, then the canonical records, one JSON line each. The hash covers the records
//! only, so a trace file can be re-hashed and compared without the header.

use crate::sim::RunOutcome;
use serde::{Deserialize, Serialize};

/// Bumped when the header's meaning changes.
pub const TRACE_FILE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceHeader {
    pub ripple_trace: u32,
    pub scenario: String,
    pub scenario_name: String,
    pub seed: u64,
    #[serde(default)]
    pub swarm: bool,
    pub trace_hash: String,
    pub steps: u64,
}

/// The whole file; `None` when the run did not keep its trace text.
pub fn trace_file_bytes(outcome: &RunOutcome, scenario_path: &str) -> Option<Vec<u8>> {
    let text = outcome.trace_text.as_ref()?;
    let header = TraceHeader {
        ripple_trace: TRACE_FILE_VERSION,
        scenario: scenario_path.to_string(),
        scenario_name: outcome.scenario.clone(),
        seed: outcome.seed.0,
        swarm: outcome.swarm,
        trace_hash: outcome.trace_hash.to_string(),
        steps: outcome.steps(),
    };
    let mut out = serde_json::to_vec(&header).expect("header serializes");
    out.push(b'\n');
    out.extend_from_slice(text);
    Some(out)
}

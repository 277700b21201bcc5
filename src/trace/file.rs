//! Trace files (`ripple run --trace FILE`): a header line naming the scenario, the seed and
//! the hash, then the canonical records, one JSON line each. The hash covers the records
//! only, so a trace file can be re-hashed and compared without the header.

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

/// The whole file: the header line, then the canonical records as they were hashed.
pub fn trace_file_bytes(header: &TraceHeader, records: &[u8]) -> Vec<u8> {
    let mut out = serde_json::to_vec(header).expect("header serializes");
    out.push(b'\n');
    out.extend_from_slice(records);
    out
}

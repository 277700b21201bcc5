//! Trace files (`ripple run --trace FILE`): a header line naming the scenario, the seed and
//! the hash, then the canonical records, one JSON line each. The hash covers the records
//! only, so a trace file can be re-hashed and compared without the header.

use crate::trace::TraceHash;
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

/// Why a trace file cannot be trusted: it is not a trace, or its records are not the ones
/// its header vouches for (edited, truncated, or written by another version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptTrace {
    /// 1-based line of the problem (1 is the header).
    pub line: usize,
    pub message: String,
}

/// Splits a trace file into its header and records, and checks that the records are the
/// ones the header describes: the format version, the number of records, and their hash.
pub fn read_trace_file(bytes: &[u8]) -> Result<(TraceHeader, &[u8]), CorruptTrace> {
    let header = match verify_trace(bytes) {
        Ok(header) => header,
        Err(TraceReadError::Corrupt(e)) => return Err(e),
        Err(TraceReadError::Io(e)) => unreachable!("reading a slice cannot fail: {e}"),
    };
    let split = bytes
        .iter()
        .position(|b| *b == b'\n')
        .expect("a header line");
    Ok((header, &bytes[split + 1..]))
}

/// Why a trace file could not be read and trusted.
#[derive(Debug)]
pub enum TraceReadError {
    Io(std::io::Error),
    Corrupt(CorruptTrace),
}

/// [`read_trace_file`] on a stream, read once: the header, once the records that follow it
/// are checked against it (version, count, hash). Memory holds one chunk, not the trace.
pub fn verify_trace(mut input: impl std::io::BufRead) -> Result<TraceHeader, TraceReadError> {
    let corrupt = |line, message: String| TraceReadError::Corrupt(CorruptTrace { line, message });
    let mut first = Vec::new();
    // A header is one short line: a "first line" of megabytes is not one.
    {
        let mut head = std::io::Read::take(&mut input, HEADER_BYTES_MAX);
        std::io::BufRead::read_until(&mut head, b'\n', &mut first).map_err(TraceReadError::Io)?;
    }
    if !first.ends_with(b"\n") {
        return Err(corrupt(
            1,
            "not a ripple trace: it has no header line".into(),
        ));
    }
    let header: TraceHeader = serde_json::from_slice(&first[..first.len() - 1]).map_err(|e| {
        corrupt(
            1,
            format!("not a ripple trace: the first line must be its header ({e})"),
        )
    })?;
    if header.ripple_trace != TRACE_FILE_VERSION {
        return Err(corrupt(
            1,
            format!(
                "trace format version {} is not the one this ripple reads ({TRACE_FILE_VERSION})",
                header.ripple_trace
            ),
        ));
    }
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let (mut lines, mut last) = (0u64, None);
    loop {
        let chunk = input.fill_buf().map_err(TraceReadError::Io)?;
        if chunk.is_empty() {
            break;
        }
        hasher.update(chunk);
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        last = chunk.last().copied();
        let n = chunk.len();
        input.consume(n);
    }
    let ends_well = last.is_none_or(|b| b == b'\n');
    if lines != header.steps || !ends_well {
        return Err(corrupt(
            1,
            format!(
                "the header says {} records and the file holds {lines}{}: the file was cut or edited",
                header.steps,
                if ends_well { "" } else { " and a partial line" }
            ),
        ));
    }
    let hash = TraceHash(hasher.digest128()).to_string();
    if hash != header.trace_hash {
        return Err(corrupt(
            1,
            format!(
                "the records hash to {hash} but the header says {}: the file was edited",
                header.trace_hash
            ),
        ));
    }
    Ok(header)
}

/// The longest header line read: far more than any header (a scenario path and a hash).
const HEADER_BYTES_MAX: u64 = 64 << 10;

#[cfg(test)]
mod tests {
    use super::*;

    fn file(records: &[u8], steps: u64, hash: Option<&str>, version: u32) -> Vec<u8> {
        let header = TraceHeader {
            ripple_trace: version,
            scenario: "s.toml".into(),
            scenario_name: "s".into(),
            seed: 1,
            swarm: false,
            trace_hash: hash
                .map(String::from)
                .unwrap_or_else(|| TraceHash(xxhash_rust::xxh3::xxh3_128(records)).to_string()),
            steps,
        };
        trace_file_bytes(&header, records)
    }

    #[test]
    fn a_trace_whose_header_vouches_for_its_records_reads() {
        let records = b"{\"a\":1}\n{\"b\":2}\n";
        let bytes = file(records, 2, None, TRACE_FILE_VERSION);
        let (header, read) = read_trace_file(&bytes).unwrap();
        assert_eq!(read, records);
        assert_eq!(header.steps, 2);
    }

    #[test]
    fn forged_hash_step_count_version_or_a_cut_are_corruption() {
        let records = b"{\"a\":1}\n{\"b\":2}\n";
        let forged = file(records, 2, Some("00"), TRACE_FILE_VERSION);
        assert!(read_trace_file(&forged)
            .unwrap_err()
            .message
            .contains("hash"));
        let steps = file(records, 3, None, TRACE_FILE_VERSION);
        assert!(read_trace_file(&steps)
            .unwrap_err()
            .message
            .contains("3 records"));
        let version = file(records, 2, None, TRACE_FILE_VERSION + 1);
        assert!(read_trace_file(&version)
            .unwrap_err()
            .message
            .contains("version"));
        let mut cut = file(records, 2, None, TRACE_FILE_VERSION);
        cut.truncate(cut.len() - 3);
        assert!(read_trace_file(&cut).is_err());
        assert!(read_trace_file(b"hello")
            .unwrap_err()
            .message
            .contains("no header"));
        assert!(read_trace_file(b"hello\n")
            .unwrap_err()
            .message
            .contains("header"));
    }
}

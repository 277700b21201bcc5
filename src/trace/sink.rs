//! The trace sink: encodes each record once, hashes it while streaming, and keeps the
//! records the run's report needs.

use crate::trace::Record;
use xxhash_rust::xxh3::Xxh3;

/// The identity of a run: xxh3-128 over the canonical JSON lines of its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TraceHash(pub u128);

impl std::fmt::Display for TraceHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Receives every record of a run, in order.
pub struct TraceSink {
    hasher: Xxh3,
    line: Vec<u8>,
    /// The canonical text, kept only when someone asked for the trace (`--trace`, replay).
    text: Option<Vec<u8>>,
    records: Vec<Record>,
}

impl TraceSink {
    pub fn new(keep_text: bool) -> TraceSink {
        TraceSink {
            hasher: Xxh3::new(),
            line: Vec::with_capacity(256),
            text: keep_text.then(Vec::new),
            records: Vec::new(),
        }
    }

    /// Appends a record; returns its step number (0-based).
    pub fn push(&mut self, record: Record) -> u64 {
        self.line.clear();
        serde_json::to_writer(&mut self.line, &record).expect("records always serialize");
        self.line.push(b'\n');
        self.hasher.update(&self.line);
        if let Some(text) = &mut self.text {
            text.extend_from_slice(&self.line);
        }
        self.records.push(record);
        self.records.len() as u64 - 1
    }

    pub fn len(&self) -> u64 {
        self.records.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    pub fn hash(&self) -> TraceHash {
        TraceHash(self.hasher.digest128())
    }

    pub fn into_parts(self) -> (TraceHash, Vec<Record>, Option<Vec<u8>>) {
        (TraceHash(self.hasher.digest128()), self.records, self.text)
    }
}

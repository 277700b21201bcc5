//! The trace sink: encodes each record once, hashes the lines while streaming, and keeps the
//! records only when asked to.
//!
//! Lines are encoded into a small buffer (or straight into the kept text) and hashed a chunk
//! at a time: xxh3's streaming digest does not depend on how the input is split, and one
//! `update` per few hundred lines costs less than one per line. A run that keeps neither
//! records nor text holds one chunk of trace, whatever its length; a run that streams its
//! text ([`TraceSink::stream_to`], `ripple run --trace`) writes each chunk out once it is
//! hashed, and holds no more.
//!
//! The hasher is `xxhash_rust`'s streaming [`Xxh3`], with the SIMD loop the crate is compiled
//! with (SSE2 on a generic x86-64 build). A hand-written xxh3 with an AVX2 loop chosen at run
//! time used to stand here: it hashed the generated workload's trace in 17 M instructions
//! where the crate takes 40 M (4.5 % of that run). A second implementation of the function
//! every trace hash and every corpus seed depends on is not worth that; reports/BENCH.md
//! (fifth pass) has the figures.

use crate::core::raw::meter::unmetered;
use crate::core::{Coverage, Record, RecordCounts, RecordKind, RecordRef};
use crate::trace::Encoder;
use std::io::Write;
use xxhash_rust::xxh3::Xxh3;

/// The identity of a run: xxh3-128 over the canonical JSON lines of its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TraceHash(pub u128);

impl std::fmt::Display for TraceHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// Hash this many bytes of encoded lines at a time.
const CHUNK_BYTES: usize = 4 * 1024;

/// Receives every record of a run, in order.
pub struct TraceSink {
    hasher: Xxh3,
    /// Encoded lines not hashed yet (unused when `text` is kept: lines go there).
    pending: Vec<u8>,
    /// The canonical text, kept only when someone asked for the trace (`--trace`, replay).
    text: Option<Vec<u8>>,
    /// How much of `text` is hashed.
    text_hashed: usize,
    /// `None`: records are encoded and hashed, then dropped.
    records: Option<Vec<Record>>,
    len: u64,
    counts: RecordCounts,
    encoder: Encoder,
    /// Where the text goes as it is hashed, instead of being kept.
    stream: Option<Box<dyn std::io::Write + Send>>,
    /// The first error writing to `stream` (later chunks are not written).
    stream_error: Option<String>,
    /// Bytes hashed (and, when streaming, written) so far.
    flushed: u64,
    /// What the records reached, when counted ([`TraceSink::count_coverage`]).
    coverage: Option<Box<Coverage>>,
    /// Records kept at most (the first ones); the rest are encoded, hashed and counted.
    records_max: usize,
    /// Keep only `input` and `fault` records ([`TraceSink::script_only`]).
    script_only: bool,
}

impl TraceSink {
    /// A sink that keeps the records only with `keep_records`.
    pub fn with_records(keep_text: bool, keep_records: bool) -> TraceSink {
        TraceSink {
            hasher: Xxh3::new(),
            pending: Vec::with_capacity(if keep_text { 0 } else { CHUNK_BYTES + 1024 }),
            text: keep_text.then(Vec::new),
            text_hashed: 0,
            records: keep_records.then(Vec::new),
            len: 0,
            counts: RecordCounts::default(),
            encoder: Encoder::default(),
            stream: None,
            stream_error: None,
            flushed: 0,
            coverage: None,
            records_max: usize::MAX,
            script_only: false,
        }
    }

    /// With `on`, keeps only the records a concrete scenario is made of (root inputs and
    /// faults), when it keeps records at all.
    pub fn script_only(mut self, on: bool) -> TraceSink {
        self.script_only = on;
        self
    }

    fn keeps(&self, kind: RecordKind) -> bool {
        !self.script_only || matches!(kind, RecordKind::Input | RecordKind::Fault)
    }

    /// Keeps only the first `n` records (when it keeps records at all): a readable report's
    /// worth of a run whose whole trace goes to a file.
    pub fn keep_records_max(&mut self, n: usize) {
        self.records_max = n;
    }

    /// Counts the coverage of the records from now on ([`TraceSink::take_coverage`]).
    pub fn count_coverage(&mut self) {
        self.coverage.get_or_insert_with(Box::default);
    }

    /// The coverage counted, if it was.
    pub fn take_coverage(&mut self) -> Option<Coverage> {
        self.coverage.take().map(|c| *c)
    }

    /// Writes the canonical text to `out` a chunk at a time as records come, keeping none
    /// of it: the bytes written are the ones a kept text would hold. Call it before the
    /// first chunk is hashed, on a sink that keeps no text.
    pub fn stream_to(&mut self, out: Box<dyn std::io::Write + Send>) {
        assert!(
            self.text.is_none() && self.flushed == 0,
            "a trace streams from its first byte, and is not also kept"
        );
        self.stream = Some(out);
    }

    /// Writes what is left of a streamed text and flushes it; the error, if writing failed
    /// at any point. `Ok` when nothing streams.
    pub fn finish_stream(&mut self) -> Result<(), String> {
        if let Some(out) = &mut self.stream {
            if self.stream_error.is_none() {
                if let Err(e) = out.write_all(&self.pending).and_then(|()| out.flush()) {
                    self.stream_error = Some(e.to_string());
                }
            }
            self.stream = None;
        }
        match self.stream_error.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    #[cfg(test)]
    pub fn keeps_records(&self) -> bool {
        self.records.is_some()
    }

    /// Appends a record; returns its step number (0-based).
    pub fn push(&mut self, record: Record) -> u64 {
        self.encode(&record.view());
        let keep = self.keeps(record.kind());
        if let Some(records) = self
            .records
            .as_mut()
            .filter(|r| keep && r.len() < self.records_max)
        {
            unmetered(|| records.push(record));
        }
        self.step()
    }

    /// Appends a borrowed record (made owned only if the sink keeps records); returns its
    /// step number (0-based).
    pub fn push_ref(&mut self, record: &RecordRef<'_>) -> u64 {
        self.encode(record);
        let keep = self.keeps(record.kind());
        if let Some(records) = self
            .records
            .as_mut()
            .filter(|r| keep && r.len() < self.records_max)
        {
            unmetered(|| records.push(record.to_record()));
        }
        self.step()
    }

    fn step(&mut self) -> u64 {
        self.len += 1;
        self.len - 1
    }

    fn encode(&mut self, record: &RecordRef<'_>) {
        self.counts.add(record.kind());
        if let Some(c) = &mut self.coverage {
            c.observe(record);
        }
        match &mut self.text {
            Some(text) => {
                unmetered(|| self.encoder.encode_line(record, text));
                if text.len() - self.text_hashed >= CHUNK_BYTES {
                    self.hasher.update(&text[self.text_hashed..]);
                    self.flushed += (text.len() - self.text_hashed) as u64;
                    self.text_hashed = text.len();
                }
            }
            None => {
                self.encoder.encode_line(record, &mut self.pending);
                if self.pending.len() >= CHUNK_BYTES {
                    self.hasher.update(&self.pending);
                    self.flushed += self.pending.len() as u64;
                    if let (Some(out), None) = (&mut self.stream, &self.stream_error) {
                        if let Err(e) = out.write_all(&self.pending) {
                            self.stream_error = Some(e.to_string());
                        }
                    }
                    self.pending.clear();
                }
            }
        }
    }

    /// The bytes encoded but not hashed yet.
    fn unhashed(&self) -> &[u8] {
        match &self.text {
            Some(text) => &text[self.text_hashed..],
            None => &self.pending,
        }
    }

    /// Records pushed so far.
    /// Bytes of the buffers the trace text passes through (the chunk being hashed, a kept
    /// text): a run's memory budget leaves them out, as it leaves out the records kept for
    /// the output (pushed unmetered), so that the outputs asked for never change where a
    /// run stops.
    pub fn buffers_held(&self) -> u64 {
        (self.pending.capacity() + self.text.as_ref().map_or(0, Vec::capacity)) as u64
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// Records pushed so far, by kind.
    pub fn counts(&self) -> RecordCounts {
        self.counts
    }

    pub fn hash(&self) -> TraceHash {
        let mut hasher = self.hasher.clone();
        hasher.update(self.unhashed());
        TraceHash(hasher.digest128())
    }

    /// The hash, the records (empty when none were kept) and the text (when kept).
    pub fn into_parts(self) -> (TraceHash, Vec<Record>, Option<Vec<u8>>) {
        let hash = self.hash();
        (hash, self.records.unwrap_or_default(), self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::SimTime;
    use xxhash_rust::xxh3::xxh3_128;

    fn warning(i: u64) -> Record {
        Record::Warning {
            // Runs of records at one instant, as in a run (the encoder keeps the last `at`).
            at: SimTime(i / 3),
            cause: 0,
            message: format!("warning number {i} {}", "x".repeat((i % 97) as usize)),
        }
    }

    #[test]
    fn chunked_hash_is_the_hash_of_the_whole_text_whatever_is_kept() {
        let mut text = Vec::new();
        let mut sinks = [
            TraceSink::with_records(true, true),
            TraceSink::with_records(true, false),
            TraceSink::with_records(false, true),
            TraceSink::with_records(false, false),
        ];
        for i in 0..2_000 {
            let r = warning(i);
            text.extend_from_slice(&serde_json::to_vec(&r).unwrap());
            text.push(b'\n');
            for (n, sink) in sinks.iter_mut().enumerate() {
                let step = if n % 2 == 0 {
                    sink.push(r.clone())
                } else {
                    sink.push_ref(&r.view())
                };
                assert_eq!(step, i);
            }
            if i % 500 == 0 {
                for sink in &sinks {
                    assert_eq!(sink.hash().0, xxh3_128(&text));
                }
            }
        }
        for sink in sinks {
            let keeps = sink.keeps_records();
            assert_eq!(sink.len(), 2_000);
            assert_eq!(sink.counts().get(crate::core::RecordKind::Warning), 2_000);
            assert_eq!(sink.counts().total(), 2_000);
            let (hash, records, kept_text) = sink.into_parts();
            assert_eq!(hash.0, xxh3_128(&text));
            assert_eq!(records.len(), if keeps { 2_000 } else { 0 });
            if let Some(kept_text) = kept_text {
                assert_eq!(kept_text, text);
            }
        }
    }

    /// A `Write` whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_streamed_text_is_the_kept_text_byte_for_byte_and_is_not_held() {
        let mut kept = TraceSink::with_records(true, false);
        let mut streamed = TraceSink::with_records(false, false);
        let out = Shared::default();
        streamed.stream_to(Box::new(out.clone()));
        for i in 0..2_000 {
            kept.push(warning(i));
            streamed.push_ref(&warning(i).view());
            // Never more than a chunk and a line of it held.
            assert!(streamed.pending.len() < CHUNK_BYTES + 1024);
        }
        assert!(!out.0.lock().unwrap().is_empty(), "written as it came");
        assert_eq!(streamed.finish_stream(), Ok(()));
        let (hash, _, text) = kept.into_parts();
        let (streamed_hash, _, none) = streamed.into_parts();
        assert_eq!(streamed_hash, hash);
        assert!(none.is_none());
        assert_eq!(*out.0.lock().unwrap(), text.unwrap());
    }

    #[test]
    fn a_failed_stream_write_is_reported_not_lost() {
        let mut sink = TraceSink::with_records(false, false);
        sink.stream_to(Box::new(std::io::BufWriter::with_capacity(
            1,
            std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap(),
        )));
        for i in 0..200 {
            sink.push(warning(i));
        }
        let err = sink.finish_stream().unwrap_err();
        assert!(err.contains("space"), "{err}");
    }
}

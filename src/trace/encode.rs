//! The canonical encoding of a record: its JSON line, written by hand.
//!
//! The bytes are exactly what `serde_json::to_vec(&record)` gives for the [`Record`] (the
//! trace hash, the corpus and every trace file depend on them): keys in declaration order,
//! the `kind` tag first, the flattened `origin` (`by`) and fault target (`of`) in place,
//! `None` as `null`, `copy` only when true, and strings escaped as serde_json escapes them
//! (`"` `\` and the control characters below 0x20; `\b \t \n \f \r` short, the others
//! `\u00xx` with lowercase hex; everything else, DEL and non-ASCII included, verbatim).
//! Records carry no floats and no JSON values, so none of serde_json's number or map
//! formatting is needed here.
//!
//! Why by hand: serde_json goes through the `Serialize` machinery for every field of every
//! record, and the flattened enums make it buffer each of those records as a map; a run of
//! the generated workload writes 5.6 million of them. The tests below compare this writer
//! with serde_json on every kind of record, on generated names full of escapes and
//! non-ASCII text.

use crate::engine::{short_word, word_at};
use crate::trace::{FaultTarget, OriginRef, RecordKind, RecordRef};

/// `,"key":`
macro_rules! key {
    ($key:literal) => {
        concat!(",\"", $key, "\":").as_bytes()
    };
}

/// `,"key":"`: a key and the opening quote of its string value.
macro_rules! key_quote {
    ($key:literal) => {
        concat!(",\"", $key, "\":\"").as_bytes()
    };
}

/// `{"kind":"<kind>","at":`
fn head(kind: RecordKind) -> &'static [u8] {
    macro_rules! head {
        ($kind:literal) => {
            concat!("{\"kind\":\"", $kind, "\",\"at\":").as_bytes()
        };
    }
    match kind {
        RecordKind::Input => head!("input"),
        RecordKind::Publish => head!("publish"),
        RecordKind::Deliver => head!("deliver"),
        RecordKind::Outcome => head!("outcome"),
        RecordKind::Dispatch => head!("dispatch"),
        RecordKind::Transition => head!("transition"),
        RecordKind::ActionFailed => head!("action_failed"),
        RecordKind::Reaction => head!("reaction"),
        RecordKind::GuardSkip => head!("guard_skip"),
        RecordKind::DepthLimit => head!("depth_limit"),
        RecordKind::Fault => head!("fault"),
        RecordKind::Warning => head!("warning"),
    }
}

/// Room for a typical record, reserved up front so that the pieces rarely grow the buffer.
const RECORD_BYTES_TYPICAL: usize = 384;

/// Appends the canonical JSON of `record` (no newline) to `out`.
pub fn encode_record(record: &RecordRef<'_>, out: &mut Vec<u8>) {
    Encoder::default().encode(record, out);
}

/// Encodes a stream of records: [`encode_record`], remembering the digits of the last `at`
/// (consecutive records mostly share their instant).
#[derive(Debug, Default)]
pub struct Encoder {
    at: Option<u64>,
    at_digits: Vec<u8>,
}

impl Encoder {
    /// Appends the canonical JSON of `record` (no newline) to `out`.
    pub fn encode(&mut self, record: &RecordRef<'_>, out: &mut Vec<u8>) {
        out.reserve(RECORD_BYTES_TYPICAL);
        put(out, head(record.kind()));
        let at = record.at().0;
        if self.at != Some(at) {
            self.at = Some(at);
            self.at_digits.clear();
            Writer(&mut self.at_digits).u64(at);
        }
        put(out, &self.at_digits);
        encode_fields(record, out);
    }
}

/// Everything after `"at":N`, and the closing brace.
fn encode_fields(record: &RecordRef<'_>, out: &mut Vec<u8>) {
    let mut w = Writer(out);
    match *record {
        RecordRef::Input { event, .. } => {
            w.key_u64(key!("event"), u64::from(event));
        }
        RecordRef::Publish {
            event,
            tenant,
            subject,
            depth,
            subscribers,
            ..
        } => {
            w.key_u64(key!("event"), event.0);
            w.key_str(key_quote!("tenant"), tenant);
            w.key_str(key_quote!("subject"), subject);
            w.key_u64(key!("depth"), u64::from(depth.0));
            w.key_u64(key!("subscribers"), u64::from(subscribers));
        }
        RecordRef::Deliver {
            event,
            sub,
            handler,
            ..
        } => {
            w.key_u64(key!("event"), event.0);
            w.key_u64(key!("sub"), u64::from(sub.0));
            w.key_str(key_quote!("handler"), handler);
        }
        RecordRef::Outcome {
            event,
            handler,
            id,
            outcome,
            severity,
            target,
            ..
        } => {
            w.key_u64(key!("event"), event.0);
            w.key_str(key_quote!("handler"), handler);
            w.key_str(key_quote!("id"), id);
            w.key_str(key_quote!("outcome"), outcome.as_str());
            w.key_str(key_quote!("severity"), severity.as_str());
            w.key_opt_str(key!("target"), target);
        }
        RecordRef::Dispatch {
            tenant,
            source_tenant,
            entity_type,
            id,
            action,
            depth,
            origin,
            ..
        } => {
            w.key_str(key_quote!("tenant"), tenant);
            w.key_str(key_quote!("source_tenant"), source_tenant);
            w.key_str(key_quote!("entity_type"), entity_type);
            w.key_str(key_quote!("id"), id);
            w.key_str(key_quote!("action"), action);
            w.key_u64(key!("depth"), u64::from(depth.0));
            match origin {
                OriginRef::Root { event } => {
                    w.raw(b",\"by\":\"root\"");
                    w.key_u64(key!("event"), u64::from(event));
                }
                OriginRef::Reflex { handler, event } => {
                    w.raw(b",\"by\":\"reflex\"");
                    w.key_str(key_quote!("handler"), handler);
                    w.key_u64(key!("event"), event.0);
                }
                OriginRef::Rule { rule, copy } => {
                    w.raw(b",\"by\":\"rule\"");
                    w.key_str(key_quote!("rule"), rule);
                    if copy {
                        w.raw(b",\"copy\":true");
                    }
                }
            }
        }
        RecordRef::Transition {
            tenant,
            entity_type,
            id,
            action,
            from,
            to,
            created,
            ..
        } => {
            w.key_str(key_quote!("tenant"), tenant);
            w.key_str(key_quote!("entity_type"), entity_type);
            w.key_str(key_quote!("id"), id);
            w.key_str(key_quote!("action"), action);
            w.key_str(key_quote!("from"), from);
            w.key_str(key_quote!("to"), to);
            w.key_bool(key!("created"), created);
        }
        RecordRef::ActionFailed {
            tenant,
            entity_type,
            id,
            action,
            error,
            ..
        } => {
            w.key_str(key_quote!("tenant"), tenant);
            w.key_str(key_quote!("entity_type"), entity_type);
            w.key_str(key_quote!("id"), id);
            w.key_str(key_quote!("action"), action);
            w.key_str(key_quote!("error"), error);
        }
        RecordRef::Reaction {
            tenant,
            rule,
            depth,
            success,
            target_type,
            target_id,
            target_status,
            error,
            ..
        } => {
            w.key_str(key_quote!("tenant"), tenant);
            w.key_str(key_quote!("rule"), rule);
            w.key_u64(key!("depth"), u64::from(depth.0));
            w.key_bool(key!("success"), success);
            w.key_str(key_quote!("target_type"), target_type);
            w.key_opt_str(key!("target_id"), target_id);
            w.key_opt_str(key!("target_status"), target_status);
            w.key_opt_str(key!("error"), error);
        }
        RecordRef::GuardSkip {
            tenant,
            rule,
            depth,
            ..
        }
        | RecordRef::DepthLimit {
            tenant,
            rule,
            depth,
            ..
        } => {
            w.key_str(key_quote!("tenant"), tenant);
            w.key_str(key_quote!("rule"), rule);
            w.key_u64(key!("depth"), u64::from(depth.0));
        }
        RecordRef::Fault {
            fault,
            on,
            nth,
            event,
            delay_ms,
            ..
        } => {
            w.key_str(key_quote!("fault"), fault.as_str());
            match on {
                FaultTarget::Reaction { rule, target } => {
                    w.raw(b",\"of\":\"reaction\"");
                    w.key_str(key_quote!("rule"), rule);
                    w.key_str(key_quote!("target"), target);
                }
                FaultTarget::Delivery { subject, handler } => {
                    w.raw(b",\"of\":\"delivery\"");
                    w.key_str(key_quote!("subject"), subject);
                    w.key_str(key_quote!("handler"), handler);
                }
                FaultTarget::Action { target, action } => {
                    w.raw(b",\"of\":\"action\"");
                    w.key_str(key_quote!("target"), target);
                    w.key_str(key_quote!("action"), action);
                }
                FaultTarget::Handler { handler, subject } => {
                    w.raw(b",\"of\":\"handler\"");
                    w.key_str(key_quote!("handler"), handler);
                    w.key_str(key_quote!("subject"), subject);
                }
            }
            w.key_u64(key!("nth"), u64::from(nth));
            match event {
                Some(e) => w.key_u64(key!("event"), e.0),
                None => w.raw(b",\"event\":null"),
            }
            w.key_u64(key!("delay_ms"), delay_ms);
        }
        RecordRef::Warning { message, .. } => {
            w.key_str(key_quote!("message"), message);
        }
    }
    w.raw(b"}");
}

struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    #[inline]
    fn raw(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    #[inline]
    fn key_u64(&mut self, key: &[u8], n: u64) {
        self.raw(key);
        self.u64(n);
    }

    /// `key` ends with the value's opening quote (`key_quote!`).
    #[inline(always)]
    fn key_str(&mut self, key: &[u8], s: &str) {
        self.raw(key);
        write_json_str_body(self.0, s);
        self.0.push(b'"');
    }

    #[inline]
    fn key_opt_str(&mut self, key: &[u8], s: Option<&str>) {
        self.raw(key);
        match s {
            Some(s) => write_json_str(self.0, s),
            None => self.raw(b"null"),
        }
    }

    #[inline]
    fn key_bool(&mut self, key: &[u8], b: bool) {
        self.raw(key);
        self.raw(if b { b"true" } else { b"false" });
    }

    /// Decimal, as serde_json (itoa) writes an unsigned integer.
    #[inline]
    fn u64(&mut self, n: u64) {
        if n < 10 {
            self.0.push(b'0' + n as u8);
            return;
        }
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        let mut n = n;
        while n >= 100 {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            i -= 2;
            buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        }
        if n >= 10 {
            let pair = n as usize * 2;
            i -= 2;
            buf[i..i + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        } else {
            i -= 1;
            buf[i] = b'0' + n as u8;
        }
        put(self.0, &buf[i..]);
    }
}

/// `out.extend_from_slice(src)`, for the short pieces a record is made of: up to 32 bytes
/// are copied in line with two overlapping loads and stores, where `extend_from_slice` calls
/// `memcpy` (a record has a dozen such pieces, most of them names of a few bytes).
#[inline(always)]
fn put(out: &mut Vec<u8>, src: &[u8]) {
    let n = src.len();
    if n > 32 {
        out.extend_from_slice(src);
        return;
    }
    out.reserve(n);
    let len = out.len();
    // SAFETY: `reserve(n)` leaves room for `n` more bytes after `len`. Every load below reads
    // inside `src` (`n` bytes: each range starts at 0 or ends at `n`, and is no longer than
    // `n`), every store writes inside `len..len + n` of `out`'s allocation, and together the
    // stores cover all of it with the bytes of `src` at the same offsets, so after them the
    // first `len + n` bytes are initialised. `src` cannot overlap the spare capacity of `out`
    // (it is borrowed while `out` is borrowed mutably).
    unsafe {
        let s = src.as_ptr();
        let d = out.as_mut_ptr().add(len);
        if n >= 16 {
            let (a, b) = (
                s.cast::<u128>().read_unaligned(),
                s.add(n - 16).cast::<u128>().read_unaligned(),
            );
            d.cast::<u128>().write_unaligned(a);
            d.add(n - 16).cast::<u128>().write_unaligned(b);
        } else if n >= 8 {
            let (a, b) = (
                s.cast::<u64>().read_unaligned(),
                s.add(n - 8).cast::<u64>().read_unaligned(),
            );
            d.cast::<u64>().write_unaligned(a);
            d.add(n - 8).cast::<u64>().write_unaligned(b);
        } else if n >= 4 {
            let (a, b) = (
                s.cast::<u32>().read_unaligned(),
                s.add(n - 4).cast::<u32>().read_unaligned(),
            );
            d.cast::<u32>().write_unaligned(a);
            d.add(n - 4).cast::<u32>().write_unaligned(b);
        } else if n > 0 {
            let (a, b, c) = (*s, *s.add(n / 2), *s.add(n - 1));
            *d = a;
            *d.add(n / 2) = b;
            *d.add(n - 1) = c;
        }
        out.set_len(len + n);
    }
}

/// Which bytes serde_json escapes: `"`, `\` and the control characters.
#[inline]
fn needs_escape(b: u8) -> bool {
    ESCAPED[b as usize]
}

/// `needs_escape`, as a table.
static ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b < 0x20 || b == b'"' as usize || b == b'\\' as usize;
        b += 1;
    }
    table
};

/// Whether any byte of `bytes` needs escaping, eight bytes at a time: a byte below 0x20,
/// or equal to `"` or `\`, sets its top bit in one of the three masks below (the classic
/// "has zero byte" and "has byte less than" tricks; bytes of 0x80 and above, which never
/// need escaping, are cleared by `!word`).
///
/// A string shorter than eight bytes is checked as one word too, read with overlapping
/// loads (each byte may be read twice, which cannot change the answer) and padded with
/// spaces; so is the tail of a longer one (its last eight bytes).
#[inline]
fn any_needs_escape(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n < 8 {
        // Padded with spaces, which need no escaping.
        return word_needs_escape(short_word(bytes, b' '));
    }
    let mut at = 0;
    while at + 8 < n {
        if word_needs_escape(word_at(bytes, at)) {
            return true;
        }
        at += 8;
    }
    word_needs_escape(word_at(bytes, n - 8))
}

/// Whether any of the eight bytes of `word` needs escaping.
#[inline(always)]
fn word_needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    below_space
        | has_zero(word ^ (ONES * u64::from(b'"')))
        | has_zero(word ^ (ONES * u64::from(b'\\')))
        != 0
}

/// A JSON string literal, escaped exactly as serde_json escapes it.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_json_str_body(out, s);
    out.push(b'"');
}

/// The inside of a JSON string literal (no quotes).
///
/// Names rarely need escaping: one scan, one copy. The escaping loop lives in a cold
/// function of its own, so that this one is a leaf that saves no registers.
#[inline(never)]
fn write_json_str_body(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if any_needs_escape(bytes) {
        write_escaped(out, bytes);
    } else {
        put(out, bytes);
    }
}

/// [`write_json_str_body`] for a string with something to escape.
#[cold]
#[inline(never)]
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !needs_escape(b) {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0A => out.extend_from_slice(b"\\n"),
            0x0C => out.extend_from_slice(b"\\f"),
            0x0D => out.extend_from_slice(b"\\r"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 0xF) as usize],
                ]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{EventId, SubId, Subject};
    use crate::engine::reflex::{OutcomeKind, Severity};
    use crate::engine::{Depth, EntityId, TenantId};
    use crate::sim::SimTime;
    use crate::trace::{FaultKind, Origin, Record};
    use proptest::prelude::*;

    fn ours(record: &Record) -> Vec<u8> {
        let mut out = Vec::new();
        encode_record(&record.view(), &mut out);
        out
    }

    fn serde(record: &Record) -> Vec<u8> {
        serde_json::to_vec(record).unwrap()
    }

    fn same(record: &Record) {
        assert_eq!(
            String::from_utf8(ours(record)).unwrap(),
            String::from_utf8(serde(record)).unwrap(),
            "{record:?}"
        );
        assert_eq!(&record.view().to_record(), record, "round trip");
    }

    #[test]
    fn short_pieces_are_appended_whole_at_every_length() {
        let source: Vec<u8> = (0..80u8).map(|b| b.wrapping_mul(37) ^ 0x5a).collect();
        for prefix in [0usize, 1, 7, 8, 31] {
            for n in 0..source.len() {
                let mut out = vec![0xEE; prefix];
                out.shrink_to_fit();
                put(&mut out, &source[..n]);
                put(&mut out, &source[n..]);
                let mut want = vec![0xEE; prefix];
                want.extend_from_slice(&source);
                assert_eq!(out, want, "prefix {prefix}, split at {n}");
            }
        }
    }

    #[test]
    fn strings_escape_as_serde_json_does() {
        let mut every_byte = String::new();
        for c in 0u8..0x80 {
            every_byte.push(c as char);
        }
        for s in [
            "",
            "plain",
            "quote \" backslash \\ slash / tab \t newline \n cr \r",
            "\u{0}\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f}",
            "é ü 日本 🦀 \u{2028}\u{2029} \u{feff}",
            every_byte.as_str(),
        ] {
            let mut out = Vec::new();
            write_json_str(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn escapes_are_found_at_every_position_and_numbers_written_as_itoa_does() {
        for len in 0..24 {
            for at in 0..len {
                for bad in [0u8, 0x1f, b'"', b'\\', b'\n'] {
                    for filler in [b'a', b'~', b' ', 0x7f] {
                        let mut bytes = vec![filler; len];
                        bytes[at] = bad;
                        let s = String::from_utf8(bytes).unwrap();
                        assert!(any_needs_escape(s.as_bytes()), "{s:?}");
                        let mut out = Vec::new();
                        write_json_str(&mut out, &s);
                        assert_eq!(out, serde_json::to_vec(&s).unwrap());
                    }
                }
            }
            let clean = "é~ a🦀 ".repeat(len);
            assert!(!any_needs_escape(clean.as_bytes()), "{clean:?}");
        }
        let mut numbers: Vec<u64> = (0..1_100).collect();
        for p in 1..20 {
            let p = 10u64.pow(p);
            numbers.extend([p - 1, p, p + 1]);
        }
        numbers.extend([u64::MAX, u64::MAX - 1, 1 << 63]);
        for n in numbers {
            let mut out = Vec::new();
            Writer(&mut out).u64(n);
            assert_eq!(out, serde_json::to_vec(&n).unwrap(), "{n}");
        }
    }

    #[test]
    fn every_record_kind_encodes_as_serde_json_does() {
        let t = |s: &str| TenantId::new(s);
        let at = SimTime(u64::MAX);
        let records = vec![
            Record::Input { at, event: 0 },
            Record::Publish {
                at: SimTime(0),
                event: EventId(12),
                tenant: t("shop"),
                subject: Subject::new("entity.Order.Confirm.o\"1").unwrap(),
                depth: Depth(3),
                subscribers: 2,
            },
            Record::Deliver {
                at,
                event: EventId(1),
                sub: SubId(u32::MAX),
                handler: "h\\1".into(),
            },
            Record::Outcome {
                at,
                event: EventId(1),
                handler: "h".into(),
                id: "abc".into(),
                outcome: OutcomeKind::Errored,
                severity: Severity::Critical,
                target: None,
            },
            Record::Outcome {
                at,
                event: EventId(1),
                handler: "h".into(),
                id: "abc".into(),
                outcome: OutcomeKind::Applied,
                severity: Severity::Warn,
                target: Some("r1|Gi0/1".into()),
            },
            Record::Warning {
                at,
                message: "rule x: \u{1}".into(),
            },
        ];
        for r in &records {
            same(r);
        }
        for kind in [
            FaultKind::Delay,
            FaultKind::Drop,
            FaultKind::Duplicate,
            FaultKind::HandlerPanic,
            FaultKind::ActionFailure,
            FaultKind::ReflexRestart,
        ] {
            for on in [
                FaultTarget::Reaction {
                    rule: "r".into(),
                    target: "T/1".into(),
                },
                FaultTarget::Delivery {
                    subject: "a.b".into(),
                    handler: "h".into(),
                },
                FaultTarget::Action {
                    target: "T/1".into(),
                    action: "Go".into(),
                },
                FaultTarget::Handler {
                    handler: "h".into(),
                    subject: "a.b".into(),
                },
            ] {
                for event in [None, Some(EventId(7))] {
                    same(&Record::Fault {
                        at,
                        fault: kind,
                        on: on.clone(),
                        nth: 3,
                        event,
                        delay_ms: 50,
                    });
                }
            }
        }
        for outcome in [
            OutcomeKind::Logged,
            OutcomeKind::Applied,
            OutcomeKind::Skipped,
            OutcomeKind::Errored,
        ] {
            for severity in [
                Severity::Info,
                Severity::Warn,
                Severity::High,
                Severity::Critical,
            ] {
                same(&Record::Outcome {
                    at,
                    event: EventId(0),
                    handler: "h".into(),
                    id: "i".into(),
                    outcome,
                    severity,
                    target: Some("t".into()),
                });
            }
        }
    }

    /// Names with everything that needs escaping, and text beyond ASCII.
    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9_|/.-]{0,12}",
            "\\PC{0,12}",
            any::<String>(),
            prop::collection::vec(0u8..0x80, 0..12)
                .prop_map(|b| b.into_iter().map(char::from).collect()),
        ]
    }

    fn origin() -> impl Strategy<Value = Origin> {
        prop_oneof![
            any::<u32>().prop_map(|event| Origin::Root { event }),
            (name(), any::<u64>()).prop_map(|(handler, e)| Origin::Reflex {
                handler,
                event: EventId(e)
            }),
            (name(), any::<bool>()).prop_map(|(rule, copy)| Origin::Rule { rule, copy }),
        ]
    }

    fn subject() -> impl Strategy<Value = Subject> {
        prop::collection::vec("[^.*> \\t\\n\\r\\x0b\\x0c]{1,8}", 1..5)
            .prop_filter_map("a valid subject", |tokens| {
                Subject::new(tokens.join(".")).ok()
            })
    }

    fn record() -> impl Strategy<Value = Record> {
        let at = any::<u64>().prop_map(SimTime);
        let depth = any::<u32>().prop_map(Depth);
        let opt = || prop::option::of(name());
        prop_oneof![
            (at.clone(), any::<u32>()).prop_map(|(at, event)| Record::Input { at, event }),
            (
                at.clone(),
                any::<u64>(),
                name(),
                subject(),
                depth.clone(),
                any::<u32>()
            )
                .prop_map(|(at, e, tenant, subject, depth, subscribers)| {
                    Record::Publish {
                        at,
                        event: EventId(e),
                        tenant: TenantId(tenant),
                        subject,
                        depth,
                        subscribers,
                    }
                }),
            (at.clone(), any::<u64>(), any::<u32>(), name()).prop_map(|(at, e, s, handler)| {
                Record::Deliver {
                    at,
                    event: EventId(e),
                    sub: SubId(s),
                    handler,
                }
            }),
            (
                at.clone(),
                (name(), name(), name(), name(), name()),
                depth.clone(),
                origin()
            )
                .prop_map(|(at, (t, s, ty, id, action), depth, origin)| {
                    Record::Dispatch {
                        at,
                        tenant: TenantId(t),
                        source_tenant: TenantId(s),
                        entity_type: ty,
                        id: EntityId(id),
                        action,
                        depth,
                        origin,
                    }
                }),
            (
                at.clone(),
                (name(), name(), name(), name(), name(), name()),
                any::<bool>()
            )
                .prop_map(|(at, (t, ty, id, action, from, to), created)| {
                    Record::Transition {
                        at,
                        tenant: TenantId(t),
                        entity_type: ty,
                        id: EntityId(id),
                        action,
                        from,
                        to,
                        created,
                    }
                }),
            (at.clone(), (name(), name(), name(), name(), name())).prop_map(
                |(at, (t, ty, id, action, error))| Record::ActionFailed {
                    at,
                    tenant: TenantId(t),
                    entity_type: ty,
                    id: EntityId(id),
                    action,
                    error,
                }
            ),
            (
                at.clone(),
                (name(), name(), name()),
                depth.clone(),
                any::<bool>(),
                (opt(), opt(), opt())
            )
                .prop_map(
                    |(at, (t, rule, ty), depth, success, (id, status, error))| {
                        Record::Reaction {
                            at,
                            tenant: TenantId(t),
                            rule,
                            depth,
                            success,
                            target_type: ty,
                            target_id: id.map(EntityId),
                            target_status: status,
                            error,
                        }
                    }
                ),
            (at.clone(), name(), name(), depth.clone(), any::<bool>()).prop_map(
                |(at, t, rule, depth, skip)| {
                    let tenant = TenantId(t);
                    if skip {
                        Record::GuardSkip {
                            at,
                            tenant,
                            rule,
                            depth,
                        }
                    } else {
                        Record::DepthLimit {
                            at,
                            tenant,
                            rule,
                            depth,
                        }
                    }
                }
            ),
            (at.clone(), name()).prop_map(|(at, message)| Record::Warning { at, message }),
            (
                at,
                (name(), name(), name(), opt()),
                any::<u32>(),
                prop::option::of(any::<u64>()),
                any::<u64>()
            )
                .prop_map(|(at, (a, b, ty, handler_target), nth, event, delay_ms)| {
                    let on = match ty.len() % 4 {
                        0 => FaultTarget::Reaction { rule: a, target: b },
                        1 => FaultTarget::Delivery {
                            subject: a,
                            handler: b,
                        },
                        2 => FaultTarget::Action {
                            target: a,
                            action: b,
                        },
                        _ => FaultTarget::Handler {
                            handler: a,
                            subject: b,
                        },
                    };
                    let outcome_record = handler_target.is_some();
                    if outcome_record {
                        Record::Outcome {
                            at,
                            event: EventId(delay_ms),
                            handler: ty,
                            id: format!("{nth:x}"),
                            outcome: OutcomeKind::Skipped,
                            severity: Severity::High,
                            target: handler_target,
                        }
                    } else {
                        Record::Fault {
                            at,
                            fault: FaultKind::Duplicate,
                            on,
                            nth,
                            event: event.map(EventId),
                            delay_ms,
                        }
                    }
                }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn hand_written_encoding_is_byte_identical_to_serde_json(r in record()) {
            prop_assert_eq!(ours(&r), serde(&r));
            prop_assert_eq!(&r.view().to_record(), &r);
        }
    }
}

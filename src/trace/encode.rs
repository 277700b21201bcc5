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
//!
//! How: each record reserves, once, room for the most it can take (its fixed pieces, and
//! six bytes for each byte of its strings, the size of a `\u00xx` escape), then stores its
//! pieces through a [`Cursor`] without checking the capacity piece by piece. The cursor and
//! the string and number writers are in `trace/bytes.rs`, behind safe methods; this file
//! only says what goes where.

use crate::core::raw::bytes::{Cursor, Digits};
use crate::core::{FaultTarget, OriginRef, RecordRef};

/// A constant piece of a record (a kind tag, a key, a literal).
macro_rules! lit {
    ($text:expr) => {
        $text.as_bytes()
    };
}

/// `,"key":`
macro_rules! key {
    ($key:literal) => {
        lit!(concat!(",\"", $key, "\":"))
    };
}

/// `,"key":"`: a key and the opening quote of its string value.
macro_rules! key_quote {
    ($key:literal) => {
        lit!(concat!(",\"", $key, "\":\""))
    };
}

/// `{"kind":"<kind>","at":`
macro_rules! head {
    ($kind:literal) => {
        lit!(concat!("{\"kind\":\"", $kind, "\",\"at\":"))
    };
}

#[cfg(test)]
/// Appends the canonical JSON of `record` (no newline) to `out`.
pub fn encode_record(record: &RecordRef<'_>, out: &mut Vec<u8>) {
    Encoder::default().encode(record, out);
}

/// Encodes a stream of records: [`encode_record`], remembering the digits of the last `at`
/// (consecutive records mostly share their instant).
#[derive(Debug, Default)]
pub struct Encoder {
    at: Option<u64>,
    at_digits: Digits,
}

impl Encoder {
    #[cfg(test)]
    /// Appends the canonical JSON of `record` (no newline) to `out`: [`Encoder::encode_line`]
    /// without its newline.
    pub fn encode(&mut self, record: &RecordRef<'_>, out: &mut Vec<u8>) {
        self.encode_line(record, out);
        out.pop();
    }

    /// Appends the line of `record` to `out`: its canonical JSON and a newline, written with
    /// the rest of the record (in its room, with its closing brace).
    pub fn encode_line(&mut self, record: &RecordRef<'_>, out: &mut Vec<u8>) {
        let at = record.at().0;
        if self.at != Some(at) {
            self.at = Some(at);
            self.at_digits = Digits::new(at);
        }
        encode_with_at(record, &self.at_digits, out);
    }
}

/// The line of `record`, whose `at` has the digits `at`.
fn encode_with_at(record: &RecordRef<'_>, at: &Digits, out: &mut Vec<u8>) {
    match *record {
        RecordRef::Input { event, .. } => {
            let mut w = Cursor::new(out, &[]);
            w.head(head!("input"), at);
            w.key_u64(key!("event"), u64::from(event));
            w.close();
        }
        RecordRef::Publish {
            cause,
            event,
            tenant,
            subject,
            depth,
            subscribers,
            ..
        } => {
            let mut w = Cursor::new(out, &[tenant, subject]);
            w.head(head!("publish"), at);
            w.key_u64(key!("cause"), cause);
            w.key_u64(key!("event"), event.0);
            w.key_str(key_quote!("tenant"), tenant);
            w.key_str(key_quote!("subject"), subject);
            w.key_u64(key!("depth"), u64::from(depth.0));
            w.key_u64(key!("subscribers"), u64::from(subscribers));
            w.close();
        }
        RecordRef::Deliver {
            cause,
            event,
            sub,
            handler,
            ..
        } => {
            let mut w = Cursor::new(out, &[handler]);
            w.head(head!("deliver"), at);
            w.key_u64(key!("cause"), cause);
            w.key_u64(key!("event"), event.0);
            w.key_u64(key!("sub"), u64::from(sub.0));
            w.key_str(key_quote!("handler"), handler);
            w.close();
        }
        RecordRef::Outcome {
            cause,
            event,
            handler,
            id,
            outcome,
            severity,
            target,
            ..
        } => {
            let (outcome, severity) = (outcome.as_str(), severity.as_str());
            let mut w = Cursor::new(
                out,
                &[handler, id, outcome, severity, target.unwrap_or_default()],
            );
            w.head(head!("outcome"), at);
            w.key_u64(key!("cause"), cause);
            w.key_u64(key!("event"), event.0);
            w.key_str(key_quote!("handler"), handler);
            w.key_str(key_quote!("id"), id);
            w.key_str(key_quote!("outcome"), outcome);
            w.key_str(key_quote!("severity"), severity);
            w.key_opt_str(key!("target"), target);
            w.close();
        }
        RecordRef::Dispatch {
            cause,
            tenant,
            source_tenant,
            entity_type,
            id,
            action,
            depth,
            origin,
            ..
        } => {
            let by = match origin {
                OriginRef::Root { .. } => "",
                OriginRef::Reflex { handler, .. } => handler,
                OriginRef::Rule { rule, .. } => rule,
            };
            let mut w = Cursor::new(out, &[tenant, source_tenant, entity_type, id, action, by]);
            w.head(head!("dispatch"), at);
            w.key_u64(key!("cause"), cause);
            w.key_str(key_quote!("tenant"), tenant);
            w.key_str(key_quote!("source_tenant"), source_tenant);
            w.key_str(key_quote!("entity_type"), entity_type);
            w.key_str(key_quote!("id"), id);
            w.key_str(key_quote!("action"), action);
            w.key_u64(key!("depth"), u64::from(depth.0));
            match origin {
                OriginRef::Root { event } => {
                    w.piece(lit!(",\"by\":\"root\""));
                    w.key_u64(key!("event"), u64::from(event));
                }
                OriginRef::Reflex { handler, event } => {
                    w.piece(lit!(",\"by\":\"reflex\""));
                    w.key_str(key_quote!("handler"), handler);
                    w.key_u64(key!("event"), event.0);
                }
                OriginRef::Rule { rule, copy } => {
                    w.piece(lit!(",\"by\":\"rule\""));
                    w.key_str(key_quote!("rule"), rule);
                    if copy {
                        w.piece(lit!(",\"copy\":true"));
                    }
                }
            }
            w.close();
        }
        RecordRef::Transition {
            cause,
            tenant,
            entity_type,
            id,
            action,
            from,
            to,
            created,
            ..
        } => {
            let mut w = Cursor::new(out, &[tenant, entity_type, id, action, from, to]);
            w.head(head!("transition"), at);
            w.key_u64(key!("cause"), cause);
            w.key_str(key_quote!("tenant"), tenant);
            w.key_str(key_quote!("entity_type"), entity_type);
            w.key_str(key_quote!("id"), id);
            w.key_str(key_quote!("action"), action);
            w.key_str(key_quote!("from"), from);
            w.key_str(key_quote!("to"), to);
            w.key_bool(key!("created"), created);
            w.close();
        }
        RecordRef::ActionFailed {
            cause,
            tenant,
            entity_type,
            id,
            action,
            error,
            ..
        } => {
            let mut w = Cursor::new(out, &[tenant, entity_type, id, action, error]);
            w.head(head!("action_failed"), at);
            w.key_u64(key!("cause"), cause);
            w.key_str(key_quote!("tenant"), tenant);
            w.key_str(key_quote!("entity_type"), entity_type);
            w.key_str(key_quote!("id"), id);
            w.key_str(key_quote!("action"), action);
            w.key_str(key_quote!("error"), error);
            w.close();
        }
        RecordRef::Reaction {
            cause,
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
            let mut w = Cursor::new(
                out,
                &[
                    tenant,
                    rule,
                    target_type,
                    target_id.unwrap_or_default(),
                    target_status.unwrap_or_default(),
                    error.unwrap_or_default(),
                ],
            );
            w.head(head!("reaction"), at);
            w.key_u64(key!("cause"), cause);
            w.key_str(key_quote!("tenant"), tenant);
            w.key_str(key_quote!("rule"), rule);
            w.key_u64(key!("depth"), u64::from(depth.0));
            w.key_bool(key!("success"), success);
            w.key_str(key_quote!("target_type"), target_type);
            w.key_opt_str(key!("target_id"), target_id);
            w.key_opt_str(key!("target_status"), target_status);
            w.key_opt_str(key!("error"), error);
            w.close();
        }
        RecordRef::GuardSkip {
            cause,
            tenant,
            rule,
            depth,
            ..
        }
        | RecordRef::DepthLimit {
            cause,
            tenant,
            rule,
            depth,
            ..
        } => {
            let head = match record {
                RecordRef::GuardSkip { .. } => head!("guard_skip"),
                _ => head!("depth_limit"),
            };
            let mut w = Cursor::new(out, &[tenant, rule]);
            w.head(head, at);
            w.key_u64(key!("cause"), cause);
            w.key_str(key_quote!("tenant"), tenant);
            w.key_str(key_quote!("rule"), rule);
            w.key_u64(key!("depth"), u64::from(depth.0));
            w.close();
        }
        RecordRef::Fault {
            cause,
            fault,
            on,
            nth,
            event,
            delay_ms,
            ..
        } => {
            let fault = fault.as_str();
            let (a, b) = match on {
                FaultTarget::Reaction { rule, target } => (rule, target),
                FaultTarget::Delivery { subject, handler } => (subject, handler),
                FaultTarget::Action { target, action } => (target, action),
                FaultTarget::Handler { handler, subject } => (handler, subject),
            };
            let mut w = Cursor::new(out, &[fault, a, b]);
            w.head(head!("fault"), at);
            w.key_u64(key!("cause"), cause);
            w.key_str(key_quote!("fault"), fault);
            match on {
                FaultTarget::Reaction { .. } => {
                    w.piece(lit!(",\"of\":\"reaction\""));
                    w.key_str(key_quote!("rule"), a);
                    w.key_str(key_quote!("target"), b);
                }
                FaultTarget::Delivery { .. } => {
                    w.piece(lit!(",\"of\":\"delivery\""));
                    w.key_str(key_quote!("subject"), a);
                    w.key_str(key_quote!("handler"), b);
                }
                FaultTarget::Action { .. } => {
                    w.piece(lit!(",\"of\":\"action\""));
                    w.key_str(key_quote!("target"), a);
                    w.key_str(key_quote!("action"), b);
                }
                FaultTarget::Handler { .. } => {
                    w.piece(lit!(",\"of\":\"handler\""));
                    w.key_str(key_quote!("handler"), a);
                    w.key_str(key_quote!("subject"), b);
                }
            }
            w.key_u64(key!("nth"), u64::from(nth));
            match event {
                Some(e) => w.key_u64(key!("event"), e.0),
                None => w.piece(lit!(",\"event\":null")),
            }
            w.key_u64(key!("delay_ms"), delay_ms);
            w.close();
        }
        RecordRef::Warning { cause, message, .. } => {
            let mut w = Cursor::new(out, &[message]);
            w.head(head!("warning"), at);
            w.key_u64(key!("cause"), cause);
            w.key_str(key_quote!("message"), message);
            w.close();
        }
    }
}

/// The pieces of JSON a record is made of, over the cursor's bytes.
impl Cursor<'_> {
    /// `{"kind":"<kind>","at":N`
    #[inline(always)]
    fn head(&mut self, head: &[u8], at: &Digits) {
        self.piece(head);
        self.digits(at);
    }

    #[inline(always)]
    fn key_u64(&mut self, key: &[u8], n: u64) {
        self.piece(key);
        self.u64(n);
    }

    /// `key` ends with the value's opening quote (`key_quote!`).
    #[inline(always)]
    fn key_str(&mut self, key: &[u8], s: &str) {
        self.piece(key);
        self.str(s);
        self.piece(lit!("\""));
    }

    #[inline(always)]
    fn key_opt_str(&mut self, key: &[u8], s: Option<&str>) {
        self.piece(key);
        match s {
            Some(s) => {
                self.piece(lit!("\""));
                self.str(s);
                self.piece(lit!("\""));
            }
            None => self.piece(lit!("null")),
        }
    }

    #[inline(always)]
    fn key_bool(&mut self, key: &[u8], b: bool) {
        self.piece(key);
        self.piece(if b { lit!("true") } else { lit!("false") });
    }

    /// Closes the record and its line, and makes them part of the vector.
    #[inline(always)]
    fn close(mut self) {
        self.piece(lit!("}\n"));
        self.finish();
    }
}

#[cfg(test)]
/// A JSON string literal, escaped exactly as serde_json escapes it.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let mut w = Cursor::new(out, &[s]);
    w.piece(lit!("\""));
    w.str(s);
    w.piece(lit!("\""));
    w.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::core::raw::bytes::FIXED_BYTES_MAX;
    use crate::core::SimTime;
    use crate::core::{Depth, EntityId, TenantId};
    use crate::core::{EventId, SubId, Subject};
    use crate::core::{FaultKind, Origin, Record, RecordKind};
    use crate::core::{OutcomeKind, Severity};
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
    fn escapes_at_every_position_are_written_as_serde_json_writes_them() {
        for len in 0..50 {
            for at in 0..len {
                for bad in [0u8, 0x1f, b'"', b'\\', b'\n'] {
                    for filler in [b'a', b'~', b' ', 0x7f] {
                        let mut bytes = vec![filler; len];
                        bytes[at] = bad;
                        let s = String::from_utf8(bytes).unwrap();
                        let mut out = Vec::new();
                        write_json_str(&mut out, &s);
                        assert_eq!(out, serde_json::to_vec(&s).unwrap());
                    }
                }
            }
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
                cause: 0,
                event: EventId(12),
                tenant: t("shop"),
                subject: Subject::new("entity.Order.Confirm.o\"1").unwrap(),
                depth: Depth(3),
                subscribers: 2,
            },
            Record::Deliver {
                at,
                cause: 0,
                event: EventId(1),
                sub: SubId(u32::MAX),
                handler: "h\\1".into(),
            },
            Record::Outcome {
                at,
                cause: 0,
                event: EventId(1),
                handler: "h".into(),
                id: "abc".into(),
                outcome: OutcomeKind::Errored,
                severity: Severity::Critical,
                target: None,
            },
            Record::Outcome {
                at,
                cause: 0,
                event: EventId(1),
                handler: "h".into(),
                id: "abc".into(),
                outcome: OutcomeKind::Applied,
                severity: Severity::Warn,
                target: Some("r1|Gi0/1".into()),
            },
            Record::Warning {
                at,
                cause: 0,
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
                        cause: 0,
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
                    cause: 0,
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

    /// A record of every kind (and every origin and fault target) whose strings are all
    /// `name` (the subject is `name`, or `s` when `name` is not a valid subject) and whose
    /// numbers are all `n`.
    fn every_kind(name: &str, n: u64) -> Vec<Record> {
        let at = SimTime(n);
        let s = || name.to_string();
        let n32 = n as u32;
        let mut records = vec![
            Record::Input { at, event: n32 },
            Record::Publish {
                at,
                cause: 0,
                event: EventId(n),
                tenant: TenantId(s()),
                subject: Subject::new(name).unwrap_or_else(|_| Subject::new("s").unwrap()),
                depth: Depth(n32),
                subscribers: n32,
            },
            Record::Deliver {
                at,
                cause: 0,
                event: EventId(n),
                sub: SubId(n32),
                handler: s(),
            },
            Record::Outcome {
                at,
                cause: 0,
                event: EventId(n),
                handler: s(),
                id: s(),
                outcome: OutcomeKind::Errored,
                severity: Severity::Critical,
                target: Some(s()),
            },
            Record::Transition {
                at,
                cause: 0,
                tenant: TenantId(s()),
                entity_type: s(),
                id: EntityId(s()),
                action: s(),
                from: s(),
                to: s(),
                created: false,
            },
            Record::ActionFailed {
                at,
                cause: 0,
                tenant: TenantId(s()),
                entity_type: s(),
                id: EntityId(s()),
                action: s(),
                error: s(),
            },
            Record::GuardSkip {
                at,
                cause: 0,
                tenant: TenantId(s()),
                rule: s(),
                depth: Depth(n32),
            },
            Record::DepthLimit {
                at,
                cause: 0,
                tenant: TenantId(s()),
                rule: s(),
                depth: Depth(n32),
            },
            Record::Warning {
                at,
                cause: 0,
                message: s(),
            },
        ];
        for target in [None, Some(s())] {
            records.push(Record::Reaction {
                at,
                cause: 0,
                tenant: TenantId(s()),
                rule: s(),
                depth: Depth(n32),
                success: false,
                target_type: s(),
                target_id: target.clone().map(EntityId),
                target_status: target.clone(),
                error: target,
            });
        }
        for origin in [
            Origin::Root { event: n32 },
            Origin::Reflex {
                handler: s(),
                event: EventId(n),
            },
            Origin::Rule {
                rule: s(),
                copy: true,
            },
        ] {
            records.push(Record::Dispatch {
                at,
                cause: 0,
                tenant: TenantId(s()),
                source_tenant: TenantId(s()),
                entity_type: s(),
                id: EntityId(s()),
                action: s(),
                depth: Depth(n32),
                origin,
            });
        }
        for on in [
            FaultTarget::Reaction {
                rule: s(),
                target: s(),
            },
            FaultTarget::Delivery {
                subject: s(),
                handler: s(),
            },
            FaultTarget::Action {
                target: s(),
                action: s(),
            },
            FaultTarget::Handler {
                handler: s(),
                subject: s(),
            },
        ] {
            for event in [None, Some(EventId(n))] {
                records.push(Record::Fault {
                    at,
                    cause: 0,
                    fault: FaultKind::ReflexRestart,
                    on: on.clone(),
                    nth: n32,
                    event,
                    delay_ms: n,
                });
            }
        }
        records
    }

    /// The room a record reserves for its keys, literals and numbers covers the longest of
    /// them with a margin (the kind names that records carry as strings are reserved for as
    /// strings, so they are left out here). The cursor counts every number as 20 digits, and
    /// a record that went past its budget would panic in `same` below.
    #[test]
    fn the_fixed_room_covers_every_kind_of_record() {
        let mut longest = 0;
        let mut records = every_kind("", u64::MAX);
        let kinds: std::collections::BTreeSet<RecordKind> =
            records.iter().map(|r| r.view().kind()).collect();
        assert_eq!(kinds.len(), RecordKind::COUNT, "every kind is measured");
        // `null` is longer than an empty string in quotes.
        let mut no_target = records
            .iter()
            .find(|r| matches!(r, Record::Outcome { .. }))
            .expect("an outcome")
            .clone();
        if let Record::Outcome { target, .. } = &mut no_target {
            *target = None;
        }
        records.push(no_target);
        for record in records {
            let strings = match &record {
                Record::Publish { .. } => "s".len(),
                Record::Outcome {
                    outcome, severity, ..
                } => outcome.as_str().len() + severity.as_str().len(),
                Record::Fault { fault, .. } => fault.as_str().len(),
                _ => 0,
            };
            longest = longest.max(ours(&record).len() - strings);
            same(&record);
        }
        // With the newline the encoder writes with the record, and the 10 digits more the
        // cursor counts for each of at most two `u32` (they have 10 at most).
        let longest = longest + 1 + 2 * 10;
        assert!(longest <= FIXED_BYTES_MAX, "{longest}");
        assert!(longest > FIXED_BYTES_MAX / 2, "{longest}: room to spare");
    }

    /// Long strings, and strings that escape into six times their length, in every field
    /// of every kind of record; one encoder writes their lines after one another into one
    /// vector, as the sink does.
    #[test]
    fn long_strings_full_of_escapes_encode_as_serde_json_does() {
        let mut encoder = Encoder::default();
        let (mut out, mut want) = (Vec::new(), Vec::new());
        for len in [1, 3, 4, 7, 8, 9, 16, 17, 31, 33, 64, 100, 1000] {
            for unit in ["\u{1}", "\u{1f}", "\"", "\\", "\n", "a", "é", "a\u{1}b"] {
                let name = unit.repeat(len);
                for (i, record) in every_kind(&name, len as u64 * 1_000_003).iter().enumerate() {
                    same(record);
                    if i % 3 == 0 {
                        // A vector without spare capacity: the record's room grows it.
                        out.shrink_to_fit();
                    }
                    encoder.encode_line(&record.view(), &mut out);
                    want.extend_from_slice(&serde(record));
                    want.push(b'\n');
                    assert_eq!(out, want, "{record:?}");
                }
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
                        cause: at.0.rotate_left(17),
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
                    cause: at.0.rotate_left(17),
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
                        cause: at.0.rotate_left(17),
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
                        cause: at.0.rotate_left(17),
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
                    cause: at.0.rotate_left(17),
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
                            cause: at.0.rotate_left(17),
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
                            cause: at.0.rotate_left(17),
                            tenant,
                            rule,
                            depth,
                        }
                    } else {
                        Record::DepthLimit {
                            at,
                            cause: at.0.rotate_left(17),
                            tenant,
                            rule,
                            depth,
                        }
                    }
                }
            ),
            (at.clone(), name()).prop_map(|(at, message)| Record::Warning {
                at,
                cause: at.0.rotate_left(17),
                message
            }),
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
                            cause: at.0.rotate_left(17),
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
                            cause: at.0.rotate_left(17),
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

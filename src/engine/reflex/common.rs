//! Pieces the reflex handlers share: building an outcome (and the `errored` one netcortex's
//! runner writes), the dedup window, reading a sensory subject as netcortex does, and the
//! length limits on rationales, diagnostics and upstream keys.
//!
//! It leaves out anything handler-specific (which keys name a target, which window applies):
//! that lives with each handler, so that one file reads as one handler's whole behaviour.
//! Python's semantics for payload values (`or`, `str()`, `repr()`) are in `python.rs`.

use crate::bus::Envelope;
use crate::core::SimTime;
use crate::core::{Object, Value};
use crate::core::{OutcomeKind, Severity};
use crate::engine::reflex::python::{get_truthy, py_str};
use crate::engine::reflex::{Outcome, DIAGNOSTIC_BYTES_MAX, RATIONALE_CHARS_MAX};
use std::collections::BTreeMap;
use std::sync::Arc;

/// How many upstream payload keys an outcome keeps (the model service's cap): a chatty
/// poller must not blow up every outcome, trace and report that carries its payload.
pub const PAYLOAD_KEYS_MAX: usize = 16;

/// An outcome for `event` as seen by handler `handler` at `now`, carrying the event's payload.
///
/// `id` is left empty: the registry fills it in, so that every outcome, whichever handler
/// built it, gets its id the same way.
pub fn new_outcome(
    handler: &str,
    event: &Envelope,
    now: SimTime,
    kind: OutcomeKind,
    severity: Severity,
    target: Option<String>,
    rationale: impl Into<String>,
) -> Outcome {
    Outcome {
        id: String::new(),
        handler: handler.to_string(),
        subject: event.subject.as_str().to_string(),
        target,
        severity,
        occurred_at: now,
        payload: Arc::clone(&event.payload),
        outcome: kind,
        rationale: {
            let mut rationale = rationale.into();
            truncate_chars_in_place(&mut rationale, RATIONALE_CHARS_MAX);
            rationale
        },
        diagnostic: String::new(),
    }
}

/// `handler raised <Kind>`: the rationale netcortex's runner gives an `errored` outcome.
pub fn raised(kind: &str) -> String {
    concat(&["handler raised ", kind])
}

/// The exception kind of a handler's error message: the `Name` of `Name: detail` when `Name`
/// is one word (as Python writes an exception), else `Error`.
pub fn exception_name(message: &str) -> &str {
    match message.split_once(": ") {
        Some((name, _))
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            name
        }
        _ => "Error",
    }
}

/// The `errored` outcome of a handler that failed on `event`, as netcortex's runner builds
/// it: severity `high`, the target read from the payload's `target` key
/// (`str(payload.get("target") or "") or None`), an empty payload, `rationale`, and the last
/// [`DIAGNOSTIC_BYTES_MAX`] bytes of `diagnostic`.
pub fn errored_outcome(
    handler: &str,
    event: &Envelope,
    now: SimTime,
    rationale: String,
    diagnostic: &str,
) -> Outcome {
    let target = event
        .payload
        .as_object()
        .and_then(|_| get_truthy(&event.payload, &["target"]))
        .map(py_str);
    let mut outcome = new_outcome(
        handler,
        event,
        now,
        OutcomeKind::Errored,
        Severity::High,
        target,
        rationale,
    );
    outcome.payload = Arc::new(Value::Object(Object::new()));
    outcome.diagnostic = tail_bytes(diagnostic, DIAGNOSTIC_BYTES_MAX).to_string();
    outcome
}

/// Remembers which keys were accepted recently, so that a repeat within the window is
/// reported as a duplicate.
///
/// A key is a duplicate when the same key was *accepted* less than `window_ms` ago. A
/// duplicate does not refresh the window: a webhook retried every 50 s is accepted again 60 s
/// after the first acceptance, not suppressed forever. Entries older than the window are
/// pruned on every check, so memory is bounded by the keys accepted within one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupWindow {
    pub window_ms: u64,
    /// Key -> when it was last accepted.
    pub seen: BTreeMap<String, SimTime>,
}

impl DedupWindow {
    pub fn new(window_ms: u64) -> DedupWindow {
        DedupWindow {
            window_ms,
            seen: BTreeMap::new(),
        }
    }

    /// Returns `true` when `key` is a duplicate at `now`; otherwise records it as accepted at
    /// `now` and returns `false`.
    pub fn check_and_record(&mut self, key: &str, now: SimTime) -> bool {
        self.prune(now);
        if self.seen.contains_key(key) {
            // Pruning left only entries younger than the window.
            return true;
        }
        self.seen.insert(key.to_string(), now);
        false
    }

    /// Forgets every key (a restarted process starts with empty memory).
    pub fn clear(&mut self) {
        self.seen.clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn prune(&mut self, now: SimTime) {
        let window_ms = self.window_ms;
        // `saturating_sub`: virtual time never goes back, but if a caller's did, an entry
        // from the "future" counts as fresh rather than underflowing.
        self.seen
            .retain(|_, accepted| now.ms().saturating_sub(accepted.ms()) < window_ms);
    }
}

/// A sensory subject as netcortex's `parse_sensory_subject` reads it:
/// `sensory.<event_class>.<source>.<target...>`. A subject of fewer than 4 tokens, or outside
/// `sensory.`, has neither (both empty): netcortex's handlers then report an empty source and
/// never deduplicate, since the fact key needs an event class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sensory<'a> {
    pub event_class: &'a str,
    pub source: &'a str,
}

impl<'a> Sensory<'a> {
    pub fn parse(subject: &'a str) -> Sensory<'a> {
        let mut tokens = subject.split('.');
        let (ns, class, source) = (tokens.next(), tokens.next(), tokens.next());
        match (ns, class, source, tokens.next()) {
            (Some("sensory"), Some(event_class), Some(source), Some(_)) => Sensory {
                event_class,
                source,
            },
            _ => Sensory {
                event_class: "",
                source: "",
            },
        }
    }
}

/// The Python type name netcortex's `payload.get(...)` would raise about when the payload is
/// not an object (`AttributeError: 'list' object has no attribute 'get'`).
pub fn not_a_dict(payload: &Value) -> Option<String> {
    let name = match payload {
        Value::Object(_) => return None,
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
    };
    Some(format!(
        "AttributeError: '{name}' object has no attribute 'get'"
    ))
}

/// The pieces one after another, in one allocation of the right size: what `format!` of
/// plain strings gives, without its machinery (handlers build a few strings per event).
pub fn concat(pieces: &[&str]) -> String {
    let mut out = String::with_capacity(pieces.iter().map(|p| p.len()).sum());
    for piece in pieces {
        out.push_str(piece);
    }
    out
}

/// The first `keys_max` keys of a payload object in sorted order, as JSON strings:
/// netcortex's `sorted(payload.keys())[:16]`. Python sorts strings by code point, which is
/// the byte order of their UTF-8 and so the order of the map's keys.
pub fn upstream_keys(payload: &Value, keys_max: usize) -> Value {
    let keys = payload
        .as_object()
        .map(|map| {
            map.keys()
                .take(keys_max)
                .map(|k| Value::String(k.clone()))
                .collect()
        })
        .unwrap_or_default();
    Value::Array(keys)
}

/// The first `chars_max` characters of `text`.
#[cfg(test)]
pub fn truncate_chars(text: &str, chars_max: usize) -> String {
    let mut text = text.to_string();
    truncate_chars_in_place(&mut text, chars_max);
    text
}

/// [`truncate_chars`] without a copy (a text within the limit is left as it is).
pub fn truncate_chars_in_place(text: &mut String, chars_max: usize) {
    // A byte per character at most: a text this short has nothing to cut.
    if text.len() <= chars_max {
        return;
    }
    if let Some((cut, _)) = text.char_indices().nth(chars_max) {
        text.truncate(cut);
    }
}

/// The last `bytes_max` bytes of `text`, or slightly fewer so that the cut falls on a
/// character boundary: the end of a failure message is where the cause usually is.
pub fn tail_bytes(text: &str, bytes_max: usize) -> &str {
    if text.len() <= bytes_max {
        return text;
    }
    let mut start = text.len() - bytes_max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

#[cfg(test)]
pub(crate) mod test_support {
    use crate::bus::{Cause, Envelope};
    use crate::core::SimTime;
    use crate::core::{Depth, EventId, Subject, TenantId, Value};
    use std::sync::Arc;

    /// An envelope as the bus would deliver it at `at_ms`.
    pub fn envelope(id: u64, subject: &str, payload: Value, at_ms: u64) -> Envelope {
        Envelope {
            id: EventId(id),
            tenant: TenantId::new("t"),
            subject: Subject::new(subject).unwrap(),
            payload: Arc::new(payload),
            at: SimTime(at_ms),
            cause: Cause::Root { event: 0 },
            depth: Depth(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::envelope;
    use super::*;
    use serde_json::json;

    #[test]
    fn dedup_repeat_inside_the_window_is_a_duplicate() {
        let mut w = DedupWindow::new(60_000);
        assert!(!w.check_and_record("k", SimTime(0)));
        assert!(w.check_and_record("k", SimTime(59_999)));
        assert!(!w.check_and_record("k", SimTime(60_000)));
    }

    #[test]
    fn dedup_duplicates_do_not_refresh_the_window() {
        let mut w = DedupWindow::new(60_000);
        assert!(!w.check_and_record("k", SimTime(0)));
        assert!(w.check_and_record("k", SimTime(50_000)));
        // Measured from the acceptance at 0, not from the duplicate at 50 s.
        assert!(!w.check_and_record("k", SimTime(60_000)));
        assert!(w.check_and_record("k", SimTime(119_999)));
    }

    #[test]
    fn dedup_keys_are_independent() {
        let mut w = DedupWindow::new(60_000);
        assert!(!w.check_and_record("a", SimTime(0)));
        assert!(!w.check_and_record("b", SimTime(1)));
        assert!(w.check_and_record("a", SimTime(2)));
    }

    #[test]
    fn dedup_prunes_expired_entries() {
        let mut w = DedupWindow::new(1_000);
        for i in 0..100u64 {
            w.check_and_record(&format!("k{i}"), SimTime(i));
        }
        assert_eq!(w.len(), 100);
        w.check_and_record("late", SimTime(10_000));
        assert_eq!(w.len(), 1, "only the fresh key survives: {:?}", w.seen);
    }

    #[test]
    fn dedup_clear_forgets_everything() {
        let mut w = DedupWindow::new(60_000);
        w.check_and_record("k", SimTime(0));
        w.clear();
        assert!(w.is_empty());
        assert!(!w.check_and_record("k", SimTime(1)));
    }

    #[test]
    fn sensory_subjects_parse_as_netcortex_parses_them() {
        let s = Sensory::parse("sensory.link_down.snmp_trap.r1|Gi0/1");
        assert_eq!((s.event_class, s.source), ("link_down", "snmp_trap"));
        let s = Sensory::parse("sensory.link_down.meraki_webhook.meraki:Q4CD.Port_12");
        assert_eq!((s.event_class, s.source), ("link_down", "meraki_webhook"));
        for short in [
            "sensory.link_down.snmp_trap",
            "sensory.link_down",
            "fact.a.b.c",
        ] {
            let s = Sensory::parse(short);
            assert_eq!((s.event_class, s.source), ("", ""), "{short}");
        }
    }

    #[test]
    fn a_payload_that_is_not_an_object_is_named_by_its_python_type() {
        assert_eq!(not_a_dict(&json!({})), None);
        assert_eq!(
            not_a_dict(&json!([1])).as_deref(),
            Some("AttributeError: 'list' object has no attribute 'get'")
        );
        assert!(not_a_dict(&json!(1.5)).unwrap().contains("'float'"));
        assert!(not_a_dict(&json!(null)).unwrap().contains("'NoneType'"));
    }

    #[test]
    fn upstream_keys_are_the_first_sorted_keys() {
        let mut map = Object::new();
        for i in 0..20 {
            map.insert(format!("k{i:02}"), json!(i));
        }
        let keys = upstream_keys(&Value::Object(map), 16);
        let keys = keys.as_array().unwrap();
        assert_eq!(keys.len(), 16);
        assert_eq!(keys[0], "k00");
        assert_eq!(keys[15], "k15");
        assert_eq!(upstream_keys(&json!([1, 2]), 16), json!([]));
    }

    #[test]
    fn errored_outcomes_take_their_target_from_the_payload() {
        let e = envelope(0, "sensory.x.y.z", json!({"target": 7, "n": 1}), 0);
        let o = errored_outcome("h", &e, SimTime(5), raised("RuntimeError"), "trace");
        assert_eq!(o.target.as_deref(), Some("7"));
        assert_eq!(
            (o.outcome, o.severity),
            (OutcomeKind::Errored, Severity::High)
        );
        assert_eq!(*o.payload, json!({}));
        assert_eq!(o.rationale, "handler raised RuntimeError");
        assert_eq!(o.diagnostic, "trace");
        for falsy in [
            json!({"target": ""}),
            json!({"target": 0}),
            json!({}),
            json!([1]),
        ] {
            let e = envelope(0, "sensory.x.y.z", falsy.clone(), 0);
            let o = errored_outcome("h", &e, SimTime(5), raised("E"), "");
            assert_eq!(o.target, None, "{falsy}");
        }
    }

    #[test]
    fn exception_names_come_from_a_name_colon_prefix() {
        assert_eq!(
            exception_name("AttributeError: 'list' object"),
            "AttributeError"
        );
        assert_eq!(exception_name("no route to r1"), "Error");
        assert_eq!(exception_name("two words: x"), "Error");
    }

    #[test]
    fn truncate_chars_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("ééé", 2), "éé");
        assert_eq!(truncate_chars("ab", 5), "ab");
    }

    #[test]
    fn tail_bytes_cuts_on_a_char_boundary() {
        assert_eq!(tail_bytes("abcdef", 3), "def");
        assert_eq!(tail_bytes("abc", 10), "abc");
        // "é" is two bytes: a 3-byte tail of "aéé" would start inside the first "é".
        assert_eq!(tail_bytes("aéé", 3), "é");
    }

    #[test]
    fn new_outcome_takes_subject_time_and_payload_from_the_event() {
        let e = envelope(
            3,
            "sensory.link_down.snmp_poll.r1",
            json!({"device": "r1"}),
            0,
        );
        let o = new_outcome(
            "h",
            &e,
            SimTime(50),
            OutcomeKind::Logged,
            Severity::High,
            Some("r1".into()),
            "x".repeat(500),
        );
        assert_eq!(o.subject, "sensory.link_down.snmp_poll.r1");
        assert_eq!(o.occurred_at, SimTime(50));
        // Reports write it as the ISO time it always was.
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(json["occurred_at"], "2026-01-01T00:00:00.050Z");
        assert_eq!(*o.payload, json!({"device": "r1"}));
        assert!(Arc::ptr_eq(&o.payload, &e.payload), "shared, not copied");
        assert_eq!(o.rationale.chars().count(), RATIONALE_CHARS_MAX);
    }
}

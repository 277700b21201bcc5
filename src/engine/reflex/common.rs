//! Pieces the reflex handlers share: building an outcome, the dedup window, payload lookups,
//! and the length limits on rationales, diagnostics and payloads.
//!
//! It leaves out anything handler-specific (which keys name a target, which window applies):
//! that lives with each handler, so that one file reads as one handler's whole behaviour.

use crate::bus::Envelope;
use crate::core::{format_duration_ms, SimTime};
use crate::core::{Object, Value};
use crate::core::{OutcomeKind, Severity};
use crate::engine::reflex::{Outcome, RATIONALE_CHARS_MAX};
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

/// Turns an accepted outcome into the `skipped`/`info` outcome of a duplicate of `key`,
/// keeping its target and payload so that a reader sees what was suppressed.
pub fn into_duplicate(mut outcome: Outcome, key: &str, window_ms: u64) -> Outcome {
    outcome.outcome = OutcomeKind::Skipped;
    outcome.severity = Severity::Info;
    outcome.rationale = truncate_chars(
        &format!(
            "duplicate: `{key}` was already accepted within the {} window",
            format_duration_ms(window_ms)
        ),
        RATIONALE_CHARS_MAX,
    );
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

/// The non-empty string at `key` of a JSON object; `None` when the key is missing, the value
/// is not a string, or it is empty (an empty device name identifies nothing).
pub fn str_field<'a>(payload: &'a Value, key: &str) -> Option<&'a str> {
    match payload.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.as_str()),
        _ => None,
    }
}

/// The first of `keys` that holds a non-empty string, in the order given.
pub fn first_str<'a>(payload: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|key| str_field(payload, key))
}

/// `a|b` when both parts are known, the known one alone, or `None`.
pub fn join_target(a: Option<&str>, b: Option<&str>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(concat(&[a, "|", b])),
        (Some(one), None) | (None, Some(one)) => Some(one.to_string()),
        (None, None) => None,
    }
}

/// `<what> on <target> (reported by <source>)`, the rationale of a first-party sighting: the
/// target, or "an unknown target", and the subject's third token (the poller, trap or
/// webhook that reported it).
pub fn sighting(what: &str, target: Option<&str>, event: &Envelope) -> String {
    concat(&[
        what,
        " on ",
        target.unwrap_or(UNKNOWN_TARGET),
        " (reported by ",
        subject_token(event, 2),
        ")",
    ])
}

/// How a rationale names a target the payload does not give.
pub const UNKNOWN_TARGET: &str = "an unknown target";

/// The pieces one after another, in one allocation of the right size: what `format!` of
/// plain strings gives, without its machinery (handlers build a few strings per event).
pub fn concat(pieces: &[&str]) -> String {
    let mut out = String::with_capacity(pieces.iter().map(|p| p.len()).sum());
    for piece in pieces {
        out.push_str(piece);
    }
    out
}

/// The payload with at most `keys_max` keys: the first ones in key order (the map is a
/// `BTreeMap`, so "first" is deterministic). A payload within the cap, or not an object, is
/// kept as it is: shared, not copied.
pub fn cap_payload_keys(payload: &Arc<Value>, keys_max: usize) -> Arc<Value> {
    match &**payload {
        Value::Object(map) if map.len() > keys_max => {
            let kept: Object = map
                .iter()
                .take(keys_max)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Arc::new(Value::Object(kept))
        }
        _ => Arc::clone(payload),
    }
}

/// Subject token `index` (0-based), or `""` when the subject is shorter.
pub fn subject_token(event: &Envelope, index: usize) -> &str {
    event.subject.tokens().nth(index).unwrap_or("")
}

/// The event class: the second subject token (`link_down` in
/// `sensory.link_down.snmp_poll.r1|Gi0/1`).
pub fn event_class(event: &Envelope) -> &str {
    subject_token(event, 1)
}

/// The first `chars_max` characters of `text`.
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
    use crate::core::{Depth, TenantId, Value};
    use crate::core::{EventId, Subject};
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

    /// The rationales, word for word: reports and the model service show them.
    #[test]
    fn first_party_rationales_read_as_documented() {
        use crate::engine::reflex::{BgpDrop, FirstPartySpec, LinkDown, SecurityAlert};
        let link = envelope(
            0,
            "sensory.link_down.snmp_poll.r1",
            json!({"device": "r1", "interface": "Gi0/1"}),
            0,
        );
        assert_eq!(
            LinkDown::read(&link).rationale,
            "link down on r1|Gi0/1 (reported by snmp_poll)"
        );
        let bgp = envelope(
            0,
            "sensory.bgp_drop.trap.r1",
            json!({"peer": "10.0.1.5"}),
            0,
        );
        assert_eq!(
            BgpDrop::read(&bgp).rationale,
            "BGP session dropped on 10.0.1.5 (reported by trap)"
        );
        let nothing = envelope(0, "sensory.bgp_drop", json!({}), 0);
        assert_eq!(
            BgpDrop::read(&nothing).rationale,
            "BGP session dropped on an unknown target (reported by )"
        );
        let alert = envelope(0, "sensory.security_alert.ids.x", json!({}), 0);
        assert_eq!(
            SecurityAlert::read(&alert).rationale,
            "security alert `unknown` on an unknown target (upstream severity missing)"
        );
        assert_eq!(concat(&[]), "");
        assert_eq!(concat(&["a", "", "bc"]), "abc");
    }

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
    fn first_str_skips_missing_empty_and_non_string_values() {
        let p = json!({"device": "", "device_id": 7, "target": "r9"});
        assert_eq!(
            first_str(&p, &["device", "device_id", "target"]),
            Some("r9")
        );
        assert_eq!(first_str(&p, &["nope"]), None);
        assert_eq!(first_str(&json!("not an object"), &["device"]), None);
    }

    #[test]
    fn join_target_uses_whichever_part_is_known() {
        assert_eq!(
            join_target(Some("r1"), Some("Gi0/1")).as_deref(),
            Some("r1|Gi0/1")
        );
        assert_eq!(join_target(Some("r1"), None).as_deref(), Some("r1"));
        assert_eq!(join_target(None, Some("Gi0/1")).as_deref(), Some("Gi0/1"));
        assert_eq!(join_target(None, None), None);
    }

    #[test]
    fn cap_payload_keys_keeps_the_first_keys_in_key_order() {
        let mut map = Object::new();
        for i in 0..20 {
            map.insert(format!("k{i:02}"), json!(i));
        }
        let capped = cap_payload_keys(&Arc::new(Value::Object(map)), 16);
        let keys: Vec<&String> = capped.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 16);
        assert_eq!(keys.first().unwrap().as_str(), "k00");
        assert_eq!(keys.last().unwrap().as_str(), "k15");
        let small = Arc::new(json!([1, 2]));
        let kept = cap_payload_keys(&small, 1);
        assert_eq!(*kept, json!([1, 2]));
        assert!(Arc::ptr_eq(&kept, &small), "kept whole: shared, not copied");
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
        assert_eq!(event_class(&e), "link_down");
        assert_eq!(subject_token(&e, 9), "");
    }
}

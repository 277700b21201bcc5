//! A recording as scenario text: captured messages become `[[event]]`s at their arrival
//! times relative to the first message, written as a new scenario or added to an existing
//! one. Pure: no I/O, so every case is tested without a server.
//!
//! The text is the interface: the CLI loads what this writes with the ordinary scenario
//! loader before it writes the file, so a recording that would not load is never written.

use crate::bus::Pattern;
use crate::core::{format_duration_ms, SimTime, Subject, TenantId, Value, EPOCH_UNIX_MS};
use crate::engine::reflex::{builtin_defaults, BUILTIN_IDS};
use crate::live::{toml_inline, Lossy};
use crate::scenario::{Scenario, UNTIL_DEFAULT_MS};
use std::collections::BTreeMap;

/// The NATS header that carries a message's tenant. `publish` sets it on every message;
/// `record` takes a message's tenant from it, and from `--tenant` when it is absent.
pub const TENANT_HEADER: &str = "Ripple-Tenant";

/// Room left after the last recorded event when a recording is longer than the default
/// budget: the first-party dedup windows are at most 5 minutes.
const UNTIL_MARGIN_MS: u64 = 600_000;

/// One message as it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub subject: String,
    pub payload: Vec<u8>,
    /// The [`TENANT_HEADER`] value, if the message had one.
    pub tenant: Option<String>,
    /// Microseconds since the recording started (on a monotonic clock).
    pub arrival_us: u64,
}

/// A message as a scenario event.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Milliseconds after the first message.
    pub at_ms: u64,
    pub tenant: TenantId,
    pub subject: Subject,
    pub payload: Value,
}

/// What turning messages into events could not keep as it was.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DecodeReport {
    /// Payloads that were not JSON, kept as strings.
    pub not_json: u64,
    /// ...of which were not UTF-8 either (kept with U+FFFD for the bad bytes).
    pub not_utf8: u64,
    /// Messages skipped because Ripple refuses their subject (NATS accepts tokens such as
    /// `a*b` or ones holding non-ASCII whitespace; Ripple does not): subject -> count.
    pub refused_subjects: BTreeMap<String, u64>,
    /// Events that share their millisecond with the event before them.
    pub same_ms: u64,
}

impl DecodeReport {
    /// One line per thing worth knowing.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.not_json > 0 {
            let mut line = format!(
                "{} payloads were not JSON and are kept as strings",
                self.not_json
            );
            if self.not_utf8 > 0 {
                line.push_str(&format!(
                    " ({} not UTF-8 either: bad bytes became U+FFFD)",
                    self.not_utf8
                ));
            }
            out.push(line);
        }
        if !self.refused_subjects.is_empty() {
            let total: u64 = self.refused_subjects.values().sum();
            let examples: Vec<String> = self
                .refused_subjects
                .keys()
                .take(3)
                .map(|s| format!("{s:?}"))
                .collect();
            out.push(format!(
                "{total} messages were skipped: Ripple refuses their subjects ({}{})",
                examples.join(", "),
                if self.refused_subjects.len() > 3 {
                    ", ..."
                } else {
                    ""
                }
            ));
        }
        out
    }
}

/// Messages (in arrival order) as events. A message without a tenant header gets
/// `default_tenant`.
pub fn decode(
    messages: &[Captured],
    default_tenant: &TenantId,
) -> (Vec<RecordedEvent>, DecodeReport) {
    let mut report = DecodeReport::default();
    let mut events: Vec<RecordedEvent> = Vec::with_capacity(messages.len());
    let first_us = messages.first().map_or(0, |m| m.arrival_us);
    for m in messages {
        let subject = match Subject::new(m.subject.as_str()) {
            Ok(s) => s,
            Err(_) => {
                *report
                    .refused_subjects
                    .entry(m.subject.clone())
                    .or_default() += 1;
                continue;
            }
        };
        let payload = match serde_json::from_slice::<Value>(&m.payload) {
            Ok(v) => v,
            Err(_) => {
                report.not_json += 1;
                match std::str::from_utf8(&m.payload) {
                    Ok(text) => Value::String(text.to_string()),
                    Err(_) => {
                        report.not_utf8 += 1;
                        Value::String(String::from_utf8_lossy(&m.payload).into_owned())
                    }
                }
            }
        };
        let tenant = match m.tenant.as_deref().map(str::trim) {
            Some(t) if !t.is_empty() => TenantId::new(t),
            _ => default_tenant.clone(),
        };
        // Arrival order is kept even if the clock were to step back.
        let at_ms = (m.arrival_us.saturating_sub(first_us) / 1000)
            .max(events.last().map_or(0, |e| e.at_ms));
        if events.last().is_some_and(|e| e.at_ms == at_ms) {
            report.same_ms += 1;
        }
        events.push(RecordedEvent {
            at_ms,
            tenant,
            subject,
            payload,
        });
    }
    (events, report)
}

/// Where a recording came from, for the comment at its head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The server, without credentials.
    pub server: String,
    pub patterns: Vec<String>,
    /// Wall-clock Unix milliseconds of the first and last recorded message (`None`: none).
    pub first_unix_ms: Option<u64>,
    pub last_unix_ms: Option<u64>,
    /// Why the recording stopped ("after 100 messages", "on Ctrl-C", ...).
    pub stopped: String,
}

/// `2026-03-01T12:00:00.250Z` for Unix milliseconds (any time from 2026 on; earlier ones
/// print as Unix milliseconds).
pub fn wall_iso8601(unix_ms: u64) -> String {
    match unix_ms.checked_sub(EPOCH_UNIX_MS) {
        // Virtual time 0 is 2026-01-01T00:00:00Z: its formatter is the calendar we need.
        Some(since_epoch) => SimTime(since_epoch).iso8601(),
        None => format!("unix ms {unix_ms}"),
    }
}

fn header_lines(p: &Provenance, events: &[RecordedEvent], notes: &[String]) -> Vec<String> {
    let mut lines = vec![format!(
        "Recorded by `ripple record` from {} (subjects: {}), {}.",
        p.server,
        p.patterns.join(", "),
        p.stopped
    )];
    match (p.first_unix_ms, p.last_unix_ms) {
        (Some(first), Some(last)) => lines.push(format!(
            "{} messages from {} to {}; `at` is the arrival time after the first one.",
            events.len(),
            wall_iso8601(first),
            wall_iso8601(last)
        )),
        _ => lines.push("No message arrived.".to_string()),
    }
    lines.extend(notes.iter().cloned());
    lines
}

fn comment(out: &mut String, lines: &[String]) {
    for line in lines {
        // Recorded text (a server address) must not end the comment early.
        let line: String = line
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        out.push_str("# ");
        out.push_str(&line);
        out.push('\n');
    }
}

fn string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn event_tables(out: &mut String, events: &[RecordedEvent], lossy: &mut Lossy) {
    for e in events {
        out.push_str("\n[[event]]\n");
        out.push_str(&format!("at = {}\n", string(&format_duration_ms(e.at_ms))));
        out.push_str(&format!("tenant = {}\n", string(e.tenant.as_str())));
        out.push_str(&format!("subject = {}\n", string(e.subject.as_str())));
        out.push_str(&format!("payload = {}\n", toml_inline(&e.payload, lossy)));
    }
}

fn tenants_of(events: &[RecordedEvent]) -> Vec<&TenantId> {
    let mut tenants: Vec<&TenantId> = events.iter().map(|e| &e.tenant).collect();
    tenants.sort();
    tenants.dedup();
    tenants
}

/// The first-party handlers (by name) whose default patterns some recorded subject matches.
fn first_party_for(events: &[RecordedEvent]) -> Vec<&'static str> {
    BUILTIN_IDS
        .into_iter()
        .filter(|name| {
            let (pattern, _) = builtin_defaults(name).expect("a built-in name");
            let pattern = Pattern::new(pattern).expect("a valid built-in pattern");
            events.iter().any(|e| pattern.matches(&e.subject))
        })
        .collect()
}

/// A new scenario named `name` holding the events, the tenants they name, and the
/// first-party handlers for the sensory classes that were recorded. Concurrent events keep
/// their arrival order (`order = "file"`): on a real bus it is data, not a choice.
/// Payload losses are counted into `lossy` and noted in the header.
pub fn new_scenario_text(
    name: &str,
    provenance: &Provenance,
    events: &[RecordedEvent],
    notes: &[String],
    lossy: &mut Lossy,
) -> String {
    let mut body = String::new();
    body.push_str("[scenario]\n");
    body.push_str(&format!("name = {}\n", string(name)));
    body.push_str(&format!(
        "description = {}\n",
        string(&format!(
            "{} messages recorded from {} ({})",
            events.len(),
            provenance.server,
            provenance.patterns.join(", ")
        ))
    ));
    let last_ms = events.last().map_or(0, |e| e.at_ms);
    if last_ms.saturating_add(UNTIL_MARGIN_MS) > UNTIL_DEFAULT_MS {
        body.push_str(&format!(
            "until = {}\n",
            string(&format_duration_ms(last_ms.saturating_add(UNTIL_MARGIN_MS)))
        ));
    }
    body.push_str("order = \"file\"\n");
    let mut tenants = tenants_of(events);
    let fallback = TenantId::new("live");
    if tenants.is_empty() {
        tenants.push(&fallback);
    }
    for t in tenants {
        body.push_str(&format!("\n[[tenant]]\nid = {}\n", string(t.as_str())));
    }
    let handlers = first_party_for(events);
    if !handlers.is_empty() {
        body.push_str(
            "\n# The first-party handlers for the event classes recorded. Add your own reflexes,\n\
             # rules and entities here, or record into your scenario with --append.\n",
        );
    }
    for name in &handlers {
        body.push_str(&format!("[[reflex]]\nbuiltin = {}\n", string(name)));
    }
    event_tables(&mut body, events, lossy);

    let mut all_notes = notes.to_vec();
    all_notes.extend(lossy.lines());
    let mut out = String::new();
    comment(&mut out, &header_lines(provenance, events, &all_notes));
    out.push('\n');
    out.push_str(&body);
    out
}

/// `existing_text` (the scenario `existing` was loaded from) with the events added at the
/// end, after a comment that says where they came from, and a `[[tenant]]` for each tenant
/// they name that it does not declare. Everything already there stays as it was, comments
/// included. Notes for the person (not the file) go to `warnings`.
pub fn append_text(
    existing_text: &str,
    existing: &Scenario,
    provenance: &Provenance,
    events: &[RecordedEvent],
    notes: &[String],
    lossy: &mut Lossy,
    warnings: &mut Vec<String>,
) -> String {
    let mut added = String::new();
    for t in tenants_of(events) {
        if !existing.tenants.contains(t) {
            added.push_str(&format!("\n[[tenant]]\nid = {}\n", string(t.as_str())));
        }
    }
    event_tables(&mut added, events, lossy);
    let last_ms = events.last().map_or(0, |e| e.at_ms);
    if !events.is_empty() && last_ms >= existing.until.ms() {
        warnings.push(format!(
            "events after the scenario's `until` ({}) will not run: raise it to at least {}",
            format_duration_ms(existing.until.ms()),
            format_duration_ms(last_ms.saturating_add(UNTIL_MARGIN_MS))
        ));
    }
    let same_ms = events
        .windows(2)
        .filter(|w| w[0].at_ms == w[1].at_ms)
        .count();
    if same_ms > 0 && !existing.file_order {
        warnings.push(format!(
            "{same_ms} events arrived in the same millisecond as the one before: each seed \
             orders them its own way; add order = \"file\" under [scenario] to keep arrival order"
        ));
    }

    let mut all_notes = notes.to_vec();
    all_notes.extend(lossy.lines());
    let mut out = existing_text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
    comment(&mut out, &header_lines(provenance, events, &all_notes));
    out.push_str(&added);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Seed;
    use crate::scenario::{parse_scenario, Input};
    use crate::sim::{run_checked, RunOptions};
    use serde_json::json;
    use std::path::Path;

    fn captured(subject: &str, payload: &[u8], tenant: Option<&str>, arrival_us: u64) -> Captured {
        Captured {
            subject: subject.into(),
            payload: payload.to_vec(),
            tenant: tenant.map(str::to_string),
            arrival_us,
        }
    }

    fn provenance() -> Provenance {
        Provenance {
            server: "nats://127.0.0.1:4222".into(),
            patterns: vec!["sensory.>".into()],
            first_unix_ms: Some(EPOCH_UNIX_MS + 1_000),
            last_unix_ms: Some(EPOCH_UNIX_MS + 2_500),
            stopped: "after 4 messages".into(),
        }
    }

    fn messages() -> Vec<Captured> {
        vec![
            captured(
                "sensory.link_down.snmp_trap.r1|Gi0/1",
                br#"{"device":"r1","interface":"Gi0/1","gone":null}"#,
                None,
                5_000_000,
            ),
            captured(
                "sensory.link_down.meraki_webhook.meraki:Q4CD.Port_12",
                br#"{"device":"sw1","interface":"Port 12"}"#,
                Some("branch"),
                5_120_400,
            ),
            captured(
                "sensory.bgp_drop.snmp_trap.r1|10.0.1.5",
                b"peer down",
                None,
                5_120_900,
            ),
            captured("sensory.link_down.x.a*b", b"{}", None, 6_000_000),
            captured(
                "sensory.bgp_drop.snmp_trap.r2|10.0.1.6",
                &[0xff, 0xfe],
                None,
                6_500_000,
            ),
        ]
    }

    #[test]
    fn messages_become_events_at_their_arrival_after_the_first() {
        let (events, report) = decode(&messages(), &TenantId::new("netops"));
        let at: Vec<u64> = events.iter().map(|e| e.at_ms).collect();
        assert_eq!(at, vec![0, 120, 120, 1500]);
        assert_eq!(events[0].tenant.as_str(), "netops");
        assert_eq!(events[1].tenant.as_str(), "branch", "the header wins");
        assert_eq!(events[2].payload, json!("peer down"));
        assert_eq!(events[3].payload, json!("\u{fffd}\u{fffd}"));
        assert_eq!(report.not_json, 2);
        assert_eq!(report.not_utf8, 1);
        assert_eq!(report.same_ms, 1);
        assert_eq!(
            report.refused_subjects.get("sensory.link_down.x.a*b"),
            Some(&1)
        );
        assert_eq!(report.lines().len(), 2);
    }

    #[test]
    fn a_new_recording_loads_keeps_arrival_order_and_runs() {
        let (events, report) = decode(&messages(), &TenantId::new("netops"));
        let mut lossy = Lossy::default();
        let text = new_scenario_text(
            "recorded",
            &provenance(),
            &events,
            &report.lines(),
            &mut lossy,
        );
        assert_eq!(lossy.null_keys_dropped, 1);
        assert!(
            text.starts_with("# Recorded by `ripple record` from nats://127.0.0.1:4222"),
            "{text}"
        );
        assert!(text.contains("payload keys whose value was null"), "{text}");
        let scenario = parse_scenario(&text, Path::new("recorded.toml")).expect(&text);
        assert!(scenario.file_order);
        assert_eq!(scenario.tenants.len(), 2);
        assert_eq!(
            scenario.reflexes.len(),
            2,
            "link_down and bgp_drop were heard"
        );
        let subjects: Vec<&str> = scenario
            .events
            .iter()
            .map(|e| match &e.input {
                Input::Publish { subject, .. } => subject.as_str(),
                Input::Dispatch { .. } => panic!("a recording holds publications"),
            })
            .collect();
        let expected: Vec<&str> = events.iter().map(|e| e.subject.as_str()).collect();
        assert_eq!(subjects, expected);
        let outcome = run_checked(&scenario, Seed(3), RunOptions::default());
        assert!(outcome.passed(), "{:?}", outcome.violations);
        assert_eq!(outcome.outcomes.len(), 4, "one outcome per recorded event");
    }

    #[test]
    fn a_long_recording_raises_the_time_budget() {
        let msgs = vec![
            captured("sensory.a.b.c", b"{}", None, 0),
            captured("sensory.a.b.c", b"{}", None, 2 * 3_600_000_000),
        ];
        let (events, _) = decode(&msgs, &TenantId::new("t"));
        let text = new_scenario_text("long", &provenance(), &events, &[], &mut Lossy::default());
        let scenario = parse_scenario(&text, Path::new("long.toml")).expect(&text);
        assert!(scenario.until.ms() > 2 * 3_600_000);
    }

    #[test]
    fn an_empty_recording_is_still_a_scenario() {
        let mut p = provenance();
        p.first_unix_ms = None;
        p.last_unix_ms = None;
        let text = new_scenario_text("empty", &p, &[], &[], &mut Lossy::default());
        assert!(text.contains("No message arrived."));
        parse_scenario(&text, Path::new("empty.toml")).expect(&text);
    }

    #[test]
    fn appending_keeps_the_file_and_adds_events_and_missing_tenants() {
        let existing_text = "# my scenario\n[scenario]\nname = \"mine\"\nuntil = \"1s\"\n\n[[tenant]]\nid = \"netops\"\n\n[[reflex]]\nbuiltin = \"link_down\"\n\n[[event]]\nat = \"0ms\"\ntenant = \"netops\"\nsubject = \"sensory.link_down.x.r9\"\npayload = { device = \"r9\" }";
        let existing = parse_scenario(existing_text, Path::new("mine.toml")).unwrap();
        let (events, _) = decode(&messages(), &TenantId::new("netops"));
        let mut warnings = Vec::new();
        let text = append_text(
            existing_text,
            &existing,
            &provenance(),
            &events,
            &[],
            &mut Lossy::default(),
            &mut warnings,
        );
        assert!(text.starts_with(existing_text));
        let combined = parse_scenario(&text, Path::new("mine.toml")).expect(&text);
        assert_eq!(combined.events.len(), 1 + events.len());
        assert_eq!(combined.tenants.len(), 2, "branch is declared");
        assert_eq!(
            combined.reflexes.len(),
            1,
            "nothing is wired into an existing scenario"
        );
        assert_eq!(
            warnings.len(),
            2,
            "{warnings:?}: past `until`, and same-ms events"
        );
    }

    #[test]
    fn wall_times_print_as_iso8601() {
        assert_eq!(
            wall_iso8601(EPOCH_UNIX_MS + 61_250),
            "2026-01-01T00:01:01.250Z"
        );
        assert_eq!(wall_iso8601(5), "unix ms 5");
    }
}

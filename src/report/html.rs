//! The HTML report of one run (`ripple run --report DIR`): one self-contained page (inline
//! CSS, SVG drawn by a little inline script, no network) with the run's summary, the
//! violations and the world at each, a timeline of causes in virtual time (a lane per
//! entity, per reflex handler and for the root inputs; an arrow from each cause to its
//! effect), a detail view of any step (its record, the entity before and after, the rule or
//! handler that produced it), the final world, and the reproduce command with a copy button.
//!
//! The page is rendered from the run's records alone and is byte-identical for the same
//! seed: no timestamps, ordered maps only. Every string that came from the run (ids,
//! payload values, messages) is escaped here, or travels as JSON data that the script puts
//! into the page as text, never as markup.
//!
//! At scale: records travel as compact arrays over a table of distinct strings (about 50
//! bytes a record), and the script draws only what is in view, collapsing quiet stretches of
//! virtual time and thinning marks when zoomed out; a 100,000-step run stays usable.

use crate::core::{Record, TenantId};
use crate::report::{reproduce_command, timeline, world_trail, Snapshot, WorldTrail};
use crate::scenario::{ReflexKind, Scenario};
use crate::sim::{EntityRow, Retain, RunOutcome};
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;

/// The page's stylesheet and scripts, shared by the run, diff and sweep pages.
pub(crate) const STYLE: &str = include_str!("assets/report.css");
const RUN_SCRIPT: &str = include_str!("assets/run.js");

/// Text made safe for HTML content and attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that may sit inside a `<script>` element: no `<`, `>` or `&` appears in it (JSON
/// syntax has none, so each one is inside a string, where `\u003c` means the same), so a
/// payload holding `</script>` cannot end the element.
pub(crate) fn script_json(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page: `body` is markup already escaped; `data` (JSON, or `None`) is readable by
/// the script as `#ripple-data`.
pub(crate) fn page(title: &str, body: &str, data: Option<&Value>, script: &str) -> String {
    let mut out = String::with_capacity(body.len() + script.len() + STYLE.len() + 512);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    // Nothing on the page reaches the network: the policy says so to the browser too.
    out.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n");
    let _ = writeln!(out, "<title>{}</title>", escape_html(title));
    let _ = writeln!(out, "<style>\n{STYLE}</style>\n</head>\n<body>");
    out.push_str(body);
    if let Some(data) = data {
        let _ = writeln!(
            out,
            "<script type=\"application/json\" id=\"ripple-data\">{}</script>",
            script_json(data)
        );
    }
    if !script.is_empty() {
        let _ = writeln!(out, "<script>\n{script}</script>");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// A record's fields in the order its JSON line has them (serde_json's own maps sort keys).
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Distinct strings, numbered in order of first use.
#[derive(Default)]
pub(crate) struct Strings {
    list: Vec<String>,
    index: BTreeMap<String, usize>,
}

impl Strings {
    pub(crate) fn id(&mut self, s: &str) -> usize {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.list.len();
        self.list.push(s.to_string());
        self.index.insert(s.to_string(), i);
        i
    }

    /// A string as the page's data carries it: `-(id + 1)`, so that it cannot be taken for
    /// one of the records' numbers (all of which are counts, times or ids, never negative).
    fn code(&mut self, s: &str) -> i64 {
        -(self.id(s) as i64) - 1
    }

    pub(crate) fn into_list(self) -> Vec<String> {
        self.list
    }
}

/// Records as the page carries them: each an array `[shape, value...]`, where a shape is a
/// kind and its keys (each distinct key list once), and a string value is a code into the
/// string table ([`Strings::code`]).
fn encode_records(records: &[Record], strings: &mut Strings) -> (Vec<Value>, Vec<Value>) {
    let mut shapes: Vec<Value> = Vec::new();
    let mut shape_index: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    let mut rows = Vec::with_capacity(records.len());
    for r in records {
        let text = serde_json::to_string(r).expect("records serialize");
        let Ordered(fields) = serde_json::from_str(&text).expect("a record is a JSON object");
        let keys: Vec<String> = fields.iter().map(|(k, _)| k.clone()).collect();
        let shape = match shape_index.get(&keys) {
            Some(&s) => s,
            None => {
                let s = shapes.len();
                let kind = fields
                    .first()
                    .and_then(|(_, v)| v.as_str())
                    .unwrap_or("?")
                    .to_string();
                assert_eq!(keys.first().map(String::as_str), Some("kind"));
                assert_eq!(keys.get(1).map(String::as_str), Some("at"));
                shapes.push(serde_json::json!([kind, keys[1..].to_vec()]));
                shape_index.insert(keys, s);
                s
            }
        };
        let mut row = Vec::with_capacity(fields.len());
        row.push(Value::from(shape));
        for (_, v) in fields.into_iter().skip(1) {
            row.push(match v {
                Value::String(s) => Value::from(strings.code(&s)),
                Value::Number(n) => {
                    assert!(n.is_u64(), "record numbers are never negative: {n}");
                    Value::Number(n)
                }
                other => other,
            });
        }
        rows.push(Value::Array(row));
    }
    (shapes, rows)
}

fn snapshot_code(s: &Snapshot, trail: &WorldTrail, strings: &mut Strings) -> i64 {
    match s {
        Snapshot::Absent => 0,
        Snapshot::Unknown => 1,
        Snapshot::Text(i) => strings.code(&trail.texts[*i]),
    }
}

/// How each reflex handler is configured, for the detail view.
fn handlers(scenario: &Scenario) -> Vec<(String, String)> {
    scenario
        .reflexes
        .iter()
        .map(|r| {
            let tenant = r.tenant.as_ref().map_or("every tenant", TenantId::as_str);
            let what = match &r.kind {
                ReflexKind::Builtin {
                    name,
                    pattern,
                    dedup_window_ms,
                } => format!(
                    "first-party {name}, pattern {pattern}, dedup window {}",
                    crate::core::format_duration_ms(*dedup_window_ms)
                ),
                ReflexKind::Declarative {
                    pattern,
                    severity,
                    then,
                } => {
                    let then = then
                        .as_ref()
                        .map(|t| format!(", then {t:?}"))
                        .unwrap_or_default();
                    format!(
                        "declarative, pattern {pattern}, severity {}{then}",
                        severity.as_str()
                    )
                }
                ReflexKind::Process { spec, .. } => format!(
                    "a process speaking JSON lines, pattern {}, command {:?}",
                    spec.pattern, spec.command
                ),
                ReflexKind::Library { .. } => "a Rust handler registered with the runner".into(),
            };
            (r.id.clone(), format!("reflex {} in {tenant}: {what}", r.id))
        })
        .collect()
}

/// The run report. `outcome` must have kept its records ([`Retain::Records`]); `scenario` is
/// the one it ran (its rules name the causes the trace leaves implicit, and the report runs
/// the seed again, step by step, to show the world between records).
pub fn render_html(outcome: &RunOutcome, scenario: &Scenario, scenario_path: &str) -> String {
    assert_eq!(
        outcome.retained,
        Retain::Records,
        "an HTML report draws every record"
    );
    let records = &outcome.records;
    let tl = timeline(records);
    let trail = world_trail(scenario, outcome);
    let mut strings = Strings::default();
    let (shapes, rows) = encode_records(records, &mut strings);

    let lanes: Vec<Value> = tl
        .lanes
        .iter()
        .map(|l| serde_json::json!([l.kind as u8, strings.code(&l.tenant), strings.code(&l.name)]))
        .collect();
    let cause: Vec<i64> = tl
        .cause_of
        .iter()
        .map(|c| c.map_or(-1, |link| link.cause as i64))
        .collect();
    // Entity states, as parallel arrays: record index, before, after (0 absent, 1 unknown).
    let (mut state_at, mut state_before, mut state_after) = (vec![], vec![], vec![]);
    for (i, (before, after)) in &trail.states {
        state_at.push(*i);
        state_before.push(snapshot_code(before, &trail, &mut strings));
        state_after.push(snapshot_code(after, &trail, &mut strings));
    }
    let violations: Vec<Value> = outcome
        .violations
        .iter()
        .map(|v| serde_json::json!([v.step, strings.code(&v.invariant), strings.code(&v.message)]))
        .collect();
    let mut rules: BTreeMap<String, String> = BTreeMap::new();
    for (tenant, list) in &scenario.rules {
        for r in list {
            let text = serde_json::to_string_pretty(&**r).expect("rules serialize");
            rules
                .entry(r.name.clone())
                .or_insert_with(|| format!("rule {} (tenant {tenant}):\n{text}", r.name));
        }
    }
    let rules: Vec<Value> = rules
        .iter()
        .map(|(name, text)| serde_json::json!([strings.code(name), strings.code(text)]))
        .collect();
    let handlers: Vec<Value> = handlers(scenario)
        .iter()
        .map(|(name, text)| serde_json::json!([strings.code(name), strings.code(text)]))
        .collect();
    let data = serde_json::json!({
        "version": 1,
        "shapes": shapes,
        "records": rows,
        "lanes": lanes,
        "lane": tl.lane_of,
        "cause": cause,
        "state_at": state_at,
        "state_before": state_before,
        "state_after": state_after,
        "states_kept": trail.reproduced,
        "violations": violations,
        "rules": rules,
        "handlers": handlers,
        "strings": strings.into_list(),
    });

    let title = format!(
        "{} seed {}: {}",
        outcome.scenario,
        outcome.seed,
        if outcome.passed() { "pass" } else { "FAIL" }
    );
    let body = run_body(outcome, scenario, scenario_path, &trail);
    page(&title, &body, Some(&data), RUN_SCRIPT)
}

/// A table of entities, escaped.
pub(crate) fn entity_table(rows: &[EntityRow], total: usize, class: &str) -> String {
    let mut out = format!(
        "<table class=\"world {class}\">\n<thead><tr><th>tenant</th><th>entity</th><th>status</th><th>fields</th></tr></thead>\n<tbody>\n"
    );
    for e in rows {
        let fields = serde_json::to_string(&e.fields).unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}/{}</td><td class=\"status\">{}</td><td><code>{}</code></td></tr>",
            escape_html(e.tenant.as_str()),
            escape_html(&e.entity_type),
            escape_html(e.id.as_str()),
            escape_html(&e.status),
            escape_html(&fields)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if total > rows.len() {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} more entities not listed.</p>",
            total - rows.len()
        );
    }
    out
}

fn run_body(
    outcome: &RunOutcome,
    scenario: &Scenario,
    scenario_path: &str,
    trail: &WorldTrail,
) -> String {
    let mut out = String::new();
    let passed = outcome.passed();
    let (verdict, class) = if passed {
        ("PASS", "pass")
    } else {
        ("FAIL", "fail")
    };
    let _ = writeln!(
        out,
        "<header>\n<h1><span class=\"verdict {class}\" id=\"verdict\">{verdict}</span> {} <span class=\"seed\">seed {}</span></h1>",
        escape_html(&outcome.scenario),
        outcome.seed
    );
    if !scenario.description.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"description\">{}</p>",
            escape_html(&scenario.description)
        );
    }
    let reproduce = reproduce_command(scenario_path, outcome.seed.0, outcome.swarm);
    out.push_str("<table class=\"summary\">\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(out, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row(
        "scenario",
        format!("<code>{}</code>", escape_html(scenario_path)),
    );
    row("trace hash", format!("<code>{}</code>", outcome.trace_hash));
    row(
        "steps",
        format!(
            "{} records, {} scheduler steps, {} root inputs",
            outcome.steps(),
            outcome.scheduler_steps,
            outcome.root_events
        ),
    );
    row(
        "virtual time",
        format!(
            "{} ({})",
            outcome.virtual_time,
            escape_html(&outcome.stop_text())
        ),
    );
    row(
        "faults",
        match &outcome.faults {
            None => "none: cascades run inline".to_string(),
            Some(f) if outcome.swarm => format!("{} (swarm, drawn from the seed)", escape_html(f)),
            Some(f) => escape_html(f),
        },
    );
    row(
        "reproduce",
        format!(
            "<code id=\"reproduce\">{}</code> <button type=\"button\" id=\"copy\" title=\"copy the command\">copy</button>",
            escape_html(&reproduce)
        ),
    );
    out.push_str("</table>\n</header>\n");

    if !passed {
        out.push_str("<section id=\"violations\">\n<h2>Violations</h2>\n");
        for (n, v) in outcome.violations.iter().enumerate() {
            let at = outcome
                .records
                .get(v.step as usize)
                .map(|r| format!(" @{}", r.at()))
                .unwrap_or_else(|| " (at the end)".to_string());
            let _ = writeln!(
                out,
                "<div class=\"violation\" id=\"violation-{n}\" data-step=\"{}\">\n<h3><span class=\"invariant\">{}</span> at step {}{at} <button type=\"button\" class=\"goto\" data-step=\"{}\">show in the timeline</button></h3>\n<p>{}</p>",
                v.step,
                escape_html(&v.invariant),
                v.step,
                v.step,
                escape_html(&v.message),
            );
            match trail.worlds.get(&v.step) {
                Some((rows, total)) => {
                    let _ = writeln!(
                        out,
                        "<details open><summary>the world at step {} ({} entities)</summary>",
                        v.step, total
                    );
                    out.push_str(&entity_table(rows, *total, "at-violation"));
                    out.push_str("</details>\n");
                }
                None => out.push_str(
                    "<p class=\"note\">The world at this step is not shown: the run did not reproduce step by step.</p>\n",
                ),
            }
            out.push_str("</div>\n");
        }
        out.push_str("</section>\n");
    }

    out.push_str(TIMELINE_SECTION);

    let _ = writeln!(
        out,
        "<section id=\"final-world\">\n<h2>The final world ({} entities)</h2>",
        outcome.entities.len()
    );
    out.push_str(&entity_table(
        &outcome.entities,
        outcome.entities.len(),
        "final",
    ));
    out.push_str("</section>\n");
    if !outcome.outcomes.is_empty() {
        out.push_str(&outcomes_table(outcome));
    }
    out.push_str("<footer>Written by <code>ripple run --report</code>. The page is self-contained: it loads nothing.</footer>\n");
    out
}

/// At most this many reflex outcomes are listed (the timeline has them all).
pub const OUTCOME_ROWS_MAX: usize = 500;

fn outcomes_table(outcome: &RunOutcome) -> String {
    let mut out = format!(
        "<section id=\"outcomes\">\n<h2>Reflex outcomes ({})</h2>\n<table class=\"outcomes\">\n<thead><tr><th>at</th><th>handler</th><th>subject</th><th>target</th><th>severity</th><th>outcome</th><th>rationale</th></tr></thead>\n<tbody>\n",
        outcome.outcomes.len()
    );
    for o in outcome.outcomes.iter().take(OUTCOME_ROWS_MAX) {
        let json = serde_json::to_value(o).unwrap_or(Value::Null);
        let s = |k: &str| {
            escape_html(&match json.get(k) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => String::new(),
                Some(v) => v.to_string(),
            })
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            s("occurred_at"),
            s("handler"),
            s("subject"),
            s("target"),
            s("severity"),
            s("outcome"),
            s("rationale")
        );
    }
    out.push_str("</tbody>\n</table>\n");
    if outcome.outcomes.len() > OUTCOME_ROWS_MAX {
        let _ = writeln!(
            out,
            "<p class=\"note\">{} more outcomes: see the timeline or <code>--format json</code>.</p>",
            outcome.outcomes.len() - OUTCOME_ROWS_MAX
        );
    }
    out.push_str("</section>\n");
    out
}

const TIMELINE_SECTION: &str = r#"<section id="timeline-section">
<h2>Timeline</h2>
<div class="toolbar">
<button type="button" id="zoom-out" title="zoom out (-)">&minus;</button>
<button type="button" id="zoom-in" title="zoom in (+)">+</button>
<button type="button" id="zoom-fit" title="the whole run in view">fit</button>
<label><input type="checkbox" id="collapse" checked> collapse quiet stretches</label>
<button type="button" id="prev" title="previous step (left arrow)">&#9664; step</button>
<button type="button" id="next" title="next step (right arrow)">step &#9654;</button>
<span id="zoom-level"></span>
<span class="legend">
<span class="lg k-input">root input</span>
<span class="lg k-dispatch">dispatch</span>
<span class="lg k-transition">transition</span>
<span class="lg k-deliver">delivery</span>
<span class="lg k-outcome">outcome</span>
<span class="lg k-guard_skip">guard skip</span>
<span class="lg k-depth_limit">depth limit</span>
<span class="lg k-fault">fault</span>
<span class="lg k-action_failed">failed</span>
<span class="lg arrow">cause &rarr; effect</span>

</span>
</div>
<div class="timeline-wrap">
<div id="timeline" class="timeline" tabindex="0"><svg id="timeline-svg" xmlns="http://www.w3.org/2000/svg"></svg></div>
<aside id="detail"><p class="note">Click a step in the timeline to see its record, the entity before and after, and the rule or handler that produced it.</p></aside>
</div>
<noscript><p class="note">The timeline needs JavaScript; everything else on this page does not.</p></noscript>
</section>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_script_breaking_text_is_escaped() {
        assert_eq!(
            escape_html("<img src=x onerror='a()'>&\""),
            "&lt;img src=x onerror=&#39;a()&#39;&gt;&amp;&quot;"
        );
        let v = serde_json::json!({"k": "</script><script>alert(1)</script>&"});
        let s = script_json(&v);
        assert!(
            !s.contains('<') && !s.contains('>') && !s.contains('&'),
            "{s}"
        );
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn records_keep_their_field_order_and_strings_are_shared() {
        let mut strings = Strings::default();
        let r = Record::Input {
            at: crate::core::SimTime(5),
            event: 2,
        };
        let (shapes, rows) = encode_records(&[r.clone(), r], &mut strings);
        assert_eq!(shapes, vec![serde_json::json!(["input", ["at", "event"]])]);
        assert_eq!(rows[0], serde_json::json!([0, 5, 2]));
        assert_eq!(rows[0], rows[1]);
    }
}

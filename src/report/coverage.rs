//! What a sweep reached, beside what its scenario declared: a short text table, the whole
//! of it as JSON, and a section of the sweep page. What was declared and never reached
//! comes first: a sweep that never gets near a rule, a transition or a handler tests
//! nothing there, and passing says nothing about it.
//!
//! What it leaves out: integrations and spec invariants (not counted by
//! [`Coverage`]), and transitions of actions with no `to` (they keep the state).

use crate::core::Coverage;
use crate::report::escape_html;
use crate::scenario::Scenario;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt::Write;

/// Lines of each list in the text table (the JSON has them all).
pub const COVERAGE_LINES_MAX: usize = 12;

/// What the scenario declares that a run can reach.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Declared {
    pub rules: BTreeSet<String>,
    /// Rules with a guard.
    pub guarded: BTreeSet<String>,
    /// `(entity type, "From -> To")` of every action with a `to`, from each of its states.
    pub transitions: BTreeSet<(String, String)>,
    pub handlers: BTreeSet<String>,
    /// `sometimes` invariants: name -> predicate.
    pub sometimes: std::collections::BTreeMap<String, String>,
}

impl Declared {
    pub fn of(scenario: &Scenario) -> Declared {
        let mut d = Declared::default();
        for rule in scenario
            .rules
            .values()
            .chain(scenario.runtime_rules.values())
            .flatten()
        {
            d.rules.insert(rule.name.clone());
            if rule.when.guard.is_some() {
                d.guarded.insert(rule.name.clone());
            }
        }
        for (ty, spec) in &scenario.entities {
            for action in spec.actions.values() {
                let Some(to) = &action.to else { continue };
                let from = action.from.clone().unwrap_or_else(|| spec.states.clone());
                for f in from {
                    d.transitions.insert((ty.clone(), format!("{f} -> {to}")));
                }
            }
        }
        for r in &scenario.reflexes {
            d.handlers.insert(r.id.clone());
        }
        for spec in &scenario.invariants {
            if spec.invariant.kind == crate::scenario::InvariantKind::Sometimes {
                d.sometimes
                    .insert(spec.invariant.name.clone(), spec.invariant.text.clone());
            }
        }
        d
    }
}

/// Declared and never reached, each list sorted.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Unreached {
    /// Rules that never fired (their guard never passed, or nothing triggered them).
    pub rules: Vec<String>,
    /// Guarded rules whose guard never failed: the `false` side was never tested.
    pub guards_never_failed: Vec<String>,
    /// `Type: From -> To`.
    pub transitions: Vec<String>,
    /// Handlers that gave no outcome.
    pub handlers: Vec<String>,
}

impl Unreached {
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
            && self.guards_never_failed.is_empty()
            && self.transitions.is_empty()
            && self.handlers.is_empty()
    }
}

pub fn unreached(declared: &Declared, c: &Coverage) -> Unreached {
    Unreached {
        rules: declared
            .rules
            .iter()
            .filter(|r| !c.rules.contains_key(*r))
            .cloned()
            .collect(),
        guards_never_failed: declared
            .guarded
            .iter()
            .filter(|r| c.guards.get(*r).is_none_or(|g| g.failed == 0))
            .cloned()
            .collect(),
        transitions: declared
            .transitions
            .iter()
            .filter(|(ty, t)| c.transitions.get(ty).is_none_or(|m| !m.contains_key(t)))
            .map(|(ty, t)| format!("{ty}: {t}"))
            .collect(),
        handlers: declared
            .handlers
            .iter()
            .filter(|h| !c.handlers.contains_key(*h))
            .cloned()
            .collect(),
    }
}

/// The coverage as the JSON summary carries it: what was never reached, then every count.
#[derive(Debug, Serialize)]
pub struct CoverageReport<'a> {
    pub declared_never_reached: Unreached,
    #[serde(flatten)]
    pub counts: &'a Coverage,
}

pub fn coverage_report<'a>(declared: &Declared, c: &'a Coverage) -> CoverageReport<'a> {
    CoverageReport {
        declared_never_reached: unreached(declared, c),
        counts: c,
    }
}

fn reached(n: usize, of: usize) -> String {
    format!("{}/{of}", of - n)
}

/// The short table: what was reached of what was declared, what never was, and the rules
/// with their depths and guard verdicts.
pub fn render_coverage_text(declared: &Declared, c: &Coverage) -> String {
    let u = unreached(declared, c);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\ncoverage: rules {} fired, guards {} failed at least once, transitions {} made, handlers {} answered",
        reached(u.rules.len(), declared.rules.len()),
        reached(u.guards_never_failed.len(), declared.guarded.len()),
        reached(u.transitions.len(), declared.transitions.len()),
        reached(u.handlers.len(), declared.handlers.len()),
    );
    let lists = [
        ("rule never fired", &u.rules),
        ("guard never failed", &u.guards_never_failed),
        ("transition never made", &u.transitions),
        ("handler never answered", &u.handlers),
    ];
    for (what, list) in lists {
        for name in list.iter().take(COVERAGE_LINES_MAX) {
            let _ = writeln!(out, "  never reached: {what}: {name}");
        }
        if list.len() > COVERAGE_LINES_MAX {
            let _ = writeln!(
                out,
                "  never reached: ... {} more (see --format json)",
                list.len() - COVERAGE_LINES_MAX
            );
        }
    }
    if !c.rules.is_empty() {
        let _ = writeln!(
            out,
            "  {:<40} {:>8} {:>8} {:>13}  depths",
            "rule", "fired", "failed", "guard pass/fail"
        );
    }
    for (rule, depths) in c.rules.iter().take(COVERAGE_LINES_MAX) {
        let ok: u64 = depths.values().map(|h| h.succeeded).sum();
        let failed: u64 = depths.values().map(|h| h.failed).sum();
        let g = c.guards.get(rule).copied().unwrap_or_default();
        let ds: Vec<String> = depths.keys().map(|d| d.to_string()).collect();
        let _ = writeln!(
            out,
            "  {rule:<40} {ok:>8} {failed:>8} {:>15}  {}",
            format!("{}/{}", g.passed, g.failed),
            ds.join(",")
        );
    }
    if c.rules.len() > COVERAGE_LINES_MAX {
        let _ = writeln!(
            out,
            "  ... {} more rules (see --format json)",
            c.rules.len() - COVERAGE_LINES_MAX
        );
    }
    if !c.faults.is_empty() {
        let fired: Vec<String> = c
            .faults
            .iter()
            .map(|(k, m)| format!("{k} x{}", m.values().sum::<u64>()))
            .collect();
        let _ = writeln!(out, "  faults fired: {}", fired.join(", "));
    }
    out
}

/// The sweep page's coverage section.
pub fn render_coverage_html(declared: &Declared, c: &Coverage) -> String {
    let u = unreached(declared, c);
    let mut out = String::from("<section id=\"coverage\">\n<h2>Coverage</h2>\n");
    if u.is_empty() {
        out.push_str("<p>Every declared rule fired, every guard failed at least once, every declared transition was made and every handler answered.</p>\n");
    } else {
        out.push_str("<h3>Declared, never reached</h3>\n<ul id=\"never-reached\">\n");
        for (what, list) in [
            ("rule never fired", &u.rules),
            ("guard never failed", &u.guards_never_failed),
            ("transition never made", &u.transitions),
            ("handler never answered", &u.handlers),
        ] {
            for name in list {
                let _ = writeln!(out, "<li>{what}: <code>{}</code></li>", escape_html(name));
            }
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<table class=\"coverage\" id=\"coverage-rules\"><thead><tr><th>rule</th><th>depth</th><th>fired</th><th>failed</th><th>guard passed</th><th>guard failed</th><th>resolved</th><th>unresolved</th></tr></thead><tbody>\n");
    for (rule, depths) in &c.rules {
        let g = c.guards.get(rule).copied().unwrap_or_default();
        let r = c.resolvers.get(rule).copied().unwrap_or_default();
        for (d, h) in depths {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td>{d}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape_html(rule),
                h.succeeded,
                h.failed,
                g.passed,
                g.failed,
                r.resolved,
                r.unresolved
            );
        }
    }
    out.push_str("</tbody></table>\n");
    for (title, id, map) in [
        ("Handler outcomes", "coverage-handlers", &c.handlers),
        ("Transitions", "coverage-transitions", &c.transitions),
        ("Faults fired", "coverage-faults", &c.faults),
    ] {
        if map.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "<h3>{title}</h3>\n<table class=\"coverage\" id=\"{id}\"><tbody>"
        );
        for (k, counts) in map {
            for (what, n) in counts {
                let _ = writeln!(
                    out,
                    "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{n}</td></tr>",
                    escape_html(k),
                    escape_html(what)
                );
            }
        }
        out.push_str("</tbody></table>\n");
    }
    out.push_str("</section>\n");
    out
}

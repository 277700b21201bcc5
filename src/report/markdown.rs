//! The Markdown report of one run (`ripple run --report DIR`): a summary, a picture of each
//! cascade (a Mermaid flowchart, which GitHub and GitLab render), the violations, the final
//! entities and the command that reproduces the run.
//!
//! The picture links each dispatch to what caused it: the root input, the reflex that
//! reacted to a bus event, or the commit whose rule fired it (the latest commit one level
//! up, exact for inline cascades). With faults on, every reaction is a message of its own
//! that may arrive during a later input's cascade; it is drawn from a message node that
//! says when it arrived, not linked to a guessed parent. The node drawn last when an
//! invariant first failed is marked (⚠, a red border).

use crate::core::{Origin, Record};
use crate::report::reproduce_command;
use crate::sim::RunOutcome;
use std::fmt::Write;

/// At most this many nodes per picture: a cascade larger than that is better read in the
/// trace.
pub const CASCADE_NODES_MAX: usize = 60;

fn label(text: &str) -> String {
    // Mermaid labels in quotes; quotes inside become #quot;.
    text.replace('"', "#quot;")
}

pub fn render_markdown(outcome: &RunOutcome, scenario_path: &str) -> String {
    let mut out = String::new();
    let verdict = if outcome.passed() { "pass" } else { "FAIL" };
    let _ = writeln!(
        out,
        "# {} — seed {} — {verdict}\n",
        outcome.scenario, outcome.seed
    );
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| scenario | `{scenario_path}` |");
    let _ = writeln!(out, "| trace hash | `{}` |", outcome.trace_hash);
    let _ = writeln!(out, "| steps | {} |", outcome.steps());
    let _ = writeln!(out, "| virtual time | {} |", outcome.virtual_time);
    if let Some(f) = &outcome.faults {
        let _ = writeln!(out, "| faults | {f} |");
    }
    let _ = writeln!(
        out,
        "| reproduce | `{}` |\n",
        reproduce_command(scenario_path, outcome.seed.0, outcome.swarm)
    );

    if !outcome.violations.is_empty() {
        out.push_str("## Violations\n\n");
        for v in &outcome.violations {
            let _ = writeln!(
                out,
                "- **{}** at step {}: {}",
                v.invariant, v.step, v.message
            );
        }
        out.push('\n');
    }

    out.push_str("## Cascades\n\n");
    // The step where an invariant first failed, when it is a step of the trace (a check at
    // the end points past it): its node is marked in the picture.
    let first_failure = outcome
        .violations
        .iter()
        .filter(|v| (v.step as usize) < outcome.records.len())
        .min_by_key(|v| v.step);
    let mut pictures = 0;
    let mut current: Option<Picture> = None;
    for (i, r) in outcome.records.iter().enumerate() {
        if let Record::Input { at, event } = r {
            if let Some(p) = current.take() {
                pictures += p.write(&mut out);
            }
            current = Some(Picture::new(
                format!("event #{event} @{at}"),
                outcome.faults.is_some(),
            ));
        } else if let Some(p) = &mut current {
            p.add(r);
        }
        if let (Some(v), Some(p)) = (first_failure, &mut current) {
            if v.step as usize == i {
                p.mark(&format!("first violation: {} (step {i})", v.invariant));
            }
        }
    }
    if let Some(p) = current.take() {
        pictures += p.write(&mut out);
    }
    if pictures == 0 {
        out.push_str("No root input dispatched anything.\n\n");
    }

    let _ = writeln!(
        out,
        "## Entities\n\n| tenant | entity | status | fields |\n|---|---|---|---|"
    );
    for e in &outcome.entities {
        let fields = serde_json::to_string(&e.fields)
            .unwrap_or_default()
            .replace('|', "\\|");
        let _ = writeln!(
            out,
            "| {} | {}/{} | {} | `{fields}` |",
            e.tenant, e.entity_type, e.id, e.status
        );
    }
    out
}

/// One root input's cascade.
struct Picture {
    title: String,
    nodes: Vec<String>,
    edges: Vec<String>,
    /// The latest committed node at each depth (the parent of the next level).
    by_depth: Vec<Option<usize>>,
    pending: Option<(usize, String)>,
    skipped: usize,
    /// Reactions are messages (faults mode).
    deferred: bool,
    /// The node drawn last when an invariant first failed (`None`: the root), and what.
    marked: Option<(Option<usize>, String)>,
}

impl Picture {
    fn new(title: String, deferred: bool) -> Picture {
        Picture {
            title,
            nodes: vec![],
            edges: vec![],
            by_depth: vec![],
            pending: None,
            skipped: 0,
            deferred,
            marked: None,
        }
    }

    /// Marks the node drawn last (the root when none is yet) as where `what` happened.
    fn mark(&mut self, what: &str) {
        self.marked = Some((self.nodes.len().checked_sub(1), what.to_string()));
    }

    fn add(&mut self, r: &Record) {
        match r {
            Record::Dispatch {
                depth,
                entity_type,
                id,
                action,
                origin: Origin::Rule { rule, .. },
                at,
                ..
            } if self.deferred => {
                if self.nodes.len() + 1 >= CASCADE_NODES_MAX {
                    self.skipped += 1;
                    return;
                }
                let m = self.nodes.len();
                self.nodes.push(format!("message @{at}: {rule}"));
                let n = self.nodes.len();
                self.nodes.push(format!("{entity_type}/{id}.{action}"));
                self.edges.push(format!("n{m} --> n{n}"));
                self.pending = Some((n, String::new()));
                let d = depth.0 as usize;
                if self.by_depth.len() <= d {
                    self.by_depth.resize(d + 1, None);
                }
                self.by_depth[d] = Some(n);
            }
            Record::Dispatch {
                depth,
                entity_type,
                id,
                action,
                origin,
                ..
            } => {
                if self.nodes.len() >= CASCADE_NODES_MAX {
                    self.skipped += 1;
                    return;
                }
                let n = self.nodes.len();
                self.nodes.push(format!("{entity_type}/{id}.{action}"));
                let d = depth.0 as usize;
                let (from, how) = match origin {
                    Origin::Root { .. } => (None, String::new()),
                    // The commit at depth d - 1 published the event the reflex heard.
                    Origin::Reflex { handler, .. } => (
                        d.checked_sub(1)
                            .and_then(|p| self.by_depth.get(p).copied().flatten()),
                        format!("reflex {handler}"),
                    ),
                    Origin::Rule { rule, .. } => (
                        d.checked_sub(1)
                            .and_then(|p| self.by_depth.get(p).copied().flatten()),
                        rule.clone(),
                    ),
                };
                match from {
                    Some(p) => self
                        .edges
                        .push(format!("n{p} -->|\"{}\"| n{n}", label(&how))),
                    None if how.is_empty() => self.edges.push(format!("root --> n{n}")),
                    None => self
                        .edges
                        .push(format!("root -->|\"{}\"| n{n}", label(&how))),
                }
                self.pending = Some((n, String::new()));
                if self.by_depth.len() <= d {
                    self.by_depth.resize(d + 1, None);
                }
                self.by_depth[d] = Some(n);
                self.by_depth.truncate(d + 1);
            }
            Record::Transition { from, to, .. } => {
                if let Some((n, _)) = self.pending.take() {
                    self.nodes[n] = format!("{}<br/>{from} → {to}", self.nodes[n]);
                }
            }
            Record::ActionFailed { error, .. } => {
                if let Some((n, _)) = self.pending.take() {
                    self.nodes[n] = format!("{}<br/>FAILED: {error}", self.nodes[n]);
                    // A failed action fires nothing: it is no parent.
                    if let Some(slot) = self.by_depth.iter_mut().rev().find(|s| **s == Some(n)) {
                        *slot = None;
                    }
                }
            }
            Record::DepthLimit { rule, depth, .. } if self.nodes.len() < CASCADE_NODES_MAX => {
                let n = self.nodes.len();
                self.nodes.push(format!("dropped at max_depth ({rule})"));
                let from = self.by_depth.get(depth.0 as usize).copied().flatten();
                match from {
                    Some(p) => self.edges.push(format!("n{p} -.-> n{n}")),
                    None => self.edges.push(format!("root -.-> n{n}")),
                }
            }
            _ => {}
        }
    }

    /// Writes the picture; returns 1 if it had anything to show.
    fn write(self, out: &mut String) -> usize {
        if self.nodes.is_empty() && self.marked.is_none() {
            return 0;
        }
        let _ = writeln!(out, "### {}\n\n```mermaid\nflowchart TD", self.title);
        let (marked_node, marked_what) = match &self.marked {
            Some((node, what)) => (Some(*node), format!("<br/>⚠ {what}")),
            None => (None, String::new()),
        };
        let root_mark = if marked_node == Some(None) {
            marked_what.as_str()
        } else {
            ""
        };
        let _ = writeln!(out, "  root([\"{}{root_mark}\"])", label(&self.title));
        for (i, n) in self.nodes.iter().enumerate() {
            let mark = if marked_node == Some(Some(i)) {
                marked_what.as_str()
            } else {
                ""
            };
            let _ = writeln!(out, "  n{i}[\"{}{mark}\"]", label(n));
        }
        for e in &self.edges {
            let _ = writeln!(out, "  {e}");
        }
        match marked_node {
            Some(Some(i)) => {
                let _ = writeln!(out, "  style n{i} stroke:#c00,stroke-width:3px");
            }
            Some(None) => out.push_str("  style root stroke:#c00,stroke-width:3px\n"),
            None => {}
        }
        out.push_str("```\n\n");
        if self.skipped > 0 {
            let _ = writeln!(
                out,
                "({} more dispatches not drawn; see the trace)\n",
                self.skipped
            );
        }
        1
    }
}

//! The Markdown report of one run (`ripple run --report DIR`): a summary, a picture of each
//! cascade (a Mermaid flowchart, which GitHub and GitLab render), the violations, the final
//! entities and the command that reproduces the run.
//!
//! The picture links each dispatch to what caused it, from the causes the trace records
//! carry: the root input, the commit whose event a reflex heard, or the commit whose rule
//! fired it. With faults on, a reaction is a message of its own that may arrive during a
//! later input's cascade: it is still drawn under its cause, in its root input's picture,
//! and says when it was delivered. The node of the step where an invariant first failed is
//! marked (⚠, a red border).

use crate::core::{Origin, Record, SimTime};
use crate::report::causes::CauseTree;
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
    let tree = CauseTree::new(&outcome.records);
    let marked = first_failure.and_then(|v| {
        let node = tree.node_of(v.step as usize)?;
        Some((
            node,
            format!("first violation: {} (step {})", v.invariant, v.step),
        ))
    });
    let mut pictures = 0;
    for &root in &tree.roots {
        pictures += picture(&outcome.records, &tree, root, marked.as_ref(), &mut out);
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

/// A node of a picture: its root input, or a drawn node (`n<i>` in Mermaid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drawn {
    Root,
    Node(usize),
}

impl std::fmt::Display for Drawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Drawn::Root => f.write_str("root"),
            Drawn::Node(i) => write!(f, "n{i}"),
        }
    }
}

/// The picture of one root input's cascade: each dispatch under its cause (the commit whose
/// rule fired it, or the commit whose event a reflex heard), with the instant it was
/// delivered when that is later than its cause's. Returns 1 if it drew anything.
fn picture(
    records: &[Record],
    tree: &CauseTree,
    root: usize,
    marked: Option<&(usize, String)>,
    out: &mut String,
) -> usize {
    let Record::Input { at, event } = &records[root] else {
        return 0;
    };
    let title = format!("event #{event} @{at}");
    let mut nodes: Vec<String> = Vec::new();
    let mut edges: Vec<String> = Vec::new();
    let mut skipped = 0usize;
    // Per depth of the walk: the drawn node that stands for it, and when it happened.
    let mut drawn: Vec<(Drawn, SimTime)> = Vec::new();
    // The drawn node the marked step belongs to.
    let mut marked_node: Option<Drawn> = None;
    for (node, depth) in tree.walk(root) {
        drawn.truncate(depth);
        let r = &records[node];
        let (parent, parent_at) = drawn.last().copied().unwrap_or((Drawn::Root, r.at()));
        let mut this = (parent, parent_at);
        match r {
            Record::Input { at, .. } => this = (Drawn::Root, *at),
            Record::Dispatch {
                entity_type,
                id,
                action,
                origin,
                at,
                ..
            } if nodes.len() < CASCADE_NODES_MAX => {
                let n = Drawn::Node(nodes.len());
                let result = match tree.result(node).map(|s| &records[s]) {
                    Some(Record::Transition { from, to, .. }) => format!("<br/>{from} → {to}"),
                    Some(Record::ActionFailed { error, .. }) => format!("<br/>FAILED: {error}"),
                    _ => String::new(),
                };
                let late = if parent_at != *at {
                    format!("<br/>delivered @{at}")
                } else {
                    String::new()
                };
                nodes.push(format!("{entity_type}/{id}.{action}{result}{late}"));
                let how = match origin {
                    Origin::Root { .. } => String::new(),
                    Origin::Reflex { handler, .. } => format!("reflex {handler}"),
                    Origin::Rule { rule, copy: false } => rule.clone(),
                    Origin::Rule { rule, copy: true } => format!("{rule} (duplicate)"),
                };
                if how.is_empty() {
                    edges.push(format!("{parent} --> {n}"));
                } else {
                    edges.push(format!("{parent} -->|\"{}\"| {n}", label(&how)));
                }
                this = (n, *at);
            }
            Record::Dispatch { .. } => skipped += 1,
            Record::DepthLimit { rule, .. } if nodes.len() < CASCADE_NODES_MAX => {
                let n = Drawn::Node(nodes.len());
                nodes.push(format!("dropped at max_depth ({rule})"));
                edges.push(format!("{parent} -.-> {n}"));
                this = (n, r.at());
            }
            _ => {}
        }
        if marked.is_some_and(|(m, _)| *m == node) {
            marked_node = Some(this.0);
        }
        drawn.push(this);
    }
    if nodes.is_empty() && marked_node.is_none() {
        return 0;
    }
    let mark_text = marked.map(|(_, what)| format!("<br/>⚠ {what}"));
    let mark_of = |d: Drawn| match (marked_node, &mark_text) {
        (Some(m), Some(t)) if m == d => t.as_str(),
        _ => "",
    };
    let _ = writeln!(out, "### {title}\n\n```mermaid\nflowchart TD");
    let _ = writeln!(
        out,
        "  root([\"{}{}\"])",
        label(&title),
        label(mark_of(Drawn::Root))
    );
    for (i, n) in nodes.iter().enumerate() {
        let d = Drawn::Node(i);
        let _ = writeln!(out, "  {d}[\"{}{}\"]", label(n), label(mark_of(d)));
    }
    for e in &edges {
        let _ = writeln!(out, "  {e}");
    }
    if let Some(m) = marked_node {
        let _ = writeln!(out, "  style {m} stroke:#c00,stroke-width:3px");
    }
    out.push_str("```\n\n");
    if skipped > 0 {
        let _ = writeln!(
            out,
            "({skipped} more dispatches not drawn; see the trace)\n"
        );
    }
    1
}

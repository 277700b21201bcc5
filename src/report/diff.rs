//! Where two runs part (`ripple diff`, and a changed seed in `ripple corpus check`): the
//! first step at which their traces differ, the steps both had just before, and each side
//! from there, as text (coloured on a terminal) and as a side-by-side HTML page.
//!
//! Sides are shown step for step from the parting point, not re-aligned: after one run
//! takes another turn, what follows is a different history, and the same record later on
//! one side is not "the same step" as on the other.

use crate::report::{escape_html, page};
use crate::trace::TraceDiff;
use serde_json::Value;
use std::fmt::Write;

const DIFF_SCRIPT: &str = include_str!("assets/diff.js");

/// Steps per side shown on the HTML page after the parting point.
pub const DIFF_PAGE_STEPS_MAX: usize = 1000;

/// One side of a diff, as its heading shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffSide {
    /// Where it came from: a trace file, or `seed N`.
    pub source: String,
    pub scenario: String,
    pub seed: u64,
    pub swarm: bool,
    pub trace_hash: String,
    pub steps: usize,
}

impl DiffSide {
    fn title(&self) -> String {
        let swarm = if self.swarm { " --swarm" } else { "" };
        format!("{} seed {}{swarm}", self.scenario, self.seed)
    }
}

fn time_text(ms: u64) -> String {
    crate::core::format_duration_ms(ms)
}

/// One canonical trace line, for a person: `@122ms dispatch shop Payment/o1.AuthorizePayment
/// by rule order_confirmed_authorizes_payment`. A line that is not a record is shown as it is.
pub fn describe_line(line: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(line) else {
        return line.to_string();
    };
    let s = |k: &str| match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let at = v.get("at").and_then(Value::as_u64).map(time_text);
    let entity = || {
        format!(
            "{} {}/{}.{}",
            s("tenant"),
            s("entity_type"),
            s("id"),
            s("action")
        )
    };
    let what = match s("kind").as_str() {
        "input" => format!("input: root event #{}", s("event")),
        "publish" => format!(
            "publish {} {} ({} subscribers)",
            s("tenant"),
            s("subject"),
            s("subscribers")
        ),
        "deliver" => format!("deliver event {} to {}", s("event"), s("handler")),
        "outcome" => format!(
            "outcome {}: {} ({}){}",
            s("handler"),
            s("outcome"),
            s("severity"),
            match s("target").as_str() {
                "" => String::new(),
                t => format!(" on {t}"),
            }
        ),
        "dispatch" => {
            let by = match s("by").as_str() {
                "root" => format!("by root event #{}", s("event")),
                "reflex" => format!("by reflex {} (event {})", s("handler"), s("event")),
                _ => format!(
                    "by rule {}{}",
                    s("rule"),
                    if v.get("copy") == Some(&Value::Bool(true)) {
                        " (duplicate)"
                    } else {
                        ""
                    }
                ),
            };
            format!("dispatch {} {by} [depth {}]", entity(), s("depth"))
        }
        "transition" => format!("transition {}: {} -> {}", entity(), s("from"), s("to")),
        "action_failed" => format!("failed {}: {}", entity(), s("error")),
        "reaction" => format!(
            "reaction {} -> {}/{}: {}",
            s("rule"),
            s("target_type"),
            s("target_id"),
            if v.get("success") == Some(&Value::Bool(true)) {
                s("target_status")
            } else {
                format!("failed: {}", s("error"))
            }
        ),
        "guard_skip" => format!("guard skip {}: guard false", s("rule")),
        "depth_limit" => format!("depth limit: {} dropped at depth {}", s("rule"), s("depth")),
        "fault" => {
            let on = match s("of").as_str() {
                "reaction" => format!("rule {} -> {}", s("rule"), s("target")),
                "delivery" => format!("{} -> {}", s("subject"), s("handler")),
                "action" => format!("{}.{}", s("target"), s("action")),
                _ => format!("{} on {}", s("handler"), s("subject")),
            };
            let delay = match v.get("delay_ms").and_then(Value::as_u64) {
                Some(ms) if ms > 0 => format!(" +{}", time_text(ms)),
                _ => String::new(),
            };
            format!("fault {}{delay}: {on}", s("fault"))
        }
        "warning" => format!("warning: {}", s("message")),
        _ => return line.to_string(),
    };
    match at {
        Some(at) => format!("@{at} {what}"),
        None => what,
    }
}

/// ANSI colours, or none.
struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// The parting point as text: the shared steps just before it (dim), then each side's steps
/// from it (`a` red, `b` green, when `color`), and the two differing records as JSON.
pub fn render_parting_text(d: &TraceDiff, a: &str, b: &str, color: bool) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    let width = a.len().max(b.len());
    let _ = writeln!(
        out,
        "the runs part at step {} ({} steps in common; {a} has {}, {b} has {})",
        d.step, d.step, d.recorded_steps, d.replayed_steps
    );
    let first = d.step - d.before.len();
    for (k, line) in d.before.iter().enumerate() {
        let text = format!("  {:>width$} {:>6}  {}", "", first + k, describe_line(line));
        let _ = writeln!(out, "{}", paint.wrap("2", &text));
    }
    for (name, code, line, after) in [
        (a, "31", &d.recorded, &d.recorded_after),
        (b, "32", &d.replayed, &d.replayed_after),
    ] {
        match line {
            None => {
                let text = format!("  {name:>width$} {:>6}  (the run ended)", d.step);
                let _ = writeln!(out, "{}", paint.wrap(code, &text));
            }
            Some(line) => {
                let lines = std::iter::once(line).chain(after.iter());
                for (k, line) in lines.enumerate() {
                    let text = format!(
                        "  {name:>width$} {:>6}  {}",
                        d.step + k,
                        describe_line(line)
                    );
                    let _ = writeln!(out, "{}", paint.wrap(code, &text));
                }
                let shown = after.len() + 1;
                let total = if code == "31" {
                    d.recorded_steps
                } else {
                    d.replayed_steps
                };
                if d.step + shown < total {
                    let _ = writeln!(
                        out,
                        "  {name:>width$} {:>6}  ... {} more",
                        "",
                        total - d.step - shown
                    );
                }
            }
        }
    }
    let raw = |line: &Option<String>| line.clone().unwrap_or_else(|| "(no record)".into());
    let _ = writeln!(out, "  step {} in full:", d.step);
    let _ = writeln!(
        out,
        "  {}",
        paint.wrap("31", &format!("{a:>width$}: {}", raw(&d.recorded)))
    );
    let _ = writeln!(
        out,
        "  {}",
        paint.wrap("32", &format!("{b:>width$}: {}", raw(&d.replayed)))
    );
    out
}

/// `ripple diff` as text.
pub fn render_diff_text(
    a: &DiffSide,
    b: &DiffSide,
    diff: Option<&TraceDiff>,
    color: bool,
) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({}): {} steps, trace {}",
        paint.wrap("31", "A"),
        a.title(),
        a.source,
        a.steps,
        a.trace_hash
    );
    let _ = writeln!(
        out,
        "{} {} ({}): {} steps, trace {}",
        paint.wrap("32", "B"),
        b.title(),
        b.source,
        b.steps,
        b.trace_hash
    );
    match diff {
        None => {
            let _ = writeln!(out, "identical: the two runs agree on every step");
        }
        Some(d) => out.push_str(&render_parting_text(d, "A", "B", color)),
    }
    out
}

/// `ripple diff --report DIR`: the two sides, side by side, from where they part.
pub fn render_diff_html(a: &DiffSide, b: &DiffSide, diff: Option<&TraceDiff>) -> String {
    let mut out = String::new();
    let verdict = if diff.is_some() {
        "differ"
    } else {
        "identical"
    };
    let _ = writeln!(
        out,
        "<header>\n<h1><span class=\"verdict {}\" id=\"verdict\">{}</span> {} <span class=\"seed\">vs</span> {}</h1>",
        if diff.is_some() { "fail" } else { "pass" },
        verdict,
        escape_html(&a.title()),
        escape_html(&b.title())
    );
    out.push_str("<table class=\"summary\">\n");
    for (name, side) in [("A", a), ("B", b)] {
        let _ = writeln!(
            out,
            "<tr><th>{name}</th><td>{} <code>{}</code>: {} steps, trace <code>{}</code></td></tr>",
            escape_html(&side.title()),
            escape_html(&side.source),
            side.steps,
            escape_html(&side.trace_hash)
        );
    }
    out.push_str("</table>\n</header>\n");
    match diff {
        None => out.push_str(
            "<p id=\"parting\">The two runs agree on every step: same records, same trace.</p>\n",
        ),
        Some(d) => {
            let _ = writeln!(
                out,
                "<p id=\"parting\">The runs part at <b>step {}</b>, after {} steps in common. Click a row to see both records.</p>",
                d.step, d.step
            );
            out.push_str("<div class=\"diff-wrap\">\n<table class=\"sides\" id=\"sides\">\n<colgroup><col style=\"width:64px\"><col><col></colgroup>\n<thead><tr><th>step</th><th>A</th><th>B</th></tr></thead>\n<tbody>\n");
            let first = d.step - d.before.len();
            for (k, line) in d.before.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "<tr class=\"common\" data-a=\"{l}\" data-b=\"{l}\"><td class=\"n\">{}</td><td colspan=\"2\">{}</td></tr>",
                    first + k,
                    escape_html(&describe_line(line)),
                    l = escape_html(line),
                );
            }
            let side = |line: &Option<String>, after: &[String]| -> Vec<Option<String>> {
                match line {
                    None => Vec::new(),
                    Some(l) => std::iter::once(l.clone())
                        .chain(after.iter().cloned())
                        .map(Some)
                        .collect(),
                }
            };
            let (sa, sb) = (
                side(&d.recorded, &d.recorded_after),
                side(&d.replayed, &d.replayed_after),
            );
            let rows = sa.len().max(sb.len()).max(1);
            for k in 0..rows {
                let (la, lb) = (sa.get(k).cloned().flatten(), sb.get(k).cloned().flatten());
                let differs = la != lb;
                let cell = |line: &Option<String>, class: &str| match line {
                    Some(l) => format!(
                        "<td class=\"{class}{}\">{}</td>",
                        if differs { " differs" } else { "" },
                        escape_html(&describe_line(l))
                    ),
                    None => format!("<td class=\"{class} missing\">(the run ended)</td>"),
                };
                let _ = writeln!(
                    out,
                    "<tr class=\"side{}\" data-a=\"{}\" data-b=\"{}\"{}><td class=\"n\">{}</td>{}{}</tr>",
                    if k == 0 { " parting" } else { "" },
                    escape_html(la.as_deref().unwrap_or("")),
                    escape_html(lb.as_deref().unwrap_or("")),
                    if k == 0 { " id=\"parting-row\"" } else { "" },
                    d.step + k,
                    cell(&la, "a"),
                    cell(&lb, "b"),
                );
            }
            out.push_str("</tbody>\n</table>\n");
            out.push_str("<div id=\"detail\" class=\"diff-detail\"><p class=\"note\">Click a row to see both records.</p></div>\n</div>\n");
            let (more_a, more_b) = (
                d.recorded_steps.saturating_sub(d.step + sa.len()),
                d.replayed_steps.saturating_sub(d.step + sb.len()),
            );
            if more_a + more_b > 0 {
                let _ = writeln!(
                    out,
                    "<p class=\"note\">Not shown: {more_a} more steps of A, {more_b} of B.</p>"
                );
            }
        }
    }
    out.push_str("<footer>Written by <code>ripple diff --report</code>. The page is self-contained: it loads nothing.</footer>\n");
    let title = format!("diff {} vs {}", a.title(), b.title());
    page(&title, &out, None, DIFF_SCRIPT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::first_difference_within;

    const A: &str = "{\"kind\":\"input\",\"at\":0,\"event\":0}\n{\"kind\":\"transition\",\"at\":5,\"tenant\":\"shop\",\"entity_type\":\"Payment\",\"id\":\"o1\",\"action\":\"Void\",\"from\":\"Pending\",\"to\":\"Voided\",\"created\":false}\n";
    const B: &str = "{\"kind\":\"input\",\"at\":0,\"event\":0}\n{\"kind\":\"fault\",\"at\":0,\"fault\":\"delay\",\"of\":\"reaction\",\"rule\":\"r\",\"target\":\"Payment/o1\",\"nth\":1,\"event\":null,\"delay_ms\":22}\n{\"kind\":\"warning\",\"at\":1,\"message\":\"<b>x</b>\"}\n";

    fn side(source: &str, steps: usize) -> DiffSide {
        DiffSide {
            source: source.into(),
            scenario: "race".into(),
            seed: 0,
            swarm: false,
            trace_hash: "00".into(),
            steps,
        }
    }

    #[test]
    fn records_read_as_sentences() {
        let lines: Vec<&str> = A.lines().chain(B.lines()).collect();
        assert_eq!(describe_line(lines[0]), "@0ms input: root event #0");
        assert_eq!(
            describe_line(lines[1]),
            "@5ms transition shop Payment/o1.Void: Pending -> Voided"
        );
        assert_eq!(
            describe_line(lines[3]),
            "@0ms fault delay +22ms: rule r -> Payment/o1"
        );
        assert_eq!(describe_line("not json"), "not json");
    }

    #[test]
    fn text_names_the_parting_step_and_colours_only_when_asked() {
        let d = first_difference_within(A.as_bytes(), B.as_bytes(), 5).unwrap();
        let plain = render_diff_text(&side("a.jsonl", 2), &side("b.jsonl", 3), Some(&d), false);
        assert!(plain.contains("the runs part at step 1"), "{plain}");
        assert!(plain.contains("A      1  @5ms transition"), "{plain}");
        assert!(
            plain.contains("B      2  @1ms warning: <b>x</b>"),
            "{plain}"
        );
        assert!(!plain.contains('\x1b'));
        let color = render_diff_text(&side("a.jsonl", 2), &side("b.jsonl", 3), Some(&d), true);
        assert!(color.contains("\x1b[31m"));
    }

    #[test]
    fn the_page_escapes_what_the_records_say() {
        let d = first_difference_within(A.as_bytes(), B.as_bytes(), 5).unwrap();
        let html = render_diff_html(&side("a.jsonl", 2), &side("<b.jsonl>", 3), Some(&d));
        assert!(!html.contains("<b>x</b>"), "a record's text is escaped");
        assert!(html.contains("&lt;b&gt;x&lt;/b&gt;"));
        assert!(html.contains("&lt;b.jsonl&gt;"));
        assert!(html.contains("class=\"side parting\""));
    }
}

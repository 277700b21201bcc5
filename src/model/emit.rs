//! Counterexamples as scenarios: a path of the cascade model (an order of deliveries)
//! becomes a copy of the original scenario with an explicit schedule that `ripple run`
//! follows.
//!
//! The copy keeps the original text (comments included) minus its `[faults]` table. Root
//! events keep their times except where the path needs an order among concurrent ones:
//! each gets `max(its time, the previous step's time + 1ms)`. With faults (reactions as
//! messages), every step of the path gets a time 1 ms after the previous one, and every
//! message a `[[fault]] kind = "delay"` that makes it arrive exactly at its step; a lost
//! message becomes a `drop`, a second delivery a `duplicate` whose `delay` places the copy.
//! Messages still pending when the path ends are delayed past it, in order. Rule files are
//! re-pointed from the new file's folder.
//!
//! An integration answer the path chose becomes an `[[answer]]` entry (its call on its
//! entity, by number, and a delay that makes it arrive at its step, 1 ms after the one
//! before), so the run picks the same answer at the same point of the path.
//!
//! Every call of the path is pinned, those still waiting when it ends with an answer after
//! it, so that an answer's occurrence (counted by a run at the call, per answer) is the
//! path's: a lost answer becomes a `drop` of a pinned answer, a duplicated one a `duplicate`
//! whose `delay` counts from the answer's arrival, as a run delays an answer's copy. With a
//! `[[fault]]` schedule the original's drops, failures, crashes and restarts are kept.
//!
//! Not covered: a message aimed at an id minted by `create` (the model mints `minted-N`, a
//! run mints `sim_uuid`s): its `[[fault]]` names the model's id and will not match.

use crate::core::format_duration_ms;
use crate::core::relative_path;
use crate::core::{FaultKind, FaultTarget};
use crate::model::cascade::{CascadeModel, CascadeState, Mode, Step};
use crate::model::message::Message;
use crate::scenario::fault_table;
use crate::scenario::ScheduledFault;
use crate::scenario::{answer_table, PinnedAnswer};
use std::collections::BTreeMap;
use std::path::Path;

/// A path turned into times and faults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schedule {
    /// Root event index -> its time in ms.
    pub roots_ms: BTreeMap<u32, u64>,
    /// The `[[fault]]` entries, in the order of the path (a drop has no delay).
    pub faults: Vec<ScheduledFault>,
    /// One line per step, for the file's header.
    pub steps: Vec<String>,
    /// The `[[answer]]` entries: each integration answer the path chose.
    pub answers: Vec<PinnedAnswer>,
}

struct Tracked {
    message: Message,
    /// Its identity in a schedule; `None` for an integration call, whose identity is its
    /// chosen answer's (`Message::answer_identity`).
    on: Option<FaultTarget>,
    nth: u32,
    born_ms: u64,
    /// An integration call, or a copy of its answer: its place in `calls` (the `nth` of
    /// an answer's fault is known once every earlier call's answer is).
    call: Option<usize>,
}

/// An integration call on the path, and the answer it got (chosen on the path, or pinned
/// for it when the path lost it or ended first).
struct Call {
    message: Message,
    answer: Option<usize>,
}

/// Turns a path (states with the step taken from each) into a schedule.
pub fn schedule(model: &CascadeModel, path: &[(CascadeState, Option<Step>)]) -> Schedule {
    let messages = !matches!(model.mode, Mode::Inline);
    let mut out = Schedule::default();
    let mut pending: Vec<Tracked> = Vec::new();
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    // With a `[[fault]]` schedule: its occurrences, counted as the model counts them.
    let mut scheduled: Vec<(String, u32)> = Vec::new();
    let following = !model.schedule.is_empty();
    let mut calls: Vec<Call> = Vec::new();
    // Faults on answers: (index in `out.faults`, call), their `nth` resolved at the end.
    let mut answer_faults: Vec<(usize, usize)> = Vec::new();
    let mut last_ms: Option<u64> = None;
    let next_ms = |last: Option<u64>| last.map_or(0, |t| t + 1);
    for (state, step) in path {
        let Some(step) = *step else { break };
        out.steps.push(model.describe_step(state, step));
        let (_, created, records) = model.transition_with_records(state, step);
        let mut now = last_ms.unwrap_or(0);
        let take = |pending: &mut Vec<Tracked>, i: u16| -> Tracked {
            let m = &state.pending[i as usize];
            let j = pending
                .iter()
                .position(|t| t.message == *m)
                .expect("every pending message is tracked");
            pending.remove(j)
        };
        match step {
            Step::Root(r) | Step::FailRoot(r) => {
                let at = model.scenario.events[r as usize].at.ms();
                now = if messages || last_ms.is_some() {
                    at.max(next_ms(last_ms))
                } else {
                    at
                };
                out.roots_ms.insert(r, now);
                last_ms = Some(now);
            }
            Step::Deliver(i)
            | Step::Duplicate(i)
            | Step::Fail(i)
            | Step::Panic(i)
            | Step::Restart(i)
                if messages =>
            {
                now = next_ms(last_ms);
                let t = take(&mut pending, i);
                if let Message::Delivery { sub, event, .. } = &t.message {
                    let on = FaultTarget::Handler {
                        handler: model.handlers[*sub as usize].clone(),
                        subject: event.subject.to_string(),
                    };
                    let n = seen.entry(on.key()).or_insert(0);
                    *n += 1;
                    let kind = match step {
                        Step::Panic(_) => Some(FaultKind::HandlerPanic),
                        Step::Restart(_) => Some(FaultKind::ReflexRestart),
                        _ => None,
                    };
                    if let Some(kind) = kind {
                        out.faults.push(ScheduledFault {
                            kind,
                            on,
                            nth: *n,
                            delay_ms: 0,
                        });
                    }
                }
                push_arrival(&mut out, &mut answer_faults, &t, now - t.born_ms);
                if matches!(step, Step::Duplicate(_)) {
                    pending.push(Tracked {
                        message: t.message.as_copy(),
                        ..t
                    });
                }
                last_ms = Some(now);
            }
            Step::Drop(i) if messages => {
                let t = take(&mut pending, i);
                let at = out.faults.len();
                match t.call {
                    // A lost answer is one answer lost: the run must draw that one.
                    Some(c) => {
                        let k = pin_answer(model, &calls[c].message);
                        calls[c].answer = Some(k);
                        out.answers.push(pinned(&t, k, None));
                        answer_faults.push((at, c));
                        out.faults.push(ScheduledFault {
                            kind: FaultKind::Drop,
                            on: t.message.answer_identity(k),
                            nth: 0,
                            delay_ms: 0,
                        });
                    }
                    None => out.faults.push(ScheduledFault {
                        kind: FaultKind::Drop,
                        on: t.on.expect("a message other than a call has an identity"),
                        nth: t.nth,
                        delay_ms: 0,
                    }),
                }
            }
            Step::Answer(i, k) | Step::AnswerTwice(i, k) | Step::FailAnswer(i, k) => {
                let t = take(&mut pending, i);
                let c = t.call.expect("an answer step answers an integration call");
                let k = k as usize;
                calls[c].answer = Some(k);
                now = next_ms(last_ms);
                out.answers
                    .push(pinned(&t, k, Some(now.saturating_sub(t.born_ms))));
                last_ms = Some(now);
                let twice = if following {
                    // The schedule's own entries (kept) drop or duplicate it.
                    model.answer_fate(&mut scheduled, &t.message, k).1
                } else {
                    matches!(step, Step::AnswerTwice(..))
                };
                if twice {
                    // The copy arrives `delay` after the answer did (a run delays an
                    // answer's copy from the answer's arrival).
                    let copy = model.answer_message(&t.message, k).as_copy();
                    pending.push(Tracked {
                        message: copy,
                        on: Some(t.message.answer_identity(k)),
                        nth: 0,
                        born_ms: now,
                        call: Some(c),
                    });
                }
            }
            // Inline mode: deliveries run at their root's time, in order (faults are
            // choices only with `[faults]`, where every step is a message).
            Step::Deliver(i)
            | Step::Duplicate(i)
            | Step::Drop(i)
            | Step::Fail(i)
            | Step::Panic(i)
            | Step::Restart(i) => {
                take(&mut pending, i);
            }
        }
        // Every action applied counts one occurrence of its identity, as the simulator
        // counts them; the one a `Fail`, `FailRoot` or `FailAnswer` step failed is the
        // first.
        let mut failed = !matches!(
            step,
            Step::Fail(_) | Step::FailRoot(_) | Step::FailAnswer(..)
        );
        for record in &records {
            if let crate::core::Record::Dispatch {
                entity_type,
                id,
                action,
                ..
            } = record
            {
                let on = FaultTarget::Action {
                    target: format!("{entity_type}/{id}"),
                    action: action.clone(),
                };
                let n = seen.entry(on.key()).or_insert(0);
                *n += 1;
                if !failed {
                    failed = true;
                    out.faults.push(ScheduledFault {
                        kind: FaultKind::ActionFailure,
                        on,
                        nth: *n,
                        delay_ms: 0,
                    });
                }
            }
        }
        for m in created {
            if let Message::Answer { call, .. } = &m {
                calls.push(Call {
                    message: m.clone(),
                    answer: None,
                });
                pending.push(Tracked {
                    on: None,
                    nth: *call,
                    born_ms: now,
                    call: Some(calls.len() - 1),
                    message: m,
                });
                continue;
            }
            let on = m.identity(&model.handlers);
            let n = seen.entry(on.key()).or_insert(0);
            *n += 1;
            // Following a schedule: what it drops never becomes pending, what it
            // duplicates is pending twice (its entries are kept, see below).
            let (lost, twice) = if following {
                model.scheduled_fate(&mut scheduled, &m)
            } else {
                (false, false)
            };
            if lost {
                continue;
            }
            if twice {
                pending.push(Tracked {
                    message: m.as_copy(),
                    on: Some(on.clone()),
                    nth: *n,
                    born_ms: now,
                    call: None,
                });
            }
            pending.push(Tracked {
                message: m,
                on: Some(on),
                nth: *n,
                born_ms: now,
                call: None,
            });
        }
    }
    // What the path left undone happens after it, in order.
    let mut last = last_ms.unwrap_or(0);
    if let Some((state, _)) = path.last() {
        let mut left: Vec<u32> = model.roots_left(state).collect();
        left.sort_unstable();
        for r in left {
            let at = model.scenario.events[r as usize].at.ms().max(last + 1);
            out.roots_ms.insert(r, at);
            last = at;
        }
    }
    for t in pending {
        last += 1;
        if let (Message::Answer { .. }, Some(c)) = (&t.message, t.call) {
            // A call still waiting is answered after the path, so that every call's answer
            // (and so every answer's count) is the path's.
            let k = pin_answer(model, &calls[c].message);
            calls[c].answer = Some(k);
            out.answers
                .push(pinned(&t, k, Some(last.saturating_sub(t.born_ms))));
            continue;
        }
        if !messages {
            continue;
        }
        push_arrival(
            &mut out,
            &mut answer_faults,
            &t,
            last.saturating_sub(t.born_ms),
        );
    }
    // An answer's occurrence is counted at its call, among the calls of its integration
    // on its entity that got the same answer.
    for (f, c) in answer_faults {
        let Some(k) = calls[c].answer else { continue };
        let on = calls[c].message.answer_identity(k);
        let nth = calls[..=c]
            .iter()
            .filter(|x| x.answer.is_some_and(|a| x.message.answer_identity(a) == on))
            .count();
        out.faults[f].nth = nth as u32;
    }
    if following {
        // The schedule's drops, failures, crashes and restarts hit the same occurrences on
        // the path (the model counted them as a run does); its duplicates are written
        // above with the delay that places their copy, its delays are the path's.
        out.faults.extend(
            model
                .schedule
                .iter()
                .filter(|f| !matches!(f.kind, FaultKind::Delay | FaultKind::Duplicate))
                .cloned(),
        );
    }
    // Pins of the original that the path did not make (calls after it) still hold.
    for p in &model.scenario.answers {
        if !out
            .answers
            .iter()
            .any(|a| a.integration == p.integration && a.target == p.target && a.nth == p.nth)
        {
            out.answers.push(p.clone());
        }
    }
    // A duplicate entry stands for both deliveries: its original's delay entry must exist
    // too (it does, by construction), and entries are listed in the order of the path.
    out
}

/// The entry that makes tracked message `t` arrive `delay_ms` after its birth: a delay, or
/// for a copy the duplicate that places it (an answer's `nth` is resolved at the end).
fn push_arrival(
    out: &mut Schedule,
    answer_faults: &mut Vec<(usize, usize)>,
    t: &Tracked,
    delay_ms: u64,
) {
    let kind = if t.message.is_copy() {
        FaultKind::Duplicate
    } else {
        FaultKind::Delay
    };
    if let Some(c) = t.call {
        answer_faults.push((out.faults.len(), c));
    }
    out.faults.push(ScheduledFault {
        kind,
        on: t
            .on
            .clone()
            .expect("only a message with an identity arrives by a fault"),
        nth: t.nth,
        delay_ms,
    });
}

/// The answer a call the path did not answer is pinned to: its own pin, or else the first
/// answer a run could draw.
fn pin_answer(model: &CascadeModel, call: &Message) -> usize {
    model
        .answer_choices(call)
        .first()
        .map_or(0, |&k| k as usize)
}

/// The `[[answer]]` entry of call `t` answered with `k`.
fn pinned(t: &Tracked, k: usize, delay_ms: Option<u64>) -> PinnedAnswer {
    let Message::Answer {
        integration, id, ..
    } = &t.message
    else {
        unreachable!("only an integration call is pinned")
    };
    PinnedAnswer {
        integration: integration.name.clone(),
        target: format!("{}/{id}", integration.entity_type),
        nth: t.nth,
        answer: integration.answers[k].action.clone(),
        delay_ms,
    }
}

/// The scenario text for `schedule`: `original` (the file at `original_path`) without its
/// `[faults]` table, root times rewritten, rule files re-pointed from `out_path`'s folder,
/// `[[fault]]` entries appended. `Err` when the text does not have the expected shape.
pub fn scenario_text(
    original: &str,
    original_path: &Path,
    out_path: &Path,
    schedule: &Schedule,
    header: &str,
) -> Result<String, String> {
    let mut lines: Vec<String> = Vec::new();
    let mut in_faults = false;
    let mut event = None::<u32>;
    let mut events_seen = 0u32;
    let from_dir = original_path.parent().unwrap_or(Path::new("."));
    let to_dir = out_path.parent().unwrap_or(Path::new("."));
    for line in original.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            let header_name = trimmed.split('#').next().unwrap_or("").trim();
            // The schedule writes its own faults and every pin (the original's included).
            in_faults = matches!(header_name, "[faults]" | "[[fault]]" | "[[answer]]");
            if header_name == "[[event]]" {
                event = Some(events_seen);
                events_seen += 1;
            } else if !header_name.starts_with("[event") {
                event = None;
            }
        }
        if in_faults {
            continue;
        }
        if let Some(i) = event {
            if key_of(trimmed) == Some("at") {
                if let Some(ms) = schedule.roots_ms.get(&i) {
                    lines.push(format!("at = \"{}\"", format_duration_ms(*ms)));
                    continue;
                }
            }
        }
        if matches!(key_of(trimmed), Some("reactions" | "specs")) {
            lines.push(repoint(line, from_dir, to_dir));
            continue;
        }
        lines.push(line.to_string());
    }
    if (events_seen as usize) < schedule.roots_ms.len() {
        return Err(format!(
            "the scenario file has {events_seen} [[event]] tables, the path {} root events; write events as [[event]] tables",
            schedule.roots_ms.len()
        ));
    }
    let mut text = String::new();
    for l in header.lines() {
        // Names in the header may hold control characters, which no TOML comment takes.
        let l = crate::core::escape_controls(l);
        text.push_str(&format!("# {l}\n").replace("# \n", "#\n"));
    }
    text.push('\n');
    for l in lines {
        text.push_str(&l);
        text.push('\n');
    }
    if !schedule.faults.is_empty() {
        text.push_str("\n# The schedule: each message arrives at its step of the path.\n");
    }
    for f in &schedule.faults {
        text.push('\n');
        text.push_str(&fault_table(f));
    }
    if !schedule.answers.is_empty() {
        text.push_str("\n# The integration answers the path chose, call by call.\n");
    }
    for a in &schedule.answers {
        text.push('\n');
        text.push_str(&answer_table(a));
    }
    Ok(text)
}

fn key_of(trimmed: &str) -> Option<&str> {
    let (key, _) = trimmed.split_once('=')?;
    Some(key.trim())
}

/// A TOML basic string (JSON's escapes are valid TOML).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// Rewrites every quoted path on a `reactions = [...]` line to be relative to `to_dir`.
fn repoint(line: &str, from_dir: &Path, to_dir: &Path) -> String {
    let mut out = String::new();
    let mut rest = line;
    let Some(eq) = rest.find('=') else {
        return line.to_string();
    };
    out.push_str(&rest[..=eq]);
    rest = &rest[eq + 1..];
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let p = &after[..end];
        // `{ path = "...", engine = "runtime" }`: the engine is a word, not a path.
        if out.trim_end().ends_with("engine =") || out.trim_end().ends_with("engine=") {
            out.push_str(&quote(p));
        } else {
            let target = relative_path(to_dir, &from_dir.join(p));
            out.push_str(&quote(&target.to_string_lossy()));
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn relative_paths_climb_and_descend() {
        assert_eq!(
            relative_path(
                Path::new("/a/reports/check"),
                Path::new("/a/scenarios/reactions/shop.toml")
            ),
            PathBuf::from("../../scenarios/reactions/shop.toml")
        );
    }

    #[test]
    fn faults_table_is_removed_and_event_times_rewritten() {
        let text = "[scenario]\nname = \"x\"\n[faults]\ndelay = { p = 0.3, max = \"50ms\" }\nreorder = true\n\n[[event]]\nat = \"0ms\"\ntenant = \"t\"\n[[event]]\nat = \"5ms\"\n";
        let schedule = Schedule {
            roots_ms: BTreeMap::from([(0, 7), (1, 8)]),
            ..Default::default()
        };
        let out = scenario_text(
            text,
            Path::new("s.toml"),
            Path::new("o.toml"),
            &schedule,
            "h",
        )
        .unwrap();
        assert!(!out.contains("[faults]"), "{out}");
        assert!(!out.contains("reorder"), "{out}");
        assert!(out.contains("at = \"7ms\"\ntenant"), "{out}");
        assert!(out.contains("at = \"8ms\""), "{out}");
    }
}

//! Handlers in any language: the protocol half of a reflex that runs as a child process and
//! speaks JSON lines (`[[reflex]] command = ["python3", "handlers/flap.py"]`).
//!
//! This file is sans-IO, as the rest of the engine: it writes the lines Ripple sends (a
//! `hello` that (re)starts the handler, one `event` per delivery) and reads the lines the
//! handler answers, turning every answer into an outcome and the entity actions to dispatch.
//! How a line reaches a process and comes back (spawning it, pipes, the wall-clock guard,
//! the stderr tail) is an [`ExternalLink`], which the simulator provides
//! (`sim/process_handler.rs`). The protocol itself is documented in `docs/handlers.md`.
//!
//! Ripple owns time, ids and the seed: the handler is told the virtual time and the event's
//! id, and its outcome's `occurred_at` is the delivery's virtual time whatever it says.
//! Every failure is an `errored` outcome and the run goes on: a process that cannot start,
//! exits or is killed by the wall-clock guard, an answer that is not one (the process is
//! then restarted before the next delivery: its memory is lost, as when a worker dies), an
//! exception the handler raised, a handler that used more virtual time than its budget.
//!
//! What it does not do: run the process, or check that a handler is deterministic (the
//! `determinism` invariant does, by running each seed twice).

use crate::bus::{Envelope, Pattern};
use crate::core::{format_duration_ms, SimTime};
use crate::core::{EntityId, Object, Value};
use crate::core::{OutcomeKind, Severity};
use crate::engine::reflex::common::{errored_outcome, raised};
use crate::engine::reflex::{ActionRequest, HandlerOutput, Outcome, ReflexHandler};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// The protocol version Ripple speaks (sent in `hello`).
pub const PROTOCOL_VERSION: u32 = 1;
/// A handler's virtual-time budget per delivery, unless its `[[reflex]]` sets `timeout`.
pub const BUDGET_MS_DEFAULT: u64 = 1_000;
/// The wall-clock guard per exchange, unless its `[[reflex]]` sets `wall_timeout`.
pub const WALL_MS_DEFAULT: u64 = 10_000;
/// Most entity actions one answer may ask for.
pub const ACTIONS_PER_ANSWER_MAX: usize = 64;

/// A process handler as a scenario declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalSpec {
    pub id: String,
    pub pattern: Pattern,
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Where it runs (the scenario's directory, unless `dir` says otherwise); relative
    /// paths in `command` are relative to it.
    pub dir: PathBuf,
    /// Virtual time the handler may use per delivery.
    pub budget_ms: u64,
    /// Real time Ripple waits for an answer before it kills the process.
    pub wall_ms: u64,
}

impl ExternalSpec {
    /// The wall-clock guard on `hello`: at least [`WALL_MS_DEFAULT`], since it may include
    /// starting an interpreter on a loaded machine.
    pub fn hello_wall_ms(&self) -> u64 {
        self.wall_ms.max(WALL_MS_DEFAULT)
    }

    /// The command as a shell would show it, for messages.
    pub fn command_line(&self) -> String {
        self.command.join(" ")
    }
}

/// Why an exchange with the process failed. The process is gone (the link has already
/// ended it): the next exchange starts a new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFailure {
    /// What happened, as the rationale of the `errored` outcome says it.
    pub what: String,
    /// The last bytes the process wrote to stderr.
    pub stderr: String,
}

/// One line to the handler's process and one line back: the simulator's driver.
pub trait ExternalLink: Send {
    /// Sends `line` (a JSON object, no newline) and returns the process's answer line, or
    /// fails when none came within `wall_ms` of real time.
    fn call(&mut self, line: &str, wall_ms: u64) -> Result<String, LinkFailure>;
    /// Ends the process: whatever it held in memory is lost, and the next call starts a new
    /// one.
    fn restart(&mut self);
    /// The last bytes the process wrote to stderr (for an answer Ripple rejects).
    fn stderr_tail(&mut self) -> String;
}

/// A link with no process behind it: what a scenario's reflex spec builds on its own, to be
/// registered (its id, pattern and fingerprint) without running anything.
#[derive(Debug, Default)]
pub struct Detached;

impl ExternalLink for Detached {
    fn call(&mut self, _line: &str, _wall_ms: u64) -> Result<String, LinkFailure> {
        Err(LinkFailure {
            what: "process handlers run only under the simulator's process driver".into(),
            stderr: String::new(),
        })
    }
    fn restart(&mut self) {}
    fn stderr_tail(&mut self) -> String {
        String::new()
    }
}

/// A reflex handler in another process.
pub struct ExternalHandler {
    spec: Arc<ExternalSpec>,
    link: Box<dyn ExternalLink>,
    /// The process has been told who it is since it (re)started.
    greeted: bool,
    /// The number of the next line sent; an answer that echoes `seq` must echo this one's.
    seq: u64,
}

impl std::fmt::Debug for ExternalHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalHandler")
            .field("spec", &self.spec)
            .field("greeted", &self.greeted)
            .finish()
    }
}

impl ExternalHandler {
    pub fn new(spec: Arc<ExternalSpec>, link: Box<dyn ExternalLink>) -> ExternalHandler {
        ExternalHandler {
            spec,
            link,
            greeted: false,
            seq: 0,
        }
    }

    /// The `hello` line numbered `seq`: who the handler is, which protocol, the virtual
    /// epoch.
    pub fn hello_line(spec: &ExternalSpec, seq: u64) -> String {
        serde_json::to_string(&Hello {
            kind: "hello",
            seq,
            protocol: PROTOCOL_VERSION,
            id: &spec.id,
            pattern: spec.pattern.as_str(),
            epoch: SimTime::ZERO.iso8601(),
        })
        .expect("a hello serializes")
    }

    /// The `event` line numbered `seq` for one delivery.
    pub fn event_line(spec: &ExternalSpec, seq: u64, event: &Envelope, now: SimTime) -> String {
        serde_json::to_string(&EventLine {
            kind: "event",
            seq,
            event_id: event.id.0,
            tenant: event.tenant.as_str(),
            subject: event.subject.as_str(),
            payload: &event.payload,
            at_ms: now.ms(),
            at: now.iso8601(),
            depth: event.depth.0,
            budget_ms: spec.budget_ms,
        })
        .expect("an event serializes")
    }

    /// Greets the process when it has not been greeted since it (re)started; `Some` is the
    /// errored outcome to give instead of an answer, when the greeting failed.
    fn greet(&mut self, event: &Envelope, now: SimTime) -> Option<Outcome> {
        if self.greeted {
            return None;
        }
        let seq = self.next_seq();
        let hello = ExternalHandler::hello_line(&self.spec, seq);
        let answer = match self.link.call(&hello, self.spec.hello_wall_ms()) {
            Ok(answer) => answer,
            Err(f) => return Some(self.failed(event, now, f.what, &f.stderr)),
        };
        match check_ready(&answer, &self.spec.id, seq) {
            Ok(()) => {
                self.greeted = true;
                None
            }
            Err(what) => Some(self.rejected(event, now, what)),
        }
    }

    fn next_seq(&mut self) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        seq
    }

    /// An errored outcome for a failed exchange (the process is already gone).
    fn failed(&mut self, event: &Envelope, now: SimTime, what: String, stderr: &str) -> Outcome {
        self.greeted = false;
        errored_outcome(&self.spec.id, event, now, what, stderr)
    }

    /// An errored outcome for an answer Ripple cannot read: the process is out of step with
    /// the protocol, so it is restarted (its memory is lost).
    fn rejected(&mut self, event: &Envelope, now: SimTime, what: String) -> Outcome {
        let stderr = self.link.stderr_tail();
        self.link.restart();
        self.failed(event, now, what, &stderr)
    }
}

impl ReflexHandler for ExternalHandler {
    fn id(&self) -> &str {
        &self.spec.id
    }

    fn pattern(&self) -> &Pattern {
        &self.spec.pattern
    }

    fn fingerprint(&self) -> String {
        format!(
            "process:{}:{}:{}:{}:budget_ms={}:wall_ms={}",
            self.spec.id,
            self.spec.pattern.as_str(),
            serde_json::to_string(&self.spec.command).expect("strings serialize"),
            self.spec.dir.display(),
            self.spec.budget_ms,
            self.spec.wall_ms
        )
    }

    fn handle(&mut self, event: &Envelope, now: SimTime) -> Result<Option<HandlerOutput>, String> {
        let errored = |outcome| {
            Ok(Some(HandlerOutput {
                outcome,
                dispatch: Vec::new(),
            }))
        };
        if let Some(outcome) = self.greet(event, now) {
            return errored(outcome);
        }
        let seq = self.next_seq();
        let line = ExternalHandler::event_line(&self.spec, seq, event, now);
        let answer = match self.link.call(&line, self.spec.wall_ms) {
            Ok(answer) => answer,
            Err(f) => return errored(self.failed(event, now, f.what, &f.stderr)),
        };
        match read_answer(&answer, &self.spec, seq, event, now) {
            Ok(Answer::Output(output)) => Ok(output),
            Ok(Answer::Raised { kind, traceback }) => errored(errored_outcome(
                &self.spec.id,
                event,
                now,
                raised(&kind),
                &traceback,
            )),
            Ok(Answer::OverBudget { elapsed_ms }) => {
                let what = format!(
                    "handler used {} of virtual time, over its budget of {}",
                    format_duration_ms(elapsed_ms),
                    format_duration_ms(self.spec.budget_ms)
                );
                let stderr = self.link.stderr_tail();
                errored(errored_outcome(&self.spec.id, event, now, what, &stderr))
            }
            Err(what) => errored(self.rejected(event, now, what)),
        }
    }

    /// The process restarts: it is ended, and the next delivery starts a new one (greeted
    /// anew), so its memory is really lost.
    fn restart(&mut self) {
        self.link.restart();
        self.greeted = false;
    }
}

#[derive(Serialize)]
struct Hello<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: u64,
    protocol: u32,
    id: &'a str,
    pattern: &'a str,
    epoch: String,
}

#[derive(Serialize)]
struct EventLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: u64,
    event_id: u64,
    tenant: &'a str,
    subject: &'a str,
    payload: &'a Value,
    at_ms: u64,
    at: String,
    depth: u32,
    budget_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadyLine {
    #[serde(rename = "type")]
    kind: String,
    seq: Option<u64>,
    id: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pattern: Option<String>,
}

/// What the handler answered to an event.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerLine {
    #[serde(rename = "type")]
    kind: String,
    /// The request's `seq`, echoed (optional): an answer to another request is out of step.
    seq: Option<u64>,
    /// `type = "outcome"`: the outcome, or null for nothing to say.
    #[serde(default)]
    outcome: Option<OutcomeLine>,
    #[serde(default)]
    dispatch: Vec<ActionLine>,
    /// Virtual time the handler used (its own sleeps), in ms.
    #[serde(default)]
    elapsed_ms: u64,
    /// `type = "error"`: the exception's kind (`RuntimeError`) and its traceback.
    error: Option<String>,
    #[serde(default)]
    traceback: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeLine {
    handler: Option<String>,
    subject: Option<String>,
    #[serde(default)]
    target: Option<String>,
    severity: Severity,
    /// Accepted and ignored: Ripple owns time.
    #[serde(default)]
    #[allow(dead_code)]
    occurred_at: Option<Value>,
    #[serde(default)]
    payload: Option<Value>,
    #[serde(default = "logged")]
    outcome: OutcomeKind,
    #[serde(default)]
    rationale: String,
    #[serde(default)]
    diagnostic: Option<Value>,
}

fn logged() -> OutcomeKind {
    OutcomeKind::Logged
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionLine {
    entity_type: String,
    id: String,
    action: String,
    #[serde(default = "empty_object")]
    params: Value,
}

fn empty_object() -> Value {
    Value::Object(Object::new())
}

enum Answer {
    Output(Option<HandlerOutput>),
    Raised { kind: String, traceback: String },
    OverBudget { elapsed_ms: u64 },
}

/// The first `chars_max` characters of a line, for a message about it.
fn excerpt(line: &str) -> String {
    const CHARS_MAX: usize = 60;
    let mut out: String = line.chars().take(CHARS_MAX).collect();
    if line.chars().nth(CHARS_MAX).is_some() {
        out.push_str("...");
    }
    out
}

/// Checks a process's answer to the `hello` numbered `seq`: a `ready` line, naming `id` and
/// echoing `seq` if it names or echoes them.
pub fn check_ready(line: &str, id: &str, seq: u64) -> Result<(), String> {
    let ready: ReadyLine = serde_json::from_str(line).map_err(|e| {
        format!(
            "handler answered hello with {:?}, not a ready line: {e}",
            excerpt(line)
        )
    })?;
    if let Some(theirs) = ready.seq.filter(|s| *s != seq) {
        return Err(format!(
            "handler answered hello {seq} with the seq of line {theirs}: it is out of step"
        ));
    }
    if ready.kind != "ready" {
        return Err(format!(
            "handler answered hello with a {:?} line, not \"ready\"",
            ready.kind
        ));
    }
    match ready.id {
        Some(theirs) if theirs != id => Err(format!(
            "handler process says its id is {theirs:?}; the scenario names it {id:?}"
        )),
        _ => Ok(()),
    }
}

fn read_answer(
    line: &str,
    spec: &ExternalSpec,
    seq: u64,
    event: &Envelope,
    now: SimTime,
) -> Result<Answer, String> {
    let malformed = |why: String| format!("handler sent a malformed answer: {why}");
    let answer: AnswerLine =
        serde_json::from_str(line).map_err(|e| malformed(format!("{e} in {:?}", excerpt(line))))?;
    if let Some(theirs) = answer.seq.filter(|s| *s != seq) {
        return Err(malformed(format!(
            "it answers line {theirs}, not line {seq}: the handler is out of step"
        )));
    }
    match answer.kind.as_str() {
        "error" => {
            let kind = answer
                .error
                .filter(|k| !k.is_empty())
                .unwrap_or_else(|| "Exception".into());
            return Ok(Answer::Raised {
                kind,
                traceback: answer.traceback,
            });
        }
        "outcome" => {}
        other => {
            return Err(malformed(format!(
                "type {other:?}; an answer's type is \"outcome\" or \"error\""
            )))
        }
    }
    if answer.elapsed_ms > spec.budget_ms {
        return Ok(Answer::OverBudget {
            elapsed_ms: answer.elapsed_ms,
        });
    }
    if answer.dispatch.len() > ACTIONS_PER_ANSWER_MAX {
        return Err(malformed(format!(
            "{} actions to dispatch; at most {ACTIONS_PER_ANSWER_MAX}",
            answer.dispatch.len()
        )));
    }
    let mut dispatch = Vec::with_capacity(answer.dispatch.len());
    for a in answer.dispatch {
        if a.id.is_empty() || a.entity_type.is_empty() || a.action.is_empty() {
            return Err(malformed(
                "an action to dispatch needs a non-empty entity_type, id and action".into(),
            ));
        }
        dispatch.push(ActionRequest {
            entity_type: a.entity_type,
            id: EntityId(a.id),
            action: a.action,
            params: a.params,
        });
    }
    let Some(o) = answer.outcome else {
        if !dispatch.is_empty() {
            return Err(malformed("actions to dispatch without an outcome".into()));
        }
        return Ok(Answer::Output(None));
    };
    if let Some(handler) = &o.handler {
        if *handler != spec.id {
            return Err(malformed(format!(
                "its outcome names handler {handler:?}, not {:?}",
                spec.id
            )));
        }
    }
    let payload = match o.payload {
        None => Value::Object(Object::new()),
        Some(p @ Value::Object(_)) => p,
        Some(_) => return Err(malformed("an outcome's payload is an object".into())),
    };
    let diagnostic = match o.diagnostic {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(Value::Object(m)) if m.is_empty() => String::new(),
        Some(other) => other.to_string(),
    };
    Ok(Answer::Output(Some(HandlerOutput {
        outcome: Outcome {
            id: String::new(),
            handler: spec.id.clone(),
            subject: o
                .subject
                .unwrap_or_else(|| event.subject.as_str().to_string()),
            target: o.target,
            severity: o.severity,
            occurred_at: now,
            payload: Arc::new(payload),
            outcome: o.outcome,
            rationale: o.rationale,
            diagnostic,
        },
        dispatch,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::reflex::common::test_support::envelope;
    use serde_json::json;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    /// A link that answers from a script and records what it was sent.
    struct Scripted {
        answers: VecDeque<Result<String, LinkFailure>>,
        sent: Arc<Mutex<Vec<String>>>,
    }

    impl ExternalLink for Scripted {
        fn call(&mut self, line: &str, _wall_ms: u64) -> Result<String, LinkFailure> {
            self.sent.lock().unwrap().push(line.to_string());
            self.answers.pop_front().expect("an answer scripted")
        }
        fn restart(&mut self) {}
        fn stderr_tail(&mut self) -> String {
            "stderr tail".into()
        }
    }

    fn spec() -> Arc<ExternalSpec> {
        Arc::new(ExternalSpec {
            id: "flap".into(),
            pattern: Pattern::new("sensory.link_down.>").unwrap(),
            command: vec!["python3".into(), "flap.py".into()],
            dir: PathBuf::from("."),
            budget_ms: 500,
            wall_ms: 1_000,
        })
    }

    /// A handler over a scripted link, and what it sends.
    fn scripted(answers: Vec<Result<String, LinkFailure>>) -> (ExternalHandler, Sent) {
        let sent = Sent::default();
        let link = Scripted {
            answers: answers.into_iter().collect(),
            sent: Arc::clone(&sent.0),
        };
        (ExternalHandler::new(spec(), Box::new(link)), sent)
    }

    fn handler(answers: &[&str]) -> (ExternalHandler, Sent) {
        scripted(answers.iter().map(|a| Ok(a.to_string())).collect())
    }

    #[derive(Default)]
    struct Sent(Arc<Mutex<Vec<String>>>);

    impl Sent {
        fn lines(&self) -> Vec<Value> {
            let sent = self.0.lock().unwrap();
            sent.iter()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect()
        }
        fn types(&self) -> Vec<Value> {
            self.lines().iter().map(|l| l["type"].clone()).collect()
        }
    }

    fn event() -> Envelope {
        envelope(
            7,
            "sensory.link_down.snmp_trap.r1|Gi0/1",
            json!({"device": "r1", "target": "r1"}),
            120,
        )
    }

    const READY: &str = r#"{"type":"ready","id":"flap"}"#;

    #[test]
    fn the_first_delivery_greets_then_sends_the_event_with_time_tenant_and_id() {
        let (mut h, sent) = handler(&[
            READY,
            r#"{"type":"outcome","outcome":{"target":"r1","severity":"high","payload":{"n":1},"rationale":"flapping"},"dispatch":[{"entity_type":"Incident","id":"r1","action":"Open"}]}"#,
        ]);
        let out = h.handle(&event(), SimTime(120)).unwrap().unwrap();
        assert_eq!(out.outcome.handler, "flap");
        assert_eq!(out.outcome.subject, "sensory.link_down.snmp_trap.r1|Gi0/1");
        assert_eq!(out.outcome.target.as_deref(), Some("r1"));
        assert_eq!(
            (out.outcome.outcome, out.outcome.severity),
            (OutcomeKind::Logged, Severity::High)
        );
        assert_eq!(out.outcome.occurred_at, SimTime(120));
        assert_eq!(*out.outcome.payload, json!({"n": 1}));
        assert_eq!(out.dispatch.len(), 1);
        assert_eq!(out.dispatch[0].params, json!({}));
        let sent = sent.lines();
        assert_eq!(sent[0]["type"], "hello");
        assert_eq!(
            (sent[0]["seq"].clone(), sent[1]["seq"].clone()),
            (json!(0), json!(1))
        );
        assert_eq!(sent[0]["protocol"], PROTOCOL_VERSION);
        assert_eq!(sent[0]["id"], "flap");
        assert_eq!(sent[1]["type"], "event");
        assert_eq!(sent[1]["event_id"], 7);
        assert_eq!(sent[1]["tenant"], "t");
        assert_eq!(sent[1]["at_ms"], 120);
        assert_eq!(sent[1]["at"], "2026-01-01T00:00:00.120Z");
        assert_eq!(sent[1]["budget_ms"], 500);
        assert_eq!(sent[1]["payload"]["device"], "r1");
    }

    #[test]
    fn a_null_outcome_is_nothing_to_say() {
        let (mut h, _) = handler(&[READY, r#"{"type":"outcome","outcome":null}"#]);
        assert_eq!(h.handle(&event(), SimTime(0)).unwrap(), None);
    }

    #[test]
    fn a_raised_exception_is_errored_as_netcortex_writes_it() {
        let (mut h, _) = handler(&[
            READY,
            r#"{"type":"error","error":"RuntimeError","traceback":"Traceback...\nRuntimeError: simulated handler failure\n"}"#,
        ]);
        let o = h.handle(&event(), SimTime(0)).unwrap().unwrap().outcome;
        assert_eq!(
            (o.outcome, o.severity),
            (OutcomeKind::Errored, Severity::High)
        );
        assert_eq!(o.rationale, "handler raised RuntimeError");
        assert!(o.diagnostic.contains("simulated handler failure"));
        assert_eq!(o.target.as_deref(), Some("r1"), "from payload.target");
        assert_eq!(*o.payload, json!({}));
    }

    #[test]
    fn a_malformed_answer_is_errored_and_restarts_the_process() {
        for bad in [
            "not json",
            r#"{"type":"outcome","outcome":{"severity":"loud"}}"#,
            r#"{"type":"outcome","outcome":{"severity":"info","extra":1}}"#,
            r#"{"type":"outcome","outcome":{"severity":"info","handler":"other"}}"#,
            r#"{"type":"outcome","outcome":{"severity":"info","payload":[1]}}"#,
            r#"{"type":"what"}"#,
            r#"{"type":"outcome","outcome":null,"dispatch":[{"entity_type":"A","id":"1","action":"Go"}]}"#,
            r#"{"type":"outcome","seq":0,"outcome":null}"#,
        ] {
            let (mut h, sent) =
                handler(&[READY, bad, READY, r#"{"type":"outcome","outcome":null}"#]);
            let o = h.handle(&event(), SimTime(0)).unwrap().unwrap().outcome;
            assert_eq!(o.outcome, OutcomeKind::Errored, "{bad}");
            assert!(
                o.rationale.starts_with("handler sent a malformed answer"),
                "{}",
                o.rationale
            );
            assert_eq!(o.diagnostic, "stderr tail");
            // Restarted, so greeted anew before the next event.
            assert_eq!(h.handle(&event(), SimTime(1)).unwrap(), None, "{bad}");
            assert_eq!(
                sent.types(),
                [
                    json!("hello"),
                    json!("event"),
                    json!("hello"),
                    json!("event")
                ]
            );
        }
    }

    #[test]
    fn a_handler_over_its_virtual_budget_is_errored() {
        let (mut h, _) = handler(&[
            READY,
            r#"{"type":"outcome","outcome":null,"elapsed_ms":501}"#,
        ]);
        let o = h.handle(&event(), SimTime(0)).unwrap().unwrap().outcome;
        assert_eq!(o.outcome, OutcomeKind::Errored);
        assert_eq!(
            o.rationale,
            "handler used 501ms of virtual time, over its budget of 500ms"
        );
    }

    #[test]
    fn a_failed_exchange_is_errored_with_the_stderr_tail_and_the_next_one_greets_again() {
        let (mut h, sent) = scripted(vec![
            Ok(READY.to_string()),
            Err(LinkFailure {
                what: "handler process exited (exit status: 1)".into(),
                stderr: "Traceback: boom".into(),
            }),
            Ok(READY.to_string()),
            Ok(r#"{"type":"outcome","outcome":null}"#.to_string()),
        ]);
        let o = h.handle(&event(), SimTime(0)).unwrap().unwrap().outcome;
        assert_eq!(o.rationale, "handler process exited (exit status: 1)");
        assert_eq!(o.diagnostic, "Traceback: boom");
        assert_eq!(h.handle(&event(), SimTime(1)).unwrap(), None);
        assert_eq!(sent.types()[2], "hello");
    }

    #[test]
    fn a_ready_line_with_another_id_is_errored() {
        let (mut h, _) = handler(&[r#"{"type":"ready","id":"other"}"#]);
        let o = h.handle(&event(), SimTime(0)).unwrap().unwrap().outcome;
        assert!(
            o.rationale.contains("says its id is \"other\""),
            "{}",
            o.rationale
        );
    }

    #[test]
    fn restart_ends_the_process_and_greets_again() {
        let (mut h, sent) = handler(&[
            READY,
            r#"{"type":"outcome","outcome":null}"#,
            READY,
            r#"{"type":"outcome","outcome":null}"#,
        ]);
        h.handle(&event(), SimTime(0)).unwrap();
        h.restart();
        h.handle(&event(), SimTime(1)).unwrap();
        assert_eq!(
            sent.types(),
            [
                json!("hello"),
                json!("event"),
                json!("hello"),
                json!("event")
            ]
        );
    }

    #[test]
    fn a_detached_handler_registers_but_cannot_run() {
        let mut h = ExternalHandler::new(spec(), Box::new(Detached));
        assert_eq!(h.id(), "flap");
        assert!(h
            .fingerprint()
            .starts_with("process:flap:sensory.link_down.>:"));
        let o = h.handle(&event(), SimTime(0)).unwrap().unwrap().outcome;
        assert_eq!(o.outcome, OutcomeKind::Errored);
    }
}

//! The reflex registry: handlers by id, in registration order, each called in isolation.
//!
//! A handler that returns `Err` or panics (or whose crash the fault injector simulates)
//! yields an `errored`/`high` outcome as netcortex's runner builds one (`handler raised
//! <Kind>`, the target from the payload's `target` key, an empty payload, the tail of the
//! message as its diagnostic), and the registry and every other handler go on. The registry
//! also gives each outcome its stable id and enforces the rationale and diagnostic limits,
//! whatever the handler put there.
//!
//! It does not route events: which handler sees which event is the bus's business (each
//! handler's `pattern` is its subscription). Nor does it restart a handler after a panic;
//! restarts are a separate fault (`reflex_restart`) that the simulator decides on. Isolation
//! relies on unwinding: built with `panic = "abort"`, a panicking handler ends the process.

use crate::bus::Envelope;
use crate::core::SimTime;
use crate::engine::reflex::common::{
    errored_outcome, exception_name, raised, tail_bytes, truncate_chars_in_place,
};
use crate::engine::reflex::{
    HandlerOutput, ReflexHandler, DIAGNOSTIC_BYTES_MAX, RATIONALE_CHARS_MAX,
};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;
use xxhash_rust::xxh3::xxh3_64;

/// Most handlers one registry holds: a budget, far above what a scenario declares.
pub const HANDLERS_MAX: usize = 4096;

/// A handler's position in its registry (registration order, from 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HandlerIndex(pub u32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("failed to register reflex handler `{id}`: the id is taken by a different handler")]
    IdTaken { id: String },
    #[error("failed to register reflex handler `{id}`: the registry is full ({max} handlers)")]
    Full { id: String, max: usize },
}

/// Reflex handlers by id, in registration order.
#[derive(Default)]
pub struct ReflexRegistry {
    handlers: Vec<Box<dyn ReflexHandler>>,
    by_id: BTreeMap<String, HandlerIndex>,
    /// Each handler's answer buffer for [`ReflexRegistry::handle_reusing`] (`None` until it
    /// answers).
    outputs: Vec<Option<Kept>>,
}

/// An answer kept for the next one to be written over.
#[derive(Debug)]
struct Kept {
    output: HandlerOutput,
    /// `output` is the handler's own last complete answer, which is all
    /// [`ReflexHandler::handle_into`] may be handed: not the errored answer the registry
    /// wrote after a failure, nor what a call that answered nothing left behind.
    own: bool,
}

impl std::fmt::Debug for ReflexRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReflexRegistry")
            .field("ids", &self.ids().collect::<Vec<_>>())
            .finish()
    }
}

impl ReflexRegistry {
    pub fn new() -> ReflexRegistry {
        ReflexRegistry::default()
    }

    /// Adds a handler. Registering a handler whose id is taken is a no-op returning the
    /// existing index when the fingerprints are equal (the same handler declared twice), and
    /// an error otherwise.
    pub fn register(
        &mut self,
        handler: Box<dyn ReflexHandler>,
    ) -> Result<HandlerIndex, RegistryError> {
        let id = handler.id().to_string();
        if let Some(&existing) = self.by_id.get(&id) {
            if self.handler(existing).fingerprint() == handler.fingerprint() {
                return Ok(existing);
            }
            return Err(RegistryError::IdTaken { id });
        }
        if self.handlers.len() >= HANDLERS_MAX {
            return Err(RegistryError::Full {
                id,
                max: HANDLERS_MAX,
            });
        }
        let index =
            HandlerIndex(u32::try_from(self.handlers.len()).expect("bounded by HANDLERS_MAX"));
        self.handlers.push(handler);
        self.outputs.push(None);
        self.by_id.insert(id, index);
        assert_eq!(self.handlers.len(), self.by_id.len());
        assert_eq!(self.handlers.len(), self.outputs.len());
        Ok(index)
    }

    pub fn handler(&self, i: HandlerIndex) -> &dyn ReflexHandler {
        self.handlers[self.slot(i)].as_ref()
    }

    pub fn index_of(&self, id: &str) -> Option<HandlerIndex> {
        self.by_id.get(id).copied()
    }

    pub fn len(&self) -> usize {
        self.handlers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty()
    }

    /// Handler ids in registration order.
    pub fn ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.handlers.iter().map(|h| h.id())
    }

    /// Indices in registration order.
    pub fn indices(&self) -> impl Iterator<Item = HandlerIndex> {
        (0..self.handlers.len() as u32).map(HandlerIndex)
    }

    /// Lets handler `i` handle `event` at `now`, isolated from the others. With
    /// `inject_panic`, the handler is not called and its crash is simulated instead.
    ///
    /// Returns `None` when the handler had nothing to say; otherwise an outcome with its id
    /// filled in and its rationale and diagnostic within their limits.
    pub fn handle(
        &mut self,
        i: HandlerIndex,
        event: &Envelope,
        now: SimTime,
        inject_panic: bool,
    ) -> Option<HandlerOutput> {
        let slot = self.slot(i);
        let handler = &mut self.handlers[slot];
        let result = if inject_panic {
            Err(Failure::Injected)
        } else {
            isolated(|| handler.handle(event, now))
        };
        let mut output = match result {
            Ok(None) => return None,
            Ok(Some(output)) => output,
            Err(failure) => errored_output(handler.id(), event, now, &failure),
        };
        finish(handler.id(), event, now, &mut output);
        Some(output)
    }

    /// [`ReflexRegistry::handle`], answered in a buffer the registry keeps per handler: the
    /// handler writes over its previous answer ([`ReflexHandler::handle_into`]), so a caller
    /// that only reads the answer (the simulator) does not allocate and free its strings at
    /// every event. The answer is the one `handle` gives, field for field.
    pub fn handle_reusing(
        &mut self,
        i: HandlerIndex,
        event: &Envelope,
        now: SimTime,
        inject_panic: bool,
    ) -> Option<&HandlerOutput> {
        let slot = self.slot(i);
        let handler = &mut self.handlers[slot];
        let kept = &mut self.outputs[slot];
        let result = match kept {
            _ if inject_panic => Err(Failure::Injected),
            Some(Kept { output, own: true }) => {
                isolated(|| handler.handle_into(event, now, output))
            }
            // A first answer, or one after a failure or a silence, is a new one, which
            // becomes the buffer.
            _ => isolated(|| handler.handle(event, now)).map(|output| match output {
                Some(output) => {
                    *kept = Some(Kept { output, own: true });
                    true
                }
                None => false,
            }),
        };
        match result {
            Ok(true) => {}
            Ok(false) => {
                // `handle_into` leaves its buffer unspecified when it answers nothing.
                if let Some(k) = kept {
                    k.own = false;
                }
                return None;
            }
            Err(failure) => {
                *kept = Some(Kept {
                    output: errored_output(handler.id(), event, now, &failure),
                    own: false,
                });
            }
        }
        let output = &mut kept.as_mut().expect("an answer was just written").output;
        finish(handler.id(), event, now, output);
        Some(output)
    }

    /// Handler `i`'s process restarted: it forgets its memory (dedup windows).
    pub fn restart(&mut self, i: HandlerIndex) {
        let slot = self.slot(i);
        self.handlers[slot].restart();
    }

    pub fn restart_all(&mut self) {
        for handler in &mut self.handlers {
            handler.restart();
        }
    }

    fn slot(&self, i: HandlerIndex) -> usize {
        let slot = i.0 as usize;
        assert!(
            slot < self.handlers.len(),
            "handler index {} out of range: the registry holds {} handlers",
            i.0,
            self.handlers.len()
        );
        slot
    }
}

/// Why a handler produced no regular output.
enum Failure {
    Error(String),
    Panic(String),
    Injected,
}

thread_local! {
    /// Set while a handler runs, so that the panic hook keeps a handler's panic quiet: it is
    /// reported as an `errored` outcome, and a sweep injecting thousands of them must not
    /// flood stderr.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

static QUIET_HOOK: Once = Once::new();

/// Installs, once per process, a panic hook that is silent inside handlers and otherwise
/// defers to the hook that was there before (so harness bugs still print as usual).
fn install_quiet_hook() {
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !IN_HANDLER.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Resets `IN_HANDLER` to its previous value when dropped, also while unwinding.
struct InHandlerGuard {
    previous: bool,
}

impl InHandlerGuard {
    fn enter() -> InHandlerGuard {
        InHandlerGuard {
            previous: IN_HANDLER.with(|flag| flag.replace(true)),
        }
    }
}

impl Drop for InHandlerGuard {
    fn drop(&mut self) {
        IN_HANDLER.with(|flag| flag.set(self.previous));
    }
}

/// Runs `call` (a handler's) with its panics caught and kept quiet.
fn isolated<T>(call: impl FnOnce() -> Result<T, String>) -> Result<T, Failure> {
    install_quiet_hook();
    let guard = InHandlerGuard::enter();
    // `AssertUnwindSafe`: after a panic the handler's own state (and the answer it was
    // writing) may be half-updated, which is what a crashed-and-continuing handler process
    // looks like; the registry overwrites the answer with the errored one.
    let result = panic::catch_unwind(AssertUnwindSafe(call));
    drop(guard);
    match result {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(message)) => Err(Failure::Error(message)),
        Err(payload) => Err(Failure::Panic(panic_message(payload.as_ref()))),
    }
}

/// What the registry does to every answer, whichever handler gave it: the outcome's id, and
/// the rationale and diagnostic within their limits.
fn finish(handler: &str, event: &Envelope, now: SimTime, output: &mut HandlerOutput) {
    let outcome = &mut output.outcome;
    outcome_id_into(handler, event, now, &mut outcome.id);
    truncate_chars_in_place(&mut outcome.rationale, RATIONALE_CHARS_MAX);
    if outcome.diagnostic.len() > DIAGNOSTIC_BYTES_MAX {
        outcome.diagnostic = tail_bytes(&outcome.diagnostic, DIAGNOSTIC_BYTES_MAX).to_string();
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

fn errored_output(
    handler: &str,
    event: &Envelope,
    now: SimTime,
    failure: &Failure,
) -> HandlerOutput {
    // As netcortex's runner: `handler raised <Kind>`, the target from the payload's
    // `target`, an empty payload, the tail of the message.
    let (kind, diagnostic) = match failure {
        Failure::Error(message) => (exception_name(message), message.as_str()),
        Failure::Panic(message) => ("Panic", message.as_str()),
        Failure::Injected => (
            "InjectedPanic",
            "injected handler panic (faults.handler_panic)",
        ),
    };
    HandlerOutput {
        outcome: errored_outcome(handler, event, now, raised(kind), diagnostic),
        dispatch: Vec::new(),
    }
}

/// The outcome's id, as a new string.
#[cfg(test)]
fn outcome_id(handler: &str, event: &Envelope, now: SimTime) -> String {
    let mut id = String::new();
    outcome_id_into(handler, event, now, &mut id);
    id
}

/// A stable id, written over `out`: xxh3 of the handler id, event id, subject and virtual
/// time (the outcome's `occurred_at`), each length-prefixed so that no two different tuples
/// encode alike. 16 lowercase hex digits. Computed from what the registry knows, not from
/// the fields a handler filled in, so a handler cannot make two outcomes collide.
fn outcome_id_into(handler: &str, event: &Envelope, now: SimTime, out: &mut String) {
    let subject = event.subject.as_str();
    let parts = [
        handler.as_bytes(),
        &event.id.0.to_le_bytes(),
        subject.as_bytes(),
        &now.ms().to_le_bytes(),
    ];
    let len: usize = parts.iter().map(|p| 8 + p.len()).sum();
    let fill = |out: &mut [u8]| {
        let mut at = 0;
        for part in parts {
            out[at..at + 8].copy_from_slice(&(part.len() as u64).to_le_bytes());
            out[at + 8..at + 8 + part.len()].copy_from_slice(part);
            at += 8 + part.len();
        }
    };
    // Every outcome gets one: hashed from the stack when it fits, and written out as hex
    // without the formatting machinery.
    const ON_STACK: usize = 256;
    let hash = if len <= ON_STACK {
        let mut bytes = [0u8; ON_STACK];
        fill(&mut bytes[..len]);
        xxh3_64(&bytes[..len])
    } else {
        let mut bytes = vec![0u8; len];
        fill(&mut bytes);
        xxh3_64(&bytes)
    };
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    for (i, digit) in digits.iter_mut().enumerate() {
        *digit = HEX[((hash >> (60 - 4 * i)) & 0xf) as usize];
    }
    out.clear();
    out.push_str(std::str::from_utf8(&digits).expect("hex digits are ASCII"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Pattern;
    use crate::core::{OutcomeKind, Severity};
    use crate::engine::reflex::common::test_support::envelope;
    use crate::engine::reflex::{new_outcome, LinkDownHandler, SecurityAlertHandler};
    use serde_json::json;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    /// A handler scripted to answer, fail or panic.
    struct Scripted {
        id: String,
        pattern: Pattern,
        behaviour: Behaviour,
        calls: Arc<AtomicU32>,
    }

    #[derive(Clone)]
    enum Behaviour {
        Answer,
        Silent,
        Fail(String),
        Panic(String),
    }

    fn scripted(id: &str, behaviour: Behaviour) -> Box<Scripted> {
        Box::new(Scripted {
            id: id.into(),
            pattern: Pattern::new("sensory.>").unwrap(),
            behaviour,
            calls: Arc::new(AtomicU32::new(0)),
        })
    }

    impl ReflexHandler for Scripted {
        fn id(&self) -> &str {
            &self.id
        }
        fn pattern(&self) -> &Pattern {
            &self.pattern
        }
        fn fingerprint(&self) -> String {
            format!("scripted:{}", self.id)
        }
        fn handle(
            &mut self,
            event: &Envelope,
            now: SimTime,
        ) -> Result<Option<HandlerOutput>, String> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            match &self.behaviour {
                Behaviour::Answer => Ok(Some(HandlerOutput {
                    outcome: new_outcome(
                        &self.id,
                        event,
                        now,
                        OutcomeKind::Logged,
                        Severity::Warn,
                        None,
                        "answered",
                    ),
                    dispatch: Vec::new(),
                })),
                Behaviour::Silent => Ok(None),
                Behaviour::Fail(message) => Err(message.clone()),
                Behaviour::Panic(message) => panic!("{message}"),
            }
        }
    }

    fn event(id: u64) -> Envelope {
        envelope(
            id,
            "sensory.link_down.snmp_poll.r1|Gi0/1",
            json!({"device": "r1", "interface": "Gi0/1"}),
            0,
        )
    }

    #[test]
    fn new_ids_are_added_in_registration_order() {
        let mut r = ReflexRegistry::new();
        assert_eq!(
            r.register(Box::new(LinkDownHandler::new())),
            Ok(HandlerIndex(0))
        );
        assert_eq!(
            r.register(Box::new(SecurityAlertHandler::new())),
            Ok(HandlerIndex(1))
        );
        assert_eq!(r.ids().collect::<Vec<_>>(), ["link_down", "security_alert"]);
        assert_eq!(r.len(), 2);
        assert_eq!(r.index_of("security_alert"), Some(HandlerIndex(1)));
        assert_eq!(r.handler(HandlerIndex(1)).id(), "security_alert");
    }

    #[test]
    fn registering_the_same_handler_twice_is_a_no_op() {
        let mut r = ReflexRegistry::new();
        let first = r.register(Box::new(LinkDownHandler::new())).unwrap();
        let second = r.register(Box::new(LinkDownHandler::new())).unwrap();
        assert_eq!(first, second);
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn a_different_handler_under_a_taken_id_is_an_error() {
        let mut r = ReflexRegistry::new();
        r.register(Box::new(LinkDownHandler::new())).unwrap();
        let err = r
            .register(scripted("link_down", Behaviour::Answer))
            .unwrap_err();
        assert_eq!(
            err,
            RegistryError::IdTaken {
                id: "link_down".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "failed to register reflex handler `link_down`: the id is taken by a different handler"
        );
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn silent_handler_yields_no_outcome() {
        let mut r = ReflexRegistry::new();
        let i = r.register(scripted("quiet", Behaviour::Silent)).unwrap();
        assert_eq!(r.handle(i, &event(0), SimTime(0), false), None);
    }

    #[test]
    fn panicking_handler_is_errored_high_and_the_next_handler_still_runs() {
        let mut r = ReflexRegistry::new();
        let bad = r
            .register(scripted(
                "bad",
                Behaviour::Panic("index out of bounds: 9".into()),
            ))
            .unwrap();
        let good = r.register(scripted("good", Behaviour::Answer)).unwrap();
        let e = event(0);
        let failed = r.handle(bad, &e, SimTime(5), false).unwrap();
        assert_eq!(failed.outcome.outcome, OutcomeKind::Errored);
        assert_eq!(failed.outcome.severity, Severity::High);
        assert_eq!(failed.outcome.handler, "bad");
        assert!(
            failed.outcome.diagnostic.contains("index out of bounds: 9"),
            "{}",
            failed.outcome.diagnostic
        );
        assert!(
            failed.outcome.rationale == "handler raised Panic",
            "{}",
            failed.outcome.rationale
        );
        assert!(failed.dispatch.is_empty());
        assert_eq!(*failed.outcome.payload, json!({}));
        let ok = r.handle(good, &e, SimTime(5), false).unwrap();
        assert_eq!(ok.outcome.outcome, OutcomeKind::Logged);
        // The panicking handler stays registered and is called again next time.
        let again = r.handle(bad, &event(1), SimTime(6), false).unwrap();
        assert_eq!(again.outcome.outcome, OutcomeKind::Errored);
        assert!(
            !IN_HANDLER.with(Cell::get),
            "the flag is reset after a panic"
        );
    }

    #[test]
    fn returned_error_becomes_an_errored_outcome() {
        let mut r = ReflexRegistry::new();
        let i = r
            .register(scripted("bad", Behaviour::Fail("no route to r1".into())))
            .unwrap();
        let o = r.handle(i, &event(0), SimTime(0), false).unwrap().outcome;
        assert_eq!(
            (o.outcome, o.severity),
            (OutcomeKind::Errored, Severity::High)
        );
        assert_eq!(o.diagnostic, "no route to r1");
        assert!(o.rationale.chars().count() < 200);
    }

    #[test]
    fn injected_panic_does_not_call_the_handler() {
        let mut r = ReflexRegistry::new();
        let handler = scripted("h", Behaviour::Answer);
        let calls = Arc::clone(&handler.calls);
        let i = r.register(handler).unwrap();
        let o = r.handle(i, &event(0), SimTime(0), true).unwrap().outcome;
        assert_eq!(
            (o.outcome, o.severity),
            (OutcomeKind::Errored, Severity::High)
        );
        assert!(o.diagnostic.contains("injected"), "{}", o.diagnostic);
        assert_eq!(calls.load(Ordering::Relaxed), 0);
        r.handle(i, &event(1), SimTime(0), false);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn long_error_keeps_only_the_last_4096_bytes() {
        let message = format!("{}END", "x".repeat(10 * 1024));
        let mut r = ReflexRegistry::new();
        let i = r
            .register(scripted("bad", Behaviour::Fail(message.clone())))
            .unwrap();
        let o = r.handle(i, &event(0), SimTime(0), false).unwrap().outcome;
        assert_eq!(o.diagnostic.len(), DIAGNOSTIC_BYTES_MAX);
        assert!(o.diagnostic.ends_with("END"));
        assert!(message.ends_with(&o.diagnostic));
    }

    #[test]
    fn outcome_ids_are_stable_and_differ_by_event_id() {
        let mut r = ReflexRegistry::new();
        let i = r.register(scripted("h", Behaviour::Answer)).unwrap();
        let a = r
            .handle(i, &event(0), SimTime(0), false)
            .unwrap()
            .outcome
            .id;
        let b = r
            .handle(i, &event(0), SimTime(0), false)
            .unwrap()
            .outcome
            .id;
        let c = r
            .handle(i, &event(1), SimTime(0), false)
            .unwrap()
            .outcome
            .id;
        let d = r
            .handle(i, &event(0), SimTime(1), false)
            .unwrap()
            .outcome
            .id;
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
    }

    #[test]
    fn outcome_ids_hash_every_part_short_or_long() {
        // The definition: xxh3-64 of the length-prefixed parts, as 16 lowercase hex digits.
        let reference = |handler: &str, e: &Envelope, now: SimTime| {
            let mut bytes = Vec::new();
            for part in [
                handler.as_bytes(),
                &e.id.0.to_le_bytes(),
                e.subject.as_str().as_bytes(),
                &now.ms().to_le_bytes(),
            ] {
                bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
                bytes.extend_from_slice(part);
            }
            format!("{:016x}", xxh3_64(&bytes))
        };
        for token_len in [1, 10, 150, 200, 220, 300] {
            let subject = format!("sensory.link_down.snmp.{}", "x".repeat(token_len));
            let e = envelope(7, &subject, json!({}), 0);
            for handler in ["h", "link_down", &"y".repeat(40)] {
                assert_eq!(
                    outcome_id(handler, &e, SimTime(123_456)),
                    reference(handler, &e, SimTime(123_456)),
                    "{handler} {subject}"
                );
            }
        }
    }

    #[test]
    fn outcome_ids_do_not_depend_on_the_process() {
        // Pinned: a change here changes every trace hash that carries an outcome.
        assert_eq!(
            outcome_id("link_down", &event(0), SimTime(0)),
            "51a143d0bdf70f52"
        );
    }

    #[test]
    fn handle_reusing_answers_as_handle_does() {
        use crate::engine::reflex::{DeclarativeReflex, ThenTemplate};
        let make = || {
            let mut r = ReflexRegistry::new();
            r.register(Box::new(LinkDownHandler::new())).unwrap();
            r.register(scripted("answer", Behaviour::Answer)).unwrap();
            r.register(scripted("quiet", Behaviour::Silent)).unwrap();
            r.register(scripted("fail", Behaviour::Fail("no route".into())))
                .unwrap();
            r.register(scripted("panic", Behaviour::Panic("oops".into())))
                .unwrap();
            r.register(Box::new(DeclarativeReflex::new(
                "declared".into(),
                Pattern::new("sensory.>").unwrap(),
                Severity::Warn,
                Some(ThenTemplate {
                    entity_type: "Interface".into(),
                    action: "MarkDown".into(),
                    id: "{payload.device}".into(),
                    params: json!({"at": "{token.2}"}),
                }),
            )))
            .unwrap();
            r
        };
        let (mut fresh, mut reusing) = (make(), make());
        for step in 0..40u64 {
            for i in fresh.indices().collect::<Vec<_>>() {
                // Injected crashes now and then, so that a buffer holds an errored answer.
                let inject = (step + u64::from(i.0)) % 7 == 0;
                let e = event(step % 3);
                let now = SimTime(step * 20_000);
                let expected = fresh.handle(i, &e, now, inject);
                let got = reusing.handle_reusing(i, &e, now, inject).cloned();
                assert_eq!(got, expected, "step {step} handler {}", i.0);
            }
        }
    }

    /// Silent on every third event, the same answer otherwise; its `handle_into` trusts that
    /// `out` is its own last answer and writes only what changes from event to event.
    struct Lazy(Pattern);

    impl ReflexHandler for Lazy {
        fn id(&self) -> &str {
            "lazy"
        }
        fn pattern(&self) -> &Pattern {
            &self.0
        }
        fn fingerprint(&self) -> String {
            "lazy".into()
        }
        fn handle(
            &mut self,
            event: &Envelope,
            now: SimTime,
        ) -> Result<Option<HandlerOutput>, String> {
            if event.id.0.is_multiple_of(3) {
                return Ok(None);
            }
            let outcome = new_outcome(
                "lazy",
                event,
                now,
                OutcomeKind::Logged,
                Severity::Warn,
                None,
                "answered",
            );
            Ok(Some(HandlerOutput {
                outcome,
                dispatch: Vec::new(),
            }))
        }
        fn handle_into(
            &mut self,
            event: &Envelope,
            now: SimTime,
            out: &mut HandlerOutput,
        ) -> Result<bool, String> {
            let Some(fresh) = self.handle(event, now)? else {
                return Ok(false);
            };
            // Kind, severity, rationale, diagnostic and dispatch never change: left alone.
            let o = &mut out.outcome;
            o.handler = fresh.outcome.handler;
            o.subject = fresh.outcome.subject;
            o.occurred_at = fresh.outcome.occurred_at;
            o.payload = fresh.outcome.payload;
            Ok(true)
        }
    }

    /// The registry hands `handle_into` only the handler's own last complete answer: after
    /// a silence, an error or an injected crash, the next answer is a new one, so a handler
    /// that leaves its constant fields alone still answers as `handle` does.
    #[test]
    fn handle_into_is_only_handed_the_handlers_own_last_answer() {
        let make = || {
            let mut r = ReflexRegistry::new();
            let i = r
                .register(Box::new(Lazy(Pattern::new("sensory.>").unwrap())))
                .unwrap();
            (r, i)
        };
        let ((mut fresh, i), (mut reusing, _)) = (make(), make());
        for step in 0..60u64 {
            let inject = step % 5 == 2;
            let (e, now) = (event(step), SimTime(step * 1_000));
            let expected = fresh.handle(i, &e, now, inject);
            let got = reusing.handle_reusing(i, &e, now, inject).cloned();
            assert_eq!(got, expected, "step {step}");
        }
    }

    #[test]
    fn restart_forgets_the_handlers_memory() {
        let mut r = ReflexRegistry::new();
        let i = r.register(Box::new(LinkDownHandler::new())).unwrap();
        let first = r.handle(i, &event(0), SimTime(0), false).unwrap().outcome;
        assert_eq!(first.outcome, OutcomeKind::Logged);
        let dup = r.handle(i, &event(1), SimTime(1), false).unwrap().outcome;
        assert_eq!(dup.outcome, OutcomeKind::Skipped);
        r.restart(i);
        let after = r.handle(i, &event(2), SimTime(2), false).unwrap().outcome;
        assert_eq!(after.outcome, OutcomeKind::Logged);
        r.handle(i, &event(3), SimTime(3), false);
        r.restart_all();
        let after_all = r.handle(i, &event(4), SimTime(4), false).unwrap().outcome;
        assert_eq!(after_all.outcome, OutcomeKind::Logged);
    }

    #[test]
    fn rationale_is_capped_whatever_the_handler_wrote() {
        struct Wordy(Pattern);
        impl ReflexHandler for Wordy {
            fn id(&self) -> &str {
                "wordy"
            }
            fn pattern(&self) -> &Pattern {
                &self.0
            }
            fn fingerprint(&self) -> String {
                "wordy".into()
            }
            fn handle(
                &mut self,
                event: &Envelope,
                now: SimTime,
            ) -> Result<Option<HandlerOutput>, String> {
                let mut outcome = new_outcome(
                    "wordy",
                    event,
                    now,
                    OutcomeKind::Logged,
                    Severity::Info,
                    None,
                    "",
                );
                outcome.rationale = "é".repeat(500);
                Ok(Some(HandlerOutput {
                    outcome,
                    dispatch: Vec::new(),
                }))
            }
        }
        let mut r = ReflexRegistry::new();
        let i = r
            .register(Box::new(Wordy(Pattern::new(">").unwrap())))
            .unwrap();
        let o = r.handle(i, &event(0), SimTime(0), false).unwrap().outcome;
        assert_eq!(o.rationale.chars().count(), RATIONALE_CHARS_MAX);
    }
}

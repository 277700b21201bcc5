//! The shape the three first-party handlers share: one pattern, one dedup window in virtual
//! time, and netcortex's dedup contract. Each handler says how it reads an event and builds
//! its outcomes ([`FirstPartySpec::handle`]); this file holds what they have in common: the
//! registration identity, the memory, the pattern and window overrides.
//!
//! The dedup contract, as netcortex's handlers apply it: an event is checked against the
//! store only when it has a target **and** its subject parses as a sensory subject (4 tokens
//! or more, so that it has an event class); the fact key is `event_class|target` (plus
//! whatever a handler appends); the first arrival is recorded with the handler's window as
//! its TTL, and a later one before it expires is a duplicate. A duplicate does not extend
//! the window. An event without a target is never a duplicate: every arrival is unique.
//!
//! What it leaves out: netcortex's in-memory store also evicts the least recently used key
//! beyond 100,000 live keys; Ripple's window is bounded by the keys accepted within one
//! window instead, so a scenario with more live keys than that would dedup more here.

use crate::bus::{Envelope, Pattern};
use crate::core::SimTime;
use crate::core::{Object, OutcomeKind, Severity, Value};
use crate::engine::reflex::common::new_outcome;
use crate::engine::reflex::common::{concat, DedupWindow, Sensory};
use crate::engine::reflex::python::{py_float_repr, py_repr_str};
use crate::engine::reflex::{HandlerOutput, Outcome, ReflexHandler};
use std::marker::PhantomData;
use std::sync::Arc;

/// One first-party handler's identity and reading of events.
pub trait FirstPartySpec: Send + 'static {
    const ID: &'static str;
    /// netcortex's subscription; a scenario may subscribe the handler elsewhere.
    const PATTERN: &'static str;
    const DEDUP_WINDOW_MS: u64;
    /// Handles one event as netcortex's handler does, asking `dedup` whether it was seen.
    /// `Err` is what netcortex's handler would have raised (a payload that is not an object).
    fn handle(event: &Envelope, now: SimTime, dedup: &mut Dedup<'_>) -> Result<Outcome, String>;
}

/// The handler's view of its dedup store during one event.
pub struct Dedup<'a> {
    window: &'a mut DedupWindow,
    now: SimTime,
}

impl Dedup<'_> {
    /// Whether the fact `event_class|target[|extra]` was already recorded within the window;
    /// records it when not. Only an event with a target and an event class is checked: any
    /// other is never a duplicate and records nothing.
    pub fn seen(
        &mut self,
        sensory: &Sensory<'_>,
        target: Option<&str>,
        extra: Option<&str>,
    ) -> bool {
        let Some(target) = target else {
            return false;
        };
        if sensory.event_class.is_empty() {
            return false;
        }
        let key = match extra {
            Some(extra) => concat(&[sensory.event_class, "|", target, "|", extra]),
            None => concat(&[sensory.event_class, "|", target]),
        };
        self.window.check_and_record(&key, self.now)
    }

    /// The window in seconds as netcortex's rationales print its float (`60.0`).
    pub fn window_seconds(&self) -> String {
        py_float_repr(self.window.window_ms as f64 / 1000.0)
    }

    /// The `skipped` outcome of a duplicate, as every netcortex handler writes it: the
    /// rationale `duplicate <handler> within <window>s dedup window (source=<source><more>)`
    /// and a payload of `{source}` (a handler that reports more replaces it).
    pub fn duplicate(
        &self,
        handler: &str,
        event: &Envelope,
        sensory: &Sensory<'_>,
        target: Option<String>,
        more: &str,
    ) -> Outcome {
        let rationale = format!(
            "duplicate {handler} within {}s dedup window (source={}{more})",
            self.window_seconds(),
            py_repr_str(sensory.source)
        );
        let mut outcome = new_outcome(
            handler,
            event,
            self.now,
            OutcomeKind::Skipped,
            Severity::Info,
            target,
            rationale,
        );
        let mut source = Object::new();
        source.insert("source".into(), Value::String(sensory.source.to_string()));
        outcome.payload = Arc::new(Value::Object(source));
        outcome
    }
}

/// A first-party handler: `FirstParty<LinkDown>` is the `link_down` reflex.
pub struct FirstParty<S> {
    pattern: Pattern,
    dedup: DedupWindow,
    spec: PhantomData<fn() -> S>,
}

impl<S: FirstPartySpec> FirstParty<S> {
    pub const ID: &'static str = S::ID;
    pub const PATTERN: &'static str = S::PATTERN;
    pub const DEDUP_WINDOW_MS: u64 = S::DEDUP_WINDOW_MS;

    /// The handler as netcortex registers it.
    pub fn new() -> Self {
        Self::with(
            Pattern::new(S::PATTERN).expect("the built-in pattern is valid"),
            S::DEDUP_WINDOW_MS,
        )
    }

    /// The handler subscribed on `pattern`, deduplicating within `dedup_window_ms` (as
    /// netcortex's constructor takes `dedup_window_seconds`): a scenario simulates an
    /// earlier subject layout this way (`sensory.snmp.trap.link_down.>`).
    pub fn with(pattern: Pattern, dedup_window_ms: u64) -> Self {
        assert!(dedup_window_ms > 0, "netcortex's store rejects a TTL of 0");
        FirstParty {
            pattern,
            dedup: DedupWindow::new(dedup_window_ms),
            spec: PhantomData,
        }
    }
}

impl<S: FirstPartySpec> Default for FirstParty<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Clone for FirstParty<S> {
    fn clone(&self) -> Self {
        FirstParty {
            pattern: self.pattern.clone(),
            dedup: self.dedup.clone(),
            spec: PhantomData,
        }
    }
}

impl<S: FirstPartySpec> std::fmt::Debug for FirstParty<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirstParty")
            .field("id", &S::ID)
            .field("pattern", &self.pattern.as_str())
            .field("dedup", &self.dedup)
            .finish()
    }
}

impl<S: FirstPartySpec> ReflexHandler for FirstParty<S> {
    fn id(&self) -> &str {
        S::ID
    }

    fn pattern(&self) -> &Pattern {
        &self.pattern
    }

    fn fingerprint(&self) -> String {
        format!(
            "builtin:{}:{}:window_ms={}",
            S::ID,
            self.pattern.as_str(),
            self.dedup.window_ms
        )
    }

    fn handle(&mut self, event: &Envelope, now: SimTime) -> Result<Option<HandlerOutput>, String> {
        let mut dedup = Dedup {
            window: &mut self.dedup,
            now,
        };
        let outcome = S::handle(event, now, &mut dedup)?;
        Ok(Some(HandlerOutput {
            outcome,
            dispatch: Vec::new(),
        }))
    }

    fn restart(&mut self) {
        self.dedup.clear();
    }

    /// Copies the parsed pattern, with an empty dedup window.
    fn fresh(&self) -> Option<Box<dyn ReflexHandler>> {
        Some(Box::new(FirstParty::<S>::with(
            self.pattern.clone(),
            self.dedup.window_ms,
        )))
    }
}

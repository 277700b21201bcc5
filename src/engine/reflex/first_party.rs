//! The shape the three first-party handlers share: one pattern, one dedup window in virtual
//! time, one `logged` outcome per event (`skipped`/`info` for a repeat inside the window).
//! Each handler only says how it reads an event ([`FirstPartySpec::read`]).

use crate::bus::{Envelope, Pattern};
use crate::core::SimTime;
use crate::core::Value;
use crate::core::{OutcomeKind, Severity};
use crate::engine::reflex::common::{
    concat, event_class, into_duplicate, new_outcome, DedupWindow,
};
use crate::engine::reflex::{HandlerOutput, ReflexHandler};
use std::marker::PhantomData;
use std::sync::Arc;

/// What a first-party handler makes of one event, before deduplication.
pub struct Reading {
    pub target: Option<String>,
    pub severity: Severity,
    pub rationale: String,
    /// Replaces the event's payload in the outcome (e.g. capped to its first keys).
    pub payload: Option<Arc<Value>>,
    /// Appended to the dedup key `event_class|target` as `|extra` (security alerts add the
    /// alert type: two signatures on one client are two alerts).
    pub key_extra: Option<String>,
}

/// One first-party handler's identity and reading of events.
pub trait FirstPartySpec: Send + 'static {
    const ID: &'static str;
    const PATTERN: &'static str;
    const DEDUP_WINDOW_MS: u64;
    fn read(event: &Envelope) -> Reading;
}

/// A first-party handler: `FirstParty<LinkDown>` is the `link_down` reflex.
pub struct FirstParty<S> {
    pattern: Pattern,
    dedup: DedupWindow,
    spec: PhantomData<fn() -> S>,
}

impl<S: FirstPartySpec> FirstParty<S> {
    pub fn new() -> Self {
        FirstParty {
            pattern: Pattern::new(S::PATTERN).expect("the built-in pattern is valid"),
            dedup: DedupWindow::new(S::DEDUP_WINDOW_MS),
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
            S::PATTERN,
            self.dedup.window_ms
        )
    }

    fn handle(&mut self, event: &Envelope, now: SimTime) -> Result<Option<HandlerOutput>, String> {
        let r = S::read(event);
        let mut outcome = new_outcome(
            S::ID,
            event,
            now,
            OutcomeKind::Logged,
            r.severity,
            r.target.clone(),
            r.rationale,
        );
        if let Some(p) = r.payload {
            outcome.payload = p;
        }
        // Events without a target share one key: they cannot be told apart, and the model
        // service treats them the same way.
        let target = r.target.as_deref().unwrap_or("");
        let key = match &r.key_extra {
            Some(extra) => concat(&[event_class(event), "|", target, "|", extra]),
            None => concat(&[event_class(event), "|", target]),
        };
        if self.dedup.check_and_record(&key, now) {
            outcome = into_duplicate(outcome, &key, self.dedup.window_ms);
        }
        Ok(Some(HandlerOutput {
            outcome,
            dispatch: None,
        }))
    }

    fn restart(&mut self) {
        self.dedup.clear();
    }

    /// Copies the parsed pattern, with an empty dedup window.
    fn fresh(&self) -> Option<Box<dyn ReflexHandler>> {
        Some(Box::new(FirstParty::<S> {
            pattern: self.pattern.clone(),
            dedup: DedupWindow::new(self.dedup.window_ms),
            spec: PhantomData,
        }))
    }
}

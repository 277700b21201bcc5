//! The reflex handler trait and the outcome it returns.
//!
//! A handler is sans-IO: it gets an envelope and the virtual time, keeps whatever memory it
//! needs (dedup windows), and returns an outcome, optionally with an entity action to
//! dispatch. It never reads a clock or a random source.

use crate::bus::{Envelope, Pattern};
use crate::core::SimTime;
use crate::core::{EntityId, Value};
use crate::core::{OutcomeKind, Severity};
use serde::Serialize;
use std::sync::Arc;

/// Longest rationale kept, in characters (the model service's limit is < 200).
pub const RATIONALE_CHARS_MAX: usize = 199;
/// A failing handler's diagnostic keeps its last this-many bytes.
pub const DIAGNOSTIC_BYTES_MAX: usize = 4096;

/// What a handler made of one event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// A stable hash of (handler, event id, subject, time); filled in by the registry.
    pub id: String,
    pub handler: String,
    pub subject: String,
    pub target: Option<String>,
    pub severity: Severity,
    /// When it happened, in virtual time; written (in reports) as an ISO-8601 string on the
    /// virtual epoch, e.g. `2026-01-01T00:00:00.050Z`. Kept as a time, not a string: a
    /// sweep that keeps no outcomes never formats it.
    #[serde(serialize_with = "iso8601")]
    pub occurred_at: SimTime,
    /// The event's payload, shared with the event (handlers that replace it say so).
    pub payload: Arc<Value>,
    pub outcome: OutcomeKind,
    pub rationale: String,
    pub diagnostic: String,
}

fn iso8601<S: serde::Serializer>(at: &SimTime, out: S) -> Result<S::Ok, S::Error> {
    out.serialize_str(&at.iso8601())
}

/// An entity action a reflex asks for; the tenant is the event's tenant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRequest {
    pub entity_type: String,
    pub id: EntityId,
    pub action: String,
    pub params: Value,
}

/// A handler's answer to one event.
#[derive(Debug, Clone, PartialEq)]
pub struct HandlerOutput {
    pub outcome: Outcome,
    /// Entity actions to dispatch, in order, each in the event's tenant (most handlers ask
    /// for none or one).
    pub dispatch: Vec<ActionRequest>,
}

/// A reflex handler. Implement it to plug your own Rust handler into a simulation.
pub trait ReflexHandler: Send {
    /// Unique within a registry.
    fn id(&self) -> &str;
    /// The one pattern it subscribes with.
    fn pattern(&self) -> &Pattern;
    /// Identity of the handler's configuration: registering a handler whose id is taken is
    /// a no-op when the fingerprints are equal, and an error otherwise.
    fn fingerprint(&self) -> String;
    /// Handles one event at virtual time `now`. `Err` (or a panic) becomes an `errored`
    /// outcome, whose rationale names the error's kind when the message reads as Python
    /// writes an exception (`AttributeError: ...`); `Ok(None)` means the handler had nothing
    /// to say.
    fn handle(&mut self, event: &Envelope, now: SimTime) -> Result<Option<HandlerOutput>, String>;
    /// [`handle`](ReflexHandler::handle), writing its answer over `out` instead of returning
    /// a new one: `Ok(true)` when `out` now holds what `handle` would have returned in
    /// `Some`, `Ok(false)` for `Ok(None)` (and `out` is then left unspecified). `out` is
    /// always this handler's own last complete answer: after a silence, an error or a panic
    /// the registry calls `handle` instead. A handler that answers every event alike can
    /// reuse `out`'s strings and params (and leave alone the fields it always sets the
    /// same), so that a long run does not allocate and free them at every event. The
    /// default calls `handle`.
    fn handle_into(
        &mut self,
        event: &Envelope,
        now: SimTime,
        out: &mut HandlerOutput,
    ) -> Result<bool, String> {
        match self.handle(event, now)? {
            Some(output) => {
                *out = output;
                Ok(true)
            }
            None => Ok(false),
        }
    }
    /// The process restarted: forget everything held in memory (dedup windows).
    fn restart(&mut self) {}
    /// The same handler as it was before its first event (same configuration, empty
    /// memory), for another run: a sweep makes its handlers once and starts each seed's
    /// from these. `None` (the default): the caller builds a new one from its spec.
    fn fresh(&self) -> Option<Box<dyn ReflexHandler>> {
        None
    }
}

//! The envelope: one publication on the bus, with its tenant, virtual time, cause and depth.

use crate::bus::{sanitize_token_into, Subject};
use crate::engine::{Depth, EntityId, Object, TenantId, Value};
use crate::sim::SimTime;
use serde::Serialize;
use std::sync::Arc;

/// A publication's sequence number within one run (0, 1, 2, ... in publish order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct EventId(pub u64);

/// What published an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cause {
    /// The scenario's `[[event]]` (or generated event) with this index.
    Root { event: u32 },
    /// A committed entity action (published as `entity.<Type>.<Action>.<id>`).
    Commit {
        entity_type: String,
        id: EntityId,
        action: String,
    },
}

/// The subject of a committed entity action, `entity.<Type>.<Action>.<id>`, appended to
/// `out` (a reused buffer, in the simulator). Entity types and actions are validated plain
/// names; the id is sanitized into one token.
#[inline]
pub fn commit_subject_into(entity_type: &str, action: &str, id: &str, out: &mut String) {
    out.push_str("entity.");
    out.push_str(entity_type);
    out.push('.');
    out.push_str(action);
    out.push('.');
    sanitize_token_into(id, out);
}

/// The payload (`entity_type`, `id`, `action`, `status`) and the cause of a committed entity
/// action's event: what the simulator and the cascade model both publish.
pub fn commit_event(entity_type: &str, id: &str, action: &str, status: &str) -> (Value, Cause) {
    let mut payload = Object::new();
    payload.insert("entity_type".into(), Value::from(entity_type));
    payload.insert("id".into(), Value::from(id));
    payload.insert("action".into(), Value::from(action));
    payload.insert("status".into(), Value::from(status));
    let cause = Cause::Commit {
        entity_type: entity_type.to_string(),
        id: EntityId::new(id),
        action: action.to_string(),
    };
    (Value::Object(payload), cause)
}

/// One publication. The payload is shared (`Arc`), not cloned, across fan-out.
#[derive(Debug, Clone, Serialize)]
pub struct Envelope {
    pub id: EventId,
    pub tenant: TenantId,
    pub subject: Subject,
    pub payload: Arc<Value>,
    pub at: SimTime,
    pub cause: Cause,
    pub depth: Depth,
}

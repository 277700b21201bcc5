//! The envelope: one publication on the bus, with its tenant, virtual time, cause and depth.

use crate::bus::Subject;
use crate::engine::{Depth, EntityId, TenantId, Value};
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

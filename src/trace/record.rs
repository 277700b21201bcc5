//! Trace records: one per step of a run.
//!
//! The canonical encoding of a record is its JSON line (field order as declared here, maps in
//! key order, floats in serde_json's shortest round-trip form). The trace hash is computed
//! over exactly those bytes, so changing a field here changes every trace hash: bless the
//! corpus when you do.

use crate::bus::{EventId, SubId, Subject};
use crate::engine::reflex::{OutcomeKind, Severity};
use crate::engine::{Depth, EntityId, TenantId};
use crate::sim::SimTime;
use serde::Serialize;

/// What caused a dispatch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Origin {
    /// The scenario's `[[event]]` (or generated event) with this index.
    Root { event: u32 },
    /// A reflex handler, acting on bus event `event`.
    Reflex { handler: String, event: EventId },
    /// A reaction rule. `copy` marks the second delivery of a duplicated reaction message.
    Rule {
        rule: String,
        #[serde(default, skip_serializing_if = "is_false")]
        copy: bool,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// An injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Delay,
    Drop,
    Duplicate,
    HandlerPanic,
    ActionFailure,
    ReflexRestart,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Delay => "delay",
            FaultKind::Drop => "drop",
            FaultKind::Duplicate => "duplicate",
            FaultKind::HandlerPanic => "handler_panic",
            FaultKind::ActionFailure => "action_failure",
            FaultKind::ReflexRestart => "reflex_restart",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// A root input starts (scripted or generated).
    Input { at: SimTime, event: u32 },
    /// A publication on the bus, routed to `subscribers` subscriptions.
    Publish {
        at: SimTime,
        event: EventId,
        tenant: TenantId,
        subject: Subject,
        depth: Depth,
        subscribers: u32,
    },
    /// A publication reaches one reflex handler.
    Deliver {
        at: SimTime,
        event: EventId,
        sub: SubId,
        handler: String,
    },
    /// A reflex handler's outcome (the full outcome is in the run's `outcomes`).
    Outcome {
        at: SimTime,
        event: EventId,
        handler: String,
        id: String,
        outcome: OutcomeKind,
        severity: Severity,
        target: Option<String>,
    },
    /// An action is about to be applied. `depth` is its causal hop count (a root action is
    /// 0, the target of a depth-0 reaction is 1); `source_tenant` is the tenant of what
    /// caused it.
    Dispatch {
        at: SimTime,
        tenant: TenantId,
        source_tenant: TenantId,
        entity_type: String,
        id: EntityId,
        action: String,
        depth: Depth,
        #[serde(flatten)]
        origin: Origin,
    },
    /// An action committed: the entity moved `from` -> `to` (equal when it keeps its state).
    Transition {
        at: SimTime,
        tenant: TenantId,
        entity_type: String,
        id: EntityId,
        action: String,
        from: String,
        to: String,
        created: bool,
    },
    /// An action was rejected; the entity is unchanged.
    ActionFailed {
        at: SimTime,
        tenant: TenantId,
        entity_type: String,
        id: EntityId,
        action: String,
        error: String,
    },
    /// A reaction's result, recorded before its subtree runs (pre-order).
    Reaction {
        at: SimTime,
        tenant: TenantId,
        rule: String,
        depth: Depth,
        success: bool,
        target_type: String,
        target_id: Option<EntityId>,
        target_status: Option<String>,
        error: Option<String>,
    },
    /// A rule's guard was false: the rule did not fire and records no reaction result.
    GuardSkip {
        at: SimTime,
        tenant: TenantId,
        rule: String,
        depth: Depth,
    },
    /// A rule (or reflex dispatch) was dropped because it would fire at `depth >= max_depth`.
    DepthLimit {
        at: SimTime,
        tenant: TenantId,
        rule: String,
        depth: Depth,
    },
    /// A fault fired. `on` names the message or action it hit; `event` is the bus event for
    /// delivery faults.
    Fault {
        at: SimTime,
        fault: FaultKind,
        on: String,
        event: Option<EventId>,
        delay_ms: u64,
    },
    /// Something worth a look that does not stop the run (a missing `params_from` field).
    Warning { at: SimTime, message: String },
}

impl Record {
    pub fn at(&self) -> SimTime {
        match self {
            Record::Input { at, .. }
            | Record::Publish { at, .. }
            | Record::Deliver { at, .. }
            | Record::Outcome { at, .. }
            | Record::Dispatch { at, .. }
            | Record::Transition { at, .. }
            | Record::ActionFailed { at, .. }
            | Record::Reaction { at, .. }
            | Record::GuardSkip { at, .. }
            | Record::DepthLimit { at, .. }
            | Record::Fault { at, .. }
            | Record::Warning { at, .. } => *at,
        }
    }
}

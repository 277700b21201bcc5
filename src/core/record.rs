//! Trace records: one per step of a run.
//!
//! The canonical encoding of a record is its JSON line (field order as declared here, maps in
//! key order, floats in serde_json's shortest round-trip form). The trace hash is computed
//! over exactly those bytes, so changing a field here changes every trace hash: bless the
//! corpus when you do.

use crate::core::SimTime;
use crate::core::{Depth, EntityId, TenantId};
use crate::core::{EventId, SubId, Subject};
use crate::core::{OutcomeKind, Severity};
use serde::Serialize;

/// What caused a dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Origin<N = String> {
    /// The scenario's `[[event]]` (or generated event) with this index.
    Root { event: u32 },
    /// A reflex handler, acting on bus event `event`.
    Reflex { handler: N, event: EventId },
    /// A reaction rule. `copy` marks the second delivery of a duplicated reaction message.
    Rule {
        rule: N,
        #[serde(default, skip_serializing_if = "is_false")]
        copy: bool,
    },
}

/// What caused a dispatch, borrowed.
pub type OriginRef<'a> = Origin<&'a str>;

fn is_false(b: &bool) -> bool {
    !*b
}

/// What a fault hits, by identity rather than by position in the run: removing one root
/// event does not change which message "the first AuthorizePayment reaction to Payment/o1"
/// is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "of", rename_all = "snake_case")]
pub enum FaultTarget {
    /// A reaction message: its rule and its target `Type/id`.
    Reaction { rule: String, target: String },
    /// A bus delivery: the event's subject and the handler it goes to.
    Delivery { subject: String, handler: String },
    /// An entity action: its target `Type/id` and action name.
    Action { target: String, action: String },
    /// A reflex handler processing an event (crash, restart).
    Handler { handler: String, subject: String },
}

impl std::fmt::Display for FaultTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaultTarget::Reaction { rule, target } => write!(f, "rule {rule} -> {target}"),
            FaultTarget::Delivery { subject, handler } => write!(f, "{subject} -> {handler}"),
            FaultTarget::Action { target, action } => write!(f, "{target}.{action}"),
            FaultTarget::Handler { handler, subject } => write!(f, "{handler} on {subject}"),
        }
    }
}

impl FaultTarget {
    /// A stable key for counting occurrences.
    pub fn key(&self) -> String {
        match self {
            FaultTarget::Reaction { rule, target } => format!("r|{rule}|{target}"),
            FaultTarget::Delivery { subject, handler } => format!("d|{subject}|{handler}"),
            FaultTarget::Action { target, action } => format!("a|{target}|{action}"),
            FaultTarget::Handler { handler, subject } => format!("h|{handler}|{subject}"),
        }
    }
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
    pub fn parse(text: &str) -> Option<FaultKind> {
        Some(match text {
            "delay" => FaultKind::Delay,
            "drop" => FaultKind::Drop,
            "duplicate" => FaultKind::Duplicate,
            "handler_panic" => FaultKind::HandlerPanic,
            "action_failure" => FaultKind::ActionFailure,
            "reflex_restart" => FaultKind::ReflexRestart,
            _ => return None,
        })
    }

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

/// A trace record: one per step of a run. Its names are owned (`Record`, the default
/// types) or borrowed from whoever writes it ([`RecordRef`]): one type in two forms, with
/// one conversion between them (`Record::map`), so a field exists in both or in neither.
/// `N` is for names (handlers, rules, types, actions, states, messages), `T` tenants, `I`
/// entity ids, `S` subjects, `X` fault targets.
///
/// Every record but an `Input` names its cause: `cause` is the step (0-based position in
/// the trace) of the record that made it happen, always an earlier one. Following causes
/// from any record ends at the `Input` of the root event it belongs to, whenever it was
/// delivered:
///
/// | record | its cause |
/// |---|---|
/// | `dispatch` | the `input` (a root action), the reflex's `outcome`, or the source's `transition` whose rule fired it (for an integration's answer, the commit that called it) |
/// | `transition`, `action_failed` | its `dispatch` |
/// | `reaction` | the source's `transition` (the same as its dispatch's cause) |
/// | `guard_skip`, `depth_limit`, `warning` | the `transition` whose rule it is about (a dispatch beyond the bound: that dispatch's cause) |
/// | `publish` | the `transition` that committed (an entity event) or the `input` (a scripted publication) |
/// | `deliver` | its `publish` |
/// | `outcome` | its `deliver` |
/// | `fault` | the cause of the message or action it hit (a handler fault: the `deliver`; a failed action: its `dispatch`) |
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record<N = String, T = TenantId, I = EntityId, S = Subject, X = FaultTarget> {
    /// A root input starts (scripted or generated).
    Input { at: SimTime, event: u32 },
    /// A publication on the bus, routed to `subscribers` subscriptions.
    Publish {
        at: SimTime,
        /// The step of the record that caused this one (see [`Record::cause`]).
        cause: u64,
        event: EventId,
        tenant: T,
        subject: S,
        depth: Depth,
        subscribers: u32,
    },
    /// A publication reaches one reflex handler.
    Deliver {
        at: SimTime,
        /// The step of the record that caused this one (see [`Record::cause`]).
        cause: u64,
        event: EventId,
        sub: SubId,
        handler: N,
    },
    /// A reflex handler's outcome (the full outcome is in the run's `outcomes`).
    Outcome {
        at: SimTime,
        /// The step of the record that caused this one (see [`Record::cause`]).
        cause: u64,
        event: EventId,
        handler: N,
        id: N,
        outcome: OutcomeKind,
        severity: Severity,
        target: Option<N>,
    },
    /// An action is about to be applied. `depth` is its causal hop count (a root action is
    /// 0, the target of a depth-0 reaction is 1); `source_tenant` is the tenant of what
    /// caused it.
    Dispatch {
        at: SimTime,
        /// The step of the record that caused this one (see [`Record::cause`]).
        cause: u64,
        tenant: T,
        source_tenant: T,
        entity_type: N,
        id: I,
        action: N,
        depth: Depth,
        #[serde(flatten)]
        origin: Origin<N>,
    },
    /// An action committed: the entity moved `from` -> `to` (equal when it keeps its state).
    Transition {
        at: SimTime,
        /// The step of the record that caused this one (see [`Record::cause`]).
        cause: u64,
        tenant: T,
        entity_type: N,
        id: I,
        action: N,
        from: N,
        to: N,
        created: bool,
    },
    /// An action was rejected; the entity is unchanged.
    ActionFailed {
        at: SimTime,
        /// The step of the record that caused this one (see [`Record::cause`]).
        cause: u64,
        tenant: T,
        entity_type: N,
        id: I,
        action: N,
        error: N,
    },
    /// A reaction's result, recorded before its subtree runs (pre-order).
    Reaction {
        at: SimTime,
        /// The step of the record that caused this one (see [`Record::cause`]).
        cause: u64,
        tenant: T,
        rule: N,
        depth: Depth,
        success: bool,
        target_type: N,
        target_id: Option<I>,
        target_status: Option<N>,
        error: Option<N>,
    },
    /// A rule's guard was false: the rule did not fire and records no reaction result.
    GuardSkip {
        at: SimTime,
        /// The step of the record that caused this one (see [`Record::cause`]).
        cause: u64,
        tenant: T,
        rule: N,
        depth: Depth,
    },
    /// A rule (or reflex dispatch) was dropped because it would fire at `depth >= max_depth`.
    DepthLimit {
        at: SimTime,
        /// The step of the record that caused this one (see [`Record::cause`]).
        cause: u64,
        tenant: T,
        rule: N,
        depth: Depth,
    },
    /// A fault fired. `on` names the message or action it hit; `event` is the bus event for
    /// delivery faults.
    Fault {
        at: SimTime,
        /// The step of the record that caused this one (see [`Record::cause`]).
        cause: u64,
        fault: FaultKind,
        /// The message or action it hit, and which occurrence of it (1-based): the identity
        /// an explicit `[[fault]]` schedule uses, so a run's faults can be written down.
        #[serde(flatten)]
        on: X,
        nth: u32,
        event: Option<EventId>,
        delay_ms: u64,
    },
    /// Something worth a look that does not stop the run (a missing `params_from` field).
    Warning {
        at: SimTime,
        /// The step of the record that caused this one (see [`Record::cause`]).
        cause: u64,
        message: N,
    },
}

impl<N, T, I, S, X> Record<N, T, I, S, X> {
    /// The step of the record that caused this one; `None` for an `Input` (a root).
    pub fn cause(&self) -> Option<u64> {
        match self {
            Record::Input { .. } => None,
            Record::Publish { cause, .. }
            | Record::Deliver { cause, .. }
            | Record::Outcome { cause, .. }
            | Record::Dispatch { cause, .. }
            | Record::Transition { cause, .. }
            | Record::ActionFailed { cause, .. }
            | Record::Reaction { cause, .. }
            | Record::GuardSkip { cause, .. }
            | Record::DepthLimit { cause, .. }
            | Record::Fault { cause, .. }
            | Record::Warning { cause, .. } => Some(*cause),
        }
    }
}

/// A [`Record`], borrowed: what the engine writes and the encoder and invariants read.
pub type RecordRef<'a> = Record<&'a str, &'a str, &'a str, &'a str, &'a FaultTarget>;

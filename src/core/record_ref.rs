//! A trace record borrowed from whoever writes it: [`RecordRef`] has the variants and fields
//! of [`Record`], with names as `&str`.
//!
//! The engine and the world write millions of records per big run. Building an owned
//! [`Record`] clones every tenant, type, id, action and rule name into fresh `String`s, and
//! a run that keeps no records would free them again right after encoding. A `RecordRef`
//! points at names the engine already holds, so encoding, hashing and the invariants see a
//! record without a single allocation; [`RecordRef::to_record`] makes the owned record only
//! when someone keeps it.
//!
//! The two types must stay in step: [`Record::view`] and [`RecordRef::to_record`] are
//! exhaustive matches, so a field added to one and not the other does not compile, and the
//! tests in `encode.rs` check that both encode to the same bytes.

use crate::core::SimTime;
use crate::core::{Depth, EntityId, TenantId};
use crate::core::{EventId, SubId};
use crate::core::{FaultKind, FaultTarget, Origin, Record};
use crate::core::{OutcomeKind, Severity};

/// What caused a dispatch, borrowed (see [`Origin`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginRef<'a> {
    Root { event: u32 },
    Reflex { handler: &'a str, event: EventId },
    Rule { rule: &'a str, copy: bool },
}

/// A [`Record`], borrowed. Field meanings are documented on [`Record`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RecordRef<'a> {
    Input {
        at: SimTime,
        event: u32,
    },
    Publish {
        at: SimTime,
        event: EventId,
        tenant: &'a str,
        subject: &'a str,
        depth: Depth,
        subscribers: u32,
    },
    Deliver {
        at: SimTime,
        event: EventId,
        sub: SubId,
        handler: &'a str,
    },
    Outcome {
        at: SimTime,
        event: EventId,
        handler: &'a str,
        id: &'a str,
        outcome: OutcomeKind,
        severity: Severity,
        target: Option<&'a str>,
    },
    Dispatch {
        at: SimTime,
        tenant: &'a str,
        source_tenant: &'a str,
        entity_type: &'a str,
        id: &'a str,
        action: &'a str,
        depth: Depth,
        origin: OriginRef<'a>,
    },
    Transition {
        at: SimTime,
        tenant: &'a str,
        entity_type: &'a str,
        id: &'a str,
        action: &'a str,
        from: &'a str,
        to: &'a str,
        created: bool,
    },
    ActionFailed {
        at: SimTime,
        tenant: &'a str,
        entity_type: &'a str,
        id: &'a str,
        action: &'a str,
        error: &'a str,
    },
    Reaction {
        at: SimTime,
        tenant: &'a str,
        rule: &'a str,
        depth: Depth,
        success: bool,
        target_type: &'a str,
        target_id: Option<&'a str>,
        target_status: Option<&'a str>,
        error: Option<&'a str>,
    },
    GuardSkip {
        at: SimTime,
        tenant: &'a str,
        rule: &'a str,
        depth: Depth,
    },
    DepthLimit {
        at: SimTime,
        tenant: &'a str,
        rule: &'a str,
        depth: Depth,
    },
    Fault {
        at: SimTime,
        fault: FaultKind,
        on: &'a FaultTarget,
        nth: u32,
        event: Option<EventId>,
        delay_ms: u64,
    },
    Warning {
        at: SimTime,
        message: &'a str,
    },
}

/// A record's kind, as a small number: for counting records without keeping them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordKind {
    Input,
    Publish,
    Deliver,
    Outcome,
    Dispatch,
    Transition,
    ActionFailed,
    Reaction,
    GuardSkip,
    DepthLimit,
    Fault,
    Warning,
}

impl RecordKind {
    /// How many kinds there are (the length of a per-kind table).
    pub const COUNT: usize = 12;

    /// Every kind, in declaration order (= `kind as usize`).
    pub const ALL: [RecordKind; RecordKind::COUNT] = [
        RecordKind::Input,
        RecordKind::Publish,
        RecordKind::Deliver,
        RecordKind::Outcome,
        RecordKind::Dispatch,
        RecordKind::Transition,
        RecordKind::ActionFailed,
        RecordKind::Reaction,
        RecordKind::GuardSkip,
        RecordKind::DepthLimit,
        RecordKind::Fault,
        RecordKind::Warning,
    ];

    /// The `kind` tag of the record's JSON line.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Input => "input",
            RecordKind::Publish => "publish",
            RecordKind::Deliver => "deliver",
            RecordKind::Outcome => "outcome",
            RecordKind::Dispatch => "dispatch",
            RecordKind::Transition => "transition",
            RecordKind::ActionFailed => "action_failed",
            RecordKind::Reaction => "reaction",
            RecordKind::GuardSkip => "guard_skip",
            RecordKind::DepthLimit => "depth_limit",
            RecordKind::Fault => "fault",
            RecordKind::Warning => "warning",
        }
    }
}

/// How many records of each kind a run wrote (whether or not it kept them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordCounts([u64; RecordKind::COUNT]);

impl RecordCounts {
    pub fn add(&mut self, kind: RecordKind) {
        self.0[kind as usize] += 1;
    }

    pub fn get(&self, kind: RecordKind) -> u64 {
        self.0[kind as usize]
    }

    /// Every record: the run's steps.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl Origin {
    pub fn view(&self) -> OriginRef<'_> {
        match self {
            Origin::Root { event } => OriginRef::Root { event: *event },
            Origin::Reflex { handler, event } => OriginRef::Reflex {
                handler,
                event: *event,
            },
            Origin::Rule { rule, copy } => OriginRef::Rule { rule, copy: *copy },
        }
    }
}

impl OriginRef<'_> {
    pub fn to_origin(self) -> Origin {
        match self {
            OriginRef::Root { event } => Origin::Root { event },
            OriginRef::Reflex { handler, event } => Origin::Reflex {
                handler: handler.to_string(),
                event,
            },
            OriginRef::Rule { rule, copy } => Origin::Rule {
                rule: rule.to_string(),
                copy,
            },
        }
    }
}

impl Record {
    /// The record, borrowed.
    pub fn view(&self) -> RecordRef<'_> {
        match self {
            Record::Input { at, event } => RecordRef::Input {
                at: *at,
                event: *event,
            },
            Record::Publish {
                at,
                event,
                tenant,
                subject,
                depth,
                subscribers,
            } => RecordRef::Publish {
                at: *at,
                event: *event,
                tenant: tenant.as_str(),
                subject: subject.as_str(),
                depth: *depth,
                subscribers: *subscribers,
            },
            Record::Deliver {
                at,
                event,
                sub,
                handler,
            } => RecordRef::Deliver {
                at: *at,
                event: *event,
                sub: *sub,
                handler,
            },
            Record::Outcome {
                at,
                event,
                handler,
                id,
                outcome,
                severity,
                target,
            } => RecordRef::Outcome {
                at: *at,
                event: *event,
                handler,
                id,
                outcome: *outcome,
                severity: *severity,
                target: target.as_deref(),
            },
            Record::Dispatch {
                at,
                tenant,
                source_tenant,
                entity_type,
                id,
                action,
                depth,
                origin,
            } => RecordRef::Dispatch {
                at: *at,
                tenant: tenant.as_str(),
                source_tenant: source_tenant.as_str(),
                entity_type,
                id: id.as_str(),
                action,
                depth: *depth,
                origin: origin.view(),
            },
            Record::Transition {
                at,
                tenant,
                entity_type,
                id,
                action,
                from,
                to,
                created,
            } => RecordRef::Transition {
                at: *at,
                tenant: tenant.as_str(),
                entity_type,
                id: id.as_str(),
                action,
                from,
                to,
                created: *created,
            },
            Record::ActionFailed {
                at,
                tenant,
                entity_type,
                id,
                action,
                error,
            } => RecordRef::ActionFailed {
                at: *at,
                tenant: tenant.as_str(),
                entity_type,
                id: id.as_str(),
                action,
                error,
            },
            Record::Reaction {
                at,
                tenant,
                rule,
                depth,
                success,
                target_type,
                target_id,
                target_status,
                error,
            } => RecordRef::Reaction {
                at: *at,
                tenant: tenant.as_str(),
                rule,
                depth: *depth,
                success: *success,
                target_type,
                target_id: target_id.as_ref().map(EntityId::as_str),
                target_status: target_status.as_deref(),
                error: error.as_deref(),
            },
            Record::GuardSkip {
                at,
                tenant,
                rule,
                depth,
            } => RecordRef::GuardSkip {
                at: *at,
                tenant: tenant.as_str(),
                rule,
                depth: *depth,
            },
            Record::DepthLimit {
                at,
                tenant,
                rule,
                depth,
            } => RecordRef::DepthLimit {
                at: *at,
                tenant: tenant.as_str(),
                rule,
                depth: *depth,
            },
            Record::Fault {
                at,
                fault,
                on,
                nth,
                event,
                delay_ms,
            } => RecordRef::Fault {
                at: *at,
                fault: *fault,
                on,
                nth: *nth,
                event: *event,
                delay_ms: *delay_ms,
            },
            Record::Warning { at, message } => RecordRef::Warning { at: *at, message },
        }
    }
}

impl<'a> RecordRef<'a> {
    pub fn kind(&self) -> RecordKind {
        match self {
            RecordRef::Input { .. } => RecordKind::Input,
            RecordRef::Publish { .. } => RecordKind::Publish,
            RecordRef::Deliver { .. } => RecordKind::Deliver,
            RecordRef::Outcome { .. } => RecordKind::Outcome,
            RecordRef::Dispatch { .. } => RecordKind::Dispatch,
            RecordRef::Transition { .. } => RecordKind::Transition,
            RecordRef::ActionFailed { .. } => RecordKind::ActionFailed,
            RecordRef::Reaction { .. } => RecordKind::Reaction,
            RecordRef::GuardSkip { .. } => RecordKind::GuardSkip,
            RecordRef::DepthLimit { .. } => RecordKind::DepthLimit,
            RecordRef::Fault { .. } => RecordKind::Fault,
            RecordRef::Warning { .. } => RecordKind::Warning,
        }
    }

    pub fn at(&self) -> SimTime {
        match self {
            RecordRef::Input { at, .. }
            | RecordRef::Publish { at, .. }
            | RecordRef::Deliver { at, .. }
            | RecordRef::Outcome { at, .. }
            | RecordRef::Dispatch { at, .. }
            | RecordRef::Transition { at, .. }
            | RecordRef::ActionFailed { at, .. }
            | RecordRef::Reaction { at, .. }
            | RecordRef::GuardSkip { at, .. }
            | RecordRef::DepthLimit { at, .. }
            | RecordRef::Fault { at, .. }
            | RecordRef::Warning { at, .. } => *at,
        }
    }

    /// The rule this record shows acting, if any: a reaction result, a depth limit, or a
    /// dispatch by a rule. (A guard skip is a rule that did nothing.) A sweep's failure
    /// signature names the rule that acted last before a violation.
    pub fn acting_rule(&self) -> Option<&'a str> {
        match *self {
            RecordRef::Reaction { rule, .. }
            | RecordRef::DepthLimit { rule, .. }
            | RecordRef::Dispatch {
                origin: OriginRef::Rule { rule, .. },
                ..
            } => Some(rule),
            _ => None,
        }
    }

    /// Whether this record starts a scheduler step's work (a root input or a delivery): no
    /// rule before it belongs to what happens after it.
    pub fn starts_step(&self) -> bool {
        matches!(self, RecordRef::Input { .. } | RecordRef::Deliver { .. })
    }

    /// The owned record.
    pub fn to_record(self) -> Record {
        let tenant = |t: &str| TenantId(t.to_string());
        let id = |i: &str| EntityId(i.to_string());
        match self {
            RecordRef::Input { at, event } => Record::Input { at, event },
            RecordRef::Publish {
                at,
                event,
                tenant: t,
                subject,
                depth,
                subscribers,
            } => Record::Publish {
                at,
                event,
                tenant: tenant(t),
                subject: crate::core::Subject::new_unchecked(subject.to_string()),
                depth,
                subscribers,
            },
            RecordRef::Deliver {
                at,
                event,
                sub,
                handler,
            } => Record::Deliver {
                at,
                event,
                sub,
                handler: handler.to_string(),
            },
            RecordRef::Outcome {
                at,
                event,
                handler,
                id,
                outcome,
                severity,
                target,
            } => Record::Outcome {
                at,
                event,
                handler: handler.to_string(),
                id: id.to_string(),
                outcome,
                severity,
                target: target.map(str::to_string),
            },
            RecordRef::Dispatch {
                at,
                tenant: t,
                source_tenant,
                entity_type,
                id: i,
                action,
                depth,
                origin,
            } => Record::Dispatch {
                at,
                tenant: tenant(t),
                source_tenant: tenant(source_tenant),
                entity_type: entity_type.to_string(),
                id: id(i),
                action: action.to_string(),
                depth,
                origin: origin.to_origin(),
            },
            RecordRef::Transition {
                at,
                tenant: t,
                entity_type,
                id: i,
                action,
                from,
                to,
                created,
            } => Record::Transition {
                at,
                tenant: tenant(t),
                entity_type: entity_type.to_string(),
                id: id(i),
                action: action.to_string(),
                from: from.to_string(),
                to: to.to_string(),
                created,
            },
            RecordRef::ActionFailed {
                at,
                tenant: t,
                entity_type,
                id: i,
                action,
                error,
            } => Record::ActionFailed {
                at,
                tenant: tenant(t),
                entity_type: entity_type.to_string(),
                id: id(i),
                action: action.to_string(),
                error: error.to_string(),
            },
            RecordRef::Reaction {
                at,
                tenant: t,
                rule,
                depth,
                success,
                target_type,
                target_id,
                target_status,
                error,
            } => Record::Reaction {
                at,
                tenant: tenant(t),
                rule: rule.to_string(),
                depth,
                success,
                target_type: target_type.to_string(),
                target_id: target_id.map(id),
                target_status: target_status.map(str::to_string),
                error: error.map(str::to_string),
            },
            RecordRef::GuardSkip {
                at,
                tenant: t,
                rule,
                depth,
            } => Record::GuardSkip {
                at,
                tenant: tenant(t),
                rule: rule.to_string(),
                depth,
            },
            RecordRef::DepthLimit {
                at,
                tenant: t,
                rule,
                depth,
            } => Record::DepthLimit {
                at,
                tenant: tenant(t),
                rule: rule.to_string(),
                depth,
            },
            RecordRef::Fault {
                at,
                fault,
                on,
                nth,
                event,
                delay_ms,
            } => Record::Fault {
                at,
                fault,
                on: on.clone(),
                nth,
                event,
                delay_ms,
            },
            RecordRef::Warning { at, message } => Record::Warning {
                at,
                message: message.to_string(),
            },
        }
    }
}

impl Record {
    pub fn kind(&self) -> RecordKind {
        self.view().kind()
    }
}

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
//! They are one type in two forms ([`Form`]): `RecordRef<'a>` is `Record<Borrowed<'a>>`.
//! [`Record::view`] and [`RecordRef::to_record`] are the one exhaustive conversion
//! (`Record::map`), so a field exists in both forms or in neither, and the tests in
//! `encode.rs` check that both encode to the same bytes.

use crate::core::{EntityId, TenantId};
use crate::core::{FaultTarget, Origin, OriginRef, Record, RecordRef};
use crate::core::{SimTime, Subject};

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

impl<N> Origin<N> {
    fn map<'s, N2>(&'s self, name: impl Fn(&'s N) -> N2) -> Origin<N2> {
        match self {
            Origin::Root { event } => Origin::Root { event: *event },
            Origin::Reflex { handler, event } => Origin::Reflex {
                handler: name(handler),
                event: *event,
            },
            Origin::Rule { rule, copy } => Origin::Rule {
                rule: name(rule),
                copy: *copy,
            },
        }
    }
}

impl Origin {
    /// The origin, borrowed.
    pub fn view(&self) -> OriginRef<'_> {
        self.map(String::as_str)
    }
}

impl OriginRef<'_> {
    /// The owned origin.
    pub fn to_origin(self) -> Origin {
        self.map(|n: &&str| n.to_string())
    }
}

/// How each kind of name becomes another form's, for [`Record::map`].
struct Maps<FN, FT, FI, FS, FX> {
    name: FN,
    tenant: FT,
    id: FI,
    subject: FS,
    fault: FX,
}

impl<N, T, I, S, X> Record<N, T, I, S, X> {
    /// The same record in another form: the one exhaustive conversion, so that a field
    /// cannot be forgotten in one direction.
    fn map<'s, N2, T2, I2, S2, X2>(
        &'s self,
        m: Maps<
            impl Fn(&'s N) -> N2,
            impl Fn(&'s T) -> T2,
            impl Fn(&'s I) -> I2,
            impl Fn(&'s S) -> S2,
            impl Fn(&'s X) -> X2,
        >,
    ) -> Record<N2, T2, I2, S2, X2> {
        let c = &m;
        let opt_name = |n: &'s Option<N>| n.as_ref().map(|n| (c.name)(n));
        match self {
            Record::Input { at, event } => Record::Input {
                at: *at,
                event: *event,
            },
            Record::Publish {
                at,
                cause,
                event,
                tenant,
                subject,
                depth,
                subscribers,
            } => Record::Publish {
                at: *at,
                cause: *cause,
                event: *event,
                tenant: (c.tenant)(tenant),
                subject: (c.subject)(subject),
                depth: *depth,
                subscribers: *subscribers,
            },
            Record::Deliver {
                at,
                cause,
                event,
                sub,
                handler,
            } => Record::Deliver {
                at: *at,
                cause: *cause,
                event: *event,
                sub: *sub,
                handler: (c.name)(handler),
            },
            Record::Outcome {
                at,
                cause,
                event,
                handler,
                id,
                outcome,
                severity,
                target,
            } => Record::Outcome {
                at: *at,
                cause: *cause,
                event: *event,
                handler: (c.name)(handler),
                id: (c.name)(id),
                outcome: *outcome,
                severity: *severity,
                target: opt_name(target),
            },
            Record::Dispatch {
                at,
                cause,
                tenant,
                source_tenant,
                entity_type,
                id,
                action,
                depth,
                origin,
            } => Record::Dispatch {
                at: *at,
                cause: *cause,
                tenant: (c.tenant)(tenant),
                source_tenant: (c.tenant)(source_tenant),
                entity_type: (c.name)(entity_type),
                id: (c.id)(id),
                action: (c.name)(action),
                depth: *depth,
                origin: origin.map(&c.name),
            },
            Record::Transition {
                at,
                cause,
                tenant,
                entity_type,
                id,
                action,
                from,
                to,
                created,
            } => Record::Transition {
                at: *at,
                cause: *cause,
                tenant: (c.tenant)(tenant),
                entity_type: (c.name)(entity_type),
                id: (c.id)(id),
                action: (c.name)(action),
                from: (c.name)(from),
                to: (c.name)(to),
                created: *created,
            },
            Record::ActionFailed {
                at,
                cause,
                tenant,
                entity_type,
                id,
                action,
                error,
            } => Record::ActionFailed {
                at: *at,
                cause: *cause,
                tenant: (c.tenant)(tenant),
                entity_type: (c.name)(entity_type),
                id: (c.id)(id),
                action: (c.name)(action),
                error: (c.name)(error),
            },
            Record::Reaction {
                at,
                cause,
                tenant,
                rule,
                depth,
                success,
                target_type,
                target_id,
                target_status,
                error,
            } => Record::Reaction {
                at: *at,
                cause: *cause,
                tenant: (c.tenant)(tenant),
                rule: (c.name)(rule),
                depth: *depth,
                success: *success,
                target_type: (c.name)(target_type),
                target_id: target_id.as_ref().map(|i| (c.id)(i)),
                target_status: opt_name(target_status),
                error: opt_name(error),
            },
            Record::GuardSkip {
                at,
                cause,
                tenant,
                rule,
                depth,
            } => Record::GuardSkip {
                at: *at,
                cause: *cause,
                tenant: (c.tenant)(tenant),
                rule: (c.name)(rule),
                depth: *depth,
            },
            Record::DepthLimit {
                at,
                cause,
                tenant,
                rule,
                depth,
            } => Record::DepthLimit {
                at: *at,
                cause: *cause,
                tenant: (c.tenant)(tenant),
                rule: (c.name)(rule),
                depth: *depth,
            },
            Record::Fault {
                at,
                cause,
                fault,
                on,
                nth,
                event,
                delay_ms,
            } => Record::Fault {
                at: *at,
                cause: *cause,
                fault: *fault,
                on: (c.fault)(on),
                nth: *nth,
                event: *event,
                delay_ms: *delay_ms,
            },
            Record::Warning { at, cause, message } => Record::Warning {
                at: *at,
                cause: *cause,
                message: (c.name)(message),
            },
        }
    }

    pub fn kind(&self) -> RecordKind {
        match self {
            Record::Input { .. } => RecordKind::Input,
            Record::Publish { .. } => RecordKind::Publish,
            Record::Deliver { .. } => RecordKind::Deliver,
            Record::Outcome { .. } => RecordKind::Outcome,
            Record::Dispatch { .. } => RecordKind::Dispatch,
            Record::Transition { .. } => RecordKind::Transition,
            Record::ActionFailed { .. } => RecordKind::ActionFailed,
            Record::Reaction { .. } => RecordKind::Reaction,
            Record::GuardSkip { .. } => RecordKind::GuardSkip,
            Record::DepthLimit { .. } => RecordKind::DepthLimit,
            Record::Fault { .. } => RecordKind::Fault,
            Record::Warning { .. } => RecordKind::Warning,
        }
    }

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

    /// Whether this record starts a scheduler step's work (a root input or a delivery): no
    /// rule before it belongs to what happens after it.
    pub fn starts_step(&self) -> bool {
        matches!(self, Record::Input { .. } | Record::Deliver { .. })
    }
}

impl Record {
    /// The record, borrowed.
    pub fn view(&self) -> RecordRef<'_> {
        self.map(Maps {
            name: String::as_str,
            tenant: TenantId::as_str,
            id: EntityId::as_str,
            subject: Subject::as_str,
            fault: |f| f,
        })
    }
}

impl<'a> RecordRef<'a> {
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

    /// The owned record.
    pub fn to_record(self) -> Record {
        self.map(Maps {
            name: |n: &&str| n.to_string(),
            tenant: |t: &&str| TenantId(t.to_string()),
            id: |i: &&str| EntityId(i.to_string()),
            subject: |s: &&str| Subject::new_unchecked(s.to_string()),
            fault: |f: &&FaultTarget| (*f).clone(),
        })
    }
}

//! A validated scenario: everything a run needs, with nothing left to check.

use crate::bus::Pattern;
use crate::core::Severity;
use crate::core::SimTime;
use crate::core::Subject;
use crate::core::{EntityId, TenantId, Value};
use crate::engine::reflex::{
    BgpDropHandler, DeclarativeReflex, LinkDownHandler, ReflexHandler, SecurityAlertHandler,
    ThenTemplate,
};
use crate::engine::{EntitySpec, Fields, Rule};
use crate::scenario::Generator;
use crate::scenario::UserInvariant;
use crate::scenario::{FaultConfig, ScheduledFault};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Default virtual-time budget: one hour.
pub const UNTIL_DEFAULT_MS: u64 = 3_600_000;
/// Default budget of scheduler steps per run.
pub const STEPS_MAX_DEFAULT: u64 = 1_000_000;
/// The largest `max_depth` a scenario may ask for (each level is a stack frame of the
/// inline cascade).
pub const DEPTH_MAX_LIMIT: u32 = 64;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The file it was loaded from, as given (used in the reproduce command).
    pub path: PathBuf,
    pub depth_max: u32,
    pub until: SimTime,
    pub allow_truncation: bool,
    pub steps_max: u64,
    /// `order = "file"`: root events that share a time run in file order instead of an
    /// order drawn from the seed (the shrinker writes this, to pin an order it found).
    pub file_order: bool,
    pub tenants: Vec<TenantId>,
    /// Each tenant's rules in registration order: its rule files, its inline rules, then
    /// the top-level rules.
    pub rules: BTreeMap<TenantId, Vec<Arc<Rule>>>,
    pub entities: BTreeMap<String, EntitySpec>,
    pub reflexes: Vec<ReflexSpec>,
    pub events: Vec<RootEvent>,
    pub expects: Vec<Expect>,
    /// `[faults]`: `Some` turns on message-per-reaction scheduling and fault injection.
    pub faults: Option<FaultConfig>,
    /// `[[fault]]` entries: an explicit schedule (reactions as messages, only these faults).
    pub schedule: Option<Vec<ScheduledFault>>,
    pub invariants: Vec<InvariantSpec>,
    pub generators: Vec<Generator>,
}

/// When a scenario's own invariant is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckAt {
    /// After every scheduler step that settles an instant of virtual time (no other message
    /// is due at the same time), and at the end. An inline cascade is atomic: states that
    /// exist only inside one instant are not observed.
    Step,
    /// Once, when the run ends.
    End,
}

/// An `[[invariant]]` entry.
#[derive(Debug, Clone)]
pub struct InvariantSpec {
    pub invariant: UserInvariant,
    pub at: CheckAt,
    /// `None`: checked in every tenant.
    pub tenant: Option<TenantId>,
}

/// A `[[reflex]]` entry.
#[derive(Debug, Clone)]
pub struct ReflexSpec {
    pub id: String,
    /// `None`: every tenant, each with its own copy (and its own dedup memory).
    pub tenant: Option<TenantId>,
    pub kind: ReflexKind,
}

#[derive(Debug, Clone)]
pub enum ReflexKind {
    LinkDown,
    BgpDrop,
    SecurityAlert,
    Declarative {
        pattern: Pattern,
        severity: Severity,
        then: Option<ThenTemplate>,
    },
}

impl ReflexSpec {
    /// A fresh handler (empty dedup memory).
    pub fn instantiate(&self) -> Box<dyn ReflexHandler> {
        match &self.kind {
            ReflexKind::LinkDown => Box::new(LinkDownHandler::new()),
            ReflexKind::BgpDrop => Box::new(BgpDropHandler::new()),
            ReflexKind::SecurityAlert => Box::new(SecurityAlertHandler::new()),
            ReflexKind::Declarative {
                pattern,
                severity,
                then,
            } => Box::new(DeclarativeReflex::new(
                self.id.clone(),
                pattern.clone(),
                *severity,
                then.clone(),
            )),
        }
    }

    /// Whether this reflex runs in `tenant`.
    pub fn serves(&self, tenant: &TenantId) -> bool {
        self.tenant.as_ref().is_none_or(|t| t == tenant)
    }
}

/// A root input: a bus publication or an entity action, at a virtual time.
#[derive(Debug, Clone, PartialEq)]
pub struct RootEvent {
    pub at: SimTime,
    pub tenant: TenantId,
    pub input: Input,
}

impl RootEvent {
    /// The dispatch of an entity-action input (root event number `index`), borrowed: in its
    /// tenant, at depth 0. `None` for a publication.
    pub fn dispatch(&self, index: u32) -> Option<crate::engine::DispatchRef<'_>> {
        let Input::Dispatch {
            entity_type,
            id,
            action,
            params,
        } = &self.input
        else {
            return None;
        };
        Some(crate::engine::DispatchRef {
            tenant: &self.tenant,
            source_tenant: &self.tenant,
            entity_type,
            id: id.as_str(),
            action,
            params,
            depth: crate::core::Depth(0),
            origin: crate::core::OriginRef::Root { event: index },
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Publish {
        subject: Subject,
        payload: Value,
    },
    Dispatch {
        entity_type: String,
        id: EntityId,
        action: String,
        params: Value,
    },
}

/// An `[[expect]]` entry, checked at quiescence.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub tenant: TenantId,
    pub entity_type: String,
    pub id: EntityId,
    pub status: Option<String>,
    pub fields: Fields,
    /// `false`: the entity must never have been created.
    pub exists: bool,
}

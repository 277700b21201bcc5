//! A validated scenario: everything a run needs, with nothing left to check.

use crate::bus::Pattern;
use crate::core::Severity;
use crate::core::SimTime;
use crate::core::Subject;
use crate::core::{EntityId, TenantId, Value};
use crate::engine::reflex::{
    builtin_handler_with, DeclarativeReflex, Detached, ExternalHandler, ExternalSpec,
    ReflexHandler, ThenTemplate,
};
use crate::engine::{EntitySpec, Fields, Integration, Rule};
use crate::scenario::temper::SpecInvariant;
use crate::scenario::temper::{IntegrationSetting, TemperFiles};
use crate::scenario::Generator;
use crate::scenario::UserInvariant;
use crate::scenario::{FaultConfig, ScheduledFault};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// Default virtual-time budget: one hour.
pub const UNTIL_DEFAULT_MS: u64 = 3_600_000;
/// Default budget of scheduler steps per run.
pub const STEPS_MAX_DEFAULT: u64 = 1_000_000;
/// Most actions one scheduler step may dispatch (a root input or a delivery, and every
/// reaction it runs inline), by default: a reaction fan-out (six rules on one action, eight
/// levels deep, is 1.7 million dispatches) stops here instead of filling memory.
pub const CASCADE_DISPATCHES_MAX_DEFAULT: u64 = 100_000;
/// Most messages in flight (queued deliveries, reactions and inputs) by default: duplicated
/// deliveries that multiply stop here.
pub const MESSAGES_MAX_DEFAULT: u64 = 250_000;
/// Most bytes one run may hold at once by default (the world, messages in flight, the
/// invariants' state; not what the run keeps for its output): 256 MiB, so that a run, the
/// outcome it reports and the run that checks its determinism fit in 1 GiB. Measured by the
/// allocator per thread, the same on every machine for one build.
pub const MEMORY_MAX_DEFAULT: u64 = 256 << 20;
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
    /// Most actions one scheduler step may dispatch ([`CASCADE_DISPATCHES_MAX_DEFAULT`]).
    pub cascade_dispatches_max: u64,
    /// Most messages in flight at once ([`MESSAGES_MAX_DEFAULT`]).
    pub messages_max: u64,
    /// Most bytes the run may hold ([`MEMORY_MAX_DEFAULT`]).
    pub memory_max: u64,
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
    /// Rules written for temper's runtime engine, per tenant, in file order.
    pub runtime_rules: BTreeMap<TenantId, Vec<Arc<Rule>>>,
    /// The temper files each tenant loads (specs, runtime-engine rule files), written back
    /// as files when the scenario is.
    pub temper_files: BTreeMap<TenantId, TemperFiles>,
    /// Where each rule loaded from a rule file is declared: its file and the offset of its
    /// table (the lint points there). Rules written in the scenario file are not listed.
    pub rule_files: BTreeMap<String, (std::path::PathBuf, usize)>,
    /// Entity types that come from temper specs.
    pub spec_types: BTreeSet<String>,
    /// The specs' own invariants (`spec:<Type>.<Name>`).
    pub spec_invariants: Vec<SpecInvariant>,
    /// The specs' integrations, as the scenario configures them.
    pub integrations: Vec<Arc<Integration>>,
    /// The scenario's `[[integration]]` settings, as given.
    pub integration_settings: Vec<IntegrationSetting>,
    /// Constructs of the loaded files that Ripple reads but does not simulate, one line each
    /// (`path:line:col: warning: ...`).
    pub warnings: Vec<String>,
    /// `[[answer]]` entries: integration answers fixed by call instead of drawn from the
    /// seed (the model checker's counterexamples write them).
    pub answers: Vec<PinnedAnswer>,
}

/// An `[[answer]]` entry: the `nth` call of `integration` on `target` (`Type/id`, in any
/// tenant) answers `answer`, after `delay_ms` when given (any delay: a pinned answer need
/// not keep to the integration's range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedAnswer {
    pub integration: String,
    pub target: String,
    pub nth: u32,
    pub answer: String,
    pub delay_ms: Option<u64>,
}

impl Scenario {
    /// The names of the rules that carry integration answers and scheduled actions (they
    /// run in every tenant, as entity types are shared).
    pub fn integration_rule_names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self
            .integrations
            .iter()
            .flat_map(|i| i.answers.iter().map(|a| a.rule.name.clone()))
            .collect();
        for spec in self.entities.values() {
            for action in spec.actions.values() {
                for c in &action.commands {
                    if let crate::engine::Command::Schedule(i) = c {
                        names.extend(i.answers.iter().map(|a| a.rule.name.clone()));
                    }
                }
            }
        }
        names
    }
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
    /// A first-party handler (`link_down`, `bgp_drop`, `security_alert`), subscribed on
    /// `pattern` and deduplicating within `dedup_window_ms`: netcortex's own unless the
    /// scenario overrides them.
    Builtin {
        name: String,
        pattern: Pattern,
        dedup_window_ms: u64,
    },
    Declarative {
        pattern: Pattern,
        severity: Severity,
        then: Option<ThenTemplate>,
    },
    /// A handler in any language: a child process speaking JSON lines. `line` and `column`
    /// place its `command` in the scenario file, for an error found when it starts.
    Process {
        spec: Arc<ExternalSpec>,
        line: usize,
        column: usize,
    },
    /// A handler written in Rust by the scenario's user and registered with the runner
    /// under the reflex's `id` (`Runner::handler`); it brings its own pattern. `line` and
    /// `column` place the reflex, for the error when nothing is registered under its id.
    Library { line: usize, column: usize },
}

impl ReflexSpec {
    /// A fresh handler (empty dedup memory). A process handler built here is detached: it
    /// registers (id, pattern, fingerprint) but runs nothing; the simulator attaches its
    /// process driver (`sim::instantiate_reflex`).
    pub fn instantiate(&self) -> Box<dyn ReflexHandler> {
        match &self.kind {
            ReflexKind::Builtin {
                name,
                pattern,
                dedup_window_ms,
            } => builtin_handler_with(name, Some(pattern.clone()), Some(*dedup_window_ms))
                .expect("the loader checks builtin names"),
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
            ReflexKind::Process { spec, .. } => {
                Box::new(ExternalHandler::new(Arc::clone(spec), Box::new(Detached)))
            }
            ReflexKind::Library { .. } => Box::new(Unregistered::new(&self.id)),
        }
    }

    /// Whether this reflex is code from outside the scenario: a process it starts or a Rust
    /// handler a library registers.
    pub fn is_external(&self) -> bool {
        matches!(
            self.kind,
            ReflexKind::Process { .. } | ReflexKind::Library { .. }
        )
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
    /// How the scenario wrote a publication that netcortex's publishers derive from a vendor
    /// input (`webhook = "meraki"`, `snmp = "poll" | "trap"`): the emitter writes it back that
    /// way (a derived payload may hold nulls, which TOML cannot).
    pub vendor: Option<VendorInput>,
}

/// A root publication as the vendor sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct VendorInput {
    pub kind: VendorKind,
    /// The webhook's body, or what the poller saw or the trap carried.
    pub payload: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VendorKind {
    MerakiWebhook,
    SnmpPoll,
    SnmpTrap { event_class: String },
}

impl Scenario {
    /// Does an event name its target by `created_by` (so the engine must note what `create`
    /// rules make)?
    pub fn names_created_entities(&self) -> bool {
        self.events.iter().any(|e| {
            matches!(
                e.input,
                Input::Dispatch {
                    created_by: Some(_),
                    ..
                }
            )
        })
    }
}

impl RootEvent {
    /// The entity an action input names by `created_by`, looked up in `store` as the event
    /// runs: `Ok(None)` when the event names its id itself (or is a publication),
    /// `Ok(Some(id))` when the rule created it and it exists, `Err` (what to report) when it
    /// does not, or not yet.
    pub fn created_target(
        &self,
        index: u32,
        store: &crate::engine::Store,
    ) -> Result<Option<EntityId>, String> {
        let Input::Dispatch {
            entity_type,
            action,
            created_by: Some(c),
            ..
        } = &self.input
        else {
            return Ok(None);
        };
        let source = format!("{}/{}", c.source_type, c.source_id);
        match store.created_by(&self.tenant, &c.rule, &source, c.nth) {
            Some(id)
                if store
                    .get(self.tenant.as_str(), entity_type, id.as_str())
                    .is_some() =>
            {
                Ok(Some(id.clone()))
            }
            Some(id) => Err(format!(
                "event #{index} ({entity_type}.{action}) targets {c}: its id {id} is minted, \
                 but the entity does not exist yet (its message is still in flight); the \
                 event did nothing"
            )),
            None => Err(format!(
                "event #{index} ({entity_type}.{action}) targets {c}, and the rule has not \
                 created it (yet); the event did nothing"
            )),
        }
    }

    /// The dispatch of an entity-action input (root event number `index`), borrowed: in its
    /// tenant, at depth 0, caused by the `input` record at step `cause`, on the entity `id`
    /// (the event's own id, or the one its `created_by` resolved to). `None` for a
    /// publication.
    pub fn dispatch<'a>(
        &'a self,
        index: u32,
        cause: u64,
        id: &'a str,
    ) -> Option<crate::engine::DispatchRef<'a>> {
        let Input::Dispatch {
            entity_type,
            action,
            params,
            ..
        } = &self.input
        else {
            return None;
        };
        Some(crate::engine::DispatchRef {
            tenant: &self.tenant,
            source_tenant: &self.tenant,
            entity_type,
            id,
            action,
            params,
            depth: crate::core::Depth(0),
            origin: crate::core::OriginRef::Root { event: index },
            cause,
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
        /// The target's id; empty when `created_by` names it instead.
        id: EntityId,
        action: String,
        params: Value,
        /// The target is the entity a `create` rule made for a source, found when the event
        /// runs (its id is minted at run time): `dispatch.created_by` in the scenario.
        created_by: Option<CreatedBy>,
    },
}

/// "The entity rule `rule` created for `source_type/source_id`" (the `nth` one, 1-based,
/// when the rule fired more than once for that source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedBy {
    pub rule: String,
    pub source_type: String,
    pub source_id: String,
    pub nth: u32,
}

impl std::fmt::Display for CreatedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the entity rule {} created for {}/{}",
            self.rule, self.source_type, self.source_id
        )?;
        if self.nth != 1 {
            write!(f, " (its #{} creation)", self.nth)?;
        }
        Ok(())
    }
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

/// Stands in for a library handler that nothing registered: it hears nothing (its pattern is
/// a subject no scenario publishes) and answers every event it is handed with an error that
/// says what is missing. A runner refuses to start without the handler (`Runner::handler`);
/// this only shows where a scenario is run without its runner (the model checker and the
/// command line refuse such scenarios before that).
#[derive(Debug, Clone)]
pub struct Unregistered {
    id: String,
    pattern: Pattern,
}

impl Unregistered {
    pub fn new(id: &str) -> Unregistered {
        Unregistered {
            id: id.to_string(),
            pattern: Pattern::new("_ripple.unregistered_library_handler")
                .expect("a literal pattern"),
        }
    }
}

impl ReflexHandler for Unregistered {
    fn id(&self) -> &str {
        &self.id
    }
    fn pattern(&self) -> &Pattern {
        &self.pattern
    }
    fn fingerprint(&self) -> String {
        format!("library:{}", self.id)
    }
    fn handle(
        &mut self,
        _event: &crate::bus::Envelope,
        _now: crate::core::SimTime,
    ) -> Result<Option<crate::engine::reflex::HandlerOutput>, String> {
        Err(format!(
            "library handler {:?} is not registered: register it with Runner::handler",
            self.id
        ))
    }
}

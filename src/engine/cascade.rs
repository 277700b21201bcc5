//! The cascade dispatcher: applies an action, then fires the tenant's matching rules,
//! depth-first and pre-order, exactly as the reaction engine does.
//!
//! Facts kept here (DESIGN section 1): exact-action rules before wildcard rules, each group
//! in registration order, `to_state` filtering both; a reaction's result is recorded before
//! its subtree runs; a rule about to fire at `depth >= max_depth` is dropped (and recorded);
//! a failing target stops only its branch; only the source tenant's rules fire and targets
//! and lookups stay in that tenant.
//!
//! Sans-IO: the engine gets time, fresh ids and a place to write records from its [`Host`].
//! With faults on, the host may take a reaction for later delivery ([`Host::defer`]): the
//! guard and resolver have then been evaluated at the source's commit, and the target action
//! runs when [`Engine::deliver`] is called.
//!
//! Temper specs add commands to a commit (`emit`, `trigger`, `schedule`). After the commit's
//! server-dispatcher rules have run, each command is handed on in effect order: a call of an
//! integration (or a timer) goes to the host ([`Host::integration`]), which delivers the
//! answer later; and rules written for temper's runtime engine fire on the action's name and
//! then on each command's name (exact rules, then wildcards, `to_state` filtering both), as
//! temper's spec actors look their reaction registry up for every command a transition
//! produces. Those rules resolve targets with that engine's semantics
//! ([`crate::engine::Resolver::resolve_runtime_ref`]).

use crate::core::SimTime;
use crate::core::{get_named, Depth, EntityId, TenantId, Value};
use crate::core::{Origin, OriginRef, Record, RecordRef};
use crate::engine::{
    merge_params, ActionError, ActionSpec, Command, Entity, EntitySpec, Fields, Guard,
    IntegrationCall, LookupKey, ParamPlan, Resolver, Rule, RuleSet, Sources, Store, Then,
};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the engine needs from its driver.
pub trait Host {
    fn now(&self) -> SimTime;
    /// A fresh id for a `create` resolver.
    fn mint_id(&mut self) -> String;
    /// Writes a record; returns its step (its 0-based position in the run's trace), which
    /// the records it causes name as their `cause`.
    fn record(&mut self, record: Record) -> u64;
    /// A record, borrowed from the engine (which writes every record through this). The
    /// default makes it owned and calls [`Host::record`]; a host that encodes or checks
    /// records without keeping them all implements this to skip the copy.
    fn record_ref(&mut self, record: RecordRef<'_>) -> u64 {
        self.record(record.to_record())
    }
    /// An action committed at causal depth `depth`; the host publishes
    /// `entity.<Type>.<Action>.<id>` on the bus. Everything is borrowed from the engine.
    fn committed(
        &mut self,
        tenant: &TenantId,
        entity_type: &str,
        id: &str,
        action: &str,
        status: &str,
        depth: Depth,
    );
    /// Fault injection: should this action fail? Default: never.
    fn fail_action(&mut self, _dispatch: &ActionDispatch) -> bool {
        false
    }
    /// Faults mode: take the reaction to deliver it later (return `None`), or hand it back
    /// to run inline now (the default, and the behaviour without faults).
    fn defer(&mut self, reaction: PendingReaction) -> Option<PendingReaction> {
        Some(reaction)
    }
    /// A committed action called an integration (or scheduled one of its own actions): the
    /// host delivers one of its answers later ([`crate::engine::Integration::answer`], then
    /// [`Engine::deliver`]), or none. Default: nothing answers.
    fn integration(&mut self, _call: IntegrationCall<'_>) {}
    /// `true` promises that [`Host::fail_action`] is always false and [`Host::defer`] always
    /// hands the reaction back, as the defaults do: the engine then calls neither, and never
    /// builds the owned [`ActionDispatch`] and [`PendingReaction`] they take. Default `false`
    /// (the engine asks).
    fn runs_inline(&self) -> bool {
        false
    }
    /// `true` once the host's budget for the work in hand is spent (the actions one step
    /// may dispatch): the engine then fires no more rules, and the cascade unwinds. The host
    /// says why the run stopped. Default: never.
    fn exhausted(&self) -> bool {
        false
    }
}

/// An action to apply. Its names are owned (`ActionDispatch`, the default types) or
/// borrowed ([`DispatchRef`], what [`Engine::dispatch_ref`] takes, so that a caller that
/// holds the names already, a root event of the scenario or a reflex's request, does not
/// clone them for one dispatch): one type in two forms. `T` is the tenants' type, `N` the
/// names', `I` the id's, `P` the params'.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ActionDispatch<T = TenantId, N = String, I = EntityId, P = Value> {
    pub tenant: T,
    pub source_tenant: T,
    pub entity_type: N,
    pub id: I,
    pub action: N,
    pub params: P,
    /// Causal hops from the root input.
    pub depth: Depth,
    pub origin: Origin<N>,
    /// The step of the record that caused it: the root's `input`, the reflex's `outcome`, or
    /// the source's `transition` (see [`Record::cause`]).
    pub cause: u64,
}

/// An [`ActionDispatch`], borrowed.
pub type DispatchRef<'a> = ActionDispatch<&'a TenantId, &'a str, &'a str, &'a Value>;

impl ActionDispatch {
    pub fn view(&self) -> DispatchRef<'_> {
        ActionDispatch {
            tenant: &self.tenant,
            source_tenant: &self.source_tenant,
            entity_type: &self.entity_type,
            id: self.id.as_str(),
            action: &self.action,
            params: &self.params,
            depth: self.depth,
            origin: self.origin.view(),
            cause: self.cause,
        }
    }
}

/// A reaction whose guard passed and whose target was resolved, not yet applied.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingReaction {
    pub rule: Arc<Rule>,
    /// The reaction's depth (its source's hop count); the target action is at `depth + 1`.
    pub depth: Depth,
    pub dispatch: ActionDispatch,
}

/// The params of an action on its way through the engine.
#[derive(Debug, Clone, Copy)]
enum Params<'a> {
    /// Given as a value (a root event, a reflex, a delivered reaction).
    Value(&'a Value),
    /// A rule's params, built from the source's fields only where they are merged into the
    /// target ([`ParamPlan::merge_sources_into`]): an inline reaction never builds them as a
    /// value. The sources were looked up in the source's fields when the rule fired (for its
    /// warnings); `then` builds the params as a value for a deferred reaction.
    Rule {
        then: &'a Then,
        plan: &'a ParamPlan,
        sources: Sources<'a>,
    },
}

/// An action on its way through the engine: every name borrowed from the dispatch it came
/// from, the rule that fired it, or the source it was resolved from.
#[derive(Debug, Clone, Copy)]
struct Act<'a> {
    tenant: &'a TenantId,
    source_tenant: &'a TenantId,
    entity_type: &'a str,
    id: &'a str,
    action: &'a str,
    params: Params<'a>,
    depth: Depth,
    origin: OriginRef<'a>,
    cause: u64,
    /// The owned dispatch this is, when there is one (for [`Host::fail_action`]).
    owned: Option<&'a ActionDispatch>,
    /// The target's spec, action and next rules, when a rule's plan knows them (otherwise
    /// they are looked up by name).
    target: Option<&'a Target>,
}

impl<'a> Act<'a> {
    fn of_ref(d: &DispatchRef<'a>) -> Act<'a> {
        Act {
            tenant: d.tenant,
            source_tenant: d.source_tenant,
            entity_type: d.entity_type,
            id: d.id,
            action: d.action,
            params: Params::Value(d.params),
            depth: d.depth,
            origin: d.origin,
            cause: d.cause,
            owned: None,
            target: None,
        }
    }

    fn of_owned(d: &'a ActionDispatch) -> Act<'a> {
        Act {
            owned: Some(d),
            ..Act::of_ref(&d.view())
        }
    }

    fn to_dispatch(self) -> ActionDispatch {
        ActionDispatch {
            tenant: self.tenant.clone(),
            source_tenant: self.source_tenant.clone(),
            entity_type: self.entity_type.to_string(),
            id: EntityId::new(self.id),
            action: self.action.to_string(),
            // Warnings were recorded when the rule was evaluated.
            params: match self.params {
                Params::Value(v) => v.clone(),
                Params::Rule { then, sources, .. } => {
                    then.build_params(sources.source_id(), sources.fields(), &mut Vec::new())
                }
            },
            depth: self.depth,
            origin: self.origin.to_origin(),
            cause: self.cause,
        }
    }
}

/// A committed action, as its rules see it.
struct Commit<'a> {
    tenant: &'a TenantId,
    entity_type: &'a str,
    id: &'a str,
    action: &'a str,
    depth: Depth,
    /// The step of the commit's `transition` record: what its rules' records name as their
    /// cause.
    cause: u64,
    /// The source after the commit: every rule of this commit sees this snapshot, even if
    /// an earlier sibling's subtree changed the entity since.
    after: Arc<Entity>,
    /// The rules that may fire, when the plan knows them (otherwise found by name).
    next: Option<&'a [usize]>,
    /// The action's commands (temper specs; empty otherwise).
    commands: &'a [Command],
}

/// An action applied.
struct Applied<'a> {
    /// The status before, when the action changed it.
    from: Option<Cow<'a, str>>,
    created: bool,
    after: Arc<Entity>,
    commands: &'a [Command],
}

/// The reaction engine: entity specs, per-tenant rules, and the entity store.
///
/// The specs, rules and plan never change once the engine is built; they are shared
/// (behind `Arc`s) by the engines [`Engine::fresh`] makes, one per run of a sweep.
#[derive(Debug, Clone)]
pub struct Engine {
    specs: Arc<BTreeMap<String, EntitySpec>>,
    rules: Arc<BTreeMap<TenantId, RuleSet>>,
    /// Rules written for temper's runtime engine, per tenant (see the module header).
    runtime_rules: Arc<BTreeMap<TenantId, RuleSet>>,
    store: Store,
    depth_max: u32,
    plan: Arc<Plan>,
    /// The cascade's slot cache (see `Cascade::slots`), kept here so that entering the
    /// engine allocates nothing; emptied at every entry.
    slots: SlotCache,
    /// Note the entities `create` rules make in the store ([`Engine::track_created`]).
    track_created: bool,
}

/// The engine's slot cache: it holds nothing between entries, so `Debug` shows nothing of it.
#[derive(Clone, Default)]
struct SlotCache(Vec<Option<usize>>);

impl std::fmt::Debug for SlotCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SlotCache")
    }
}

/// What the engine works out once, when it is built, from names that never change: where
/// each rule's reactions go. A reaction then finds its target's spec and action, and the
/// rules its commit may fire, by index rather than by name at every step.
#[derive(Debug, Clone, Default)]
struct Plan {
    /// Per tenant with rules: per rule, by its index in the tenant's [`RuleSet`].
    rules: BTreeMap<TenantId, Vec<RulePlan>>,
    /// The same for the runtime engine's rules.
    runtime: BTreeMap<TenantId, Vec<RulePlan>>,
}

/// What a rule's firing needs that can be worked out before the run.
#[derive(Debug, Clone)]
struct RulePlan {
    /// `None` when the rule names an undeclared type or action.
    target: Option<Target>,
    params: ParamPlan,
    /// A rule of temper's runtime engine: its target resolves with that engine's semantics.
    runtime: bool,
}

/// A rule's target, when its entity type is declared with its action (a rule that names
/// anything else has no plan: its dispatches fail by name, as they always did).
#[derive(Debug, Clone)]
struct Target {
    /// The target type's position among the specs (by name).
    type_ix: usize,
    spec: Arc<EntitySpec>,
    action: ActionSpec,
    /// The tenant's rules that may fire on the target's commit (before the `to_state`
    /// filter): [`RuleSet::candidates`], exact-action ones then wildcards.
    next: Vec<usize>,
}

impl Target {
    /// The target of a rule that dispatches `then`, if its type and action are declared.
    fn of(
        then: &Then,
        set: &RuleSet,
        shared: &BTreeMap<&str, (usize, Arc<EntitySpec>)>,
    ) -> Option<Target> {
        let (type_ix, spec) = shared.get(then.entity_type.as_str())?;
        let action = spec.actions.get(&then.action)?.clone();
        let (exact, wildcard) = set.candidates(&then.entity_type, &then.action);
        Some(Target {
            type_ix: *type_ix,
            spec: spec.clone(),
            action,
            next: exact.iter().chain(wildcard).copied().collect(),
        })
    }
}

impl Plan {
    fn new(
        specs: &BTreeMap<String, EntitySpec>,
        rules: &BTreeMap<TenantId, RuleSet>,
        runtime_rules: &BTreeMap<TenantId, RuleSet>,
    ) -> Plan {
        let shared: BTreeMap<&str, (usize, Arc<EntitySpec>)> = specs
            .iter()
            .enumerate()
            .map(|(i, (name, spec))| (name.as_str(), (i, Arc::new(spec.clone()))))
            .collect();
        let empty = RuleSet::default();
        // A target's next rules are always the server's: the runtime engine's are found by
        // command name at each commit.
        let plans = |sets: &BTreeMap<TenantId, RuleSet>, runtime: bool| {
            sets.iter()
                .map(|(tenant, set)| {
                    let server = get_named(rules, tenant.as_str()).unwrap_or(&empty);
                    let targets = set
                        .rules()
                        .iter()
                        .map(|rule| RulePlan {
                            target: Target::of(&rule.then, server, &shared),
                            params: ParamPlan::new(&rule.then),
                            runtime,
                        })
                        .collect();
                    (tenant.clone(), targets)
                })
                .collect()
        };
        Plan {
            rules: plans(rules, false),
            runtime: plans(runtime_rules, true),
        }
    }
}

/// The engine's immutable part, borrowed apart from the store so that a cascade can hold
/// rules and specs (and the names in them) while it changes entities.
struct Cascade<'e> {
    specs: &'e BTreeMap<String, EntitySpec>,
    depth_max: u32,
    /// [`Host::runs_inline`], asked once per entry into the engine.
    inline: bool,
    /// The rules of the entry's tenant and their plan: a whole cascade stays in the tenant
    /// of the action that started it. `None`: the tenant has no rules.
    tenant_rules: Option<(&'e RuleSet, &'e [RulePlan])>,
    /// The tenant's rules for temper's runtime engine, and their plan.
    runtime_rules: Option<(&'e RuleSet, &'e [RulePlan])>,
    /// That tenant (checked in debug builds).
    tenant: Option<&'e TenantId>,
    /// [`Engine::track_created`].
    track_created: bool,
    /// Per entity type (by [`Target::type_ix`]): the store slot of its table in the tenant,
    /// once a planned reaction has looked it up.
    slots: &'e [Cell<Option<usize>>],
}

impl Engine {
    /// `depth_max` is the scenario's `max_depth` (8 = `MAX_REACTION_DEPTH` by default).
    pub fn new(
        specs: BTreeMap<String, EntitySpec>,
        rules: BTreeMap<TenantId, RuleSet>,
        depth_max: u32,
    ) -> Engine {
        Engine::with_runtime_rules(specs, rules, BTreeMap::new(), depth_max)
    }

    /// [`Engine::new`] with rules for temper's runtime engine as well (see the module
    /// header).
    pub fn with_runtime_rules(
        specs: BTreeMap<String, EntitySpec>,
        rules: BTreeMap<TenantId, RuleSet>,
        runtime_rules: BTreeMap<TenantId, RuleSet>,
        depth_max: u32,
    ) -> Engine {
        let plan = Plan::new(&specs, &rules, &runtime_rules);
        Engine {
            specs: Arc::new(specs),
            rules: Arc::new(rules),
            runtime_rules: Arc::new(runtime_rules),
            store: Store::default(),
            depth_max,
            plan: Arc::new(plan),
            slots: SlotCache::default(),
            track_created: false,
        }
    }

    /// Notes, in the store, every entity a `create` rule mints, by rule and source
    /// ([`Store::created_by`]): for scenarios whose events name an entity that way. Off by
    /// default (nothing is noted).
    pub fn track_created(&mut self) {
        self.track_created = true;
    }

    /// An engine with the same specs, rules and depth bound (shared, not copied) and an
    /// empty store: where another run of the same scenario starts.
    pub fn fresh(&self) -> Engine {
        Engine {
            specs: Arc::clone(&self.specs),
            rules: Arc::clone(&self.rules),
            runtime_rules: Arc::clone(&self.runtime_rules),
            store: Store::default(),
            depth_max: self.depth_max,
            plan: Arc::clone(&self.plan),
            slots: SlotCache::default(),
            track_created: self.track_created,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut Store {
        &mut self.store
    }

    pub fn specs(&self) -> &BTreeMap<String, EntitySpec> {
        &self.specs
    }

    pub fn rules(&self) -> &BTreeMap<TenantId, RuleSet> {
        &self.rules
    }

    /// The rules for temper's runtime engine, per tenant.
    pub fn runtime_rules(&self) -> &BTreeMap<TenantId, RuleSet> {
        &self.runtime_rules
    }

    pub fn depth_max(&self) -> u32 {
        self.depth_max
    }

    /// The cascade for an action in `tenant`, and the store it changes.
    fn split<'e>(
        &'e mut self,
        host: &dyn Host,
        tenant: &'e TenantId,
    ) -> (Cascade<'e>, &'e mut Store) {
        let tenant_rules = get_named(&self.rules, tenant.as_str()).map(|set| {
            let plan = get_named(&self.plan.rules, tenant.as_str())
                .expect("the plan has every tenant with rules");
            (set, plan.as_slice())
        });
        let runtime_rules = get_named(&self.runtime_rules, tenant.as_str()).map(|set| {
            let plan = get_named(&self.plan.runtime, tenant.as_str())
                .expect("the plan has every tenant with runtime rules");
            (set, plan.as_slice())
        });
        self.slots.0.clear();
        self.slots.0.resize(self.specs.len(), None);
        (
            Cascade {
                specs: &self.specs,
                depth_max: self.depth_max,
                inline: host.runs_inline(),
                tenant_rules,
                runtime_rules,
                tenant: cfg!(debug_assertions).then_some(tenant),
                track_created: self.track_created,
                slots: Cell::from_mut(self.slots.0.as_mut_slice()).as_slice_of_cells(),
            },
            &mut self.store,
        )
    }

    /// Applies a root or reflex action and runs its whole cascade (inline, or deferring
    /// reactions to the host in faults mode).
    pub fn dispatch(&mut self, host: &mut dyn Host, d: ActionDispatch) -> Result<(), ActionError> {
        let (cascade, store) = self.split(host, &d.tenant);
        cascade.dispatch(store, host, &Act::of_owned(&d))
    }

    /// [`Engine::dispatch`], borrowing the action's names.
    pub fn dispatch_ref(
        &mut self,
        host: &mut dyn Host,
        d: DispatchRef<'_>,
    ) -> Result<(), ActionError> {
        let (cascade, store) = self.split(host, d.tenant);
        cascade.dispatch(store, host, &Act::of_ref(&d))
    }

    /// Faults mode: a deferred reaction's message arrived; apply its target now, record the
    /// result, and run the target's rules.
    pub fn deliver(&mut self, host: &mut dyn Host, pending: &PendingReaction) {
        let (cascade, store) = self.split(host, &pending.dispatch.tenant);
        cascade.run_pending(store, host, pending);
    }
}

impl<'e> Cascade<'e> {
    fn dispatch(
        &self,
        store: &mut Store,
        host: &mut dyn Host,
        d: &Act<'_>,
    ) -> Result<(), ActionError> {
        // A reflex hop counts like a reaction hop: never dispatch beyond the bound.
        if d.depth.0 > self.depth_max {
            let rule: Cow<str> = match d.origin {
                OriginRef::Reflex { handler, .. } => Cow::Owned(format!("reflex:{handler}")),
                OriginRef::Rule { rule, .. } => Cow::Borrowed(rule),
                OriginRef::Root { event } => Cow::Owned(format!("event:{event}")),
            };
            host.record_ref(RecordRef::DepthLimit {
                at: host.now(),
                cause: d.cause,
                tenant: d.tenant.as_str(),
                rule: &rule,
                depth: Depth(d.depth.0 - 1),
            });
            return Ok(());
        }
        let commit = self.commit(store, host, d)?;
        self.fire_rules(store, host, &commit);
        self.run_commands(store, host, &commit);
        Ok(())
    }

    fn run_pending(&self, store: &mut Store, host: &mut dyn Host, p: &PendingReaction) {
        self.run_reaction(
            store,
            host,
            &Act::of_owned(&p.dispatch),
            &p.rule.name,
            p.depth,
        );
    }

    /// Applies a reaction's target action, records the result, and runs the target's rules.
    fn run_reaction(
        &self,
        store: &mut Store,
        host: &mut dyn Host,
        d: &Act<'_>,
        rule: &str,
        depth: Depth,
    ) {
        let result = self.commit(store, host, d);
        let error = result.as_ref().err().map(ActionError::to_string);
        host.record_ref(RecordRef::Reaction {
            at: host.now(),
            cause: d.cause,
            tenant: d.tenant.as_str(),
            rule,
            depth,
            success: result.is_ok(),
            target_type: d.entity_type,
            target_id: Some(d.id),
            target_status: result.as_ref().ok().map(|c| c.after.status.as_str()),
            error: error.as_deref(),
        });
        if let Ok(commit) = result {
            self.fire_rules(store, host, &commit);
            self.run_commands(store, host, &commit);
        }
    }

    /// Applies one action: records the dispatch, then a transition or a failure.
    fn commit<'a>(
        &self,
        store: &mut Store,
        host: &mut dyn Host,
        d: &Act<'a>,
    ) -> Result<Commit<'a>, ActionError>
    where
        'e: 'a,
    {
        let at = host.now();
        let tenant = d.tenant.as_str();
        let dispatched = host.record_ref(RecordRef::Dispatch {
            at,
            cause: d.cause,
            tenant,
            source_tenant: d.source_tenant.as_str(),
            entity_type: d.entity_type,
            id: d.id,
            action: d.action,
            depth: d.depth,
            origin: d.origin,
        });
        match self.apply(store, host, d) {
            Ok(Applied {
                from,
                created,
                after,
                commands,
            }) => {
                let cause = host.record_ref(RecordRef::Transition {
                    at,
                    cause: dispatched,
                    tenant,
                    entity_type: d.entity_type,
                    id: d.id,
                    action: d.action,
                    from: from.as_deref().unwrap_or(&after.status),
                    to: &after.status,
                    created,
                });
                host.committed(
                    d.tenant,
                    d.entity_type,
                    d.id,
                    d.action,
                    &after.status,
                    d.depth,
                );
                Ok(Commit {
                    tenant: d.tenant,
                    entity_type: d.entity_type,
                    id: d.id,
                    action: d.action,
                    depth: d.depth,
                    cause,
                    after,
                    next: d.target.map(|t| t.next.as_slice()),
                    commands,
                })
            }
            Err(e) => {
                let error = e.to_string();
                host.record_ref(RecordRef::ActionFailed {
                    at,
                    cause: dispatched,
                    tenant,
                    entity_type: d.entity_type,
                    id: d.id,
                    action: d.action,
                    error: &error,
                });
                Err(e)
            }
        }
    }

    fn apply<'a>(
        &self,
        store: &mut Store,
        host: &mut dyn Host,
        d: &Act<'a>,
    ) -> Result<Applied<'a>, ActionError>
    where
        'e: 'a,
    {
        let unknown = || ActionError::UnknownAction {
            entity_type: d.entity_type.to_string(),
            action: d.action.to_string(),
        };
        let (spec, action) = match d.target {
            Some(target) => (&*target.spec, &target.action),
            None => {
                let spec = get_named(self.specs, d.entity_type).ok_or_else(unknown)?;
                (
                    spec,
                    get_named(&spec.actions, d.action).ok_or_else(unknown)?,
                )
            }
        };
        if !self.inline {
            let failed = match d.owned {
                Some(owned) => host.fail_action(owned),
                None => host.fail_action(&d.to_dispatch()),
            };
            if failed {
                return Err(ActionError::Injected {
                    action: d.action.to_string(),
                });
            }
        }
        let merge = |fields: &mut Fields| match d.params {
            Params::Value(params) => merge_params(fields, params),
            Params::Rule { plan, sources, .. } => plan.merge_sources_into(&sources, fields),
        };
        // A planned reaction finds its target's table by slot (a whole cascade stays in one
        // tenant); anything else by names.
        let slot = match d.target {
            Some(target) => {
                debug_assert!(self.tenant.is_none_or(|t| t == d.tenant));
                let cached = &self.slots[target.type_ix];
                cached.get().or_else(|| {
                    let slot = store.slot(d.tenant.as_str(), d.entity_type);
                    cached.set(slot);
                    slot
                })
            }
            None => store.slot(d.tenant.as_str(), d.entity_type),
        };
        let found = match slot {
            Some(slot) => store.get_shared_mut_in(slot, d.id),
            None => None,
        };
        // Entities come into being in their initial state on first touch; a failed first
        // action leaves nothing behind.
        match found {
            Some(slot) => {
                // The status before is needed only when the action may change it; it is
                // borrowed from the spec's states (or copied, for an undeclared one).
                let from =
                    action
                        .may_change(&slot.status)
                        .then(|| match spec.state_named(&slot.status) {
                            Some(state) => Cow::Borrowed(state),
                            None => Cow::Owned(slot.status.clone()),
                        });
                // Copies the entity only while a commit's snapshot of it is alive.
                action.apply(Arc::make_mut(slot), d.action, merge)?;
                Ok(Applied {
                    from,
                    created: false,
                    after: slot.clone(),
                    commands: &action.commands,
                })
            }
            None => {
                let mut entity = spec.instantiate();
                action.apply(&mut entity, d.action, merge)?;
                let entity = Arc::new(entity);
                store.insert_shared(d.tenant, d.entity_type, d.id, entity.clone());
                Ok(Applied {
                    from: Some(Cow::Borrowed(spec.initial.as_str())),
                    created: true,
                    after: entity,
                    commands: &action.commands,
                })
            }
        }
    }

    /// Fires every rule of the commit's tenant that matches it, depth-first, pre-order.
    fn fire_rules(&self, store: &mut Store, host: &mut dyn Host, c: &Commit<'_>) {
        let Some((rule_set, plans)) = self.tenant_rules else {
            return;
        };
        debug_assert_eq!(Some(c.tenant), self.tenant, "a cascade stays in its tenant");
        let status = c.after.status.as_str();
        match c.next {
            Some(next) => {
                for &i in next {
                    if rule_set.fires_in(i, status) {
                        self.fire(store, host, c, rule_set.get(i), &plans[i]);
                    }
                }
            }
            None => {
                for i in rule_set.matching_indices(c.entity_type, c.action, status) {
                    self.fire(store, host, c, rule_set.get(i), &plans[i]);
                }
            }
        }
    }

    /// The commit's commands, in effect order: each call goes to the host, and the runtime
    /// engine's rules fire on the action's name, then on each command's name (see the
    /// module header). Nothing to do for an action without commands in a tenant without
    /// runtime rules (every `[[entity]]` scenario).
    fn run_commands(&self, store: &mut Store, host: &mut dyn Host, c: &Commit<'_>) {
        for command in c.commands {
            if let Some(integration) = command.call() {
                host.integration(IntegrationCall {
                    tenant: c.tenant,
                    entity_type: c.entity_type,
                    id: c.id,
                    action: c.action,
                    integration,
                    depth: c.depth,
                    cause: c.cause,
                });
            }
        }
        let Some((rule_set, plans)) = self.runtime_rules else {
            return;
        };
        let status = c.after.status.as_str();
        let keys =
            std::iter::once(c.action).chain(c.commands.iter().filter_map(Command::routing_key));
        for key in keys {
            for i in rule_set.matching_indices(c.entity_type, key, status) {
                self.fire(store, host, c, rule_set.get(i), &plans[i]);
            }
        }
    }

    /// Depth bound, guard, resolver and params for one rule, then its reaction: run now, or
    /// handed to the host to deliver later. Stops (having recorded why) when the rule does
    /// not fire or its target does not resolve.
    fn fire(
        &self,
        store: &mut Store,
        host: &mut dyn Host,
        c: &Commit<'_>,
        rule: &'e Arc<Rule>,
        plan: &'e RulePlan,
    ) {
        if host.exhausted() {
            return;
        }
        let depth = c.depth;
        let tenant = c.tenant.as_str();
        if depth.0 >= self.depth_max {
            host.record_ref(RecordRef::DepthLimit {
                at: host.now(),
                cause: c.cause,
                tenant,
                rule: &rule.name,
                depth,
            });
            return;
        }
        if let Some(guard) = &rule.when.guard {
            if !guard_passes(store, guard, c) {
                host.record_ref(RecordRef::GuardSkip {
                    at: host.now(),
                    cause: c.cause,
                    tenant,
                    rule: &rule.name,
                    depth,
                });
                return;
            }
        }
        // `create` mints here, after the guard passed, so a skipped rule consumes no id.
        let target = if plan.runtime {
            rule.resolve_target
                .resolve_runtime_ref(c.id, &c.after.fields, &mut || host.mint_id())
        } else {
            rule.resolve_target
                .resolve_ref(c.id, &c.after.fields, &mut || host.mint_id())
        };
        let target_id = match target {
            Ok(id) if self.track_created && matches!(rule.resolve_target, Resolver::Create) => {
                store.note_created(
                    c.tenant,
                    &rule.name,
                    format!("{}/{}", c.entity_type, c.id),
                    &id,
                );
                id
            }
            Ok(id) => id,
            Err(error) => {
                host.record_ref(RecordRef::Reaction {
                    at: host.now(),
                    cause: c.cause,
                    tenant,
                    rule: &rule.name,
                    depth,
                    success: false,
                    target_type: &rule.then.entity_type,
                    target_id: None,
                    target_status: None,
                    error: Some(&error),
                });
                return;
            }
        };
        let sources = plan.params.sources(c.id, &c.after.fields);
        let mut warnings = Vec::new();
        plan.params.warnings_from(&sources, &mut warnings);
        for w in warnings {
            let message = format!("rule {}: {w}", rule.name);
            host.record_ref(RecordRef::Warning {
                at: host.now(),
                cause: c.cause,
                message: &message,
            });
        }
        let act = Act {
            tenant: c.tenant,
            source_tenant: c.tenant,
            entity_type: &rule.then.entity_type,
            id: &target_id,
            action: &rule.then.action,
            params: Params::Rule {
                then: &rule.then,
                plan: &plan.params,
                sources,
            },
            depth: Depth(depth.0 + 1),
            origin: OriginRef::Rule {
                rule: &rule.name,
                copy: false,
            },
            cause: c.cause,
            owned: None,
            target: plan.target.as_ref(),
        };
        if self.inline {
            self.run_reaction(store, host, &act, &rule.name, depth);
            return;
        }
        let pending = PendingReaction {
            rule: rule.clone(),
            depth,
            dispatch: act.to_dispatch(),
        };
        if let Some(pending) = host.defer(pending) {
            self.run_pending(store, host, &pending);
        }
    }
}

/// Evaluates a guard on a commit's snapshot, answering its cross-entity lookups from the
/// store in the commit's tenant as they come, with [`lookup_holds`] (the answers
/// [`resolve_lookups`] gives the two passes).
fn guard_passes(store: &Store, guard: &Guard, c: &Commit<'_>) -> bool {
    let tenant = c.tenant.as_str();
    guard.evaluate_with(
        &c.after.fields,
        &c.after.status,
        &mut |entity_type, id, required| lookup_holds(store, tenant, entity_type, id, required),
    )
}

/// The answer to one cross-entity lookup of a guard: the entity exists in `tenant` with a
/// status in `required`. Lookups never leave the source's tenant.
#[inline]
pub fn lookup_holds(
    store: &Store,
    tenant: &str,
    entity_type: &str,
    id: &str,
    required: &[String],
) -> bool {
    store
        .get(tenant, entity_type, id)
        .is_some_and(|e| required.contains(&e.status))
}

/// The engine's lookup resolution in the two-pass form, for a [`crate::engine::GuardInput`]
/// (what the evaluators behind [`crate::engine::GuardEvaluator`] take, as the model checker
/// uses them): every key `collect_lookups` asks for, answered by [`lookup_holds`] in
/// `tenant`.
pub fn resolve_lookups(
    guard: &Guard,
    fields: &Fields,
    store: &Store,
    tenant: &TenantId,
) -> BTreeMap<LookupKey, bool> {
    let mut keys = Vec::new();
    guard.collect_lookups(fields, &mut keys);
    keys.into_iter()
        .map(|key| {
            let found = lookup_holds(
                store,
                tenant.as_str(),
                &key.entity_type,
                &key.id,
                &key.required_status,
            );
            (key, found)
        })
        .collect()
}

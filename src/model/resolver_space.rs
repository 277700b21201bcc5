//! The resolver space of one rule, run through the real engine: the source field the
//! resolver reads (a string id, a value of the wrong type, missing), the target existing or
//! not, and up to two dispatches of the trigger.
//!
//! Each state is computed from scratch: an `Engine` with the scenario's entity specs and
//! this one rule (guard removed: guards have their own model), the source entity in a
//! state its trigger can lead to, and `Engine::dispatch` of the trigger action with the
//! chosen fields as params, `n` times. The trigger action is made enabled everywhere (no
//! `from`, no `requires`, no effects) so that the resolver, not the source's state machine,
//! decides what happens. `create` mints real `sim_uuid`s.
//!
//! Properties (always): `no_panic`; `unusable_field_fails` (a `field` resolver, or a
//! `create_if_missing` whose field is not a string, records a failed reaction "could not
//! resolve target" and dispatches nothing); `create_is_fresh` (a minted id never names an
//! entity that exists, nor one minted before); `create_if_missing_is_stable` (repeated
//! dispatches land on one target); `stays_in_tenant` (every dispatch stays in the source's
//! tenant, and an entity with the same id in another tenant is never touched, which is what
//! a `static` singleton needs).
//!
//! Not covered: what the target's action does (the cascade model runs whole cascades).

use crate::core::{Depth, EntityId, TenantId, Value};
use crate::core::{Origin, Record};
use crate::core::{Purpose, RngStream, Seed, SimTime, UuidSource};
use crate::engine::{
    ActionDispatch, Engine, Entity, EntitySpec, Fields, Host, Resolver, Rule, RuleSet,
};
use crate::model::inputs::trigger_outcomes;
use serde_json::json;
use stateright::{Model, Property};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// The source entity's id.
pub const SOURCE_ID: &str = "s1";
/// The id a usable resolver field holds.
pub const TARGET_ID: &str = "t1";
/// A tenant beside the source's, holding a decoy with the target's id.
pub const OTHER_TENANT: &str = "model-other-tenant";
/// Most dispatches of the trigger on one path.
pub const DISPATCHES_MAX: u8 = 2;

pub struct ResolverModel {
    pub tenant: TenantId,
    pub rule: Arc<Rule>,
    /// The trigger action and the source's status after it.
    pub trigger: (String, String),
    specs: BTreeMap<String, EntitySpec>,
    depth_max: u32,
    /// Candidates of the resolver's field (`None`: missing); one `None` when it reads none.
    field_values: Vec<Option<Value>>,
}

/// What the dispatches so far showed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResolverVerdict {
    pub panicked: bool,
    pub unusable_field_fails: bool,
    pub create_is_fresh: bool,
    pub create_if_missing_is_stable: bool,
    pub stays_in_tenant: bool,
    /// Where each dispatch's reaction landed (`None`: it failed to resolve).
    pub targets: Vec<Option<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResolverState {
    pub field: u8,
    pub target_exists: bool,
    pub dispatches: u8,
    pub verdict: ResolverVerdict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResolverAction {
    ChooseField(u8),
    CreateTarget,
    Dispatch,
}

/// Records what the engine writes; mints real `sim_uuid`s.
struct RecordingHost {
    ids: UuidSource,
    records: Vec<Record>,
}

impl Host for RecordingHost {
    fn now(&self) -> SimTime {
        SimTime::ZERO
    }
    fn mint_id(&mut self) -> String {
        self.ids.sim_uuid(SimTime::ZERO).to_string()
    }
    /// No trace here: every cause is 0 (see the model checker's host).
    fn record(&mut self, record: Record) -> u64 {
        self.records.push(record);
        0
    }
    fn committed(&mut self, _: &TenantId, _: &str, _: &str, _: &str, _: &str, _: Depth) {}
}

impl ResolverModel {
    /// `None` when no action can trigger the rule (the guard checks report that).
    pub fn new(
        tenant: TenantId,
        rule: &Arc<Rule>,
        specs: &BTreeMap<String, EntitySpec>,
        depth_max: u32,
    ) -> Option<ResolverModel> {
        let trigger = trigger_outcomes(&rule.when, specs).into_iter().next()?;
        let mut specs = specs.clone();
        let source = specs.get_mut(&rule.when.entity_type)?;
        let action = source.actions.get_mut(&trigger.0)?;
        action.from = None;
        action.requires = None;
        action.effects.clear();
        let mut unguarded = (**rule).clone();
        unguarded.when.guard = None;
        let field_values = match crate::model::conflict::resolver_field(&rule.resolve_target) {
            Some(_) => vec![Some(json!(TARGET_ID)), Some(json!(7)), None],
            None => vec![None],
        };
        Some(ResolverModel {
            tenant,
            rule: Arc::new(unguarded),
            trigger,
            specs,
            depth_max: depth_max.max(1),
            field_values,
        })
    }

    /// The target a resolver is expected to name, for "the target exists".
    fn expected_target(&self, fields: &Fields) -> Option<String> {
        match &self.rule.resolve_target {
            Resolver::SameId => Some(SOURCE_ID.into()),
            Resolver::Static { entity_id } => Some(entity_id.clone()),
            Resolver::Field { field } => {
                fields.get(field).and_then(Value::as_str).map(String::from)
            }
            Resolver::CreateIfMissing { id_field } => match fields.get(id_field) {
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => None,
                None => Some(format!("{SOURCE_ID}-derived")),
            },
            // Any existing entity: a minted id must avoid it.
            Resolver::Create => Some(TARGET_ID.into()),
        }
    }

    fn verdict(&self, field: u8, target_exists: bool, dispatches: u8) -> ResolverVerdict {
        let mut fields = Fields::new();
        let field_name = crate::model::conflict::resolver_field(&self.rule.resolve_target);
        if let (Some(name), Some(v)) = (field_name, &self.field_values[field as usize]) {
            fields.insert(name, v.clone());
        }
        let target_type = &self.rule.then.entity_type;
        let mut rules = BTreeMap::new();
        let mut set = RuleSet::new();
        set.add(self.rule.clone()).expect("one rule fits");
        rules.insert(self.tenant.clone(), set);
        let mut engine = Engine::new(self.specs.clone(), rules, self.depth_max);
        let other = TenantId::new(OTHER_TENANT);
        let source_type = &self.rule.when.entity_type;
        let fresh = |ty: &str| {
            self.specs
                .get(ty)
                .map(EntitySpec::instantiate)
                .unwrap_or(Entity {
                    status: String::new(),
                    fields: Fields::new(),
                })
        };
        let mut source = fresh(source_type);
        source.status = self.trigger.1.clone();
        engine
            .store_mut()
            .insert(&self.tenant, source_type, &EntityId::new(SOURCE_ID), source);
        let expected = self.expected_target(&fields);
        if let Some(id) = &expected {
            let mut decoy = fresh(target_type);
            decoy.fields.insert("decoy", json!(true));
            engine
                .store_mut()
                .insert(&other, target_type, &EntityId::new(id.as_str()), decoy);
            if target_exists && !(source_type == target_type && id == SOURCE_ID) {
                engine.store_mut().insert(
                    &self.tenant,
                    target_type,
                    &EntityId::new(id.as_str()),
                    fresh(target_type),
                );
            }
        }
        let decoys_before: Vec<_> = engine
            .store()
            .iter()
            .filter(|(t, ..)| **t == other)
            .map(|(_, ty, id, e)| (ty.to_string(), id.clone(), e.clone()))
            .collect();

        let mut host = RecordingHost {
            ids: UuidSource::new(RngStream::new(Seed(0), Purpose::Ids)),
            records: Vec::new(),
        };
        let mut verdict = ResolverVerdict {
            panicked: false,
            unusable_field_fails: true,
            create_is_fresh: true,
            create_if_missing_is_stable: true,
            stays_in_tenant: true,
            targets: Vec::new(),
        };
        let unusable = match (&self.rule.resolve_target, field_name) {
            (Resolver::Field { .. }, Some(name)) => {
                !matches!(fields.get(name), Some(Value::String(_)))
            }
            (Resolver::CreateIfMissing { .. }, Some(name)) => {
                matches!(fields.get(name), Some(v) if !v.is_string())
            }
            _ => false,
        };
        let mut minted_before: BTreeSet<EntityId> = BTreeSet::new();
        for k in 0..dispatches {
            let existing: BTreeSet<EntityId> = engine
                .store()
                .ids_of(self.tenant.as_str(), target_type)
                .cloned()
                .collect();
            let start = host.records.len();
            let d = ActionDispatch {
                tenant: self.tenant.clone(),
                source_tenant: self.tenant.clone(),
                entity_type: source_type.clone(),
                id: EntityId::new(SOURCE_ID),
                action: self.trigger.0.clone(),
                params: Value::from(fields.clone()),
                depth: Depth(0),
                origin: Origin::Root { event: k as u32 },
                cause: 0,
            };
            let run = catch_unwind(AssertUnwindSafe(|| engine.dispatch(&mut host, d)));
            if run.is_err() {
                verdict.panicked = true;
                return verdict;
            }
            let mut landed = None;
            let mut reaction_failed_to_resolve = false;
            for record in &host.records[start..] {
                match record {
                    Record::Dispatch {
                        tenant,
                        source_tenant,
                        id,
                        origin: Origin::Rule { rule, .. },
                        ..
                    } if *rule == self.rule.name => {
                        if *tenant != self.tenant || *source_tenant != self.tenant {
                            verdict.stays_in_tenant = false;
                        }
                        landed = Some(id.clone());
                    }
                    Record::Reaction {
                        rule,
                        success: false,
                        target_id: None,
                        error: Some(e),
                        ..
                    } if *rule == self.rule.name && e.contains("could not resolve target") => {
                        reaction_failed_to_resolve = true;
                    }
                    _ => {}
                }
            }
            if unusable && (landed.is_some() || !reaction_failed_to_resolve) {
                verdict.unusable_field_fails = false;
            }
            if let (Resolver::Create, Some(id)) = (&self.rule.resolve_target, &landed) {
                if existing.contains(id) || !minted_before.insert(id.clone()) {
                    verdict.create_is_fresh = false;
                }
            }
            verdict.targets.push(landed.map(|id| id.0));
        }
        if matches!(self.rule.resolve_target, Resolver::CreateIfMissing { .. }) && !unusable {
            let first = verdict.targets.first().cloned().flatten();
            if verdict.targets.iter().any(|t| *t != first || t.is_none()) {
                verdict.create_if_missing_is_stable = false;
            }
        }
        let decoys_after: Vec<_> = engine
            .store()
            .iter()
            .filter(|(t, ..)| **t == other)
            .map(|(_, ty, id, e)| (ty.to_string(), id.clone(), e.clone()))
            .collect();
        if decoys_after != decoys_before {
            verdict.stays_in_tenant = false;
        }
        verdict
    }

    fn state(&self, field: u8, target_exists: bool, dispatches: u8) -> ResolverState {
        ResolverState {
            field,
            target_exists,
            dispatches,
            verdict: self.verdict(field, target_exists, dispatches),
        }
    }

    /// `field = 7, target exists, 2 dispatches`.
    pub fn describe(&self, s: &ResolverState) -> String {
        let field = match crate::model::conflict::resolver_field(&self.rule.resolve_target) {
            None => String::new(),
            Some(name) => match &self.field_values[s.field as usize] {
                Some(v) => format!("{name} = {}, ", crate::model::canonical::json_text(v)),
                None => format!("{name} missing, "),
            },
        };
        let exists = if s.target_exists {
            "target exists"
        } else {
            "no target yet"
        };
        format!(
            "{field}{exists}, {} dispatch(es) of {}",
            s.dispatches, self.trigger.0
        )
    }
}

impl Model for ResolverModel {
    type State = ResolverState;
    type Action = ResolverAction;

    fn init_states(&self) -> Vec<ResolverState> {
        vec![self.state(0, false, 0)]
    }

    fn actions(&self, s: &ResolverState, actions: &mut Vec<ResolverAction>) {
        if s.dispatches < DISPATCHES_MAX {
            actions.push(ResolverAction::Dispatch);
        }
        if s.dispatches == 0 {
            if s.field == 0 {
                for c in 1..self.field_values.len() {
                    actions.push(ResolverAction::ChooseField(c as u8));
                }
            }
            if !s.target_exists {
                actions.push(ResolverAction::CreateTarget);
            }
        }
    }

    fn next_state(&self, s: &ResolverState, action: ResolverAction) -> Option<ResolverState> {
        Some(match action {
            ResolverAction::ChooseField(c) => self.state(c, s.target_exists, 0),
            ResolverAction::CreateTarget => self.state(s.field, true, 0),
            ResolverAction::Dispatch => self.state(s.field, s.target_exists, s.dispatches + 1),
        })
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("no_panic", |_, s: &ResolverState| !s.verdict.panicked),
            Property::always("unusable_field_fails", |_, s: &ResolverState| {
                s.verdict.unusable_field_fails
            }),
            Property::always("create_is_fresh", |_, s: &ResolverState| {
                s.verdict.create_is_fresh
            }),
            Property::always("create_if_missing_is_stable", |_, s: &ResolverState| {
                s.verdict.create_if_missing_is_stable
            }),
            Property::always("stays_in_tenant", |_, s: &ResolverState| {
                s.verdict.stays_in_tenant
            }),
        ]
    }
}

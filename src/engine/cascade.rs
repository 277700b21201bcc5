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

use crate::engine::{
    ActionError, Depth, Entity, EntityId, EntitySpec, GuardInput, LookupKey, Rule, RuleSet, Store,
    TenantId, Value,
};
use crate::sim::SimTime;
use crate::trace::{Origin, Record};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the engine needs from its driver.
pub trait Host {
    fn now(&self) -> SimTime;
    /// A fresh id for a `create` resolver.
    fn mint_id(&mut self) -> String;
    fn record(&mut self, record: Record);
    /// An action committed at causal depth `depth`; the host publishes
    /// `entity.<Type>.<Action>.<id>` on the bus.
    fn committed(
        &mut self,
        tenant: &TenantId,
        entity_type: &str,
        id: &EntityId,
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
}

/// An action to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionDispatch {
    pub tenant: TenantId,
    pub source_tenant: TenantId,
    pub entity_type: String,
    pub id: EntityId,
    pub action: String,
    pub params: Value,
    /// Causal hops from the root input.
    pub depth: Depth,
    pub origin: Origin,
}

/// A reaction whose guard passed and whose target was resolved, not yet applied.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingReaction {
    pub rule: Arc<Rule>,
    /// The reaction's depth (its source's hop count); the target action is at `depth + 1`.
    pub depth: Depth,
    pub dispatch: ActionDispatch,
}

/// A committed action, as its rules see it.
struct Commit {
    tenant: TenantId,
    entity_type: String,
    id: EntityId,
    action: String,
    depth: Depth,
    /// The source after the commit: every rule of this commit sees this snapshot, even if
    /// an earlier sibling's subtree changed the entity since.
    after: Entity,
}

/// The reaction engine: entity specs, per-tenant rules, and the entity store.
#[derive(Debug, Clone)]
pub struct Engine {
    specs: BTreeMap<String, EntitySpec>,
    rules: BTreeMap<TenantId, RuleSet>,
    store: Store,
    depth_max: u32,
}

impl Engine {
    /// `depth_max` is the scenario's `max_depth` (8 = `MAX_REACTION_DEPTH` by default).
    pub fn new(
        specs: BTreeMap<String, EntitySpec>,
        rules: BTreeMap<TenantId, RuleSet>,
        depth_max: u32,
    ) -> Engine {
        Engine {
            specs,
            rules,
            store: Store::default(),
            depth_max,
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

    pub fn depth_max(&self) -> u32 {
        self.depth_max
    }

    /// Applies a root or reflex action and runs its whole cascade (inline, or deferring
    /// reactions to the host in faults mode).
    pub fn dispatch(&mut self, host: &mut dyn Host, d: ActionDispatch) -> Result<(), ActionError> {
        // A reflex hop counts like a reaction hop: never dispatch beyond the bound.
        if d.depth.0 > self.depth_max {
            let rule = match &d.origin {
                Origin::Reflex { handler, .. } => format!("reflex:{handler}"),
                Origin::Rule { rule, .. } => rule.clone(),
                Origin::Root { event } => format!("event:{event}"),
            };
            host.record(Record::DepthLimit {
                at: host.now(),
                tenant: d.tenant.clone(),
                rule,
                depth: Depth(d.depth.0 - 1),
            });
            return Ok(());
        }
        let commit = self.commit(host, &d)?;
        self.fire_rules(host, commit);
        Ok(())
    }

    /// Faults mode: a deferred reaction's message arrived; apply its target now, record the
    /// result, and run the target's rules.
    pub fn deliver(&mut self, host: &mut dyn Host, pending: PendingReaction) {
        self.run_reaction(host, pending);
    }

    fn run_reaction(&mut self, host: &mut dyn Host, p: PendingReaction) {
        let result = self.commit(host, &p.dispatch);
        let (success, target_status, error) = match &result {
            Ok(c) => (true, Some(c.after.status.clone()), None),
            Err(e) => (false, None, Some(e.to_string())),
        };
        host.record(Record::Reaction {
            at: host.now(),
            tenant: p.dispatch.tenant.clone(),
            rule: p.rule.name.clone(),
            depth: p.depth,
            success,
            target_type: p.dispatch.entity_type.clone(),
            target_id: Some(p.dispatch.id.clone()),
            target_status,
            error,
        });
        if let Ok(commit) = result {
            self.fire_rules(host, commit);
        }
    }

    /// Applies one action: records the dispatch, then a transition or a failure.
    fn commit(&mut self, host: &mut dyn Host, d: &ActionDispatch) -> Result<Commit, ActionError> {
        let at = host.now();
        host.record(Record::Dispatch {
            at,
            tenant: d.tenant.clone(),
            source_tenant: d.source_tenant.clone(),
            entity_type: d.entity_type.clone(),
            id: d.id.clone(),
            action: d.action.clone(),
            depth: d.depth,
            origin: d.origin.clone(),
        });
        let result = self.apply(host, d);
        match &result {
            Ok((from, created, after)) => {
                host.record(Record::Transition {
                    at,
                    tenant: d.tenant.clone(),
                    entity_type: d.entity_type.clone(),
                    id: d.id.clone(),
                    action: d.action.clone(),
                    from: from.clone(),
                    to: after.status.clone(),
                    created: *created,
                });
                host.committed(
                    &d.tenant,
                    &d.entity_type,
                    &d.id,
                    &d.action,
                    &after.status,
                    d.depth,
                );
            }
            Err(e) => host.record(Record::ActionFailed {
                at,
                tenant: d.tenant.clone(),
                entity_type: d.entity_type.clone(),
                id: d.id.clone(),
                action: d.action.clone(),
                error: e.to_string(),
            }),
        }
        result.map(|(_, _, after)| Commit {
            tenant: d.tenant.clone(),
            entity_type: d.entity_type.clone(),
            id: d.id.clone(),
            action: d.action.clone(),
            depth: d.depth,
            after,
        })
    }

    /// Returns (status before, whether the entity was created, the entity after).
    fn apply(
        &mut self,
        host: &mut dyn Host,
        d: &ActionDispatch,
    ) -> Result<(String, bool, Entity), ActionError> {
        let spec = self
            .specs
            .get(&d.entity_type)
            .ok_or_else(|| ActionError::UnknownAction {
                entity_type: d.entity_type.clone(),
                action: d.action.clone(),
            })?;
        if !spec.actions.contains_key(&d.action) {
            return Err(ActionError::UnknownAction {
                entity_type: d.entity_type.clone(),
                action: d.action.clone(),
            });
        }
        if host.fail_action(d) {
            return Err(ActionError::Injected {
                action: d.action.clone(),
            });
        }
        // Entities come into being in their initial state on first touch; a failed first
        // action leaves nothing behind.
        let (mut entity, created) = match self.store.get(&d.tenant.0, &d.entity_type, &d.id.0) {
            Some(e) => (e.clone(), false),
            None => (spec.instantiate(), true),
        };
        let from = entity.status.clone();
        spec.apply(&mut entity, &d.action, &d.params)?;
        match self.store.get_mut(&d.tenant.0, &d.entity_type, &d.id.0) {
            Some(slot) => *slot = entity.clone(),
            None => self
                .store
                .insert(&d.tenant, &d.entity_type, &d.id, entity.clone()),
        }
        Ok((from, created, entity))
    }

    /// Fires every rule of the commit's tenant that matches it, depth-first, pre-order.
    fn fire_rules(&mut self, host: &mut dyn Host, c: Commit) {
        let Some(rule_set) = self.rules.get(&c.tenant) else {
            return;
        };
        let mut matched = Vec::new();
        rule_set.matching(&c.entity_type, &c.action, &c.after.status, &mut matched);
        if matched.is_empty() {
            return;
        }
        let rules: Vec<Arc<Rule>> = matched.iter().map(|&i| rule_set.get(i).clone()).collect();
        for rule in rules {
            if let Some(pending) = self.evaluate_rule(host, &c, rule) {
                if let Some(pending) = host.defer(pending) {
                    self.run_reaction(host, pending);
                }
            }
        }
    }

    /// Depth bound, guard (two-pass), resolver and params for one rule. `None` when the rule
    /// does not fire or failed to resolve (both already recorded).
    fn evaluate_rule(
        &mut self,
        host: &mut dyn Host,
        c: &Commit,
        rule: Arc<Rule>,
    ) -> Option<PendingReaction> {
        let depth = c.depth;
        if depth.0 >= self.depth_max {
            host.record(Record::DepthLimit {
                at: host.now(),
                tenant: c.tenant.clone(),
                rule: rule.name.clone(),
                depth,
            });
            return None;
        }
        if let Some(guard) = &rule.when.guard {
            if !self.guard_passes(guard, c) {
                host.record(Record::GuardSkip {
                    at: host.now(),
                    tenant: c.tenant.clone(),
                    rule: rule.name.clone(),
                    depth,
                });
                return None;
            }
        }
        // `create` mints here, after the guard passed, so a skipped rule consumes no id.
        let target = rule
            .resolve_target
            .resolve(&c.id.0, &c.after.fields, &mut || host.mint_id());
        let target_id = match target {
            Ok(id) => EntityId(id),
            Err(error) => {
                host.record(Record::Reaction {
                    at: host.now(),
                    tenant: c.tenant.clone(),
                    rule: rule.name.clone(),
                    depth,
                    success: false,
                    target_type: rule.then.entity_type.clone(),
                    target_id: None,
                    target_status: None,
                    error: Some(error),
                });
                return None;
            }
        };
        let mut warnings = Vec::new();
        let params = rule.then.build_params(&c.after.fields, &mut warnings);
        for w in warnings {
            host.record(Record::Warning {
                at: host.now(),
                message: format!("rule {}: {w}", rule.name),
            });
        }
        let dispatch = ActionDispatch {
            tenant: c.tenant.clone(),
            source_tenant: c.tenant.clone(),
            entity_type: rule.then.entity_type.clone(),
            id: target_id,
            action: rule.then.action.clone(),
            params,
            depth: Depth(depth.0 + 1),
            origin: Origin::Rule {
                rule: rule.name.clone(),
                copy: false,
            },
        };
        Some(PendingReaction {
            rule,
            depth,
            dispatch,
        })
    }

    /// Pass 1 collects the cross-entity lookups, which are resolved in the source's tenant;
    /// pass 2 evaluates purely. Lookups are keyed by (type, id, required statuses), so two
    /// leaves on one entity with different status lists keep separate answers.
    fn guard_passes(&self, guard: &crate::engine::Guard, c: &Commit) -> bool {
        let mut keys: Vec<LookupKey> = Vec::new();
        guard.collect_lookups(&c.after.fields, &mut keys);
        let mut resolved: BTreeMap<LookupKey, bool> = BTreeMap::new();
        for key in keys {
            let found = self
                .store
                .get(&c.tenant.0, &key.entity_type, &key.id)
                .is_some_and(|e| key.required_status.contains(&e.status));
            resolved.insert(key, found);
        }
        guard.evaluate(&GuardInput {
            fields: &c.after.fields,
            status: &c.after.status,
            lookups: &resolved,
        })
    }
}

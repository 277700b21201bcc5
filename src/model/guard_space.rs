//! The guard space of one rule: every point of its input space (source fields, post-action
//! status, looked-up entities), with the engine's evaluation and the reference semantics
//! side by side.
//!
//! Properties:
//! - `engine_matches_reference` (always): the evaluator under test (the engine's
//!   `Guard::evaluate`, reached through `GuardEvaluator`, with lookups collected by
//!   `Guard::collect_lookups`) agrees with `reference::reference_passes`.
//! - `can_pass`, `can_fail` (sometimes): a rule whose guard can never pass is dead; one
//!   whose guard can never fail has a guard that says nothing (usually the trigger's
//!   `to_state` already decides it).
//!
//! The evaluator is a type parameter so that tests can feed deliberately wrong evaluators
//! through the very same checker and see it catch them. Not covered: whether the rule's
//! trigger ever happens in a run (that is the cascade model's business).

use crate::engine::{
    Entity, EntityId, Fields, Guard, GuardEvaluator, GuardInput, LookupKey, Rule, Store, TenantId,
};
use crate::model::inputs::{InputSpace, Point};
use crate::model::reference::reference_passes;
use stateright::{Model, Property};
use std::collections::BTreeMap;
use std::sync::Arc;

/// One rule's guard space, evaluated by `E`.
pub struct GuardModel<E> {
    pub tenant: TenantId,
    pub rule: Arc<Rule>,
    pub space: InputSpace,
    pub evaluator: E,
}

/// A point of the space and both verdicts on it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GuardState {
    pub point: Point,
    /// The evaluator under test.
    pub engine: bool,
    /// The reference semantics.
    pub reference: bool,
}

/// Moves one coordinate off its first candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Choose {
    pub dimension: u8,
    pub candidate: u8,
}

impl<E: GuardEvaluator> GuardModel<E> {
    pub fn new(tenant: TenantId, rule: Arc<Rule>, mut space: InputSpace, evaluator: E) -> Self {
        // The guard reads the post-action status, not the action: one trigger per status.
        let mut seen = Vec::new();
        space.triggers.retain(|(_, status)| {
            let fresh = !seen.contains(status);
            seen.push(status.clone());
            fresh
        });
        assert!(rule.when.guard.is_some(), "a guard model needs a guard");
        assert!(space.radices().iter().all(|&r| (1..=255).contains(&r)));
        GuardModel {
            tenant,
            rule,
            space,
            evaluator,
        }
    }

    fn guard(&self) -> &Guard {
        self.rule.when.guard.as_ref().expect("checked in new")
    }

    fn state_at(&self, point: Point) -> GuardState {
        let fields = self.space.fields_at(&point);
        let (_, status) = self.space.trigger(&point);
        let world = self.space.world_at(&point);
        let engine = {
            let mut store = Store::default();
            for ((entity_type, id), status) in &world.0 {
                let entity = Entity {
                    status: status.clone(),
                    fields: Fields::new(),
                };
                store.insert(
                    &self.tenant,
                    entity_type,
                    &EntityId::new(id.as_str()),
                    entity,
                );
            }
            let lookups = resolve_lookups(self.guard(), &fields, &store, &self.tenant);
            self.evaluator.evaluate(
                self.guard(),
                &GuardInput {
                    fields: &fields,
                    status,
                    lookups: &lookups,
                },
            )
        };
        let reference = reference_passes(self.guard(), &fields, status, &world);
        GuardState {
            point,
            engine,
            reference,
        }
    }
}

/// Pass 1 of the engine's guard evaluation: the keys `collect_lookups` asks for, each
/// answered from the store in the source's tenant.
///
/// This mirrors `Engine::guard_passes`, which is private; see the report of issue 5 for the
/// accessor that would let the model call the engine's own resolution.
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
            let found = store
                .get(tenant.as_str(), &key.entity_type, &key.id)
                .is_some_and(|e| key.required_status.contains(&e.status));
            (key, found)
        })
        .collect()
}

impl<E: GuardEvaluator> Model for GuardModel<E> {
    type State = GuardState;
    type Action = Choose;

    fn init_states(&self) -> Vec<GuardState> {
        vec![self.state_at(vec![0; self.space.radices().len()])]
    }

    fn actions(&self, state: &GuardState, actions: &mut Vec<Choose>) {
        for (d, radix) in self.space.radices().into_iter().enumerate() {
            if state.point[d] == 0 {
                for c in 1..radix {
                    actions.push(Choose {
                        dimension: d as u8,
                        candidate: c as u8,
                    });
                }
            }
        }
    }

    fn next_state(&self, state: &GuardState, action: Choose) -> Option<GuardState> {
        let mut point = state.point.clone();
        point[action.dimension as usize] = action.candidate;
        Some(self.state_at(point))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("engine_matches_reference", |_, s: &GuardState| {
                s.engine == s.reference
            }),
            Property::sometimes("can_pass", |_, s: &GuardState| s.engine),
            Property::sometimes("can_fail", |_, s: &GuardState| !s.engine),
        ]
    }
}

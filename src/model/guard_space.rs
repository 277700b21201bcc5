//! The guard space of one rule: every point of its input space (source fields, post-action
//! status, looked-up entities), with the engine's evaluation and the reference semantics
//! side by side.
//!
//! Properties:
//! - `engine_matches_reference` (always): the evaluator under test (the engine's
//!   `Guard::evaluate`, reached through `GuardEvaluator`, with lookups collected by
//!   `Guard::collect_lookups` and answered by the engine's `resolve_lookups`) agrees with
//!   `reference::reference_passes`.
//! - `can_pass`, `can_fail` (sometimes): a rule whose guard can never pass is dead; one
//!   whose guard can never fail has a guard that says nothing (usually the trigger's
//!   `to_state` already decides it).
//!
//! The evaluator is a type parameter so that tests can feed deliberately wrong evaluators
//! through the very same checker and see it catch them. Not covered: whether the rule's
//! trigger ever happens in a run (that is the cascade model's business).

use crate::core::TenantId;
use crate::engine::{resolve_lookups, Guard, GuardEvaluator, GuardInput, Rule};
use crate::model::inputs::{Choose, InputSpace, Point};
use crate::model::reference::reference_passes;
use stateright::{Model, Property};
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
            let store = world.store_in(&self.tenant);
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

impl<E: GuardEvaluator> Model for GuardModel<E> {
    type State = GuardState;
    type Action = Choose;

    fn init_states(&self) -> Vec<GuardState> {
        vec![self.state_at(self.space.origin())]
    }

    fn actions(&self, state: &GuardState, actions: &mut Vec<Choose>) {
        self.space.moves(&state.point, actions);
    }

    fn next_state(&self, state: &GuardState, action: Choose) -> Option<GuardState> {
        Some(self.state_at(action.apply(&state.point)))
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

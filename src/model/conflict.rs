//! Rule pairs that could act on one target at once: two rules of a tenant on the same
//! source type whose actions on the same target type differ. The model enumerates the
//! union of both triggers (every action either rule listens to, every status it can lead
//! to) with both guards' inputs and both resolvers' fields, and decides in each point, with
//! the engine's own code (`RuleSet::matching`, `Guard::evaluate`, `Resolver::resolve`),
//! which rules fire and on which target.
//!
//! Properties:
//! - `exclusive` (always): the two rules never both fire on the same target. A
//!   counterexample is a `conflict`: which action lands first depends on rule order (or,
//!   with faults, on the schedule).
//! - `first_alone`, `second_alone`, `neither` (sometimes): with `exclusive` holding and no
//!   `neither` example, exactly one of the two rules fires in every state of the trigger
//!   space (the order/payment pair).
//!
//! Not covered: conflicts through longer cascades (the cascade model's order dependence
//! finds those), and pairs that act on different target types.

use crate::core::TenantId;
use crate::engine::{
    resolve_lookups, EngineEvaluator, GuardEvaluator, GuardInput, Resolver, Rule, RuleSet,
};
use crate::model::inputs::{Choose, InputSpace, Point};
use stateright::{Model, Property};
use std::sync::Arc;

/// The source entity's id in the pair model.
pub const PAIR_SOURCE_ID: &str = "s1";

/// Whether two rules of one tenant are worth a pair model.
pub fn is_candidate_pair(a: &Rule, b: &Rule) -> bool {
    a.when.entity_type == b.when.entity_type
        && a.then.entity_type == b.then.entity_type
        && a.then.action != b.then.action
}

/// The fields a resolver reads, if any.
pub fn resolver_field(resolver: &Resolver) -> Option<&str> {
    match resolver {
        Resolver::Field { field } => Some(field),
        Resolver::CreateIfMissing { id_field } => Some(id_field),
        Resolver::SameId | Resolver::Static { .. } | Resolver::Create => None,
    }
}

pub struct PairModel {
    pub tenant: TenantId,
    pub first: Arc<Rule>,
    pub second: Arc<Rule>,
    pub space: InputSpace,
    rules: RuleSet,
}

/// A point and where each rule's action lands (`None`: the rule does not fire there).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PairState {
    pub point: Point,
    pub first: Option<String>,
    pub second: Option<String>,
}

impl PairModel {
    pub fn new(tenant: TenantId, first: Arc<Rule>, second: Arc<Rule>, space: InputSpace) -> Self {
        assert!(space.radices().iter().all(|&r| (1..=255).contains(&r)));
        let mut rules = RuleSet::new();
        rules.add(first.clone()).expect("two rules fit the budget");
        rules.add(second.clone()).expect("two rules fit the budget");
        PairModel {
            tenant,
            first,
            second,
            space,
            rules,
        }
    }

    fn state_at(&self, point: Point) -> PairState {
        let (action, status) = self.space.trigger(&point);
        let fields = self.space.fields_at(&point);
        let store = self.space.world_at(&point).store_in(&self.tenant);
        let mut matched = Vec::new();
        self.rules
            .matching(&self.first.when.entity_type, action, status, &mut matched);
        let mut targets = [None, None];
        let mut minted = 0;
        for i in matched {
            let rule = self.rules.get(i);
            if let Some(guard) = &rule.when.guard {
                let lookups = resolve_lookups(guard, &fields, &store, &self.tenant);
                let input = GuardInput {
                    fields: &fields,
                    status,
                    lookups: &lookups,
                };
                if !EngineEvaluator.evaluate(guard, &input) {
                    continue;
                }
            }
            let mut mint = || {
                minted += 1;
                format!("minted-{minted}")
            };
            if let Ok(id) = rule
                .resolve_target
                .resolve(PAIR_SOURCE_ID, &fields, &mut mint)
            {
                targets[i] = Some(id);
            }
        }
        let [first, second] = targets;
        PairState {
            point,
            first,
            second,
        }
    }
}

impl Model for PairModel {
    type State = PairState;
    type Action = Choose;

    fn init_states(&self) -> Vec<PairState> {
        vec![self.state_at(self.space.origin())]
    }

    fn actions(&self, state: &PairState, actions: &mut Vec<Choose>) {
        self.space.moves(&state.point, actions);
    }

    fn next_state(&self, state: &PairState, action: Choose) -> Option<PairState> {
        Some(self.state_at(action.apply(&state.point)))
    }

    fn properties(&self) -> Vec<Property<Self>> {
        vec![
            Property::always("exclusive", |_, s: &PairState| {
                !(s.first.is_some() && s.first == s.second)
            }),
            Property::sometimes("first_alone", |_, s: &PairState| {
                s.first.is_some() && s.second.is_none()
            }),
            Property::sometimes("second_alone", |_, s: &PairState| {
                s.first.is_none() && s.second.is_some()
            }),
            Property::sometimes("neither", |_, s: &PairState| {
                s.first.is_none() && s.second.is_none()
            }),
        ]
    }
}

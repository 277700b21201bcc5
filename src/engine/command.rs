//! What a committed temper action asks of the world besides changing its entity: events it
//! emits, integrations it triggers, actions it schedules on itself.
//!
//! Temper's runtime routes every such command through its reaction rules (`emit` and
//! `trigger` names are the keys of temper-agents' rule files), and an integration (an LLM
//! call, a webhook, a WASM module) answers a `trigger` later with one of its `emits`
//! actions. Ripple simulates the outside system: the engine hands the call to its host
//! ([`crate::engine::Host::integration`]), which picks the answer and its delay from the seed
//! (the simulator) or explores every answer (the model checker). The answer comes back as a
//! [`PendingReaction`] of a rule named after the integration and the answer
//! (`integration:invoke_llm/InferenceFailed`), so it is delivered, recorded, delayed,
//! dropped and duplicated like any reaction message.
//!
//! An answer starts a new cascade: it is a reaction of depth 0, as if a root input had fired
//! it. The outside system answers with a new message; counting its hops onto the trigger's
//! cascade would cut a long agent loop at the depth bound, which is not what temper does.

use crate::core::{Depth, EntityId, Origin, TenantId, Value};
use crate::engine::{ActionDispatch, PendingReaction, Resolver, Rule, Then, When};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The prefix of the rules that carry integration answers.
pub const INTEGRATION_RULE_PREFIX: &str = "integration:";
/// The prefix of the rules that carry scheduled actions.
pub const SCHEDULE_RULE_PREFIX: &str = "schedule:";

/// One command of an action, in the order its effects list them.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `emit`: an event to the environment. Rules of temper's runtime engine key on it.
    Emit(String),
    /// `trigger`: runtime-engine rules key on its name; when the spec declares an
    /// `[[integration]]` for it, the integration answers.
    Trigger {
        name: String,
        integration: Option<Arc<Integration>>,
    },
    /// `schedule`: the entity's own action after a fixed delay (an integration with one
    /// answer and no choice).
    Schedule(Arc<Integration>),
}

impl Command {
    /// The name runtime-engine rules match (`None`: a schedule is not routed).
    pub fn routing_key(&self) -> Option<&str> {
        match self {
            Command::Emit(name) | Command::Trigger { name, .. } => Some(name),
            Command::Schedule(_) => None,
        }
    }

    /// The call the host must schedule, if any.
    pub fn call(&self) -> Option<&Arc<Integration>> {
        match self {
            Command::Trigger { integration, .. } => integration.as_ref(),
            Command::Schedule(i) => Some(i),
            Command::Emit(_) => None,
        }
    }
}

/// An outside system (or a timer) that answers an entity with one of its actions.
#[derive(Debug, Clone, PartialEq)]
pub struct Integration {
    /// The integration's name in the spec (`invoke_llm`), or `schedule:<Action>`.
    pub name: String,
    /// The entity type that triggers it and receives the answer.
    pub entity_type: String,
    /// The possible answers; empty: nothing answers (a fire-and-forget trigger).
    pub answers: Vec<Answer>,
    /// The answer arrives this long after the trigger committed, drawn uniformly.
    pub delay_ms_min: u64,
    pub delay_ms_max: u64,
}

/// One possible answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The action dispatched on the triggering entity.
    pub action: String,
    /// Relative weight (0: never chosen by a run; the model checker still explores it).
    pub weight: u32,
    /// The rule the answer is delivered as (`integration:<name>/<action>`).
    pub rule: Arc<Rule>,
}

impl Integration {
    /// An integration whose answers are `answers` (action, weight), each carried by a rule
    /// named `<rule_prefix><action>`.
    pub fn new(
        name: String,
        entity_type: String,
        rule_prefix: &str,
        answers: Vec<(String, u32)>,
        delay_ms_min: u64,
        delay_ms_max: u64,
    ) -> Integration {
        assert!(delay_ms_min <= delay_ms_max, "delay range");
        let answers = answers
            .into_iter()
            .map(|(action, weight)| Answer {
                rule: Arc::new(Rule {
                    name: format!("{rule_prefix}{action}"),
                    when: When {
                        entity_type: entity_type.clone(),
                        action: None,
                        to_state: None,
                        guard: None,
                    },
                    then: Then {
                        entity_type: entity_type.clone(),
                        action: action.clone(),
                        params: Value::Object(Default::default()),
                        params_from: BTreeMap::new(),
                    },
                    resolve_target: Resolver::SameId,
                }),
                action,
                weight,
            })
            .collect();
        Integration {
            name,
            entity_type,
            answers,
            delay_ms_min,
            delay_ms_max,
        }
    }

    /// The answer a draw picks (`draw` uniform over `u64`), by weight. `None` when nothing
    /// answers or every weight is 0.
    pub fn choose(&self, draw: u64) -> Option<usize> {
        let total: u64 = self.answers.iter().map(|a| u64::from(a.weight)).sum();
        if total == 0 {
            return None;
        }
        // Multiply-shift: uniform in 0..total without modulo bias worth the name (total is
        // far below 2^32).
        let mut point = ((draw as u128 * total as u128) >> 64) as u64;
        for (i, a) in self.answers.iter().enumerate() {
            let w = u64::from(a.weight);
            if point < w {
                return Some(i);
            }
            point -= w;
        }
        unreachable!("point < total")
    }

    /// The answer `k`, on its way to `id` in `tenant`: a reaction of depth 0 (see the
    /// module header).
    /// `cause` is the step of the commit that called it.
    pub fn answer(&self, k: usize, tenant: &TenantId, id: &str, cause: u64) -> PendingReaction {
        let a = &self.answers[k];
        PendingReaction {
            rule: a.rule.clone(),
            depth: Depth(0),
            dispatch: ActionDispatch {
                tenant: tenant.clone(),
                source_tenant: tenant.clone(),
                entity_type: self.entity_type.clone(),
                id: EntityId::new(id),
                action: a.action.clone(),
                params: Value::Object(Default::default()),
                depth: Depth(1),
                origin: Origin::Rule {
                    rule: a.rule.name.clone(),
                    copy: false,
                },
                cause,
            },
        }
    }
}

/// A call of an integration by a committed action, as the engine hands it to its host.
#[derive(Debug, Clone, Copy)]
pub struct IntegrationCall<'a> {
    pub tenant: &'a TenantId,
    pub entity_type: &'a str,
    pub id: &'a str,
    /// The action that triggered it.
    pub action: &'a str,
    pub integration: &'a Arc<Integration>,
    /// The triggering commit's depth (for the record; the answer starts at depth 0).
    pub depth: Depth,
    /// The step of the triggering commit's `transition`: the answer's cause.
    pub cause: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn llm(weights: &[u32]) -> Integration {
        let answers = ["EndTurn", "ToolCalls", "Failed"]
            .iter()
            .zip(weights)
            .map(|(a, w)| (a.to_string(), *w))
            .collect();
        Integration::new(
            "invoke_llm".into(),
            "Agent".into(),
            "integration:invoke_llm/",
            answers,
            10,
            20,
        )
    }

    #[test]
    fn choose_follows_the_weights_and_skips_zero() {
        let i = llm(&[1, 0, 1]);
        assert_eq!(i.choose(0), Some(0));
        assert_eq!(i.choose(u64::MAX), Some(2));
        assert!((0..1000u64)
            .map(|k| k.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .all(|d| i.choose(d) != Some(1)));
        assert_eq!(llm(&[0, 0, 0]).choose(7), None);
    }

    #[test]
    fn an_answer_is_a_depth_zero_reaction_on_the_same_entity() {
        let i = llm(&[1, 1, 1]);
        let p = i.answer(2, &TenantId::new("t"), "a1", 0);
        assert_eq!(p.rule.name, "integration:invoke_llm/Failed");
        assert_eq!(p.depth, Depth(0));
        assert_eq!(p.dispatch.depth, Depth(1));
        assert_eq!(p.dispatch.entity_type, "Agent");
        assert_eq!(p.dispatch.id.as_str(), "a1");
        assert_eq!(p.dispatch.action, "Failed");
    }
}

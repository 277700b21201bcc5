//! A pending message of the cascade model: a deferred reaction (the engine handed it to the
//! host instead of running it inline) or a bus delivery to one reflex subscription.
//!
//! Messages carry the engine's own types (`PendingReaction`, `Envelope`); this file gives
//! them the `Hash + Eq` a model state needs, their identity in a `[[fault]]` schedule, and
//! the renaming that symmetry reduction applies to minted ids.

use crate::bus::{Cause, Envelope};
use crate::core::Subject;
use crate::core::{EntityId, TenantId, Value};
use crate::core::{FaultTarget, Origin};
use crate::engine::{Integration, PendingReaction};
use crate::model::canonical::hash_value;
use foldhash::quality::FixedState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub enum Message {
    /// A reaction whose guard passed and whose target was resolved at its source's commit.
    /// Shared: a state's clone (one per transition) copies a pointer, not its strings and
    /// params.
    Reaction(Arc<Pending>),
    /// A publication on its way to one subscription. `copy`: the second delivery of a
    /// duplicated message.
    Delivery {
        sub: u32,
        event: Arc<Envelope>,
        copy: bool,
    },
    /// An integration's answer on its way to the entity that called it: which answer is a
    /// choice the checker explores (`Step::Answer`). `call`: the call's number among the
    /// calls of this integration on this entity (from 1), as a run numbers them: what an
    /// `[[answer]]` pin names. Never a copy: a duplicated answer is a chosen one, a
    /// `Reaction`.
    Answer {
        integration: Arc<Integration>,
        tenant: TenantId,
        id: EntityId,
        call: u32,
    },
}

/// A deferred reaction and its digest, computed once when it is created: a state's digest
/// hashes every pending message after every step, and a reaction's names and params are
/// most of that.
#[derive(Debug, Clone)]
pub struct Pending {
    reaction: PendingReaction,
    digest: u64,
}

impl Pending {
    pub fn new(reaction: PendingReaction) -> Arc<Pending> {
        let mut h = FixedState::with_seed(0).build_hasher();
        hash_reaction(&reaction, &mut h);
        Arc::new(Pending {
            digest: h.finish(),
            reaction,
        })
    }
}

impl Pending {
    /// The reaction's digest (of everything [`Message`]'s equality compares, and more).
    pub(crate) fn digest(&self) -> u64 {
        self.digest
    }
}

/// What [`Message`]'s equality compares of a reaction.
impl PartialEq for Pending {
    fn eq(&self, o: &Pending) -> bool {
        self.rule.name == o.rule.name && self.depth == o.depth && self.dispatch == o.dispatch
    }
}

impl Pending {
    /// Whether the digest is what the reaction hashes to now (the reference).
    #[cfg(test)]
    pub(crate) fn digest_is_fresh(&self) -> bool {
        let mut h = FixedState::with_seed(0).build_hasher();
        hash_reaction(&self.reaction, &mut h);
        h.finish() == self.digest
    }
}

impl std::ops::Deref for Pending {
    type Target = PendingReaction;

    fn deref(&self) -> &PendingReaction {
        &self.reaction
    }
}

/// Everything of a reaction that `Message`'s equality compares, and more.
fn hash_reaction<H: Hasher>(p: &PendingReaction, state: &mut H) {
    p.rule.name.hash(state);
    p.depth.hash(state);
    let d = &p.dispatch;
    d.tenant.hash(state);
    d.source_tenant.hash(state);
    d.entity_type.hash(state);
    d.id.hash(state);
    d.action.hash(state);
    hash_value(&d.params, state);
    d.depth.hash(state);
    hash_origin(&d.origin, state);
}

/// Where FIFO holds when `reorder = false`: per target entity, per subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    Entity(TenantId, String, EntityId),
    Sub(u32),
}

impl Message {
    pub fn channel(&self) -> Channel {
        match self {
            Message::Reaction(p) => Channel::Entity(
                p.dispatch.tenant.clone(),
                p.dispatch.entity_type.clone(),
                p.dispatch.id.clone(),
            ),
            Message::Delivery { sub, .. } => Channel::Sub(*sub),
            Message::Answer {
                integration,
                tenant,
                id,
                ..
            } => Channel::Entity(tenant.clone(), integration.entity_type.clone(), id.clone()),
        }
    }

    pub fn is_copy(&self) -> bool {
        match self {
            Message::Reaction(p) => matches!(p.dispatch.origin, Origin::Rule { copy: true, .. }),
            Message::Delivery { copy, .. } => *copy,
            Message::Answer { .. } => false,
        }
    }

    /// The second delivery of a duplicated message.
    pub fn as_copy(&self) -> Message {
        match self {
            Message::Reaction(p) => {
                let mut p = PendingReaction::clone(p);
                if let Origin::Rule { copy, .. } = &mut p.dispatch.origin {
                    *copy = true;
                }
                Message::Reaction(Pending::new(p))
            }
            Message::Delivery { sub, event, .. } => Message::Delivery {
                sub: *sub,
                event: event.clone(),
                copy: true,
            },
            Message::Answer { .. } => {
                unreachable!("an integration call is never copied: its chosen answer is")
            }
        }
    }

    /// Its identity in a `[[fault]]` schedule; `handlers` names each subscription's handler.
    pub fn identity(&self, handlers: &[String]) -> FaultTarget {
        match self {
            Message::Reaction(p) => FaultTarget::Reaction {
                rule: p.rule.name.clone(),
                target: format!("{}/{}", p.dispatch.entity_type, p.dispatch.id),
            },
            Message::Delivery { sub, event, .. } => FaultTarget::Delivery {
                subject: event.subject.to_string(),
                handler: handlers[*sub as usize].clone(),
            },
            // Its rule is the answer's, known only once chosen (`answer_identity`).
            Message::Answer { .. } => {
                unreachable!("an integration call's identity is its chosen answer's")
            }
        }
    }

    /// The identity of integration call `self` answered with answer `k`, as a run counts
    /// it (at the call, under the chosen answer's rule: `integration:invoke_llm/Answered`).
    pub fn answer_identity(&self, k: usize) -> FaultTarget {
        match self {
            Message::Answer {
                integration, id, ..
            } => FaultTarget::Reaction {
                rule: integration.answers[k].rule.name.clone(),
                target: format!("{}/{id}", integration.entity_type),
            },
            _ => unreachable!("only an integration call has answers"),
        }
    }

    /// `rule order_confirmed_authorizes_payment -> Payment/o1.AuthorizePayment`.
    pub fn describe(&self, handlers: &[String]) -> String {
        let copy = if self.is_copy() { " (copy)" } else { "" };
        match self {
            Message::Reaction(p) => format!(
                "rule {} -> {}/{}.{}{copy}",
                p.rule.name, p.dispatch.entity_type, p.dispatch.id, p.dispatch.action
            ),
            Message::Delivery { sub, event, .. } => {
                format!("{} -> {}{copy}", event.subject, handlers[*sub as usize])
            }
            Message::Answer {
                integration, id, ..
            } => format!(
                "integration {} -> {}/{id} (answer to choose){copy}",
                integration.name, integration.entity_type
            ),
        }
    }

    /// A total order for canonicalizing the pending set, cheaper than comparing
    /// [`Message::sort_key`]s: by kind, then names (rule, tenant, type, id, action of a
    /// reaction; the subscription of a delivery), and only for messages alike in those, by
    /// their keys. Messages that compare equal have equal keys.
    pub fn canonical_cmp(&self, other: &Message) -> std::cmp::Ordering {
        let names = match (self, other) {
            (Message::Reaction(a), Message::Reaction(b)) => (
                a.rule.name.as_str(),
                a.dispatch.tenant.as_str(),
                a.dispatch.entity_type.as_str(),
                a.dispatch.id.as_str(),
                a.dispatch.action.as_str(),
            )
                .cmp(&(
                    b.rule.name.as_str(),
                    b.dispatch.tenant.as_str(),
                    b.dispatch.entity_type.as_str(),
                    b.dispatch.id.as_str(),
                    b.dispatch.action.as_str(),
                )),
            (Message::Delivery { sub: a, .. }, Message::Delivery { sub: b, .. }) => a.cmp(b),
            _ => std::cmp::Ordering::Equal,
        };
        self.kind()
            .cmp(&other.kind())
            .then(names)
            .then_with(|| self.sort_key().cmp(&other.sort_key()))
    }

    fn kind(&self) -> u8 {
        match self {
            Message::Reaction(_) => 0,
            Message::Delivery { .. } => 1,
            Message::Answer { .. } => 2,
        }
    }

    /// A total order used to canonicalize the pending set when order carries no meaning.
    pub fn sort_key(&self) -> String {
        match self {
            Message::Reaction(p) => format!(
                "r|{}|{}|{}|{}|{}|{}|{}|{}",
                p.rule.name,
                p.dispatch.tenant,
                p.dispatch.entity_type,
                p.dispatch.id,
                p.dispatch.action,
                p.depth,
                crate::model::canonical::json_text(&p.dispatch.params),
                self.is_copy()
            ),
            Message::Delivery { sub, event, copy } => format!(
                "d|{sub}|{}|{}|{}|{}|{copy}",
                event.id.0,
                event.tenant,
                event.subject,
                crate::model::canonical::json_text(&event.payload)
            ),
            Message::Answer {
                integration,
                tenant,
                id,
                call,
            } => format!(
                "a|{}|{}|{tenant}|{id}|{call}",
                integration.name, integration.entity_type
            ),
        }
    }

    /// Applies `rename` to every id-like string inside (targets, params, subjects, payloads).
    pub fn rename(&self, rename: &dyn Fn(&str) -> Option<String>) -> Message {
        match self {
            Message::Reaction(p) => {
                let mut p = PendingReaction::clone(p);
                if let Some(id) = rename(p.dispatch.id.as_str()) {
                    p.dispatch.id = EntityId(id);
                }
                rename_value(&mut p.dispatch.params, rename);
                Message::Reaction(Pending::new(p))
            }
            Message::Delivery { sub, event, copy } => Message::Delivery {
                sub: *sub,
                event: Arc::new(rename_envelope(event, rename)),
                copy: *copy,
            },
            Message::Answer {
                integration,
                tenant,
                id,
                call,
            } => Message::Answer {
                integration: integration.clone(),
                tenant: tenant.clone(),
                id: rename(id.as_str()).map_or_else(|| id.clone(), EntityId),
                call: *call,
            },
        }
    }
}

pub fn rename_envelope(event: &Envelope, rename: &dyn Fn(&str) -> Option<String>) -> Envelope {
    let mut e = event.clone();
    let subject: Vec<String> = e
        .subject
        .tokens()
        .map(|t| rename(t).unwrap_or_else(|| t.to_string()))
        .collect();
    if let Ok(s) = Subject::new(subject.join(".")) {
        e.subject = s;
    }
    let mut payload = (*e.payload).clone();
    rename_value(&mut payload, rename);
    e.payload = Arc::new(payload);
    if let Cause::Commit { id, .. } = &mut e.cause {
        if let Some(new) = rename(id.as_str()) {
            *id = EntityId(new);
        }
    }
    e
}

/// Renames every string of `value` that `rename` maps.
pub fn rename_value(value: &mut Value, rename: &dyn Fn(&str) -> Option<String>) {
    match value {
        Value::String(s) => {
            if let Some(new) = rename(s) {
                *s = new;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename_value(v, rename)),
        Value::Object(map) => map.values_mut().for_each(|v| rename_value(v, rename)),
        _ => {}
    }
}

pub fn hash_origin<H: Hasher>(origin: &Origin, state: &mut H) {
    match origin {
        Origin::Root { event } => (0u8, event).hash(state),
        Origin::Reflex { handler, event } => (1u8, handler, event.0).hash(state),
        Origin::Rule { rule, copy } => (2u8, rule, copy).hash(state),
    }
}

pub fn hash_envelope<H: Hasher>(e: &Envelope, state: &mut H) {
    e.id.0.hash(state);
    e.tenant.hash(state);
    e.subject.as_str().hash(state);
    hash_value(&e.payload, state);
    e.at.hash(state);
    e.depth.hash(state);
    match &e.cause {
        Cause::Root { event } => (0u8, event).hash(state),
        Cause::Commit {
            entity_type,
            id,
            action,
        } => (1u8, entity_type, id, action).hash(state),
    }
}

pub fn envelope_eq(a: &Envelope, b: &Envelope) -> bool {
    a.id == b.id
        && a.tenant == b.tenant
        && a.subject == b.subject
        && a.payload == b.payload
        && a.at == b.at
        && a.depth == b.depth
        && a.cause == b.cause
}

impl PartialEq for Message {
    fn eq(&self, other: &Message) -> bool {
        match (self, other) {
            (Message::Reaction(a), Message::Reaction(b)) => **a == **b,
            (
                Message::Delivery { sub, event, copy },
                Message::Delivery {
                    sub: sub2,
                    event: event2,
                    copy: copy2,
                },
            ) => sub == sub2 && copy == copy2 && envelope_eq(event, event2),
            (
                Message::Answer {
                    integration,
                    tenant,
                    id,
                    call,
                },
                Message::Answer {
                    integration: i2,
                    tenant: t2,
                    id: id2,
                    call: c2,
                },
            ) => {
                integration.name == i2.name
                    && integration.entity_type == i2.entity_type
                    && tenant == t2
                    && id == id2
                    && call == c2
            }
            _ => false,
        }
    }
}

impl Eq for Message {}

impl Hash for Message {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match self {
            Message::Reaction(p) => {
                0u8.hash(state);
                p.digest.hash(state);
            }
            Message::Delivery { sub, event, copy } => {
                1u8.hash(state);
                sub.hash(state);
                copy.hash(state);
                hash_envelope(event, state);
            }
            Message::Answer {
                integration,
                tenant,
                id,
                call,
            } => {
                2u8.hash(state);
                integration.name.hash(state);
                integration.entity_type.hash(state);
                tenant.hash(state);
                id.hash(state);
                call.hash(state);
            }
        }
    }
}

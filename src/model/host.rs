//! The engine's host inside the cascade model: instead of a scheduler, every reaction the
//! engine defers and every bus delivery a commit causes becomes a pending message that the
//! checker may deliver in any order it explores.
//!
//! Ids are minted by a counter (`minted-1`, `minted-2`, ...): `create` ids are
//! interchangeable, which is what lets symmetry reduction merge states that differ only in
//! which id went to which entity. Time is the model's `now` (the latest root delivered).
//! Action failures are not injected (not explored, see the cascade model's header).

use crate::bus::{commit_event, commit_subject_into, Bus, Cause, Envelope};
use crate::core::Record;
use crate::core::SimTime;
use crate::core::{Depth, EntityId, TenantId, Value};
use crate::core::{EventId, Subject};
use crate::engine::{Host, IntegrationCall, PendingReaction};
use crate::model::message::Message;
use std::sync::Arc;

/// The prefix of minted ids; symmetry reduction renames exactly these.
pub const MINTED_PREFIX: &str = "minted-";

pub struct ModelHost<'a> {
    pub now: SimTime,
    /// `true`: reactions are messages (the scenario has faults); `false`: inline cascades.
    pub messages: bool,
    pub minted: u32,
    pub next_event: u64,
    pub bus: &'a Bus,
    /// What this transition created, in creation order.
    pub created: Vec<Message>,
    pub records: Vec<Record>,
    route: Vec<crate::core::SubId>,
}

impl<'a> ModelHost<'a> {
    pub fn new(now: SimTime, messages: bool, minted: u32, next_event: u64, bus: &'a Bus) -> Self {
        ModelHost {
            now,
            messages,
            minted,
            next_event,
            bus,
            created: Vec::new(),
            records: Vec::new(),
            route: Vec::new(),
        }
    }

    /// Publishes on the bus: one pending delivery per matching subscription, in
    /// subscription order.
    pub fn publish(
        &mut self,
        tenant: &TenantId,
        subject: Subject,
        payload: Value,
        depth: Depth,
        cause: Cause,
    ) {
        let id = EventId(self.next_event);
        self.next_event += 1;
        let mut route = std::mem::take(&mut self.route);
        self.bus.route(tenant, &subject, &mut route);
        if !route.is_empty() {
            let event = Arc::new(Envelope {
                id,
                tenant: tenant.clone(),
                subject,
                payload: Arc::new(payload),
                at: self.now,
                cause,
                depth,
            });
            for sub in &route {
                self.created.push(Message::Delivery {
                    sub: sub.0,
                    event: event.clone(),
                    copy: false,
                });
            }
        }
        self.route = route;
    }
}

impl Host for ModelHost<'_> {
    fn now(&self) -> SimTime {
        self.now
    }

    fn mint_id(&mut self) -> String {
        self.minted += 1;
        format!("{MINTED_PREFIX}{}", self.minted)
    }

    fn record(&mut self, record: Record) {
        self.records.push(record);
    }

    fn committed(
        &mut self,
        tenant: &TenantId,
        entity_type: &str,
        id: &str,
        action: &str,
        status: &str,
        depth: Depth,
    ) {
        if self.bus.is_empty() {
            return;
        }
        // The same subject and payload as the simulator's world publishes.
        let mut text = String::new();
        commit_subject_into(entity_type, action, id, &mut text);
        let Ok(subject) = Subject::new(text) else {
            return;
        };
        let (payload, cause) = commit_event(entity_type, id, action, status);
        self.publish(tenant, subject, payload, depth, cause);
    }

    /// An integration call is a pending message whose answer the checker chooses when it
    /// delivers it (every answer a run could pick is a branch). One that cannot answer
    /// (no answers, or all of weight 0) leaves nothing pending, as in a run.
    fn integration(&mut self, call: IntegrationCall<'_>) {
        if call.integration.answers.iter().all(|a| a.weight == 0) {
            return;
        }
        self.created.push(Message::Answer {
            integration: call.integration.clone(),
            tenant: call.tenant.clone(),
            id: EntityId::new(call.id),
            copy: false,
        });
    }

    fn defer(&mut self, reaction: PendingReaction) -> Option<PendingReaction> {
        if !self.messages {
            return Some(reaction);
        }
        self.created.push(Message::Reaction(Box::new(reaction)));
        None
    }
}

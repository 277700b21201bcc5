//! The engine's host inside the cascade model: instead of a scheduler, every reaction the
//! engine defers and every bus delivery a commit causes becomes a pending message that the
//! checker may deliver in any order it explores.
//!
//! Ids are minted by a counter (`minted-1`, `minted-2`, ...): `create` ids are
//! interchangeable, which is what lets symmetry reduction merge states that differ only in
//! which id went to which entity. Time is the model's `now` (the latest root delivered).
//!
//! A bus event's id is a hash of what it is (tenant, subject, payload, cause, depth, time),
//! not a counter: two publications by independent deliveries then get the same ids in
//! either order, which partial-order reduction needs (see `footprint.rs`). Two events alike
//! in all of these are indistinguishable to every handler anyway.
//!
//! An action failure the checker chose for this step (`fail`) is injected through
//! [`Host::fail_action`] into the first action the step applies.

use crate::bus::{commit_event, commit_subject_into, Bus, Cause, Envelope};
use crate::check::{CascadeTruncated, Invariant};
use crate::core::SimTime;
use crate::core::{Depth, EntityId, TenantId, Value};
use crate::core::{EventId, Subject};
use crate::core::{FaultKind, FaultTarget};
use crate::core::{Record, RecordRef};
use crate::engine::{Host, IntegrationCall, PendingReaction};
use crate::model::canonical::hash_value;
use crate::model::message::{Message, Pending};
use crate::scenario::ScheduledFault;
use rustc_hash::FxHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The prefix of minted ids; symmetry reduction renames exactly these.
pub const MINTED_PREFIX: &str = "minted-";

pub struct ModelHost<'a> {
    pub now: SimTime,
    /// `true`: reactions are messages (the scenario has faults); `false`: inline cascades.
    pub messages: bool,
    pub minted: u32,
    pub bus: &'a Bus,
    /// What this transition created, in creation order.
    pub created: Vec<Message>,
    /// The trace records, owned, only with `keep_records` (the counterexample writer reads
    /// them); the checker itself takes each record borrowed, as the engine writes it.
    pub records: Vec<Record>,
    pub keep_records: bool,
    /// The record invariants, fed every record borrowed, and `cascade_truncated` (unless
    /// the scenario allows truncation).
    pub invariants: &'a mut [Box<dyn Invariant>],
    pub truncated: Option<CascadeTruncated>,
    /// What they found, in order (several per property possible: the first one counts).
    pub found: Vec<(&'static str, String)>,
    /// The entity of every action dispatched, in order: only these can have changed.
    pub dispatched: Vec<(TenantId, String, EntityId)>,
    route: Vec<crate::core::SubId>,
    /// Fail the next action applied (a fault the checker chose), once.
    pub fail: bool,
    /// A `[[fault]]` schedule and the occurrences counted so far on this path.
    pub schedule: Option<(&'a [ScheduledFault], Occurrences)>,
    /// Actions this transition dispatched, and the most it may (the scenario's
    /// `cascade_dispatches_max`): a fan-out is cut there, as the simulator cuts it.
    pub dispatches: u64,
    pub dispatches_max: u64,
    /// Integration calls so far on this path, per (tenant, type, id, integration): each
    /// call's number, as a run numbers it. Taken from the state and put back.
    pub calls: Occurrences,
}

/// Occurrences of fault identities on a path, sorted by key.
pub type Occurrences = Vec<(String, u32)>;

/// Counts one more occurrence of `on` in `seen` (sorted by key) when the schedule names it,
/// and returns its number (1-based; 0 when the schedule never names it, so nothing
/// matches).
pub fn count_occurrence(
    schedule: &[ScheduledFault],
    seen: &mut Vec<(String, u32)>,
    on: &FaultTarget,
) -> u32 {
    if !schedule.iter().any(|f| f.on == *on) {
        return 0;
    }
    bump(seen, on.key())
}

/// One more occurrence of `key` in `counts` (sorted by key); its number, from 1.
fn bump(counts: &mut Occurrences, key: String) -> u32 {
    match counts.binary_search_by(|(k, _)| k.as_str().cmp(&key)) {
        Ok(i) => {
            counts[i].1 += 1;
            counts[i].1
        }
        Err(i) => {
            counts.insert(i, (key, 1));
            1
        }
    }
}

impl<'a> ModelHost<'a> {
    pub fn new(
        now: SimTime,
        messages: bool,
        minted: u32,
        bus: &'a Bus,
        invariants: &'a mut [Box<dyn Invariant>],
    ) -> Self {
        ModelHost {
            keep_records: false,
            invariants,
            truncated: None,
            found: Vec::new(),
            dispatched: Vec::new(),
            now,
            messages,
            minted,
            fail: false,
            schedule: None,
            dispatches: 0,
            dispatches_max: u64::MAX,
            bus,
            created: Vec::new(),
            records: Vec::new(),
            route: Vec::new(),
            calls: Vec::new(),
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
        let mut route = std::mem::take(&mut self.route);
        self.bus.route(tenant, &subject, &mut route);
        if !route.is_empty() {
            // rustc-hash's FxHasher: a fixed algorithm with no random key, so an event's id is the
            // same in every run of the checker.
            let mut h = FxHasher::default();
            tenant.hash(&mut h);
            subject.as_str().hash(&mut h);
            hash_value(&payload, &mut h);
            depth.hash(&mut h);
            self.now.hash(&mut h);
            match &cause {
                Cause::Root { event } => (0u8, event).hash(&mut h),
                Cause::Commit {
                    entity_type,
                    id,
                    action,
                } => (1u8, entity_type, id, action).hash(&mut h),
            }
            let event = Arc::new(Envelope {
                id: EventId(h.finish()),
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

    fn record(&mut self, record: Record) -> u64 {
        self.record_ref(record.view())
    }

    /// The model keeps no trace, and a state must not depend on how many records the path
    /// to it wrote: every record is step 0 here, so every cause is 0.
    fn record_ref(&mut self, record: RecordRef<'_>) -> u64 {
        if let Record::Dispatch {
            tenant,
            entity_type,
            id,
            ..
        } = &record
        {
            self.dispatches += 1;
            self.dispatched.push((
                TenantId::new(*tenant),
                entity_type.to_string(),
                EntityId::new(*id),
            ));
        }
        for inv in self.invariants.iter_mut() {
            if let Some(message) = inv.on_record_ref(&record) {
                self.found.push((inv.name(), message));
            }
        }
        if let Some(t) = self.truncated.as_mut() {
            if let Some(message) = t.on_record_ref(&record) {
                self.found.push((t.name(), message));
            }
        }
        if self.keep_records {
            self.records.push(record.to_record());
        }
        0
    }

    fn exhausted(&self) -> bool {
        self.dispatches >= self.dispatches_max
    }

    fn fail_action(&mut self, d: &crate::engine::ActionDispatch) -> bool {
        if std::mem::take(&mut self.fail) {
            return true;
        }
        let Some((schedule, seen)) = self.schedule.as_mut() else {
            return false;
        };
        let on = FaultTarget::Action {
            target: format!("{}/{}", d.entity_type, d.id),
            action: d.action.clone(),
        };
        let nth = count_occurrence(schedule, seen, &on);
        schedule
            .iter()
            .any(|f| f.kind == FaultKind::ActionFailure && f.nth == nth && f.on == on)
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
        let key = format!(
            "{}\0{}\0{}\0{}",
            call.tenant, call.entity_type, call.id, call.integration.name
        );
        let call_nth = bump(&mut self.calls, key);
        self.created.push(Message::Answer {
            integration: call.integration.clone(),
            tenant: call.tenant.clone(),
            id: EntityId::new(call.id),
            call: call_nth,
        });
    }

    fn defer(&mut self, reaction: PendingReaction) -> Option<PendingReaction> {
        if !self.messages {
            return Some(reaction);
        }
        self.created.push(Message::Reaction(Pending::new(reaction)));
        None
    }
}

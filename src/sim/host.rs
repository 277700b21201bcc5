//! The engine's host: everything a run has but the engine itself (time, ids, faults, the
//! trace, the bus, the queue, the invariants), so that both can be borrowed at once.
//! Every effect the engine asks for goes through here.

use crate::bus::{commit_cause_into, Bus, Cause, CommitPayloads, Envelope};
use crate::check::{observe_record, Builtins, Invariant, Observation, Violation};
use crate::core::{same_name, Depth, EntityId, TenantId, Value};
use crate::core::{EventId, SubId, Subject};
use crate::core::{FaultKind, FaultTarget, Origin, Record, RecordRef};
use crate::core::{Purpose, RngStream, Seed, SimTime, UuidSource};
use crate::engine::{ActionDispatch, Host, IntegrationCall, PendingReaction};
use crate::scenario::PinnedAnswer;
use crate::sim::prepared::CommitSubjects;
use crate::sim::{Faults, Queue};
use crate::sim::{ReactionResult, VIOLATIONS_MAX};
use crate::trace::TraceSink;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the scheduler runs.
#[derive(Clone)]
pub(super) enum Msg {
    /// A publication reaches one subscription. `cause` is the step of its `publish`.
    Deliver {
        sub: SubId,
        event: Arc<Envelope>,
        cause: u64,
    },
    /// A deferred reaction's message arrives (faults mode).
    Reaction(Box<PendingReaction>),
}

/// Where FIFO holds when `reorder = false`: per subscription, and per target entity for
/// reaction messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Channel {
    Sub(SubId),
    Entity(TenantId, String, EntityId),
}

/// The engine's host: everything but the engine itself, so both can be borrowed at once.
pub(super) struct Ctx {
    pub(super) now: SimTime,
    /// Prepared with the scenario and shared by its runs: nothing subscribes during a run.
    pub(super) bus: Arc<Bus>,
    /// Per entity type and action: its commits' subject prefix and whether anyone may hear
    /// them.
    pub(super) commit_subjects: Arc<CommitSubjects>,
    pub(super) queue: Queue<Msg>,
    pub(super) ids: UuidSource,
    pub(super) sched: RngStream,
    /// For integration answers, drawn per call (see `Host::integration` below).
    pub(super) seed: Seed,
    /// Calls so far per (tenant, type, id, integration): a call's number is its identity.
    pub(super) calls: BTreeMap<(TenantId, String, String, String), u32>,
    /// `[[answer]]` entries: answers fixed by call.
    pub(super) pins: Arc<Vec<PinnedAnswer>>,
    pub(super) faults: Option<Faults>,
    /// The handler id behind each subscription (fault identities name handlers).
    pub(super) sub_handlers: Arc<Vec<String>>,
    pub(super) channels: BTreeMap<Channel, SimTime>,
    pub(super) trace: TraceSink,
    pub(super) invariants: Builtins,
    /// The runner's library invariants, after the built-in ones (mostly none).
    pub(super) library: Vec<Box<dyn Invariant>>,
    /// Actions dispatched in the step in hand, against `cascade_dispatches_max`.
    pub(super) step_dispatches: u64,
    pub(super) cascade_dispatches_max: u64,
    /// Violations a record was just found to cause (a reused buffer, almost always empty).
    pub(super) found: Vec<(&'static str, String)>,
    pub(super) violations: Vec<Violation>,
    pub(super) violation_rules: Vec<Option<String>>,
    /// For each violation, what it was about (its failure signature's entity and observation).
    pub(super) violation_observations: Vec<Option<Observation>>,
    pub(super) violation_times: Vec<SimTime>,
    /// The rule a violation found now is signed with (see `signature::rule_at`, which finds the
    /// same one in the records): the last rule that acted in this scheduler step, kept as
    /// the records go by so that a run that keeps no records has it. A reused buffer.
    pub(super) acting_rule: String,
    pub(super) acting: bool,
    /// Reaction results, with [`Retain::Report`].
    pub(super) reactions: Option<Vec<ReactionResult>>,
    pub(super) next_event: u64,
    pub(super) route: Vec<SubId>,
    /// Where `entity.<Type>.<Action>.<id>` subjects are built, reused from commit to commit.
    pub(super) subject: String,
    /// Commit payloads this run has published, shared by the commits that repeat one.
    pub(super) commit_payloads: CommitPayloads,
    /// Envelopes whose every delivery has run, kept for the next publications to write over
    /// (their allocation, tenant and cause strings), at most [`ENVELOPES_SPARE_MAX`].
    pub(super) envelopes_spare: Vec<Arc<Envelope>>,
}

/// Most delivered envelopes a run keeps for reuse: a cascade publishes about as many as it
/// delivers, so a few cover it; a burst of deliveries beyond this frees the rest.
pub(super) const ENVELOPES_SPARE_MAX: usize = 64;

impl Ctx {
    /// Notes a violation at `step`, signed with `rule` (the acting rule there, if any) and
    /// what it was about.
    pub(super) fn violation(
        &mut self,
        invariant: &str,
        message: String,
        step: u64,
        rule: Option<String>,
        observation: Option<Observation>,
    ) {
        if self.violations.len() < VIOLATIONS_MAX {
            self.violations.push(Violation {
                invariant: invariant.to_string(),
                message,
                step,
            });
            self.violation_rules.push(rule);
            self.violation_observations.push(observation);
            self.violation_times.push(self.now);
        }
    }

    /// The rule a violation at the last record written is signed with.
    pub(super) fn acting_rule(&self) -> Option<String> {
        self.acting.then(|| self.acting_rule.clone())
    }

    /// Everything a record goes through but the sink: the acting rule, the invariants (a
    /// violation is at the record's step), the reaction results kept for a report.
    pub(super) fn observe(&mut self, record: &RecordRef<'_>) {
        if let RecordRef::Dispatch { .. } = record {
            self.step_dispatches += 1;
        }
        if let Some(rule) = record.acting_rule() {
            // Consecutive records mostly name the same rule (its dispatch, then its result).
            if !same_name(&self.acting_rule, rule) {
                self.acting_rule.clear();
                self.acting_rule.push_str(rule);
            }
            self.acting = true;
        } else if record.starts_step() {
            self.acting = false;
        }
        let found = &mut self.found;
        self.invariants
            .on_record_ref(record, &mut |name, message| found.push((name, message)));
        for i in &mut self.library {
            if i.watches(record.kind()) {
                if let Some(message) = i.on_record_ref(record) {
                    found.push((i.name(), message));
                }
            }
        }
        if !self.found.is_empty() {
            let step = self.trace.len();
            let mut found = std::mem::take(&mut self.found);
            for (name, message) in found.drain(..) {
                let rule = self.acting_rule();
                let observation = observe_record(name, record);
                self.violation(name, message, step, rule, observation);
            }
            self.found = found;
        }
        if let (
            Some(reactions),
            RecordRef::Reaction {
                rule,
                depth,
                success,
                target_status,
                error,
                ..
            },
        ) = (&mut self.reactions, record)
        {
            // The first ones only, kept for the output: not the run's memory (see
            // `core::raw::meter`).
            if reactions.len() < crate::sim::OUTPUT_ROWS_MAX {
                crate::core::raw::meter::unmetered(|| {
                    reactions.push(ReactionResult {
                        rule: rule.to_string(),
                        depth: *depth,
                        success: *success,
                        target_status: target_status.map(str::to_string),
                        error: error.map(str::to_string),
                    })
                });
            }
        }
    }

    /// Publishes on `subject` (valid, as a `&str`): routes it, records it, and schedules one
    /// delivery per subscription. `message` writes the cause to deliver (over a spare
    /// envelope's) and gives the payload, with the run's commit payloads at hand (it cannot
    /// borrow them from `self`); it is called only when someone subscribed, so an unheard
    /// publication allocates nothing.
    pub(super) fn publish(
        &mut self,
        tenant: &TenantId,
        subject: &str,
        routed: bool,
        depth: Depth,
        cause: u64,
        message: impl FnOnce(&mut Cause, &mut CommitPayloads) -> Arc<Value>,
    ) {
        let id = EventId(self.next_event);
        self.next_event += 1;
        let mut route = std::mem::take(&mut self.route);
        if routed {
            self.bus.route_str(tenant.as_str(), subject, &mut route);
        } else {
            route.clear();
        }
        // Fan-out order is a draw from the seed: subscribers are independent, and a bug that
        // depends on which one hears first should show up on some seed. Each subscription
        // still sees its own events in publish order (FIFO).
        if route.len() > 1 {
            self.sched.shuffle(&mut route);
        }
        let published = self.record_ref(RecordRef::Publish {
            at: self.now,
            cause,
            event: id,
            tenant: tenant.as_str(),
            subject,
            depth,
            subscribers: route.len() as u32,
        });
        if !route.is_empty() {
            let envelope = match self.envelopes_spare.pop() {
                Some(mut spare) => {
                    let e = Arc::get_mut(&mut spare).expect("spare envelopes are unshared");
                    e.payload = message(&mut e.cause, &mut self.commit_payloads);
                    e.id = id;
                    e.tenant.0.clone_from(&tenant.0);
                    e.subject.set_unchecked(subject);
                    e.at = self.now;
                    e.depth = depth;
                    spare
                }
                None => {
                    let mut cause = Cause::Root { event: 0 };
                    let payload = message(&mut cause, &mut self.commit_payloads);
                    Arc::new(Envelope {
                        id,
                        tenant: tenant.clone(),
                        subject: Subject::new_unchecked(subject.to_string()),
                        payload,
                        at: self.now,
                        cause,
                        depth,
                    })
                }
            };
            for &sub in &route {
                let msg = Msg::Deliver {
                    sub,
                    event: envelope.clone(),
                    cause: published,
                };
                if self.faults.is_some() {
                    let on = FaultTarget::Delivery {
                        subject: envelope.subject.to_string(),
                        handler: self.sub_handlers[sub.0 as usize].clone(),
                    };
                    self.schedule_faulty(Channel::Sub(sub), msg, on, Some(id), None);
                } else {
                    self.queue.push(self.now, msg);
                }
            }
        }
        self.route = route;
    }

    /// Keeps `envelope` for a later publication when this was its last delivery.
    pub(super) fn delivered(&mut self, mut envelope: Arc<Envelope>) {
        if self.envelopes_spare.len() < ENVELOPES_SPARE_MAX && Arc::get_mut(&mut envelope).is_some()
        {
            self.envelopes_spare.push(envelope);
        }
    }

    /// Schedules a message under the fault plan: it may be dropped, delayed or duplicated,
    /// and every fault that fires is a trace record. `copy` turns a message into its
    /// duplicate (marks a reaction's copy).
    pub(super) fn schedule_faulty(
        &mut self,
        channel: Channel,
        msg: Msg,
        on: FaultTarget,
        event: Option<EventId>,
        copy: Option<fn(Msg) -> Msg>,
    ) {
        self.schedule_faulty_from(self.now, channel, msg, on, event, copy);
    }

    /// [`Ctx::schedule_faulty`] for a message due at `base` (a fault's delay adds to it).
    fn schedule_faulty_from(
        &mut self,
        base: SimTime,
        channel: Channel,
        msg: Msg,
        on: FaultTarget,
        event: Option<EventId>,
        copy: Option<fn(Msg) -> Msg>,
    ) {
        let faults = self.faults.as_mut().expect("faults on");
        let (nth, fate, dup_delay) = faults.message(&on);
        let reorder = faults.reorder();
        let now = self.now;
        // A fault on a message is caused by what sent it.
        let cause = match &msg {
            Msg::Deliver { cause, .. } => *cause,
            Msg::Reaction(p) => p.dispatch.cause,
        };
        let fault = |fault, on: &FaultTarget, delay_ms| Record::Fault {
            at: now,
            cause,
            fault,
            on: on.clone(),
            nth,
            event,
            delay_ms,
        };
        if fate.dropped {
            let r = fault(FaultKind::Drop, &on, 0);
            self.record(r);
            return;
        }
        if fate.delay_ms > 0 {
            let r = fault(FaultKind::Delay, &on, fate.delay_ms);
            self.record(r);
        }
        let at = self.channel_time(&channel, base.saturating_add_ms(fate.delay_ms), reorder);
        let second = fate.duplicated.then(|| msg.clone());
        self.queue.push(at, msg);
        if let Some(second) = second {
            let r = fault(FaultKind::Duplicate, &on, dup_delay);
            self.record(r);
            let at = self.channel_time(&channel, base.saturating_add_ms(dup_delay), reorder);
            let second = match copy {
                Some(f) => f(second),
                None => second,
            };
            self.queue.push(at, second);
        }
    }

    /// Without `reorder`, a message never overtakes an earlier one on its channel.
    pub(super) fn channel_time(
        &mut self,
        channel: &Channel,
        at: SimTime,
        reorder: bool,
    ) -> SimTime {
        if reorder {
            return at;
        }
        let last = self
            .channels
            .entry(channel.clone())
            .or_insert(SimTime::ZERO);
        let at = at.max(*last);
        *last = at;
        at
    }
}

pub(super) fn mark_copy(msg: Msg) -> Msg {
    match msg {
        Msg::Reaction(mut p) => {
            if let Origin::Rule { copy, .. } = &mut p.dispatch.origin {
                *copy = true;
            }
            Msg::Reaction(p)
        }
        other => other,
    }
}

impl Host for Ctx {
    fn now(&self) -> SimTime {
        self.now
    }

    fn mint_id(&mut self) -> String {
        self.ids.sim_uuid(self.now).to_string()
    }

    fn record(&mut self, record: Record) -> u64 {
        self.observe(&record.view());
        self.trace.push(record)
    }

    fn record_ref(&mut self, record: RecordRef<'_>) -> u64 {
        self.observe(&record);
        self.trace.push_ref(&record)
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
        let mut subject = std::mem::take(&mut self.subject);
        // Most commits are heard by nobody, whatever their id: those are not routed.
        let routed = self
            .commit_subjects
            .write(entity_type, action, id, &mut subject);
        // The engine calls this right after it recorded the commit's transition.
        let committed = self.trace.len().saturating_sub(1);
        self.publish(
            tenant,
            &subject,
            routed,
            depth,
            committed,
            |cause, payloads| {
                commit_cause_into(cause, entity_type, id, action);
                payloads.get(entity_type, id, action, status)
            },
        );
        self.subject = subject;
    }

    /// The outside world answers: which answer and how late are drawn from the seed, per
    /// call (the stream of `Purpose::Integrations` at a place keyed by the call's identity:
    /// tenant, type, id, integration and how many calls of it came before), so that a call's
    /// answer does not depend on unrelated draws. An `[[answer]]` entry fixes a call's
    /// answer (and its delay, when it gives one). The answer is a reaction message, so
    /// faults delay, drop and duplicate it like any other.
    fn integration(&mut self, call: IntegrationCall<'_>) {
        let i = call.integration;
        let key = (
            call.tenant.clone(),
            call.entity_type.to_string(),
            call.id.to_string(),
            i.name.clone(),
        );
        let nth = self.calls.entry(key).or_insert(0);
        *nth += 1;
        let nth = *nth;
        let identity = format!(
            "{}\0{}\0{}\0{}\0{nth}",
            call.tenant, call.entity_type, call.id, i.name
        );
        let mut rng = RngStream::keyed(
            self.seed,
            Purpose::Integrations,
            xxhash_rust::xxh3::xxh3_64(identity.as_bytes()),
        );
        let draw = rng.next_u64();
        let mut delay_ms = rng.between(i.delay_ms_min, i.delay_ms_max);
        let pinned = self.pins.iter().find(|p| {
            p.nth == nth
                && p.integration == i.name
                && p.target
                    .strip_prefix(call.entity_type)
                    .and_then(|r| r.strip_prefix('/'))
                    == Some(call.id)
        });
        let chosen = match pinned {
            Some(p) => {
                delay_ms = p.delay_ms.unwrap_or(delay_ms);
                i.answers.iter().position(|a| a.action == p.answer)
            }
            None => i.choose(draw),
        };
        let Some(k) = chosen else {
            return;
        };
        let pending = i.answer(k, call.tenant, call.id, call.cause);
        let due = self.now.saturating_add_ms(delay_ms);
        if self.faults.is_some() {
            let d = &pending.dispatch;
            let channel = Channel::Entity(d.tenant.clone(), d.entity_type.clone(), d.id.clone());
            let on = FaultTarget::Reaction {
                rule: pending.rule.name.clone(),
                target: format!("{}/{}", d.entity_type, d.id),
            };
            let msg = Msg::Reaction(Box::new(pending));
            self.schedule_faulty_from(due, channel, msg, on, None, Some(mark_copy));
        } else {
            self.queue.push(due, Msg::Reaction(Box::new(pending)));
        }
    }

    /// Without faults nothing fails and no reaction is deferred.
    fn runs_inline(&self) -> bool {
        self.faults.is_none()
    }

    fn exhausted(&self) -> bool {
        self.step_dispatches >= self.cascade_dispatches_max
    }

    fn fail_action(&mut self, d: &ActionDispatch) -> bool {
        let Some(faults) = self.faults.as_mut() else {
            return false;
        };
        let on = FaultTarget::Action {
            target: format!("{}/{}", d.entity_type, d.id),
            action: d.action.clone(),
        };
        let (nth, hit) = faults.action_fails(&on);
        if hit {
            // The engine asks right after it recorded the action's dispatch.
            let dispatched = self.trace.len().saturating_sub(1);
            self.record(Record::Fault {
                at: self.now,
                cause: dispatched,
                fault: FaultKind::ActionFailure,
                on,
                nth,
                event: None,
                delay_ms: 0,
            });
        }
        hit
    }

    fn defer(&mut self, reaction: PendingReaction) -> Option<PendingReaction> {
        if self.faults.is_none() {
            return Some(reaction);
        }
        let d = &reaction.dispatch;
        let channel = Channel::Entity(d.tenant.clone(), d.entity_type.clone(), d.id.clone());
        let on = FaultTarget::Reaction {
            rule: reaction.rule.name.clone(),
            target: format!("{}/{}", d.entity_type, d.id),
        };
        self.schedule_faulty(
            channel,
            Msg::Reaction(Box::new(reaction)),
            on,
            None,
            Some(mark_copy),
        );
        None
    }
}

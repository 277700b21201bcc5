//! The world: one run of a scenario under one seed.
//!
//! `Sim::new` builds the engine, the bus and the reflex registries from a validated
//! scenario; `run` is a loop over `step` until the queue is empty or a budget runs out.
//! Everything the run does goes through one [`Ctx`] (the engine's [`Host`]): time, ids,
//! faults, the trace, the bus and the queue. Nothing here reads a clock or an OS random
//! source.

use crate::bus::{
    commit_cause_into, commit_subject_into, sanitize_token_into, Bus, Cause, CommitPayloads,
    Envelope,
};
use crate::check::{compare_runs, Builtins, NameMemo, RunEnd, Violation};
use crate::core::{same_name, Depth, EntityId, TenantId, Value};
use crate::core::{EventId, SubId, Subject};
use crate::core::{FaultKind, FaultTarget, Origin, OriginRef, Record, RecordCounts, RecordRef};
use crate::core::{Purpose, RngStream, Seed, SimTime, UuidSource};
use crate::engine::reflex::{HandlerIndex, HandlerOutput, Outcome, ReflexHandler, ReflexRegistry};
use crate::engine::{ActionDispatch, DispatchRef, Engine, Fields, Host, PendingReaction, RuleSet};
use crate::scenario::FaultConfig;
use crate::scenario::{expand_generators, CheckAt, Input, RootEvent, Scenario};
use crate::sim::{FaultPlan, Faults, Queue};
use crate::trace::{trace_file_bytes, TraceHash, TraceHeader, TraceSink, TRACE_FILE_VERSION};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// At most this many violations are kept per run (a cycle can break a property thousands
/// of times; the first ones say it all).
pub const VIOLATIONS_MAX: usize = 100;

/// What the scheduler runs.
#[derive(Clone)]
enum Msg {
    /// The root input with this index (scripted events first, then generated ones).
    Root(u32),
    /// A publication reaches one subscription.
    Deliver { sub: SubId, event: Arc<Envelope> },
    /// A deferred reaction's message arrives (faults mode).
    Reaction(Box<PendingReaction>),
}

/// Where FIFO holds when `reorder = false`: per subscription, and per target entity for
/// reaction messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Channel {
    Sub(SubId),
    Entity(TenantId, String, EntityId),
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// Nothing left to do.
    Quiescent,
    /// The next message was due after the virtual-time budget (`until`).
    TimeBudget,
    /// `steps_max` scheduler steps ran.
    StepBudget,
}

/// Options for one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Keep the canonical trace text (for `--trace` and replay).
    pub keep_trace: bool,
    /// Draw the fault configuration from the seed, replacing the scenario's `[faults]`.
    pub swarm: bool,
}

/// What a run keeps of its trace besides the hash, once each record is encoded, hashed and
/// checked. Not an option of [`RunOptions`] (whose fields callers set by name): see
/// [`run_scenario_retaining`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Retain {
    /// Every record, in [`RunOutcome::records`]: reports, replay, the determinism check, the
    /// shrinker and the model checker read them. What [`run_scenario`] does.
    #[default]
    Records,
    /// What a JSON report needs and no records: the reaction results
    /// ([`RunOutcome::reactions`]) and the reflex outcomes. A sweep's JSON lines.
    Report,
    /// Nothing that grows with the run: the hash, the counts, the violations with their
    /// failure signature, the final entities. A sweep's summary and the benchmarks: memory
    /// stays flat however long the run.
    Summary,
}

/// A reaction's result, as a report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReactionResult {
    pub rule: String,
    pub depth: Depth,
    pub success: bool,
    pub target_status: Option<String>,
    pub error: Option<String>,
}

/// A final entity, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityRow {
    pub tenant: TenantId,
    pub entity_type: String,
    pub id: EntityId,
    pub status: String,
    pub fields: Fields,
}

/// Everything a run produced.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub scenario: String,
    pub seed: Seed,
    pub swarm: bool,
    /// The faults in force, described (`None`: inline cascades, no faults).
    pub faults: Option<String>,
    pub trace_hash: TraceHash,
    /// Every record, when the run kept them ([`Retain::Records`]); empty otherwise.
    pub records: Vec<Record>,
    pub trace_text: Option<Vec<u8>>,
    pub violations: Vec<Violation>,
    /// For each violation, in order: the rule that acted last in its scheduler step, up to
    /// its step (`None`: none did), as the sweep's failure signature shows it. Noted during
    /// the run, so that it is there whatever the run kept.
    pub violation_rules: Vec<Option<String>>,
    /// Reflex outcomes (empty with [`Retain::Summary`]).
    pub outcomes: Vec<Outcome>,
    /// What the run kept.
    pub retained: Retain,
    /// The records written, by kind (whatever was kept).
    pub counts: RecordCounts,
    /// Reaction results in trace order, with [`Retain::Report`] (with
    /// [`Retain::Records`] they are among the records; with [`Retain::Summary`], gone).
    pub reactions: Vec<ReactionResult>,
    pub entities: Vec<EntityRow>,
    pub virtual_time: SimTime,
    pub scheduler_steps: u64,
    pub stop: Stop,
    pub pending: usize,
    /// Root inputs: scripted then generated.
    pub root_events: usize,
}

impl RunOutcome {
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }

    /// The run's trace file (`ripple run --trace FILE`), naming `scenario_path`; `None` when
    /// the run did not keep its trace text.
    pub fn trace_file(&self, scenario_path: &str) -> Option<Vec<u8>> {
        let text = self.trace_text.as_ref()?;
        let header = TraceHeader {
            ripple_trace: TRACE_FILE_VERSION,
            scenario: scenario_path.to_string(),
            scenario_name: self.scenario.clone(),
            seed: self.seed.0,
            swarm: self.swarm,
            trace_hash: self.trace_hash.to_string(),
            steps: self.steps(),
        };
        Some(trace_file_bytes(&header, text))
    }

    /// Trace records, one per step (counted whether or not they were kept).
    pub fn steps(&self) -> u64 {
        self.counts.total()
    }
}

/// The engine's host: everything but the engine itself, so both can be borrowed at once.
struct Ctx {
    now: SimTime,
    /// Prepared with the scenario and shared by its runs: nothing subscribes during a run.
    bus: Arc<Bus>,
    /// Per entity type and action: its commits' subject prefix and whether anyone may hear
    /// them.
    commit_subjects: Arc<CommitSubjects>,
    queue: Queue<Msg>,
    ids: UuidSource,
    sched: RngStream,
    faults: Option<Faults>,
    /// The handler id behind each subscription (fault identities name handlers).
    sub_handlers: Arc<Vec<String>>,
    channels: BTreeMap<Channel, SimTime>,
    trace: TraceSink,
    invariants: Builtins,
    /// Violations a record was just found to cause (a reused buffer, almost always empty).
    found: Vec<(&'static str, String)>,
    violations: Vec<Violation>,
    violation_rules: Vec<Option<String>>,
    /// The rule a violation found now is signed with (see `sweep::rule_at`, which finds the
    /// same one in the records): the last rule that acted in this scheduler step, kept as
    /// the records go by so that a run that keeps no records has it. A reused buffer.
    acting_rule: String,
    acting: bool,
    /// Reaction results, with [`Retain::Report`].
    reactions: Option<Vec<ReactionResult>>,
    next_event: u64,
    route: Vec<SubId>,
    /// Where `entity.<Type>.<Action>.<id>` subjects are built, reused from commit to commit.
    subject: String,
    /// Commit payloads this run has published, shared by the commits that repeat one.
    commit_payloads: CommitPayloads,
    /// Envelopes whose every delivery has run, kept for the next publications to write over
    /// (their allocation, tenant and cause strings), at most [`ENVELOPES_SPARE_MAX`].
    envelopes_spare: Vec<Arc<Envelope>>,
}

/// Most delivered envelopes a run keeps for reuse: a cascade publishes about as many as it
/// delivers, so a few cover it; a burst of deliveries beyond this frees the rest.
const ENVELOPES_SPARE_MAX: usize = 64;

impl Ctx {
    /// Notes a violation at `step`, signed with `rule` (the acting rule there, if any).
    fn violation(&mut self, invariant: &str, message: String, step: u64, rule: Option<String>) {
        if self.violations.len() < VIOLATIONS_MAX {
            self.violations.push(Violation {
                invariant: invariant.to_string(),
                message,
                step,
            });
            self.violation_rules.push(rule);
        }
    }

    /// The rule a violation at the last record written is signed with.
    fn acting_rule(&self) -> Option<String> {
        self.acting.then(|| self.acting_rule.clone())
    }

    /// Everything a record goes through but the sink: the acting rule, the invariants (a
    /// violation is at the record's step), the reaction results kept for a report.
    fn observe(&mut self, record: &RecordRef<'_>) {
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
        if !self.found.is_empty() {
            let step = self.trace.len();
            let mut found = std::mem::take(&mut self.found);
            for (name, message) in found.drain(..) {
                let rule = self.acting_rule();
                self.violation(name, message, step, rule);
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
            reactions.push(ReactionResult {
                rule: rule.to_string(),
                depth: *depth,
                success: *success,
                target_status: target_status.map(str::to_string),
                error: error.map(str::to_string),
            });
        }
    }

    /// Publishes on `subject` (valid, as a `&str`): routes it, records it, and schedules one
    /// delivery per subscription. `message` writes the cause to deliver (over a spare
    /// envelope's) and gives the payload, with the run's commit payloads at hand (it cannot
    /// borrow them from `self`); it is called only when someone subscribed, so an unheard
    /// publication allocates nothing.
    fn publish(
        &mut self,
        tenant: &TenantId,
        subject: &str,
        routed: bool,
        depth: Depth,
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
        self.record_ref(RecordRef::Publish {
            at: self.now,
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
    fn delivered(&mut self, mut envelope: Arc<Envelope>) {
        if self.envelopes_spare.len() < ENVELOPES_SPARE_MAX && Arc::get_mut(&mut envelope).is_some()
        {
            self.envelopes_spare.push(envelope);
        }
    }

    /// Schedules a message under the fault plan: it may be dropped, delayed or duplicated,
    /// and every fault that fires is a trace record. `copy` turns a message into its
    /// duplicate (marks a reaction's copy).
    fn schedule_faulty(
        &mut self,
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
        let fault = |fault, on: &FaultTarget, delay_ms| Record::Fault {
            at: now,
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
        let at = self.channel_time(&channel, self.now.saturating_add_ms(fate.delay_ms), reorder);
        let second = fate.duplicated.then(|| msg.clone());
        self.queue.push(at, msg);
        if let Some(second) = second {
            let r = fault(FaultKind::Duplicate, &on, dup_delay);
            self.record(r);
            let at = self.channel_time(&channel, self.now.saturating_add_ms(dup_delay), reorder);
            let second = match copy {
                Some(f) => f(second),
                None => second,
            };
            self.queue.push(at, second);
        }
    }

    /// Without `reorder`, a message never overtakes an earlier one on its channel.
    fn channel_time(&mut self, channel: &Channel, at: SimTime, reorder: bool) -> SimTime {
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

fn mark_copy(msg: Msg) -> Msg {
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

    fn record(&mut self, record: Record) {
        self.observe(&record.view());
        self.trace.push(record);
    }

    fn record_ref(&mut self, record: RecordRef<'_>) {
        self.observe(&record);
        self.trace.push_ref(&record);
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
        self.publish(tenant, &subject, routed, depth, |cause, payloads| {
            commit_cause_into(cause, entity_type, id, action);
            payloads.get(entity_type, id, action, status)
        });
        self.subject = subject;
    }

    /// Without faults nothing fails and no reaction is deferred.
    fn runs_inline(&self) -> bool {
        self.faults.is_none()
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
            self.record(Record::Fault {
                at: self.now,
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

/// One run of a scenario under one seed.
pub struct Sim<'s> {
    scenario: &'s Scenario,
    seed: Seed,
    swarm: bool,
    engine: Engine,
    reflexes: BTreeMap<TenantId, ReflexRegistry>,
    /// SubId -> the reflex that subscribed with it.
    subscribers: Arc<Vec<(TenantId, HandlerIndex)>>,
    /// SubId -> that reflex's handler id: the list `ctx.sub_handlers` shares, held here too
    /// so that a delivery can name its handler while it records through `ctx`.
    handlers: Arc<Vec<String>>,
    /// The scripted root publications' payloads, from [`Prepared`].
    root_payloads: Arc<Vec<Option<Arc<Value>>>>,
    retain: Retain,
    /// Generated root inputs (indices after the scripted ones).
    generated: Vec<RootEvent>,
    ctx: Ctx,
    outcomes: Vec<Outcome>,
    scheduler_steps: u64,
    /// User invariants already reported (each is reported once per run).
    reported: BTreeSet<String>,
}

impl<'s> Sim<'s> {
    /// A run that keeps every record ([`Retain::Records`]).
    pub fn new(scenario: &'s Scenario, seed: Seed, options: RunOptions) -> Sim<'s> {
        Sim::retaining(scenario, seed, options, Retain::Records)
    }

    /// A run that keeps what `retain` says.
    pub fn retaining(
        scenario: &'s Scenario,
        seed: Seed,
        options: RunOptions,
        retain: Retain,
    ) -> Sim<'s> {
        Prepared::build(scenario, false).sim(seed, options, retain)
    }

    fn start(prepared: &Prepared<'s>, seed: Seed, options: RunOptions, retain: Retain) -> Sim<'s> {
        let scenario = prepared.scenario;
        let engine = prepared.engine.fresh();
        // Handlers keep state (dedup windows), so each run gets its own; they subscribe
        // exactly as when the scenario was prepared (same order, same ids).
        let mut subscribed = 0;
        let reflexes = registries(
            scenario,
            Some(&prepared.prototypes),
            |tenant, _, index, _| {
                debug_assert_eq!(prepared.subscribers[subscribed], (tenant.clone(), index));
                subscribed += 1;
            },
        )
        .expect("the loader checks reflex ids");
        debug_assert_eq!(subscribed, prepared.subscribers.len());
        let (bus, subscribers) = (Arc::clone(&prepared.bus), Arc::clone(&prepared.subscribers));

        let faults = if options.swarm {
            Some(Faults::random(FaultPlan::new(
                FaultConfig::swarm(seed),
                seed,
            )))
        } else if let Some(schedule) = &scenario.schedule {
            Some(Faults::scheduled(schedule.clone()))
        } else {
            scenario
                .faults
                .map(|c| Faults::random(FaultPlan::new(c, seed)))
        };
        let handlers = Arc::clone(&prepared.handlers);
        let generated = expand_generators(&scenario.generators, seed);
        let invariants = prepared.invariants.clone();
        let mut ctx = Ctx {
            now: SimTime::ZERO,
            bus,
            commit_subjects: Arc::clone(&prepared.commit_subjects),
            queue: Queue::with_capacity((scenario.events.len() + generated.len()) * 2),
            ids: UuidSource::new(RngStream::new(seed, Purpose::Ids)),
            sched: RngStream::new(seed, Purpose::Scheduling),
            faults,
            sub_handlers: Arc::clone(&handlers),
            channels: BTreeMap::new(),
            trace: TraceSink::with_records(options.keep_trace, retain == Retain::Records),
            invariants,
            found: Vec::new(),
            violations: Vec::new(),
            violation_rules: Vec::new(),
            acting_rule: String::new(),
            acting: false,
            reactions: (retain == Retain::Report).then(Vec::new),
            next_event: 0,
            route: Vec::new(),
            subject: String::new(),
            commit_payloads: CommitPayloads::default(),
            envelopes_spare: Vec::new(),
        };

        // Root inputs that share a virtual time are concurrent: their order is drawn from
        // the seed (sorting on a random key keeps everything else in time order).
        let mut order: Vec<(SimTime, u64, u32)> = scenario
            .events
            .iter()
            .chain(generated.iter())
            .enumerate()
            .map(|(i, e)| {
                // Drawn either way, so pinning the order does not shift later draws
                // (fan-out order) on the scheduling stream.
                let drawn = ctx.sched.next_u64();
                let key = if scenario.file_order { i as u64 } else { drawn };
                (e.at, key, i as u32)
            })
            .collect();
        order.sort_unstable();
        for (at, _, i) in order {
            ctx.queue.push(at, Msg::Root(i));
        }

        Sim {
            scenario,
            seed,
            swarm: options.swarm,
            engine,
            reflexes,
            subscribers,
            handlers,
            root_payloads: Arc::clone(&prepared.root_payloads),
            retain,
            generated,
            ctx,
            outcomes: Vec::new(),
            scheduler_steps: 0,
            reported: BTreeSet::new(),
        }
    }

    pub fn now(&self) -> SimTime {
        self.ctx.now
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs one scheduler step; `Err` says why the run is over.
    pub fn step(&mut self) -> Result<(), Stop> {
        let Some(at) = self.ctx.queue.peek_time() else {
            return Err(Stop::Quiescent);
        };
        if at > self.scenario.until {
            return Err(Stop::TimeBudget);
        }
        if self.scheduler_steps >= self.scenario.steps_max {
            return Err(Stop::StepBudget);
        }
        let (at, msg) = self.ctx.queue.pop().expect("peeked");
        debug_assert!(at >= self.ctx.now, "time never goes back");
        self.ctx.now = at;
        self.scheduler_steps += 1;
        self.ctx.invariants.on_step();
        match msg {
            Msg::Root(i) => self.root(i),
            Msg::Deliver { sub, event } => {
                self.deliver(sub, &event);
                self.ctx.delivered(event);
            }
            Msg::Reaction(p) => self.engine.deliver(&mut self.ctx, *p),
        }
        // The instant is settled when nothing else is due now: check the scenario's own
        // invariants on the state the world is in.
        if self.ctx.queue.peek_time() != Some(self.ctx.now) {
            self.check_user_invariants(CheckAt::Step);
        }
        Ok(())
    }

    fn check_user_invariants(&mut self, at: CheckAt) {
        for spec in &self.scenario.invariants {
            if (spec.at == CheckAt::End) != (at == CheckAt::End)
                || self.reported.contains(&spec.invariant.name)
            {
                continue;
            }
            for tenant in &self.scenario.tenants {
                if spec.tenant.as_ref().is_some_and(|t| t != tenant) {
                    continue;
                }
                if let Some(message) = spec.invariant.check(self.engine.store(), tenant.as_str()) {
                    // A step check points at the step's last record (the rule there is part of
                    // the failure signature); an end check points past the end, at no rule.
                    let step = match at {
                        CheckAt::Step => self.ctx.trace.len().saturating_sub(1),
                        CheckAt::End => self.ctx.trace.len(),
                    };
                    let message = format!("{message} (tenant {tenant}, at {})", self.ctx.now);
                    let rule = match at {
                        CheckAt::Step => self.ctx.acting_rule(),
                        CheckAt::End => None,
                    };
                    self.ctx
                        .violation(&spec.invariant.name, message, step, rule);
                    self.reported.insert(spec.invariant.name.clone());
                    break;
                }
            }
        }
    }

    fn root(&mut self, index: u32) {
        let i = index as usize;
        let scripted = self.scenario.events.len();
        let event: &RootEvent = if i < scripted {
            &self.scenario.events[i]
        } else {
            &self.generated[i - scripted]
        };
        self.ctx.record_ref(RecordRef::Input {
            at: self.ctx.now,
            event: index,
        });
        match &event.input {
            Input::Publish { subject, payload } => {
                let prepared = self.root_payloads.get(i).and_then(Option::as_ref);
                self.ctx.publish(
                    &event.tenant,
                    subject.as_str(),
                    true,
                    Depth(0),
                    |cause, _| {
                        *cause = Cause::Root { event: index };
                        // A scripted event's payload was built when the scenario was
                        // prepared; a generated one's is this run's own.
                        prepared.map_or_else(|| Arc::new(payload.clone()), Arc::clone)
                    },
                );
            }
            Input::Dispatch { .. } => {
                // A failed root action is recorded by the engine; the run goes on.
                let d = event.dispatch(index).expect("an action input");
                let _ = self.engine.dispatch_ref(&mut self.ctx, d);
            }
        }
    }

    fn deliver(&mut self, sub: SubId, event: &Envelope) {
        let (tenant, index) = &self.subscribers[sub.0 as usize];
        let registry = self.reflexes.get_mut(tenant).expect("registry per tenant");
        let handler = self.handlers[sub.0 as usize].as_str();
        let now = self.ctx.now;
        self.ctx.record_ref(RecordRef::Deliver {
            at: now,
            event: event.id,
            sub,
            handler,
        });
        let mut inject_panic = false;
        if let Some(faults) = self.ctx.faults.as_mut() {
            let on = FaultTarget::Handler {
                handler: handler.to_string(),
                subject: event.subject.to_string(),
            };
            let (nth, restart, panic) = faults.handler_faults(&on);
            inject_panic = panic;
            let fault = |fault| RecordRef::Fault {
                at: now,
                fault,
                on: &on,
                nth,
                event: Some(event.id),
                delay_ms: 0,
            };
            if restart {
                registry.restart(*index);
                self.ctx.record_ref(fault(FaultKind::ReflexRestart));
            }
            if inject_panic {
                self.ctx.record_ref(fault(FaultKind::HandlerPanic));
            }
        }
        // The answer lives in the registry's buffer: an outcome only the trace reads (a run
        // that keeps no outcomes) is never copied out of it.
        let Some(HandlerOutput { outcome, dispatch }) =
            registry.handle_reusing(*index, event, now, inject_panic)
        else {
            return;
        };
        self.ctx.record_ref(RecordRef::Outcome {
            at: now,
            event: event.id,
            handler,
            id: &outcome.id,
            outcome: outcome.outcome,
            severity: outcome.severity,
            target: outcome.target.as_deref(),
        });
        if self.retain != Retain::Summary {
            self.outcomes.push(outcome.clone());
        }
        if let Some(req) = dispatch {
            let _ = self.engine.dispatch_ref(
                &mut self.ctx,
                DispatchRef {
                    tenant: &event.tenant,
                    source_tenant: &event.tenant,
                    entity_type: &req.entity_type,
                    id: req.id.as_str(),
                    action: &req.action,
                    params: &req.params,
                    depth: Depth(event.depth.0 + 1),
                    origin: OriginRef::Reflex {
                        handler,
                        event: event.id,
                    },
                },
            );
        }
    }

    /// Runs to the end and reports.
    pub fn run(mut self) -> RunOutcome {
        let stop = loop {
            if let Err(stop) = self.step() {
                break stop;
            }
        };
        self.check_user_invariants(CheckAt::Step);
        self.check_user_invariants(CheckAt::End);
        let step = self.ctx.trace.len();
        let end = RunEnd {
            store: self.engine.store(),
            quiescent: stop == Stop::Quiescent,
            pending: self.ctx.queue.len(),
            now: self.ctx.now,
            next_due: self.ctx.queue.peek_time(),
        };
        let found = self.ctx.invariants.at_end(&end);
        for (name, message) in found {
            self.ctx.violation(name, message, step, None);
        }
        let entities = std::mem::take(self.engine.store_mut())
            .into_entities()
            .map(|(tenant, entity_type, id, e)| EntityRow {
                tenant,
                entity_type,
                id,
                status: e.status,
                fields: e.fields,
            })
            .collect();
        let pending = self.ctx.queue.len();
        let virtual_time = self.ctx.now;
        let faults = self.ctx.faults.as_ref().map(|f| f.describe());
        let root_events = self.scenario.events.len() + self.generated.len();
        let counts = self.ctx.trace.counts();
        let (trace_hash, records, trace_text) = self.ctx.trace.into_parts();
        RunOutcome {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            swarm: self.swarm,
            faults,
            trace_hash,
            records,
            trace_text,
            violations: self.ctx.violations,
            violation_rules: self.ctx.violation_rules,
            outcomes: self.outcomes,
            retained: self.retain,
            counts,
            reactions: self.ctx.reactions.unwrap_or_default(),
            entities,
            virtual_time,
            scheduler_steps: self.scheduler_steps,
            stop,
            pending,
            root_events,
        }
    }
}

/// Runs `scenario` under `seed`, keeping every record.
pub fn run_scenario(scenario: &Scenario, seed: Seed, options: RunOptions) -> RunOutcome {
    Sim::new(scenario, seed, options).run()
}

/// What every run of one scenario starts from, built once: the engine's specs, rules and
/// plan, and the built-in invariants' tables. A sweep (or a bench) prepares its scenario
/// once and starts each seed's run from here, sharing what never changes from run to run
/// instead of rebuilding it per seed. A run started here is the run [`run_scenario_retaining`]
/// makes: the same trace, byte for byte.
///
/// ```
/// use ripple::scenario::load_scenario;
/// use ripple::core::Seed;
/// use ripple::sim::{run_scenario_retaining, Prepared, Retain, RunOptions};
/// use std::path::Path;
///
/// let scenario = load_scenario(Path::new("scenarios/race.toml")).unwrap();
/// let prepared = Prepared::new(&scenario);
/// let options = RunOptions { keep_trace: false, swarm: true };
/// let failing: Vec<u64> = (0..200)
///     .filter(|&seed| !prepared.run(Seed(seed), options, Retain::Summary).passed())
///     .collect();
/// assert!(!failing.is_empty(), "swarm faults make the race show on some seeds");
/// // Any seed replays the same from scratch.
/// let seed = Seed(failing[0]);
/// assert_eq!(
///     prepared.run(seed, options, Retain::Summary).trace_hash,
///     run_scenario_retaining(&scenario, seed, options, Retain::Summary).trace_hash,
/// );
/// ```
pub struct Prepared<'s> {
    scenario: &'s Scenario,
    /// Never run: each run starts from [`Engine::fresh`].
    engine: Engine,
    /// Never run: each run starts from a clone.
    invariants: Builtins,
    /// Every reflex's subscription, in the order the registries make them.
    bus: Arc<Bus>,
    commit_subjects: Arc<CommitSubjects>,
    /// SubId -> the tenant and handler that subscribed with it.
    subscribers: Arc<Vec<(TenantId, HandlerIndex)>>,
    /// SubId -> that handler's id.
    handlers: Arc<Vec<String>>,
    /// The payload of each scripted root publication (by event index), built once.
    root_payloads: Arc<Vec<Option<Arc<Value>>>>,
    /// One handler per reflex of the scenario (templates compiled, patterns parsed), never
    /// run: each run registers fresh copies of them.
    prototypes: Vec<Box<dyn ReflexHandler>>,
}

/// For every declared entity type and action, what its commits' subjects
/// (`entity.<Type>.<Action>.<id>`) start with, and whether some subscription may hear one
/// of them, whatever the id. Only commits of declared actions happen; a pair not in the
/// table is built and routed as usual.
struct CommitSubjects {
    /// (type, action) -> (may be heard, index of its prefix).
    table: NameMemo<(bool, usize)>,
    /// `entity.<Type>.<Action>.`, as [`commit_subject_into`] writes it.
    prefixes: Vec<String>,
}

impl CommitSubjects {
    fn new(scenario: &Scenario, bus: &Bus) -> CommitSubjects {
        let mut pairs = Vec::new();
        let mut prefixes = Vec::new();
        for (entity_type, spec) in &scenario.entities {
            for action in spec.actions.keys() {
                // A subject with the id `x` (a token as it is), less the id: the id is
                // always one more token (sanitized: never empty, never a dot in it).
                let mut prefix = String::new();
                commit_subject_into(entity_type, action, "x", &mut prefix);
                prefix.pop();
                let heard = bus.may_hear_one_more(prefix.strip_suffix('.').expect("a dot"));
                pairs.push((entity_type, action, (heard, prefixes.len())));
                prefixes.push(prefix);
            }
        }
        CommitSubjects {
            table: NameMemo::new(pairs.iter().map(|(t, a, v)| (t.as_str(), a.as_str(), *v))),
            prefixes,
        }
    }

    /// Writes the subject of a commit over `out`; returns whether someone may hear it.
    #[inline]
    fn write(&self, entity_type: &str, action: &str, id: &str, out: &mut String) -> bool {
        out.clear();
        match self.table.get(entity_type, action) {
            Some((heard, prefix)) => {
                out.push_str(&self.prefixes[prefix]);
                sanitize_token_into(id, out);
                heard
            }
            None => {
                commit_subject_into(entity_type, action, id, out);
                true
            }
        }
    }
}

/// Each tenant's rule set, in scenario order (the simulator and the model checker build
/// them alike).
pub(crate) fn rule_sets(scenario: &Scenario) -> Result<BTreeMap<TenantId, RuleSet>, String> {
    let mut rules = BTreeMap::new();
    for (tenant, list) in &scenario.rules {
        let mut set = RuleSet::default();
        for rule in list {
            set.add(rule.clone()).map_err(|e| e.to_string())?;
        }
        rules.insert(tenant.clone(), set);
    }
    Ok(rules)
}

/// Each tenant's reflex registry, its handlers registered in scenario order; `subscribed`
/// hears of each handler that is new to its registry (and so subscribes), in that order,
/// with the index of its reflex in the scenario. Each handler is a [`ReflexHandler::fresh`]
/// copy of its prototype (by that index), when there are prototypes and it can make one,
/// or instantiated from its spec. The simulator and the model checker subscribe alike
/// through this.
pub(crate) fn registries(
    scenario: &Scenario,
    prototypes: Option<&[Box<dyn ReflexHandler>]>,
    mut subscribed: impl FnMut(&TenantId, usize, HandlerIndex, &ReflexRegistry),
) -> Result<BTreeMap<TenantId, ReflexRegistry>, String> {
    let mut reflexes = BTreeMap::new();
    for tenant in &scenario.tenants {
        let mut registry = ReflexRegistry::default();
        for (i, spec) in scenario.reflexes.iter().enumerate() {
            if !spec.serves(tenant) {
                continue;
            }
            let handler = prototypes
                .and_then(|p| p[i].fresh())
                .unwrap_or_else(|| spec.instantiate());
            let before = registry.len();
            let index = registry.register(handler).map_err(|e| e.to_string())?;
            if registry.len() > before {
                subscribed(tenant, i, index, &registry);
            }
        }
        reflexes.insert(tenant.clone(), registry);
    }
    Ok(reflexes)
}

impl<'s> Prepared<'s> {
    pub fn new(scenario: &'s Scenario) -> Prepared<'s> {
        Prepared::build(scenario, true)
    }

    /// [`Prepared::new`] for `runs` runs: for one, the scripted payloads are not built up
    /// front (the run builds each as it goes, as a run from scratch does).
    pub fn for_runs(scenario: &'s Scenario, runs: u64) -> Prepared<'s> {
        Prepared::build(scenario, runs > 1)
    }

    /// With `share_payloads`, the scripted publications' payloads are built once here for
    /// every run to share; without (a single run), each run builds its own as it goes, so
    /// that one run does not hold them all at once.
    fn build(scenario: &'s Scenario, share_payloads: bool) -> Prepared<'s> {
        let rules = rule_sets(scenario).expect("the loader enforces the rule budget");
        let prototypes: Vec<_> = scenario.reflexes.iter().map(|r| r.instantiate()).collect();
        let mut bus = Bus::new();
        let mut subscribers = Vec::new();
        let mut handlers = Vec::new();
        registries(scenario, Some(&prototypes), |tenant, _, index, registry| {
            let handler = registry.handler(index);
            let sub = bus.subscribe(handler.pattern().clone(), Some(tenant.clone()));
            assert_eq!(sub.0 as usize, subscribers.len());
            subscribers.push((tenant.clone(), index));
            handlers.push(handler.id().to_string());
        })
        .expect("the loader checks reflex ids");
        let root_payloads = if share_payloads {
            let payload = |e: &RootEvent| match &e.input {
                Input::Publish { payload, .. } => Some(Arc::new(payload.clone())),
                Input::Dispatch { .. } => None,
            };
            scenario.events.iter().map(payload).collect()
        } else {
            Vec::new()
        };
        Prepared {
            scenario,
            engine: Engine::new(scenario.entities.clone(), rules, scenario.depth_max),
            invariants: Builtins::new(scenario),
            commit_subjects: Arc::new(CommitSubjects::new(scenario, &bus)),
            bus: Arc::new(bus),
            subscribers: Arc::new(subscribers),
            handlers: Arc::new(handlers),
            root_payloads: Arc::new(root_payloads),
            prototypes,
        }
    }

    pub fn scenario(&self) -> &'s Scenario {
        self.scenario
    }

    /// A run of the scenario under `seed`, ready to step.
    pub fn sim(&self, seed: Seed, options: RunOptions, retain: Retain) -> Sim<'s> {
        Sim::start(self, seed, options, retain)
    }

    /// Runs the scenario under `seed`, keeping what `retain` says.
    pub fn run(&self, seed: Seed, options: RunOptions, retain: Retain) -> RunOutcome {
        self.sim(seed, options, retain).run()
    }
}

/// Runs `scenario` under `seed`, keeping what `retain` says. The trace (its hash, and its
/// text with `keep_trace`) is the same whatever is kept.
pub fn run_scenario_retaining(
    scenario: &Scenario,
    seed: Seed,
    options: RunOptions,
    retain: Retain,
) -> RunOutcome {
    Sim::retaining(scenario, seed, options, retain).run()
}

/// Runs the seed twice and adds a `determinism` violation if the two traces differ. This is
/// what `ripple run` does: a run that does not reproduce is the first thing to know.
pub fn run_checked(scenario: &Scenario, seed: Seed, options: RunOptions) -> RunOutcome {
    let mut first = run_scenario(scenario, seed, options);
    let second = run_scenario(
        scenario,
        seed,
        RunOptions {
            keep_trace: false,
            ..options
        },
    );
    if let Some(v) = compare_runs(
        seed.0,
        (&first.trace_hash, &first.records),
        (&second.trace_hash, &second.records),
    ) {
        // No rule noted: `failure_signature` finds it in the records.
        first.violations.push(v);
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::load_scenario;
    use crate::sim::failure_signature;
    use std::path::Path;

    /// The table writes every commit subject as `commit_subject_into` does, for declared
    /// pairs and others, whatever the id; and says "unheard" only of pairs whose commits no
    /// subscription matches.
    #[test]
    fn commit_subjects_are_written_as_commit_subject_into_writes_them() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let s = load_scenario(&dir.join("netops.toml")).unwrap_or_else(|e| panic!("{e}"));
        let prepared = Prepared::new(&s);
        let subjects = &prepared.commit_subjects;
        let mut pairs: Vec<(&str, &str)> = s
            .entities
            .iter()
            .flat_map(|(t, spec)| spec.actions.keys().map(move |a| (t.as_str(), a.as_str())))
            .collect();
        pairs.push(("Undeclared", "Go"));
        let (mut heard, mut unheard) = (0, 0);
        let (mut ours, mut theirs, mut route) = (String::new(), String::new(), Vec::new());
        for (t, a) in pairs {
            for id in ["r1|Gi0/1", "", "a.b", "x y", "*", ">", "é"] {
                let may = subjects.write(t, a, id, &mut ours);
                theirs.clear();
                commit_subject_into(t, a, id, &mut theirs);
                assert_eq!(ours, theirs, "{t} {a} {id:?}");
                prepared.bus.route_str("netops", &theirs, &mut route);
                assert!(may || route.is_empty(), "{theirs} is heard");
                if may {
                    heard += 1;
                } else {
                    unheard += 1;
                }
            }
        }
        assert!(heard > 0 && unheard > 0, "{heard} heard, {unheard} unheard");
    }

    #[test]
    fn runs_keeping_less_hash_count_and_sign_failures_as_runs_keeping_every_record() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut failures = 0;
        for name in ["race.toml", "cycle.toml", "netops.toml", "pipeline.toml"] {
            let s = load_scenario(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
            for seed in 0..40 {
                for swarm in [false, true] {
                    let options = RunOptions {
                        keep_trace: false,
                        swarm,
                    };
                    let full = run_scenario(&s, Seed(seed), options);
                    failures += usize::from(!full.passed());
                    // The rules noted during the run are the ones found in the records.
                    let mut unnoted = full.clone();
                    unnoted.violation_rules.clear();
                    assert_eq!(failure_signature(&unnoted), failure_signature(&full));
                    assert_eq!(full.steps(), full.records.len() as u64);
                    for retain in [Retain::Report, Retain::Summary] {
                        let lean = run_scenario_retaining(&s, Seed(seed), options, retain);
                        let at = format!("{name} seed {seed} swarm {swarm} {retain:?}");
                        assert!(lean.records.is_empty(), "{at}");
                        assert_eq!(lean.trace_hash, full.trace_hash, "{at}");
                        assert_eq!(lean.counts, full.counts, "{at}");
                        assert_eq!(lean.violations, full.violations, "{at}");
                        assert_eq!(lean.entities, full.entities, "{at}");
                        assert_eq!(failure_signature(&lean), failure_signature(&full), "{at}");
                        assert_eq!(
                            lean.outcomes.len(),
                            if retain == Retain::Report {
                                full.outcomes.len()
                            } else {
                                0
                            },
                            "{at}"
                        );
                    }
                }
            }
        }
        assert!(
            failures > 10,
            "the scenarios should fail on some seeds: {failures}"
        );
    }

    /// Runs started one after another from one [`Prepared`] are the runs made from scratch:
    /// nothing a run does leaks into the template the next one starts from.
    #[test]
    fn runs_from_one_prepared_scenario_are_runs_from_scratch() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut failures = 0;
        for name in ["race.toml", "cycle.toml", "netops.toml", "two_tenants.toml"] {
            let s = load_scenario(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
            let prepared = Prepared::new(&s);
            // Every seed twice, in an order that interleaves them.
            for seed in (0..30).chain((0..30).rev()) {
                for swarm in [false, true] {
                    let options = RunOptions {
                        keep_trace: false,
                        swarm,
                    };
                    let at = format!("{name} seed {seed} swarm {swarm}");
                    let alone = run_scenario(&s, Seed(seed), options);
                    let shared = prepared.run(Seed(seed), options, Retain::Records);
                    failures += usize::from(!alone.passed());
                    assert_eq!(shared.trace_hash, alone.trace_hash, "{at}");
                    assert_eq!(shared.records, alone.records, "{at}");
                    assert_eq!(shared.violations, alone.violations, "{at}");
                    assert_eq!(shared.entities, alone.entities, "{at}");
                }
            }
        }
        assert!(failures > 10, "some runs broke invariants: {failures}");
    }

    /// `a1.Go` makes rule `go_bumps_b` bump `b`; a later root `Bump` of `b` (no rule acting
    /// in its step) or a second `Go` (the rule acting) breaks `n_small`.
    fn bumps(last: &str) -> Scenario {
        let text = format!(
            r#"
[scenario]
name = "bumps"
[[tenant]]
id = "t"
[[entity]]
type = "A"
states = ["Idle", "On"]
initial = "Idle"
[[entity.action]]
name = "Go"
to = "On"
[[entity.action]]
name = "Bump"
effect = ["increment n"]
[[reaction]]
name = "go_bumps_b"
[reaction.when]
entity_type = "A"
action = "Go"
[reaction.then]
entity_type = "A"
action = "Bump"
[reaction.resolve_target]
type = "static"
entity_id = "b"
[[invariant]]
name = "n_small"
never = "A['b'].n >= 2"
[[event]]
at = "1ms"
tenant = "t"
dispatch = {{ entity_type = "A", id = "a1", action = "Go" }}
[[event]]
at = "2ms"
tenant = "t"
dispatch = {{ entity_type = "A", id = "{last}", action = "{}" }}
"#,
            if last == "b" { "Bump" } else { "Go" }
        );
        crate::scenario::parse_scenario(&text, Path::new("bumps.toml"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_violation_is_signed_with_the_rule_acting_in_its_own_step_only() {
        for (last, signature) in [("b", "n_small"), ("a2", "n_small@go_bumps_b")] {
            let s = bumps(last);
            for retain in [Retain::Records, Retain::Summary] {
                let o = run_scenario_retaining(&s, Seed(0), RunOptions::default(), retain);
                assert_eq!(
                    failure_signature(&o).as_deref(),
                    Some(signature),
                    "{last} {retain:?}: {:?}",
                    o.violations
                );
            }
        }
    }
}

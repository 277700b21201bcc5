//! The world: one run of a scenario under one seed.
//!
//! `Sim::new` builds the engine, the bus and the reflex registries from a validated
//! scenario; `run` is a loop over `step` until the queue is empty or a budget runs out.
//! Everything the run does goes through one [`Ctx`] (the engine's [`Host`]): time, ids,
//! faults, the trace, the bus and the queue. Nothing here reads a clock or an OS random
//! source.

use crate::bus::{sanitize_token, Bus, Cause, Envelope, EventId, SubId, Subject};
use crate::check::{builtin_invariants, compare_runs, Invariant, RunEnd, Violation};
use crate::engine::reflex::{HandlerIndex, Outcome, ReflexRegistry};
use crate::engine::{
    ActionDispatch, Depth, Engine, EntityId, Fields, Host, PendingReaction, RuleSet, TenantId,
    Value,
};
use crate::scenario::{expand_generators, CheckAt, Input, RootEvent, Scenario};
use crate::sim::{
    FaultConfig, FaultPlan, Faults, Purpose, Queue, RngStream, Seed, SimTime, UuidSource,
};
use crate::trace::{FaultKind, FaultTarget, Origin, Record, TraceHash, TraceSink};
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
    pub records: Vec<Record>,
    pub trace_text: Option<Vec<u8>>,
    pub violations: Vec<Violation>,
    pub outcomes: Vec<Outcome>,
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

    /// Trace records, one per step.
    pub fn steps(&self) -> u64 {
        self.records.len() as u64
    }
}

/// The engine's host: everything but the engine itself, so both can be borrowed at once.
struct Ctx {
    now: SimTime,
    bus: Bus,
    queue: Queue<Msg>,
    ids: UuidSource,
    sched: RngStream,
    faults: Option<Faults>,
    /// The handler id behind each subscription (fault identities name handlers).
    sub_handlers: Vec<String>,
    channels: BTreeMap<Channel, SimTime>,
    trace: TraceSink,
    invariants: Vec<Box<dyn Invariant>>,
    violations: Vec<Violation>,
    next_event: u64,
    route: Vec<SubId>,
}

impl Ctx {
    fn violation(&mut self, invariant: &str, message: String, step: u64) {
        if self.violations.len() < VIOLATIONS_MAX {
            self.violations.push(Violation {
                invariant: invariant.to_string(),
                message,
                step,
            });
        }
    }

    fn publish(
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
        // Fan-out order is a draw from the seed: subscribers are independent, and a bug that
        // depends on which one hears first should show up on some seed. Each subscription
        // still sees its own events in publish order (FIFO).
        if route.len() > 1 {
            self.sched.shuffle(&mut route);
        }
        self.record(Record::Publish {
            at: self.now,
            event: id,
            tenant: tenant.clone(),
            subject: subject.clone(),
            depth,
            subscribers: route.len() as u32,
        });
        if !route.is_empty() {
            let envelope = Arc::new(Envelope {
                id,
                tenant: tenant.clone(),
                subject,
                payload: Arc::new(payload),
                at: self.now,
                cause,
                depth,
            });
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
        let step = self.trace.len();
        for i in 0..self.invariants.len() {
            if let Some(message) = self.invariants[i].on_record(&record) {
                let name = self.invariants[i].name();
                self.violation(name, message, step);
            }
        }
        self.trace.push(record);
    }

    fn committed(
        &mut self,
        tenant: &TenantId,
        entity_type: &str,
        id: &EntityId,
        action: &str,
        status: &str,
        depth: Depth,
    ) {
        let subject = Subject::new(format!(
            "entity.{entity_type}.{action}.{}",
            sanitize_token(&id.0)
        ))
        .expect("entity types and actions are validated plain names; ids are sanitized");
        let mut payload = Fields::new();
        payload.insert("entity_type".into(), Value::from(entity_type));
        payload.insert("id".into(), Value::from(id.0.as_str()));
        payload.insert("action".into(), Value::from(action));
        payload.insert("status".into(), Value::from(status));
        let cause = Cause::Commit {
            entity_type: entity_type.to_string(),
            id: id.clone(),
            action: action.to_string(),
        };
        self.publish(tenant, subject, Value::Object(payload), depth, cause);
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
    subscribers: Vec<(TenantId, HandlerIndex)>,
    /// Generated root inputs (indices after the scripted ones).
    generated: Vec<RootEvent>,
    ctx: Ctx,
    outcomes: Vec<Outcome>,
    scheduler_steps: u64,
    /// User invariants already reported (each is reported once per run).
    reported: BTreeSet<String>,
}

impl<'s> Sim<'s> {
    pub fn new(scenario: &'s Scenario, seed: Seed, options: RunOptions) -> Sim<'s> {
        let mut rules = BTreeMap::new();
        for (tenant, list) in &scenario.rules {
            let mut set = RuleSet::default();
            for rule in list {
                set.add(rule.clone())
                    .expect("the loader enforces the rule budget");
            }
            rules.insert(tenant.clone(), set);
        }
        let engine = Engine::new(scenario.entities.clone(), rules, scenario.depth_max);

        let mut bus = Bus::new();
        let mut reflexes = BTreeMap::new();
        let mut subscribers = Vec::new();
        for tenant in &scenario.tenants {
            let mut registry = ReflexRegistry::default();
            for spec in scenario.reflexes.iter().filter(|r| r.serves(tenant)) {
                let before = registry.len();
                let index = registry
                    .register(spec.instantiate())
                    .expect("the loader checks reflex ids");
                if registry.len() > before {
                    let sub = bus.subscribe(
                        registry.handler(index).pattern().clone(),
                        Some(tenant.clone()),
                    );
                    assert_eq!(sub.0 as usize, subscribers.len());
                    subscribers.push((tenant.clone(), index));
                }
            }
            reflexes.insert(tenant.clone(), registry);
        }

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
        let sub_handlers: Vec<String> = subscribers
            .iter()
            .map(|(t, i): &(TenantId, HandlerIndex)| reflexes[t].handler(*i).id().to_string())
            .collect();
        let generated = expand_generators(&scenario.generators, seed);
        let mut ctx = Ctx {
            now: SimTime::ZERO,
            bus,
            queue: Queue::with_capacity((scenario.events.len() + generated.len()) * 2),
            ids: UuidSource::new(RngStream::new(seed, Purpose::Ids)),
            sched: RngStream::new(seed, Purpose::Scheduling),
            faults,
            sub_handlers,
            channels: BTreeMap::new(),
            trace: TraceSink::new(options.keep_trace),
            invariants: builtin_invariants(scenario),
            violations: Vec::new(),
            next_event: 0,
            route: Vec::new(),
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

    fn root_event(&self, index: u32) -> &RootEvent {
        let i = index as usize;
        let scripted = self.scenario.events.len();
        if i < scripted {
            &self.scenario.events[i]
        } else {
            &self.generated[i - scripted]
        }
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
        for inv in &mut self.ctx.invariants {
            inv.on_step();
        }
        match msg {
            Msg::Root(i) => self.root(i),
            Msg::Deliver { sub, event } => self.deliver(sub, &event),
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
                    self.ctx.violation(&spec.invariant.name, message, step);
                    self.reported.insert(spec.invariant.name.clone());
                    break;
                }
            }
        }
    }

    fn root(&mut self, index: u32) {
        let event = self.root_event(index).clone();
        self.ctx.record(Record::Input {
            at: self.ctx.now,
            event: index,
        });
        match event.input {
            Input::Publish { subject, payload } => {
                self.ctx.publish(
                    &event.tenant,
                    subject,
                    payload,
                    Depth(0),
                    Cause::Root { event: index },
                );
            }
            Input::Dispatch {
                entity_type,
                id,
                action,
                params,
            } => {
                // A failed root action is recorded by the engine; the run goes on.
                let _ = self.engine.dispatch(
                    &mut self.ctx,
                    ActionDispatch {
                        tenant: event.tenant.clone(),
                        source_tenant: event.tenant,
                        entity_type,
                        id,
                        action,
                        params,
                        depth: Depth(0),
                        origin: Origin::Root { event: index },
                    },
                );
            }
        }
    }

    fn deliver(&mut self, sub: SubId, event: &Envelope) {
        let (tenant, index) = &self.subscribers[sub.0 as usize];
        let registry = self.reflexes.get_mut(tenant).expect("registry per tenant");
        let handler = registry.handler(*index).id().to_string();
        self.ctx.record(Record::Deliver {
            at: self.ctx.now,
            event: event.id,
            sub,
            handler: handler.clone(),
        });
        let mut inject_panic = false;
        if let Some(faults) = self.ctx.faults.as_mut() {
            let on = FaultTarget::Handler {
                handler: handler.clone(),
                subject: event.subject.to_string(),
            };
            let (nth, restart, panic) = faults.handler_faults(&on);
            inject_panic = panic;
            let now = self.ctx.now;
            let fault = |fault| Record::Fault {
                at: now,
                fault,
                on: on.clone(),
                nth,
                event: Some(event.id),
                delay_ms: 0,
            };
            if restart {
                registry.restart(*index);
                self.ctx.record(fault(FaultKind::ReflexRestart));
            }
            if inject_panic {
                self.ctx.record(fault(FaultKind::HandlerPanic));
            }
        }
        let Some(output) = registry.handle(*index, event, self.ctx.now, inject_panic) else {
            return;
        };
        let o = &output.outcome;
        self.ctx.record(Record::Outcome {
            at: self.ctx.now,
            event: event.id,
            handler: handler.clone(),
            id: o.id.clone(),
            outcome: o.outcome,
            severity: o.severity,
            target: o.target.clone(),
        });
        self.outcomes.push(output.outcome);
        if let Some(req) = output.dispatch {
            let _ = self.engine.dispatch(
                &mut self.ctx,
                ActionDispatch {
                    tenant: event.tenant.clone(),
                    source_tenant: event.tenant.clone(),
                    entity_type: req.entity_type,
                    id: req.id,
                    action: req.action,
                    params: req.params,
                    depth: Depth(event.depth.0 + 1),
                    origin: Origin::Reflex {
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
        let mut found = Vec::new();
        for inv in &mut self.ctx.invariants {
            for message in inv.at_end(&end) {
                found.push((inv.name(), message));
            }
        }
        for (name, message) in found {
            self.ctx.violation(name, message, step);
        }
        let entities = self
            .engine
            .store()
            .iter()
            .map(|(t, ty, id, e)| EntityRow {
                tenant: t.clone(),
                entity_type: ty.to_string(),
                id: id.clone(),
                status: e.status.clone(),
                fields: e.fields.clone(),
            })
            .collect();
        let pending = self.ctx.queue.len();
        let virtual_time = self.ctx.now;
        let faults = self.ctx.faults.as_ref().map(|f| f.describe());
        let root_events = self.scenario.events.len() + self.generated.len();
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
            outcomes: self.outcomes,
            entities,
            virtual_time,
            scheduler_steps: self.scheduler_steps,
            stop,
            pending,
            root_events,
        }
    }
}

/// Runs `scenario` under `seed`.
pub fn run_scenario(scenario: &Scenario, seed: Seed, options: RunOptions) -> RunOutcome {
    Sim::new(scenario, seed, options).run()
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
        first.violations.push(v);
    }
    first
}

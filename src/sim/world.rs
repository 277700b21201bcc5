//! The world: one run of a scenario under one seed.
//!
//! `Sim::new` builds the engine, the bus and the reflex registries from a validated
//! scenario; `run` is a loop over `step` until the queue is empty or a budget runs out.
//! Everything the run does goes through one [`Ctx`] (the engine's [`Host`]): time, ids,
//! the trace, the bus and the queue. Nothing here reads a clock or an OS random source.

use crate::bus::{sanitize_token, Bus, Cause, Envelope, EventId, SubId, Subject};
use crate::check::{builtin_invariants, Invariant, Violation};
use crate::engine::reflex::{HandlerIndex, Outcome, ReflexRegistry};
use crate::engine::{
    ActionDispatch, Depth, Engine, EntityId, Fields, Host, PendingReaction, RuleSet, TenantId,
    Value,
};
use crate::scenario::{Input, Scenario};
use crate::sim::{Purpose, Queue, RngStream, Seed, SimTime, UuidSource};
use crate::trace::{Origin, Record, TraceHash, TraceSink};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// At most this many violations are kept per run (a cycle can break a property thousands
/// of times; the first ones say it all).
pub const VIOLATIONS_MAX: usize = 100;

/// What the scheduler runs.
enum Msg {
    /// The scenario's root input with this index.
    Root(u32),
    /// A publication reaches one subscription.
    Deliver { sub: SubId, event: Arc<Envelope> },
    /// A deferred reaction's message arrives (faults mode).
    #[allow(dead_code)]
    Reaction(Box<PendingReaction>),
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
    trace: TraceSink,
    invariants: Vec<Box<dyn Invariant>>,
    violations: Vec<Violation>,
    next_event: u64,
    route: Vec<SubId>,
}

impl Ctx {
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
                self.queue.push(
                    self.now,
                    Msg::Deliver {
                        sub,
                        event: envelope.clone(),
                    },
                );
            }
        }
        self.route = route;
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
        for inv in &mut self.invariants {
            if let Some(message) = inv.on_record(&record) {
                if self.violations.len() < VIOLATIONS_MAX {
                    self.violations.push(Violation {
                        invariant: inv.name().to_string(),
                        message,
                        step,
                    });
                }
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
}

/// One run of a scenario under one seed.
pub struct Sim<'s> {
    scenario: &'s Scenario,
    seed: Seed,
    engine: Engine,
    reflexes: BTreeMap<TenantId, ReflexRegistry>,
    /// SubId -> the reflex that subscribed with it.
    subscribers: Vec<(TenantId, HandlerIndex)>,
    ctx: Ctx,
    outcomes: Vec<Outcome>,
    scheduler_steps: u64,
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

        let mut ctx = Ctx {
            now: SimTime::ZERO,
            bus,
            queue: Queue::with_capacity(scenario.events.len() * 2),
            ids: UuidSource::new(RngStream::new(seed, Purpose::Ids)),
            sched: RngStream::new(seed, Purpose::Scheduling),
            trace: TraceSink::new(options.keep_trace),
            invariants: builtin_invariants(scenario),
            violations: Vec::new(),
            next_event: 0,
            route: Vec::new(),
        };

        // Root inputs that share a virtual time are concurrent: their order is drawn from
        // the seed (a stable sort on a random key keeps everything else in file order).
        let mut order: Vec<(SimTime, u64, u32)> = scenario
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| (e.at, ctx.sched.next_u64(), i as u32))
            .collect();
        order.sort();
        for (at, _, i) in order {
            ctx.queue.push(at, Msg::Root(i));
        }

        Sim {
            scenario,
            seed,
            engine,
            reflexes,
            subscribers,
            ctx,
            outcomes: Vec::new(),
            scheduler_steps: 0,
        }
    }

    pub fn now(&self) -> SimTime {
        self.ctx.now
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs one scheduler step. Returns `None` when the run is over, with the reason.
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
        match msg {
            Msg::Root(i) => self.root(i),
            Msg::Deliver { sub, event } => self.deliver(sub, &event),
            Msg::Reaction(p) => self.engine.deliver(&mut self.ctx, *p),
        }
        Ok(())
    }

    fn root(&mut self, index: u32) {
        let event = &self.scenario.events[index as usize];
        self.ctx.record(Record::Input {
            at: self.ctx.now,
            event: index,
        });
        match &event.input {
            Input::Publish { subject, payload } => {
                self.ctx.publish(
                    &event.tenant,
                    subject.clone(),
                    payload.clone(),
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
                        source_tenant: event.tenant.clone(),
                        entity_type: entity_type.clone(),
                        id: id.clone(),
                        action: action.clone(),
                        params: params.clone(),
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
            handler: handler.clone(),
        });
        let Some(output) = registry.handle(*index, event, self.ctx.now, false) else {
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
        self.outcomes_push(output.outcome);
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

    fn outcomes_push(&mut self, outcome: Outcome) {
        self.outcomes.push(outcome);
    }

    /// Runs to the end and reports.
    pub fn run(mut self) -> RunOutcome {
        let stop = loop {
            if let Err(stop) = self.step() {
                break stop;
            }
        };
        let step = self.ctx.trace.len();
        for inv in &mut self.ctx.invariants {
            for message in inv.at_end(self.engine.store()) {
                if self.ctx.violations.len() < VIOLATIONS_MAX {
                    self.ctx.violations.push(Violation {
                        invariant: inv.name().to_string(),
                        message,
                        step,
                    });
                }
            }
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
        let (trace_hash, records, trace_text) = self.ctx.trace.into_parts();
        RunOutcome {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
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
        }
    }
}

/// Runs `scenario` under `seed`.
pub fn run_scenario(scenario: &Scenario, seed: Seed, options: RunOptions) -> RunOutcome {
    Sim::new(scenario, seed, options).run()
}

//! The tokio peer: the generated workload written the way a user would without Ripple.
//!
//! A current-thread tokio runtime with paused time (`start_paused(true)`: virtual time that
//! jumps to the next timer whenever every task is idle), one task per component, unbounded
//! mpsc channels between them:
//!
//! ```text
//!   source ──(dispatch)──────────────────────────────► entities ──(commit)──► rule[t][i] ─┐
//!     │                                                  ▲  │                               │
//!     └──(publish)──► bus ──(envelope)──► reflex[t][r] ──┘  └──(entity.<T>.<A>.<id>)──► bus │
//!                                                        ▲                                  │
//!                                                        └──────────(dispatch)──────────────┘
//! ```
//!
//! - `source` walks the root events in time order and `tokio::time::sleep_until`s each
//!   one's virtual time before sending it on.
//! - `entities` owns the store (ripple's `Store`: nested `BTreeMap`s behind an
//!   `Arc<Mutex>`, since rule tasks read it for lookups): checks the depth bound, applies
//!   the action with ripple's `EntitySpec::apply`, publishes `entity.<Type>.<Action>.<id>`
//!   to the bus and sends a snapshot of the commit to the task of every matching rule
//!   (ripple's `RuleSet::matching`).
//! - one task per (tenant, rule) evaluates the guard in two passes (collect lookups, read
//!   them from the store, evaluate: ripple's `Guard`), resolves the target (`Resolver`),
//!   builds params (`Then`) and sends the dispatch back to `entities`.
//! - `bus` matches each publication against every reflex's pattern (`Pattern::matches`, a
//!   linear scan: three patterns) and sends it to each matching reflex's task.
//! - one task per (tenant, reflex) runs the handler through a `ReflexRegistry` (same
//!   outcome ids and limits as Ripple) and sends its dispatch to `entities`.
//!
//! Channels are unbounded because the graph has a cycle (entities -> rules -> entities):
//! with bounded ones, two full channels would deadlock. Quiescence is an in-flight counter
//! (incremented before every send, decremented when a message is fully handled) and a
//! `Notify`.
//!
//! What it does not do, compared with Ripple: no trace (no record is built, encoded or
//! hashed), no invariants, no seeded order (ties are in tokio's FIFO order, so a run is
//! repeatable but the order of concurrent inputs is not a seed's choice), and cascades run
//! breadth-first through the channels rather than depth-first, so guard answers, and the
//! counts, can differ a little from Ripple's. Its "steps" count what Ripple would have
//! recorded at the same points (input, publish, deliver, outcome, dispatch, transition or
//! failure, reaction, guard skip, depth limit, warning).

use ripple::__private::Cause;
use ripple::__private::Depth;
use ripple::__private::EventId;
use ripple::__private::Input;
use ripple::__private::LookupKey;
use ripple::__private::Object;
use ripple::__private::{Entity, EntitySpec, GuardInput, Rule, RuleSet, Store};
use ripple::__private::{HandlerIndex, ReflexRegistry};
use ripple::Scenario;
use ripple::SimTime;
use ripple::Subject;
use ripple::{EntityId, TenantId, Value};
use ripple::{Envelope, Pattern};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::Notify;

/// What the peer did, counted at the points where Ripple writes trace records.
#[derive(Debug, Default)]
pub struct Counters {
    pub steps: AtomicU64,
    pub publications: AtomicU64,
    pub dispatches: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
pub struct PeerCounts {
    pub steps: u64,
    pub publications: u64,
    pub dispatches: u64,
}

impl Counters {
    fn step(&self, n: u64) {
        self.steps.fetch_add(n, Ordering::Relaxed);
    }
}

/// An action to apply.
struct Dispatch {
    tenant: TenantId,
    entity_type: String,
    id: EntityId,
    action: String,
    params: Value,
    depth: Depth,
    /// The rule that fired it (its result is a reaction), if any.
    by_rule: bool,
}

/// A publication on the bus.
struct Publication {
    tenant: TenantId,
    subject: Subject,
    payload: Value,
    depth: Depth,
    cause: Cause,
}

/// A committed action, as the rule tasks see it.
struct Commit {
    tenant: TenantId,
    id: EntityId,
    depth: Depth,
    after: Entity,
}

/// Messages in flight, and a wake-up for `run` when there are none left.
struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

impl InFlight {
    fn send<T>(&self, tx: &UnboundedSender<T>, msg: T) {
        self.count.fetch_add(1, Ordering::Relaxed);
        if tx.send(msg).is_err() {
            unreachable!("every receiver lives until the run is over");
        }
    }

    fn done(&self) {
        if self.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_one();
        }
    }
}

/// Shared by every task.
struct World {
    specs: BTreeMap<String, EntitySpec>,
    rules: BTreeMap<TenantId, RuleSet>,
    depth_max: u32,
    store: Mutex<Store>,
    counters: Counters,
    inflight: InFlight,
    start: tokio::time::Instant,
}

impl World {
    fn now(&self) -> SimTime {
        SimTime((tokio::time::Instant::now() - self.start).as_millis() as u64)
    }
}

/// Runs `scenario` on the tokio peer; returns what it did and the wall time it took
/// (runtime start-up included: it is part of what a user's program pays).
pub fn run(scenario: &Scenario) -> (PeerCounts, Duration) {
    let watch = ripple::__private::Stopwatch::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    let counters = runtime.block_on(run_async(scenario));
    drop(runtime);
    (counters, watch.elapsed())
}

async fn run_async(scenario: &Scenario) -> PeerCounts {
    let mut rules = BTreeMap::new();
    for (tenant, list) in &scenario.rules {
        let mut set = RuleSet::new();
        for rule in list {
            set.add(rule.clone())
                .expect("the workload respects the budget");
        }
        rules.insert(tenant.clone(), set);
    }
    let world = Arc::new(World {
        specs: scenario.entities.clone(),
        rules,
        depth_max: scenario.depth_max,
        store: Mutex::new(Store::default()),
        counters: Counters::default(),
        // The source holds one token until it has sent its last event.
        inflight: InFlight {
            count: AtomicUsize::new(1),
            idle: Notify::new(),
        },
        start: tokio::time::Instant::now(),
    });

    let (entity_tx, entity_rx) = unbounded_channel::<Dispatch>();
    let (bus_tx, bus_rx) = unbounded_channel::<Publication>();

    // One task per (tenant, rule).
    let mut rule_txs: BTreeMap<TenantId, Vec<UnboundedSender<Arc<Commit>>>> = BTreeMap::new();
    for (tenant, set) in &world.rules {
        for rule in set.rules() {
            let (tx, rx) = unbounded_channel();
            tokio::spawn(rule_task(
                world.clone(),
                rule.clone(),
                rx,
                entity_tx.clone(),
            ));
            rule_txs.entry(tenant.clone()).or_default().push(tx);
        }
    }

    // One task per (tenant, reflex); the bus keeps (tenant, pattern, channel).
    let mut subscribers: Vec<(TenantId, Pattern, UnboundedSender<Arc<Envelope>>)> = Vec::new();
    for tenant in &scenario.tenants {
        for spec in scenario.reflexes.iter().filter(|r| r.serves(tenant)) {
            let mut registry = ReflexRegistry::new();
            let index = registry
                .register(spec.instantiate())
                .expect("a fresh registry");
            let pattern = registry.handler(index).pattern().clone();
            let (tx, rx) = unbounded_channel();
            tokio::spawn(reflex_task(
                world.clone(),
                registry,
                index,
                rx,
                entity_tx.clone(),
            ));
            subscribers.push((tenant.clone(), pattern, tx));
        }
    }
    tokio::spawn(bus_task(world.clone(), bus_rx, subscribers));
    tokio::spawn(entity_task(
        world.clone(),
        entity_rx,
        bus_tx.clone(),
        rule_txs,
    ));

    // The source: root events in time order, each at its virtual time.
    for event in &scenario.events {
        let due = world.start + Duration::from_millis(event.at.ms());
        if tokio::time::Instant::now() < due {
            tokio::time::sleep_until(due).await;
        }
        world.counters.step(1); // input
        match &event.input {
            Input::Publish { subject, payload } => world.inflight.send(
                &bus_tx,
                Publication {
                    tenant: event.tenant.clone(),
                    subject: subject.clone(),
                    payload: payload.clone(),
                    depth: Depth(0),
                    cause: Cause::Root { event: 0 },
                },
            ),
            // The generated workload names every target by id.
            Input::Dispatch {
                entity_type,
                id,
                action,
                params,
                ..
            } => world.inflight.send(
                &entity_tx,
                Dispatch {
                    tenant: event.tenant.clone(),
                    entity_type: entity_type.clone(),
                    id: id.clone(),
                    action: action.clone(),
                    params: params.clone(),
                    depth: Depth(0),
                    by_rule: false,
                },
            ),
        }
    }
    world.inflight.done();
    world.inflight.idle.notified().await;
    PeerCounts {
        steps: world.counters.steps.load(Ordering::Relaxed),
        publications: world.counters.publications.load(Ordering::Relaxed),
        dispatches: world.counters.dispatches.load(Ordering::Relaxed),
    }
}

async fn entity_task(
    world: Arc<World>,
    mut rx: UnboundedReceiver<Dispatch>,
    bus: UnboundedSender<Publication>,
    rule_txs: BTreeMap<TenantId, Vec<UnboundedSender<Arc<Commit>>>>,
) {
    let mut matched = Vec::new();
    while let Some(d) = rx.recv().await {
        handle_dispatch(&world, d, &bus, &rule_txs, &mut matched);
        world.inflight.done();
    }
}

fn handle_dispatch(
    world: &World,
    d: Dispatch,
    bus: &UnboundedSender<Publication>,
    rule_txs: &BTreeMap<TenantId, Vec<UnboundedSender<Arc<Commit>>>>,
    matched: &mut Vec<usize>,
) {
    let c = &world.counters;
    if d.depth.0 > world.depth_max {
        c.step(1); // depth limit
        return;
    }
    c.step(2); // dispatch, then transition or failure
    c.dispatches.fetch_add(1, Ordering::Relaxed);
    if d.by_rule {
        c.step(1); // the reaction's result
    }
    let Some(spec) = world.specs.get(&d.entity_type) else {
        return;
    };
    let after = {
        let mut store = world.store.lock().expect("never poisoned");
        let mut entity = match store.get(&d.tenant.0, &d.entity_type, &d.id.0) {
            Some(e) => e.clone(),
            None => spec.instantiate(),
        };
        if spec.apply(&mut entity, &d.action, &d.params).is_err() {
            return;
        }
        match store.get_mut(&d.tenant.0, &d.entity_type, &d.id.0) {
            Some(slot) => *slot = entity.clone(),
            None => store.insert(&d.tenant, &d.entity_type, &d.id, entity.clone()),
        }
        entity
    };
    // Publish the commit with the payload Ripple's host publishes, built for every commit as
    // a user would (Ripple's host shares the payload of a commit it published before).
    let mut payload = Object::new();
    payload.insert("entity_type".into(), Value::from(d.entity_type.as_str()));
    payload.insert("id".into(), Value::from(d.id.0.as_str()));
    payload.insert("action".into(), Value::from(d.action.as_str()));
    payload.insert("status".into(), Value::from(after.status.as_str()));
    let subject = Subject::new(format!(
        "entity.{}.{}.{}",
        d.entity_type,
        d.action,
        ripple::__private::sanitize_token(&d.id.0)
    ))
    .expect("plain names");
    world.inflight.send(
        bus,
        Publication {
            tenant: d.tenant.clone(),
            subject,
            payload: Value::Object(payload),
            depth: d.depth,
            cause: Cause::Commit {
                entity_type: d.entity_type.clone(),
                id: d.id.clone(),
                action: d.action.clone(),
            },
        },
    );
    // Hand the commit to every matching rule's task.
    let Some(set) = world.rules.get(&d.tenant) else {
        return;
    };
    set.matching(&d.entity_type, &d.action, &after.status, matched);
    if matched.is_empty() {
        return;
    }
    let commit = Arc::new(Commit {
        tenant: d.tenant,
        id: d.id,
        depth: d.depth,
        after,
    });
    for &i in matched.iter() {
        world
            .inflight
            .send(&rule_txs[&commit.tenant][i], commit.clone());
    }
}

async fn rule_task(
    world: Arc<World>,
    rule: Arc<Rule>,
    mut rx: UnboundedReceiver<Arc<Commit>>,
    entities: UnboundedSender<Dispatch>,
) {
    while let Some(c) = rx.recv().await {
        if let Some(d) = evaluate(&world, &rule, &c) {
            world.inflight.send(&entities, d);
        }
        world.inflight.done();
    }
}

fn evaluate(world: &World, rule: &Rule, c: &Commit) -> Option<Dispatch> {
    let counters = &world.counters;
    if c.depth.0 >= world.depth_max {
        counters.step(1); // depth limit
        return None;
    }
    if let Some(guard) = &rule.when.guard {
        let mut keys: Vec<LookupKey> = Vec::new();
        guard.collect_lookups(&c.after.fields, &mut keys);
        let mut resolved = BTreeMap::new();
        if !keys.is_empty() {
            let store = world.store.lock().expect("never poisoned");
            for key in keys {
                let found = store
                    .get(&c.tenant.0, &key.entity_type, &key.id)
                    .is_some_and(|e| key.required_status.contains(&e.status));
                resolved.insert(key, found);
            }
        }
        let passes = guard.evaluate(&GuardInput {
            fields: &c.after.fields,
            status: &c.after.status,
            lookups: &resolved,
        });
        if !passes {
            counters.step(1); // guard skip
            return None;
        }
    }
    let target = rule
        .resolve_target
        .resolve(&c.id.0, &c.after.fields, &mut || {
            unreachable!("the workload has no `create` resolver")
        });
    let Ok(target) = target else {
        counters.step(1); // a failed reaction
        return None;
    };
    let mut warnings = Vec::new();
    let params = rule
        .then
        .build_params(&c.id.0, &c.after.fields, &mut warnings);
    counters.step(warnings.len() as u64);
    Some(Dispatch {
        tenant: c.tenant.clone(),
        entity_type: rule.then.entity_type.clone(),
        id: EntityId(target),
        action: rule.then.action.clone(),
        params,
        depth: Depth(c.depth.0 + 1),
        by_rule: true,
    })
}

async fn bus_task(
    world: Arc<World>,
    mut rx: UnboundedReceiver<Publication>,
    subscribers: Vec<(TenantId, Pattern, UnboundedSender<Arc<Envelope>>)>,
) {
    let mut next_event = 0u64;
    while let Some(p) = rx.recv().await {
        world.counters.step(1); // publish
        world.counters.publications.fetch_add(1, Ordering::Relaxed);
        let envelope = Arc::new(Envelope {
            id: EventId(next_event),
            tenant: p.tenant,
            subject: p.subject,
            payload: Arc::new(p.payload),
            at: world.now(),
            cause: p.cause,
            depth: p.depth,
        });
        next_event += 1;
        for (tenant, pattern, tx) in &subscribers {
            if *tenant == envelope.tenant && pattern.matches(&envelope.subject) {
                world.inflight.send(tx, envelope.clone());
            }
        }
        world.inflight.done();
    }
}

async fn reflex_task(
    world: Arc<World>,
    mut registry: ReflexRegistry,
    index: HandlerIndex,
    mut rx: UnboundedReceiver<Arc<Envelope>>,
    entities: UnboundedSender<Dispatch>,
) {
    while let Some(event) = rx.recv().await {
        world.counters.step(1); // deliver
        if let Some(output) = registry.handle(index, &event, world.now(), false) {
            world.counters.step(1); // outcome
            for req in output.dispatch {
                world.inflight.send(
                    &entities,
                    Dispatch {
                        tenant: event.tenant.clone(),
                        entity_type: req.entity_type,
                        id: req.id,
                        action: req.action,
                        params: req.params,
                        depth: Depth(event.depth.0 + 1),
                        by_rule: false,
                    },
                );
            }
        }
        world.inflight.done();
    }
}

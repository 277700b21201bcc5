//! The cascade space of a small scenario: the state is the world (every entity, the pending
//! messages, what the reflexes remember) and each action delivers one pending message or
//! one root event, computed by the real engine (`Engine::dispatch`, `Engine::deliver`) and
//! the real reflex handlers.
//!
//! What may be delivered next depends on the scenario's mode, as in the simulator:
//! - Without `[faults]`, cascades run inline (atomic, depth-first). Root events that share a
//!   time are concurrent: every order is tried; each root's cascade and its bus deliveries
//!   (FIFO) settle before the next root.
//! - With `[faults]`, every reaction and bus delivery is a message. With delays on, any
//!   pending message may be delivered next (with `reorder = false`, only the oldest of its
//!   target entity or subscription), and a later root may overtake a pending message that
//!   could still be delayed that long (`delay.max` after the message was created). With
//!   drops or duplicates on, one message may be lost and one delivered twice.
//!
//! Properties: `depth_bound`, `tenant_isolation`, `valid_transition`, `cascade_truncated`
//! (unless the scenario allows truncation) on every transition's trace records, the
//! scenario's own `[[invariant]]`s in every settled state (`invariant`), end invariants and
//! `[[expect]]`s in quiescent states (`invariant_at_end`), all `always`; `quiescence`
//! (`eventually`). Terminal states are collected as they are reached, so that the checker
//! can report order dependence (two schedules, two different worlds).
//!
//! Integration answers (temper specs' `trigger`s) are pending messages too: delivering one
//! is a choice among the answers a run could pick (weight above 0), each its own branch
//! (`Step::Answer`); one may be lost when the scenario drops messages. An answer is
//! deliverable in any order with the other answers, after the scenario's other pending
//! messages of its instant, and a root may overtake it while the integration's longest
//! delay allows.
//!
//! Not explored: exact message times (a message's creation time is taken as the latest
//! root's time, a lower bound, so long chains of delays, answers' included, are
//! under-approximated), fan-out order (subscription order), action failures, handler panics
//! and reflex restarts, generated events, duplicated integration answers.

use crate::bus::{Bus, Cause, Envelope};
use crate::check::{
    CascadeTruncated, DepthBound, ExpectCheck, Invariant, RunEnd, TenantIsolation, ValidTransition,
};
use crate::core::Depth;
use crate::core::Origin;
use crate::core::SimTime;
use crate::engine::reflex::ReflexRegistry;
use crate::engine::{ActionDispatch, Engine, Store};
use crate::model::canonical::{hash_store, json_text};
use crate::model::host::ModelHost;
use crate::model::message::{envelope_eq, hash_envelope, Message};
use crate::scenario::temper::SpecAssert;
use crate::scenario::{CheckAt, Input, ReflexKind, Scenario};
use crate::sim::{registries, rule_sets, runtime_rule_sets};
use stateright::{Model, Property};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// The first line of an outcome reached with integration answers.
pub const ANSWERS_PREFIX: &str = "answers: ";

/// Scenarios with more root events than this are not model-checked as cascades.
pub const ROOTS_MAX: usize = 8;

/// How messages may be scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No faults: inline cascades; only concurrent roots interleave.
    Inline,
    /// Faults: reactions are messages.
    Messages {
        delay: bool,
        reorder: bool,
        /// The longest delay: a message born at `t` has arrived by `t + delay_ms_max`, so a
        /// root event later than that cannot overtake it.
        delay_ms_max: u64,
    },
}

/// One world of the cascade model.
#[derive(Debug, Clone)]
pub struct CascadeState {
    pub store: Store,
    /// Root events not yet delivered, ascending.
    pub roots_left: Vec<u32>,
    pub pending: Vec<Message>,
    /// When each pending message was created (the model's `now` then), in step.
    pub born: Vec<SimTime>,
    pub minted: u32,
    pub next_event: u64,
    /// The time of the latest root delivered.
    pub now: SimTime,
    pub drops: u8,
    pub duplicates: u8,
    /// Deliveries to reflexes that keep memory (dedup windows), in order: replayed into a
    /// fresh handler to rebuild its memory.
    pub memory: Vec<(u32, Arc<Envelope>, SimTime)>,
    /// The first violation of each property on the way here.
    pub violations: BTreeMap<String, String>,
    /// The integration answers chosen on the way here, sorted (`Type/id name#n Answer`):
    /// the outside world's part of the inputs. Order dependence compares the worlds that
    /// the same inputs and answers reach.
    pub answers: Vec<String>,
}

impl CascadeState {
    pub fn is_quiescent(&self) -> bool {
        self.pending.is_empty() && self.roots_left.is_empty()
    }
}

impl PartialEq for CascadeState {
    fn eq(&self, o: &CascadeState) -> bool {
        self.store == o.store
            && self.roots_left == o.roots_left
            && self.pending == o.pending
            && self.born == o.born
            && self.minted == o.minted
            && self.next_event == o.next_event
            && self.now == o.now
            && self.drops == o.drops
            && self.duplicates == o.duplicates
            && self.memory.len() == o.memory.len()
            && self
                .memory
                .iter()
                .zip(&o.memory)
                .all(|(a, b)| a.0 == b.0 && a.2 == b.2 && envelope_eq(&a.1, &b.1))
            && self.violations == o.violations
            && self.answers == o.answers
    }
}

impl Eq for CascadeState {}

impl Hash for CascadeState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_store(&self.store, state);
        self.roots_left.hash(state);
        self.pending.hash(state);
        self.born.hash(state);
        self.minted.hash(state);
        self.next_event.hash(state);
        self.now.hash(state);
        self.drops.hash(state);
        self.duplicates.hash(state);
        self.memory.len().hash(state);
        for (sub, e, at) in &self.memory {
            sub.hash(state);
            hash_envelope(e, state);
            at.hash(state);
        }
        self.violations.hash(state);
        self.answers.hash(state);
    }
}

/// One step of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Deliver pending message `i`.
    Deliver(u16),
    /// Deliver root event `r`.
    Root(u32),
    /// Lose pending message `i`.
    Drop(u16),
    /// Deliver pending message `i` and keep a copy pending.
    Duplicate(u16),
    /// Deliver pending integration call `i` with its answer `k`.
    Answer(u16, u16),
}

/// A reflex subscription: its tenant, its `[[reflex]]` entry and whether it remembers.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub spec: usize,
    pub handler: String,
    pub remembers: bool,
}

/// What a worker thread needs to compute a transition: an engine (its store swapped in
/// and out) and the record invariants.
struct Worker {
    engine: Engine,
    invariants: Vec<Box<dyn Invariant>>,
}

pub struct CascadeModel {
    pub scenario: Arc<Scenario>,
    pub mode: Mode,
    pub drops_max: u8,
    pub duplicates_max: u8,
    pub bus: Bus,
    pub subscribers: Vec<Subscriber>,
    /// Handler id per subscription (fault identities name handlers).
    pub handlers: Vec<String>,
    template: Engine,
    pool: Mutex<Vec<Worker>>,
    /// Terminal worlds reached (canonical text -> a state that reached it).
    pub outcomes: Mutex<BTreeMap<String, CascadeState>>,
    /// Second pass: find a path to this terminal world.
    pub target: Option<String>,
}

impl CascadeModel {
    /// `Err` says why the scenario is not checked as a cascade.
    pub fn new(scenario: Arc<Scenario>) -> Result<CascadeModel, String> {
        if !scenario.generators.is_empty() {
            return Err("the scenario has generators".into());
        }
        if scenario.events.len() > ROOTS_MAX {
            return Err(format!(
                "{} root events (at most {ROOTS_MAX} are model-checked)",
                scenario.events.len()
            ));
        }
        let (mode, drops_max, duplicates_max) = match &scenario.faults {
            // An explicit `[[fault]]` schedule: reactions are messages that may overtake
            // each other; the model explores every order, not only the listed one.
            None if scenario.schedule.is_some() => (
                Mode::Messages {
                    delay: true,
                    reorder: true,
                    delay_ms_max: u64::MAX,
                },
                0,
                0,
            ),
            None => (Mode::Inline, 0, 0),
            Some(f) => (
                Mode::Messages {
                    delay: f.delay_p > 0.0,
                    reorder: f.reorder,
                    delay_ms_max: f.delay_ms_max,
                },
                u8::from(f.drop_p > 0.0),
                u8::from(f.duplicate_p > 0.0),
            ),
        };
        if let Some(r) = scenario
            .reflexes
            .iter()
            .find(|r| matches!(r.kind, ReflexKind::Process { .. }))
        {
            return Err(format!(
                "reflex {:?} runs as a child process: the model checker explores only what Ripple's own engine computes; sweep seeds with `ripple sweep` instead",
                r.id
            ));
        }
        let rules = rule_sets(&scenario)?;
        let template = Engine::with_runtime_rules(
            scenario.entities.clone(),
            rules,
            runtime_rule_sets(&scenario)?,
            scenario.depth_max,
        );
        // Subscriptions exactly as the simulator's world makes them.
        let mut bus = Bus::new();
        let mut subscribers = Vec::new();
        registries(&scenario, None, |tenant, i, index, registry| {
            let handler = registry.handler(index);
            bus.subscribe(handler.pattern().clone(), Some(tenant.clone()));
            subscribers.push(Subscriber {
                spec: i,
                handler: handler.id().to_string(),
                remembers: !matches!(scenario.reflexes[i].kind, ReflexKind::Declarative { .. }),
            });
        })?;
        let handlers = subscribers.iter().map(|s| s.handler.clone()).collect();
        Ok(CascadeModel {
            scenario,
            mode,
            drops_max,
            duplicates_max,
            bus,
            subscribers,
            handlers,
            template,
            pool: Mutex::new(Vec::new()),
            outcomes: Mutex::new(BTreeMap::new()),
            target: None,
        })
    }

    /// The same model, searching for a path to `target`.
    pub fn with_target(&self, target: String) -> CascadeModel {
        let mut model = CascadeModel::new(self.scenario.clone()).expect("built once already");
        model.target = Some(target);
        model
    }

    fn worker(&self) -> Worker {
        if let Some(w) = self.pool.lock().expect("pool").pop() {
            return w;
        }
        let s = &self.scenario;
        Worker {
            engine: self.template.clone(),
            invariants: {
                let mut list: Vec<Box<dyn Invariant>> = vec![
                    Box::new(DepthBound {
                        depth_max: s.depth_max,
                    }),
                    Box::new(TenantIsolation::of(s).indexed()),
                    Box::new(ValidTransition::of(s).indexed()),
                ];
                // History asserts of the specs keep memory (which states an entity was in)
                // that a model state does not carry: `no_further_transitions` needs none,
                // `ordering` is checked by runs only.
                list.extend(
                    s.spec_invariants
                        .iter()
                        .filter(|i| matches!(i.assert, SpecAssert::NoFurtherTransitions))
                        .filter_map(|i| i.transitions())
                        .map(|c| Box::new(c) as Box<dyn Invariant>),
                );
                list
            },
        }
    }

    fn root_at(&self, r: u32) -> SimTime {
        self.scenario.events[r as usize].at
    }

    /// Messages that may be delivered (or dropped, or duplicated) next.
    pub fn deliverable(&self, s: &CascadeState) -> Vec<usize> {
        let answer = |m: &Message| matches!(m, Message::Answer { .. });
        match self.mode {
            Mode::Inline | Mode::Messages { delay: false, .. } => {
                // FIFO, except that integration answers come after the rest of their
                // instant and in any order among themselves (each has its own delay).
                match s.pending.iter().position(|m| !answer(m)) {
                    Some(first) => vec![first],
                    None => (0..s.pending.len()).collect(),
                }
            }
            Mode::Messages {
                delay: true,
                reorder: true,
                ..
            } => (0..s.pending.len()).collect(),
            Mode::Messages {
                delay: true,
                reorder: false,
                ..
            } => (0..s.pending.len())
                .filter(|&i| {
                    let c = s.pending[i].channel();
                    !s.pending[..i].iter().any(|m| m.channel() == c)
                })
                .collect(),
        }
    }

    fn delays(&self) -> bool {
        matches!(self.mode, Mode::Messages { delay: true, .. })
    }

    /// The transition for `step`, and the messages it created (in creation order).
    pub fn transition(&self, s: &CascadeState, step: Step) -> (CascadeState, Vec<Message>) {
        let mut next = s.clone();
        let mut worker = self.worker();
        *worker.engine.store_mut() = std::mem::take(&mut next.store);
        let messages = !matches!(self.mode, Mode::Inline);
        let mut delivered = None;
        match step {
            Step::Root(r) => {
                next.roots_left.retain(|&x| x != r);
                next.now = next.now.max(self.root_at(r));
            }
            Step::Deliver(i) => {
                next.born.remove(i as usize);
                delivered = Some(next.pending.remove(i as usize));
            }
            Step::Drop(i) => {
                next.born.remove(i as usize);
                next.pending.remove(i as usize);
                next.drops += 1;
            }
            Step::Duplicate(i) => {
                let born = next.born.remove(i as usize);
                let m = next.pending.remove(i as usize);
                next.pending.push(m.as_copy());
                next.born.push(born);
                next.duplicates += 1;
                delivered = Some(m);
            }
            Step::Answer(i, k) => {
                next.born.remove(i as usize);
                let Message::Answer {
                    integration,
                    tenant,
                    id,
                    ..
                } = next.pending.remove(i as usize)
                else {
                    panic!("Step::Answer names a pending integration call");
                };
                let answer = integration.answer(k as usize, &tenant, id.as_str());
                let call = format!("{}/{id} {}#", integration.entity_type, integration.name);
                let n = next.answers.iter().filter(|a| a.starts_with(&call)).count() + 1;
                next.answers.push(format!(
                    "{call}{n} {}",
                    integration.answers[k as usize].action
                ));
                next.answers.sort();
                delivered = Some(Message::Reaction(Box::new(answer)));
            }
        }
        let mut host = ModelHost::new(next.now, messages, next.minted, next.next_event, &self.bus);
        if let Step::Root(r) = step {
            self.root(&mut worker.engine, &mut host, r);
        }
        if let Some(m) = delivered {
            match m {
                Message::Reaction(p) => worker.engine.deliver(&mut host, *p),
                Message::Delivery { sub, event, .. } => {
                    self.reflex(&mut worker.engine, &mut host, &mut next, sub, event)
                }
                Message::Answer { .. } => {
                    panic!("an integration call is delivered with its answer (Step::Answer)")
                }
            }
        }
        next.minted = host.minted;
        next.next_event = host.next_event;
        let created = host.created;
        next.pending.extend(created.iter().cloned());
        next.born.extend(created.iter().map(|_| next.now));
        let mut truncated = (!self.scenario.allow_truncation)
            .then(|| CascadeTruncated::new(self.scenario.depth_max));
        for record in &host.records {
            for inv in worker.invariants.iter_mut() {
                if let Some(message) = inv.on_record(record) {
                    next.violations
                        .entry(inv.name().to_string())
                        .or_insert(message);
                }
            }
            if let Some(t) = truncated.as_mut() {
                if let Some(message) = t.on_record(record) {
                    next.violations
                        .entry(t.name().to_string())
                        .or_insert(message);
                }
            }
        }
        next.store = std::mem::take(worker.engine.store_mut());
        self.pool.lock().expect("pool").push(worker);
        // An instant is settled when nothing else is due at once: with delays, any state
        // (the rest was delayed); otherwise, when nothing is pending.
        // Integration answers are due later (each after its delay), so they do not keep
        // an instant open.
        if self.delays()
            || next
                .pending
                .iter()
                .all(|m| matches!(m, Message::Answer { .. }))
        {
            if let Some(message) = self.invariant_violation(&next.store, CheckAt::Step) {
                next.violations.entry("invariant".into()).or_insert(message);
            }
        }
        if matches!(
            self.mode,
            Mode::Messages {
                delay: true,
                reorder: true,
                ..
            }
        ) {
            // Order carries no meaning: one canonical order per set.
            let mut order: Vec<(String, SimTime, usize)> = next
                .pending
                .iter()
                .zip(&next.born)
                .enumerate()
                .map(|(i, (m, b))| (m.sort_key(), *b, i))
                .collect();
            order.sort();
            next.pending = order
                .iter()
                .map(|(_, _, i)| next.pending[*i].clone())
                .collect();
            next.born = order.iter().map(|(_, b, _)| *b).collect();
        }
        (next, created)
    }

    fn root(&self, engine: &mut Engine, host: &mut ModelHost, r: u32) {
        let event = &self.scenario.events[r as usize];
        match &event.input {
            Input::Publish { subject, payload } => host.publish(
                &event.tenant,
                subject.clone(),
                payload.clone(),
                Depth(0),
                Cause::Root { event: r },
            ),
            Input::Dispatch { .. } => {
                // A failed root action is recorded by the engine; the model goes on. Borrowed,
                // as the simulator dispatches its roots: nothing is copied per state.
                let d = event.dispatch(r).expect("an action input");
                let _ = engine.dispatch_ref(host, d);
            }
        }
    }

    /// A delivery to a reflex: a fresh handler, its memory rebuilt from the deliveries it
    /// saw, handles the event; an action it asks for is dispatched.
    fn reflex(
        &self,
        engine: &mut Engine,
        host: &mut ModelHost,
        next: &mut CascadeState,
        sub: u32,
        event: Arc<Envelope>,
    ) {
        let subscriber = &self.subscribers[sub as usize];
        let mut registry = ReflexRegistry::new();
        let index = registry
            .register(self.scenario.reflexes[subscriber.spec].instantiate())
            .expect("an empty registry takes one handler");
        if subscriber.remembers {
            for (s, e, at) in &next.memory {
                if *s == sub {
                    let _ = registry.handle(index, e, *at, false);
                }
            }
            next.memory.push((sub, event.clone(), host.now));
        }
        let Some(output) = registry.handle(index, &event, host.now, false) else {
            return;
        };
        for req in output.dispatch {
            let _ = engine.dispatch(
                host,
                ActionDispatch {
                    tenant: event.tenant.clone(),
                    source_tenant: event.tenant.clone(),
                    entity_type: req.entity_type,
                    id: req.id,
                    action: req.action,
                    params: req.params,
                    depth: Depth(event.depth.0 + 1),
                    origin: Origin::Reflex {
                        handler: subscriber.handler.clone(),
                        event: event.id,
                    },
                },
            );
        }
    }

    /// The first violated `[[invariant]]` checked at `at`, as `name: message`. (A run
    /// also checks step invariants at the end; here every quiescent state is settled, so
    /// `transition` has checked them already.)
    pub fn invariant_violation(&self, store: &Store, at: CheckAt) -> Option<String> {
        for spec in &self.scenario.invariants {
            if spec.at != at {
                continue;
            }
            for tenant in &self.scenario.tenants {
                if spec.tenant.as_ref().is_some_and(|t| t != tenant) {
                    continue;
                }
                if let Some(message) = spec.invariant.check(store, tenant.as_str()) {
                    return Some(format!(
                        "{}: {message} (tenant {tenant})",
                        spec.invariant.name
                    ));
                }
            }
        }
        if at == CheckAt::Step {
            for spec in &self.scenario.spec_invariants {
                for tenant in &self.scenario.tenants {
                    if let Some(message) = spec.check(store, tenant.as_str()) {
                        return Some(format!("{}: {message} (tenant {tenant})", spec.name));
                    }
                }
            }
        }
        None
    }

    /// What is wrong with a quiescent world: an end invariant or an `[[expect]]`.
    pub fn end_violation(&self, s: &CascadeState) -> Option<String> {
        if let Some(m) = self.invariant_violation(&s.store, CheckAt::End) {
            return Some(m);
        }
        let mut expect = ExpectCheck {
            expects: self.scenario.expects.clone().into(),
        };
        let end = RunEnd {
            store: &s.store,
            quiescent: true,
            pending: 0,
            now: s.now,
            next_due: None,
        };
        expect
            .at_end(&end)
            .into_iter()
            .next()
            .map(|m| format!("expect: {m}"))
    }

    /// Whether a quiescent world breaks anything a run would report: a step or end
    /// invariant, or an `[[expect]]`.
    pub fn world_violation(&self, s: &CascadeState) -> Option<String> {
        self.invariant_violation(&s.store, CheckAt::Step)
            .or_else(|| self.end_violation(s))
    }

    /// The terminal world, canonical: minted ids renamed as symmetry reduction does, one
    /// entity a line.
    pub fn outcome(&self, s: &CascadeState) -> String {
        let canonical = crate::model::symmetry::representative(s);
        let mut out = String::new();
        if !canonical.answers.is_empty() {
            out.push_str(&format!(
                "{ANSWERS_PREFIX}{}\n",
                canonical.answers.join("; ")
            ));
        }
        for (tenant, entity_type, id, e) in canonical.store.iter() {
            out.push_str(&format!(
                "{tenant}/{entity_type}/{id} {} {}\n",
                e.status,
                json_text(&serde_json::Value::Object(e.fields.to_object()))
            ));
        }
        out
    }

    pub fn initial(&self) -> CascadeState {
        CascadeState {
            store: Store::default(),
            roots_left: (0..self.scenario.events.len() as u32).collect(),
            pending: Vec::new(),
            born: Vec::new(),
            minted: 0,
            next_event: 0,
            now: SimTime::ZERO,
            drops: 0,
            duplicates: 0,
            memory: Vec::new(),
            violations: BTreeMap::new(),
            answers: Vec::new(),
        }
    }

    /// `deliver rule x -> Payment/o1.AuthorizePayment`, `root #3 (Order/o1.CancelOrder at 110ms)`.
    pub fn describe_step(&self, s: &CascadeState, step: Step) -> String {
        match step {
            Step::Root(r) => {
                let e = &self.scenario.events[r as usize];
                let what = match &e.input {
                    Input::Publish { subject, .. } => format!("publish {subject}"),
                    Input::Dispatch {
                        entity_type,
                        id,
                        action,
                        ..
                    } => format!("{entity_type}/{id}.{action}"),
                };
                format!("root #{} ({what} at {})", r + 1, e.at)
            }
            Step::Deliver(i) => {
                format!("deliver {}", s.pending[i as usize].describe(&self.handlers))
            }
            Step::Drop(i) => format!("drop {}", s.pending[i as usize].describe(&self.handlers)),
            Step::Duplicate(i) => {
                format!(
                    "duplicate {}",
                    s.pending[i as usize].describe(&self.handlers)
                )
            }
            Step::Answer(i, k) => match &s.pending[i as usize] {
                Message::Answer {
                    integration, id, ..
                } => format!(
                    "integration {} answers {}/{id} with {}",
                    integration.name,
                    integration.entity_type,
                    integration.answers[k as usize].action
                ),
                other => format!("answer {k} of {}", other.describe(&self.handlers)),
            },
        }
    }
}

impl Model for CascadeModel {
    type State = CascadeState;
    type Action = Step;

    fn init_states(&self) -> Vec<CascadeState> {
        vec![self.initial()]
    }

    fn actions(&self, s: &CascadeState, actions: &mut Vec<Step>) {
        let deliverable = self.deliverable(s);
        for &i in &deliverable {
            match &s.pending[i] {
                Message::Answer { integration, .. } => {
                    for (k, a) in integration.answers.iter().enumerate() {
                        if a.weight > 0 {
                            actions.push(Step::Answer(i as u16, k as u16));
                        }
                    }
                }
                _ => actions.push(Step::Deliver(i as u16)),
            }
        }
        if let Some(min) = s.roots_left.iter().map(|&r| self.root_at(r)).min() {
            // A root may overtake a pending message only if that message could still be
            // delayed until the root's time.
            let overtakable = s.pending.iter().zip(&s.born).all(|(m, b)| match m {
                // An answer may still be on its way while its longest delay allows.
                Message::Answer { integration, .. } => {
                    b.saturating_add_ms(integration.delay_ms_max) >= min
                }
                _ => match self.mode {
                    Mode::Messages {
                        delay: true,
                        delay_ms_max,
                        ..
                    } => b.saturating_add_ms(delay_ms_max) >= min,
                    _ => false,
                },
            });
            if overtakable {
                for &r in &s.roots_left {
                    if self.root_at(r) == min {
                        actions.push(Step::Root(r));
                    }
                }
            }
        }
        if s.drops < self.drops_max {
            for &i in &deliverable {
                if !s.pending[i].is_copy() {
                    actions.push(Step::Drop(i as u16));
                }
            }
        }
        if s.duplicates < self.duplicates_max {
            for &i in &deliverable {
                if !s.pending[i].is_copy() && !matches!(s.pending[i], Message::Answer { .. }) {
                    actions.push(Step::Duplicate(i as u16));
                }
            }
        }
        if actions.is_empty() && self.target.is_none() {
            // Stateright has no hook for terminal states, and a visitor would rebuild every
            // path from the start; `actions` is called once per explored state.
            let key = self.outcome(s);
            self.outcomes
                .lock()
                .expect("outcomes")
                .entry(key)
                .or_insert_with(|| s.clone());
        }
    }

    fn next_state(&self, s: &CascadeState, step: Step) -> Option<CascadeState> {
        Some(self.transition(s, step).0)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        fn clean(s: &CascadeState, name: &str) -> bool {
            !s.violations.contains_key(name)
        }
        if self.target.is_some() {
            return vec![Property::sometimes(
                "reaches_target",
                |m: &CascadeModel, s: &CascadeState| {
                    s.is_quiescent() && m.target.as_deref() == Some(m.outcome(s).as_str())
                },
            )];
        }
        vec![
            Property::always("depth_bound", |_, s| clean(s, "depth_bound")),
            Property::always("tenant_isolation", |_, s| clean(s, "tenant_isolation")),
            Property::always("valid_transition", |_, s| clean(s, "valid_transition")),
            Property::always("cascade_truncated", |_, s| clean(s, "cascade_truncated")),
            Property::always("invariant", |_, s| clean(s, "invariant")),
            Property::always("invariant_at_end", |m: &CascadeModel, s: &CascadeState| {
                !s.is_quiescent() || m.end_violation(s).is_none()
            }),
            Property::eventually("quiescence", |_, s: &CascadeState| s.is_quiescent()),
            // Never discovered: stateright stops once every property has a discovery, and
            // order dependence needs every terminal state.
            Property::always("explored", |_, _| true),
        ]
    }
}

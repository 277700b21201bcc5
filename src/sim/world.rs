//! The world: one run of a scenario under one seed.
//!
//! `Sim::new` builds the engine, the bus and the reflex registries from a validated
//! scenario; `run` is a loop over `step` until the queue is empty or a budget runs out.
//! Everything the run does goes through one [`Ctx`] (the engine's [`Host`]): time, ids,
//! faults, the trace, the bus and the queue. Nothing here reads a clock or an OS random
//! source.

use crate::bus::{Cause, CommitPayloads, Envelope};
use crate::check::{Observation, RunEnd};
use crate::core::SubId;
use crate::core::{Depth, TenantId, Value};
use crate::core::{FaultKind, FaultTarget, OriginRef, RecordRef};
use crate::core::{Purpose, RngStream, Seed, SimTime, UuidSource};
use crate::engine::reflex::{HandlerIndex, HandlerOutput, Outcome, ReflexRegistry};
use crate::engine::{DispatchRef, Engine, Host};
use crate::scenario::FaultConfig;
use crate::scenario::{CheckAt, Input, InvariantKind, RootEvent, Scenario};
use crate::sim::host::{Ctx, Msg};
use crate::sim::roots::Roots;
use crate::sim::{registries, EntityRow, Library, Prepared, Retain, RunOptions, RunOutcome, Stop};
use crate::sim::{FaultPlan, Faults, Queue};
use crate::trace::TraceSink;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One run of a scenario under one seed.
pub struct Sim<'s> {
    pub(super) scenario: &'s Scenario,
    pub(super) seed: Seed,
    pub(super) swarm: bool,
    pub(super) engine: Engine,
    pub(super) reflexes: BTreeMap<TenantId, ReflexRegistry>,
    /// SubId -> the reflex that subscribed with it.
    pub(super) subscribers: Arc<Vec<(TenantId, HandlerIndex)>>,
    /// SubId -> that reflex's handler id: the list `ctx.sub_handlers` shares, held here too
    /// so that a delivery can name its handler while it records through `ctx`.
    pub(super) handlers: Arc<Vec<String>>,
    /// The scripted root publications' payloads, from [`Prepared`].
    pub(super) root_payloads: Arc<Vec<Option<Arc<Value>>>>,
    pub(super) retain: Retain,
    /// The root inputs not run yet (scripted, then generated ones drawn as the run reaches
    /// them).
    pub(super) roots: Roots<'s>,
    pub(super) ctx: Ctx,
    pub(super) outcomes: Vec<Outcome>,
    pub(super) scheduler_steps: u64,
    /// User invariants already reported (each is reported once per run).
    pub(super) reported: BTreeSet<String>,
    /// `sometimes` invariants that have held in a checked state of this run.
    pub(super) sometimes_held: BTreeSet<String>,
    /// The thread's metered bytes when the run started, trace buffers left out
    /// ([`Sim::memory_held`]).
    pub(super) memory_base: i64,
}

/// What a scheduler step runs: a root input (its number, and the event when it is a
/// generated one) or a queued message.
#[allow(clippy::large_enum_variant)] // One per step, on the stack, moved into its arm.
enum Next {
    Root(u32, Option<RootEvent>),
    Message(Msg),
}

/// How often [`Sim::run_while`] asks whether to go on: often enough that a wall-time budget
/// is kept to a few milliseconds, rarely enough to cost nothing.
pub const GO_ON_EVERY_STEPS: u64 = 64;

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
        Prepared::build(scenario, false, &Library::default()).sim(seed, options, retain)
    }

    pub(super) fn start(
        prepared: &Prepared<'s>,
        seed: Seed,
        options: RunOptions,
        retain: Retain,
    ) -> Sim<'s> {
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
        let invariants = prepared.invariants.clone();
        let mut ctx = Ctx {
            now: SimTime::ZERO,
            bus,
            commit_subjects: Arc::clone(&prepared.commit_subjects),
            queue: Queue::new(),
            ids: UuidSource::new(RngStream::new(seed, Purpose::Ids)),
            sched: RngStream::new(seed, Purpose::Scheduling),
            seed,
            calls: BTreeMap::new(),
            pins: Arc::new(scenario.answers.clone()),
            faults,
            sub_handlers: Arc::clone(&handlers),
            channels: BTreeMap::new(),
            trace: TraceSink::with_records(
                options.keep_trace,
                matches!(retain, Retain::Records | Retain::Script),
            )
            .script_only(retain == Retain::Script),
            invariants,
            library: prepared.library.invariants(),
            step_dispatches: 0,
            cascade_dispatches_max: scenario.cascade_dispatches_max,
            found: Vec::new(),
            violations: Vec::new(),
            violation_rules: Vec::new(),
            violation_observations: Vec::new(),
            violation_times: Vec::new(),
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
        // the seed, one draw per root input in number order, reached or not, so that what
        // is drawn later (fan-out order) does not depend on `until` (see `Roots`).
        let roots = Roots::new(scenario, seed, &mut ctx.sched);

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
            roots,
            ctx,
            outcomes: Vec::new(),
            scheduler_steps: 0,
            reported: BTreeSet::new(),
            sometimes_held: BTreeSet::new(),
            memory_base: 0,
        }
        .metered()
    }

    /// Starts the memory meter here: what the run holds is counted from now.
    fn metered(mut self) -> Self {
        self.memory_base = 0;
        self.memory_base = self.memory_held();
        self
    }

    /// Bytes the run holds (its world, messages, invariants' state), as this thread's
    /// allocator counts them since the run started, less the trace buffers and what is kept
    /// only for the output: the same at every step whatever the output options.
    pub fn memory_held(&self) -> i64 {
        crate::core::raw::meter::thread_held()
            - self.ctx.trace.buffers_held() as i64
            - self.memory_base
    }

    pub fn now(&self) -> SimTime {
        self.ctx.now
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Trace records written so far: the records of the steps run, whatever the run keeps
    /// (an HTML report steps a run to see the world between records).
    pub fn records_written(&self) -> u64 {
        self.ctx.trace.len()
    }

    /// Runs one scheduler step; `Err` says why the run is over.
    pub fn step(&mut self) -> Result<(), Stop> {
        // The last step's cascade was cut: the run ends there, whatever is left.
        if self.ctx.step_dispatches >= self.scenario.cascade_dispatches_max {
            return Err(Stop::CascadeBudget);
        }
        // A root input runs before a message due at the same time.
        let (root_at, queued_at) = (self.roots.peek_time(), self.ctx.queue.peek_time());
        let root_first = root_at.is_some_and(|r| queued_at.is_none_or(|q| r <= q));
        let Some(at) = (if root_first { root_at } else { queued_at }) else {
            return Err(Stop::Quiescent);
        };
        if at > self.scenario.until {
            return Err(Stop::TimeBudget);
        }
        if self.scheduler_steps >= self.scenario.steps_max {
            return Err(Stop::StepBudget);
        }
        if self.in_flight() > self.scenario.messages_max {
            return Err(Stop::MessageBudget);
        }
        if self.memory_held() > self.scenario.memory_max as i64 {
            return Err(Stop::MemoryBudget);
        }
        self.ctx.step_dispatches = 0;
        let (at, next) = if root_first {
            let (at, index, event) = self.roots.pop().expect("peeked");
            (at, Next::Root(index, event))
        } else {
            let (at, msg) = self.ctx.queue.pop().expect("peeked");
            (at, Next::Message(msg))
        };
        debug_assert!(at >= self.ctx.now, "time never goes back");
        self.ctx.now = at;
        self.scheduler_steps += 1;
        self.ctx.invariants.on_step();
        for i in &mut self.ctx.library {
            i.on_step();
        }
        match next {
            Next::Root(index, event) => self.root(index, event),
            Next::Message(Msg::Deliver { sub, event, cause }) => {
                self.deliver(sub, &event, cause);
                self.ctx.delivered(event);
            }
            Next::Message(Msg::Reaction(p)) => self.engine.deliver(&mut self.ctx, &p),
        }
        // The instant is settled when nothing else is due now: check the scenario's own
        // invariants on the state the world is in.
        // (A root input due now counts: roots are not queued.)
        if self.next_due() != Some(self.ctx.now) {
            self.check_user_invariants(CheckAt::Step);
        }
        Ok(())
    }

    pub(super) fn check_user_invariants(&mut self, at: CheckAt) {
        for spec in &self.scenario.invariants {
            if (spec.at == CheckAt::End) != (at == CheckAt::End)
                || self.reported.contains(&spec.invariant.name)
            {
                continue;
            }
            if spec.invariant.kind == InvariantKind::Sometimes {
                // Looked for until seen once; never a violation here (the run or the sweep
                // decides, from `RunOutcome::sometimes_held`).
                if !self.sometimes_held.contains(&spec.invariant.name)
                    && self.scenario.tenants.iter().any(|tenant| {
                        spec.tenant.as_ref().is_none_or(|t| t == tenant)
                            && spec.invariant.holds(self.engine.store(), tenant.as_str())
                    })
                {
                    self.sometimes_held.insert(spec.invariant.name.clone());
                }
                continue;
            }
            for tenant in &self.scenario.tenants {
                if spec.tenant.as_ref().is_some_and(|t| t != tenant) {
                    continue;
                }
                if let Some(witness) = spec
                    .invariant
                    .check_witnessed(self.engine.store(), tenant.as_str())
                {
                    // A step check points at the step's last record (the rule there is part of
                    // the failure signature); an end check points past the end, at no rule.
                    let step = match at {
                        CheckAt::Step => self.ctx.trace.len().saturating_sub(1),
                        CheckAt::End => self.ctx.trace.len(),
                    };
                    let message =
                        format!("{} (tenant {tenant}, at {})", witness.message, self.ctx.now);
                    let rule = match at {
                        CheckAt::Step => self.ctx.acting_rule(),
                        CheckAt::End => None,
                    };
                    // The entity is the binding of the variable; the observation, the values
                    // the predicate read under it.
                    let observation = Observation {
                        tenant: Some(tenant.to_string()),
                        entity_type: None,
                        id: witness.binding,
                        observed: witness.reads,
                    };
                    self.ctx.violation(
                        &spec.invariant.name,
                        message,
                        step,
                        rule,
                        Some(observation),
                    );
                    self.reported.insert(spec.invariant.name.clone());
                    break;
                }
            }
        }
        // The specs' state asserts: checked when the scenario's own step invariants are.
        if at == CheckAt::Step {
            for spec in &self.scenario.spec_invariants {
                if self.reported.contains(&spec.name) {
                    continue;
                }
                for tenant in &self.scenario.tenants {
                    if let Some((message, observed)) =
                        spec.check_observed(self.engine.store(), tenant.as_str())
                    {
                        let message = format!("{message} (tenant {tenant}, at {})", self.ctx.now);
                        let (step, rule) = (
                            self.ctx.trace.len().saturating_sub(1),
                            self.ctx.acting_rule(),
                        );
                        let observation = Observation {
                            tenant: Some(tenant.to_string()),
                            entity_type: Some(spec.entity_type.clone()),
                            id: None,
                            observed,
                        };
                        self.ctx
                            .violation(&spec.name, message, step, rule, Some(observation));
                        self.reported.insert(spec.name.clone());
                        break;
                    }
                }
            }
        }
    }

    /// Runs root input `index`: `generated` is the event when it is a generated one, built
    /// as the run reached it; a scripted one is the scenario's.
    pub(super) fn root(&mut self, index: u32, mut generated: Option<RootEvent>) {
        let i = index as usize;
        // A generated publication's payload is this run's own: moved to the bus, not copied.
        let owned = match generated.as_mut().map(|e| &mut e.input) {
            Some(Input::Publish { payload, .. }) => Some(std::mem::take(payload)),
            _ => None,
        };
        let event: &RootEvent = match &generated {
            Some(event) => event,
            None => &self.scenario.events[i],
        };
        let input = self.ctx.record_ref(RecordRef::Input {
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
                    input,
                    |cause, _| {
                        *cause = Cause::Root { event: index };
                        // A generated event's payload is this run's own; a scripted one's
                        // was built when the scenario was prepared (when it shares them).
                        match (owned, prepared) {
                            (Some(generated), _) => Arc::new(generated),
                            (None, Some(prepared)) => Arc::clone(prepared),
                            (None, None) => Arc::new(payload.clone()),
                        }
                    },
                );
            }
            Input::Dispatch { id, .. } => {
                let created = match event.created_target(index, self.engine.store()) {
                    Ok(created) => created,
                    Err(message) => {
                        self.ctx.record_ref(RecordRef::Warning {
                            at: self.ctx.now,
                            cause: input,
                            message: &message,
                        });
                        return;
                    }
                };
                let id = created.as_ref().unwrap_or(id).as_str();
                // A failed root action is recorded by the engine; the run goes on.
                let d = event.dispatch(index, input, id).expect("an action input");
                let _ = self.engine.dispatch_ref(&mut self.ctx, d);
            }
        }
    }

    /// `cause`: the step of the event's `publish`.
    pub(super) fn deliver(&mut self, sub: SubId, event: &Envelope, cause: u64) {
        let (tenant, index) = &self.subscribers[sub.0 as usize];
        let registry = self.reflexes.get_mut(tenant).expect("registry per tenant");
        let handler = self.handlers[sub.0 as usize].as_str();
        let now = self.ctx.now;
        let delivered = self.ctx.record_ref(RecordRef::Deliver {
            at: now,
            cause,
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
                cause: delivered,
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
        let decided = self.ctx.record_ref(RecordRef::Outcome {
            at: now,
            cause: delivered,
            event: event.id,
            handler,
            id: &outcome.id,
            outcome: outcome.outcome,
            severity: outcome.severity,
            target: outcome.target.as_deref(),
        });
        if matches!(self.retain, Retain::Records | Retain::Report)
            && self.outcomes.len() < crate::sim::OUTPUT_ROWS_MAX
        {
            // Kept for the output only: not the run's memory (see `core::raw::meter`).
            crate::core::raw::meter::unmetered(|| self.outcomes.push(outcome.clone()));
        }
        for req in dispatch {
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
                    cause: decided,
                },
            );
        }
    }

    /// Messages in flight (root inputs are not queued: they are the scenario's script).
    fn in_flight(&self) -> u64 {
        self.ctx.queue.len() as u64
    }

    /// Messages left: what is queued, and the root inputs not run (after `until` included).
    fn pending(&self) -> usize {
        self.ctx.queue.len() + self.roots.left() as usize
    }

    /// When the next message left is due.
    fn next_due(&self) -> Option<SimTime> {
        match (self.ctx.queue.peek_time(), self.roots.peek_time()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// What a `budget` violation says: which budget, how far the run got, how to go on.
    fn budget_message(&self, stop: Stop) -> String {
        let (now, steps, pending) = (self.ctx.now, self.scheduler_steps, self.pending());
        match stop {
            Stop::CascadeBudget => format!(
                "step {steps} at {now} dispatched {} actions (cascade_dispatches_max) and was cut there, {pending} messages pending; a reaction fan-out or a loop the depth bound lets grow: check the rules that fire on one action, or raise cascade_dispatches_max in [scenario]",
                self.ctx.step_dispatches
            ),
            Stop::MessageBudget => format!(
                "after step {steps} at {now}, {} messages were in flight (messages_max is {}): deliveries multiply faster than they drain (duplicates, a fan-out); raise messages_max in [scenario] if the scenario needs more",
                self.in_flight(),
                self.scenario.messages_max
            ),
            Stop::MemoryBudget => format!(
                "after step {steps} at {now}, the run held {} (memory_max is {}; {pending} messages pending): the world, the messages in flight and the invariants' state grow with the run; raise memory_max in [scenario] (e.g. memory_max = \"2GiB\") or lower steps_max or until",
                crate::core::show_size(self.memory_held().max(0) as u64),
                crate::core::show_size(self.scenario.memory_max),
            ),
            _ => unreachable!("not a work budget"),
        }
    }

    /// Streams the run's canonical trace text to `out` as it is written, a chunk at a time,
    /// instead of keeping it ([`RunOutcome::trace_error`] says if writing failed). The
    /// bytes are those [`RunOptions::keep_trace`] would keep. Call it before the first step.
    pub fn stream_trace(mut self, out: Box<dyn std::io::Write + Send>) -> Sim<'s> {
        self.ctx.trace.stream_to(out);
        self
    }

    /// Keeps only the first `n` records ([`RunOutcome::records_complete`] then says so):
    /// with [`Sim::stream_trace`], the file has them all and memory holds a report's worth.
    pub fn keep_records_max(mut self, n: usize) -> Sim<'s> {
        self.ctx.trace.keep_records_max(n);
        self
    }

    /// Counts what the run reaches ([`RunOutcome::coverage`]): rules, guards, resolvers,
    /// handler outcomes, transitions, faults. Call it before the first step.
    pub fn count_coverage(mut self) -> Sim<'s> {
        self.ctx.trace.count_coverage();
        self
    }

    /// Runs to the end and reports.
    pub fn run(self) -> RunOutcome {
        self.run_while(&mut || true)
            .expect("a run that is never asked to stop ends")
    }

    /// Runs to the end and reports, asking `go_on` every [`GO_ON_EVERY_STEPS`] steps whether
    /// to continue; `None` when it said no. The run has no clock: the caller's budget (the
    /// shrinker's wall time) lives in `go_on`, and an abandoned run reports nothing, so what
    /// a run reports never depends on it.
    pub fn run_while(mut self, go_on: &mut dyn FnMut() -> bool) -> Option<RunOutcome> {
        let mut steps = 0u64;
        let stop = loop {
            steps += 1;
            if steps.is_multiple_of(GO_ON_EVERY_STEPS) && !go_on() {
                return None;
            }
            if let Err(stop) = self.step() {
                break stop;
            }
        };
        self.check_user_invariants(CheckAt::Step);
        self.check_user_invariants(CheckAt::End);
        let step = self.ctx.trace.len();
        if stop.is_work_budget() {
            let message = self.budget_message(stop);
            // The signature names the budget, not how far the run got.
            let observation = Observation {
                tenant: None,
                entity_type: None,
                id: None,
                observed: match stop {
                    Stop::CascadeBudget => "cascade_dispatches_max",
                    Stop::MemoryBudget => "memory_max",
                    _ => "messages_max",
                }
                .to_string(),
            };
            self.ctx
                .violation("budget", message, step, None, Some(observation));
        }
        let end = RunEnd {
            store: self.engine.store(),
            // A work budget is its own violation, which says what was left.
            quiescent: stop == Stop::Quiescent || stop.is_work_budget(),
            pending: self.pending(),
            now: self.ctx.now,
            next_due: self.next_due(),
        };
        let mut found = self.ctx.invariants.at_end_observed(&end);
        for i in &mut self.ctx.library {
            let name = i.name();
            found.extend(i.at_end(&end).into_iter().map(|m| (name, m, None)));
        }
        for (name, message, observation) in found {
            self.ctx.violation(name, message, step, None, observation);
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
        let pending = self.pending();
        let virtual_time = self.ctx.now;
        let faults = self.ctx.faults.as_ref().map(|f| f.describe());
        let root_events = self.roots.total() as usize;
        let counts = self.ctx.trace.counts();
        let trace_error = self.ctx.trace.finish_stream().err();
        let coverage = self.ctx.trace.take_coverage();
        let (trace_hash, records, trace_text) = self.ctx.trace.into_parts();
        Some(RunOutcome {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            swarm: self.swarm,
            faults,
            trace_hash,
            records,
            trace_text,
            trace_error,
            coverage,
            sometimes_held: self.sometimes_held.into_iter().collect(),
            violations: self.ctx.violations,
            violation_rules: self.ctx.violation_rules,
            violation_observations: self.ctx.violation_observations,
            violation_times: self.ctx.violation_times,
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
            warnings: self.scenario.warnings.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::commit_subject_into;
    use crate::scenario::load_scenario;
    use crate::sim::failure_signature;
    use crate::sim::{run_scenario, run_scenario_retaining, Prepared, Retain, RunOptions};
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
        for (last, signature) in [
            ("b", "n_small [t: A[b].n = 2]"),
            ("a2", "n_small@go_bumps_b [t: A[b].n = 2]"),
        ] {
            let s = bumps(last);
            for retain in [Retain::Records, Retain::Summary] {
                let o = run_scenario_retaining(&s, Seed(0), RunOptions::default(), retain);
                assert_eq!(
                    failure_signature(&o).map(|s| s.to_string()).as_deref(),
                    Some(signature),
                    "{last} {retain:?}: {:?}",
                    o.violations
                );
            }
        }
    }
}

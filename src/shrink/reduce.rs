//! The shrinker: gate, concretize, then reduce in passes, accepting a candidate only when it
//! fails with the same signature ([`failure_signature`]: the invariant, the entity and what
//! was seen of it) and, when the original failure needed its faults (the concrete scenario
//! passes with them removed), only when the candidate still needs them: a failure that a
//! fault caused must not slip to one that a missing rule causes.
//!
//! Passes, in order: drop events after the violation; ddmin over root events; minimise the
//! fault schedule (fewer faults, then shorter delays); remove rules, reflexes, invariants,
//! expectations, tenants and entity types nothing needs; then simplify values (earlier
//! times, fewer params). Each pass may be cut short by the budget; the best scenario so far
//! is always kept. What it does not do: remove entity states or shorten strings (a state is
//! rarely the noise, and renaming values changes what a reader recognises).

use crate::core::Seed;
use crate::core::Value;
use crate::scenario::{Input, Scenario};
use crate::shrink::{ddmin, make_concrete, Verdict};
use crate::sim::{
    failure_signature, run_scenario_while, FailureSignature, Retain, RunOptions, RunOutcome,
};
use std::collections::BTreeSet;

use std::time::{Duration, Instant};

/// Budgets for one shrink.
#[derive(Debug, Clone, Copy)]
pub struct ShrinkBudget {
    pub runs_max: u64,
    pub time_max: Duration,
}

impl Default for ShrinkBudget {
    fn default() -> Self {
        ShrinkBudget {
            runs_max: 10_000,
            time_max: Duration::from_secs(120),
        }
    }
}

/// How big a scenario is, in the units a reader cares about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub events: usize,
    pub rules: usize,
    pub reflexes: usize,
    pub faults: usize,
    pub entity_types: usize,
}

impl Size {
    pub fn of(s: &Scenario) -> Size {
        Size {
            events: s.events.len(),
            rules: s.rules.values().map(Vec::len).sum(),
            reflexes: s.reflexes.len(),
            faults: s.schedule.as_ref().map_or(0, Vec::len),
            entity_types: s.entities.len(),
        }
    }
}

impl std::fmt::Display for Size {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} events, {} rules, {} reflexes, {} faults, {} entity types",
            self.events, self.rules, self.reflexes, self.faults, self.entity_types
        )
    }
}

/// Why a seed cannot be shrunk.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShrinkError {
    #[error("seed {seed} passes: there is no failure to shrink")]
    Passes { seed: u64 },
    #[error("seed {seed} is not deterministic: two runs gave traces {first} and {second}; fix that first (see the `determinism` invariant)")]
    NotDeterministic {
        seed: u64,
        first: String,
        second: String,
    },
    #[error("the concrete form of seed {seed} fails differently ({got}) than the original ({want}); please report this as a bug")]
    ConcreteDiffers {
        seed: u64,
        want: String,
        got: String,
    },
    #[error("incomplete: the time budget ({}) ran out during {phase} of seed {seed}, before any shrinking; raise --budget-time", crate::core::format_duration_ms(time_max.as_millis() as u64))]
    OutOfTime {
        seed: u64,
        phase: &'static str,
        time_max: Duration,
    },
    #[error("incomplete: within the budget (spent: {budget}) the smallest failing form of seed {seed} has weight {after}, more than the input's {before} (events, generated events, rules, reflexes, faults); nothing written. Raise --budget-time or --budget-runs, or shrink without --swarm")]
    NotSmaller {
        seed: u64,
        before: u64,
        after: u64,
        budget: &'static str,
    },
}

/// What a shrink produced.
#[derive(Debug, Clone)]
pub struct ShrinkResult {
    pub minimal: Scenario,
    pub signature: FailureSignature,
    /// The original failure needed its faults, and so does the minimal scenario.
    pub needs_faults: bool,
    pub before: Size,
    pub after: Size,
    pub runs: u64,
    pub elapsed: Duration,
    /// The budget ran out before the passes finished.
    pub budget_exhausted: bool,
    /// Which budget ran out: `"runs"` or `"time"`.
    pub budget_spent: Option<&'static str>,
    /// The reduction did not get below the input's size in the budget, so `minimal` is the
    /// input itself (a concrete form can be larger than what it came from: generators
    /// become events, `[faults]` a schedule of every fault that fired).
    pub kept_input: bool,
}

impl Size {
    /// One number to compare scenarios by: events (generated ones included), rules,
    /// reflexes and scheduled faults.
    pub fn weight(s: &Scenario) -> u64 {
        let size = Size::of(s);
        let generated: u64 = s.generators.iter().map(|g| g.count).sum();
        (size.events + size.rules + size.reflexes + size.faults) as u64 + generated
    }
}

struct Shrinker<'a> {
    seed: Seed,
    signature: FailureSignature,
    /// The concrete scenario passes with its faults removed: so must every candidate.
    needs_faults: bool,
    runs: u64,
    budget: ShrinkBudget,
    started: Instant,
    exhausted: bool,
    /// The budget that ran out first.
    spent: Option<&'static str>,
    best: Scenario,
    log: &'a mut dyn FnMut(&str),
}

impl Shrinker<'_> {
    fn out_of(&mut self, budget: &'static str) -> Verdict {
        self.exhausted = true;
        self.spent.get_or_insert(budget);
        Verdict::OutOfBudget
    }

    fn run(&mut self, candidate: &Scenario) -> Verdict {
        if self.runs >= self.budget.runs_max {
            return self.out_of("runs");
        }
        if self.started.elapsed() >= self.budget.time_max {
            return self.out_of("time");
        }
        self.runs += 1;
        let deadline = self.started + self.budget.time_max;
        let Some(o) = run_before(candidate, self.seed, RunOptions::default(), deadline) else {
            return self.out_of("time");
        };
        if failure_signature(&o).as_ref() != Some(&self.signature) {
            return Verdict::Passes;
        }
        if self.needs_faults {
            if self.runs >= self.budget.runs_max {
                return self.out_of("runs");
            }
            self.runs += 1;
            let Some(o) = run_before(
                &without_faults(candidate),
                self.seed,
                RunOptions::default(),
                deadline,
            ) else {
                return self.out_of("time");
            };
            if !o.passed() {
                // It fails without its faults: the failure no longer needs them, so it is
                // not the one we are shrinking.
                return Verdict::Passes;
            }
        }
        Verdict::Fails
    }

    /// Tries `candidate`; on success it becomes the best and `what` is logged.
    fn attempt(&mut self, candidate: Scenario, what: &str) -> Verdict {
        let v = self.run(&candidate);
        if v == Verdict::Fails {
            self.best = candidate;
            let msg = format!("{what} (now {})", Size::of(&self.best));
            (self.log)(&msg);
        }
        v
    }

    fn events_after_violation(&mut self, outcome: &RunOutcome) {
        let Some(v) = outcome.violations.first() else {
            return;
        };
        // A violation found at the end of the run (after its last record) has no time of
        // its own to cut at.
        if v.step >= outcome.steps() {
            return;
        }
        let Some(&at) = outcome.violation_times.first() else {
            return;
        };
        let mut c = self.best.clone();
        let before = c.events.len();
        c.events.retain(|e| e.at <= at);
        if c.events.len() < before {
            let n = before - c.events.len();
            self.attempt(
                c,
                &format!("dropped {n} events after the violation at {at}"),
            );
        }
    }

    fn ddmin_events(&mut self) {
        let before = self.best.events.len();
        let base = self.best.clone();
        let events = base.events.clone();
        let mut kept = None;
        let result = ddmin(events, &mut |subset| {
            let mut c = base.clone();
            c.events = subset.to_vec();
            let v = self.run(&c);
            if v == Verdict::Fails {
                kept = Some(subset.len());
            }
            v
        });
        if result.len() < before {
            let mut c = base;
            c.events = result;
            // ddmin only returns lists it saw fail; record it as the best without a rerun.
            self.best = c;
            let msg = format!(
                "ddmin over root events: {before} -> {} (now {})",
                self.best.events.len(),
                Size::of(&self.best)
            );
            (self.log)(&msg);
        }
        let _ = kept;
    }

    fn minimise_faults(&mut self) {
        let Some(schedule) = self.best.schedule.clone() else {
            return;
        };
        // Fewer faults: try dropping each (from the last, so indices stay valid).
        for i in (0..schedule.len()).rev() {
            let Some(current) = self.best.schedule.clone() else {
                return;
            };
            if i >= current.len() {
                continue;
            }
            let mut c = self.best.clone();
            let removed = current[i].clone();
            let mut s = current;
            s.remove(i);
            c.schedule = Some(s);
            if self.attempt(
                c,
                &format!(
                    "removed fault {} on #{} {}",
                    removed.kind.as_str(),
                    removed.nth,
                    removed.on
                ),
            ) == Verdict::OutOfBudget
            {
                return;
            }
        }
        // Shorter delays: halve while it still fails.
        let n = self.best.schedule.as_ref().map_or(0, Vec::len);
        for i in 0..n {
            loop {
                let mut c = self.best.clone();
                let s = c.schedule.as_mut().expect("schedule");
                if s[i].delay_ms <= 1 {
                    break;
                }
                s[i].delay_ms /= 2;
                let what = format!("shortened a {} to {}ms", s[i].kind.as_str(), s[i].delay_ms);
                if self.attempt(c, &what) != Verdict::Fails {
                    break;
                }
            }
        }
    }

    fn remove_rules_and_reflexes(&mut self) {
        let tenants: Vec<_> = self.best.rules.keys().cloned().collect();
        for t in tenants {
            let n = self.best.rules.get(&t).map_or(0, Vec::len);
            for i in (0..n).rev() {
                let mut c = self.best.clone();
                let list = c.rules.get_mut(&t).expect("tenant");
                if i >= list.len() {
                    continue;
                }
                let name = list.remove(i).name.clone();
                // An event that names its target by this rule's creations needs the rule:
                // without it the scenario would not load.
                let named = c.events.iter().any(|e| {
                    e.tenant == t
                        && matches!(&e.input, Input::Dispatch { created_by: Some(cb), .. } if cb.rule == name)
                });
                if named {
                    continue;
                }
                if self.attempt(c, &format!("removed rule {name} (tenant {t})"))
                    == Verdict::OutOfBudget
                {
                    return;
                }
            }
        }
        for i in (0..self.best.reflexes.len()).rev() {
            let mut c = self.best.clone();
            let r = c.reflexes.remove(i);
            if self.attempt(c, &format!("removed reflex {}", r.id)) == Verdict::OutOfBudget {
                return;
            }
        }
    }

    fn remove_checks(&mut self) {
        // Invariants that are not part of the failure are noise.
        let named: BTreeSet<&str> = self.signature.invariants().collect();
        let mut c = self.best.clone();
        c.invariants
            .retain(|i| named.contains(i.invariant.name.as_str()));
        if c.invariants.len() < self.best.invariants.len() {
            self.attempt(c, "removed invariants the failure does not involve");
        }
        for i in (0..self.best.expects.len()).rev() {
            let mut c = self.best.clone();
            c.expects.remove(i);
            if self.attempt(c, "removed an expectation") == Verdict::OutOfBudget {
                return;
            }
        }
    }

    fn remove_unused_types_and_tenants(&mut self) {
        let s = &self.best;
        let mut used: BTreeSet<String> = BTreeSet::new();
        for e in &s.events {
            if let Input::Dispatch {
                entity_type,
                created_by,
                ..
            } = &e.input
            {
                used.insert(entity_type.clone());
                if let Some(c) = created_by {
                    used.insert(c.source_type.clone());
                }
            }
        }
        for r in s.rules.values().flatten() {
            used.insert(r.when.entity_type.clone());
            used.insert(r.then.entity_type.clone());
            if let Some(g) = &r.when.guard {
                for t in guard_types(g) {
                    used.insert(t);
                }
            }
        }
        for r in &s.reflexes {
            if let crate::scenario::ReflexKind::Declarative { then: Some(t), .. } = &r.kind {
                used.insert(t.entity_type.clone());
            }
        }
        for x in &s.expects {
            used.insert(x.entity_type.clone());
        }
        for i in &s.invariants {
            used.extend(i.invariant.predicate.entity_types());
        }
        // Types from temper specs come back with their files when the scenario is written;
        // removing them here would shrink nothing.
        used.extend(s.spec_types.iter().cloned());
        let mut c = s.clone();
        c.entities.retain(|name, _| used.contains(name));
        if c.entities.len() < s.entities.len() {
            let n = s.entities.len() - c.entities.len();
            self.attempt(c, &format!("removed {n} entity types nothing uses"));
        }
        let s = &self.best;
        let active: BTreeSet<_> = s.events.iter().map(|e| e.tenant.clone()).collect();
        let mut c = s.clone();
        c.tenants.retain(|t| active.contains(t));
        c.rules.retain(|t, _| active.contains(t));
        c.reflexes
            .retain(|r| r.tenant.as_ref().is_none_or(|t| active.contains(t)));
        c.expects.retain(|x| active.contains(&x.tenant));
        if c.tenants.len() < s.tenants.len() {
            self.attempt(c, "removed tenants with no events");
        }
    }

    fn simplify_values(&mut self) {
        // Earlier times: everything at 0 (file order keeps the order), else one by one.
        let mut c = self.best.clone();
        if c.events.iter().any(|e| e.at.ms() > 0) {
            for e in &mut c.events {
                e.at = crate::core::SimTime::ZERO;
            }
            if self.attempt(c, "moved every event to 0ms") == Verdict::OutOfBudget {
                return;
            }
        }
        for i in 1..self.best.events.len() {
            let prev = self.best.events[i - 1].at;
            if self.best.events[i].at > prev {
                let mut c = self.best.clone();
                c.events[i].at = prev;
                if self.attempt(c, &format!("moved event #{} to {prev}", i + 1))
                    == Verdict::OutOfBudget
                {
                    return;
                }
            }
        }
        // Fewer params and payload keys.
        for i in 0..self.best.events.len() {
            let keys: Vec<String> = match &self.best.events[i].input {
                Input::Publish {
                    payload: Value::Object(m),
                    ..
                }
                | Input::Dispatch {
                    params: Value::Object(m),
                    ..
                } => m.keys().cloned().collect(),
                _ => Vec::new(),
            };
            for k in keys {
                let mut c = self.best.clone();
                match &mut c.events[i].input {
                    Input::Publish {
                        payload: Value::Object(m),
                        ..
                    }
                    | Input::Dispatch {
                        params: Value::Object(m),
                        ..
                    } => {
                        m.remove(&k);
                    }
                    _ => continue,
                }
                if self.attempt(c, &format!("removed `{k}` from event #{}", i + 1))
                    == Verdict::OutOfBudget
                {
                    return;
                }
            }
        }
    }
}

fn guard_types(g: &crate::engine::Guard) -> Vec<String> {
    use crate::engine::Guard;
    match g {
        Guard::CrossEntityStateIn { entity_type, .. } => vec![entity_type.clone()],
        Guard::AllOf { guards } | Guard::AnyOf { guards } => {
            guards.iter().flat_map(guard_types).collect()
        }
        Guard::Not { guard } => guard_types(guard),
        _ => Vec::new(),
    }
}

/// Whether `scenario` injects any fault (random or scheduled).
fn has_faults(scenario: &Scenario) -> bool {
    scenario.faults.is_some() || scenario.schedule.is_some()
}

/// `scenario` with its faults removed: no `[faults]`, no `[[fault]]` schedule, so reactions
/// run inline again.
pub fn without_faults(scenario: &Scenario) -> Scenario {
    let mut s = scenario.clone();
    s.faults = None;
    s.schedule = None;
    s
}

/// Whether `scenario` passes under `seed` with its faults removed; `None` when the deadline
/// came first.
fn passes_without_faults(scenario: &Scenario, seed: Seed, deadline: Instant) -> Option<bool> {
    run_before(
        &without_faults(scenario),
        seed,
        RunOptions::default(),
        deadline,
    )
    .map(|o| o.passed())
}

/// A run abandoned at `deadline` (`None`): the shrinker's time budget holds inside a run too,
/// since one run of a hostile scenario can take longer than the whole budget.
fn run_before(
    scenario: &Scenario,
    seed: Seed,
    options: RunOptions,
    deadline: Instant,
) -> Option<RunOutcome> {
    #[allow(clippy::disallowed_methods)] // The shrinker's own time budget, never inside a run.
    run_scenario_while(scenario, seed, options, Retain::Script, &mut || {
        Instant::now() < deadline
    })
}

/// Shrinks the failure of `seed` on `scenario` to a minimal concrete scenario. `log` hears
/// every accepted step.
pub fn shrink(
    scenario: &Scenario,
    seed: Seed,
    swarm: bool,
    budget: ShrinkBudget,
    log: &mut dyn FnMut(&str),
) -> Result<ShrinkResult, ShrinkError> {
    #[allow(clippy::disallowed_methods)] // The shrinker's own time budget, never inside a run.
    let started = Instant::now();
    let options = RunOptions {
        keep_trace: false,
        swarm,
    };
    let deadline = started + budget.time_max;
    let out_of_time = |phase: &'static str| ShrinkError::OutOfTime {
        seed: seed.0,
        phase,
        time_max: budget.time_max,
    };
    let first =
        run_before(scenario, seed, options, deadline).ok_or(out_of_time("the first run"))?;
    let second = run_before(scenario, seed, options, deadline)
        .ok_or(out_of_time("the determinism check"))?;
    if first.trace_hash != second.trace_hash {
        return Err(ShrinkError::NotDeterministic {
            seed: seed.0,
            first: first.trace_hash.to_string(),
            second: second.trace_hash.to_string(),
        });
    }
    let signature = failure_signature(&first).ok_or(ShrinkError::Passes { seed: seed.0 })?;
    let concrete = make_concrete(scenario, seed, &first);
    let before = Size::of(&concrete);
    let check = run_before(&concrete, seed, RunOptions::default(), deadline)
        .ok_or(out_of_time("the run of the concrete form"))?;
    match failure_signature(&check) {
        Some(s) if s == signature => {}
        other => {
            return Err(ShrinkError::ConcreteDiffers {
                seed: seed.0,
                want: signature.to_string(),
                got: other.map_or_else(|| "a pass".into(), |s| s.to_string()),
            });
        }
    }
    let needs_faults = has_faults(&concrete)
        && passes_without_faults(&concrete, seed, deadline)
            .ok_or(out_of_time("the run without faults"))?;
    log(&format!(
        "concrete form: {before}; signature {signature}{}",
        if needs_faults {
            "; it passes without its faults, so every candidate must too"
        } else {
            ""
        }
    ));
    let mut s = Shrinker {
        seed,
        signature,
        needs_faults,
        runs: 4,
        budget,
        started,
        exhausted: false,
        best: concrete,
        spent: None,
        log,
    };
    s.events_after_violation(&check);
    // Each pass can make another possible (a rule removed leaves its faults dangling), so
    // repeat until a round changes nothing. Every round costs runs, so this is bounded by
    // the budget; rounds are few in practice (two or three).
    const ROUNDS_MAX: usize = 8;
    for _ in 0..ROUNDS_MAX {
        let size = Size::of(&s.best);
        let times: Vec<_> = s.best.events.iter().map(|e| e.at).collect();
        s.ddmin_events();
        s.minimise_faults();
        s.remove_rules_and_reflexes();
        s.remove_checks();
        s.remove_unused_types_and_tenants();
        s.simplify_values();
        let same_times = s.best.events.iter().map(|e| e.at).eq(times.iter().copied());
        if s.exhausted || (Size::of(&s.best) == size && same_times) {
            break;
        }
    }
    // Never hand back more than was given. The best candidate can be larger than the input
    // when the budget ran out early: its concrete form lists every fault that fired. Then
    // the input's own form is handed back, with its generators written out as events (the
    // same weight) and its `[faults]` kept as rates, if that still fails the same way; a
    // swarm run's faults come from the seed, not the file, so it has no such form.
    let kept_input = Size::weight(&s.best) > Size::weight(scenario);
    if kept_input {
        let mut input = make_concrete(scenario, seed, &first);
        input.faults = scenario.faults;
        input.schedule = scenario.schedule.clone();
        let same = !swarm
            && Size::weight(&input) <= Size::weight(scenario)
            && run_before(
                &input,
                seed,
                RunOptions::default(),
                deadline + Duration::from_millis(500),
            )
            .is_some_and(|o| failure_signature(&o).as_ref() == Some(&s.signature));
        if !same {
            return Err(ShrinkError::NotSmaller {
                seed: seed.0,
                before: Size::weight(scenario),
                after: Size::weight(&s.best),
                budget: s.spent.unwrap_or("none"),
            });
        }
        (s.log)(&format!(
            "the best candidate ({}) is larger than the input: keeping the input's own form",
            Size::of(&s.best)
        ));
        s.best = input;
    }
    Ok(ShrinkResult {
        after: Size::of(&s.best),
        minimal: s.best,
        signature: s.signature,
        needs_faults: s.needs_faults,
        before,
        runs: s.runs,
        elapsed: s.started.elapsed(),
        budget_exhausted: s.exhausted,
        budget_spent: s.spent,
        kept_input,
    })
}

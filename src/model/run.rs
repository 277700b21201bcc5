//! `ripple check`'s driver: builds every model of a scenario (guards, rule pairs,
//! resolvers, the cascade), explores each with stateright's breadth-first checker within
//! the budgets, and turns discoveries into findings. Counterexamples with a schedule are
//! written as scenarios and replayed once under `ripple run`'s simulator to confirm them.
//!
//! Budgets: `states_max` per model (stateright's target state count) and one wall-clock
//! `timeout` for the whole check, shared in order; a model that runs out is reported as
//! incomplete, never waited for. When the cascade model runs out of states before the
//! timeout, a seeded random walk (`walk.rs`) goes on looking for violations until the
//! timeout and reports what it covered; the verdict stays incomplete.
//!
//! A scenario with `[[generator]]`s is checked once per seed of `seeds`, its generators
//! expanded into root events for that seed (`cascade@seed=N`).

use crate::core::Seed;
use crate::core::TenantId;
use crate::engine::{EngineEvaluator, GuardEvaluator, Rule};
use crate::model::cascade::{CascadeModel, CascadeState, ModelConfig, Step, ANSWERS_PREFIX};
use crate::model::conflict::{is_candidate_pair, resolver_field, PairModel};
use crate::model::emit::{scenario_text, schedule};
use crate::model::finding::{CheckReport, Finding, FindingKind, ModelReport};
use crate::model::guard_space::GuardModel;
use crate::model::inputs::{input_space, trigger_outcomes};
use crate::model::resolver_space::ResolverModel;
use crate::model::walk::walk;
use crate::scenario::Scenario;
use crate::sim::RunOptions;
use stateright::{Checker, Model, Path as SrPath};
use std::collections::BTreeMap;
// stateright hands discoveries back in a HashMap; it is only looked up by name, never
// iterated into output.
#[allow(clippy::disallowed_types)]
use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Default states per model.
pub const STATES_MAX_DEFAULT: usize = 1_000_000;
/// Default wall-clock budget of a whole check.
pub const TIMEOUT_DEFAULT: Duration = Duration::from_secs(60);
/// Longest path the canonical schedule follows (a budget on a loop).
const CANONICAL_STEPS_MAX: usize = 100_000;

#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub states_max: usize,
    pub timeout: Duration,
    /// Where counterexample scenarios go (`None`: not written).
    pub out_dir: Option<PathBuf>,
    /// How the cascade model is explored: partial-order reduction, faults per path.
    pub model: ModelConfig,
    /// The seeds whose generated events are checked (scenarios with generators only).
    pub seeds: Vec<u64>,
    /// After an exhaustive search that ran out of states, a random walk from this seed
    /// until the timeout (`None`: no walk).
    pub walk_seed: Option<u64>,
    /// Bytes the cascade search may hold ([`MEMORY_MAX_DEFAULT`]): past it, no state is
    /// expanded further and the model is incomplete (`memory budget`).
    pub memory_max: u64,
}

/// The cascade search's memory budget by default: 512 MiB, counted by the allocator on the
/// search's thread (the visited set, the pending states, the terminal worlds).
pub const MEMORY_MAX_DEFAULT: u64 = 512 << 20;

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            states_max: STATES_MAX_DEFAULT,
            timeout: TIMEOUT_DEFAULT,
            out_dir: None,
            model: ModelConfig::default(),
            seeds: vec![0],
            walk_seed: Some(0),
            memory_max: MEMORY_MAX_DEFAULT,
        }
    }
}

/// The wall clock of one check: each model gets what the earlier ones left.
struct Budget {
    states_max: usize,
    deadline: Instant,
}

impl Budget {
    fn left(&self) -> Duration {
        #[allow(clippy::disallowed_methods)] // Wall time of the checker, never inside a run.
        let now = Instant::now();
        self.deadline.saturating_duration_since(now)
    }
}

/// A model whose search may run out of memory (the cascade model); the small models never
/// do.
trait MemoryBudget {
    /// The budget, when the search ran out of it.
    fn memory_ran_out(&self) -> Option<u64> {
        None
    }

    /// The search is over (before its discoveries' paths are rebuilt).
    fn searched(&self) {}
}

impl MemoryBudget for CascadeModel {
    fn memory_ran_out(&self) -> Option<u64> {
        CascadeModel::memory_ran_out(self)
    }

    fn searched(&self) {
        CascadeModel::searched(self)
    }
}
impl<E: GuardEvaluator> MemoryBudget for crate::model::guard_space::GuardModel<E> {}
impl MemoryBudget for crate::model::conflict::PairModel {}
impl MemoryBudget for ResolverModel {}

/// How stateright searches a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    /// Breadth-first: the shortest counterexamples.
    Bfs,
    /// Depth-first, each state fingerprinted as its symmetry representative.
    DfsSymmetric,
    /// Depth-first without symmetry: the same search as `DfsSymmetric` for a model whose
    /// every state is its own representative (a cascade that mints no ids), without
    /// building a representative (a copy of the state) per generated state.
    Dfs,
}

/// Runs stateright's checker on `model`; `finish` turns discoveries into findings.
#[allow(clippy::disallowed_types)] // stateright's discoveries map, looked up by name only.
fn explore<M, F>(name: String, model: M, budget: &Budget, search: Search, finish: F) -> ModelReport
where
    M: Model + MemoryBudget + Send + Sync + 'static,
    M::State: Hash + Clone + PartialEq + Debug + Send + Sync + stateright::Representative + 'static,
    M::Action: Clone + PartialEq + Debug,
    F: FnOnce(
        &M,
        &ModelReport,
        HashMap<&'static str, SrPath<M::State, M::Action>>,
    ) -> (Vec<Finding>, Vec<String>),
{
    let time_left = budget.left();
    #[allow(clippy::disallowed_methods)] // Wall time of the checker, never inside a run.
    let start = Instant::now();
    let mut builder = model
        .checker()
        .target_state_count(budget.states_max)
        .timeout(time_left.max(Duration::from_millis(1)));
    // Stateright applies symmetry reduction in its depth-first checker only; without it,
    // breadth-first finds the shortest counterexamples.
    let checker: Box<dyn Checker<M>> = match search {
        Search::DfsSymmetric => {
            builder = builder.symmetry();
            Box::new(builder.spawn_dfs().join())
        }
        Search::Dfs => Box::new(builder.spawn_dfs().join()),
        Search::Bfs => Box::new(builder.spawn_bfs().join()),
    };
    let elapsed = start.elapsed();
    checker.model().searched();
    let states = checker.state_count();
    let unique = checker.unique_state_count();
    let budget_exhausted = if let Some(max) = checker.model().memory_ran_out() {
        Some(memory_budget(max))
    } else if states >= budget.states_max {
        Some(format!("state budget ({} states)", budget.states_max))
    } else if elapsed >= time_left {
        Some(format!("time budget ({:.1}s)", time_left.as_secs_f64()))
    } else {
        None
    };
    let seconds = elapsed.as_secs_f64().max(1e-9);
    let mut report = ModelReport {
        name,
        states,
        unique_states: unique,
        depth: checker.max_depth(),
        seconds,
        states_per_second: states as f64 / seconds,
        unique_states_per_second: unique as f64 / seconds,
        complete: budget_exhausted.is_none(),
        budget_exhausted,
        states_left: budget.states_max.saturating_sub(states),
        findings: Vec::new(),
        notes: Vec::new(),
    };
    let (findings, notes) = finish(checker.model(), &report, checker.discoveries());
    report.findings = findings;
    report.notes = notes;
    report
}

/// Marker impls: only the cascade state reduces by symmetry; the others are their own
/// representatives.
macro_rules! no_symmetry {
    ($($t:ty),*) => {$(
        impl stateright::Representative for $t {
            fn representative(&self) -> Self {
                self.clone()
            }
        }
    )*};
}
no_symmetry!(
    crate::model::guard_space::GuardState,
    crate::model::conflict::PairState,
    crate::model::resolver_space::ResolverState
);

/// Checks one rule's guard with `evaluator` (the engine's, or one under test).
pub fn check_guard<E>(
    tenant: &TenantId,
    rule: &Arc<Rule>,
    scenario: &Scenario,
    evaluator: E,
    options: &CheckOptions,
) -> ModelReport
where
    E: GuardEvaluator + Send + Sync + 'static,
{
    let budget = Budget {
        states_max: options.states_max,
        #[allow(clippy::disallowed_methods)] // Wall time of the checker, never inside a run.
        deadline: Instant::now() + options.timeout,
    };
    guard_report(tenant, rule, scenario, evaluator, &budget)
}

fn guard_report<E>(
    tenant: &TenantId,
    rule: &Arc<Rule>,
    scenario: &Scenario,
    evaluator: E,
    budget: &Budget,
) -> ModelReport
where
    E: GuardEvaluator + Send + Sync + 'static,
{
    let space = input_space(&[rule.as_ref()], &[], &scenario.entities);
    let model = GuardModel::new(tenant.clone(), rule.clone(), space, evaluator);
    let name = format!("guard:{}", rule.name);
    explore(
        name,
        model,
        budget,
        Search::Bfs,
        |m, report, discoveries| {
            let mut findings = Vec::new();
            let mut notes = Vec::new();
            let rule = Some(m.rule.name.as_str());
            if let Some(path) = discoveries.get("engine_matches_reference") {
                let s = path.last_state();
                let mut f = Finding::new(
                    FindingKind::Violation,
                    rule,
                    format!(
                    "the engine's guard evaluation says {}, the reference semantics {}, when {}",
                    verdict(s.engine),
                    verdict(s.reference),
                    m.space.describe(&s.point)
                ),
                );
                f.property = Some("engine_matches_reference".into());
                f.path = vec![m.space.describe(&s.point)];
                findings.push(f);
            }
            if report.complete || discoveries.len() == 3 {
                if !discoveries.contains_key("can_pass") {
                    findings.push(Finding::new(
                    FindingKind::DeadRule,
                    rule,
                    format!(
                        "the guard never passes in any of the {} inputs its trigger can produce: the rule can never fire",
                        m.space.size()
                    ),
                ));
                }
                if !discoveries.contains_key("can_fail") {
                    findings.push(Finding::new(
                    FindingKind::AlwaysFires,
                    rule,
                    format!(
                        "the guard passes in every one of the {} inputs its trigger can produce (statuses: {}): it never stops the rule",
                        m.space.size(),
                        m.space.triggers.iter().map(|t| t.1.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ));
                }
                if findings.is_empty() {
                    notes.push("engine agrees with the reference in every input; the guard can pass and can fail".into());
                }
            }
            (findings, notes)
        },
    )
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "pass"
    } else {
        "fail"
    }
}

/// Every model of `scenario`, explored within the budgets. `text` is the scenario file's
/// text (for counterexample scenarios).
pub fn check_scenario(
    scenario: &Scenario,
    text: Option<&str>,
    options: &CheckOptions,
) -> CheckReport {
    let budget = Budget {
        states_max: options.states_max,
        #[allow(clippy::disallowed_methods)] // Wall time of the checker, never inside a run.
        deadline: Instant::now() + options.timeout,
    };
    let mut models = Vec::new();
    // Rules by name: a top-level rule is registered in every tenant, identically.
    let mut rules: BTreeMap<String, (TenantId, Arc<Rule>)> = BTreeMap::new();
    for (tenant, list) in &scenario.rules {
        for rule in list {
            rules
                .entry(rule.name.clone())
                .or_insert_with(|| (tenant.clone(), rule.clone()));
        }
    }
    let mut triggerless = Vec::new();
    for (tenant, rule) in rules.values() {
        if trigger_outcomes(&rule.when, &scenario.entities).is_empty() {
            let mut f = Finding::new(
                FindingKind::DeadRule,
                Some(&rule.name),
                format!(
                    "no action of {} can trigger it (action {}, to_state {})",
                    rule.when.entity_type,
                    rule.when.action.as_deref().unwrap_or("any"),
                    rule.when.to_state.as_deref().unwrap_or("any")
                ),
            );
            f.property = Some("trigger".into());
            triggerless.push(f);
            continue;
        }
        if rule.when.guard.is_some() {
            models.push(guard_report(
                tenant,
                rule,
                scenario,
                EngineEvaluator,
                &budget,
            ));
        }
    }
    if !triggerless.is_empty() {
        models.push(ModelReport {
            name: "triggers".into(),
            states: 0,
            unique_states: 0,
            depth: 0,
            seconds: 0.0,
            states_per_second: 0.0,
            unique_states_per_second: 0.0,
            complete: true,
            budget_exhausted: None,
            states_left: budget.states_max,
            findings: triggerless,
            notes: Vec::new(),
        });
    }
    // Pairs, per tenant (each tenant has its own rule list).
    let mut seen_pairs = Vec::new();
    for (tenant, list) in &scenario.rules {
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                let triggered =
                    |r: &Rule| !trigger_outcomes(&r.when, &scenario.entities).is_empty();
                if !is_candidate_pair(a, b) || !(triggered(a) || triggered(b)) {
                    continue;
                }
                let key = (a.name.clone(), b.name.clone());
                if seen_pairs.contains(&key) {
                    continue;
                }
                seen_pairs.push(key);
                models.push(pair_report(tenant, a, b, scenario, &budget));
            }
        }
    }
    for (tenant, rule) in rules.values() {
        if let Some(model) =
            ResolverModel::new(tenant.clone(), rule, &scenario.entities, scenario.depth_max)
        {
            models.push(resolver_report(model, &budget));
        }
    }
    if scenario.generators.is_empty() {
        models.push(cascade_report(
            scenario,
            text,
            options,
            &budget,
            "cascade".into(),
        ));
    } else {
        for &seed in &options.seeds {
            let name = format!("cascade@seed={seed}");
            // Only the events a run reaches (at or before `until`), and no more than a
            // model can hold: past that, nothing more is built.
            let Some((generated, _)) = crate::scenario::expand_generators_until(
                &scenario.generators,
                Seed(seed),
                scenario.until,
                GENERATED_ROOTS_MAX,
            ) else {
                models.push(not_checked(
                    name,
                    &budget,
                    format!(
                        "seed {seed}'s generators make more than {GENERATED_ROOTS_MAX} events at or before `until` ({}), each a root of the cascade model; lower a generator's count or `until`, or test it with `ripple sweep`",
                        scenario.until
                    ),
                ));
                continue;
            };
            let mut expanded = scenario.clone();
            expanded.events.extend(generated);
            expanded.generators.clear();
            // Counterexamples name the generated events one by one; the `[faults]` table
            // is left out, as counterexamples leave it out (their `[[fault]]`s replace it).
            let mut plain = expanded.clone();
            plain.faults = None;
            let concrete = crate::scenario::emit_scenario(&plain, "");
            models.push(cascade_report(
                &expanded,
                text.map(|_| concrete.as_str()),
                options,
                &budget,
                name,
            ));
        }
    }
    let name = scenario.name.clone();
    CheckReport {
        scenario: name,
        models,
    }
}

fn pair_report(
    tenant: &TenantId,
    a: &Arc<Rule>,
    b: &Arc<Rule>,
    scenario: &Scenario,
    budget: &Budget,
) -> ModelReport {
    let extra: Vec<String> = [
        resolver_field(&a.resolve_target),
        resolver_field(&b.resolve_target),
    ]
    .into_iter()
    .flatten()
    .map(String::from)
    .collect();
    let space = input_space(&[a.as_ref(), b.as_ref()], &extra, &scenario.entities);
    let model = PairModel::new(tenant.clone(), a.clone(), b.clone(), space);
    let name = format!("pair:{}+{}", a.name, b.name);
    explore(
        name,
        model,
        budget,
        Search::Bfs,
        |m, report, discoveries| {
            let mut findings = Vec::new();
            let mut notes = Vec::new();
            if let Some(path) = discoveries.get("exclusive") {
                let s = path.last_state();
                let mut f = Finding::new(
                FindingKind::Conflict,
                Some(&m.first.name),
                format!(
                    "{} ({}) and {} ({}) both act on {}/{} in tenant {} when {}: which lands first depends on rule order",
                    m.first.name,
                    m.first.then.action,
                    m.second.name,
                    m.second.then.action,
                    m.first.then.entity_type,
                    s.first.as_deref().unwrap_or("?"),
                    m.tenant,
                    m.space.describe(&s.point)
                ),
            );
                f.property = Some("exclusive".into());
                f.path = vec![m.space.describe(&s.point)];
                findings.push(f);
            } else if report.complete {
                if discoveries.contains_key("neither") {
                    notes.push(format!(
                    "{} and {} never both fire from one commit on one target (races between different commits are the cascade model's)",
                    m.first.name, m.second.name
                ));
                } else {
                    notes.push(format!(
                    "{} and {} never both fire from one commit: exactly one of them fires in every one of the {} states",
                    m.first.name, m.second.name, report.unique_states
                ));
                }
            }
            (findings, notes)
        },
    )
}

fn resolver_report(model: ResolverModel, budget: &Budget) -> ModelReport {
    let name = format!("resolver:{}", model.rule.name);
    explore(
        name,
        model,
        budget,
        Search::Bfs,
        |m, report, discoveries| {
            let mut findings = Vec::new();
            let mut props: Vec<_> = discoveries.into_iter().collect();
            props.sort_by_key(|(k, _)| *k);
            for (property, path) in props {
                let s = path.last_state();
                let mut f = Finding::new(
                    FindingKind::Violation,
                    Some(&m.rule.name),
                    format!(
                        "{property} broke ({:?} resolver) when {}: targets {:?}",
                        m.rule.resolve_target,
                        m.describe(s),
                        s.verdict.targets
                    ),
                );
                f.property = Some(property.to_string());
                f.path = path.into_vec().iter().map(|(s, _)| m.describe(s)).collect();
                findings.push(f);
            }
            let notes = if findings.is_empty() && report.complete {
                vec![format!("{:?}: every property holds", m.rule.resolve_target)]
            } else {
                Vec::new()
            };
            (findings, notes)
        },
    )
}

/// The generated events one seed may add to the cascade model: more is a model no budget
/// explores, so it is reported as not checked (`incomplete`) before anything is built.
pub const GENERATED_ROOTS_MAX: usize = 100_000;

/// A model that was not explored, and why: incomplete, never a pass.
fn not_checked(name: String, budget: &Budget, why: impl std::fmt::Display) -> ModelReport {
    ModelReport {
        name,
        states: 0,
        unique_states: 0,
        depth: 0,
        seconds: 0.0,
        states_per_second: 0.0,
        unique_states_per_second: 0.0,
        complete: false,
        budget_exhausted: None,
        states_left: budget.states_max,
        findings: Vec::new(),
        notes: vec![format!("not model-checked: {why}")],
    }
}

fn cascade_report(
    scenario: &Scenario,
    text: Option<&str>,
    options: &CheckOptions,
    budget: &Budget,
    name: String,
) -> ModelReport {
    let shared = Arc::new(scenario.clone());
    let model = match CascadeModel::new(shared.clone(), options.model) {
        Ok(m) => m.with_memory_max(options.memory_max),
        Err(why) => return not_checked(name, budget, why),
    };
    let stem = scenario
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| scenario.name.clone());
    let emitter = Emitter {
        stem,
        text: text.map(String::from),
        original: scenario.path.clone(),
        out_dir: options.out_dir.clone(),
        deadline: budget.deadline,
    };
    let mut outcomes = BTreeMap::new();
    let mut unexplored = None;
    // Symmetry reduction renames minted ids: without any, every state is its own
    // representative.
    // Without symmetry, a successor the search knows already is recognised before it is
    // built, when the transition cache knows the step (`CascadeModel::search_ahead`).
    let (search, model) = if model.mints() {
        (Search::DfsSymmetric, model)
    } else {
        (Search::Dfs, model.search_ahead())
    };
    let mut report = explore(name, model, budget, search, |m, _, discoveries| {
        outcomes = m.outcomes.lock().expect("outcomes").clone();
        unexplored = m.unexplored();
        let mut findings = Vec::new();
        let mut props: Vec<_> = discoveries.into_iter().collect();
        props.sort_by_key(|(k, _)| *k);
        for (property, path) in props {
            findings.push(violation_finding(m, &emitter, property, &path.into_vec()));
        }
        (findings, Vec::new())
    });
    let model_again = CascadeModel::new(shared, options.model)
        .expect("built once already")
        .with_memory_max(options.memory_max);
    if model_again.reduces() {
        report
            .notes
            .push("partial-order reduction: one order of independent deliveries explored".into());
    }
    let late = model_again.roots_past_until();
    if late > 0 {
        report.notes.push(format!(
            "{late} root event(s) after `until` ({}) left out, as a run never reaches them",
            scenario.until
        ));
    }
    // Choices a run has that the search left out: the space explored is not the whole
    // space, whatever the budgets (never a pass).
    if let Some(why) = &unexplored {
        report.notes.push(format!("not explored: {why}"));
    }
    // Order dependence needs every terminal state: only from a complete exploration.
    if report.complete {
        order_dependence(&model_again, &outcomes, &emitter, budget, &mut report);
        report.complete &= unexplored.is_none();
        return report;
    }
    report
        .notes
        .push("incomplete: order dependence not judged".into());
    // Out of states with time left: walk at random until the timeout.
    let time_left = budget.left();
    let (Some(seed), true) = (options.walk_seed, time_left > Duration::from_millis(1)) else {
        return report;
    };
    let found_already: Vec<String> = report
        .findings
        .iter()
        .filter_map(|f| f.property.clone())
        .collect();
    #[allow(clippy::disallowed_methods)] // Wall time of the checker, never inside a run.
    let started = Instant::now();
    let walked = walk(&model_again, seed, started + time_left);
    let seconds = started.elapsed().as_secs_f64();
    report.notes.push(format!(
        "random walk (seed {seed}) for {seconds:.1}s beyond the state budget: {} walks, {} states, {} unique, {} terminal worlds, deepest {} steps; coverage, not a proof",
        walked.walks, walked.states, walked.unique_states, walked.terminal_worlds, walked.depth_max
    ));
    if let Some((property, path)) = walked.violation {
        if !found_already.contains(&property) {
            let mut f = violation_finding(&model_again, &emitter, &property, &path);
            f.message.push_str(&format!(
                "\n  found by the random walk (seed {seed}) beyond the state budget"
            ));
            report.findings.push(f);
        }
    }
    report
}

/// A violation of `property` at the end of `path`, written as a scenario that replays it.
fn violation_finding(
    m: &CascadeModel,
    emitter: &Emitter,
    property: &str,
    path: &[(CascadeState, Option<Step>)],
) -> Finding {
    let last = &path.last().expect("a path has a state").0;
    let message = match property {
        "invariant_at_end" => m.end_violation(last).unwrap_or_default(),
        "quiescence" => "a schedule never goes quiet".to_string(),
        p => last.violations.get(p).cloned().unwrap_or_default(),
    };
    let mut f = Finding::new(FindingKind::Violation, None, message);
    f.property = Some(property.to_string());
    f.path = describe_path(m, path);
    emitter.write(m, path, property, &mut f, true);
    f
}

fn describe_path(m: &CascadeModel, path: &[(CascadeState, Option<Step>)]) -> Vec<String> {
    path.iter()
        .filter_map(|(s, a)| a.map(|a| m.describe_step(s, a)))
        .collect()
}

/// The schedule every choice's first option gives: FIFO delivery, roots in time order.
fn canonical_path(m: &CascadeModel) -> Vec<(CascadeState, Option<Step>)> {
    let mut path = Vec::new();
    let mut state = m.initial();
    for _ in 0..CANONICAL_STEPS_MAX {
        let mut actions = Vec::new();
        m.enabled(&state, &mut actions);
        let Some(&step) = actions.first() else { break };
        let next = m.transition(&state, step).0;
        path.push((state, Some(step)));
        state = next;
    }
    path.push((state, None));
    path
}

fn order_dependence(
    m: &CascadeModel,
    outcomes: &BTreeMap<String, CascadeState>,
    emitter: &Emitter,
    budget: &Budget,
    report: &mut ModelReport,
) {
    let canonical = canonical_path(m);
    let mut first = m.outcome(&canonical.last().expect("a path has a state").0);
    // Integration answers are inputs from outside: worlds reached with different answers
    // are different inputs' worlds, not schedules'. Compare within one set of answers.
    let answers_of = |k: &str| -> String {
        match k.split_once('\n') {
            Some((head, _)) if head.starts_with(ANSWERS_PREFIX) => head.to_string(),
            _ => String::new(),
        }
    };
    let mut groups: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for k in outcomes.keys() {
        groups.entry(answers_of(k)).or_default().push(k);
    }
    let mut first_path = None;
    if groups.get(&answers_of(&first)).is_none_or(|g| g.len() <= 1) {
        let Some(group) = groups.values().find(|g| g.len() > 1) else {
            report.notes.push(if groups.len() > 1 {
                format!(
                    "{} sets of integration answers, one terminal world each: the outcome does not depend on the schedule",
                    groups.len()
                )
            } else {
                format!(
                    "{} terminal world(s): the outcome does not depend on the schedule",
                    outcomes.len()
                )
            });
            return;
        };
        // The canonical schedule took other answers: reach this group's first world.
        first = group[0].clone();
        let search = m.with_target(first.clone()).search_ahead();
        let checker = search
            .checker()
            .target_state_count(budget.states_max)
            .timeout(budget.left().max(Duration::from_millis(1)))
            .spawn_bfs()
            .join();
        checker.model().searched();
        match checker.discovery("reaches_target") {
            Some(p) => first_path = Some(p.into_vec()),
            None => {
                not_judged(report, checker.model(), "first");
                return;
            }
        }
    }
    let group = groups[&answers_of(&first)].clone();
    let other = group
        .iter()
        .filter(|k| ***k != first)
        .find(|k| m.world_violation(&outcomes[**k]).is_some())
        .or_else(|| group.iter().find(|k| ***k != first))
        .map(|k| (*k).clone())
        .expect("two outcomes, one differs");
    let canonical = first_path.unwrap_or(canonical);
    let search = m.with_target(other.clone()).search_ahead();
    // Breadth-first: the shortest schedule to the other world.
    let checker = search
        .checker()
        .target_state_count(budget.states_max)
        .timeout(budget.left().max(Duration::from_millis(1)))
        .spawn_bfs()
        .join();
    checker.model().searched();
    let Some(path) = checker.discovery("reaches_target") else {
        not_judged(report, checker.model(), "second");
        return;
    };
    let path = path.into_vec();
    let mut f = Finding::new(
        FindingKind::OrderDependent,
        None,
        format!(
            "{} different terminal worlds; two schedules of the same inputs end differently:\n  first schedule (FIFO):\n{}  other schedule:\n{}",
            group.len(),
            indent(&first),
            indent(&other)
        ),
    );
    f.property = Some("order_dependence".into());
    f.path = describe_path(m, &path);
    let must_fail = m
        .world_violation(&path.last().expect("a path has a state").0)
        .is_some();
    emitter.write(m, &path, "order_dependent", &mut f, must_fail);
    let mut alt = Finding::new(FindingKind::OrderDependent, None, String::new());
    emitter.write(m, &canonical, "order_dependent-other", &mut alt, false);
    if let Some(p) = alt.scenario {
        f.message.push_str(&format!(
            "\n  the first schedule is written to {}",
            p.display()
        ));
    }
    report.findings.push(f);
}

/// The budget a search ran out of when it held more than `max` bytes.
fn memory_budget(max: u64) -> String {
    format!(
        "memory budget ({}, --memory-max)",
        crate::core::show_size(max)
    )
}

/// Two terminal worlds were reached but no path to the `which` one was found again within
/// the budgets: order dependence is suspected and not shown, so the model is incomplete
/// (never a pass).
fn not_judged(report: &mut ModelReport, search: &CascadeModel, which: &str) {
    let why = match search.memory_ran_out() {
        Some(max) => memory_budget(max),
        None => "state or time budget".to_string(),
    };
    report.notes.push(format!(
        "order dependence suspected, but no path to the {which} world was found within the {why}"
    ));
    report.complete = false;
    report.budget_exhausted.get_or_insert(why);
}

fn indent(world: &str) -> String {
    world.lines().map(|l| format!("    {l}\n")).collect()
}

/// Writes counterexample scenarios.
struct Emitter {
    stem: String,
    text: Option<String>,
    original: PathBuf,
    out_dir: Option<PathBuf>,
    /// The check's wall-clock deadline: a replay stops there (and says it did not finish).
    deadline: Instant,
}

impl Emitter {
    /// Writes `path` as `<out_dir>/<stem>-<what>.toml` and, when `must_fail`, replays it.
    fn write(
        &self,
        m: &CascadeModel,
        path: &[(CascadeState, Option<Step>)],
        what: &str,
        f: &mut Finding,
        must_fail: bool,
    ) {
        let (Some(dir), Some(text)) = (&self.out_dir, &self.text) else {
            return;
        };
        let out = dir.join(format!("{}-{what}.toml", self.stem));
        let sched = schedule(m, path);
        let mut header = format!(
            "Counterexample found by `ripple check {}` ({what}).\nReproduce: ripple run {}\n\nThe path:\n",
            self.original.display(),
            out.display()
        );
        for step in &sched.steps {
            header.push_str(&format!("  {step}\n"));
        }
        let body = match scenario_text(text, &self.original, &out, &sched, &header) {
            Ok(b) => b,
            Err(e) => {
                f.message
                    .push_str(&format!("\n  (no replay scenario: {e})"));
                return;
            }
        };
        if let Err(e) = crate::core::write_atomic(&out, body.as_bytes()) {
            f.message
                .push_str(&format!("\n  (failed to write {}: {e})", out.display()));
            return;
        }
        f.scenario = Some(out.clone());
        if must_fail {
            let deadline = self.deadline;
            #[allow(clippy::disallowed_methods)] // The checker's wall time, between steps of a run.
            let mut go_on = || Instant::now() < deadline;
            match replay_fails_while(&out, &mut go_on) {
                Ok(replays) => {
                    f.replays = replays;
                    if replays.is_none() {
                        f.message
                            .push_str("\n  (not replayed: the check's --timeout ran out first)");
                    }
                }
                // A file the checker wrote and cannot read back is its own bug: said as
                // such, never as a replay that passed.
                Err(e) => f.message.push_str(&format!(
                    "\n  (not replayed: the written scenario does not load, a bug of the checker's writer to report: {e})"
                )),
            }
        }
    }
}

/// Whether `ripple run` of the scenario at `path` (seed 0) reports a violation, asking
/// `go_on` between steps of the run: `None` when it said stop first, `Err` when the file
/// does not load.
pub fn replay_fails_while(
    path: &Path,
    go_on: &mut dyn FnMut() -> bool,
) -> Result<Option<bool>, String> {
    let s = crate::scenario::load_scenario(path).map_err(|e| e.to_string())?;
    // Whether it fails needs no record: memory stays flat however long the replay.
    Ok(crate::sim::run_scenario_while(
        &s,
        Seed(0),
        RunOptions::default(),
        crate::sim::Retain::Summary,
        go_on,
    )
    .map(|o| !o.passed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Order dependence suspected but not shown (no path found again within a budget) makes
    /// the cascade model incomplete, whatever its search did; the searches for those paths
    /// keep the check's memory budget.
    #[test]
    fn order_dependence_not_shown_is_incomplete() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/race.toml");
        let scenario = Arc::new(crate::scenario::load_scenario(&path).unwrap());
        let model = CascadeModel::new(scenario, ModelConfig::default())
            .unwrap()
            .with_memory_max(1);
        let search = model.with_target("nowhere".into());
        assert!(search.memory_ran_out().is_none());
        use stateright::Model as _;
        let _ = search.within_boundary(&search.initial());
        assert_eq!(search.memory_ran_out(), Some(1), "the budget carried over");
        let mut report = ModelReport {
            name: "cascade".into(),
            states: 10,
            unique_states: 10,
            depth: 3,
            seconds: 0.1,
            states_per_second: 100.0,
            unique_states_per_second: 100.0,
            complete: true,
            budget_exhausted: None,
            states_left: 0,
            findings: Vec::new(),
            notes: Vec::new(),
        };
        not_judged(&mut report, &search, "second");
        assert!(!report.complete);
        let why = report.budget_exhausted.as_deref().unwrap();
        assert!(
            why.starts_with("memory budget (") && why.ends_with(", --memory-max)"),
            "{why}"
        );
        assert!(report.notes[0].starts_with("order dependence suspected"));
    }

    /// A written scenario that does not load is an error, never a replay that passed.
    #[test]
    fn a_replay_of_a_file_that_does_not_load_is_an_error() {
        let path = std::env::temp_dir().join(format!("ripple-replay-{}.toml", std::process::id()));
        std::fs::write(
            &path,
            "[scenario]\nname = \"x\"\n[[fault]]\nkind = \"drop\"\n",
        )
        .unwrap();
        let got = replay_fails_while(&path, &mut || true);
        std::fs::remove_file(&path).unwrap();
        assert!(got.is_err(), "{got:?}");
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/race.toml");
        assert_eq!(replay_fails_while(&shipped, &mut || true), Ok(Some(true)));
    }

    /// `Search::Dfs` against its reference, `Search::DfsSymmetric`: on every shipped
    /// scenario whose cascade mints no ids, with and without the reduction, the same states
    /// in the same order (same counts, same depth, same discoveries by the same paths).
    #[test]
    fn dfs_without_symmetry_searches_as_with_it_when_nothing_is_minted() {
        let mut compared = 0;
        for name in crate::model::SHIPPED_SCENARIOS {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"));
            let scenario = Arc::new(crate::scenario::load_scenario(&path).expect("shipped"));
            for reduce in [true, false] {
                let config = ModelConfig {
                    reduce,
                    ..ModelConfig::default()
                };
                let Ok(model) = CascadeModel::new(scenario.clone(), config) else {
                    continue;
                };
                if model.mints() {
                    assert_eq!(name, "pipeline", "only the pipeline creates entities");
                    continue;
                }
                let with = model
                    .checker()
                    .target_state_count(60_000)
                    .symmetry()
                    .spawn_dfs()
                    .join();
                let model = CascadeModel::new(scenario.clone(), config).expect("built once");
                let without = model
                    .checker()
                    .target_state_count(60_000)
                    .spawn_dfs()
                    .join();
                assert_eq!(with.state_count(), without.state_count(), "{name}");
                assert_eq!(
                    with.unique_state_count(),
                    without.unique_state_count(),
                    "{name}"
                );
                assert_eq!(with.max_depth(), without.max_depth(), "{name}");
                let paths = |c: &dyn Checker<CascadeModel>| {
                    let mut found: Vec<(&'static str, Vec<Option<Step>>)> = c
                        .discoveries()
                        .into_iter()
                        .map(|(k, p)| (k, p.into_vec().into_iter().map(|(_, a)| a).collect()))
                        .collect();
                    found.sort_by_key(|(k, _)| *k);
                    found
                };
                assert_eq!(paths(&with), paths(&without), "{name}");
                compared += 1;
            }
        }
        assert!(compared >= 10, "{compared} models compared");
    }
}

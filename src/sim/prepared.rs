//! What every run of one scenario starts from, built once.

use crate::bus::{commit_subject_into, sanitize_token_into, Bus};
use crate::check::{Builtins, NameMemo};
use crate::core::Seed;
use crate::core::{TenantId, Value};
use crate::engine::reflex::{HandlerIndex, ReflexHandler, ReflexRegistry};
use crate::engine::{Engine, RuleSet};
use crate::scenario::{Input, ReflexKind, RootEvent, Scenario};
use crate::sim::{instantiate_reflex, Library, Retain, RunOptions, RunOutcome, Sim};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What every run of one scenario starts from, built once: the engine's specs, rules and
/// plan, and the built-in invariants' tables. A sweep (or a bench) prepares its scenario
/// once and starts each seed's run from here, sharing what never changes from run to run
/// instead of rebuilding it per seed. A run started here is the run [`run_scenario_retaining`]
/// makes: the same trace, byte for byte.
///
/// An example is the test `a_prepared_run_is_the_run_from_scratch` below.
pub struct Prepared<'s> {
    pub(super) scenario: &'s Scenario,
    /// Never run: each run starts from [`Engine::fresh`].
    pub(super) engine: Engine,
    /// Never run: each run starts from a clone.
    pub(super) invariants: Builtins,
    /// Every reflex's subscription, in the order the registries make them.
    pub(super) bus: Arc<Bus>,
    pub(super) commit_subjects: Arc<CommitSubjects>,
    /// SubId -> the tenant and handler that subscribed with it.
    pub(super) subscribers: Arc<Vec<(TenantId, HandlerIndex)>>,
    /// SubId -> that handler's id.
    pub(super) handlers: Arc<Vec<String>>,
    /// The payload of each scripted root publication (by event index), built once.
    pub(super) root_payloads: Arc<Vec<Option<Arc<Value>>>>,
    /// One handler per reflex of the scenario (templates compiled, patterns parsed), never
    /// run: each run registers fresh copies of them.
    pub(super) prototypes: Vec<Box<dyn ReflexHandler>>,
    /// The runner's library handlers and invariants (none for a run from scratch).
    pub(super) library: Library,
}

/// For every declared entity type and action, what its commits' subjects
/// (`entity.<Type>.<Action>.<id>`) start with, and whether some subscription may hear one
/// of them, whatever the id. Only commits of declared actions happen; a pair not in the
/// table is built and routed as usual.
pub(super) struct CommitSubjects {
    /// (type, action) -> (may be heard, index of its prefix).
    pub(super) table: NameMemo<(bool, usize)>,
    /// `entity.<Type>.<Action>.`, as [`commit_subject_into`] writes it.
    pub(super) prefixes: Vec<String>,
}

impl CommitSubjects {
    pub(super) fn new(scenario: &Scenario, bus: &Bus) -> CommitSubjects {
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
    pub(super) fn write(
        &self,
        entity_type: &str,
        action: &str,
        id: &str,
        out: &mut String,
    ) -> bool {
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

/// Each tenant's rule set for temper's runtime engine (see `rule_sets`).
pub(crate) fn runtime_rule_sets(
    scenario: &Scenario,
) -> Result<BTreeMap<TenantId, RuleSet>, String> {
    sets_of(&scenario.runtime_rules)
}

/// Each tenant's rule set, in scenario order (the simulator and the model checker build
/// them alike).
pub(crate) fn rule_sets(scenario: &Scenario) -> Result<BTreeMap<TenantId, RuleSet>, String> {
    sets_of(&scenario.rules)
}

fn sets_of(
    lists: &BTreeMap<TenantId, Vec<Arc<crate::engine::Rule>>>,
) -> Result<BTreeMap<TenantId, RuleSet>, String> {
    let mut rules = BTreeMap::new();
    for (tenant, list) in lists {
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
                .unwrap_or_else(|| instantiate_reflex(spec));
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
        Prepared::build(scenario, true, &Library::default())
    }

    /// [`Prepared::new`] with the library handlers and invariants of a runner.
    pub fn with_library(scenario: &'s Scenario, library: &Library) -> Prepared<'s> {
        Prepared::build(scenario, true, library)
    }

    /// [`Prepared::new`] for `runs` runs: for one, the scripted payloads are not built up
    /// front (the run builds each as it goes, as a run from scratch does).
    pub fn for_runs(scenario: &'s Scenario, runs: u64) -> Prepared<'s> {
        Prepared::build(scenario, runs > 1, &Library::default())
    }

    /// With `share_payloads`, the scripted publications' payloads are built once here for
    /// every run to share; without (a single run), each run builds its own as it goes, so
    /// that one run does not hold them all at once.
    pub(super) fn build(
        scenario: &'s Scenario,
        share_payloads: bool,
        library: &Library,
    ) -> Prepared<'s> {
        let rules = rule_sets(scenario).expect("the loader enforces the rule budget");
        let prototypes: Vec<_> = scenario
            .reflexes
            .iter()
            .map(|r| match r.kind {
                ReflexKind::Library { .. } => {
                    library.handler(&r.id).unwrap_or_else(|| r.instantiate())
                }
                _ => r.instantiate(),
            })
            .collect();
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
        let mut engine = Engine::with_runtime_rules(
            scenario.entities.clone(),
            rules,
            runtime_rule_sets(scenario).expect("the loader enforces the rule budget"),
            scenario.depth_max,
        );
        if scenario.names_created_entities() {
            engine.track_created();
        }
        Prepared {
            scenario,
            engine,
            invariants: Builtins::new(scenario),
            commit_subjects: Arc::new(CommitSubjects::new(scenario, &bus)),
            bus: Arc::new(bus),
            subscribers: Arc::new(subscribers),
            handlers: Arc::new(handlers),
            root_payloads: Arc::new(root_payloads),
            prototypes,
            library: library.clone(),
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

#[cfg(test)]
mod tests {
    /// The example of this module's documentation.
    #[test]
    fn a_prepared_run_is_the_run_from_scratch() {
        use crate::core::Seed;
        use crate::scenario::load_scenario;
        use crate::sim::{run_scenario_retaining, Prepared, Retain, RunOptions};
        use std::path::Path;

        let scenario = load_scenario(Path::new("scenarios/race.toml")).unwrap();
        let prepared = Prepared::new(&scenario);
        let options = RunOptions {
            keep_trace: false,
            swarm: true,
        };
        let failing: Vec<u64> = (0..200)
            .filter(|&seed| !prepared.run(Seed(seed), options, Retain::Summary).passed())
            .collect();
        assert!(
            !failing.is_empty(),
            "swarm faults make the race show on some seeds"
        );
        // Any seed replays the same from scratch.
        let seed = Seed(failing[0]);
        assert_eq!(
            prepared.run(seed, options, Retain::Summary).trace_hash,
            run_scenario_retaining(&scenario, seed, options, Retain::Summary).trace_hash,
        );
    }
}

//! Loading a scenario file: parse (serde, unknown keys rejected), then validate every
//! reference before anything runs. Every error names the file, line and column, says what
//! is wrong, and hints at the fix.

mod entity;
mod event;
mod expect;
mod faults;
mod generator;
mod invariant;
mod reaction;
mod reflex;
mod tenant;

use crate::core::TenantId;
use crate::core::{parse_duration_ms, SimTime};
use crate::engine::{Rule, RuleSet};
use crate::scenario::rules::rule_label_at;
use crate::scenario::temper::{
    check_runtime_rule, load_specs, parse_runtime_rules, pinned_answers, server_rule_on_spec,
    AnswerDef, IntegrationSettingDef, RuntimeRuleCheck, Source,
};
use crate::scenario::SourceError;
use crate::scenario::{parse_rules_file_located, RuleDef};
use crate::scenario::{
    Scenario, CASCADE_DISPATCHES_MAX_DEFAULT, DEPTH_MAX_LIMIT, MEMORY_MAX_DEFAULT,
    MESSAGES_MAX_DEFAULT, STEPS_MAX_DEFAULT, UNTIL_DEFAULT_MS,
};
use entity::EntityDef;
use event::EventDef;
use expect::ExpectDef;
use faults::{FaultDef, FaultsDef, ScheduleNames};
use generator::GeneratorDef;
use invariant::InvariantDef;
use reflex::ReflexDef;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tenant::{RuleFileDef, RuleFileTableDef, TenantDef};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFileDef {
    scenario: MetaDef,
    #[serde(default)]
    tenant: Vec<TenantDef>,
    #[serde(default)]
    reaction: Vec<RuleDef>,
    #[serde(default)]
    entity: Vec<EntityDef>,
    #[serde(default)]
    reflex: Vec<ReflexDef>,
    #[serde(default)]
    event: Vec<EventDef>,
    #[serde(default)]
    expect: Vec<ExpectDef>,
    faults: Option<Spanned<FaultsDef>>,
    #[serde(default)]
    invariant: Vec<InvariantDef>,
    #[serde(default)]
    generator: Vec<GeneratorDef>,
    #[serde(default)]
    fault: Vec<FaultDef>,
    /// Answer weights and delays of the specs' integrations.
    #[serde(default)]
    integration: Vec<IntegrationSettingDef>,
    #[serde(default)]
    answer: Vec<AnswerDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetaDef {
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    max_depth: Option<Spanned<i64>>,
    until: Option<Spanned<String>>,
    #[serde(default)]
    allow_truncation: bool,
    steps_max: Option<Spanned<i64>>,
    cascade_dispatches_max: Option<Spanned<i64>>,
    messages_max: Option<Spanned<i64>>,
    memory_max: Option<Spanned<String>>,
    order: Option<Spanned<String>>,
}

/// Reads and validates a scenario file.
pub fn load_scenario(path: &Path) -> Result<Scenario, SourceError> {
    let text = crate::core::read_input(path).map_err(|e| {
        SourceError::file(path, format!("failed to read the scenario: {e}"))
            .with_hint("check the path; scenarios usually live in scenarios/")
    })?;
    parse_scenario(&text, path)
}

/// Parses and validates scenario text; `path` names it in errors and anchors relative rule
/// files.
pub fn parse_scenario(text: &str, path: &Path) -> Result<Scenario, SourceError> {
    let def: ScenarioFileDef = toml::from_str(text).map_err(|e| {
        let mut err = SourceError::from_toml(path, text, &e);
        if let Some(rule) = e.span().and_then(|s| rule_label_at(text, s.start)) {
            err.message = format!("{rule}: {}", err.message);
        }
        err
    })?;
    Loader { path, text }.build(def)
}

struct Loader<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Loader<'_> {
    fn err(&self, offset: usize, message: impl Into<String>) -> SourceError {
        SourceError::at(self.path, self.text, offset, message)
    }

    /// A positive budget of `[scenario]`, or `default` when it is not given.
    fn positive(
        &self,
        value: &Option<Spanned<i64>>,
        key: &str,
        default: u64,
    ) -> Result<u64, SourceError> {
        match value {
            None => Ok(default),
            Some(v) if *v.get_ref() > 0 => Ok(*v.get_ref() as u64),
            Some(v) => Err(self
                .err(v.span().start, format!("{key} must be positive"))
                .with_hint(format!("the default is {default}"))),
        }
    }

    fn build(&self, def: ScenarioFileDef) -> Result<Scenario, SourceError> {
        let meta = def.scenario;
        if meta.name.get_ref().trim().is_empty() {
            return Err(self
                .err(meta.name.span().start, "scenario.name is empty")
                .with_hint("name the scenario; reports and corpus files use the name"));
        }
        let depth_max = match &meta.max_depth {
            None => crate::core::MAX_REACTION_DEPTH,
            Some(d) => {
                let v = *d.get_ref();
                if !(1..=DEPTH_MAX_LIMIT as i64).contains(&v) {
                    return Err(self
                        .err(d.span().start, format!("max_depth = {v} is out of range"))
                        .with_hint(format!(
                            "use 1..={DEPTH_MAX_LIMIT}; the engine's default is 8"
                        )));
                }
                v as u32
            }
        };
        let until = match &meta.until {
            None => SimTime(UNTIL_DEFAULT_MS),
            Some(u) => SimTime(self.duration(u)?),
        };
        let steps_max = match &meta.steps_max {
            None => STEPS_MAX_DEFAULT,
            Some(s) if *s.get_ref() > 0 => *s.get_ref() as u64,
            Some(s) => {
                return Err(self
                    .err(s.span().start, "steps_max must be positive")
                    .with_hint(format!("the default is {STEPS_MAX_DEFAULT}")))
            }
        };
        let cascade_dispatches_max = self.positive(
            &meta.cascade_dispatches_max,
            "cascade_dispatches_max",
            CASCADE_DISPATCHES_MAX_DEFAULT,
        )?;
        let messages_max =
            self.positive(&meta.messages_max, "messages_max", MESSAGES_MAX_DEFAULT)?;
        let memory_max = match &meta.memory_max {
            None => MEMORY_MAX_DEFAULT,
            Some(m) => crate::core::parse_size(m.get_ref()).map_err(|why| {
                self.err(m.span().start, format!("scenario.memory_max: {why}"))
                    .with_hint(format!(
                        "a size with a binary unit, e.g. memory_max = \"2GiB\"; the default is {}",
                        crate::core::write_size(MEMORY_MAX_DEFAULT)
                    ))
            })?,
        };

        let file_order = match &meta.order {
            None => false,
            Some(o) => match o.get_ref().as_str() {
                "seeded" => false,
                "file" => true,
                other => {
                    return Err(self
                        .err(o.span().start, format!("scenario.order {other:?} is not an order"))
                        .with_hint("use \"seeded\" (concurrent inputs in an order drawn from the seed, the default) or \"file\""))
                }
            },
        };

        // Tenants.
        let mut tenants: Vec<TenantId> = Vec::new();
        for t in &def.tenant {
            let id = t.id.get_ref();
            if id.trim().is_empty() {
                return Err(self
                    .err(t.id.span().start, "tenant id is empty")
                    .with_hint("give the tenant an id, e.g. id = \"shop\""));
            }
            if tenants.iter().any(|x| x.0 == *id) {
                return Err(self
                    .err(
                        t.id.span().start,
                        format!("tenant {id:?} is declared twice"),
                    )
                    .with_hint("merge the two [[tenant]] entries"));
            }
            tenants.push(TenantId::new(id.clone()));
        }

        let mut entities = self.entities(&def.entity)?;
        // Temper specs add entity types shared by every tenant (see `scenario/temper/app.rs`).
        let spec_globs: Vec<(TenantId, Vec<Spanned<String>>)> = def
            .tenant
            .iter()
            .map(|t| (TenantId::new(t.id.get_ref().clone()), t.specs.clone()))
            .collect();
        let declared = entities.keys().cloned().collect();
        let source = Source {
            path: self.path,
            text: self.text,
        };
        let loaded = load_specs(&source, &spec_globs, def.integration, &declared)?;
        entities.extend(loaded.entities.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut warnings = loaded.warnings.clone();
        let mut runtime_rules: BTreeMap<TenantId, Vec<Arc<Rule>>> = BTreeMap::new();
        let mut temper_files = loaded.files.clone();

        // Rules: per tenant, its files, its inline rules, then the top-level rules.
        let top_level = self.inline_rules(def.reaction)?;
        let mut rules: BTreeMap<TenantId, Vec<Arc<Rule>>> = BTreeMap::new();
        let mut rule_files: BTreeMap<String, (PathBuf, usize)> = BTreeMap::new();
        for t in def.tenant {
            let tenant = TenantId::new(t.id.get_ref().clone());
            let mut list: Vec<(Arc<Rule>, PathBuf, usize)> = Vec::new();
            let mut runtime: Vec<(Arc<Rule>, PathBuf, usize)> = Vec::new();
            for file in &t.reactions {
                let (rel, is_runtime) = match file.get_ref() {
                    RuleFileDef::Path(p) => (Path::new(p.as_str()), false),
                    RuleFileDef::Table(RuleFileTableDef { path, engine }) => {
                        match engine.as_deref() {
                            None | Some("server") => (Path::new(path.as_str()), false),
                            Some("runtime") => (Path::new(path.as_str()), true),
                            Some(other) => {
                                return Err(self
                                    .err(file.span().start, format!("rule file {path:?}: unknown engine {other:?}"))
                                    .with_hint("use \"server\" (temper's server dispatcher, the default) or \"runtime\" (temper's runtime engine, PascalCase resolvers)"))
                            }
                        }
                    }
                };
                let full = self.path.parent().unwrap_or(Path::new(".")).join(rel);
                let rule_text = crate::core::read_input(&full).map_err(|e| {
                    self.err(
                        file.span().start,
                        format!("failed to read rule file {}: {e}", full.display()),
                    )
                    .with_hint("rule file paths are relative to the scenario file")
                })?;
                if is_runtime {
                    for (rule, offset) in parse_runtime_rules(&rule_text, &full)? {
                        match check_runtime_rule(
                            &rule, &entities, &loaded, &full, &rule_text, offset,
                        )? {
                            RuntimeRuleCheck::Keep(warning) => {
                                warnings.extend(warning);
                                runtime.push((Arc::new(rule), full.clone(), offset));
                            }
                            RuntimeRuleCheck::Wiring(warning) => warnings.push(warning),
                        }
                    }
                    let files = temper_files.entry(tenant.clone()).or_default();
                    if !files.runtime_rules.contains(&full) {
                        files.runtime_rules.push(full);
                    }
                    continue;
                }
                for (rule, offset) in parse_rules_file_located(&rule_text, &full)? {
                    server_rule_on_spec(&rule, &loaded, &full, &rule_text, offset)?;
                    self.check_rule(&rule, &entities, &full, &rule_text, offset)?;
                    list.push((Arc::new(rule), full.clone(), offset));
                }
            }
            for (rule, offset) in self.inline_rules(t.reaction)? {
                self.check_rule(&rule, &entities, self.path, self.text, offset)?;
                list.push((Arc::new(rule), self.path.to_path_buf(), offset));
            }
            for (rule, offset) in &top_level {
                self.check_rule(rule, &entities, self.path, self.text, *offset)?;
                list.push((Arc::new(rule.clone()), self.path.to_path_buf(), *offset));
            }
            let mut set = RuleSet::default();
            let mut names = BTreeSet::new();
            // Errors point into the file that holds the rule; another file's text is read
            // again only to place an error, never on the way to a scenario that loads.
            let at = |file: &Path, offset: usize, message: String| {
                if file == self.path {
                    SourceError::at(file, self.text, offset, message)
                } else {
                    let text = crate::core::read_input(file).unwrap_or_default();
                    SourceError::at(file, &text, offset, message)
                }
            };
            let twice = |rule: &Rule, file: &Path, offset: usize| {
                at(
                    file,
                    offset,
                    format!(
                        "rule {:?} is registered twice for tenant {tenant}",
                        rule.name
                    ),
                )
                .with_hint("rule names identify reactions in traces and reports: rename one")
            };
            for (rule, file, offset) in &list {
                if !names.insert(rule.name.clone()) {
                    return Err(twice(rule, file, *offset));
                }
                set.add(rule.clone()).map_err(|e| {
                    at(file, *offset, format!("tenant {tenant}: {e}"))
                        .with_hint("a tenant holds at most 256 rules: split them over tenants")
                })?;
            }
            let mut runtime_set = RuleSet::default();
            for (rule, file, offset) in &runtime {
                if !names.insert(rule.name.clone()) {
                    return Err(twice(rule, file, *offset));
                }
                runtime_set.add(rule.clone()).map_err(|e| {
                    at(file, *offset, format!("tenant {tenant}: {e}"))
                        .with_hint("a tenant holds at most 256 rules: split them over tenants")
                })?;
            }
            if !runtime.is_empty() {
                runtime_rules.insert(
                    tenant.clone(),
                    runtime.into_iter().map(|(r, _, _)| r).collect(),
                );
            }
            for (r, file, offset) in &list {
                if file != self.path {
                    rule_files
                        .entry(r.name.clone())
                        .or_insert_with(|| (file.clone(), *offset));
                }
            }
            rules.insert(tenant, list.into_iter().map(|(r, _, _)| r).collect());
        }
        if tenants.is_empty() && !top_level.is_empty() {
            return Err(self
                .err(top_level[0].1, "rules are declared but no [[tenant]] is")
                .with_hint(
                    "add a [[tenant]] with an id; top-level rules are registered for every tenant",
                ));
        }

        let reflexes = self.reflexes(def.reflex, &tenants, &entities)?;
        let events = self.events(def.event, &tenants, &entities, &rules)?;
        let expects = self.expects(def.expect, &tenants, &entities)?;
        if let (Some(f), Some(first)) = (&def.faults, def.fault.first()) {
            let _ = f;
            return Err(self
                .err(first.kind.span().start, "a scenario has either [faults] (random, drawn from the seed) or [[fault]] entries (an explicit schedule), not both")
                .with_hint("remove [faults] to replay this exact schedule, or remove the [[fault]] entries"));
        }
        let faults = match def.faults {
            None => None,
            Some(f) => Some(self.faults(f)?),
        };
        let schedule = if def.fault.is_empty() {
            None
        } else {
            let names = ScheduleNames {
                rules: rules
                    .values()
                    .chain(runtime_rules.values())
                    .flatten()
                    .map(|r| r.name.clone())
                    // An integration's answer is a reaction message too, named by the
                    // answer's rule (`integration:invoke_llm/Answered`).
                    .chain(
                        loaded
                            .integrations
                            .iter()
                            .flat_map(|i| i.answers.iter().map(|a| a.rule.name.clone())),
                    )
                    .collect(),
                handlers: reflexes.iter().map(|r| r.id.clone()).collect(),
            };
            Some(self.schedule(def.fault, &names, &entities)?)
        };
        let invariants = self.invariants(def.invariant, &tenants, &entities)?;
        let generators = self.generators(def.generator, &tenants, &entities)?;
        let answers = pinned_answers(&source, def.answer, &loaded)?;

        Ok(Scenario {
            name: meta.name.into_inner(),
            description: meta.description,
            path: self.path.to_path_buf(),
            depth_max,
            until,
            allow_truncation: meta.allow_truncation,
            steps_max,
            cascade_dispatches_max,
            messages_max,
            memory_max,
            file_order,
            tenants,
            rules,
            entities,
            reflexes,
            events,
            expects,
            faults,
            schedule,
            invariants,
            generators,
            runtime_rules,
            temper_files,
            rule_files,
            spec_types: loaded.specs.keys().cloned().collect(),
            spec_invariants: loaded.invariants,
            integrations: loaded.integrations,
            integration_settings: loaded.settings,
            warnings,
            answers,
        })
    }

    fn duration(&self, s: &Spanned<String>) -> Result<u64, SourceError> {
        parse_duration_ms(s.get_ref()).map_err(|e| {
            self.err(s.span().start, e)
                .with_hint("write a number and a unit: \"250ms\", \"30s\", \"10m\", \"1h\"")
        })
    }

    fn tenant(&self, s: &Spanned<String>, tenants: &[TenantId]) -> Result<TenantId, SourceError> {
        if tenants.iter().any(|t| t.0 == *s.get_ref()) {
            Ok(TenantId::new(s.get_ref().clone()))
        } else {
            Err(self
                .err(
                    s.span().start,
                    format!("tenant {:?} is not declared", s.get_ref()),
                )
                .with_hint(format!(
                    "declare it with [[tenant]] id = {:?}{}",
                    s.get_ref(),
                    known("declared tenants", tenants.iter().map(|t| t.as_str()))
                )))
        }
    }
}

/// The byte offset of the `chars`-th character of `text`.
fn byte_offset_of_char(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map(|(i, _)| i)
        .unwrap_or(text.len())
}

fn known<'a>(what: &str, items: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = items.collect();
    if list.is_empty() {
        String::new()
    } else {
        format!(" ({what}: {})", list.join(", "))
    }
}

fn known_or<'a>(what: &str, items: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = items.collect();
    if list.is_empty() {
        format!("there are no {what}")
    } else {
        format!("use one of the {what}: {}", list.join(", "))
    }
}

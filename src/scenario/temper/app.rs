//! A temper app inside a scenario: the specs each tenant loads, the scenario's settings for
//! their integrations (answer weights and delays), and the checks that tie runtime-engine
//! rules to what the specs produce. The scenario loader calls this; the result lands in the
//! [`Scenario`](crate::scenario::Scenario).
//!
//! Entity types are shared by tenants (as `[[entity]]` types are): a spec listed by several
//! tenants is loaded once; two different specs of one type are an error.

use crate::core::{parse_duration_ms, TenantId};
use crate::engine::{EntitySpec, Integration, Rule, INTEGRATION_RULE_PREFIX};
use crate::scenario::temper::{
    attach_integrations, expand_glob, load_spec, SpecInvariant, TemperSpec,
};
use crate::scenario::{line_column, PinnedAnswer, SourceError};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

/// The default delay of an integration's answer, when the scenario gives none.
pub const INTEGRATION_DELAY_MS_MIN_DEFAULT: u64 = 10;
pub const INTEGRATION_DELAY_MS_MAX_DEFAULT: u64 = 1000;
/// The largest answer weight.
pub const ANSWER_WEIGHT_MAX: i64 = 1_000_000;

/// A scenario's `[[integration]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrationSettingDef {
    pub name: Spanned<String>,
    /// Needed only when two specs declare an integration of this name.
    pub entity_type: Option<Spanned<String>>,
    /// Answer -> weight; an answer left out keeps weight 1.
    pub answers: Option<Spanned<BTreeMap<String, Spanned<i64>>>>,
    pub delay: Option<Spanned<DelayRangeDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayRangeDef {
    pub min: Spanned<String>,
    pub max: Spanned<String>,
}

/// A `[[integration]]` setting, validated (kept to write the scenario back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationSetting {
    pub entity_type: String,
    pub name: String,
    pub answers: BTreeMap<String, u32>,
    pub delay_ms: Option<(u64, u64)>,
}

/// The temper files of one tenant, resolved against the scenario's folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemperFiles {
    pub specs: Vec<PathBuf>,
    pub runtime_rules: Vec<PathBuf>,
}

/// What the specs of a scenario add to it.
#[derive(Debug, Default)]
pub struct LoadedSpecs {
    pub entities: BTreeMap<String, EntitySpec>,
    /// The loaded spec of each type (emits, triggers, integrations), for checking rules.
    pub specs: BTreeMap<String, TemperSpec>,
    pub files: BTreeMap<TenantId, TemperFiles>,
    pub invariants: Vec<SpecInvariant>,
    pub integrations: Vec<Arc<Integration>>,
    pub settings: Vec<IntegrationSetting>,
    pub warnings: Vec<String>,
}

/// Where the scenario file is, for errors in it.
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    fn err(&self, offset: usize, message: impl Into<String>) -> SourceError {
        SourceError::at(self.path, self.text, offset, message)
    }

    fn duration(&self, s: &Spanned<String>) -> Result<u64, SourceError> {
        parse_duration_ms(s.get_ref()).map_err(|e| {
            self.err(s.span().start, e)
                .with_hint("write a number and a unit: \"250ms\", \"30s\", \"10m\", \"1h\"")
        })
    }
}

/// Loads every tenant's `specs` (globs relative to the scenario) and applies the scenario's
/// `[[integration]]` settings. `declared`: the `[[entity]]` types, which a spec may not
/// redefine.
pub fn load_specs(
    src: &Source<'_>,
    tenants: &[(TenantId, Vec<Spanned<String>>)],
    settings: Vec<IntegrationSettingDef>,
    declared: &BTreeSet<String>,
) -> Result<LoadedSpecs, SourceError> {
    let base = src.path.parent().unwrap_or(Path::new("."));
    let mut out = LoadedSpecs::default();
    let mut by_file: BTreeMap<PathBuf, String> = BTreeMap::new();
    for (tenant, globs) in tenants {
        let files = out.files.entry(tenant.clone()).or_default();
        for glob in globs {
            let paths = expand_glob(base, glob.get_ref()).map_err(|m| {
                src.err(glob.span().start, format!("specs {:?} {m}", glob.get_ref()))
                    .with_hint("spec paths and globs are relative to the scenario file, e.g. \"specs/*.ioa.toml\"")
            })?;
            for path in paths {
                if !files.specs.contains(&path) {
                    files.specs.push(path.clone());
                }
                if by_file.contains_key(&path) {
                    continue;
                }
                let spec = load_spec(&path)?;
                let ty = spec.entity.type_name.clone();
                if declared.contains(&ty) {
                    return Err(src
                        .err(
                            glob.span().start,
                            format!(
                                "spec {} defines {ty}, which an [[entity]] declares too",
                                path.display()
                            ),
                        )
                        .with_hint("keep one definition: remove the [[entity]] or the spec"));
                }
                if let Some(other) = out.specs.get(&ty) {
                    return Err(src
                        .err(
                            glob.span().start,
                            format!(
                                "specs {} and {} both define {ty}",
                                other.path.display(),
                                path.display()
                            ),
                        )
                        .with_hint("entity types are shared by tenants; load one spec per type"));
                }
                by_file.insert(path, ty.clone());
                out.warnings.extend(spec.warnings.iter().cloned());
                out.specs.insert(ty, spec);
            }
        }
    }
    out.settings = settings_of(src, settings, &out.specs)?;
    for (ty, spec) in &out.specs {
        let mut built: BTreeMap<String, Arc<Integration>> = BTreeMap::new();
        for def in &spec.integrations {
            let setting = out
                .settings
                .iter()
                .find(|s| &s.entity_type == ty && s.name == def.name);
            let mut answers: Vec<(String, u32)> =
                def.answers.iter().map(|a| (a.clone(), 1)).collect();
            if let Some(s) = setting {
                for (a, w) in &s.answers {
                    match answers.iter_mut().find(|(x, _)| x == a) {
                        Some(slot) => slot.1 = *w,
                        None => answers.push((a.clone(), *w)),
                    }
                }
            }
            let (lo, hi) = setting.and_then(|s| s.delay_ms).unwrap_or((
                INTEGRATION_DELAY_MS_MIN_DEFAULT,
                INTEGRATION_DELAY_MS_MAX_DEFAULT,
            ));
            let integration = Arc::new(Integration::new(
                def.name.clone(),
                ty.clone(),
                &format!("{INTEGRATION_RULE_PREFIX}{}/", def.name),
                answers,
                lo,
                hi,
            ));
            out.integrations.push(integration.clone());
            built.insert(def.trigger.clone(), integration);
        }
        let mut entity = spec.entity.clone();
        attach_integrations(&mut entity, &built);
        out.entities.insert(ty.clone(), entity);
        out.invariants.extend(spec.invariants.iter().cloned());
    }
    Ok(out)
}

fn settings_of(
    src: &Source<'_>,
    defs: Vec<IntegrationSettingDef>,
    specs: &BTreeMap<String, TemperSpec>,
) -> Result<Vec<IntegrationSetting>, SourceError> {
    let mut out: Vec<IntegrationSetting> = Vec::new();
    for d in defs {
        let name = d.name.get_ref().clone();
        let at = d.name.span().start;
        let candidates: Vec<(&String, &TemperSpec)> = specs
            .iter()
            .filter(|(ty, s)| {
                s.integrations.iter().any(|i| i.name == name)
                    && d.entity_type.as_ref().is_none_or(|t| t.get_ref() == *ty)
            })
            .collect();
        let (ty, spec) = match candidates.as_slice() {
            [one] => *one,
            [] => {
                let known: Vec<String> = specs
                    .iter()
                    .flat_map(|(ty, s)| {
                        s.integrations
                            .iter()
                            .map(move |i| format!("{ty}.{}", i.name))
                    })
                    .collect();
                return Err(src
                    .err(at, format!("[[integration]] {name:?} is not an integration of a loaded spec"))
                    .with_hint(if known.is_empty() {
                        "no loaded spec declares an [[integration]]; load the specs with [[tenant]] specs = [...]".to_string()
                    } else {
                        format!("integrations: {}", known.join(", "))
                    }));
            }
            _ => {
                return Err(src
                    .err(
                        at,
                        format!("[[integration]] {name:?}: several specs declare it"),
                    )
                    .with_hint("say which with entity_type = \"...\""))
            }
        };
        if out.iter().any(|s| &s.entity_type == ty && s.name == name) {
            return Err(src
                .err(
                    at,
                    format!("[[integration]] {ty}.{name} is configured twice"),
                )
                .with_hint("merge the two [[integration]] tables"));
        }
        let def = spec
            .integrations
            .iter()
            .find(|i| i.name == name)
            .expect("filtered on it");
        let mut answers = BTreeMap::new();
        if let Some(a) = &d.answers {
            for (action, w) in a.get_ref() {
                let ok = if def.answers.is_empty() {
                    // It declares no answers: the scenario says how the outside world answers,
                    // with any action of the type.
                    spec.entity.actions.contains_key(action)
                } else {
                    def.answers.contains(action)
                };
                if !ok {
                    let choices = if def.answers.is_empty() {
                        spec.entity.actions.keys().cloned().collect::<Vec<_>>()
                    } else {
                        def.answers.clone()
                    };
                    return Err(src
                        .err(
                            a.span().start,
                            format!("[[integration]] {name}: {action:?} is not one of its answers"),
                        )
                        .with_hint(format!("answers: {}", choices.join(", "))));
                }
                let weight = *w.get_ref();
                if !(0..=ANSWER_WEIGHT_MAX).contains(&weight) {
                    return Err(src
                        .err(w.span().start, format!("[[integration]] {name}: weight {weight} of {action} is out of range"))
                        .with_hint(format!("use 0..={ANSWER_WEIGHT_MAX}; 0 means a run never picks it")));
                }
                answers.insert(action.clone(), weight as u32);
            }
        }
        let delay_ms = match &d.delay {
            None => None,
            Some(r) => {
                let (lo, hi) = (
                    src.duration(&r.get_ref().min)?,
                    src.duration(&r.get_ref().max)?,
                );
                if lo > hi {
                    return Err(src
                        .err(
                            r.span().start,
                            format!(
                                "[[integration]] {name}: delay min {lo} ms is above max {hi} ms"
                            ),
                        )
                        .with_hint("swap them"));
                }
                Some((lo, hi))
            }
        };
        out.push(IntegrationSetting {
            entity_type: ty.clone(),
            name,
            answers,
            delay_ms,
        });
    }
    Ok(out)
}

/// What a runtime-engine rule may key on for a type: its actions, the events its actions
/// emit and the integrations they trigger (temper's spec actors route all three).
pub fn runtime_keys(entity: &EntitySpec, spec: Option<&TemperSpec>) -> BTreeSet<String> {
    let mut keys: BTreeSet<String> = entity.actions.keys().cloned().collect();
    if let Some(s) = spec {
        keys.extend(s.emits.iter().cloned());
        keys.extend(s.triggers.iter().cloned());
    }
    keys
}

/// Whether `rule` is temper's wiring of a trigger to the actor that implements its
/// integration (`llm_invoke_trigger`: `Agent.invoke_llm` -> `LlmIntegration.invoke_llm`):
/// its source triggers an integration its spec declares, and its target type is not
/// declared anywhere. Ripple simulates that integration itself, so the rule is not needed.
pub fn wires_an_integration(
    rule: &Rule,
    specs: &BTreeMap<String, TemperSpec>,
    declared: &BTreeMap<String, EntitySpec>,
) -> bool {
    let Some(action) = &rule.when.action else {
        return false;
    };
    !declared.contains_key(&rule.then.entity_type)
        && specs
            .get(&rule.when.entity_type)
            .is_some_and(|s| s.integrations.iter().any(|i| &i.trigger == action))
}

/// One `[[answer]]` entry of a scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerDef {
    pub integration: Spanned<String>,
    pub target: Spanned<String>,
    pub nth: Option<Spanned<i64>>,
    pub answer: Spanned<String>,
    pub delay: Option<Spanned<String>>,
}

/// The `[[answer]]` entries, checked against the loaded integrations.
pub fn pinned_answers(
    src: &Source<'_>,
    defs: Vec<AnswerDef>,
    loaded: &LoadedSpecs,
) -> Result<Vec<PinnedAnswer>, SourceError> {
    let mut out = Vec::new();
    for d in defs {
        let name = d.integration.get_ref();
        let target = d.target.get_ref();
        let Some((ty, _)) = target
            .split_once('/')
            .filter(|(t, i)| !t.is_empty() && !i.is_empty())
        else {
            return Err(src
                .err(
                    d.target.span().start,
                    format!("[[answer]]: target {target:?} is not Type/id"),
                )
                .with_hint("e.g. target = \"Agent/a1\""));
        };
        let integration = loaded
            .integrations
            .iter()
            .find(|i| i.entity_type == ty && &i.name == name)
            .ok_or_else(|| {
                src.err(
                    d.integration.span().start,
                    format!("[[answer]]: {ty} has no integration {name:?}"),
                )
                .with_hint("name an [[integration]] of the type's spec")
            })?;
        let answer = d.answer.get_ref();
        if !integration.answers.iter().any(|a| &a.action == answer) {
            return Err(src
                .err(
                    d.answer.span().start,
                    format!("[[answer]]: {answer:?} is not an answer of {ty}.{name}"),
                )
                .with_hint(format!(
                    "answers: {}",
                    integration
                        .answers
                        .iter()
                        .map(|a| a.action.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
        }
        let nth = match &d.nth {
            None => 1,
            Some(n) if (1..=i64::from(u32::MAX)).contains(n.get_ref()) => *n.get_ref() as u32,
            Some(n) => {
                return Err(src
                    .err(
                        n.span().start,
                        format!("[[answer]]: nth = {} must be 1 or more", n.get_ref()),
                    )
                    .with_hint("nth counts the integration's calls from 1 (the first)"))
            }
        };
        let delay_ms = match &d.delay {
            Some(s) => Some(src.duration(s)?),
            None => None,
        };
        // A second pin of one call could never apply (a run takes the first).
        if out
            .iter()
            .any(|p: &PinnedAnswer| &p.integration == name && &p.target == target && p.nth == nth)
        {
            return Err(src
                .err(
                    d.integration.span().start,
                    format!("[[answer]]: call {nth} of {name} on {target} is pinned twice"),
                )
                .with_hint("keep one [[answer]] per call (integration, target, nth)"));
        }
        out.push(PinnedAnswer {
            integration: name.clone(),
            target: target.clone(),
            nth,
            answer: answer.clone(),
            delay_ms,
        });
    }
    Ok(out)
}

/// What becomes of a rule written for temper's runtime engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeRuleCheck {
    /// Registered, with a warning when it can never fire.
    Keep(Option<String>),
    /// Temper's wiring of a trigger to an integration actor: left out, with a warning.
    Wiring(String),
}

fn warning_at(file: &Path, text: &str, offset: usize, message: String) -> String {
    let (line, column) = line_column(text, offset);
    format!("{}:{line}:{column}: warning: {message}", file.display())
}

fn listed<'a>(what: &str, items: impl Iterator<Item = &'a str>) -> String {
    let list: Vec<&str> = items.collect();
    if list.is_empty() {
        format!("there are no {what}")
    } else {
        format!("{what}: {}", list.join(", "))
    }
}

/// A runtime-engine rule must name a declared source type and state and a declared target
/// action (a typo there fails every dispatch). It is kept, with a warning when it keys on a
/// name its source never produces (temper's engine routes by name and accepts that rule,
/// which never fires), or left out with a warning when it is temper's wiring of a trigger
/// to the actor implementing an integration that Ripple simulates itself.
pub fn check_runtime_rule(
    rule: &Rule,
    entities: &BTreeMap<String, EntitySpec>,
    loaded: &LoadedSpecs,
    file: &Path,
    text: &str,
    offset: usize,
) -> Result<RuntimeRuleCheck, SourceError> {
    let at = |msg: String, hint: String| {
        SourceError::at(file, text, offset, format!("rule {:?}: {msg}", rule.name)).with_hint(hint)
    };
    let declared = || listed("declared types", entities.keys().map(String::as_str));
    let source = entities.get(&rule.when.entity_type).ok_or_else(|| {
        at(
            format!(
                "when.entity_type {:?} is not a declared entity type",
                rule.when.entity_type
            ),
            format!(
                "load its spec with [[tenant]] specs = [...] ({})",
                declared()
            ),
        )
    })?;
    let mut never = None;
    if let Some(action) = &rule.when.action {
        let keys = runtime_keys(source, loaded.specs.get(&rule.when.entity_type));
        if !keys.contains(action) {
            never = Some(warning_at(
                file,
                text,
                offset,
                format!(
                    "rule {:?} keys on {action:?}, which is not an action, emitted event or trigger of {}: it never fires ({})",
                    rule.name,
                    source.type_name,
                    listed("names", keys.iter().map(String::as_str))
                ),
            ));
        }
    }
    if let Some(state) = &rule.when.to_state {
        if !source.states.contains(state) {
            return Err(at(
                format!(
                    "when.to_state {state:?} is not a state of {}",
                    source.type_name
                ),
                listed("states", source.states.iter().map(String::as_str)),
            ));
        }
    }
    if wires_an_integration(rule, &loaded.specs, entities) {
        return Ok(RuntimeRuleCheck::Wiring(warning_at(
            file,
            text,
            offset,
            format!(
                "rule {:?} hands {}.{} to {}, an actor that implements the integration; Ripple simulates that integration itself (see [[integration]]), so the rule is left out",
                rule.name,
                rule.when.entity_type,
                rule.when.action.as_deref().unwrap_or("*"),
                rule.then.entity_type
            ),
        )));
    }
    let target = entities.get(&rule.then.entity_type).ok_or_else(|| {
        at(
            format!(
                "then.entity_type {:?} is not a declared entity type",
                rule.then.entity_type
            ),
            format!(
                "load its spec with [[tenant]] specs = [...] ({})",
                declared()
            ),
        )
    })?;
    if !target.actions.contains_key(&rule.then.action) {
        return Err(at(
            format!(
                "then.action {:?} is not an action of {}",
                rule.then.action, target.type_name
            ),
            listed("actions", target.actions.keys().map(String::as_str)),
        ));
    }
    Ok(RuntimeRuleCheck::Keep(never))
}

/// A server-dispatcher rule keyed on what a temper spec emits or triggers never fires there
/// (that dispatcher keys on actions): say so, and how to fix it, before the generic check
/// reports an unknown action.
pub fn server_rule_on_spec(
    rule: &Rule,
    loaded: &LoadedSpecs,
    file: &Path,
    text: &str,
    offset: usize,
) -> Result<(), SourceError> {
    let (Some(action), Some(spec)) = (&rule.when.action, loaded.specs.get(&rule.when.entity_type))
    else {
        return Ok(());
    };
    if spec.entity.actions.contains_key(action) {
        return Ok(());
    }
    let (what, verb) = if spec.emits.contains(action) {
        ("an event", "emits")
    } else if spec.triggers.contains(action) {
        ("an integration", "triggers")
    } else {
        return Ok(());
    };
    Err(SourceError::at(
        file,
        text,
        offset,
        format!(
            "rule {:?}: when.action {action:?} is {what} {} {verb}, not an action; the server's dispatcher keys rules on actions, so this rule would never fire",
            rule.name, rule.when.entity_type
        ),
    )
    .with_hint("temper's runtime engine keys rules on emitted events and triggers: declare the file as reactions = [{ path = \"...\", engine = \"runtime\" }]"))
}

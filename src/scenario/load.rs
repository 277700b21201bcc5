//! Loading a scenario file: parse (serde, unknown keys rejected), then validate every
//! reference before anything runs. Every error names the file, line and column, says what
//! is wrong, and hints at the fix.

use crate::bus::Pattern;
use crate::core::Severity;
use crate::core::Subject;
use crate::core::{format_duration_ms, parse_duration_ms, SimTime};
use crate::core::{EntityId, Object, TenantId, Value};
use crate::core::{FaultKind, FaultTarget};
use crate::engine::reflex::{
    builtin_defaults, ExternalSpec, ReflexRegistry, ThenTemplate, BUDGET_MS_DEFAULT,
    WALL_MS_DEFAULT,
};
use crate::engine::{ActionSpec, Condition, Effect, EntitySpec, Fields, Rule, RuleSet};
use crate::scenario::rules::rule_label_at;
use crate::scenario::temper::{
    check_runtime_rule, load_specs, parse_runtime_rules, pinned_answers, server_rule_on_spec,
    AnswerDef, IntegrationSettingDef, RuntimeRuleCheck, Source,
};
use crate::scenario::{
    check_placeholders, meraki_webhook, snmp_poll, snmp_trap, CheckAt, Expect, Generator, Input,
    InvariantSpec, ReflexKind, ReflexSpec, RootEvent, Scenario, Spacing, Template, ValuePool,
    VendorInput, VendorKind, DEPTH_MAX_LIMIT, GENERATOR_COUNT_MAX, STEPS_MAX_DEFAULT,
    UNTIL_DEFAULT_MS,
};
use crate::scenario::{line_column, SourceError};
use crate::scenario::{parse_rules_file_located, validate_rule_defs, RuleDef};
use crate::scenario::{FaultConfig, ScheduledFault};
use crate::scenario::{InvariantKind, Predicate, UserInvariant};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
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

/// One `[[fault]]` entry of an explicit schedule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultDef {
    kind: Spanned<String>,
    rule: Option<String>,
    target: Option<String>,
    subject: Option<String>,
    handler: Option<String>,
    action: Option<String>,
    nth: Option<Spanned<i64>>,
    delay: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultsDef {
    delay: Option<Spanned<DelayDef>>,
    drop: Option<Spanned<f64>>,
    duplicate: Option<Spanned<f64>>,
    #[serde(default)]
    reorder: bool,
    handler_panic: Option<Spanned<f64>>,
    action_failure: Option<Spanned<f64>>,
    reflex_restart: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DelayDef {
    p: Spanned<f64>,
    max: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvariantDef {
    name: Spanned<String>,
    always: Option<Spanned<String>>,
    never: Option<Spanned<String>>,
    sometimes: Option<Spanned<String>>,
    at: Option<Spanned<String>>,
    tenant: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GeneratorDef {
    tenant: Spanned<String>,
    count: Spanned<i64>,
    start: Option<Spanned<String>>,
    every: Option<Spanned<String>>,
    jitter: Option<Spanned<String>>,
    rate: Option<Spanned<f64>>,
    subject: Option<Spanned<String>>,
    payload: Option<Value>,
    dispatch: Option<Spanned<DispatchDef>>,
    #[serde(default)]
    values: BTreeMap<String, Spanned<ValuePoolDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ValuePoolDef {
    List(Vec<Value>),
    Range { min: i64, max: i64 },
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
    order: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantDef {
    id: Spanned<String>,
    #[serde(default)]
    reactions: Vec<Spanned<RuleFileDef>>,
    #[serde(default)]
    reaction: Vec<RuleDef>,
    /// Temper specs (`*.ioa.toml`), globs relative to the scenario.
    #[serde(default)]
    specs: Vec<Spanned<String>>,
}

/// A rule file: a path (the server's dispatcher reads it), or a table that says which of
/// temper's engines reads it.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a rule file path, or a table { path = \"...\", engine = \"server\" | \"runtime\" }"
)]
enum RuleFileDef {
    Path(String),
    Table(RuleFileTableDef),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFileTableDef {
    path: String,
    #[serde(default)]
    engine: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntityDef {
    #[serde(rename = "type")]
    type_name: Spanned<String>,
    states: Spanned<Vec<String>>,
    initial: Spanned<String>,
    /// The fields a new instance starts with.
    #[serde(default)]
    fields: Fields,
    #[serde(default)]
    action: Vec<ActionDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionDef {
    name: Spanned<String>,
    from: Option<Spanned<Vec<String>>>,
    to: Option<Spanned<String>>,
    requires: Option<Spanned<String>>,
    #[serde(default)]
    effect: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReflexDef {
    id: Option<Spanned<String>>,
    builtin: Option<Spanned<String>>,
    tenant: Option<Spanned<String>>,
    pattern: Option<Spanned<String>>,
    severity: Option<Spanned<Severity>>,
    then: Option<Spanned<ThenTemplate>>,
    /// A builtin's dedup window, overriding netcortex's.
    dedup_window: Option<Spanned<String>>,
    /// A handler in any language: the program and its arguments.
    command: Option<Spanned<Vec<String>>>,
    /// Where the command runs, relative to the scenario file (default: its directory).
    dir: Option<Spanned<String>>,
    /// A process handler's virtual-time budget per delivery.
    timeout: Option<Spanned<String>>,
    /// A process handler's wall-clock guard per delivery.
    wall_timeout: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventDef {
    at: Spanned<String>,
    tenant: Spanned<String>,
    subject: Option<Spanned<String>>,
    payload: Option<Spanned<Value>>,
    dispatch: Option<Spanned<DispatchDef>>,
    /// `"meraki"`: `payload` is the webhook's body, published as netcortex's publisher would.
    webhook: Option<Spanned<String>>,
    /// `"poll"` or `"trap"`: `payload` is what the poller saw or the trap carried.
    snmp: Option<Spanned<String>>,
    /// With `snmp = "trap"`: the event class it reports (`link_down`, `bgp_drop`, ...).
    event_class: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DispatchDef {
    entity_type: String,
    id: String,
    action: String,
    #[serde(default = "empty_object")]
    params: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectDef {
    tenant: Spanned<String>,
    entity_type: Spanned<String>,
    id: Spanned<String>,
    status: Option<Spanned<String>>,
    #[serde(default)]
    fields: Fields,
    exists: Option<bool>,
}

fn empty_object() -> Value {
    Value::Object(Object::new())
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
                return Err(self.err(t.id.span().start, "tenant id is empty"));
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
                set.add(rule.clone())
                    .map_err(|e| at(file, *offset, format!("tenant {tenant}: {e}")))?;
            }
            let mut runtime_set = RuleSet::default();
            for (rule, file, offset) in &runtime {
                if !names.insert(rule.name.clone()) {
                    return Err(twice(rule, file, *offset));
                }
                runtime_set
                    .add(rule.clone())
                    .map_err(|e| at(file, *offset, format!("tenant {tenant}: {e}")))?;
            }
            if !runtime.is_empty() {
                runtime_rules.insert(
                    tenant.clone(),
                    runtime.into_iter().map(|(r, _, _)| r).collect(),
                );
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
        let events = self.events(def.event, &tenants, &entities)?;
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
            Some(self.schedule(def.fault)?)
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
            spec_types: loaded.specs.keys().cloned().collect(),
            spec_invariants: loaded.invariants,
            integrations: loaded.integrations,
            integration_settings: loaded.settings,
            warnings,
            answers,
        })
    }

    fn schedule(&self, defs: Vec<FaultDef>) -> Result<Vec<ScheduledFault>, SourceError> {
        let mut out = Vec::new();
        for (i, d) in defs.into_iter().enumerate() {
            let at = d.kind.span().start;
            let place = format!("[[fault]] #{}", i + 1);
            let kind = FaultKind::parse(d.kind.get_ref()).ok_or_else(|| {
                self.err(
                    at,
                    format!("{place}: unknown fault kind {:?}", d.kind.get_ref()),
                )
                .with_hint(
                    "use delay, drop, duplicate, action_failure, handler_panic or reflex_restart",
                )
            })?;
            let need = |v: &Option<String>, key: &str, example: &str| {
                v.clone().ok_or_else(|| {
                    self.err(
                        at,
                        format!("{place}: a {} fault needs `{key}`", kind.as_str()),
                    )
                    .with_hint(format!("e.g. {key} = {example:?}"))
                })
            };
            let on = match kind {
                FaultKind::Delay | FaultKind::Drop | FaultKind::Duplicate => {
                    if d.rule.is_some() {
                        FaultTarget::Reaction {
                            rule: need(&d.rule, "rule", "order_confirmed_authorizes_payment")?,
                            target: need(&d.target, "target", "Payment/o1")?,
                        }
                    } else if d.subject.is_some() || d.handler.is_some() {
                        FaultTarget::Delivery {
                            subject: need(
                                &d.subject,
                                "subject",
                                "sensory.link_down.snmp_trap.r1|Gi0/1",
                            )?,
                            handler: need(&d.handler, "handler", "link_down")?,
                        }
                    } else {
                        return Err(self
                            .err(at, format!("{place}: say which message: `rule` and `target` (a reaction), or `subject` and `handler` (a bus delivery)"))
                            .with_hint("rule = \"order_confirmed_authorizes_payment\", target = \"Payment/o1\""));
                    }
                }
                FaultKind::ActionFailure => FaultTarget::Action {
                    target: need(&d.target, "target", "Payment/o1")?,
                    action: need(&d.action, "action", "AuthorizePayment")?,
                },
                FaultKind::HandlerPanic | FaultKind::ReflexRestart => FaultTarget::Handler {
                    handler: need(&d.handler, "handler", "link_down")?,
                    subject: need(
                        &d.subject,
                        "subject",
                        "sensory.link_down.snmp_trap.r1|Gi0/1",
                    )?,
                },
            };
            let nth = match &d.nth {
                None => 1,
                Some(n) if (1..=u32::MAX as i64).contains(n.get_ref()) => *n.get_ref() as u32,
                Some(n) => {
                    return Err(self.err(
                        n.span().start,
                        format!("{place}: nth = {} must be 1 or more", n.get_ref()),
                    ))
                }
            };
            let delay_ms = match (&d.delay, kind) {
                (Some(s), FaultKind::Delay | FaultKind::Duplicate) => self.duration(s)?,
                (None, FaultKind::Delay) => {
                    return Err(self
                        .err(at, format!("{place}: a delay fault needs `delay`"))
                        .with_hint("e.g. delay = \"50ms\""))
                }
                (None, _) => 0,
                (Some(s), _) => {
                    return Err(self.err(
                        s.span().start,
                        format!("{place}: only delay and duplicate faults take `delay`"),
                    ))
                }
            };
            out.push(ScheduledFault {
                kind,
                on,
                nth,
                delay_ms,
            });
        }
        Ok(out)
    }

    fn probability(&self, p: &Option<Spanned<f64>>, key: &str) -> Result<f64, SourceError> {
        match p {
            None => Ok(0.0),
            Some(v) if (0.0..=1.0).contains(v.get_ref()) => Ok(*v.get_ref()),
            Some(v) => Err(self
                .err(
                    v.span().start,
                    format!("faults.{key} = {} is not a probability", v.get_ref()),
                )
                .with_hint("use a number from 0.0 (never) to 1.0 (always)")),
        }
    }

    fn faults(&self, f: Spanned<FaultsDef>) -> Result<FaultConfig, SourceError> {
        let f = f.into_inner();
        let (delay_p, delay_ms_max) = match &f.delay {
            None => (0.0, 0),
            Some(d) => {
                let d = d.get_ref();
                let p = self.probability(&Some(d.p.clone()), "delay.p")?;
                (p, self.duration(&d.max)?)
            }
        };
        if delay_p > 0.0 && delay_ms_max == 0 {
            return Err(self
                .err(
                    f.delay.as_ref().map(|d| d.span().start).unwrap_or(0),
                    "faults.delay.max is 0, so nothing can be delayed",
                )
                .with_hint("give the longest delay, e.g. max = \"50ms\""));
        }
        Ok(FaultConfig {
            delay_p,
            delay_ms_max,
            drop_p: self.probability(&f.drop, "drop")?,
            duplicate_p: self.probability(&f.duplicate, "duplicate")?,
            reorder: f.reorder,
            handler_panic_p: self.probability(&f.handler_panic, "handler_panic")?,
            action_failure_p: self.probability(&f.action_failure, "action_failure")?,
            reflex_restart_p: self.probability(&f.reflex_restart, "reflex_restart")?,
        })
    }

    fn invariants(
        &self,
        defs: Vec<InvariantDef>,
        tenants: &[TenantId],
        entities: &BTreeMap<String, EntitySpec>,
    ) -> Result<Vec<InvariantSpec>, SourceError> {
        let mut out: Vec<InvariantSpec> = Vec::new();
        for d in defs {
            let name = d.name.get_ref().clone();
            if name.trim().is_empty() {
                return Err(self.err(d.name.span().start, "invariant name is empty"));
            }
            if out.iter().any(|x| x.invariant.name == name) {
                return Err(self.err(
                    d.name.span().start,
                    format!("invariant {name:?} is declared twice"),
                ));
            }
            let (kind, expr) = match (d.always, d.never, d.sometimes) {
                (Some(a), None, None) => (InvariantKind::Always, a),
                (None, Some(n), None) => (InvariantKind::Never, n),
                (None, None, Some(s)) => (InvariantKind::Sometimes, s),
                _ => {
                    return Err(self
                        .err(d.name.span().start, format!("invariant {name:?} needs exactly one of `always`, `never` or `sometimes`"))
                        .with_hint("e.g. never = \"Order[id].status == 'Cancelled' && Payment[id].status == 'Authorized'\""))
                }
            };
            // The expression is a TOML string: point into it (after the opening quote).
            let predicate = Predicate::parse(expr.get_ref()).map_err(|e| {
                let mut err = self.err(
                    expr.span().start
                        + 1
                        + byte_offset_of_char(expr.get_ref(), e.column.saturating_sub(1)),
                    format!("invariant {name:?}: {}", e.message),
                );
                err.hint = e.hint.clone();
                err
            })?;
            for ty in predicate.entity_types() {
                if !entities.contains_key(&ty) {
                    return Err(self
                        .err(
                            expr.span().start,
                            format!("invariant {name:?}: entity type {ty:?} is not declared"),
                        )
                        .with_hint(known_or(
                            "declared types",
                            entities.keys().map(String::as_str),
                        )));
                }
            }
            let at = match &d.at {
                None => CheckAt::Step,
                Some(a) => match a.get_ref().as_str() {
                    "step" => CheckAt::Step,
                    "end" => CheckAt::End,
                    other => {
                        return Err(self
                            .err(a.span().start, format!("invariant {name:?}: unknown `at` {other:?}"))
                            .with_hint("use \"step\" (after every settled step, the default) or \"end\" (once, at the end)"))
                    }
                },
            };
            let tenant = match &d.tenant {
                Some(t) => Some(self.tenant(t, tenants)?),
                None => None,
            };
            out.push(InvariantSpec {
                invariant: UserInvariant {
                    name,
                    kind,
                    predicate,
                    text: expr.into_inner(),
                },
                at,
                tenant,
            });
        }
        Ok(out)
    }

    fn generators(
        &self,
        defs: Vec<GeneratorDef>,
        tenants: &[TenantId],
        entities: &BTreeMap<String, EntitySpec>,
    ) -> Result<Vec<Generator>, SourceError> {
        let mut out = Vec::new();
        for (i, g) in defs.into_iter().enumerate() {
            let place = format!("generator #{}", i + 1);
            let tenant = self.tenant(&g.tenant, tenants)?;
            let count = *g.count.get_ref();
            if !(1..=GENERATOR_COUNT_MAX as i64).contains(&count) {
                return Err(self
                    .err(
                        g.count.span().start,
                        format!("{place}: count = {count} is out of range"),
                    )
                    .with_hint(format!("use 1..={GENERATOR_COUNT_MAX}")));
            }
            let start = match &g.start {
                Some(s) => SimTime(self.duration(s)?),
                None => SimTime::ZERO,
            };
            let spacing = match (&g.every, &g.rate) {
                (Some(e), None) => Spacing::Every {
                    interval_ms: self.duration(e)?,
                    jitter_ms: match &g.jitter {
                        Some(j) => self.duration(j)?,
                        None => 0,
                    },
                },
                (None, Some(r)) if *r.get_ref() > 0.0 && r.get_ref().is_finite() => {
                    if let Some(j) = &g.jitter {
                        return Err(self.err(j.span().start, format!("{place}: `jitter` goes with `every`, not `rate`")));
                    }
                    Spacing::Rate { per_sec: *r.get_ref() }
                }
                (None, Some(r)) => {
                    return Err(self
                        .err(r.span().start, format!("{place}: rate must be a positive number of events per second")))
                }
                _ => {
                    return Err(self
                        .err(g.tenant.span().start, format!("{place} needs exactly one of `every` or `rate`"))
                        .with_hint("every = \"100ms\" (fixed interval, optional jitter) or rate = 10.0 (events per second)"))
                }
            };
            let mut values = BTreeMap::new();
            for (name, pool) in g.values {
                let offset = pool.span().start;
                let pool = match pool.into_inner() {
                    ValuePoolDef::List(items) if !items.is_empty() => ValuePool::List(items),
                    ValuePoolDef::List(_) => {
                        return Err(
                            self.err(offset, format!("{place}: value pool {name:?} is empty"))
                        )
                    }
                    ValuePoolDef::Range { min, max } if min <= max => ValuePool::Range { min, max },
                    ValuePoolDef::Range { min, max } => {
                        return Err(self.err(
                            offset,
                            format!("{place}: value range {name:?} has min {min} > max {max}"),
                        ))
                    }
                };
                if name == "n" {
                    return Err(self.err(
                        offset,
                        format!("{place}: `n` is reserved for the event index"),
                    ));
                }
                values.insert(name, pool);
            }
            let check_strings = |v: &Value, offset: usize| -> Result<(), SourceError> {
                let mut stack = vec![v];
                while let Some(v) = stack.pop() {
                    match v {
                        Value::String(s) => check_placeholders(s, &values)
                            .map_err(|m| self.err(offset, format!("{place}: {m}")))?,
                        Value::Array(items) => stack.extend(items.iter()),
                        Value::Object(map) => stack.extend(map.values()),
                        _ => {}
                    }
                }
                Ok(())
            };
            let template = match (g.subject, g.dispatch) {
                (Some(subject), None) => {
                    check_placeholders(subject.get_ref(), &values).map_err(|m| self.err(subject.span().start, format!("{place}: {m}")))?;
                    let payload = g.payload.unwrap_or_else(empty_object);
                    check_strings(&payload, subject.span().start)?;
                    Template::Publish { subject: subject.into_inner(), payload }
                }
                (None, Some(d)) => {
                    let offset = d.span().start;
                    let d = d.into_inner();
                    self.check_action(entities, &d.entity_type, &d.action, offset, &place)?;
                    check_placeholders(&d.id, &values).map_err(|m| self.err(offset, format!("{place}: {m}")))?;
                    check_strings(&d.params, offset)?;
                    Template::Dispatch { entity_type: d.entity_type, id: d.id, action: d.action, params: d.params }
                }
                _ => {
                    return Err(self
                        .err(g.tenant.span().start, format!("{place} needs exactly one of `subject` or `dispatch`"))
                        .with_hint("a generator makes bus publications (subject, payload) or entity actions (dispatch)"))
                }
            };
            out.push(Generator {
                tenant,
                count: count as u64,
                start,
                spacing,
                template,
                values,
            });
        }
        Ok(out)
    }

    fn duration(&self, s: &Spanned<String>) -> Result<u64, SourceError> {
        parse_duration_ms(s.get_ref()).map_err(|e| self.err(s.span().start, e))
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

    fn inline_rules(&self, defs: Vec<RuleDef>) -> Result<Vec<(Rule, usize)>, SourceError> {
        let offsets: Vec<usize> = defs.iter().map(|d| d.name.span().start).collect();
        let rules = validate_rule_defs(defs, self.path, self.text)?;
        Ok(rules.into_iter().zip(offsets).collect())
    }

    /// A rule must name declared entity types, actions and states: a typo would otherwise
    /// make it a rule that never fires.
    fn check_rule(
        &self,
        rule: &Rule,
        entities: &BTreeMap<String, EntitySpec>,
        file: &Path,
        text: &str,
        offset: usize,
    ) -> Result<(), SourceError> {
        let at = |msg: String, hint: String| {
            SourceError::at(file, text, offset, format!("rule {:?}: {msg}", rule.name))
                .with_hint(hint)
        };
        let source = entities.get(&rule.when.entity_type).ok_or_else(|| {
            at(
                format!(
                    "when.entity_type {:?} is not a declared entity type",
                    rule.when.entity_type
                ),
                format!(
                    "declare it with [[entity]]{}",
                    known("declared types", entities.keys().map(String::as_str))
                ),
            )
        })?;
        if let Some(action) = &rule.when.action {
            if !source.actions.contains_key(action) {
                return Err(at(
                    format!(
                        "when.action {action:?} is not an action of {}",
                        source.type_name
                    ),
                    known_or("actions", source.actions.keys().map(String::as_str)),
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
                    known_or("states", source.states.iter().map(String::as_str)),
                ));
            }
        }
        let target = entities.get(&rule.then.entity_type).ok_or_else(|| {
            at(
                format!(
                    "then.entity_type {:?} is not a declared entity type",
                    rule.then.entity_type
                ),
                format!(
                    "declare it with [[entity]]{}",
                    known("declared types", entities.keys().map(String::as_str))
                ),
            )
        })?;
        if !target.actions.contains_key(&rule.then.action) {
            return Err(at(
                format!(
                    "then.action {:?} is not an action of {}",
                    rule.then.action, target.type_name
                ),
                known_or("actions", target.actions.keys().map(String::as_str)),
            ));
        }
        Ok(())
    }

    fn entities(&self, defs: &[EntityDef]) -> Result<BTreeMap<String, EntitySpec>, SourceError> {
        let mut out = BTreeMap::new();
        for e in defs {
            let name = e.type_name.get_ref().clone();
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(self
                    .err(e.type_name.span().start, format!("entity type {name:?} is not a plain name"))
                    .with_hint("use letters, digits and '_' (it becomes a token of entity.<Type>.<Action>.<id>)"));
            }
            if out.contains_key(&name) {
                return Err(self.err(
                    e.type_name.span().start,
                    format!("entity type {name} is declared twice"),
                ));
            }
            let states = e.states.get_ref().clone();
            if states.is_empty() {
                return Err(self
                    .err(
                        e.states.span().start,
                        format!("entity type {name} has no states"),
                    )
                    .with_hint("list its states, e.g. states = [\"Draft\", \"Done\"]"));
            }
            let mut seen = BTreeSet::new();
            for s in &states {
                if !seen.insert(s) {
                    return Err(self.err(
                        e.states.span().start,
                        format!("state {s:?} is listed twice in {name}"),
                    ));
                }
            }
            if !states.contains(e.initial.get_ref()) {
                return Err(self
                    .err(
                        e.initial.span().start,
                        format!(
                            "initial state {:?} is not a state of {name}",
                            e.initial.get_ref()
                        ),
                    )
                    .with_hint(known_or("states", states.iter().map(String::as_str))));
            }
            let mut actions = BTreeMap::new();
            for a in &e.action {
                let aname = a.name.get_ref().clone();
                if aname.is_empty() || !aname.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    return Err(self
                        .err(
                            a.name.span().start,
                            format!("action name {aname:?} is not a plain name"),
                        )
                        .with_hint("use letters, digits and '_'"));
                }
                if actions.contains_key(&aname) {
                    return Err(self.err(
                        a.name.span().start,
                        format!("action {aname} of {name} is declared twice"),
                    ));
                }
                let state_check = |s: &str, offset: usize, key: &str| {
                    if states.iter().any(|x| x == s) {
                        Ok(())
                    } else {
                        Err(self
                            .err(
                                offset,
                                format!(
                                    "{name}.{aname}: {key} state {s:?} is not a state of {name}"
                                ),
                            )
                            .with_hint(known_or("states", states.iter().map(String::as_str))))
                    }
                };
                if let Some(from) = &a.from {
                    for s in from.get_ref() {
                        state_check(s, from.span().start, "from")?;
                    }
                }
                if let Some(to) = &a.to {
                    state_check(to.get_ref(), to.span().start, "to")?;
                }
                let requires = match &a.requires {
                    None => None,
                    Some(r) => Some(
                        Condition::parse(r.get_ref()).map_err(|m| self.err(r.span().start, m))?,
                    ),
                };
                let mut effects = Vec::new();
                for eff in &a.effect {
                    effects.push(
                        Effect::parse(eff.get_ref()).map_err(|m| self.err(eff.span().start, m))?,
                    );
                }
                actions.insert(
                    aname.clone(),
                    ActionSpec {
                        name: aname,
                        from: a.from.as_ref().map(|f| f.get_ref().clone()),
                        to: a.to.as_ref().map(|t| t.get_ref().clone()),
                        requires,
                        guard: None,
                        effects,
                        commands: Vec::new(),
                    },
                );
            }
            out.insert(
                name.clone(),
                EntitySpec {
                    type_name: name,
                    states,
                    initial: e.initial.get_ref().clone(),
                    fields_initial: e.fields.clone(),
                    actions,
                },
            );
        }
        Ok(out)
    }

    fn check_action(
        &self,
        entities: &BTreeMap<String, EntitySpec>,
        entity_type: &str,
        action: &str,
        offset: usize,
        place: &str,
    ) -> Result<(), SourceError> {
        let spec = entities.get(entity_type).ok_or_else(|| {
            self.err(
                offset,
                format!("{place}: entity type {entity_type:?} is not declared"),
            )
            .with_hint(format!(
                "declare it with [[entity]]{}",
                known("declared types", entities.keys().map(String::as_str))
            ))
        })?;
        if !spec.actions.contains_key(action) {
            return Err(self
                .err(
                    offset,
                    format!("{place}: {action:?} is not an action of {entity_type}"),
                )
                .with_hint(known_or("actions", spec.actions.keys().map(String::as_str))));
        }
        Ok(())
    }

    fn reflexes(
        &self,
        defs: Vec<ReflexDef>,
        tenants: &[TenantId],
        entities: &BTreeMap<String, EntitySpec>,
    ) -> Result<Vec<ReflexSpec>, SourceError> {
        let mut out = Vec::new();
        // One registry per tenant, as the simulator builds them, so that id clashes are
        // found here, with a place, instead of at run time.
        let mut registries: BTreeMap<TenantId, ReflexRegistry> = tenants
            .iter()
            .map(|t| (t.clone(), ReflexRegistry::default()))
            .collect();
        for r in defs {
            let anchor =
                r.id.as_ref()
                    .map(|s| s.span().start)
                    .or(r.builtin.as_ref().map(|s| s.span().start))
                    .or(r.command.as_ref().map(|s| s.span().start))
                    .or(r.pattern.as_ref().map(|s| s.span().start))
                    .or(r.tenant.as_ref().map(|s| s.span().start))
                    .or(r.severity.as_ref().map(|s| s.span().start))
                    .or(r.then.as_ref().map(|s| s.span().start))
                    .unwrap_or(0);
            let tenant = match &r.tenant {
                Some(t) => Some(self.tenant(t, tenants)?),
                None => None,
            };
            let (id, kind) = if let Some(b) = &r.builtin {
                self.builtin_reflex(&r, b)?
            } else if let Some(c) = &r.command {
                self.process_reflex(&r, c, anchor)?
            } else {
                self.declarative_reflex(&r, anchor, entities)?
            };
            let spec = ReflexSpec { id, tenant, kind };
            for (t, registry) in registries.iter_mut() {
                if spec.serves(t) {
                    registry.register(spec.instantiate()).map_err(|e| {
                        self.err(anchor, format!("{e} (in tenant {t})"))
                            .with_hint("give each reflex its own id")
                    })?;
                }
            }
            out.push(spec);
        }
        Ok(out)
    }

    /// A reflex's pattern.
    fn pattern(&self, id: &str, pattern: &Spanned<String>) -> Result<Pattern, SourceError> {
        Pattern::new(pattern.get_ref().clone()).map_err(|m| {
            self.err(
                pattern.span().start,
                format!("reflex {id:?}: invalid pattern: {m}"),
            )
            .with_hint("`*` matches one token, `>` one or more and only last")
        })
    }

    /// Rejects the keys `kind` of reflex does not take, naming the first one found.
    fn only_keys(
        &self,
        r: &ReflexDef,
        kind: &str,
        allowed: &[&str],
        hint: &str,
    ) -> Result<(), SourceError> {
        let present: [(&str, Option<usize>); 8] = [
            ("pattern", r.pattern.as_ref().map(|s| s.span().start)),
            ("severity", r.severity.as_ref().map(|s| s.span().start)),
            ("then", r.then.as_ref().map(|s| s.span().start)),
            (
                "dedup_window",
                r.dedup_window.as_ref().map(|s| s.span().start),
            ),
            ("command", r.command.as_ref().map(|s| s.span().start)),
            ("dir", r.dir.as_ref().map(|s| s.span().start)),
            ("timeout", r.timeout.as_ref().map(|s| s.span().start)),
            (
                "wall_timeout",
                r.wall_timeout.as_ref().map(|s| s.span().start),
            ),
        ];
        for (key, at) in present {
            if let (Some(at), false) = (at, allowed.contains(&key)) {
                return Err(self
                    .err(at, format!("{kind} does not take `{key}`"))
                    .with_hint(hint.to_string()));
            }
        }
        Ok(())
    }

    fn builtin_reflex(
        &self,
        r: &ReflexDef,
        b: &Spanned<String>,
    ) -> Result<(String, ReflexKind), SourceError> {
        let name = b.get_ref();
        let Some((default_pattern, default_window_ms)) = builtin_defaults(name) else {
            return Err(self
                .err(b.span().start, format!("unknown builtin reflex {name:?}"))
                .with_hint("use one of: link_down, bgp_drop, security_alert"));
        };
        self.only_keys(
            r,
            &format!("builtin reflex {name:?}"),
            &["pattern", "dedup_window"],
            "a builtin takes `id`, `tenant`, and to simulate another layout `pattern` and `dedup_window`; drop `builtin` to write a declarative reflex",
        )?;
        if let Some(id) = &r.id {
            if id.get_ref() != name {
                return Err(self
                    .err(
                        id.span().start,
                        format!("builtin reflex {name} has the fixed id {name:?}"),
                    )
                    .with_hint("remove `id` (first-party handlers keep their own ids)"));
            }
        }
        let pattern = match &r.pattern {
            Some(p) => self.pattern(name, p)?,
            None => Pattern::new(default_pattern).expect("a valid built-in pattern"),
        };
        let dedup_window_ms = match &r.dedup_window {
            None => default_window_ms,
            Some(w) => match self.duration(w)? {
                0 => {
                    return Err(self
                        .err(w.span().start, format!("builtin reflex {name:?}: dedup_window must be positive"))
                        .with_hint("netcortex's dedup store rejects a TTL of 0; its default for this handler is ".to_string()
                            + &format_duration_ms(default_window_ms)))
                }
                ms => ms,
            },
        };
        Ok((
            name.clone(),
            ReflexKind::Builtin {
                name: name.clone(),
                pattern,
                dedup_window_ms,
            },
        ))
    }

    fn process_reflex(
        &self,
        r: &ReflexDef,
        command: &Spanned<Vec<String>>,
        anchor: usize,
    ) -> Result<(String, ReflexKind), SourceError> {
        let id = r.id.as_ref().ok_or_else(|| {
            self.err(anchor, "a [[reflex]] with a `command` needs an `id`")
                .with_hint("add id = \"...\", the handler's id (its outcomes carry it)")
        })?;
        let name = id.get_ref();
        if name.trim().is_empty() {
            return Err(self.err(id.span().start, "a reflex id is empty"));
        }
        self.only_keys(
            r,
            &format!("process reflex {name:?}"),
            &["pattern", "command", "dir", "timeout", "wall_timeout"],
            "a process handler takes `id`, `tenant`, `pattern`, `command`, `dir`, `timeout` and `wall_timeout`; its outcomes and actions come from its answers",
        )?;
        let pattern = r.pattern.as_ref().ok_or_else(|| {
            self.err(
                id.span().start,
                format!("reflex {name:?} needs a `pattern`"),
            )
            .with_hint("the pattern it subscribes with, e.g. pattern = \"sensory.link_down.>\"")
        })?;
        let pattern = self.pattern(name, pattern)?;
        let at = command.span().start;
        let argv = command.get_ref();
        if argv.is_empty() || argv[0].trim().is_empty() {
            return Err(self
                .err(at, format!("reflex {name:?}: `command` is empty"))
                .with_hint("the program and its arguments, e.g. command = [\"python3\", \"handlers/flap.py\"]"));
        }
        let base = self.path.parent().unwrap_or(Path::new("."));
        let dir = match &r.dir {
            None => base.to_path_buf(),
            Some(d) => base.join(d.get_ref()),
        };
        if !dir.is_dir() {
            let place = r.dir.as_ref().map_or(at, |d| d.span().start);
            return Err(self
                .err(
                    place,
                    format!("reflex {name:?}: {} is not a directory", dir.display()),
                )
                .with_hint("`dir` is relative to the scenario file"));
        }
        // A program given by a path (not looked up on PATH) must be there.
        if argv[0].contains('/') && !dir.join(&argv[0]).exists() {
            return Err(self
                .err(at, format!("reflex {name:?}: the program {:?} is not in {}", argv[0], dir.display()))
                .with_hint("a command's relative paths are relative to the scenario's directory (or `dir`)"));
        }
        let positive = |d: &Option<Spanned<String>>, key: &str, default_ms: u64| match d {
            None => Ok(default_ms),
            Some(d) => match self.duration(d)? {
                0 => Err(self
                    .err(
                        d.span().start,
                        format!("reflex {name:?}: {key} must be positive"),
                    )
                    .with_hint(format!("the default is {}", format_duration_ms(default_ms)))),
                ms => Ok(ms),
            },
        };
        let budget_ms = positive(&r.timeout, "timeout", BUDGET_MS_DEFAULT)?;
        let wall_ms = positive(&r.wall_timeout, "wall_timeout", WALL_MS_DEFAULT)?;
        let (line, column) = line_column(self.text, at);
        Ok((
            name.clone(),
            ReflexKind::Process {
                spec: Arc::new(ExternalSpec {
                    id: name.clone(),
                    pattern,
                    command: argv.clone(),
                    dir,
                    budget_ms,
                    wall_ms,
                }),
                line,
                column,
            },
        ))
    }

    fn declarative_reflex(
        &self,
        r: &ReflexDef,
        anchor: usize,
        entities: &BTreeMap<String, EntitySpec>,
    ) -> Result<(String, ReflexKind), SourceError> {
        let id = r.id.as_ref().ok_or_else(|| {
            self.err(anchor, "a declarative [[reflex]] needs an `id`")
                .with_hint("add id = \"...\", or use builtin = \"link_down\" | \"bgp_drop\" | \"security_alert\", or command = [...]")
        })?;
        self.only_keys(
            r,
            &format!("declarative reflex {:?}", id.get_ref()),
            &["pattern", "severity", "then"],
            "`dedup_window` goes with `builtin`; `dir`, `timeout` and `wall_timeout` with `command`",
        )?;
        let pattern = r.pattern.as_ref().ok_or_else(|| {
            self.err(
                id.span().start,
                format!("reflex {:?} needs a `pattern`", id.get_ref()),
            )
            .with_hint("e.g. pattern = \"sensory.link_down.>\"")
        })?;
        let pattern = self.pattern(id.get_ref(), pattern)?;
        let then = match &r.then {
            None => None,
            Some(t) => {
                t.get_ref().validate().map_err(|m| {
                    self.err(t.span().start, format!("reflex {:?}: {m}", id.get_ref()))
                        .with_hint("placeholders: {payload.a.b}, {subject}, {token.N}, {tenant}, {event_id}")
                })?;
                let then = t.get_ref();
                self.check_action(
                    entities,
                    &then.entity_type,
                    &then.action,
                    t.span().start,
                    &format!("reflex {:?} then", id.get_ref()),
                )?;
                Some(then.clone())
            }
        };
        let severity = r
            .severity
            .as_ref()
            .map(|s| *s.get_ref())
            .unwrap_or(Severity::Info);
        Ok((
            id.get_ref().clone(),
            ReflexKind::Declarative {
                pattern,
                severity,
                then,
            },
        ))
    }

    fn events(
        &self,
        defs: Vec<EventDef>,
        tenants: &[TenantId],
        entities: &BTreeMap<String, EntitySpec>,
    ) -> Result<Vec<RootEvent>, SourceError> {
        let mut out = Vec::new();
        for (i, e) in defs.into_iter().enumerate() {
            let place = format!("event #{}", i + 1);
            let at = SimTime(self.duration(&e.at)?);
            let tenant = self.tenant(&e.tenant, tenants)?;
            let kinds: Vec<(&str, usize)> = [
                ("subject", e.subject.as_ref().map(|s| s.span().start)),
                ("dispatch", e.dispatch.as_ref().map(|s| s.span().start)),
                ("webhook", e.webhook.as_ref().map(|s| s.span().start)),
                ("snmp", e.snmp.as_ref().map(|s| s.span().start)),
            ]
            .into_iter()
            .filter_map(|(k, at)| at.map(|at| (k, at)))
            .collect();
            match kinds.as_slice() {
                [] => {
                    return Err(self
                        .err(e.at.span().start, format!("{place} has neither `subject` nor `dispatch`"))
                        .with_hint("add subject = \"...\" (with payload), dispatch = { entity_type, id, action }, webhook = \"meraki\" or snmp = \"poll\" | \"trap\" (with payload)"))
                }
                [_] => {}
                [(a, at), (b, _), ..] => {
                    return Err(self
                        .err(*at, format!("{place} has both `{a}` and `{b}`"))
                        .with_hint("an event is one bus publication or one entity action: split it"))
                }
            }
            if let (Some(c), None) = (&e.event_class, &e.snmp) {
                return Err(self
                    .err(
                        c.span().start,
                        format!("{place}: `event_class` goes with snmp = \"trap\""),
                    )
                    .with_hint("a subject names its event class itself"));
            }
            let mut vendor = None;
            let input = if let Some(d) = e.dispatch {
                if let Some(p) = &e.payload {
                    return Err(self
                        .err(
                            p.span().start,
                            format!("{place}: `payload` goes with `subject`, not `dispatch`"),
                        )
                        .with_hint("put the action's input in dispatch.params"));
                }
                let offset = d.span().start;
                let d = d.into_inner();
                self.check_action(entities, &d.entity_type, &d.action, offset, &place)?;
                if d.id.is_empty() {
                    return Err(self.err(offset, format!("{place}: dispatch.id is empty")));
                }
                Input::Dispatch {
                    entity_type: d.entity_type,
                    id: EntityId(d.id),
                    action: d.action,
                    params: d.params,
                }
            } else if let Some(subject) = e.subject {
                let s = Subject::new(subject.get_ref().clone()).map_err(|m| {
                    self.err(subject.span().start, format!("{place}: invalid subject: {m}"))
                        .with_hint("subjects are dot-separated tokens, e.g. sensory.link_down.snmp_trap.r1|Gi0/1")
                })?;
                Input::Publish {
                    subject: s,
                    payload: e
                        .payload
                        .map(Spanned::into_inner)
                        .unwrap_or_else(empty_object),
                }
            } else {
                let (input, raw) =
                    self.sensory_input(&place, at, e.webhook, e.snmp, e.event_class, e.payload)?;
                vendor = Some(raw);
                input
            };
            out.push(RootEvent {
                at,
                tenant,
                input,
                vendor,
            });
        }
        Ok(out)
    }

    /// A `webhook = "meraki"` or `snmp = "poll" | "trap"` event: the publication netcortex's
    /// publisher would make of its payload.
    fn sensory_input(
        &self,
        place: &str,
        at: SimTime,
        webhook: Option<Spanned<String>>,
        snmp: Option<Spanned<String>>,
        event_class: Option<Spanned<String>>,
        payload: Option<Spanned<Value>>,
    ) -> Result<(Input, VendorInput), SourceError> {
        let (key, what) = match (&webhook, &snmp) {
            (Some(w), _) => (w.span().start, "webhook"),
            (_, Some(s)) => (s.span().start, "snmp"),
            _ => unreachable!("the caller found one of them"),
        };
        let Some(payload) = payload else {
            return Err(self
                .err(key, format!("{place}: a {what} event needs a `payload`"))
                .with_hint(match what {
                    "webhook" => "the webhook's JSON body, as Meraki posts it",
                    _ => "what the poller saw or the trap carried, e.g. { device = \"r1\", interface = \"Gi0/1\", ... }",
                }));
        };
        let body = payload.get_ref();
        let kind;
        let published = if let Some(w) = &webhook {
            kind = VendorKind::MerakiWebhook;
            if w.get_ref() != "meraki" {
                return Err(self
                    .err(
                        w.span().start,
                        format!("{place}: unknown webhook {:?}", w.get_ref()),
                    )
                    .with_hint("Ripple knows netcortex's Meraki publisher: webhook = \"meraki\""));
            }
            meraki_webhook(body, at)
        } else {
            let s = snmp.as_ref().expect("one of them");
            kind = match (s.get_ref().as_str(), &event_class) {
                ("trap", Some(c)) => VendorKind::SnmpTrap {
                    event_class: c.get_ref().clone(),
                },
                _ => VendorKind::SnmpPoll,
            };
            match (s.get_ref().as_str(), &event_class) {
                ("poll", None) => snmp_poll(body, at),
                ("poll", Some(c)) => {
                    return Err(self
                        .err(
                            c.span().start,
                            format!(
                                "{place}: an SNMP poll derives its event class from oper_status"
                            ),
                        )
                        .with_hint("remove event_class"))
                }
                ("trap", Some(c)) => snmp_trap(c.get_ref(), body, at),
                ("trap", None) => {
                    return Err(self
                        .err(
                            s.span().start,
                            format!("{place}: an SNMP trap needs `event_class`"),
                        )
                        .with_hint("e.g. event_class = \"link_down\" or \"bgp_drop\""))
                }
                (other, _) => {
                    return Err(self
                        .err(
                            s.span().start,
                            format!("{place}: unknown snmp input {other:?}"),
                        )
                        .with_hint(
                            "use snmp = \"poll\" (a link-state change the poller saw) or \"trap\"",
                        ))
                }
            }
        };
        let publication = published.map_err(|why| {
            self.err(payload.span().start, format!("{place}: {why}"))
                .with_hint("an input netcortex would not publish does nothing; fix the payload or use subject = \"...\" to publish as it is")
        })?;
        Ok((
            Input::Publish {
                subject: publication.subject,
                payload: publication.payload,
            },
            VendorInput {
                kind,
                payload: payload.into_inner(),
            },
        ))
    }

    fn expects(
        &self,
        defs: Vec<ExpectDef>,
        tenants: &[TenantId],
        entities: &BTreeMap<String, EntitySpec>,
    ) -> Result<Vec<Expect>, SourceError> {
        let mut out = Vec::new();
        for x in defs {
            let tenant = self.tenant(&x.tenant, tenants)?;
            let ty = x.entity_type.get_ref();
            let spec = entities.get(ty).ok_or_else(|| {
                self.err(
                    x.entity_type.span().start,
                    format!("expect: entity type {ty:?} is not declared"),
                )
                .with_hint(known_or(
                    "declared types",
                    entities.keys().map(String::as_str),
                ))
            })?;
            if let Some(s) = &x.status {
                if !spec.states.contains(s.get_ref()) {
                    return Err(self
                        .err(
                            s.span().start,
                            format!("expect: {:?} is not a state of {ty}", s.get_ref()),
                        )
                        .with_hint(known_or("states", spec.states.iter().map(String::as_str))));
                }
            }
            let exists = x.exists.unwrap_or(true);
            if !exists && (x.status.is_some() || !x.fields.is_empty()) {
                return Err(self
                    .err(
                        x.id.span().start,
                        "expect: `exists = false` cannot also check status or fields",
                    )
                    .with_hint("remove status/fields, or drop exists = false"));
            }
            out.push(Expect {
                tenant,
                entity_type: ty.clone(),
                id: EntityId(x.id.get_ref().clone()),
                status: x.status.map(Spanned::into_inner),
                fields: x.fields,
                exists,
            });
        }
        Ok(out)
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

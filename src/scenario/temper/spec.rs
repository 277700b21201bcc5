//! A temper I/O-automaton spec (`*.ioa.toml`), loaded as it is and lowered into an engine
//! [`EntitySpec`] with its invariants and integrations.
//!
//! The format (temper-spec's `automaton` module: its TOML parser and its tests):
//!
//! ```toml
//! [automaton]
//! name = "Order"
//! states = ["Draft", "Submitted"]
//! initial = "Draft"
//! terminal = ["Cancelled"]        # optional: final states
//!
//! [[state]]                       # a state variable: counter | bool | string | list | set
//! name = "items"
//! type = "counter"
//! initial = "0"
//!
//! [[action]]
//! name = "SubmitOrder"
//! kind = "input"                  # input | internal | output (default internal)
//! from = ["Draft"]                # absent: every state
//! to = "Submitted"                # absent: the state is kept
//! guard = "items > 0"             # a string, a list of clauses, or a { type = ... } table
//! params = ["Address"]            # names, or { name, type } tables
//! effect = [{ type = "emit", event = "OrderSubmitted" }]
//!
//! [[invariant]]
//! name = "SubmitRequiresItems"
//! when = ["Submitted"]            # absent: every state
//! assert = "items > 0"
//!
//! [[integration]]                 # an outside system a `trigger` effect calls
//! name = "invoke_llm"
//! trigger = "invoke_llm"
//! emits = ["Done", "Failed"]      # its possible answers (or on_success / on_failure)
//! ```
//!
//! Every key of those tables is read; a construct Ripple does not simulate is either an error
//! with its place (it would change what the entity does: `[[field_invariant]]`, `[admission]`,
//! cross-entity and list guards, `spawn`, `schedule_at` and list effects) or a warning (it
//! does not: `[[liveness]]` and `allow_indefinite_states`, which a finite run cannot check;
//! `[[key]]` and `[[vector]]` indexes; `[[webhook]]` and `[[agent_trigger]]`, inbound
//! inputs that `[[event]]`s stand in for; state timeouts, which no run simulates yet;
//! storage knobs of state variables). An unknown key is an error: temper's line parser
//! skips it, and a typo must not change a spec silently.

use crate::core::Value;
use crate::engine::{ActionSpec, Command, EntitySpec, Expr, Fields, Integration};
use crate::scenario::temper::effect::{nth_item_offset, parse_effect, CommandDef};
use crate::scenario::temper::expr::{parse_assert, parse_guard, Scope, VarType};
use crate::scenario::temper::{SpecAssert, SpecInvariant};
use crate::scenario::{line_column, SourceError};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::{Spanned, Value as Toml};

/// A spec, loaded and lowered.
#[derive(Debug, Clone)]
pub struct TemperSpec {
    pub path: PathBuf,
    /// The entity type. Its `trigger` commands have no integration attached yet: the
    /// scenario's answer weights and delays are needed for that ([`attach_integrations`]).
    pub entity: EntitySpec,
    pub integrations: Vec<IntegrationDef>,
    pub invariants: Vec<SpecInvariant>,
    /// Every event an action emits, and every integration name a `trigger` calls.
    pub emits: BTreeSet<String>,
    pub triggers: BTreeSet<String>,
    /// Actions of kind `input`, with their declared params, in file order.
    pub inputs: Vec<(String, Vec<Param>)>,
    /// `path:line:col: message`, one per construct read but not simulated.
    pub warnings: Vec<String>,
}

/// A declared param of an action: its name and, when the spec gives one, its type.
pub type Param = (String, Option<String>);

/// An `[[integration]]` of a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationDef {
    pub name: String,
    pub trigger: String,
    /// `type` (llm, wasm, webhook, ...), for the reader.
    pub kind: Option<String>,
    /// Its answers: `emits`, or `on_success` and `on_failure`. Empty: it answers nothing.
    pub answers: Vec<String>,
    pub offset: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecDef {
    automaton: AutomatonDef,
    #[serde(default)]
    state: Vec<StateDef>,
    #[serde(default)]
    action: Vec<ActionDef>,
    #[serde(default)]
    invariant: Vec<InvariantDef>,
    #[serde(default)]
    integration: Vec<IntegrationTomlDef>,
    #[serde(default)]
    liveness: Vec<Spanned<Toml>>,
    #[serde(default)]
    webhook: Vec<Spanned<Toml>>,
    #[serde(default)]
    agent_trigger: Vec<Spanned<Toml>>,
    #[serde(default)]
    key: Vec<Spanned<Toml>>,
    #[serde(default)]
    vector: Vec<Spanned<Toml>>,
    #[serde(default)]
    state_timeout: Vec<Spanned<Toml>>,
    #[serde(default)]
    field_invariant: Vec<Spanned<Toml>>,
    admission: Option<Spanned<Toml>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AutomatonDef {
    name: Spanned<String>,
    states: Spanned<Vec<String>>,
    initial: Spanned<String>,
    terminal: Option<Spanned<Vec<String>>>,
    allow_indefinite_states: Option<Spanned<Vec<String>>>,
    timeouts: Option<Spanned<BTreeMap<String, Toml>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateDef {
    name: Spanned<String>,
    #[serde(rename = "type")]
    var_type: Option<Spanned<String>>,
    initial: Option<Spanned<Toml>>,
    overflow_inline_max_bytes: Option<Spanned<Toml>>,
    overflow_ttl_seconds: Option<Spanned<Toml>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionDef {
    name: Spanned<String>,
    kind: Option<Spanned<String>>,
    from: Option<Spanned<Vec<String>>>,
    to: Option<Spanned<String>>,
    guard: Option<Spanned<Toml>>,
    params: Option<Spanned<Toml>>,
    effect: Option<Spanned<Toml>>,
    #[serde(default)]
    #[allow(dead_code)] // documentation for people and agents; nothing to simulate
    hint: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvariantDef {
    name: Spanned<String>,
    when: Option<Spanned<Vec<String>>>,
    assert: Spanned<String>,
}

/// Integrations carry free-form configuration (`url`, `method`, `headers`, ...) that temper
/// keeps as a map; only the keys below mean anything to a simulation.
#[derive(Debug, Deserialize)]
struct IntegrationTomlDef {
    name: Spanned<String>,
    trigger: Option<Spanned<String>>,
    #[serde(rename = "type")]
    kind: Option<String>,
    emits: Option<Spanned<Vec<String>>>,
    on_success: Option<Spanned<String>>,
    on_failure: Option<Spanned<String>>,
    #[serde(flatten)]
    #[allow(dead_code)] // module, llm, url, headers, ...: the outside system's own settings
    config: BTreeMap<String, Toml>,
}

/// At most this many actions (and as many states, variables, invariants) per spec.
pub const SPEC_ITEMS_MAX: usize = 1024;

/// Reads and lowers a spec file.
pub fn load_spec(path: &Path) -> Result<TemperSpec, SourceError> {
    let text = crate::core::read_input(path).map_err(|e| {
        SourceError::file(path, format!("failed to read the spec: {e}"))
            .with_hint("spec paths and globs are relative to the scenario file")
    })?;
    parse_spec(&text, path)
}

/// Parses and lowers spec text; `path` names it in errors.
pub fn parse_spec(text: &str, path: &Path) -> Result<TemperSpec, SourceError> {
    let def: SpecDef = toml::from_str(text).map_err(|e| {
        let mut err = SourceError::from_toml(path, text, &e);
        if e.message().contains("unknown field") {
            err.hint = Some("this key is not part of temper's spec format as Ripple reads it; check the spelling (temper's own parser skips unknown keys, Ripple does not, so a typo cannot change a spec silently)".into());
        }
        err
    })?;
    Lowering { path, text }.lower(def)
}

struct Lowering<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Lowering<'_> {
    /// An error in the spec, with a hint that a more specific one replaces: Ripple reads
    /// the spec as temper's runtime does, so temper's own spec format is the reference.
    fn err(&self, offset: usize, message: impl Into<String>) -> SourceError {
        SourceError::at(self.path, self.text, offset, message).with_hint(
            "Ripple reads the spec as temper's runtime does: fix it there (temper's *.ioa.toml format)",
        )
    }

    fn warn(&self, offset: usize, message: impl AsRef<str>) -> String {
        let (line, column) = line_column(self.text, offset);
        format!(
            "{}:{line}:{column}: warning: {}",
            self.path.display(),
            message.as_ref()
        )
    }

    fn plain_name(&self, name: &Spanned<String>, what: &str) -> Result<String, SourceError> {
        let n = name.get_ref();
        if n.is_empty() || !n.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(self
                .err(name.span().start, format!("{what} {n:?} is not a plain name"))
                .with_hint("use letters, digits and '_' (it becomes a token of entity.<Type>.<Action>.<id>)"));
        }
        Ok(n.clone())
    }

    fn lower(&self, def: SpecDef) -> Result<TemperSpec, SourceError> {
        let mut warnings = Vec::new();
        let a = &def.automaton;
        let type_name = self.plain_name(&a.name, "automaton name")?;
        let states = a.states.get_ref().clone();
        if states.is_empty() {
            return Err(self.err(
                a.states.span().start,
                format!("automaton {type_name} has no states"),
            ));
        }
        let mut seen = BTreeSet::new();
        for s in &states {
            if !seen.insert(s) {
                return Err(self.err(
                    a.states.span().start,
                    format!("state {s:?} is listed twice"),
                ));
            }
        }
        let state_check = |s: &str, offset: usize, what: &str| -> Result<(), SourceError> {
            if states.iter().any(|x| x == s) {
                Ok(())
            } else {
                Err(self
                    .err(
                        offset,
                        format!("{what} {s:?} is not a state of {type_name}"),
                    )
                    .with_hint(format!("states: {}", states.join(", "))))
            }
        };
        state_check(a.initial.get_ref(), a.initial.span().start, "initial state")?;
        if let Some(x) = &a.allow_indefinite_states {
            for s in x.get_ref() {
                state_check(s, x.span().start, "state")?;
            }
            warnings.push(self.warn(x.span().start, "allow_indefinite_states is a liveness allowance; runs do not check liveness, so it changes nothing"));
        }
        if let Some(t) = &a.timeouts {
            warnings.push(self.warn(
                t.span().start,
                "[automaton.timeouts] are not simulated: no run times a state out",
            ));
        }

        // State variables.
        let mut vars = BTreeMap::new();
        let mut fields_initial = Fields::new();
        for v in &def.state {
            let name = v.name.get_ref().clone();
            if name.trim().is_empty() {
                return Err(self.err(v.name.span().start, "a [[state]] has an empty name"));
            }
            let (var_type, at) = match &v.var_type {
                None => ("string", v.name.span().start),
                Some(t) => (t.get_ref().as_str(), t.span().start),
            };
            let var_type = match var_type {
                "counter" => VarType::Counter,
                "bool" => VarType::Bool,
                "string" => VarType::Text,
                "list" | "set" => VarType::List,
                other => {
                    return Err(self
                        .err(
                            at,
                            format!("state variable {name:?} has unknown type {other:?}"),
                        )
                        .with_hint("use counter, bool, string, list or set"))
                }
            };
            if vars.insert(name.clone(), var_type).is_some() {
                return Err(self.err(
                    v.name.span().start,
                    format!("state variable {name:?} is declared twice"),
                ));
            }
            let initial = self.initial_value(&name, var_type, v.initial.as_ref())?;
            fields_initial.insert(&name, initial);
            for knob in [&v.overflow_inline_max_bytes, &v.overflow_ttl_seconds]
                .into_iter()
                .flatten()
            {
                warnings.push(self.warn(knob.span().start, format!("state variable {name:?}: storage overflow settings change nothing in a simulation")));
            }
        }
        if def.state.len() > SPEC_ITEMS_MAX || def.action.len() > SPEC_ITEMS_MAX {
            return Err(self.err(
                0,
                format!("the spec has more than {SPEC_ITEMS_MAX} state variables or actions"),
            ));
        }
        let scope = Scope {
            vars: &vars,
            states: &states,
        };

        // Actions: names first, so a `schedule` may name a later action.
        let mut names = BTreeSet::new();
        for ad in &def.action {
            let name = self.plain_name(&ad.name, "action name")?;
            if !names.insert(name.clone()) {
                return Err(self.err(
                    ad.name.span().start,
                    format!("action {name} of {type_name} is declared twice"),
                ));
            }
        }
        let mut actions = BTreeMap::new();
        let mut emits = BTreeSet::new();
        let mut triggers = BTreeSet::new();
        let mut trigger_sites: Vec<(String, usize)> = Vec::new();
        let mut inputs = Vec::new();
        for ad in &def.action {
            let name = ad.name.get_ref().clone();
            let kind = match &ad.kind {
                None => "internal".to_string(),
                Some(k) => match k.get_ref().as_str() {
                    "input" | "internal" | "output" => k.get_ref().clone(),
                    other => {
                        return Err(self
                            .err(
                                k.span().start,
                                format!("action {name}: unknown kind {other:?}"),
                            )
                            .with_hint("use input, internal or output"))
                    }
                },
            };
            if let Some(from) = &ad.from {
                for s in from.get_ref() {
                    state_check(s, from.span().start, &format!("{name}: from"))?;
                }
            }
            if let Some(to) = &ad.to {
                state_check(to.get_ref(), to.span().start, &format!("{name}: to"))?;
            }
            let guard = match &ad.guard {
                None => None,
                Some(g) => Some(self.guard(&name, g, &scope)?),
            };
            let params = match &ad.params {
                None => Vec::new(),
                Some(p) => self.params(&name, p)?,
            };
            for (p, _) in &params {
                if matches!(vars.get(p), Some(VarType::Counter | VarType::Bool)) {
                    warnings.push(self.warn(
                        ad.params.as_ref().map_or(0, |p| p.span().start),
                        format!("action {name}: param {p:?} has the name of a {} variable; temper keeps the two apart, Ripple merges the param into the field", vars[p].as_str()),
                    ));
                }
            }
            let lowered = match &ad.effect {
                None => Default::default(),
                Some(e) => {
                    parse_effect(e.get_ref(), e.span().start, self.text, &vars).map_err(|x| {
                        self.err(x.offset, format!("action {name}: {}", x.message))
                            .with_hint(x.hint)
                    })?
                }
            };
            for (offset, note) in &lowered.notes {
                warnings.push(self.warn(*offset, format!("action {name}: {note}")));
            }
            let mut commands = Vec::new();
            for (c, at) in lowered.commands {
                commands.push(match c {
                    CommandDef::Emit(event) => {
                        emits.insert(event.clone());
                        Command::Emit(event)
                    }
                    CommandDef::Trigger(t) => {
                        triggers.insert(t.clone());
                        trigger_sites.push((t.clone(), at));
                        Command::Trigger {
                            name: t,
                            integration: None,
                        }
                    }
                    CommandDef::Schedule { action, delay_ms } => {
                        if !names.contains(&action) {
                            return Err(self
                                .err(at, format!("action {name}: schedules {action:?}, which is not an action of {type_name}"))
                                .with_hint(format!("actions: {}", names.iter().cloned().collect::<Vec<_>>().join(", "))));
                        }
                        let integration = Integration::new(
                            format!("{}{action}", crate::engine::SCHEDULE_RULE_PREFIX),
                            type_name.clone(),
                            crate::engine::SCHEDULE_RULE_PREFIX,
                            vec![(action, 1)],
                            delay_ms,
                            delay_ms,
                        );
                        Command::Schedule(Arc::new(integration))
                    }
                });
            }
            if kind == "input" {
                inputs.push((name.clone(), params));
            }
            actions.insert(
                name.clone(),
                ActionSpec {
                    name,
                    from: ad.from.as_ref().map(|f| f.get_ref().clone()),
                    to: ad.to.as_ref().map(|t| t.get_ref().clone()),
                    requires: None,
                    guard,
                    effects: lowered.effects,
                    commands,
                },
            );
        }

        // Invariants.
        let mut invariants: Vec<SpecInvariant> = Vec::new();
        if let Some(t) = &a.terminal {
            for s in t.get_ref() {
                state_check(s, t.span().start, "terminal state")?;
            }
            if !t.get_ref().is_empty() {
                invariants.push(SpecInvariant {
                    name: SpecInvariant::name_of(&type_name, "terminal"),
                    entity_type: type_name.clone(),
                    when: t.get_ref().clone(),
                    assert: SpecAssert::NoFurtherTransitions,
                    text: "no_further_transitions".into(),
                });
            }
        }
        for inv in &def.invariant {
            let name = inv.name.get_ref();
            if name.trim().is_empty() {
                return Err(self.err(inv.name.span().start, "an [[invariant]] has an empty name"));
            }
            let full = SpecInvariant::name_of(&type_name, name);
            if invariants.iter().any(|i| i.name == full) {
                return Err(self.err(
                    inv.name.span().start,
                    format!("invariant {name:?} is declared twice"),
                ));
            }
            let when = match &inv.when {
                None => Vec::new(),
                Some(w) => {
                    for s in w.get_ref() {
                        state_check(s, w.span().start, &format!("invariant {name}: when"))?;
                    }
                    w.get_ref().clone()
                }
            };
            let assert = parse_assert(inv.assert.get_ref(), &scope).map_err(|e| {
                self.err(
                    self.string_offset(inv.assert.span().start, e.offset),
                    format!("invariant {name}: {}", e.message),
                )
                .with_hint(e.hint)
            })?;
            if matches!(assert, SpecAssert::NoFurtherTransitions) && when.is_empty() {
                return Err(self
                    .err(inv.assert.span().start, format!("invariant {name}: no_further_transitions needs `when` (the final states)"))
                    .with_hint("e.g. when = [\"Archived\"]"));
            }
            invariants.push(SpecInvariant {
                name: full,
                entity_type: type_name.clone(),
                when,
                assert,
                text: inv.assert.get_ref().clone(),
            });
        }

        // Integrations.
        let mut integrations: Vec<IntegrationDef> = Vec::new();
        for i in &def.integration {
            let name = i.name.get_ref().clone();
            if name.trim().is_empty() {
                return Err(self.err(i.name.span().start, "an [[integration]] has an empty name"));
            }
            if integrations.iter().any(|x| x.name == name) {
                return Err(self.err(
                    i.name.span().start,
                    format!("integration {name:?} is declared twice"),
                ));
            }
            let trigger = i
                .trigger
                .as_ref()
                .map_or(name.clone(), |t| t.get_ref().clone());
            if integrations.iter().any(|x| x.trigger == trigger) {
                return Err(self
                    .err(
                        i.name.span().start,
                        format!("two integrations answer the trigger {trigger:?}"),
                    )
                    .with_hint("give each trigger one integration"));
            }
            let mut answers: Vec<(String, usize)> = Vec::new();
            if let Some(e) = &i.emits {
                answers.extend(e.get_ref().iter().map(|a| (a.clone(), e.span().start)));
            }
            for x in [&i.on_success, &i.on_failure].into_iter().flatten() {
                answers.push((x.get_ref().clone(), x.span().start));
            }
            let mut listed = BTreeSet::new();
            for (a, at) in &answers {
                if !actions.contains_key(a) {
                    return Err(self
                        .err(*at, format!("integration {name}: answers with {a:?}, which is not an action of {type_name}"))
                        .with_hint(format!("actions: {}", actions.keys().cloned().collect::<Vec<_>>().join(", "))));
                }
                if !listed.insert(a.clone()) {
                    return Err(self.err(
                        *at,
                        format!("integration {name}: answer {a:?} is listed twice"),
                    ));
                }
            }
            if !triggers.contains(&trigger) {
                warnings.push(self.warn(i.name.span().start, format!("integration {name}: no action of {type_name} triggers {trigger:?}, so it never runs")));
            }
            integrations.push(IntegrationDef {
                name,
                trigger,
                kind: i.kind.clone(),
                answers: answers.into_iter().map(|(a, _)| a).collect(),
                offset: i.name.span().start,
            });
        }

        // Sections read but not simulated.
        let sections: [(&[Spanned<Toml>], &str); 6] = [
            (&def.liveness, "[[liveness]] is not checked: runs are finite, so they cannot show that a state is eventually left (see the `quiescence` built-in)"),
            (&def.webhook, "[[webhook]] is an inbound HTTP input; write the calls it would make as [[event]]s"),
            (&def.agent_trigger, "[[agent_trigger]] starts an agent from outside; write what it would send as [[event]]s"),
            (&def.key, "[[key]] declares an index; it changes nothing in a simulation"),
            (&def.vector, "[[vector]] declares a vector index; it changes nothing in a simulation"),
            (&def.state_timeout, "[[state_timeout]] is not simulated: no run times a state out (dispatch the timeout action as an [[event]] to test it)"),
        ];
        for (items, message) in sections {
            for item in items {
                warnings.push(self.warn(item.span().start, message));
            }
        }
        if let Some(f) = def.field_invariant.first() {
            return Err(self
                .err(f.span().start, "[[field_invariant]] is not supported")
                .with_hint("temper enforces it on every action, which changes what the entity does; Ripple does not simulate that yet, and ignoring it would make runs disagree with temper"));
        }
        if let Some(a) = &def.admission {
            return Err(self
                .err(a.span().start, "[admission] is not supported")
                .with_hint("admission limits change which actions temper accepts; Ripple does not simulate them yet"));
        }
        for (t, at) in &trigger_sites {
            if !integrations.iter().any(|i| &i.trigger == t) {
                warnings.push(self.warn(*at, format!("{type_name} triggers {t:?}, which no [[integration]] of the spec answers: only rules of temper's runtime engine can hear it")));
            }
        }

        Ok(TemperSpec {
            path: self.path.to_path_buf(),
            entity: EntitySpec {
                type_name,
                states,
                initial: a.initial.get_ref().clone(),
                fields_initial,
                actions,
            },
            integrations,
            invariants,
            emits,
            triggers,
            inputs,
            warnings,
        })
    }

    /// The byte offset of `inner` bytes into a TOML string whose value starts at `start`
    /// (one past the opening quote; exact for strings without escapes).
    fn string_offset(&self, start: usize, inner: usize) -> usize {
        let quote = &self.text[start.min(self.text.len())..];
        let skip = if quote.starts_with("\"\"\"") || quote.starts_with("'''") {
            3
        } else {
            1
        };
        start + skip + inner
    }

    fn initial_value(
        &self,
        name: &str,
        t: VarType,
        initial: Option<&Spanned<Toml>>,
    ) -> Result<Value, SourceError> {
        let at = initial.map_or(0, |i| i.span().start);
        let text = match initial.map(Spanned::get_ref) {
            None => None,
            Some(Toml::String(s)) => Some(s.trim().to_string()),
            Some(Toml::Integer(n)) => Some(n.to_string()),
            Some(Toml::Boolean(b)) => Some(b.to_string()),
            Some(other) => {
                return Err(self
                    .err(at, format!("state variable {name:?}: initial value {other} is not a string, number or bool"))
                    .with_hint("temper writes initial values as strings: initial = \"0\""))
            }
        };
        Ok(match t {
            VarType::Counter => {
                let n = match text.as_deref() {
                    None | Some("") => 0,
                    Some(s) => s.parse::<u64>().map_err(|_| {
                        self.err(at, format!("counter {name:?}: initial value {s:?} is not a non-negative integer"))
                            .with_hint("temper counters are unsigned: initial = \"0\"")
                    })?,
                };
                Value::from(n)
            }
            VarType::Bool => match text.as_deref() {
                None | Some("") | Some("false") => Value::Bool(false),
                Some("true") => Value::Bool(true),
                Some(s) => {
                    return Err(self
                        .err(
                            at,
                            format!("bool {name:?}: initial value {s:?} is not true or false"),
                        )
                        .with_hint("initial = \"false\""))
                }
            },
            VarType::Text => Value::String(text.unwrap_or_default()),
            VarType::List => {
                if text.as_deref().is_some_and(|s| !s.is_empty() && s != "[]") {
                    return Err(self
                        .err(
                            at,
                            format!("list {name:?}: only an empty initial value is supported"),
                        )
                        .with_hint("temper starts lists empty"));
                }
                Value::Array(Vec::new())
            }
        })
    }

    fn guard(
        &self,
        action: &str,
        g: &Spanned<Toml>,
        scope: &Scope<'_>,
    ) -> Result<Expr, SourceError> {
        let start = g.span().start;
        let clause = |text: &str, at: usize| -> Result<Expr, SourceError> {
            parse_guard(text, scope).map_err(|e| {
                self.err(
                    self.string_offset(at, e.offset),
                    format!("action {action}: guard {text:?}: {}", e.message),
                )
                .with_hint(e.hint)
            })
        };
        let table = |t: &toml::Table, at: usize| -> Result<Expr, SourceError> {
            let kind = t.get("type").and_then(Toml::as_str).unwrap_or("");
            let text = match kind {
                "min_count" | "max_count" => {
                    let var = t.get("var").and_then(Toml::as_str).unwrap_or("");
                    let key = if kind == "min_count" { "min" } else { "max" };
                    let n = t.get(key).and_then(Toml::as_integer).unwrap_or(-1);
                    if n < 0 {
                        return Err(self.err(at, format!("action {action}: a {kind} guard needs `var` and a non-negative `{key}`")));
                    }
                    format!("{key} {var} {n}")
                }
                "is_true" | "is_false" => format!("{kind} {}", t.get("var").and_then(Toml::as_str).unwrap_or("")),
                "state_in" => {
                    let Some(values) = t.get("values").and_then(Toml::as_array) else {
                        return Err(self.err(at, format!("action {action}: a state_in guard needs `values`")));
                    };
                    let mut states = Vec::new();
                    for v in values {
                        let s = v.as_str().unwrap_or("").to_string();
                        if !scope.states.contains(&s) {
                            return Err(self.err(at, format!("action {action}: state_in names {v}, which is not a state")));
                        }
                        states.push(s);
                    }
                    return Ok(Expr::StateIn(states));
                }
                "cross_entity_state" => {
                    return Err(self
                        .err(at, format!("action {action}: cross_entity_state guards are not supported on actions"))
                        .with_hint("an action's guard sees its own entity only in Ripple; a reaction rule's cross_entity_state_in guard can look at another entity"))
                }
                "list_contains" | "list_length_min" => {
                    return Err(self
                        .err(at, format!("action {action}: {kind} guards are not supported"))
                        .with_hint("Ripple keeps a list and a param of the same name in one field, where temper keeps two"))
                }
                other => {
                    return Err(self
                        .err(at, format!("action {action}: unknown guard type {other:?}"))
                        .with_hint("use min_count, max_count, is_true, is_false or state_in"))
                }
            };
            clause(&text, at).map_err(|mut e| {
                // The clause was built from the table; point at the table.
                let (line, column) = line_column(self.text, at);
                e.line = line;
                e.column = column;
                e
            })
        };
        match g.get_ref() {
            Toml::String(s) => clause(s, start),
            Toml::Table(t) => table(t, start),
            Toml::Array(items) => {
                let raw = &self.text[start.min(self.text.len())..];
                let mut all = Vec::new();
                for (k, item) in items.iter().enumerate() {
                    let at = start + nth_item_offset(raw, k);
                    all.push(match item {
                        Toml::String(s) => clause(s, at)?,
                        Toml::Table(t) => table(t, at)?,
                        other => {
                            return Err(self.err(
                                at,
                                format!(
                                "action {action}: a guard clause is a string or a table, not {}",
                                other.type_str()
                            ),
                            ))
                        }
                    });
                }
                Ok(if all.len() == 1 {
                    all.remove(0)
                } else {
                    Expr::All(all)
                })
            }
            other => Err(self
                .err(
                    start,
                    format!(
                        "action {action}: a guard is a string, a list or a table, not {}",
                        other.type_str()
                    ),
                )
                .with_hint("e.g. guard = \"items > 0\"")),
        }
    }

    fn params(
        &self,
        action: &str,
        p: &Spanned<Toml>,
    ) -> Result<Vec<(String, Option<String>)>, SourceError> {
        let start = p.span().start;
        let Toml::Array(items) = p.get_ref() else {
            return Err(self
                .err(start, format!("action {action}: params is a list"))
                .with_hint("params = [\"name\"] or [{ name = \"x\", type = \"string\" }]"));
        };
        let raw = &self.text[start.min(self.text.len())..];
        let mut out = Vec::new();
        for (k, item) in items.iter().enumerate() {
            let at = start + nth_item_offset(raw, k);
            let (name, ty) = match item {
                Toml::String(s) => (s.clone(), None),
                Toml::Table(t) => {
                    if let Some(key) = t.keys().find(|k| *k != "name" && *k != "type") {
                        return Err(self.err(at, format!("action {action}: a param table takes `name` and `type`, not `{key}`")));
                    }
                    let name = t
                        .get("name")
                        .and_then(Toml::as_str)
                        .unwrap_or("")
                        .to_string();
                    (
                        name,
                        t.get("type").and_then(Toml::as_str).map(str::to_string),
                    )
                }
                other => {
                    return Err(self.err(
                        at,
                        format!(
                            "action {action}: a param is a name or a table, not {}",
                            other.type_str()
                        ),
                    ))
                }
            };
            if name.trim().is_empty() {
                return Err(self.err(at, format!("action {action}: a param has no name")));
            }
            out.push((name, ty));
        }
        Ok(out)
    }
}

/// Attaches integrations to a spec's `trigger` commands, as the scenario configures them
/// (`built`: by integration name, for this spec's type).
pub fn attach_integrations(entity: &mut EntitySpec, built: &BTreeMap<String, Arc<Integration>>) {
    for action in entity.actions.values_mut() {
        for c in &mut action.commands {
            if let Command::Trigger { name, integration } = c {
                *integration = built.get(name.as_str()).cloned();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> Result<TemperSpec, SourceError> {
        parse_spec(text, Path::new("x.ioa.toml"))
    }

    const MINI: &str = r#"
[automaton]
name = "Doc"
states = ["New", "Ready", "Gone"]
initial = "New"
terminal = ["Gone"]

[[state]]
name = "edits"
type = "counter"
initial = "0"

[[state]]
name = "ok"
type = "bool"
initial = "false"

[[action]]
name = "Edit"
kind = "input"
from = ["New", "Ready"]
to = "Ready"
params = ["text"]
effect = [{ type = "increment", var = "edits" }, { type = "trigger", name = "lint" }]

[[action]]
name = "Linted"
kind = "input"
from = ["Ready"]
effect = "set ok true"

[[action]]
name = "Drop"
from = ["Ready"]
to = "Gone"
guard = ["min edits 1", "ok"]

[[invariant]]
name = "ReadyWasEdited"
when = ["Ready"]
assert = "edits > 0"

[[integration]]
name = "lint"
trigger = "lint"
type = "wasm"
module = "linter"
on_success = "Linted"
"#;

    #[test]
    fn a_spec_lowers_to_an_entity_with_fields_guards_commands_and_invariants() {
        let s = spec(MINI).unwrap();
        assert_eq!(s.entity.type_name, "Doc");
        assert_eq!(s.entity.fields_initial["edits"], serde_json::json!(0));
        assert_eq!(s.entity.fields_initial["ok"], serde_json::json!(false));
        let drop = &s.entity.actions["Drop"];
        assert_eq!(drop.guard.as_ref().unwrap().to_string(), "edits >= 1 && ok");
        let edit = &s.entity.actions["Edit"];
        assert!(
            matches!(&edit.commands[0], Command::Trigger { name, integration: None } if name == "lint")
        );
        assert_eq!(s.integrations[0].answers, vec!["Linted"]);
        let names: Vec<&str> = s.invariants.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, vec!["spec:Doc.terminal", "spec:Doc.ReadyWasEdited"]);
        assert_eq!(
            s.inputs.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
            vec!["Edit", "Linted"]
        );
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn unknown_keys_and_unsupported_constructs_are_errors_with_a_place() {
        let e = spec(&MINI.replace(
            "kind = \"input\"\nfrom = [\"Ready\"]",
            "knd = \"input\"\nfrom = [\"Ready\"]",
        ))
        .unwrap_err();
        assert!(e.message.contains("unknown field `knd`"), "{e}");
        assert!(e.line > 0 && e.column > 0);
        let e = spec(&MINI.replace("assert = \"edits > 0\"", "assert = \"edit > 0\"")).unwrap_err();
        assert!(
            e.message
                .contains("`edit` is not a declared state variable"),
            "{e}"
        );
        assert_eq!((e.line, e.column), (41, 11), "{e}");
        let e = spec(&format!("{MINI}\n[[field_invariant]]\nname = \"x\"\n")).unwrap_err();
        assert!(
            e.message.contains("[[field_invariant]] is not supported"),
            "{e}"
        );
        let e =
            spec(&MINI.replace("on_success = \"Linted\"", "on_success = \"Lnted\"")).unwrap_err();
        assert!(e.message.contains("not an action of Doc"), "{e}");
    }

    #[test]
    fn constructs_that_change_nothing_are_warnings() {
        let s = spec(&format!("{MINI}\n[[liveness]]\nname = \"L\"\nfrom = [\"New\"]\nreaches = [\"Gone\"]\n\n[[key]]\nname = \"k\"\nproperties = [\"x\"]\n")).unwrap();
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
        assert!(s.warnings[0].starts_with("x.ioa.toml:"), "{:?}", s.warnings);
        assert!(s.warnings[0].contains("warning: [[liveness]] is not checked"));
    }
}

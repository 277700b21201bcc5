//! The lint pass: names a scenario uses, checked against what the scenario can ever produce,
//! run by every command before anything runs (and alone by `ripple lint`).
//!
//! What a scenario can produce: the declared states of each type; the fields of each type
//! that something can set (an action's effect, the params of an event, a generator, a
//! rule's `params`/`params_from`, a reflex's `then`, the type's initial fields); the subjects
//! some event or generator can publish, and the commit subjects `entity.<Type>.<Action>.<id>`.
//!
//! Errors (a name that is unknown, with a "did you mean" hint): a field an invariant reads or
//! an expectation checks that nothing sets; a state an invariant compares a status with, or a
//! guard's `state_in`/`cross_entity_state_in` names, that is not declared; a field a guard
//! reads that nothing sets on its source type; a `cross_entity_state_in` on an undeclared type.
//!
//! Warnings (a thing that can never happen): a reflex pattern that no published subject can
//! match; a `params_from` source or a `cross_entity_state_in` `entity_id_source` that nothing
//! sets; a `{payload.KEY}` in a reflex's `then` that no event it can hear carries; a
//! `{token.N}` past the last token of every subject it can hear; a published payload that is
//! not a table when no process handler could read it.
//!
//! What it does not check: types whose fields cannot be known here (temper specs, whose
//! integrations add params, and every type when a process reflex can dispatch anything) are
//! left out of the field checks; it does not follow values (a field set only on a path that
//! never runs still counts as set); generator subjects match with their placeholders taken
//! as any token.

use crate::core::Value;
use crate::engine::{Effect, Guard, Rule};
use crate::scenario::{Input, ReflexKind, Scenario, SourceError, Template};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What the lint pass found.
#[derive(Debug, Clone, Default)]
pub struct Lints {
    pub errors: Vec<SourceError>,
    pub warnings: Vec<SourceError>,
}

impl Lints {
    /// A warning as the CLI prints it and JSON carries it: `path:line:col: warning: ...`.
    pub fn warning_lines(&self) -> Vec<String> {
        self.warnings
            .iter()
            .map(|w| {
                let mut w = w.clone();
                w.message = format!("warning: {}", w.message);
                w.to_string()
            })
            .collect()
    }
}

/// Lints the scenario loaded from `scenario.path` (read again for positions; a scenario
/// with no readable file is linted with positions unknown).
pub fn lint_scenario(scenario: &Scenario) -> Lints {
    let text = crate::core::read_input(&scenario.path).unwrap_or_default();
    lint_scenario_text(scenario, &text)
}

/// Lints `scenario`, whose file's text is `text`.
pub fn lint_scenario_text(scenario: &Scenario, text: &str) -> Lints {
    let mut l = Linter {
        s: scenario,
        text: Cow::Borrowed(text),
        path: Cow::Borrowed(&scenario.path),
        fields: BTreeMap::new(),
        open: BTreeSet::new(),
        out: Lints::default(),
    };
    l.collect_fields();
    l.invariants();
    l.expects();
    l.rules();
    l.reflexes();
    l.payloads();
    l.out
}

struct Linter<'a> {
    s: &'a Scenario,
    /// The file positions point into: the scenario's, or a rule file's while its rules are
    /// linted.
    text: Cow<'a, str>,
    path: Cow<'a, Path>,
    /// Per type, the fields something can set.
    fields: BTreeMap<String, BTreeSet<String>>,
    /// Types whose fields cannot be known here.
    open: BTreeSet<String>,
    out: Lints,
}

impl Linter<'_> {
    fn at(&self, offset: Option<usize>, message: String) -> SourceError {
        match offset {
            Some(o) => SourceError::at(&self.path, &self.text, o, message),
            None => SourceError::file(&self.path, message),
        }
    }

    fn set(&mut self, ty: &str, field: &str) {
        self.fields
            .entry(ty.to_string())
            .or_default()
            .insert(field.to_string());
    }

    fn set_keys(&mut self, ty: &str, params: &Value) {
        if let Value::Object(m) = params {
            for k in m.keys() {
                self.set(ty, k);
            }
        }
    }

    fn collect_fields(&mut self) {
        let s = self.s;
        for (ty, spec) in &s.entities {
            for k in spec.fields_initial.keys() {
                self.set(ty, k);
            }
            for a in spec.actions.values() {
                for e in &a.effects {
                    let var = match e {
                        Effect::Increment(v)
                        | Effect::Decrement(v)
                        | Effect::Set(v, _)
                        | Effect::DecrementFloor(v)
                        | Effect::Add(v, _) => v,
                        Effect::IncrementBy { var, .. }
                        | Effect::DecrementBy { var, .. }
                        | Effect::SetFromParam { var, .. } => var,
                    };
                    self.set(ty, var);
                }
            }
        }
        for e in &s.events {
            if let Input::Dispatch {
                entity_type,
                params,
                ..
            } = &e.input
            {
                self.set_keys(entity_type, params);
            }
        }
        for g in &s.generators {
            if let Template::Dispatch {
                entity_type,
                params,
                ..
            } = &g.template
            {
                self.set_keys(entity_type, params);
            }
        }
        let rules: Vec<&Rule> = s
            .rules
            .values()
            .chain(s.runtime_rules.values())
            .flatten()
            .map(|r| r.as_ref())
            .collect();
        for r in rules {
            let ty = &r.then.entity_type;
            if !matches!(r.then.params, Value::Object(_) | Value::Null) {
                self.open.insert(ty.clone());
            }
            self.set_keys(ty, &r.then.params);
            for k in r.then.params_from.keys() {
                self.set(ty, k);
            }
        }
        for r in &s.reflexes {
            match &r.kind {
                ReflexKind::Declarative { then: Some(t), .. } => {
                    self.set_keys(&t.entity_type, &t.params);
                }
                ReflexKind::Process { .. } => {
                    // A process handler may dispatch any action with any params.
                    self.open.extend(s.entities.keys().cloned());
                }
                _ => {}
            }
        }
        self.open.extend(s.spec_types.iter().cloned());
    }

    /// Whether `field` of `ty` can be set, or cannot be known.
    fn settable(&self, ty: &str, field: &str) -> bool {
        self.open.contains(ty) || self.fields.get(ty).is_some_and(|f| f.contains(field))
    }

    fn field_hint(&self, ty: &str, field: &str) -> String {
        let known: Vec<&str> = self
            .fields
            .get(ty)
            .map(|f| f.iter().map(String::as_str).collect())
            .unwrap_or_default();
        hint(
            field,
            &known,
            &format!("fields of {ty} that something sets"),
        )
    }

    fn state_hint(&self, ty: &str, state: &str) -> String {
        let known: Vec<&str> = self
            .s
            .entities
            .get(ty)
            .map(|e| e.states.iter().map(String::as_str).collect())
            .unwrap_or_default();
        hint(state, &known, &format!("states of {ty}"))
    }

    fn is_state(&self, ty: &str, state: &str) -> bool {
        self.s
            .entities
            .get(ty)
            .is_none_or(|e| e.states.iter().any(|s| s == state))
    }

    fn invariants(&mut self) {
        for inv in &self.s.invariants {
            let inv = &inv.invariant;
            let names = inv.predicate.names();
            let start = find_quoted(&self.text, 0, &inv.text)
                .or_else(|| find_quoted(&self.text, 0, &inv.name));
            for (ty, field) in &names.fields {
                if self.settable(ty, field) {
                    continue;
                }
                let at = start
                    .and_then(|s| find_from(&self.text, s, &format!("].{field}")).map(|o| o + 2));
                let message = format!(
                    "invariant {:?}: {ty} has no field {field:?}: nothing in the scenario sets it, so the comparison never sees a value",
                    inv.name
                );
                let err = self
                    .at(at.or(start), message)
                    .with_hint(self.field_hint(ty, field));
                self.out.errors.push(err);
            }
            for (ty, state) in &names.states {
                if self.is_state(ty, state) {
                    continue;
                }
                let at = start.and_then(|s| {
                    find_from(&self.text, s, &format!("'{state}'"))
                        .or_else(|| find_from(&self.text, s, &format!("\\\"{state}\\\"")))
                        .or_else(|| find_from(&self.text, s, &format!("\"{state}\"")))
                });
                let message = format!("invariant {:?}: {state:?} is not a state of {ty}", inv.name);
                let err = self
                    .at(at.or(start), message)
                    .with_hint(self.state_hint(ty, state));
                self.out.errors.push(err);
            }
        }
    }

    fn expects(&mut self) {
        let blocks = table_starts(&self.text, "[[expect]]");
        for (i, x) in self.s.expects.iter().enumerate() {
            let start = blocks.get(i).copied();
            for field in x.fields.keys() {
                if self.settable(&x.entity_type, field) {
                    continue;
                }
                let at = start.and_then(|s| find_key(&self.text, s, field));
                let message = format!(
                    "expect {}/{}/{}: {} has no field {field:?}: nothing in the scenario sets it",
                    x.tenant, x.entity_type, x.id, x.entity_type
                );
                let err = self
                    .at(at.or(start), message)
                    .with_hint(self.field_hint(&x.entity_type, field));
                self.out.errors.push(err);
            }
        }
    }

    fn rules(&mut self) {
        let mut seen = BTreeSet::new();
        let rules: Vec<&Rule> = self
            .s
            .rules
            .values()
            .flatten()
            .map(|r| r.as_ref())
            .filter(|r| seen.insert(r.name.clone()))
            .collect();
        for r in rules {
            // A rule from a rule file is placed in that file, at its table.
            let from_file = self.s.rule_files.get(&r.name).map(|(file, offset)| {
                let text = crate::core::read_input(file).unwrap_or_default();
                let saved = (
                    std::mem::replace(&mut self.text, Cow::Owned(text)),
                    std::mem::replace(&mut self.path, Cow::Owned(file.clone())),
                );
                (saved, *offset)
            });
            let at = match &from_file {
                Some((_, offset)) => Some(*offset),
                None => find_quoted(&self.text, 0, &r.name),
            };
            self.rule(r, at);
            if let Some(((text, path), _)) = from_file {
                self.text = text;
                self.path = path;
            }
        }
    }

    fn rule(&mut self, r: &Rule, at: Option<usize>) {
        {
            let source = &r.when.entity_type;
            if let Some(g) = &r.when.guard {
                self.guard(r, g, at);
            }
            for (target, from) in &r.then.params_from {
                // `id` (or `Id`) is the source's own id, not a field: always there.
                let own_id = from == "id" || from == "Id";
                if !own_id && !self.settable(source, from) {
                    let message = format!(
                        "rule {:?}: params_from {target} = {from:?}: nothing sets {source}.{from}, so the param is never passed",
                        r.name
                    );
                    let at = at.and_then(|a| find_quoted(&self.text, a, from)).or(at);
                    let w = self
                        .at(at, message)
                        .with_hint(self.field_hint(source, from));
                    self.out.warnings.push(w);
                }
            }
        }
    }

    fn guard(&mut self, r: &Rule, g: &Guard, at: Option<usize>) {
        let source = &r.when.entity_type;
        let near = |l: &Self, name: &str| at.and_then(|a| find_quoted(&l.text, a, name)).or(at);
        match g {
            Guard::FieldEquals { field, .. }
            | Guard::FieldIn { field, .. }
            | Guard::BoolTrue { field }
            | Guard::BoolFalse { field } => {
                if !self.settable(source, field) {
                    let message = format!(
                        "rule {:?}: the guard reads {source}.{field}, which nothing sets",
                        r.name
                    );
                    let e = self
                        .at(near(self, field), message)
                        .with_hint(self.field_hint(source, field));
                    self.out.errors.push(e);
                }
            }
            Guard::StateIn { values } => {
                for v in values {
                    if !self.is_state(source, v) {
                        let message = format!(
                            "rule {:?}: state_in {v:?} is not a state of {source}",
                            r.name
                        );
                        let e = self
                            .at(near(self, v), message)
                            .with_hint(self.state_hint(source, v));
                        self.out.errors.push(e);
                    }
                }
            }
            Guard::CrossEntityStateIn {
                entity_type,
                entity_id_source,
                required_status,
            } => {
                if !self.s.entities.contains_key(entity_type) {
                    let known: Vec<&str> = self.s.entities.keys().map(String::as_str).collect();
                    let message = format!(
                        "rule {:?}: cross_entity_state_in entity_type {entity_type:?} is not declared",
                        r.name
                    );
                    let e = self.at(near(self, entity_type), message).with_hint(hint(
                        entity_type,
                        &known,
                        "declared types",
                    ));
                    self.out.errors.push(e);
                    return;
                }
                for v in required_status {
                    if !self.is_state(entity_type, v) {
                        let message = format!(
                            "rule {:?}: required_status {v:?} is not a state of {entity_type}",
                            r.name
                        );
                        let e = self
                            .at(near(self, v), message)
                            .with_hint(self.state_hint(entity_type, v));
                        self.out.errors.push(e);
                    }
                }
                if !self.settable(source, entity_id_source) {
                    let message = format!(
                        "rule {:?}: cross_entity_state_in reads the id from {source}.{entity_id_source}, which nothing sets: the guard is always false",
                        r.name
                    );
                    let w = self
                        .at(near(self, entity_id_source), message)
                        .with_hint(self.field_hint(source, entity_id_source));
                    self.out.warnings.push(w);
                }
            }
            Guard::AllOf { guards } | Guard::AnyOf { guards } => {
                for g in guards {
                    self.guard(r, g, at);
                }
            }
            Guard::Not { guard } => self.guard(r, guard, at),
        }
    }

    /// Every subject something can publish, as tokens (`None`: any one token, from a
    /// generator's placeholder or a commit's id), with the payload keys it can carry (`None`:
    /// unknown).
    fn subjects(&self) -> Vec<Published> {
        let mut out = Vec::new();
        let keys = |v: &Value| match v {
            Value::Object(m) => Some(m.keys().cloned().collect::<BTreeSet<String>>()),
            _ => None,
        };
        for e in &self.s.events {
            if let Input::Publish { subject, payload } = &e.input {
                let tokens = subject.as_str().split('.').map(|t| Some(t.to_string()));
                out.push((tokens.collect(), keys(payload)));
            }
        }
        for g in &self.s.generators {
            if let Template::Publish { subject, .. } = &g.template {
                let tokens = subject
                    .split('.')
                    .map(|t| (!t.contains('{')).then(|| t.to_string()));
                // Placeholders in the payload make its keys unknown here.
                out.push((tokens.collect(), None));
            }
        }
        for (ty, spec) in &self.s.entities {
            for a in spec.actions.keys() {
                let tokens = vec![
                    Some("entity".to_string()),
                    Some(ty.clone()),
                    Some(a.clone()),
                    None,
                ];
                let payload = ["entity_type", "id", "action", "status"];
                out.push((
                    tokens,
                    Some(payload.iter().map(|k| k.to_string()).collect()),
                ));
            }
        }
        out
    }

    /// A payload that is not a table is legal (recorded traffic keeps what the bus carried)
    /// but only a process or library handler can read it: the first-party handlers and the
    /// declarative templates read payload keys.
    fn payloads(&mut self) {
        if self.s.reflexes.iter().any(|r| r.is_external()) {
            return;
        }
        let mut from = 0;
        for e in &self.s.events {
            let Input::Publish { subject, payload } = &e.input else {
                continue;
            };
            let at = find_quoted(&self.text, from, subject.as_str());
            if let Some(a) = at {
                from = a + 1;
            }
            if payload.is_object() || e.vendor.is_some() {
                continue;
            }
            let at = at.and_then(|a| find_from(&self.text, a, "payload")).or(at);
            let message = format!(
                "the payload published on {:?} is not a table: no handler of this scenario reads anything but a table's keys",
                subject.as_str()
            );
            let w = self
                .at(at, message)
                .with_hint("write payload = { key = value, ... }, or add a process reflex that reads it as it is");
            self.out.warnings.push(w);
        }
    }

    fn reflexes(&mut self) {
        let subjects = self.subjects();
        for r in &self.s.reflexes {
            let (pattern, then) = match &r.kind {
                ReflexKind::Builtin { pattern, .. } => (pattern, None),
                ReflexKind::Declarative { pattern, then, .. } => (pattern, then.as_ref()),
                ReflexKind::Process { spec, .. } => (&spec.pattern, None),
                // A Rust handler's pattern is its own, unknown to the scenario.
                ReflexKind::Library { .. } => continue,
            };
            let heard: Vec<&Option<BTreeSet<String>>> = subjects
                .iter()
                .filter(|(tokens, _)| pattern_may_match(pattern.as_str(), tokens))
                .map(|(_, keys)| keys)
                .collect();
            // A generator's placeholder may draw a value with dots in it (and an entity id
            // may hold dots), so such subjects have no known length: then no token index is
            // past the end.
            let heard_lengths: Vec<usize> = subjects
                .iter()
                .filter(|(tokens, _)| pattern_may_match(pattern.as_str(), tokens))
                .map(|(tokens, _)| {
                    if tokens.iter().any(Option::is_none) {
                        usize::MAX
                    } else {
                        tokens.len()
                    }
                })
                .collect();
            let at = find_quoted(&self.text, 0, &r.id)
                .and_then(|a| find_quoted(&self.text, a, pattern.as_str()).or(Some(a)))
                .or_else(|| find_quoted(&self.text, 0, pattern.as_str()));
            if heard.is_empty() {
                let message = format!(
                    "reflex {:?}: no event, generator or entity commit publishes a subject that {:?} matches: it never fires",
                    r.id,
                    pattern.as_str()
                );
                let w = self.at(at, message).with_hint(
                    "check the pattern's tokens against the events' subjects (`*` is one token, `>` one or more at the end)",
                );
                self.out.warnings.push(w);
                continue;
            }
            let Some(t) = then else { continue };
            // `{payload.KEY}` that no subject the reflex hears carries.
            let mut texts = vec![t.id.clone()];
            if let Value::Object(m) = &t.params {
                texts.extend(m.values().filter_map(|v| v.as_str().map(str::to_string)));
            }
            // `{token.N}` past the last token of every subject the reflex hears.
            let tokens_max = heard_lengths.iter().copied().max().unwrap_or(0);
            let past: BTreeSet<usize> = texts
                .iter()
                .flat_map(|text| token_placeholders(text))
                .filter(|n| *n >= tokens_max)
                .collect();
            for n in past {
                let message = format!(
                    "reflex {:?}: {{token.{n}}} is past the last token of every subject it can hear ({tokens_max} tokens at most): the template fails and the outcome is `errored`",
                    r.id
                );
                let at = at
                    .and_then(|a| find_from(&self.text, a, &format!("token.{n}")))
                    .or(at);
                let w = self.at(at, message).with_hint(format!(
                    "tokens count from 0: use {{token.0}} to {{token.{}}}",
                    tokens_max.saturating_sub(1)
                ));
                self.out.warnings.push(w);
            }
            if heard.iter().any(|k| k.is_none()) {
                continue;
            }
            let carried: BTreeSet<&String> =
                heard.iter().flat_map(|k| k.iter().flatten()).collect();
            let mut missing = BTreeSet::new();
            for text in &texts {
                for key in payload_placeholders(text) {
                    if !carried.contains(&key) {
                        missing.insert(key);
                    }
                }
            }
            for key in missing {
                let known: Vec<&str> = carried.iter().map(|k| k.as_str()).collect();
                let message = format!(
                    "reflex {:?}: {{payload.{key}}} is in no payload it can hear: the template fails and the outcome is `errored`",
                    r.id
                );
                let at = at
                    .and_then(|a| find_from(&self.text, a, &format!("payload.{key}")))
                    .or(at);
                let w =
                    self.at(at, message)
                        .with_hint(hint(&key, &known, "payload keys it can hear"));
                self.out.warnings.push(w);
            }
        }
    }
}

/// A subject something can publish, as tokens (`None`: any one token), with the payload keys
/// it can carry (`None`: unknown).
type Published = (Vec<Option<String>>, Option<BTreeSet<String>>);

/// `{payload.KEY}` placeholders of a template (the top-level key only).
fn payload_placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("{payload.") {
        let after = &rest[i + "{payload.".len()..];
        let Some(end) = after.find('}') else { break };
        let key = after[..end].split('.').next().unwrap_or("");
        if !key.is_empty() {
            out.push(key.to_string());
        }
        rest = &after[end..];
    }
    out
}

/// `{token.N}` placeholders of a template.
fn token_placeholders(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("{token.") {
        let after = &rest[i + "{token.".len()..];
        let Some(end) = after.find('}') else { break };
        if let Ok(n) = after[..end].parse::<usize>() {
            out.push(n);
        }
        rest = &after[end..];
    }
    out
}

/// Whether `pattern` can match a subject of these tokens (`None`: any one token).
fn pattern_may_match(pattern: &str, tokens: &[Option<String>]) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    for (i, pt) in p.iter().enumerate() {
        if *pt == ">" {
            return tokens.len() > i;
        }
        let Some(t) = tokens.get(i) else {
            return false;
        };
        match t {
            None => {}
            Some(t) if *pt == "*" || pt == t => {}
            Some(_) => return false,
        }
    }
    p.len() == tokens.len()
}

/// A hint for `name` among `known`: the closest (a "did you mean"), then the list.
pub(crate) fn hint(name: &str, known: &[&str], what: &str) -> String {
    if known.is_empty() {
        return format!("there are no {what}");
    }
    let best = known
        .iter()
        .map(|k| (edit_distance(name, k), *k))
        .min()
        .filter(|(d, k)| *d <= 2.max(k.chars().count() / 3));
    let list = known.join(", ");
    match best {
        Some((_, k)) => format!("did you mean {k:?}? ({what}: {list})"),
        None => format!("{what}: {list}"),
    }
}

/// Levenshtein distance, over chars (names are short; the budget is their length product).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn find_from(text: &str, from: usize, needle: &str) -> Option<usize> {
    text.get(from..)?.find(needle).map(|i| from + i)
}

/// Where `value` is written as a TOML string (either quote) at or after `from`: the offset
/// of the value, after its quote.
fn find_quoted(text: &str, from: usize, value: &str) -> Option<usize> {
    let a = find_from(text, from, &format!("\"{value}\"")).map(|o| o + 1);
    let b = find_from(text, from, &format!("'{value}'")).map(|o| o + 1);
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Where `key` is written as a key (`key =` or `key=`) at or after `from`.
fn find_key(text: &str, from: usize, key: &str) -> Option<usize> {
    let mut at = from;
    while let Some(o) = find_from(text, at, key) {
        let before_ok = o == 0
            || !text[..o]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let after = text[o + key.len()..].trim_start();
        if before_ok && after.starts_with('=') {
            return Some(o);
        }
        at = o + key.len();
    }
    None
}

/// Offsets of each line that opens `table` (`[[expect]]`), in file order.
fn table_starts(text: &str, table: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with(table) {
            out.push(offset);
        }
        offset += line.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;

    const BASE: &str = r#"[scenario]
name = "lint"

[[tenant]]
id = "netops"

[[entity]]
type = "Pager"
states = ["Idle", "Paging"]
initial = "Idle"
[[entity.action]]
name = "Notify"
effect = ["increment pages"]

[[entity]]
type = "Incident"
states = ["New", "Open"]
initial = "New"
[[entity.action]]
name = "Open"
to = "Open"
effect = ["increment signals"]

[[event]]
at = "0ms"
tenant = "netops"
subject = "sensory.link_down.snmp_trap.r1"
payload = { device = "r1" }
"#;

    fn lint(extra: &str) -> (String, Lints) {
        let text = format!("{BASE}{extra}");
        let s = parse_scenario(&text, Path::new("lint.toml")).unwrap_or_else(|e| panic!("{e}"));
        let l = lint_scenario_text(&s, &text);
        (text, l)
    }

    fn only(errors: &[SourceError]) -> String {
        assert_eq!(errors.len(), 1, "{errors:#?}");
        errors[0].to_string()
    }

    #[test]
    fn a_typo_in_an_invariant_field_is_an_error_with_its_place_and_a_guess() {
        let (text, l) =
            lint("[[invariant]]\nname = \"few_pages\"\nalways = \"Pager['oncall'].pagse < 3\"\n");
        let e = only(&l.errors);
        assert!(e.contains("Pager has no field \"pagse\""), "{e}");
        assert!(e.contains("did you mean \"pages\"?"), "{e}");
        let line = text.lines().position(|l| l.contains("pagse")).unwrap() + 1;
        let column = text.lines().nth(line - 1).unwrap().find("pagse").unwrap() + 1;
        assert!(
            e.starts_with(&format!("lint.toml:{line}:{column}: ")),
            "{e}"
        );
    }

    #[test]
    fn a_typo_in_status_is_an_error() {
        let (_, l) =
            lint("[[invariant]]\nname = \"n\"\nnever = \"Incident[id].statsu == 'Open'\"\n");
        let e = only(&l.errors);
        assert!(e.contains("no field \"statsu\""), "{e}");
        let (_, l) =
            lint("[[invariant]]\nname = \"n\"\nnever = \"Incident[id].status == 'Opne'\"\n");
        let e = only(&l.errors);
        assert!(e.contains("\"Opne\" is not a state of Incident"), "{e}");
        assert!(e.contains("did you mean \"Open\"?"), "{e}");
    }

    #[test]
    fn an_expected_field_nothing_sets_is_an_error() {
        let (_, l) = lint(
            "[[expect]]\ntenant = \"netops\"\nentity_type = \"Pager\"\nid = \"oncall\"\nfields = { pagse = 3 }\n",
        );
        let e = only(&l.errors);
        assert!(e.contains("Pager has no field \"pagse\""), "{e}");
        assert!(e.contains("lint.toml:33:12:"), "{e}");
    }

    const RULE: &str = r#"
[[reaction]]
name = "incident_pages"
[reaction.when]
entity_type = "Incident"
action = "Open"
[reaction.then]
entity_type = "Pager"
action = "Notify"
[reaction.resolve_target]
type = "static"
entity_id = "oncall"
"#;

    #[test]
    fn a_cross_entity_id_source_nothing_sets_is_a_warning() {
        let guard = "[reaction.when.guard]\ntype = \"cross_entity_state_in\"\nentity_type = \"Pager\"\nentity_id_source = \"pager_id\"\nrequired_status = [\"Idle\"]\n";
        let (_, l) = lint(&format!("{RULE}{guard}"));
        assert!(l.errors.is_empty(), "{:#?}", l.errors);
        let w = only(&l.warnings);
        assert!(w.contains("Incident.pager_id, which nothing sets"), "{w}");
        assert!(l.warning_lines()[0].contains(": warning: rule"), "{w}");
    }

    #[test]
    fn a_guard_on_a_field_nothing_sets_is_an_error_and_a_state_typo_too() {
        let guard =
            "[reaction.when.guard]\ntype = \"field_equals\"\nfield = \"signal\"\nvalue = 1\n";
        let (_, l) = lint(&format!("{RULE}{guard}"));
        let e = only(&l.errors);
        assert!(e.contains("the guard reads Incident.signal"), "{e}");
        assert!(e.contains("did you mean \"signals\"?"), "{e}");
        let guard = "[reaction.when.guard]\ntype = \"state_in\"\nvalues = [\"Opened\"]\n";
        let (_, l) = lint(&format!("{RULE}{guard}"));
        assert!(only(&l.errors).contains("\"Opened\" is not a state of Incident"));
    }

    #[test]
    fn a_params_from_source_nothing_sets_is_a_warning() {
        let rule = RULE.replace(
            "action = \"Notify\"\n",
            "action = \"Notify\"\nparams_from = { last = \"target\" }\n",
        );
        let (_, l) = lint(&rule);
        assert!(l.errors.is_empty(), "{:#?}", l.errors);
        let w = only(&l.warnings);
        assert!(w.contains("nothing sets Incident.target"), "{w}");
    }

    #[test]
    fn a_reflex_pattern_nothing_publishes_is_a_warning() {
        let reflex = "[[reflex]]\nid = \"on_bgp\"\ntenant = \"netops\"\npattern = \"sensory.bgp_drop.>\"\nseverity = \"high\"\n";
        let (_, l) = lint(reflex);
        let w = only(&l.warnings);
        assert!(w.contains("reflex \"on_bgp\": no event"), "{w}");
        // One that an event can match, and one that an entity commit can.
        let (_, l) = lint(&reflex.replace("bgp_drop", "link_down"));
        assert!(l.warnings.is_empty(), "{:#?}", l.warnings);
        let (_, l) = lint(&reflex.replace("sensory.bgp_drop.>", "entity.Pager.*.*"));
        assert!(l.warnings.is_empty(), "{:#?}", l.warnings);
    }

    #[test]
    fn a_template_key_no_payload_carries_is_a_warning() {
        let reflex = "[[reflex]]\nid = \"open\"\ntenant = \"netops\"\npattern = \"sensory.link_down.>\"\nseverity = \"high\"\nthen = { entity_type = \"Incident\", action = \"Open\", id = \"{payload.devcie}\" }\n";
        let (_, l) = lint(reflex);
        let w = only(&l.warnings);
        assert!(w.contains("{payload.devcie} is in no payload"), "{w}");
        assert!(w.contains("did you mean \"device\"?"), "{w}");
    }

    #[test]
    fn a_template_token_past_every_heard_subject_is_a_warning() {
        let reflex = "[[reflex]]\nid = \"open\"\ntenant = \"netops\"\npattern = \"sensory.link_down.>\"\nseverity = \"high\"\nthen = { entity_type = \"Incident\", action = \"Open\", id = \"{token.9}\" }\n";
        let (_, l) = lint(reflex);
        let w = only(&l.warnings);
        assert!(w.contains("{token.9} is past the last token"), "{w}");
        // The last token of the subjects it hears is fine.
        let (_, l) = lint(&reflex.replace("token.9", "token.3"));
        assert!(l.warnings.is_empty(), "{:#?}", l.warnings);
    }

    #[test]
    fn a_payload_no_handler_can_read_is_a_warning() {
        let event = "[[event]]\nat = \"0ms\"\ntenant = \"netops\"\nsubject = \"sensory.link_down.snmp_trap.r2\"\npayload = 5\n";
        let (_, l) = lint(event);
        let w = only(&l.warnings);
        assert!(w.contains("is not a table"), "{w}");
        let (_, l) = lint(&event.replace("payload = 5", "payload = { device = \"r2\" }"));
        assert!(l.warnings.is_empty(), "{:#?}", l.warnings);
    }

    #[test]
    fn the_shipped_scenarios_lint_clean() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.extend(
            std::fs::read_dir(dir.join("slippage"))
                .unwrap()
                .map(|e| e.unwrap().path()),
        );
        for p in paths {
            let s = crate::scenario::load_scenario(&p).unwrap_or_else(|e| panic!("{e}"));
            let l = lint_scenario(&s);
            assert!(
                l.errors.is_empty() && l.warnings.is_empty(),
                "{}: {:#?} {:#?}",
                p.display(),
                l.errors,
                l.warnings
            );
        }
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("pagse", "pages"), 2);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("status", "status"), 0);
    }
}

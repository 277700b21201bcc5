//! Declarative reflexes: a scenario's `[[reflex]]` entries with an `id`, a `pattern`, a
//! `severity` and an optional `then` action whose id and params are string templates.
//!
//! Templates are `{payload.a.b}` (a payload path; numeric segments index arrays),
//! `{subject}`, `{token.N}` (0-based subject token), `{tenant}` and `{event_id}`; `{{` and `}}`
//! are literal braces. A string param that is exactly one placeholder keeps the JSON type of
//! what it names (`"{payload.peer_asn}"` gives the number `65001`), so guards and `requires`
//! comparisons see numbers as numbers; anything else renders to a string.
//!
//! This module checks template syntax (`validate_template`, for the scenario parser) and
//! renders templates; it does not parse TOML, check that the entity type or action exists
//! (the scenario validator does), nor deduplicate: a declarative reflex fires on every event.

use crate::bus::{Envelope, Pattern};
use crate::core::SimTime;
use crate::core::{parse_template, Piece as TemplatePiece, TemplateError};
use crate::core::{EntityId, Object, Value};
use crate::core::{OutcomeKind, Severity};
use crate::engine::reflex::common::{concat, truncate_chars_in_place};
use crate::engine::reflex::{
    ActionRequest, HandlerOutput, Outcome, ReflexHandler, RATIONALE_CHARS_MAX,
};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The placeholders a template may use, for hints.
const PLACEHOLDERS_HELP: &str =
    "use {payload.<path>}, {subject}, {token.<n>}, {tenant} or {event_id}, and write {{ or }} for a literal brace";

/// How deep `params` may nest: a budget on the recursive walk, far above any real scenario.
const PARAMS_DEPTH_MAX: usize = 32;

/// The `then` of a `[[reflex]]` entry: the entity action to dispatch, with templated id and
/// params.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThenTemplate {
    pub entity_type: String,
    pub action: String,
    /// The target entity's id, a template such as `{payload.device}|{payload.interface}`.
    pub id: String,
    /// Static params; string values (at any depth) are templates. Keys are not templated.
    #[serde(default = "empty_object", deserialize_with = "crate::core::finite")]
    pub params: Value,
}

fn empty_object() -> Value {
    Value::Object(Object::new())
}

impl ThenTemplate {
    /// Checks the id template and every string in `params`; the message names the place
    /// (`id` or `params.a.b`).
    pub fn validate(&self) -> Result<(), String> {
        if self.id.is_empty() {
            return Err("then.id is empty; name the target, e.g. \"{payload.device}\"".into());
        }
        validate_template(&self.id).map_err(|e| format!("then.id: {e}"))?;
        validate_params(&self.params, "then.params", 0)
    }
}

fn validate_params(value: &Value, place: &str, depth: usize) -> Result<(), String> {
    if depth > PARAMS_DEPTH_MAX {
        return Err(format!(
            "{place}: nested deeper than {PARAMS_DEPTH_MAX} levels"
        ));
    }
    match value {
        Value::String(s) => validate_template(s).map_err(|e| format!("{place}: {e}")),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| validate_params(v, &format!("{place}[{i}]"), depth + 1)),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, v)| validate_params(v, &format!("{place}.{k}"), depth + 1)),
        _ => Ok(()),
    }
}

/// Checks a template's syntax: balanced braces and known placeholders. A payload path is not
/// checked against any payload here; a missing field is a runtime error of the reflex.
pub fn validate_template(template: &str) -> Result<(), String> {
    parse(template).map(|_| ())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Placeholder {
    Payload(Vec<String>),
    Subject,
    Token(usize),
    Tenant,
    EventId,
}

/// The pieces of a reflex template: the scenario template language, with the placeholders a
/// reflex knows.
type Piece = TemplatePiece<Placeholder>;

fn parse(template: &str) -> Result<Vec<Piece>, String> {
    parse_template(template, |name| parse_placeholder(template, name)).map_err(|e| match e {
        TemplateError::Unclosed { at } => format!(
            "template {template:?}: the `{{` at byte {at} is not closed; {PLACEHOLDERS_HELP}"
        ),
        TemplateError::Unopened { at } => format!(
            "template {template:?}: the `}}` at byte {at} has no matching `{{`; {PLACEHOLDERS_HELP}"
        ),
        TemplateError::Placeholder(message) => message,
    })
}

fn parse_placeholder(template: &str, name: &str) -> Result<Placeholder, String> {
    match name {
        "subject" => return Ok(Placeholder::Subject),
        "tenant" => return Ok(Placeholder::Tenant),
        "event_id" => return Ok(Placeholder::EventId),
        "payload" => {
            return Err(format!(
                "template {template:?}: `{{payload}}` needs a field path, e.g. `{{payload.device}}`"
            ))
        }
        _ => {}
    }
    if let Some(path) = name.strip_prefix("payload.") {
        let segments: Vec<String> = path.split('.').map(str::to_string).collect();
        if segments.iter().any(String::is_empty) {
            return Err(format!(
                "template {template:?}: `{{{name}}}` has an empty path segment; write e.g. `{{payload.alertData.clientMac}}`"
            ));
        }
        return Ok(Placeholder::Payload(segments));
    }
    if let Some(n) = name.strip_prefix("token.") {
        return n.parse::<usize>().map(Placeholder::Token).map_err(|_| {
            format!(
                "template {template:?}: `{{{name}}}` needs a 0-based token number, e.g. `{{token.3}}`"
            )
        });
    }
    let is_identifier = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    let hint = if is_identifier {
        format!("did you mean `{{payload.{name}}}`? ")
    } else {
        String::new()
    };
    Err(format!(
        "template {template:?}: unknown placeholder `{{{name}}}`; {hint}{PLACEHOLDERS_HELP}"
    ))
}

/// What a placeholder resolves to for one event: a scalar JSON value.
fn resolve(placeholder: &Placeholder, event: &Envelope) -> Result<Value, String> {
    match placeholder {
        Placeholder::Subject => Ok(Value::String(event.subject.as_str().to_string())),
        Placeholder::Tenant => Ok(Value::String(event.tenant.as_str().to_string())),
        Placeholder::EventId => Ok(Value::from(event.id.0)),
        Placeholder::Token(n) => token(event, *n).map(|token| Value::String(token.to_string())),
        Placeholder::Payload(path) => lookup(path, event).cloned(),
    }
}

/// Subject token `n` (0-based) of `event`, or the error of a template that names a token
/// past the end.
fn token(event: &Envelope, n: usize) -> Result<&str, String> {
    nth_token(event.subject.as_str(), n).ok_or_else(|| {
        format!(
            "template {{token.{n}}}: subject `{}` has only {} tokens",
            event.subject,
            event.subject.tokens().count()
        )
    })
}

/// `subject.split('.').nth(n)`, scanning bytes: most reflexes that template a token run on
/// every commit they hear, and the `char` searcher behind `split` costs several times this.
fn nth_token(subject: &str, n: usize) -> Option<&str> {
    // One pass, counting dots: token `n` starts after the `n`-th and ends at the next.
    let mut dots = 0;
    let mut start = 0;
    for (at, byte) in subject.bytes().enumerate() {
        if byte == b'.' {
            if dots == n {
                return Some(&subject[start..at]);
            }
            dots += 1;
            start = at + 1;
        }
    }
    (dots == n).then(|| &subject[start..])
}

/// The scalar at a payload path.
fn lookup<'e>(path: &[String], event: &'e Envelope) -> Result<&'e Value, String> {
    // Only an error shows the path: it is not joined on the way to a value.
    let shown = || path.join(".");
    let mut here: &Value = &event.payload;
    for segment in path {
        let next = match here {
            Value::Object(map) => map.get(segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        here = next.ok_or_else(|| {
            let shown = shown();
            format!("template {{payload.{shown}}}: payload has no field `{shown}`")
        })?;
    }
    match here {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Ok(here),
        other => {
            let shown = shown();
            Err(format!(
                "template {{payload.{shown}}}: payload field `{shown}` is {}, not a string, number or bool",
                kind_of(other)
            ))
        }
    }
}

/// [`resolve`] written over `out`, whose string (if it holds one) keeps its capacity.
fn resolve_into(
    placeholder: &Placeholder,
    event: &Envelope,
    out: &mut Value,
) -> Result<(), String> {
    match placeholder {
        Placeholder::Subject => set_string(out, event.subject.as_str()),
        Placeholder::Tenant => set_string(out, event.tenant.as_str()),
        Placeholder::Token(n) => set_string(out, token(event, *n)?),
        Placeholder::Payload(path) => match lookup(path, event)? {
            Value::String(text) => set_string(out, text),
            other => *out = other.clone(),
        },
        Placeholder::EventId => *out = resolve(placeholder, event)?,
    }
    Ok(())
}

/// Makes `out` the string `text`, reusing the string `out` holds, if any.
fn set_string(out: &mut Value, text: &str) {
    if let Value::String(s) = out {
        s.clear();
        s.push_str(text);
    } else {
        *out = Value::String(text.to_string());
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn scalar_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// A template, parsed once when the handler is built (not at every event). One that does
/// not parse keeps its error, returned wherever rendering it would have failed.
#[derive(Debug, Clone)]
enum Compiled {
    Pieces(Vec<Piece>),
    Bad(String),
}

fn compile(template: &str) -> Compiled {
    match parse(template) {
        Ok(pieces) => Compiled::Pieces(pieces),
        Err(e) => Compiled::Bad(e),
    }
}

/// `params` with every string template compiled, in the order `render_params` walks them.
#[derive(Debug, Clone)]
enum CompiledParams {
    /// Nested past `PARAMS_DEPTH_MAX`: rendering fails here.
    TooDeep,
    Template(Compiled),
    Array(Vec<CompiledParams>),
    Object(Vec<(String, CompiledParams)>),
    Other(Value),
}

fn compile_params(value: &Value, depth: usize) -> CompiledParams {
    if depth > PARAMS_DEPTH_MAX {
        return CompiledParams::TooDeep;
    }
    match value {
        Value::String(s) => CompiledParams::Template(compile(s)),
        Value::Array(items) => {
            CompiledParams::Array(items.iter().map(|v| compile_params(v, depth + 1)).collect())
        }
        Value::Object(map) => CompiledParams::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), compile_params(v, depth + 1)))
                .collect(),
        ),
        other => CompiledParams::Other(other.clone()),
    }
}

/// Renders a template to a string.
#[cfg(test)]
fn render(template: &str, event: &Envelope) -> Result<String, String> {
    let mut out = String::new();
    render_compiled_into(&compile(template), event, &mut out)?;
    Ok(out)
}

/// Appends the rendered template to `out`.
fn render_compiled_into(
    template: &Compiled,
    event: &Envelope,
    out: &mut String,
) -> Result<(), String> {
    let pieces = match template {
        Compiled::Pieces(pieces) => pieces,
        Compiled::Bad(e) => return Err(e.clone()),
    };
    for piece in pieces {
        match piece {
            Piece::Literal(text) => out.push_str(text),
            Piece::Placeholder(p) => push_scalar_text(out, p, event)?,
        }
    }
    Ok(())
}

/// Appends the text of `placeholder` (as [`scalar_text`] of [`resolve`] gives it) without
/// building the value first when it is already text.
fn push_scalar_text(
    out: &mut String,
    placeholder: &Placeholder,
    event: &Envelope,
) -> Result<(), String> {
    match placeholder {
        Placeholder::Subject => out.push_str(event.subject.as_str()),
        Placeholder::Tenant => out.push_str(event.tenant.as_str()),
        Placeholder::Token(n) => out.push_str(token(event, *n)?),
        Placeholder::Payload(path) => match lookup(path, event)? {
            Value::String(text) => out.push_str(text),
            other => out.push_str(&scalar_text(other.clone())),
        },
        Placeholder::EventId => out.push_str(&scalar_text(resolve(placeholder, event)?)),
    }
    Ok(())
}

/// Renders every string in `params`; a string that is exactly one placeholder keeps the
/// placeholder's JSON type.
#[cfg(test)]
fn render_params(value: &Value, event: &Envelope, depth: usize) -> Result<Value, String> {
    let mut out = Value::Null;
    render_compiled_params_into(&compile_params(value, depth), event, &mut out)?;
    Ok(out)
}

/// Renders `params` over `out`, the params rendered for an earlier event (or anything else):
/// where `out` already has the shape of the result (the same keys, the same lengths, strings
/// where strings go), its maps, arrays and strings are reused in place. On an error `out` is
/// left half-written.
fn render_compiled_params_into(
    params: &CompiledParams,
    event: &Envelope,
    out: &mut Value,
) -> Result<(), String> {
    match params {
        CompiledParams::TooDeep => Err(format!(
            "params nested deeper than {PARAMS_DEPTH_MAX} levels"
        )),
        CompiledParams::Template(template) => match template {
            Compiled::Pieces(pieces) => match pieces.as_slice() {
                [Piece::Placeholder(p)] => resolve_into(p, event, out),
                _ => {
                    if !out.is_string() {
                        *out = Value::String(String::new());
                    }
                    let Value::String(text) = out else {
                        unreachable!("made a string above")
                    };
                    text.clear();
                    render_compiled_into(template, event, text)
                }
            },
            Compiled::Bad(e) => Err(e.clone()),
        },
        CompiledParams::Array(items) => {
            if out
                .as_array()
                .is_none_or(|values| values.len() != items.len())
            {
                *out = Value::Array(vec![Value::Null; items.len()]);
            }
            let Value::Array(values) = out else {
                unreachable!("made an array above")
            };
            for (item, value) in items.iter().zip(values) {
                render_compiled_params_into(item, event, value)?;
            }
            Ok(())
        }
        CompiledParams::Object(entries) => {
            let same_keys = out.as_object().is_some_and(|map| {
                map.len() == entries.len()
                    && map.keys().zip(entries).all(|(have, (key, _))| have == key)
            });
            if !same_keys {
                *out = Value::Object(
                    entries
                        .iter()
                        .map(|(key, _)| (key.clone(), Value::Null))
                        .collect(),
                );
            }
            let Value::Object(map) = out else {
                unreachable!("made an object above")
            };
            // `entries` are in the map's order (they were compiled from it), as its values are.
            for ((_, item), value) in entries.iter().zip(map.values_mut()) {
                render_compiled_params_into(item, event, value)?;
            }
            Ok(())
        }
        CompiledParams::Other(other) => {
            *out = other.clone();
            Ok(())
        }
    }
}

/// A `[[reflex]]` entry as a handler.
///
/// It keeps no state from event to event, so its clones share one definition (and its
/// compiled templates): the runs of a sweep clone a prepared one instead of compiling the
/// templates again for every seed.
#[derive(Debug, Clone)]
pub struct DeclarativeReflex {
    inner: Arc<Declared>,
}

#[derive(Debug)]
struct Declared {
    id: String,
    pattern: Pattern,
    severity: Severity,
    then: Option<ThenTemplate>,
    /// `then`'s id and params templates, compiled.
    compiled: Option<(Compiled, CompiledParams)>,
    /// What every rationale starts with: `matched <pattern>` without `then`, else
    /// `dispatching <Type>.<Action> on ` (and the target's id follows).
    rationale_prefix: String,
}

impl DeclarativeReflex {
    /// Builds the handler. Templates should have been checked with [`ThenTemplate::validate`]
    /// when the scenario was parsed; one that was not fails each event as an `errored`
    /// outcome rather than panicking.
    pub fn new(
        id: String,
        pattern: Pattern,
        severity: Severity,
        then: Option<ThenTemplate>,
    ) -> DeclarativeReflex {
        let compiled = then
            .as_ref()
            .map(|t| (compile(&t.id), compile_params(&t.params, 0)));
        let rationale_prefix = match &then {
            None => concat(&["matched ", pattern.as_str()]),
            Some(t) => concat(&["dispatching ", &t.entity_type, ".", &t.action, " on "]),
        };
        DeclarativeReflex {
            inner: Arc::new(Declared {
                id,
                pattern,
                severity,
                then,
                compiled,
                rationale_prefix,
            }),
        }
    }
}

impl ReflexHandler for DeclarativeReflex {
    fn id(&self) -> &str {
        &self.inner.id
    }

    fn pattern(&self) -> &Pattern {
        &self.inner.pattern
    }

    fn fingerprint(&self) -> String {
        // A JSON array: unambiguous whatever characters the parts contain.
        serde_json::json!([
            "declarative",
            self.inner.id,
            self.inner.pattern.as_str(),
            self.inner.severity.as_str(),
            self.inner.then,
        ])
        .to_string()
    }

    /// It keeps no memory: a clone, sharing the definition.
    fn fresh(&self) -> Option<Box<dyn ReflexHandler>> {
        Some(Box::new(self.clone()))
    }

    fn handle(&mut self, event: &Envelope, now: SimTime) -> Result<Option<HandlerOutput>, String> {
        let mut out = HandlerOutput {
            outcome: Outcome {
                id: String::new(),
                handler: String::new(),
                subject: String::new(),
                target: None,
                severity: self.inner.severity,
                occurred_at: now,
                payload: Arc::clone(&event.payload),
                outcome: OutcomeKind::Logged,
                rationale: String::new(),
                diagnostic: String::new(),
            },
            dispatch: Vec::new(),
        };
        Ok(self.handle_into(event, now, &mut out)?.then_some(out))
    }

    /// Every field of `out` is written: its strings and params are reused, whatever they
    /// held (another event's answer, or an errored one).
    fn handle_into(
        &mut self,
        event: &Envelope,
        now: SimTime,
        out: &mut HandlerOutput,
    ) -> Result<bool, String> {
        let declared = &*self.inner;
        let HandlerOutput { outcome, dispatch } = out;
        let Some(then) = &declared.then else {
            set_outcome(outcome, declared, event, now, OutcomeKind::Logged);
            outcome.target = None;
            outcome.rationale.push_str(&declared.rationale_prefix);
            truncate_chars_in_place(&mut outcome.rationale, RATIONALE_CHARS_MAX);
            dispatch.clear();
            return Ok(true);
        };
        let (compiled_id, compiled_params) =
            declared.compiled.as_ref().expect("compiled with `then`");
        // One request, reusing the one the buffer held.
        dispatch.truncate(1);
        if dispatch.is_empty() {
            dispatch.push(ActionRequest {
                entity_type: String::new(),
                id: EntityId::default(),
                action: String::new(),
                params: Value::Null,
            });
        }
        let request = &mut dispatch[0];
        let id = &mut request.id.0;
        id.clear();
        render_compiled_into(compiled_id, event, id)?;
        if id.is_empty() {
            return Err(format!(
                "template {:?} rendered an empty entity id",
                then.id
            ));
        }
        render_compiled_params_into(compiled_params, event, &mut request.params)?;
        set_str(&mut request.entity_type, &then.entity_type);
        set_str(&mut request.action, &then.action);
        set_outcome(outcome, declared, event, now, OutcomeKind::Applied);
        let id = request.id.as_str();
        match &mut outcome.target {
            Some(target) => set_str(target, id),
            None => outcome.target = Some(id.to_string()),
        }
        // One allocation of the right size when the rationale is new (`handle`).
        outcome
            .rationale
            .reserve(declared.rationale_prefix.len() + id.len());
        outcome.rationale.push_str(&declared.rationale_prefix);
        outcome.rationale.push_str(id);
        truncate_chars_in_place(&mut outcome.rationale, RATIONALE_CHARS_MAX);
        Ok(true)
    }
}

/// Writes the fields of `outcome` that every answer of `declared` to `event` shares, as
/// [`new_outcome`](crate::engine::reflex::new_outcome) would, leaving the target as it was
/// and the rationale empty.
fn set_outcome(
    outcome: &mut Outcome,
    declared: &Declared,
    event: &Envelope,
    now: SimTime,
    kind: OutcomeKind,
) {
    outcome.id.clear();
    set_str(&mut outcome.handler, &declared.id);
    set_str(&mut outcome.subject, event.subject.as_str());
    outcome.severity = declared.severity;
    outcome.occurred_at = now;
    if !Arc::ptr_eq(&outcome.payload, &event.payload) {
        outcome.payload = Arc::clone(&event.payload);
    }
    outcome.outcome = kind;
    outcome.rationale.clear();
    outcome.diagnostic.clear();
}

/// Makes `out` a copy of `text`, in the capacity it has.
fn set_str(out: &mut String, text: &str) {
    out.clear();
    out.push_str(text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::reflex::common::test_support::envelope;
    use serde_json::json;

    fn link_event() -> Envelope {
        envelope(
            7,
            "sensory.link_down.snmp_trap.r1|Gi0/1",
            json!({"device": "r1", "interface": "Gi0/1", "peer_asn": 65001, "nested": {"a": [true]}}),
            50,
        )
    }

    fn then(id: &str, params: Value) -> ThenTemplate {
        ThenTemplate {
            entity_type: "Interface".into(),
            action: "MarkDown".into(),
            id: id.into(),
            params,
        }
    }

    fn reflex(then: Option<ThenTemplate>) -> DeclarativeReflex {
        DeclarativeReflex::new(
            "iface_down".into(),
            Pattern::new("sensory.link_down.>").unwrap(),
            Severity::High,
            then,
        )
    }

    #[test]
    fn without_then_logs_with_the_given_severity() {
        let out = reflex(None)
            .handle(&link_event(), SimTime(50))
            .unwrap()
            .unwrap();
        assert_eq!(out.outcome.outcome, OutcomeKind::Logged);
        assert_eq!(out.outcome.severity, Severity::High);
        assert_eq!(out.outcome.target, None);
        assert_eq!(out.outcome.handler, "iface_down");
        assert!(out.dispatch.is_empty());
    }

    #[test]
    fn with_then_applies_and_dispatches_the_rendered_action() {
        let t = then(
            "{payload.device}|{payload.interface}",
            json!({"origin": "reflex"}),
        );
        let out = reflex(Some(t))
            .handle(&link_event(), SimTime(50))
            .unwrap()
            .unwrap();
        assert_eq!(out.outcome.outcome, OutcomeKind::Applied);
        assert_eq!(out.outcome.target.as_deref(), Some("r1|Gi0/1"));
        let d = out.dispatch.into_iter().next().unwrap();
        assert_eq!(d.entity_type, "Interface");
        assert_eq!(d.action, "MarkDown");
        assert_eq!(d.id, EntityId::new("r1|Gi0/1"));
        assert_eq!(d.params, json!({"origin": "reflex"}));
    }

    #[test]
    fn templates_render_subject_tokens_tenant_and_event_id() {
        let e = link_event();
        assert_eq!(
            render("{subject}", &e).unwrap(),
            "sensory.link_down.snmp_trap.r1|Gi0/1"
        );
        assert_eq!(
            render("{token.2}/{token.3}", &e).unwrap(),
            "snmp_trap/r1|Gi0/1"
        );
        assert_eq!(render("{tenant}-{event_id}", &e).unwrap(), "t-7");
        assert_eq!(
            render("{{literal}} {payload.nested.a.0}", &e).unwrap(),
            "{literal} true"
        );
    }

    #[test]
    fn params_are_templated_recursively_and_keep_whole_placeholder_types() {
        let params = json!({
            "asn": "{payload.peer_asn}",
            "label": "asn {payload.peer_asn}",
            "deep": {"list": ["{payload.device}", 3]},
        });
        let rendered = render_params(&params, &link_event(), 0).unwrap();
        assert_eq!(
            rendered,
            json!({"asn": 65001, "label": "asn 65001", "deep": {"list": ["r1", 3]}})
        );
    }

    #[test]
    fn missing_payload_field_is_an_error_naming_the_field() {
        let t = then("{payload.device_name}", json!({}));
        let err = reflex(Some(t))
            .handle(&link_event(), SimTime(0))
            .unwrap_err();
        assert_eq!(
            err,
            "template {payload.device_name}: payload has no field `device_name`"
        );
    }

    #[test]
    fn non_scalar_payload_field_is_an_error() {
        let err = render("{payload.nested}", &link_event()).unwrap_err();
        assert!(err.contains("is an object"), "{err}");
    }

    #[test]
    fn token_past_the_end_is_an_error() {
        let err = render("{token.9}", &link_event()).unwrap_err();
        assert!(err.contains("has only 4 tokens"), "{err}");
    }

    #[test]
    fn bad_templates_are_rejected_with_a_hint() {
        let unclosed = validate_template("{payload.device").unwrap_err();
        assert!(unclosed.contains("not closed"), "{unclosed}");
        let stray = validate_template("a}b").unwrap_err();
        assert!(stray.contains("no matching"), "{stray}");
        let nested = validate_template("{payload.{x}}").unwrap_err();
        assert!(nested.contains("not closed"), "{nested}");
        let unknown = validate_template("{device}").unwrap_err();
        assert!(
            unknown.contains("did you mean `{payload.device}`"),
            "{unknown}"
        );
        let bare = validate_template("{payload}").unwrap_err();
        assert!(bare.contains("needs a field path"), "{bare}");
        assert!(validate_template("{token.x}")
            .unwrap_err()
            .contains("token number"));
        assert!(validate_template("{payload.a..b}")
            .unwrap_err()
            .contains("empty path segment"));
    }

    #[test]
    fn good_templates_validate() {
        for t in [
            "",
            "static",
            "{payload.device}|{payload.interface}",
            "{{x}}",
            "{token.0}",
        ] {
            assert_eq!(validate_template(t), Ok(()), "{t}");
        }
    }

    #[test]
    fn then_validate_names_the_bad_param() {
        let t = then("{payload.device}", json!({"a": {"b": ["ok", "{oops"]}}));
        let err = t.validate().unwrap_err();
        assert!(err.starts_with("then.params.a.b[1]:"), "{err}");
        assert!(then("", json!({}))
            .validate()
            .unwrap_err()
            .contains("then.id is empty"));
    }

    #[test]
    fn fingerprint_changes_with_the_template_and_severity() {
        let a = reflex(Some(then("{payload.device}", json!({}))));
        let b = reflex(Some(then("{payload.interface}", json!({}))));
        let c = reflex(Some(then("{payload.device}", json!({}))));
        assert_eq!(a.fingerprint(), c.fingerprint());
        assert_ne!(a.fingerprint(), b.fingerprint());
        let info = DeclarativeReflex::new(
            "iface_down".into(),
            Pattern::new("sensory.link_down.>").unwrap(),
            Severity::Info,
            Some(then("{payload.device}", json!({}))),
        );
        assert_ne!(a.fingerprint(), info.fingerprint());
        // A clone shares the definition and has its fingerprint.
        assert_eq!(a.clone().fingerprint(), a.fingerprint());
    }

    #[test]
    fn handle_into_over_any_earlier_answer_gives_what_handle_gives() {
        let deep = json!({
            "asn": "{payload.peer_asn}",
            "label": "asn {payload.peer_asn} on {token.3}",
            "deep": {"list": ["{payload.device}", 3, "{event_id}"]},
            "flag": "{payload.nested.a.0}",
        });
        let mut reflexes = vec![
            reflex(None),
            reflex(Some(then(
                "{payload.device}|{payload.interface}",
                json!({}),
            ))),
            reflex(Some(then("{token.3}", deep.clone()))),
            reflex(Some(then("{subject}", json!({"only": "{tenant}"})))),
            reflex(Some(then("{payload.device}", json!(["{payload.device}"])))),
        ];
        let other = envelope(
            9,
            "sensory.link_down.meraki_webhook.sw2|Port_12",
            json!({"device": "sw2", "interface": "Port 12", "peer_asn": "65002", "nested": {"a": [1.5]}}),
            80,
        );
        let events = [link_event(), other];
        // Every answer, to begin with: each is then the buffer of every other.
        let mut answers = Vec::new();
        for r in &mut reflexes {
            for e in &events {
                answers.push(r.handle(e, SimTime(e.at.ms())).unwrap().unwrap());
            }
        }
        let mut errored = answers[0].clone();
        errored.outcome.outcome = OutcomeKind::Errored;
        errored.outcome.diagnostic = "boom".into();
        errored.outcome.id = "0123456789abcdef".into();
        errored.outcome.payload = Arc::new(json!({"other": true}));
        answers.push(errored);
        for r in &mut reflexes {
            for e in &events {
                let now = SimTime(e.at.ms() + 1);
                let expected = r.handle(e, now).unwrap().unwrap();
                for earlier in &answers {
                    let mut out = earlier.clone();
                    assert_eq!(r.handle_into(e, now, &mut out), Ok(true));
                    assert_eq!(out, expected, "{} over {:?}", r.id(), earlier);
                    assert!(Arc::ptr_eq(&out.outcome.payload, &e.payload));
                }
            }
        }
    }

    #[test]
    fn handle_into_fails_as_handle_does() {
        let mut r = reflex(Some(then(
            "{payload.device}",
            json!({"x": "{payload.nope}"}),
        )));
        let e = link_event();
        let mut out = reflex(None).handle(&e, SimTime(0)).unwrap().unwrap();
        let err = r.handle(&e, SimTime(0)).unwrap_err();
        assert!(err.contains("no field `nope`"), "{err}");
        assert_eq!(r.handle_into(&e, SimTime(0), &mut out), Err(err));
    }

    #[test]
    fn nth_token_is_the_nth_piece_of_a_split_on_dots() {
        for subject in ["a", "a.b", "entity.L3.Arm.e1|x", "a..b.", ".a", ""] {
            for n in 0..6 {
                assert_eq!(
                    nth_token(subject, n),
                    subject.split('.').nth(n),
                    "{subject:?} {n}"
                );
            }
        }
    }

    #[test]
    fn then_template_deserializes_with_default_params() {
        let t: ThenTemplate =
            serde_json::from_value(json!({"entity_type": "I", "action": "A", "id": "{subject}"}))
                .unwrap();
        assert_eq!(t.params, json!({}));
    }
}

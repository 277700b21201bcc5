//! Writing a scenario back as TOML: what the shrinker (and the model checker's
//! counterexamples) hand to a person.
//!
//! The output is concrete: generators must have been expanded into events first (the
//! shrinker does that), and every rule is written inline under its tenant, so the file runs
//! on its own. Loading the output gives back the same scenario (a test checks the round
//! trip on every shipped scenario).

use crate::engine::{Effect, Value};
use crate::scenario::{CheckAt, Input, ReflexKind, Scenario, STEPS_MAX_DEFAULT, UNTIL_DEFAULT_MS};
use crate::sim::format_duration_ms;
use crate::trace::{FaultKind, FaultTarget};
use serde::Serialize;
use serde_json::json;

fn literal(v: &Value) -> String {
    match v {
        Value::String(s) if !s.contains('\'') => format!("'{s}'"),
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// `increment items`, `decrement items`, `set flag true`.
pub fn effect_text(e: &Effect) -> String {
    match e {
        Effect::Increment(f) => format!("increment {f}"),
        Effect::Decrement(f) => format!("decrement {f}"),
        Effect::Set(f, v) => format!("set {f} {}", literal(v)),
    }
}

fn section<T: Serialize>(key: &str, items: &[T]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut map = serde_json::Map::new();
    map.insert(
        key.to_string(),
        serde_json::to_value(items).expect("serializable"),
    );
    toml::to_string(&map).expect("TOML-serializable") + "\n"
}

#[derive(Serialize)]
struct Meta<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_depth: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    allow_truncation: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    steps_max: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<&'static str>,
}

/// The scenario as TOML, after `header` (each line becomes a `#` comment).
pub fn emit_scenario(s: &Scenario, header: &str) -> String {
    assert!(
        s.generators.is_empty(),
        "expand generators before emitting a scenario"
    );
    let mut out = String::new();
    for line in header.lines() {
        out.push_str(
            if line.is_empty() {
                "#".to_string()
            } else {
                format!("# {line}")
            }
            .as_str(),
        );
        out.push('\n');
    }
    if !header.is_empty() {
        out.push('\n');
    }
    let meta = Meta {
        name: &s.name,
        description: &s.description,
        max_depth: (s.depth_max != crate::engine::MAX_REACTION_DEPTH).then_some(s.depth_max),
        until: (s.until.ms() != UNTIL_DEFAULT_MS).then(|| format_duration_ms(s.until.ms())),
        allow_truncation: s.allow_truncation,
        steps_max: (s.steps_max != STEPS_MAX_DEFAULT).then_some(s.steps_max),
        order: s.file_order.then_some("file"),
    };
    out.push_str(&toml::to_string(&json!({ "scenario": meta })).expect("meta serializes"));
    out.push('\n');

    let tenants: Vec<Value> = s
        .tenants
        .iter()
        .map(|t| {
            let rules = s.rules.get(t).map(|r| r.as_slice()).unwrap_or(&[]);
            if rules.is_empty() {
                json!({ "id": t })
            } else {
                json!({ "id": t, "reaction": rules })
            }
        })
        .collect();
    out.push_str(&section("tenant", &tenants));

    let entities: Vec<Value> = s
        .entities
        .values()
        .map(|e| {
            let actions: Vec<Value> = e
                .actions
                .values()
                .map(|a| {
                    let mut m = serde_json::Map::new();
                    m.insert("name".into(), json!(a.name));
                    if let Some(from) = &a.from {
                        m.insert("from".into(), json!(from));
                    }
                    if let Some(to) = &a.to {
                        m.insert("to".into(), json!(to));
                    }
                    if let Some(r) = &a.requires {
                        m.insert("requires".into(), json!(r.text));
                    }
                    if !a.effects.is_empty() {
                        m.insert(
                            "effect".into(),
                            json!(a.effects.iter().map(effect_text).collect::<Vec<_>>()),
                        );
                    }
                    Value::Object(m)
                })
                .collect();
            let mut m = serde_json::Map::new();
            m.insert("type".into(), json!(e.type_name));
            m.insert("states".into(), json!(e.states));
            m.insert("initial".into(), json!(e.initial));
            if !actions.is_empty() {
                m.insert("action".into(), Value::Array(actions));
            }
            Value::Object(m)
        })
        .collect();
    out.push_str(&section("entity", &entities));

    let reflexes: Vec<Value> = s
        .reflexes
        .iter()
        .map(|r| {
            let mut m = serde_json::Map::new();
            match &r.kind {
                ReflexKind::LinkDown => {
                    m.insert("builtin".into(), json!("link_down"));
                }
                ReflexKind::BgpDrop => {
                    m.insert("builtin".into(), json!("bgp_drop"));
                }
                ReflexKind::SecurityAlert => {
                    m.insert("builtin".into(), json!("security_alert"));
                }
                ReflexKind::Declarative {
                    pattern,
                    severity,
                    then,
                } => {
                    m.insert("id".into(), json!(r.id));
                    m.insert("pattern".into(), json!(pattern.as_str()));
                    m.insert("severity".into(), json!(severity.as_str()));
                    if let Some(t) = then {
                        m.insert("then".into(), json!(t));
                    }
                }
            }
            if let Some(t) = &r.tenant {
                m.insert("tenant".into(), json!(t));
            }
            Value::Object(m)
        })
        .collect();
    out.push_str(&section("reflex", &reflexes));

    if let Some(f) = &s.faults {
        let mut m = serde_json::Map::new();
        if f.delay_p > 0.0 {
            m.insert(
                "delay".into(),
                json!({ "p": f.delay_p, "max": format_duration_ms(f.delay_ms_max) }),
            );
        }
        for (k, p) in [
            ("drop", f.drop_p),
            ("duplicate", f.duplicate_p),
            ("handler_panic", f.handler_panic_p),
            ("action_failure", f.action_failure_p),
            ("reflex_restart", f.reflex_restart_p),
        ] {
            if p > 0.0 {
                m.insert(k.into(), json!(p));
            }
        }
        m.insert("reorder".into(), json!(f.reorder));
        out.push_str(&toml::to_string(&json!({ "faults": m })).expect("faults serialize"));
        out.push('\n');
    }
    if let Some(schedule) = &s.schedule {
        if schedule.is_empty() {
            // Reactions as messages, and no fault: a [faults] table with nothing on.
            out.push_str("[faults]\nreorder = true\n\n");
        }
        let faults: Vec<Value> = schedule
            .iter()
            .map(|f| {
                let mut m = serde_json::Map::new();
                m.insert("kind".into(), json!(f.kind.as_str()));
                match &f.on {
                    FaultTarget::Reaction { rule, target } => {
                        m.insert("rule".into(), json!(rule));
                        m.insert("target".into(), json!(target));
                    }
                    FaultTarget::Delivery { subject, handler }
                    | FaultTarget::Handler { handler, subject } => {
                        m.insert("subject".into(), json!(subject));
                        m.insert("handler".into(), json!(handler));
                    }
                    FaultTarget::Action { target, action } => {
                        m.insert("target".into(), json!(target));
                        m.insert("action".into(), json!(action));
                    }
                }
                if f.nth != 1 {
                    m.insert("nth".into(), json!(f.nth));
                }
                if matches!(f.kind, FaultKind::Delay | FaultKind::Duplicate) && f.delay_ms > 0 {
                    m.insert("delay".into(), json!(format_duration_ms(f.delay_ms)));
                }
                Value::Object(m)
            })
            .collect();
        out.push_str(&section("fault", &faults));
    }

    let invariants: Vec<Value> = s
        .invariants
        .iter()
        .map(|i| {
            let mut m = serde_json::Map::new();
            m.insert("name".into(), json!(i.invariant.name));
            m.insert(i.invariant.kind.as_str().into(), json!(i.invariant.text));
            if i.at == CheckAt::End {
                m.insert("at".into(), json!("end"));
            }
            if let Some(t) = &i.tenant {
                m.insert("tenant".into(), json!(t));
            }
            Value::Object(m)
        })
        .collect();
    out.push_str(&section("invariant", &invariants));

    let events: Vec<Value> = s
        .events
        .iter()
        .map(|e| match &e.input {
            Input::Publish { subject, payload } => json!({
                "at": format_duration_ms(e.at.ms()),
                "tenant": e.tenant,
                "subject": subject.as_str(),
                "payload": payload,
            }),
            Input::Dispatch { entity_type, id, action, params } => json!({
                "at": format_duration_ms(e.at.ms()),
                "tenant": e.tenant,
                "dispatch": { "entity_type": entity_type, "id": id, "action": action, "params": params },
            }),
        })
        .collect();
    out.push_str(&section("event", &events));

    let expects: Vec<Value> = s
        .expects
        .iter()
        .map(|x| {
            let mut m = serde_json::Map::new();
            m.insert("tenant".into(), json!(x.tenant));
            m.insert("entity_type".into(), json!(x.entity_type));
            m.insert("id".into(), json!(x.id));
            if let Some(st) = &x.status {
                m.insert("status".into(), json!(st));
            }
            if !x.fields.is_empty() {
                m.insert("fields".into(), Value::Object(x.fields.clone()));
            }
            if !x.exists {
                m.insert("exists".into(), json!(false));
            }
            Value::Object(m)
        })
        .collect();
    out.push_str(&section("expect", &expects));
    out
}

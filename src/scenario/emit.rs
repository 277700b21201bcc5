//! Writing a scenario back as TOML: what the shrinker (and the model checker's
//! counterexamples) hand to a person.
//!
//! The output is concrete: generators must have been expanded into events first (the
//! shrinker does that), and every rule is written inline under its tenant, so the file runs
//! on its own. Loading the output gives back the same scenario (a test checks the round
//! trip on every shipped scenario). Temper's files are the exception: specs and rule files
//! for temper's runtime engine are named (relative to where the output goes), not copied,
//! so a shrunk scenario keeps loading the app as it is.

use crate::core::format_duration_ms;
use crate::core::relative_path;
use crate::core::Value;
use crate::core::{FaultKind, FaultTarget};
use crate::engine::reflex::{builtin_defaults, BUDGET_MS_DEFAULT, WALL_MS_DEFAULT};
use crate::engine::Effect;
use crate::scenario::ScheduledFault;
use crate::scenario::{
    CheckAt, Input, ReflexKind, Scenario, VendorKind, CASCADE_DISPATCHES_MAX_DEFAULT,
    MEMORY_MAX_DEFAULT, MESSAGES_MAX_DEFAULT, STEPS_MAX_DEFAULT, UNTIL_DEFAULT_MS,
};
use serde_json::json;
use std::path::Path;

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
        // Temper's typed effects come from spec files, which a scenario names instead of
        // writing their entities out (see `emit_scenario`).
        Effect::DecrementFloor(f) => format!("decrement {f}"),
        Effect::Add(f, n) => format!("add {f} {n}"),
        Effect::IncrementBy { var, param } => format!("increment {var} by {param}"),
        Effect::DecrementBy { var, param } => format!("decrement {var} by {param}"),
        Effect::SetFromParam { var, param } => format!("set {var} from {param}"),
    }
}

/// A TOML value written inline (`{ a = 1 }`, `["x", "y"]`, `'text'`).
fn inline(v: &Value) -> String {
    match toml::Value::try_from(v) {
        Ok(t) => t.to_string(),
        // `null` has no TOML form; it cannot come from a TOML file, so this is unreachable
        // for loaded scenarios. Write it as a string rather than fail.
        Err(_) => "\"null\"".to_string(),
    }
}

/// A key, bare when TOML allows it, quoted otherwise.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        inline(&Value::String(k.to_string()))
    }
}

/// One `[[fault]]` table of an explicit schedule: what the shrinker's concrete scenarios
/// and the model checker's counterexamples both write. `nth` is left out when it is 1 (the
/// default); a delay fault always names its `delay` (the loader requires one), a
/// duplicate only when its copy is late.
pub fn fault_table(f: &ScheduledFault) -> String {
    let mut out = String::from("[[fault]]\n");
    let mut pairs = vec![("kind", json!(f.kind.as_str()))];
    match &f.on {
        FaultTarget::Reaction { rule, target } => {
            pairs.push(("rule", json!(rule)));
            pairs.push(("target", json!(target)));
        }
        FaultTarget::Delivery { subject, handler } | FaultTarget::Handler { handler, subject } => {
            pairs.push(("subject", json!(subject)));
            pairs.push(("handler", json!(handler)));
        }
        FaultTarget::Action { target, action } => {
            pairs.push(("target", json!(target)));
            pairs.push(("action", json!(action)));
        }
    }
    if f.nth != 1 {
        pairs.push(("nth", json!(f.nth)));
    }
    if f.kind == FaultKind::Delay || (f.kind == FaultKind::Duplicate && f.delay_ms > 0) {
        pairs.push(("delay", json!(format_duration_ms(f.delay_ms))));
    }
    lines(&mut out, &pairs);
    out
}

/// One `[[answer]]` table: an integration's answer fixed by call.
pub fn answer_table(a: &crate::scenario::PinnedAnswer) -> String {
    let mut out = String::from("[[answer]]\n");
    let mut pairs = vec![
        ("integration", json!(a.integration)),
        ("target", json!(a.target)),
    ];
    if a.nth != 1 {
        pairs.push(("nth", json!(a.nth)));
    }
    pairs.push(("answer", json!(a.answer)));
    if let Some(d) = a.delay_ms {
        pairs.push(("delay", json!(format_duration_ms(d))));
    }
    lines(&mut out, &pairs);
    out
}

/// `key = value` lines for a table whose keys are written in the given order.
fn lines(out: &mut String, pairs: &[(&str, Value)]) {
    for (k, v) in pairs {
        out.push_str(&format!("{} = {}\n", key(k), inline(v)));
    }
}

fn rule_text(out: &mut String, prefix: &str, rule: &crate::engine::Rule) {
    out.push_str(&format!("[[{prefix}]]\n"));
    lines(out, &[("name", json!(rule.name))]);
    out.push_str(&format!("[{prefix}.when]\n"));
    let mut when = vec![("entity_type", json!(rule.when.entity_type))];
    if let Some(a) = &rule.when.action {
        when.push(("action", json!(a)));
    }
    if let Some(t) = &rule.when.to_state {
        when.push(("to_state", json!(t)));
    }
    if let Some(g) = &rule.when.guard {
        when.push(("guard", serde_json::to_value(g).expect("guards serialize")));
    }
    lines(out, &when);
    out.push_str(&format!("[{prefix}.then]\n"));
    let mut then = vec![
        ("entity_type", json!(rule.then.entity_type)),
        ("action", json!(rule.then.action)),
    ];
    if rule.then.params != Value::Object(Default::default()) {
        then.push(("params", rule.then.params.clone()));
    }
    if !rule.then.params_from.is_empty() {
        then.push(("params_from", json!(rule.then.params_from)));
    }
    lines(out, &then);
    out.push_str(&format!("[{prefix}.resolve_target]\n"));
    let resolver = serde_json::to_value(&rule.resolve_target).expect("resolvers serialize");
    let mut pairs: Vec<(&str, Value)> = Vec::new();
    if let Value::Object(m) = &resolver {
        if let Some(t) = m.get("type") {
            pairs.push(("type", t.clone()));
        }
        for (k, v) in m {
            if k != "type" {
                pairs.push((k.as_str(), v.clone()));
            }
        }
    }
    lines(out, &pairs);
}

/// The scenario as TOML, after `header` (each line becomes a `#` comment), to be written
/// next to the scenario it came from.
pub fn emit_scenario(s: &Scenario, header: &str) -> String {
    let dir = s.path.parent().unwrap_or(Path::new("."));
    emit_scenario_to(s, header, dir)
}

/// [`emit_scenario`] for a file in the folder `out_dir`: temper files are named from there.
pub fn emit_scenario_to(s: &Scenario, header: &str, out_dir: &Path) -> String {
    assert!(
        s.generators.is_empty(),
        "expand generators before emitting a scenario"
    );
    let mut out = String::new();
    // A header names the failure, whose names may hold control characters: a TOML comment
    // takes none of them (a file that does not load), so they are escaped.
    for line in header.lines() {
        out.push_str(
            if line.is_empty() {
                "#".to_string()
            } else {
                format!("# {}", crate::core::escape_controls(line))
            }
            .as_str(),
        );
        out.push('\n');
    }
    if !header.is_empty() {
        out.push('\n');
    }
    out.push_str("[scenario]\n");
    let mut meta = vec![("name", json!(s.name))];
    if !s.description.is_empty() {
        meta.push(("description", json!(s.description)));
    }
    if s.depth_max != crate::core::MAX_REACTION_DEPTH {
        meta.push(("max_depth", json!(s.depth_max)));
    }
    if s.until.ms() != UNTIL_DEFAULT_MS {
        meta.push(("until", json!(format_duration_ms(s.until.ms()))));
    }
    if s.allow_truncation {
        meta.push(("allow_truncation", json!(true)));
    }
    if s.steps_max != STEPS_MAX_DEFAULT {
        meta.push(("steps_max", json!(s.steps_max)));
    }
    if s.cascade_dispatches_max != CASCADE_DISPATCHES_MAX_DEFAULT {
        meta.push(("cascade_dispatches_max", json!(s.cascade_dispatches_max)));
    }
    if s.messages_max != MESSAGES_MAX_DEFAULT {
        meta.push(("messages_max", json!(s.messages_max)));
    }
    if s.memory_max != MEMORY_MAX_DEFAULT {
        meta.push(("memory_max", json!(crate::core::write_size(s.memory_max))));
    }
    if s.file_order {
        meta.push(("order", json!("file")));
    }
    lines(&mut out, &meta);
    out.push('\n');

    // Spec files of tenants no longer in the scenario (the shrinker removes tenants) still
    // define types it uses: the first tenant loads them.
    let mut orphans: Vec<&std::path::PathBuf> = s
        .temper_files
        .iter()
        .filter(|(t, _)| !s.tenants.contains(t))
        .flat_map(|(_, f)| &f.specs)
        .collect();
    let rel = |p: &std::path::Path| {
        json!(relative_path(out_dir, p)
            .to_string_lossy()
            .replace('\\', "/"))
    };
    for t in &s.tenants {
        out.push_str("[[tenant]]\n");
        lines(&mut out, &[("id", json!(t))]);
        let files = s.temper_files.get(t);
        let mut specs: Vec<Value> =
            files.map_or(Vec::new(), |f| f.specs.iter().map(|p| rel(p)).collect());
        specs.extend(orphans.drain(..).map(|p| rel(p)));
        if !specs.is_empty() {
            lines(&mut out, &[("specs", Value::Array(specs))]);
        }
        if let Some(f) = files.filter(|f| !f.runtime_rules.is_empty()) {
            let tables: Vec<Value> = f
                .runtime_rules
                .iter()
                .map(|p| json!({ "path": rel(p), "engine": "runtime" }))
                .collect();
            lines(&mut out, &[("reactions", Value::Array(tables))]);
        }
        for rule in s.rules.get(t).map(|r| r.as_slice()).unwrap_or(&[]) {
            rule_text(&mut out, "tenant.reaction", rule);
        }
        out.push('\n');
    }

    for e in s.entities.values() {
        if s.spec_types.contains(&e.type_name) {
            continue;
        }
        out.push_str("[[entity]]\n");
        let mut pairs = vec![
            ("type", json!(e.type_name)),
            ("states", json!(e.states)),
            ("initial", json!(e.initial)),
        ];
        if !e.fields_initial.is_empty() {
            pairs.push(("fields", Value::Object(e.fields_initial.to_object())));
        }
        lines(&mut out, &pairs);
        for a in e.actions.values() {
            out.push_str("[[entity.action]]\n");
            let mut pairs = vec![("name", json!(a.name))];
            if let Some(from) = &a.from {
                pairs.push(("from", json!(from)));
            }
            if let Some(to) = &a.to {
                pairs.push(("to", json!(to)));
            }
            if let Some(r) = &a.requires {
                pairs.push(("requires", json!(r.text)));
            }
            if !a.effects.is_empty() {
                pairs.push((
                    "effect",
                    json!(a.effects.iter().map(effect_text).collect::<Vec<_>>()),
                ));
            }
            lines(&mut out, &pairs);
        }
        out.push('\n');
    }
    for r in &s.reflexes {
        out.push_str("[[reflex]]\n");
        let mut pairs: Vec<(&str, Value)> = Vec::new();
        match &r.kind {
            ReflexKind::Builtin { name, .. } => pairs.push(("builtin", json!(name))),
            ReflexKind::Declarative { .. }
            | ReflexKind::Process { .. }
            | ReflexKind::Library { .. } => pairs.push(("id", json!(r.id))),
        }
        if let Some(t) = &r.tenant {
            pairs.push(("tenant", json!(t)));
        }
        match &r.kind {
            ReflexKind::Builtin {
                name,
                pattern,
                dedup_window_ms,
            } => {
                let (default_pattern, default_window_ms) =
                    builtin_defaults(name).expect("a known builtin");
                if pattern.as_str() != default_pattern {
                    pairs.push(("pattern", json!(pattern.as_str())));
                }
                if *dedup_window_ms != default_window_ms {
                    pairs.push(("dedup_window", json!(format_duration_ms(*dedup_window_ms))));
                }
            }
            ReflexKind::Declarative {
                pattern,
                severity,
                then,
            } => {
                pairs.push(("pattern", json!(pattern.as_str())));
                pairs.push(("severity", json!(severity.as_str())));
                if let Some(t) = then {
                    pairs.push(("then", json!(t)));
                }
            }
            ReflexKind::Process { spec, .. } => {
                pairs.push(("pattern", json!(spec.pattern.as_str())));
                pairs.push(("command", json!(spec.command)));
                // Absolute: the emitted file may live elsewhere than the original.
                let dir = std::path::absolute(&spec.dir).unwrap_or_else(|_| spec.dir.clone());
                pairs.push(("dir", json!(dir.display().to_string())));
                if spec.budget_ms != BUDGET_MS_DEFAULT {
                    pairs.push(("timeout", json!(format_duration_ms(spec.budget_ms))));
                }
                if spec.wall_ms != WALL_MS_DEFAULT {
                    pairs.push(("wall_timeout", json!(format_duration_ms(spec.wall_ms))));
                }
            }
            ReflexKind::Library { .. } => pairs.push(("library", json!(true))),
        }
        lines(&mut out, &pairs);
        out.push('\n');
    }

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
        for f in schedule {
            out.push_str(&fault_table(f));
            out.push('\n');
        }
    }

    for i in &s.integration_settings {
        out.push_str("[[integration]]\n");
        let mut pairs = vec![
            ("name", json!(i.name)),
            ("entity_type", json!(i.entity_type)),
        ];
        if !i.answers.is_empty() {
            pairs.push(("answers", json!(i.answers)));
        }
        if let Some((lo, hi)) = i.delay_ms {
            pairs.push((
                "delay",
                json!({ "min": format_duration_ms(lo), "max": format_duration_ms(hi) }),
            ));
        }
        lines(&mut out, &pairs);
        out.push('\n');
    }
    for a in &s.answers {
        out.push_str(&answer_table(a));
        out.push('\n');
    }

    for i in &s.invariants {
        out.push_str("[[invariant]]\n");
        let mut pairs = vec![
            ("name", json!(i.invariant.name)),
            (i.invariant.kind.as_str(), json!(i.invariant.text)),
        ];
        if i.at == CheckAt::End {
            pairs.push(("at", json!("end")));
        }
        if let Some(t) = &i.tenant {
            pairs.push(("tenant", json!(t)));
        }
        lines(&mut out, &pairs);
        out.push('\n');
    }

    for e in &s.events {
        out.push_str("[[event]]\n");
        let mut pairs = vec![
            ("at", json!(format_duration_ms(e.at.ms()))),
            ("tenant", json!(e.tenant)),
        ];
        match (&e.input, &e.vendor) {
            (_, Some(vendor)) => {
                match &vendor.kind {
                    VendorKind::MerakiWebhook => pairs.push(("webhook", json!("meraki"))),
                    VendorKind::SnmpPoll => pairs.push(("snmp", json!("poll"))),
                    VendorKind::SnmpTrap { event_class } => {
                        pairs.push(("snmp", json!("trap")));
                        pairs.push(("event_class", json!(event_class)));
                    }
                }
                pairs.push(("payload", vendor.payload.clone()));
                lines(&mut out, &pairs);
            }
            (Input::Publish { subject, payload }, None) => {
                pairs.push(("subject", json!(subject.as_str())));
                pairs.push(("payload", payload.clone()));
                lines(&mut out, &pairs);
            }
            (
                Input::Dispatch {
                    entity_type,
                    id,
                    action,
                    params,
                    created_by,
                },
                None,
            ) => {
                lines(&mut out, &pairs);
                let target = match created_by {
                    None => format!("id = {}", inline(&json!(id))),
                    Some(c) => {
                        let nth = if c.nth == 1 {
                            String::new()
                        } else {
                            format!(", nth = {}", c.nth)
                        };
                        format!(
                            "created_by = {{ rule = {}, source = {}{nth} }}",
                            inline(&json!(c.rule)),
                            inline(&json!(format!("{}/{}", c.source_type, c.source_id)))
                        )
                    }
                };
                let mut d = format!(
                    "dispatch = {{ entity_type = {}, {target}, action = {}",
                    inline(&json!(entity_type)),
                    inline(&json!(action))
                );
                if *params != Value::Object(Default::default()) {
                    d.push_str(&format!(", params = {}", inline(params)));
                }
                d.push_str(" }\n");
                out.push_str(&d);
            }
        }
        out.push('\n');
    }

    for x in &s.expects {
        out.push_str("[[expect]]\n");
        let mut pairs = vec![
            ("tenant", json!(x.tenant)),
            ("entity_type", json!(x.entity_type)),
            ("id", json!(x.id)),
        ];
        if let Some(st) = &x.status {
            pairs.push(("status", json!(st)));
        }
        if !x.fields.is_empty() {
            pairs.push(("fields", Value::Object(x.fields.to_object())));
        }
        if !x.exists {
            pairs.push(("exists", json!(false)));
        }
        lines(&mut out, &pairs);
        out.push('\n');
    }
    out
}

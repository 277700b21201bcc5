//! The `effect` of a temper action, read into the engine's typed [`Effect`]s and the
//! commands the action hands on (`emit`, `trigger`, `schedule`).
//!
//! Temper writes an effect in four shapes, and all four load: a string (`"increment items"`,
//! `"set has_reviewer true"`, `"emit OrderShipped"`, `"trigger invoke_llm"`), a table
//! (`{ type = "increment", var = "turns" }`), an array of tables or strings, or a string that
//! holds such an array (`'[{ type = "increment", var = "version_count" }]'`, which temper's
//! line parser reads as the array).
//!
//! Each typed effect means what temper's runtime does with it (`temper-actor-runtime`'s
//! `apply_effect`): counters are unsigned (a decrement stops at 0), `amount = "param"` and
//! `set_counter_from_param` read a param as a count and change nothing when it is missing or
//! not one. Not supported, with the reason in the error: `schedule_at` (it reads a wall-clock
//! timestamp from a field; a run has only virtual time), `spawn` (child entities with copied
//! fields are not simulated yet), and list effects (Ripple keeps a list and a param of the
//! same name in one field; temper keeps two).
//!
//! One difference on purpose: `"x += 1"` (temper-agents' `agent_definition.ioa.toml`) is an
//! increment here. Temper's line parser recognises no such form and drops the effect
//! without a word; Ripple never drops an effect silently, and this one says what it means.
//! The loader warns that the two differ.

use crate::engine::Effect;
use crate::scenario::temper::expr::VarType;
use std::collections::BTreeMap;
use toml::Value as Toml;

/// A command of an action, before integrations are attached (see `spec.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandDef {
    Emit(String),
    Trigger(String),
    Schedule { action: String, delay_ms: u64 },
}

/// What an action's `effect` lowers to.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lowered {
    pub effects: Vec<Effect>,
    pub commands: Vec<(CommandDef, usize)>,
    /// Notes for the loader's warnings, each at an offset.
    pub notes: Vec<(usize, String)>,
}

/// A problem at a byte offset of the spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectError {
    pub offset: usize,
    pub message: String,
    pub hint: String,
}

fn err(offset: usize, message: impl Into<String>, hint: impl Into<String>) -> EffectError {
    EffectError {
        offset,
        message: message.into(),
        hint: hint.into(),
    }
}

/// At most this many effects per action (a budget; temper's longest lists a handful).
const EFFECTS_MAX: usize = 64;

/// Reads an `effect` value that starts at byte `start` of `text` (the whole spec file).
pub fn parse_effect(
    value: &Toml,
    start: usize,
    text: &str,
    vars: &BTreeMap<String, VarType>,
) -> Result<Lowered, EffectError> {
    let mut out = Lowered::default();
    match value {
        Toml::String(s) if s.trim_start().starts_with('[') => {
            // A string holding an array: temper reads the array. Offsets inside it are the
            // string's, one past its opening quote (exact for a literal string).
            let inner_start = start + 1;
            let doc = format!("x = {s}");
            let parsed: toml::Table = toml::from_str(&doc).map_err(|e| {
                let at = e.span().map_or(0, |r| r.start.saturating_sub(4));
                err(
                    inner_start + at,
                    format!("the effect string does not hold a TOML array: {}", e.message()),
                    "write the effects as an array of tables, e.g. [{ type = \"increment\", var = \"n\" }]",
                )
            })?;
            let Some(Toml::Array(items)) = parsed.get("x") else {
                return Err(err(
                    start,
                    "the effect string does not hold an array",
                    "write [{ type = ... }]",
                ));
            };
            for (k, item) in items.iter().enumerate() {
                let at = inner_start + nth_item_offset(s, k);
                one(item, at, text, vars, &mut out)?;
            }
        }
        Toml::Array(items) => {
            let raw = &text[start.min(text.len())..];
            for (k, item) in items.iter().enumerate() {
                one(item, start + nth_item_offset(raw, k), text, vars, &mut out)?;
            }
        }
        other => one(other, start, text, vars, &mut out)?,
    }
    if out.effects.len() + out.commands.len() > EFFECTS_MAX {
        return Err(err(
            start,
            format!("more than {EFFECTS_MAX} effects"),
            "split the action",
        ));
    }
    Ok(out)
}

/// The byte offset, within `raw` (text that starts with an array), of its `k`-th element:
/// counted over top-level commas, skipping strings and nested brackets. A best effort for
/// error positions; `0` (the array itself) when the text is not what it seems.
pub fn nth_item_offset(raw: &str, k: usize) -> usize {
    let b = raw.as_bytes();
    let Some(open) = raw.find('[') else { return 0 };
    let mut depth = 0usize;
    let mut index = 0usize;
    let mut i = open + 1;
    let mut want_start = true;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' => {
                if want_start && depth == 0 && index == k {
                    return i;
                }
                want_start = false;
                let close = raw[i + 1..].find(c as char).map_or(b.len(), |j| i + 1 + j);
                i = close + 1;
                continue;
            }
            b'#' => {
                i = raw[i..].find('\n').map_or(b.len(), |j| i + j);
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            b'[' | b'{' => {
                if want_start && depth == 0 && index == k {
                    return i;
                }
                want_start = false;
                depth += 1;
            }
            b']' | b'}' => {
                if depth == 0 {
                    return 0;
                }
                depth -= 1;
            }
            b',' if depth == 0 => {
                index += 1;
                want_start = true;
            }
            _ => {
                if want_start && depth == 0 && index == k {
                    return i;
                }
                want_start = false;
            }
        }
        i += 1;
    }
    0
}

fn one(
    item: &Toml,
    at: usize,
    text: &str,
    vars: &BTreeMap<String, VarType>,
    out: &mut Lowered,
) -> Result<(), EffectError> {
    match item {
        Toml::String(s) => legacy(s, at, vars, out),
        Toml::Table(t) => typed(t, at, text, vars, out),
        other => Err(err(
            at,
            format!("an effect is a string or a table, not {}", other.type_str()),
            "e.g. \"increment items\" or { type = \"increment\", var = \"items\" }",
        )),
    }
}

fn var_of(
    name: &str,
    at: usize,
    want: VarType,
    vars: &BTreeMap<String, VarType>,
) -> Result<String, EffectError> {
    match vars.get(name) {
        Some(t) if *t == want => Ok(name.to_string()),
        Some(t) => Err(err(
            at,
            format!(
                "`{name}` is a {} variable; this effect needs a {}",
                t.as_str(),
                want.as_str()
            ),
            "check the [[state]] declaration",
        )),
        None => Err(err(
            at,
            format!("`{name}` is not a declared state variable"),
            format!(
                "declare it: [[state]] name = \"{name}\", type = \"{}\"",
                want.as_str()
            ),
        )),
    }
}

/// The string forms.
fn legacy(
    s: &str,
    at: usize,
    vars: &BTreeMap<String, VarType>,
    out: &mut Lowered,
) -> Result<(), EffectError> {
    let words: Vec<&str> = s.split_whitespace().collect();
    let name_of = |i: usize, what: &str| -> Result<String, EffectError> {
        words.get(i).map(|w| w.to_string()).ok_or_else(|| {
            err(
                at,
                format!(
                    "effect {s:?}: `{}` needs {what}",
                    words.first().unwrap_or(&"")
                ),
                format!("e.g. \"{} name\"", words.first().unwrap_or(&"")),
            )
        })
    };
    let exactly = |n: usize| -> Result<(), EffectError> {
        if words.len() == n {
            Ok(())
        } else {
            Err(err(
                at,
                format!("effect {s:?} has {} words, expected {n}", words.len()),
                "one effect per string; list several as an array",
            ))
        }
    };
    match words.as_slice() {
        ["increment", ..] => {
            exactly(2)?;
            out.effects.push(Effect::Increment(var_of(&name_of(1, "a counter")?, at, VarType::Counter, vars)?));
        }
        ["decrement", ..] => {
            exactly(2)?;
            out.effects.push(Effect::DecrementFloor(var_of(&name_of(1, "a counter")?, at, VarType::Counter, vars)?));
        }
        ["set", var, value] => {
            let var = var_of(var, at, VarType::Bool, vars)?;
            let value = match *value {
                "true" => true,
                "false" => false,
                other => return Err(err(at, format!("effect {s:?}: {other:?} is not true or false"), "temper's `set` sets a bool: \"set flag true\"")),
            };
            out.effects.push(Effect::Set(var, value.into()));
        }
        ["emit", ..] => {
            exactly(2)?;
            out.commands.push((CommandDef::Emit(name_of(1, "an event name")?), at));
        }
        ["trigger", ..] => {
            exactly(2)?;
            out.commands.push((CommandDef::Trigger(name_of(1, "an integration name")?), at));
        }
        ["schedule_at", ..] => return Err(unsupported("schedule_at", at)),
        [var, op @ ("+=" | "-="), n] => {
            let var = var_of(var, at, VarType::Counter, vars)?;
            let n: i64 = n.parse().map_err(|_| err(at, format!("effect {s:?}: {n:?} is not an integer"), "e.g. \"count += 1\""))?;
            out.effects.push(Effect::Add(var, if *op == "+=" { n } else { -n }));
            out.notes.push((
                at,
                format!("effect {s:?}: Ripple applies it as a counter change; temper's spec parser has no `{op}` form and ignores this effect"),
            ));
        }
        _ => {
            return Err(err(
                at,
                format!("effect {s:?} is not an effect temper writes"),
                "use \"increment VAR\", \"decrement VAR\", \"set VAR true|false\", \"emit EVENT\", \"trigger NAME\", or a table { type = ... }",
            ))
        }
    }
    Ok(())
}

fn unsupported(kind: &str, at: usize) -> EffectError {
    let why = match kind {
        "schedule_at" => "it reads a wall-clock timestamp from a field, and a run has only virtual time; use `schedule` with delay_seconds",
        "spawn" | "spawn_entity" => "spawning child entities with copied fields is not simulated yet",
        _ => "Ripple keeps a list and a param of the same name in one field, where temper keeps two, so it cannot apply list effects as temper does",
    };
    err(at, format!("`{kind}` effects are not supported"), why)
}

/// The table forms.
fn typed(
    t: &toml::Table,
    at: usize,
    text: &str,
    vars: &BTreeMap<String, VarType>,
    out: &mut Lowered,
) -> Result<(), EffectError> {
    let key_at = |key: &str| -> usize {
        // The key's place inside this inline table, for a precise column; else the table.
        let raw = &text[at.min(text.len())..];
        let end = raw.find('}').unwrap_or(raw.len());
        raw[..end].find(key).map_or(at, |i| at + i)
    };
    let kind = match t.get("type") {
        Some(Toml::String(k)) => k.as_str(),
        Some(other) => {
            return Err(err(
                key_at("type"),
                format!("`type` is a string, not {}", other.type_str()),
                "e.g. type = \"increment\"",
            ))
        }
        None => {
            return Err(err(
                at,
                "the effect table has no `type`",
                "e.g. { type = \"increment\", var = \"items\" }",
            ))
        }
    };
    let takes: &[&str] = match kind {
        "increment" | "decrement" => &["var", "amount"],
        "set_bool" => &["var", "value"],
        "set_counter_from_param" => &["var", "param"],
        "emit" | "emit_event" => &["event"],
        "trigger" => &["name"],
        "schedule" => &["action", "delay_seconds"],
        "schedule_at" | "spawn" | "spawn_entity" | "list_append" | "list_remove_at" => {
            return Err(unsupported(kind, key_at("type")))
        }
        other => return Err(err(
            key_at("type"),
            format!("unknown effect type {other:?}"),
            "use increment, decrement, set_bool, set_counter_from_param, emit, trigger or schedule",
        )),
    };
    for key in t.keys() {
        if key != "type" && !takes.contains(&key.as_str()) {
            return Err(err(
                key_at(key),
                format!(
                    "`{key}` is not a key of a `{kind}` effect (it takes {})",
                    takes.join(", ")
                ),
                "remove the key, or change `type`",
            ));
        }
    }
    let string = |key: &str| -> Result<Option<String>, EffectError> {
        match t.get(key) {
            None => Ok(None),
            Some(Toml::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
            Some(other) => Err(err(
                key_at(key),
                format!("`{key}` must be a non-empty string, not {other}"),
                "quote the name",
            )),
        }
    };
    let required = |key: &str| -> Result<String, EffectError> {
        string(key)?.ok_or_else(|| {
            err(
                at,
                format!("a `{kind}` effect needs `{key}`"),
                format!("add {key} = \"...\""),
            )
        })
    };
    match kind {
        "increment" | "decrement" => {
            let var = var_of(&required("var")?, key_at("var"), VarType::Counter, vars)?;
            out.effects.push(match (kind, string("amount")?) {
                ("increment", None) => Effect::Increment(var),
                ("increment", Some(param)) => Effect::IncrementBy { var, param },
                (_, None) => Effect::DecrementFloor(var),
                (_, Some(param)) => Effect::DecrementBy { var, param },
            });
        }
        "set_bool" => {
            let var = var_of(&required("var")?, key_at("var"), VarType::Bool, vars)?;
            let value = match t.get("value") {
                Some(Toml::Boolean(b)) => *b,
                Some(Toml::String(s)) if s == "true" || s == "false" => s == "true",
                Some(other) => {
                    return Err(err(
                        key_at("value"),
                        format!("`value` must be true or false, not {other}"),
                        "value = \"true\"",
                    ))
                }
                None => {
                    return Err(err(
                        at,
                        "a `set_bool` effect needs `value`",
                        "add value = \"true\" or \"false\"",
                    ))
                }
            };
            out.effects.push(Effect::Set(var, value.into()));
        }
        "set_counter_from_param" => {
            let var = var_of(&required("var")?, key_at("var"), VarType::Counter, vars)?;
            let param = string("param")?.unwrap_or_else(|| var.clone());
            out.effects.push(Effect::SetFromParam { var, param });
        }
        "emit" | "emit_event" => out
            .commands
            .push((CommandDef::Emit(required("event")?), at)),
        "trigger" => out
            .commands
            .push((CommandDef::Trigger(required("name")?), at)),
        "schedule" => {
            let action = required("action")?;
            let seconds = match t.get("delay_seconds") {
                None => 0,
                Some(Toml::Integer(n)) if *n >= 0 => *n as u64,
                Some(Toml::String(s)) => s.trim().parse::<u64>().map_err(|_| {
                    err(
                        key_at("delay_seconds"),
                        format!("delay_seconds {s:?} is not a whole number of seconds"),
                        "e.g. delay_seconds = 60",
                    )
                })?,
                Some(other) => {
                    return Err(err(
                        key_at("delay_seconds"),
                        format!("delay_seconds must be a whole number of seconds, not {other}"),
                        "e.g. delay_seconds = 60",
                    ))
                }
            };
            let delay_ms = seconds.checked_mul(1000).ok_or_else(|| {
                err(
                    key_at("delay_seconds"),
                    "delay_seconds is too large",
                    "use fewer seconds",
                )
            })?;
            out.commands
                .push((CommandDef::Schedule { action, delay_ms }, at));
        }
        _ => unreachable!("kinds were matched above"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, VarType> {
        [("n", VarType::Counter), ("ok", VarType::Bool)]
            .into_iter()
            .map(|(k, t)| (k.to_string(), t))
            .collect()
    }

    fn lower(text: &str) -> Result<Lowered, EffectError> {
        let doc = format!("effect = {text}\n");
        let t: toml::Table = toml::from_str(&doc).unwrap();
        parse_effect(&t["effect"], 9, &doc, &vars())
    }

    #[test]
    fn every_shape_temper_writes_loads() {
        let a = lower("\"increment n\"").unwrap();
        assert_eq!(a.effects, vec![Effect::Increment("n".into())]);
        let b =
            lower("[{ type = \"increment\", var = \"n\" }, { type = \"emit\", event = \"E\" }]")
                .unwrap();
        assert_eq!(b.effects, vec![Effect::Increment("n".into())]);
        assert_eq!(b.commands[0].0, CommandDef::Emit("E".into()));
        let c = lower("'[{ type = \"decrement\", var = \"n\" }, { type = \"set_bool\", var = \"ok\", value = \"true\" }]'").unwrap();
        assert_eq!(
            c.effects,
            vec![
                Effect::DecrementFloor("n".into()),
                Effect::Set("ok".into(), true.into())
            ]
        );
        let d = lower("{ type = \"schedule\", action = \"Wake\", delay_seconds = 2 }").unwrap();
        assert_eq!(
            d.commands[0].0,
            CommandDef::Schedule {
                action: "Wake".into(),
                delay_ms: 2000
            }
        );
        let e = lower("[\"n += 1\"]").unwrap();
        assert_eq!(e.effects, vec![Effect::Add("n".into(), 1)]);
        assert_eq!(e.notes.len(), 1, "the difference from temper is noted");
    }

    #[test]
    fn mistakes_point_at_the_element() {
        let e =
            lower("[{ type = \"increment\", var = \"n\" }, { type = \"increment\", var = \"m\" }]")
                .unwrap_err();
        assert!(e.message.contains("`m` is not a declared"), "{e:?}");
        // At the second element's `var` key: 9 (the array) + 36 (the second table) + 22.
        assert_eq!(e.offset, 67, "{e:?}");
        let e = lower("{ type = \"spawn\", entity_type = \"X\" }").unwrap_err();
        assert!(e.message.contains("not supported"), "{e:?}");
        let e = lower("{ type = \"emit\", evnt = \"X\" }").unwrap_err();
        assert!(e.message.contains("`evnt` is not a key"), "{e:?}");
        let e = lower("\"bump n\"").unwrap_err();
        assert!(e.message.contains("not an effect"), "{e:?}");
    }

    #[test]
    fn item_offsets_skip_strings_and_nesting() {
        let raw = "[ { a = \"x, y\" }, \"b\" ,[1,2], c ]";
        assert_eq!(&raw[nth_item_offset(raw, 0)..][..1], "{");
        assert_eq!(&raw[nth_item_offset(raw, 1)..][..1], "\"");
        assert_eq!(&raw[nth_item_offset(raw, 2)..][..1], "[");
        assert_eq!(&raw[nth_item_offset(raw, 3)..][..1], "c");
    }
}

//! Entity state machines: the spec a scenario declares (`states`, `initial`, initial
//! fields, actions with `from`/`to`/`requires`/`effect`) and the instances the engine keeps.
//! A temper I/O-automaton spec lowers to the same types: its state variables become initial
//! fields, its guards a typed [`Expr`], its effects typed [`Effect`]s (counters that never go
//! below 0, values taken from params) and [`Command`]s (emits, triggers, schedules).
//!
//! Applying an action is a pure function of the spec, the entity and the params. It does not
//! fire reactions, call integrations or publish anything: that is the cascade's job.

use crate::core::{same_name, Value};
use crate::engine::fields::{Hint, Vacant};
use crate::engine::{Command, Expr, Fields};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// A declared entity type.
#[derive(Debug, Clone, PartialEq)]
pub struct EntitySpec {
    pub type_name: String,
    pub states: Vec<String>,
    pub initial: String,
    /// The fields a new instance starts with (a temper spec's state variables, an
    /// `[[entity]]`'s `fields`).
    pub fields_initial: Fields,
    pub actions: BTreeMap<String, ActionSpec>,
}

/// One action of an entity type.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionSpec {
    pub name: String,
    /// States the action is enabled in; `None` = every state.
    pub from: Option<Vec<String>>,
    /// The post-state; `None` keeps the state.
    pub to: Option<String>,
    pub requires: Option<Condition>,
    /// A temper guard, checked like `requires` (on the fields with the params merged in).
    pub guard: Option<Expr>,
    pub effects: Vec<Effect>,
    /// What the action asks of the world once it commits, in effect order (temper specs).
    pub commands: Vec<Command>,
}

/// A live entity: its status and fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    pub status: String,
    pub fields: Fields,
}

/// A field change an action makes after its params are merged.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// `increment items`: a missing counter counts as 0.
    Increment(String),
    /// `decrement items`.
    Decrement(String),
    /// `set flag true`, `set note 'x'`, `set level 3`.
    Set(String, Value),
    /// Temper's `decrement`: its counters are unsigned and stop at 0.
    DecrementFloor(String),
    /// Temper's `var += n` (`n` may be negative; the counter stops at 0).
    Add(String, i64),
    /// Temper's `increment` with `amount = "param"`: the counter grows by the param's value
    /// (a non-negative integer, or a string of one); a missing or other param changes nothing,
    /// as in temper's runtime.
    IncrementBy { var: String, param: String },
    /// Temper's `decrement` with `amount = "param"` (stops at 0).
    DecrementBy { var: String, param: String },
    /// Temper's `set_counter_from_param`: the counter becomes the param's value (as for
    /// `IncrementBy`).
    SetFromParam { var: String, param: String },
}

/// `items > 0 && approved == true`: comparisons joined by `&&`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub clauses: Vec<Comparison>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub field: String,
    pub op: CmpOp,
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Why an action could not be applied. It becomes the `error` of a reaction result; the
/// source is never rolled back (fire-and-forget).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionError {
    UnknownAction {
        entity_type: String,
        action: String,
    },
    NotEnabled {
        action: String,
        status: String,
        from: Vec<String>,
    },
    RequiresFalse {
        action: String,
        requires: String,
    },
    /// A temper guard did not hold.
    GuardFalse {
        action: String,
        guard: String,
    },
    /// Injected by the fault layer (`action_failure`).
    Injected {
        action: String,
    },
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ActionError::UnknownAction {
                entity_type,
                action,
            } => {
                write!(f, "{entity_type} has no action {action}")
            }
            ActionError::NotEnabled {
                action,
                status,
                from,
            } => write!(
                f,
                "{action} is not enabled in state {status} (enabled in: {})",
                from.join(", ")
            ),
            ActionError::RequiresFalse { action, requires } => {
                write!(f, "{action} requires {requires}, which is false")
            }
            ActionError::GuardFalse { action, guard } => {
                write!(f, "{action}'s guard {guard} is false")
            }
            ActionError::Injected { action } => write!(f, "{action} failed (injected fault)"),
        }
    }
}

impl EntitySpec {
    /// A new instance in the initial state, with the initial fields.
    pub fn instantiate(&self) -> Entity {
        Entity {
            status: self.initial.clone(),
            fields: self.fields_initial.clone(),
        }
    }

    /// Applies `action` with `params` to `entity` in place. On error the entity is
    /// unchanged. Order: enabled-in-state check, params merged, `requires` checked on the
    /// merged fields (so an action can require its own input, `amount > 0`), effects,
    /// then the new state.
    pub fn apply(
        &self,
        entity: &mut Entity,
        action: &str,
        params: &Value,
    ) -> Result<(), ActionError> {
        self.apply_merging(entity, action, |fields| merge_params(fields, params))
    }

    /// [`EntitySpec::apply`] with the params given as a function that merges them into the
    /// fields: the cascade merges a rule's params straight from the source's fields, without
    /// building them as a value first. `merge` must do what `merge_params` does with some
    /// params; it is called once, on the entity's fields or on a scratch copy of them.
    pub fn apply_merging(
        &self,
        entity: &mut Entity,
        action: &str,
        merge: impl FnOnce(&mut Fields),
    ) -> Result<(), ActionError> {
        let spec = self
            .actions
            .get(action)
            .ok_or_else(|| ActionError::UnknownAction {
                entity_type: self.type_name.clone(),
                action: action.to_string(),
            })?;
        ActionSpec::apply(spec, entity, action, merge)
    }

    /// The declared state equal to `status`, borrowed from the spec (`None` when the status
    /// is not one of the spec's states).
    pub fn state_named(&self, status: &str) -> Option<&str> {
        self.states
            .iter()
            .chain(std::iter::once(&self.initial))
            .find(|s| same_name(s, status))
            .map(String::as_str)
    }
}

impl ActionSpec {
    /// [`EntitySpec::apply_merging`] once the action is found (`action` is its name, for
    /// errors).
    pub fn apply(
        &self,
        entity: &mut Entity,
        action: &str,
        merge: impl FnOnce(&mut Fields),
    ) -> Result<(), ActionError> {
        let spec = self;
        if let Some(from) = &spec.from {
            if !from.contains(&entity.status) {
                return Err(ActionError::NotEnabled {
                    action: action.to_string(),
                    status: entity.status.clone(),
                    from: from.clone(),
                });
            }
        }
        // Merge into a scratch copy only when `requires` or a guard must see the merged
        // fields; otherwise merge in place (the common, cheaper path).
        if spec.requires.is_some() || spec.guard.is_some() {
            let mut merged = entity.fields.clone();
            merge(&mut merged);
            if let Some(requires) = &spec.requires {
                if !requires.holds(&merged) {
                    return Err(ActionError::RequiresFalse {
                        action: action.to_string(),
                        requires: requires.text.clone(),
                    });
                }
            }
            if let Some(guard) = &spec.guard {
                if !guard.holds(&entity.status, &merged) {
                    return Err(ActionError::GuardFalse {
                        action: action.to_string(),
                        guard: guard.to_string(),
                    });
                }
            }
            entity.fields = merged;
        } else {
            merge(&mut entity.fields);
        }
        for effect in &spec.effects {
            effect.apply(&mut entity.fields);
        }
        if let Some(to) = &spec.to {
            if *to != entity.status {
                entity.status.clone_from(to);
            }
        }
        Ok(())
    }

    /// Whether applying the action to an entity in `status` may move it to another state.
    pub fn may_change(&self, status: &str) -> bool {
        self.to.as_deref().is_some_and(|to| to != status)
    }
}

/// An action's params (an object) are merged into the entity's fields; a non-object is
/// ignored here (it still reaches the trace as the action's params).
pub fn merge_params(fields: &mut Fields, params: &Value) {
    if let Value::Object(map) = params {
        for (k, v) in map {
            set_field(fields, k, v);
        }
    }
}

/// `fields[key] = value`, without allocating when the field is already there: a field that
/// keeps its value is left alone, a string overwrites a string in place.
pub(crate) fn set_field(fields: &mut Fields, key: &str, value: &Value) {
    set_slot(fields.slot(key), value);
}

/// [`set_field`], trying `hint` first (see [`Hint`]).
#[inline]
pub(crate) fn set_field_hinted(fields: &mut Fields, key: &str, value: &Value, hint: &Hint) {
    set_slot(fields.slot_hinted(key, hint), value);
}

#[inline(always)]
fn set_slot(slot: Result<&mut Value, Vacant<'_, '_>>, value: &Value) {
    match slot {
        Ok(slot) => match (slot, value) {
            // Strings (most fields) are compared in line and overwritten in place.
            (Value::String(have), Value::String(want)) => {
                if !same_name(have, want) {
                    have.clone_from(want);
                }
            }
            (slot, value) => {
                if slot != value {
                    *slot = value.clone();
                }
            }
        },
        Err(vacant) => vacant.insert(value.clone()),
    }
}

impl Effect {
    /// Parses `increment items`, `decrement items`, `set flag true`.
    pub fn parse(text: &str) -> Result<Effect, String> {
        let mut words = text.split_whitespace();
        let verb = words.next().unwrap_or("");
        let field = words.next();
        let rest: Vec<&str> = words.collect();
        let need_field = |field: Option<&str>| {
            field.map(str::to_string).ok_or_else(|| {
                format!("effect {text:?}: `{verb}` needs a field name, e.g. \"{verb} items\"")
            })
        };
        match verb {
            "increment" | "decrement" => {
                let f = need_field(field)?;
                if !rest.is_empty() {
                    return Err(format!(
                        "effect {text:?}: `{verb}` takes one field name and nothing more"
                    ));
                }
                Ok(if verb == "increment" {
                    Effect::Increment(f)
                } else {
                    Effect::Decrement(f)
                })
            }
            "set" => {
                let f = need_field(field)?;
                if rest.is_empty() {
                    return Err(format!(
                        "effect {text:?}: `set` needs a value, e.g. \"set {f} true\""
                    ));
                }
                let value = parse_literal(&rest.join(" "))
                    .map_err(|e| format!("effect {text:?}: {e}"))?;
                Ok(Effect::Set(f, value))
            }
            _ => Err(format!(
                "effect {text:?}: unknown effect; use \"increment FIELD\", \"decrement FIELD\" or \"set FIELD VALUE\""
            )),
        }
    }

    fn apply(&self, fields: &mut Fields) {
        match self {
            Effect::Increment(f) | Effect::Decrement(f) => {
                let delta = if matches!(self, Effect::Increment(_)) {
                    1
                } else {
                    -1
                };
                // Counters saturate at the ends of their integer range instead of wrapping
                // around (or, past i64, turning into floats).
                let next = |old: Option<&Value>| match old {
                    Some(Value::Number(n)) if n.is_i64() => {
                        let n = n.as_i64().unwrap_or(0);
                        match n.checked_add(delta) {
                            Some(sum) => Value::from(sum),
                            None if delta > 0 => Value::from((n as u64).saturating_add(1)),
                            None => Value::from(i64::MIN),
                        }
                    }
                    Some(Value::Number(n)) if n.is_u64() => {
                        let n = n.as_u64().unwrap_or(u64::MAX);
                        Value::from(if delta > 0 {
                            n.saturating_add(1)
                        } else {
                            n - 1
                        })
                    }
                    Some(Value::Number(n)) => Value::from(n.as_f64().unwrap_or(0.0) + delta as f64),
                    // A missing (or non-numeric) counter counts as 0.
                    _ => Value::from(delta),
                };
                match fields.slot(f) {
                    Ok(slot) => *slot = next(Some(slot)),
                    Err(vacant) => vacant.insert(next(None)),
                }
            }
            Effect::Set(f, v) => set_field(fields, f, v),
            Effect::DecrementFloor(f) => add_floor(fields, f, -1),
            Effect::Add(f, n) => add_floor(fields, f, *n),
            Effect::IncrementBy { var, param } => {
                if let Some(n) = param_count(fields, param) {
                    add_floor(fields, var, n as i64);
                }
            }
            Effect::DecrementBy { var, param } => {
                if let Some(n) = param_count(fields, param) {
                    add_floor(fields, var, -(n as i64));
                }
            }
            Effect::SetFromParam { var, param } => {
                if let Some(n) = param_count(fields, param) {
                    set_field(fields, var, &Value::from(n));
                }
            }
        }
    }
}

/// `fields[var] += delta` for a temper counter, which is unsigned: it stops at 0, and a
/// missing (or non-numeric) counter counts as 0, as temper's runtime keeps it.
fn add_floor(fields: &mut Fields, var: &str, delta: i64) {
    let old = match fields.get(var) {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        _ => 0,
    };
    set_field(fields, var, &Value::from(old.saturating_add(delta).max(0)));
}

/// A param that temper reads as a count: a non-negative integer, or a string holding one
/// (`"1024"`). `None` for anything else, which temper's runtime skips with a warning.
/// Params are merged into the fields before effects run, so it is read from there.
fn param_count(fields: &Fields, param: &str) -> Option<u64> {
    match fields.get(param)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    }
}

/// A literal in a condition or effect: `true`, `false`, a number, or a quoted string
/// (`'x'` or `"x"`).
pub fn parse_literal(text: &str) -> Result<Value, String> {
    let t = text.trim();
    match t {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        "null" => return Ok(Value::Null),
        _ => {}
    }
    if t.len() >= 2
        && ((t.starts_with('\'') && t.ends_with('\'')) || (t.starts_with('"') && t.ends_with('"')))
    {
        return Ok(Value::String(t[1..t.len() - 1].to_string()));
    }
    if let Ok(i) = t.parse::<i64>() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = t.parse::<f64>() {
        if f.is_finite() {
            return Ok(Value::from(f));
        }
    }
    Err(format!(
        "{t:?} is not a literal; write true, false, a number, or a quoted string like 'Confirmed'"
    ))
}

impl Condition {
    /// Parses `items > 0`, `approved == true`, `a >= 1 && b != 'x'`.
    pub fn parse(text: &str) -> Result<Condition, String> {
        let mut clauses = Vec::new();
        for part in text.split("&&") {
            clauses.push(
                parse_comparison(part.trim()).map_err(|e| format!("requires {text:?}: {e}"))?,
            );
        }
        Ok(Condition {
            clauses,
            text: text.trim().to_string(),
        })
    }

    /// True when every comparison holds. Numeric comparisons treat a missing field as 0
    /// (like counters); other comparisons with a missing field are false except `!=`.
    pub fn holds(&self, fields: &Fields) -> bool {
        self.clauses.iter().all(|c| c.holds(fields))
    }
}

fn parse_comparison(text: &str) -> Result<Comparison, String> {
    // Two-character operators first so `>=` is not read as `>`.
    const OPS: [(&str, CmpOp); 6] = [
        ("==", CmpOp::Eq),
        ("!=", CmpOp::Ne),
        (">=", CmpOp::Ge),
        ("<=", CmpOp::Le),
        (">", CmpOp::Gt),
        ("<", CmpOp::Lt),
    ];
    for (sym, op) in OPS {
        if let Some(i) = text.find(sym) {
            let field = text[..i].trim();
            if field.is_empty()
                || !field
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            {
                return Err(format!(
                    "{field:?} is not a field name; write e.g. \"items > 0\""
                ));
            }
            let rhs = text[i + sym.len()..].trim();
            if rhs.is_empty() {
                return Err(format!(
                    "nothing after `{sym}`: write a value, e.g. \"{field} {sym} 0\""
                ));
            }
            let value = parse_literal(rhs)?;
            if matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge) && !value.is_number() {
                return Err(format!(
                    "`{sym}` compares numbers, but {value} is not a number"
                ));
            }
            return Ok(Comparison {
                field: field.to_string(),
                op,
                value,
            });
        }
    }
    Err(format!(
        "{text:?} has no comparison; use ==, !=, <, <=, > or >= (e.g. \"items > 0\")"
    ))
}

impl Comparison {
    fn holds(&self, fields: &Fields) -> bool {
        let actual = fields.get(&self.field);
        if let Some(want) = self.value.as_f64() {
            if matches!(self.op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge) {
                let have = match actual {
                    None => 0.0,
                    Some(v) => match v.as_f64() {
                        Some(x) => x,
                        None => return false,
                    },
                };
                return match self.op {
                    CmpOp::Lt => have < want,
                    CmpOp::Le => have <= want,
                    CmpOp::Gt => have > want,
                    CmpOp::Ge => have >= want,
                    CmpOp::Eq | CmpOp::Ne => unreachable!(),
                };
            }
        }
        let equal = match (actual, &self.value) {
            // Numbers compare by value here (`items == 1` holds for 1 and 1.0): a
            // condition is arithmetic, unlike a guard's JSON equality.
            (Some(Value::Number(a)), Value::Number(b)) => a.as_f64() == b.as_f64(),
            (None, _) => false,
            (Some(a), b) => a == b,
        };
        match self.op {
            CmpOp::Eq => equal,
            CmpOp::Ne => !equal,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn order() -> EntitySpec {
        let mut actions = BTreeMap::new();
        actions.insert(
            "AddItem".into(),
            ActionSpec {
                name: "AddItem".into(),
                from: Some(vec!["Draft".into()]),
                to: None,
                requires: None,
                guard: None,
                effects: vec![Effect::parse("increment items").unwrap()],
                commands: vec![],
            },
        );
        actions.insert(
            "SubmitOrder".into(),
            ActionSpec {
                name: "SubmitOrder".into(),
                from: Some(vec!["Draft".into()]),
                to: Some("Submitted".into()),
                requires: Some(Condition::parse("items > 0").unwrap()),
                guard: None,
                effects: vec![],
                commands: vec![],
            },
        );
        actions.insert(
            "Note".into(),
            ActionSpec {
                name: "Note".into(),
                from: None,
                to: None,
                requires: None,
                guard: None,
                effects: vec![Effect::parse("set noted true").unwrap()],
                commands: vec![],
            },
        );
        EntitySpec {
            type_name: "Order".into(),
            states: vec!["Draft".into(), "Submitted".into()],
            initial: "Draft".into(),
            fields_initial: Fields::new(),
            actions,
        }
    }

    #[test]
    fn counters_saturate_instead_of_wrapping() {
        for (start, effect, end) in [
            (
                serde_json::json!(i64::MAX),
                "increment n",
                serde_json::json!(i64::MAX as u64 + 1),
            ),
            (
                serde_json::json!(u64::MAX),
                "increment n",
                serde_json::json!(u64::MAX),
            ),
            (
                serde_json::json!(u64::MAX),
                "decrement n",
                serde_json::json!(u64::MAX - 1),
            ),
            (
                serde_json::json!(i64::MIN),
                "decrement n",
                serde_json::json!(i64::MIN),
            ),
            (serde_json::json!(-1), "increment n", serde_json::json!(0)),
        ] {
            let mut fields = Fields::default();
            set_field(&mut fields, "n", &start);
            Effect::parse(effect).unwrap().apply(&mut fields);
            assert_eq!(fields.get("n"), Some(&end), "{start} {effect}");
        }
    }

    #[test]
    fn missing_counter_counts_as_zero_and_increments() {
        let spec = order();
        let mut e = spec.instantiate();
        spec.apply(&mut e, "AddItem", &json!({"sku": "x"})).unwrap();
        spec.apply(&mut e, "AddItem", &json!({})).unwrap();
        assert_eq!(e.fields["items"], json!(2));
        assert_eq!(e.fields["sku"], json!("x"), "params merge into fields");
        assert_eq!(e.status, "Draft", "no `to` keeps the state");
    }

    #[test]
    fn requires_false_fails_and_leaves_entity_unchanged() {
        let spec = order();
        let mut e = spec.instantiate();
        let before = e.clone();
        let err = spec
            .apply(&mut e, "SubmitOrder", &json!({"x": 1}))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "SubmitOrder requires items > 0, which is false"
        );
        assert_eq!(e, before);
    }

    #[test]
    fn action_not_enabled_names_state_and_from() {
        let spec = order();
        let mut e = spec.instantiate();
        spec.apply(&mut e, "AddItem", &json!({})).unwrap();
        spec.apply(&mut e, "SubmitOrder", &json!({})).unwrap();
        assert_eq!(e.status, "Submitted");
        let err = spec.apply(&mut e, "AddItem", &json!({})).unwrap_err();
        assert_eq!(
            err.to_string(),
            "AddItem is not enabled in state Submitted (enabled in: Draft)"
        );
    }

    #[test]
    fn action_without_from_is_enabled_everywhere() {
        let spec = order();
        let mut e = Entity {
            status: "Submitted".into(),
            fields: Fields::new(),
        };
        spec.apply(&mut e, "Note", &Value::Null).unwrap();
        assert_eq!(e.fields["noted"], json!(true));
    }

    #[test]
    fn unknown_action_is_an_error() {
        let spec = order();
        let mut e = spec.instantiate();
        assert!(matches!(
            spec.apply(&mut e, "Nope", &json!({})),
            Err(ActionError::UnknownAction { .. })
        ));
    }

    #[test]
    fn conditions_compare_numbers_bools_and_strings() {
        let f: Fields = serde_json::from_value(json!({"n": 3, "ok": true, "s": "a"})).unwrap();
        let holds = |t: &str| Condition::parse(t).unwrap().holds(&f);
        assert!(holds("n > 2 && n <= 3"));
        assert!(!holds("n >= 4"));
        assert!(holds("ok == true"));
        assert!(holds("s == 'a'"));
        assert!(holds("s != 'b'"));
        assert!(holds("missing < 1"), "missing numeric field counts as 0");
        assert!(!holds("missing == 'x'"));
        assert!(holds("n == 3.0"), "conditions compare numbers by value");
    }

    #[test]
    fn bad_conditions_and_effects_say_how_to_fix() {
        assert!(Condition::parse("items")
            .unwrap_err()
            .contains("no comparison"));
        assert!(Condition::parse("items > 'x'")
            .unwrap_err()
            .contains("not a number"));
        assert!(Condition::parse("items > zero")
            .unwrap_err()
            .contains("not a literal"));
        assert!(Effect::parse("bump items")
            .unwrap_err()
            .contains("unknown effect"));
        assert!(Effect::parse("set flag")
            .unwrap_err()
            .contains("needs a value"));
        assert!(Effect::parse("increment")
            .unwrap_err()
            .contains("needs a field"));
    }
    #[test]
    fn temper_counters_stop_at_zero_and_read_counts_from_params() {
        let mut f: Fields = serde_json::from_value(json!({"n": 1, "size": "1024"})).unwrap();
        Effect::DecrementFloor("n".into()).apply(&mut f);
        Effect::DecrementFloor("n".into()).apply(&mut f);
        assert_eq!(f["n"], json!(0), "a temper counter never goes below 0");
        let by = |var: &str, param: &str| Effect::IncrementBy {
            var: var.into(),
            param: param.into(),
        };
        by("used", "size").apply(&mut f);
        assert_eq!(f["used"], json!(1024), "a numeric string counts");
        by("used", "missing").apply(&mut f);
        assert_eq!(f["used"], json!(1024), "a missing param changes nothing");
        Effect::DecrementBy {
            var: "used".into(),
            param: "size".into(),
        }
        .apply(&mut f);
        Effect::DecrementBy {
            var: "used".into(),
            param: "size".into(),
        }
        .apply(&mut f);
        assert_eq!(f["used"], json!(0));
        Effect::SetFromParam {
            var: "quota".into(),
            param: "size".into(),
        }
        .apply(&mut f);
        assert_eq!(f["quota"], json!(1024));
        Effect::Add("quota".into(), -2000).apply(&mut f);
        assert_eq!(f["quota"], json!(0));
    }

    #[test]
    fn a_false_guard_fails_the_action_and_names_it() {
        let mut spec = order();
        let submit = spec.actions.get_mut("SubmitOrder").unwrap();
        submit.requires = None;
        submit.guard = Some(Expr::Counter {
            var: "items".into(),
            op: CmpOp::Gt,
            rhs: crate::engine::CounterRhs::Number(0),
        });
        let mut e = spec.instantiate();
        let err = spec.apply(&mut e, "SubmitOrder", &json!({})).unwrap_err();
        assert_eq!(err.to_string(), "SubmitOrder's guard items > 0 is false");
        spec.apply(&mut e, "AddItem", &json!({})).unwrap();
        spec.apply(&mut e, "SubmitOrder", &json!({})).unwrap();
        assert_eq!(e.status, "Submitted");
    }

    #[test]
    fn a_new_instance_starts_with_the_initial_fields() {
        let mut spec = order();
        spec.fields_initial = serde_json::from_value(json!({"items": 0, "vip": false})).unwrap();
        let e = spec.instantiate();
        assert_eq!(e.fields["items"], json!(0));
        assert_eq!(e.fields["vip"], json!(false));
    }
}

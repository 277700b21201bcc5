//! `[[entity]]` and `[[entity.action]]`: entity types, their states and actions.

use super::{known, known_or, Loader};
use crate::engine::{ActionSpec, Condition, Effect, EntitySpec, Fields};
use crate::scenario::SourceError;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EntityDef {
    #[serde(rename = "type")]
    pub(super) type_name: Spanned<String>,
    pub(super) states: Spanned<Vec<String>>,
    pub(super) initial: Spanned<String>,
    /// The fields a new instance starts with.
    #[serde(default)]
    pub(super) fields: Fields,
    #[serde(default)]
    pub(super) action: Vec<ActionDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ActionDef {
    pub(super) name: Spanned<String>,
    pub(super) from: Option<Spanned<Vec<String>>>,
    pub(super) to: Option<Spanned<String>>,
    pub(super) requires: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) effect: Vec<Spanned<String>>,
}

impl Loader<'_> {
    pub(super) fn entities(
        &self,
        defs: &[EntityDef],
    ) -> Result<BTreeMap<String, EntitySpec>, SourceError> {
        let mut out = BTreeMap::new();
        for e in defs {
            let name = e.type_name.get_ref().clone();
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return Err(self
                    .err(e.type_name.span().start, format!("entity type {name:?} is not a plain name"))
                    .with_hint("use letters, digits and '_' (it becomes a token of entity.<Type>.<Action>.<id>)"));
            }
            if out.contains_key(&name) {
                return Err(self
                    .err(
                        e.type_name.span().start,
                        format!("entity type {name} is declared twice"),
                    )
                    .with_hint("merge the two [[entity]] tables, or rename one"));
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
                if s.trim().is_empty() {
                    return Err(self
                        .err(
                            e.states.span().start,
                            format!("{name} has an empty state name ({s:?})"),
                        )
                        .with_hint("name every state; an empty one cannot be told apart in traces, guards or expectations"));
                }
                if !seen.insert(s) {
                    return Err(self
                        .err(
                            e.states.span().start,
                            format!("state {s:?} is listed twice in {name}"),
                        )
                        .with_hint("list each state once"));
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
                    return Err(self
                        .err(
                            a.name.span().start,
                            format!("action {aname} of {name} is declared twice"),
                        )
                        .with_hint("merge the two [[entity.action]] tables, or rename one"));
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
                        Condition::parse(r.get_ref()).map_err(|m| {
                            self.err(r.span().start, m).with_hint(
                                "a comparison of a field with a value: \"items > 0\", \"approved == true\"",
                            )
                        })?,
                    ),
                };
                let mut effects = Vec::new();
                for eff in &a.effect {
                    effects.push(Effect::parse(eff.get_ref()).map_err(|m| {
                        self.err(eff.span().start, m).with_hint(
                            "\"increment FIELD\", \"decrement FIELD\" or \"set FIELD VALUE\"",
                        )
                    })?);
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

    pub(super) fn check_action(
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
}

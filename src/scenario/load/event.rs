//! `[[event]]`: scripted root inputs (a publication, an entity action, a vendor input).

use super::Loader;
use crate::core::SimTime;
use crate::core::Subject;
use crate::core::{EntityId, Object, TenantId, Value};
use crate::engine::EntitySpec;
use crate::engine::{Resolver, Rule};
use crate::scenario::lint::hint;
use crate::scenario::SourceError;
use crate::scenario::{
    meraki_webhook, snmp_poll, snmp_trap, CreatedBy, Input, RootEvent, VendorInput, VendorKind,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventDef {
    pub(super) at: Spanned<String>,
    pub(super) tenant: Spanned<String>,
    pub(super) subject: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "crate::core::finite_spanned")]
    pub(super) payload: Option<Spanned<Value>>,
    pub(super) dispatch: Option<Spanned<DispatchDef>>,
    /// `"meraki"`: `payload` is the webhook's body, published as netcortex's publisher would.
    pub(super) webhook: Option<Spanned<String>>,
    /// `"poll"` or `"trap"`: `payload` is what the poller saw or the trap carried.
    pub(super) snmp: Option<Spanned<String>>,
    /// With `snmp = "trap"`: the event class it reports (`link_down`, `bgp_drop`, ...).
    pub(super) event_class: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DispatchDef {
    pub(super) entity_type: String,
    pub(super) id: Option<String>,
    /// Instead of `id`: the entity a `create` rule made for a source, found at run time.
    pub(super) created_by: Option<Spanned<CreatedByDef>>,
    pub(super) action: String,
    #[serde(default = "empty_object", deserialize_with = "crate::core::finite")]
    pub(super) params: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreatedByDef {
    /// The name of a rule whose resolver is `create`.
    pub(super) rule: String,
    /// `Type/id`: the source entity the rule fired for.
    pub(super) source: String,
    /// Which of the entities it created for that source (1-based; default 1).
    pub(super) nth: Option<u32>,
}

/// What a value is, as an error message says it.
pub(super) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a table",
    }
}

pub(super) fn empty_object() -> Value {
    Value::Object(Object::new())
}

impl Loader<'_> {
    /// Params and payloads are tables: an action merges its params into the entity's
    /// fields and handlers read a payload's keys, so a string or a list there could never
    /// act (the engine would pass it along and ignore it).
    pub(super) fn table(&self, v: &Value, offset: usize, what: &str) -> Result<(), SourceError> {
        if v.is_object() {
            return Ok(());
        }
        let kind = kind_of(v);
        Err(self
            .err(offset, format!("{what} is {kind}, not a table"))
            .with_hint("write a table of keys and values, e.g. { sku = \"x\", qty = 2 }"))
    }

    pub(super) fn events(
        &self,
        defs: Vec<EventDef>,
        tenants: &[TenantId],
        entities: &BTreeMap<String, EntitySpec>,
        rules: &BTreeMap<TenantId, Vec<Arc<Rule>>>,
    ) -> Result<Vec<RootEvent>, SourceError> {
        let mut out = Vec::new();
        for (i, e) in defs.into_iter().enumerate() {
            let place = format!("event #{i}");
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
                let (id, created_by) = match (d.id, d.created_by) {
                    (Some(_), Some(c)) => {
                        return Err(self
                            .err(c.span().start, format!("{place}: dispatch has both `id` and `created_by`"))
                            .with_hint("name the target by its id, or by the rule that created it: not both"))
                    }
                    (None, None) => {
                        return Err(self
                            .err(offset, format!("{place}: dispatch names no target"))
                            .with_hint("add id = \"...\", or created_by = { rule = \"...\", source = \"Type/id\" } for an entity a `create` rule makes at run time"))
                    }
                    (Some(id), None) => {
                        if id.is_empty() {
                            return Err(self
                                .err(offset, format!("{place}: dispatch.id is empty"))
                                .with_hint("give the target's id, e.g. id = \"o1\""));
                        }
                        (EntityId(id), None)
                    }
                    (None, Some(c)) => {
                        let at = c.span().start;
                        let c = self.created_by(c.into_inner(), at, &place, &tenant, &d.entity_type, rules)?;
                        (EntityId(String::new()), Some(c))
                    }
                };
                self.table(&d.params, offset, &format!("{place}: dispatch.params"))?;
                Input::Dispatch {
                    entity_type: d.entity_type,
                    id,
                    action: d.action,
                    params: d.params,
                    created_by,
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

    /// A `dispatch.created_by`, checked against the rules of the event's tenant: the rule
    /// exists, creates (`resolve_target = create`), fires on the source's type and acts on
    /// the dispatch's type.
    fn created_by(
        &self,
        c: CreatedByDef,
        at: usize,
        place: &str,
        tenant: &TenantId,
        entity_type: &str,
        rules: &BTreeMap<TenantId, Vec<Arc<Rule>>>,
    ) -> Result<CreatedBy, SourceError> {
        let list = rules.get(tenant).map(Vec::as_slice).unwrap_or_default();
        let Some(rule) = list.iter().find(|r| r.name == c.rule) else {
            let known: Vec<&str> = list
                .iter()
                .filter(|r| matches!(r.resolve_target, Resolver::Create))
                .map(|r| r.name.as_str())
                .collect();
            return Err(self
                .err(
                    at,
                    format!(
                        "{place}: created_by names rule {:?}, which tenant {tenant} does not have",
                        c.rule
                    ),
                )
                .with_hint(hint(&c.rule, &known, "rules with resolve_target = create")));
        };
        if !matches!(rule.resolve_target, Resolver::Create) {
            return Err(self
                .err(
                    at,
                    format!("{place}: created_by names rule {:?}, which creates nothing", c.rule),
                )
                .with_hint("only a rule with resolve_target = { type = \"create\" } makes entities whose id is known at run time alone; name the others' targets by id"));
        }
        if rule.then.entity_type != entity_type {
            return Err(self
                .err(
                    at,
                    format!(
                        "{place}: rule {:?} creates {} entities, and the dispatch is on {entity_type}",
                        c.rule, rule.then.entity_type
                    ),
                )
                .with_hint(format!("set entity_type = {:?}", rule.then.entity_type)));
        }
        let Some((source_type, source_id)) = c
            .source
            .split_once('/')
            .filter(|(t, i)| !t.is_empty() && !i.is_empty())
        else {
            return Err(self
                .err(
                    at,
                    format!("{place}: created_by.source {:?} is not `Type/id`", c.source),
                )
                .with_hint(format!(
                    "the entity the rule fired for, as Type/id: source = \"{}/{}\"",
                    rule.when.entity_type,
                    if c.source.is_empty() || c.source.contains('/') {
                        "<id>"
                    } else {
                        c.source.as_str()
                    }
                )));
        };
        if source_type != rule.when.entity_type {
            return Err(self
                .err(
                    at,
                    format!(
                        "{place}: rule {:?} fires on {} commits, and the source is a {source_type}",
                        c.rule, rule.when.entity_type
                    ),
                )
                .with_hint(format!("source = \"{}/<id>\"", rule.when.entity_type)));
        }
        let nth = c.nth.unwrap_or(1);
        if nth == 0 {
            return Err(self
                .err(at, format!("{place}: created_by.nth is 0"))
                .with_hint("nth counts from 1: the first entity the rule created for the source"));
        }
        Ok(CreatedBy {
            rule: c.rule,
            source_type: source_type.to_string(),
            source_id: source_id.to_string(),
            nth,
        })
    }

    /// A `webhook = "meraki"` or `snmp = "poll" | "trap"` event: the publication netcortex's
    /// publisher would make of its payload.
    pub(super) fn sensory_input(
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
}

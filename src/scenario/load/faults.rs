//! `[faults]` (random faults drawn from the seed) and `[[fault]]` (an explicit schedule).

use super::known_or;
use super::Loader;
use crate::core::{FaultKind, FaultTarget, Subject};
use crate::engine::EntitySpec;
use crate::scenario::SourceError;
use crate::scenario::{FaultConfig, ScheduledFault};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use toml::Spanned;

/// One `[[fault]]` entry of an explicit schedule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FaultDef {
    pub(super) kind: Spanned<String>,
    pub(super) rule: Option<Spanned<String>>,
    pub(super) target: Option<Spanned<String>>,
    pub(super) subject: Option<Spanned<String>>,
    pub(super) handler: Option<Spanned<String>>,
    pub(super) action: Option<Spanned<String>>,
    pub(super) nth: Option<Spanned<i64>>,
    pub(super) delay: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FaultsDef {
    pub(super) delay: Option<Spanned<DelayDef>>,
    pub(super) drop: Option<Spanned<f64>>,
    pub(super) duplicate: Option<Spanned<f64>>,
    #[serde(default)]
    pub(super) reorder: bool,
    pub(super) handler_panic: Option<Spanned<f64>>,
    pub(super) action_failure: Option<Spanned<f64>>,
    pub(super) reflex_restart: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DelayDef {
    pub(super) p: Spanned<f64>,
    pub(super) max: Spanned<String>,
}

impl Loader<'_> {
    /// The explicit schedule. Every name in it must be one the scenario has (a rule of some
    /// tenant, a reflex, a declared type and its action, a publish subject): an entry that
    /// names nothing the run can produce would never fire, and the schedule would pass for
    /// one that reproduces a failure.
    pub(super) fn schedule(
        &self,
        defs: Vec<FaultDef>,
        names: &ScheduleNames,
        entities: &BTreeMap<String, EntitySpec>,
    ) -> Result<Vec<ScheduledFault>, SourceError> {
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
            let need = |v: &Option<Spanned<String>>, key: &str, example: &str| {
                let v = v.as_ref().ok_or_else(|| {
                    self.err(
                        at,
                        format!("{place}: a {} fault needs `{key}`", kind.as_str()),
                    )
                    .with_hint(format!("e.g. {key} = {example:?}"))
                })?;
                self.fault_name(v, key, names, entities, d.action.as_ref(), &place)?;
                Ok::<String, SourceError>(v.get_ref().clone())
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
                    return Err(self
                        .err(
                            n.span().start,
                            format!("{place}: nth = {} must be 1 or more", n.get_ref()),
                        )
                        .with_hint("nth counts matching messages from 1 (the first)"))
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
                    return Err(self
                        .err(
                            s.span().start,
                            format!("{place}: only delay and duplicate faults take `delay`"),
                        )
                        .with_hint("remove `delay` from this entry"))
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

    /// Checks one name of a `[[fault]]` entry against what the scenario has.
    fn fault_name(
        &self,
        v: &Spanned<String>,
        key: &str,
        names: &ScheduleNames,
        entities: &BTreeMap<String, EntitySpec>,
        action: Option<&Spanned<String>>,
        place: &str,
    ) -> Result<(), SourceError> {
        let value = v.get_ref();
        let at = v.span().start;
        let unknown = |what: &str, list: &BTreeSet<String>| {
            self.err(at, format!("{place}: {key} {value:?} is not {what}"))
                .with_hint(known_or(what_plural(key), list.iter().map(String::as_str)))
        };
        match key {
            "rule" if !names.rules.contains(value) => Err(unknown("a rule of any tenant", &names.rules)),
            "handler" if !names.handlers.contains(value) => {
                Err(unknown("a reflex of this scenario", &names.handlers))
            }
            "subject" => Subject::new(value.clone()).map(|_| ()).map_err(|m| {
                self.err(at, format!("{place}: invalid subject: {m}"))
                    .with_hint("a delivery's subject is a published subject: dot-separated tokens, no wildcards")
            }),
            "target" => {
                let Some((ty, id)) = value.split_once('/').filter(|(t, i)| !t.is_empty() && !i.is_empty()) else {
                    return Err(self
                        .err(at, format!("{place}: target {value:?} is not `Type/id`"))
                        .with_hint("e.g. target = \"Payment/o1\""));
                };
                let Some(spec) = entities.get(ty) else {
                    return Err(self
                        .err(at, format!("{place}: target {value:?}: {ty:?} is not a declared entity type"))
                        .with_hint(known_or("declared types", entities.keys().map(String::as_str))));
                };
                let _ = id;
                match action {
                    Some(a) if !spec.actions.contains_key(a.get_ref()) => Err(self
                        .err(a.span().start, format!("{place}: action {:?} is not an action of {ty}", a.get_ref()))
                        .with_hint(known_or("actions", spec.actions.keys().map(String::as_str)))),
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    pub(super) fn probability(
        &self,
        p: &Option<Spanned<f64>>,
        key: &str,
    ) -> Result<f64, SourceError> {
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

    pub(super) fn faults(&self, f: Spanned<FaultsDef>) -> Result<FaultConfig, SourceError> {
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
}

/// The names a `[[fault]]` entry may use: every tenant's rule names and every reflex id.
#[derive(Debug, Default)]
pub(super) struct ScheduleNames {
    pub(super) rules: BTreeSet<String>,
    pub(super) handlers: BTreeSet<String>,
}

fn what_plural(key: &str) -> &'static str {
    match key {
        "rule" => "rules",
        _ => "reflexes",
    }
}

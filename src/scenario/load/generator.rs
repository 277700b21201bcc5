//! `[[generator]]`: templates of random root events, their spacing and value pools.

use super::event::{empty_object, DispatchDef};
use super::Loader;
use crate::core::SimTime;
use crate::core::{parse_template, Piece, TenantId, Value};
use crate::engine::EntitySpec;
use crate::scenario::SourceError;
use crate::scenario::{
    check_placeholders, Generator, Spacing, Template, ValuePool, GENERATOR_COUNT_MAX,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GeneratorDef {
    pub(super) tenant: Spanned<String>,
    pub(super) count: Spanned<i64>,
    pub(super) start: Option<Spanned<String>>,
    pub(super) every: Option<Spanned<String>>,
    pub(super) jitter: Option<Spanned<String>>,
    pub(super) rate: Option<Spanned<f64>>,
    pub(super) subject: Option<Spanned<String>>,
    #[serde(default, deserialize_with = "crate::core::finite_opt")]
    pub(super) payload: Option<Value>,
    pub(super) dispatch: Option<Spanned<DispatchDef>>,
    #[serde(default)]
    pub(super) values: BTreeMap<String, Spanned<ValuePoolDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "a value pool: a list of values, or an integer range { min = 1, max = 10 }"
)]
pub(super) enum ValuePoolDef {
    List(Vec<Value>),
    Range(RangeDef),
}

/// An integer range, inclusive. Unknown keys are errors, as everywhere in a scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RangeDef {
    min: i64,
    max: i64,
}

const PLACEHOLDER_HINT: &str =
    "placeholders are {n} (the event's index) and the names under [generator.values]; write {{ and }} for literal braces";

/// Whether the id template `text` (checked) can render to the empty string: it has no
/// literal text and every placeholder in it may draw an empty string.
fn can_render_empty(text: &str, values: &BTreeMap<String, ValuePool>) -> bool {
    let Ok(pieces) = parse_template(text, Ok) else {
        return false;
    };
    pieces.iter().all(|p| match p {
        Piece::Literal(s) => s.is_empty(),
        Piece::Placeholder(name) => matches!(
            values.get(*name),
            Some(ValuePool::List(items)) if items.iter().any(|v| v.as_str() == Some(""))
        ),
    })
}

impl Loader<'_> {
    /// A generated subject is sanitized token by token (whitespace in a drawn value becomes
    /// `_`, as netcortex's publisher does), but the template's own text must already be a
    /// publish subject: a wildcard or an empty token there is a mistake, not data.
    fn subject_template(&self, text: &str, offset: usize, place: &str) -> Result<(), SourceError> {
        let Ok(pieces) = parse_template(text, Ok) else {
            return Ok(()); // check_placeholders reported it
        };
        let shape: String = pieces
            .iter()
            .map(|p| match p {
                Piece::Literal(s) => s.as_str(),
                Piece::Placeholder(_) => "x",
            })
            .collect();
        for (i, token) in shape.split('.').enumerate() {
            let problem = if token.is_empty() {
                "is empty"
            } else if token.contains(['*', '>']) {
                "has a wildcard (`*` or `>`)"
            } else {
                continue;
            };
            return Err(self
                .err(offset, format!("{place}: subject {text:?}: token {i} {problem}"))
                .with_hint("a generator publishes: its subject is dot-separated tokens with no wildcards, e.g. sensory.link_down.gen.{device}"));
        }
        Ok(())
    }

    pub(super) fn generators(
        &self,
        defs: Vec<GeneratorDef>,
        tenants: &[TenantId],
        entities: &BTreeMap<String, EntitySpec>,
    ) -> Result<Vec<Generator>, SourceError> {
        let mut out = Vec::new();
        for (i, g) in defs.into_iter().enumerate() {
            let place = format!("generator #{}", i + 1);
            let tenant = self.tenant(&g.tenant, tenants)?;
            let count = *g.count.get_ref();
            if !(1..=GENERATOR_COUNT_MAX as i64).contains(&count) {
                return Err(self
                    .err(
                        g.count.span().start,
                        format!("{place}: count = {count} is out of range"),
                    )
                    .with_hint(format!("use 1..={GENERATOR_COUNT_MAX}")));
            }
            let start = match &g.start {
                Some(s) => SimTime(self.duration(s)?),
                None => SimTime::ZERO,
            };
            let spacing = match (&g.every, &g.rate) {
                (Some(e), None) => Spacing::Every {
                    interval_ms: self.duration(e)?,
                    jitter_ms: match &g.jitter {
                        Some(j) => self.duration(j)?,
                        None => 0,
                    },
                },
                (None, Some(r)) if *r.get_ref() > 0.0 && r.get_ref().is_finite() => {
                    if let Some(j) = &g.jitter {
                        return Err(self
                            .err(j.span().start, format!("{place}: `jitter` goes with `every`, not `rate`"))
                            .with_hint("remove jitter: rate already spaces events at random (exponential gaps)"));
                    }
                    Spacing::Rate { per_sec: *r.get_ref() }
                }
                (None, Some(r)) => {
                    return Err(self
                        .err(r.span().start, format!("{place}: rate must be a positive number of events per second"))
                        .with_hint("e.g. rate = 10.0, or every = \"100ms\" for a fixed interval"))
                }
                _ => {
                    return Err(self
                        .err(g.tenant.span().start, format!("{place} needs exactly one of `every` or `rate`"))
                        .with_hint("every = \"100ms\" (fixed interval, optional jitter) or rate = 10.0 (events per second)"))
                }
            };
            // The last event's time must fit: past u64 milliseconds it would saturate and
            // every later event would pile up at the end of time.
            let span_ms_max = match &spacing {
                Spacing::Every {
                    interval_ms,
                    jitter_ms,
                } => interval_ms
                    .checked_add(*jitter_ms)
                    .and_then(|gap| gap.checked_mul(count as u64 - 1))
                    .and_then(|span| span.checked_add(start.ms())),
                Spacing::Rate { .. } => Some(0),
            };
            if span_ms_max.is_none() {
                let at = g
                    .every
                    .as_ref()
                    .map_or(g.tenant.span().start, |e| e.span().start);
                return Err(self
                    .err(at, format!("{place}: start + (count - 1) * (every + jitter) overflows virtual time"))
                    .with_hint("lower count, every or jitter: the last event must fall within about 584 million years"));
            }
            let mut values = BTreeMap::new();
            for (name, pool) in g.values {
                let offset = pool.span().start;
                let pool = match pool.into_inner() {
                    ValuePoolDef::List(items) if !items.is_empty() => ValuePool::List(items),
                    ValuePoolDef::List(_) => {
                        return Err(self
                            .err(offset, format!("{place}: value pool {name:?} is empty"))
                            .with_hint("list at least one value, e.g. [\"r1\", \"r2\"]"))
                    }
                    ValuePoolDef::Range(RangeDef { min, max }) if min <= max => {
                        ValuePool::Range { min, max }
                    }
                    ValuePoolDef::Range(RangeDef { min, max }) => {
                        return Err(self
                            .err(
                                offset,
                                format!("{place}: value range {name:?} has min {min} > max {max}"),
                            )
                            .with_hint("swap min and max (the range is inclusive)"))
                    }
                };
                if name == "n" {
                    return Err(self
                        .err(
                            offset,
                            format!("{place}: `n` is reserved for the event index"),
                        )
                        .with_hint("rename the pool"));
                }
                values.insert(name, pool);
            }
            let check_strings = |v: &Value, offset: usize| -> Result<(), SourceError> {
                let mut stack = vec![v];
                while let Some(v) = stack.pop() {
                    match v {
                        Value::String(s) => check_placeholders(s, &values).map_err(|m| {
                            self.err(offset, format!("{place}: {m}"))
                                .with_hint(PLACEHOLDER_HINT)
                        })?,
                        Value::Array(items) => stack.extend(items.iter()),
                        Value::Object(map) => stack.extend(map.values()),
                        _ => {}
                    }
                }
                Ok(())
            };
            let template = match (g.subject, g.dispatch) {
                (Some(subject), None) => {
                    check_placeholders(subject.get_ref(), &values).map_err(|m| self.err(subject.span().start, format!("{place}: {m}")).with_hint(PLACEHOLDER_HINT))?;
                    self.subject_template(subject.get_ref(), subject.span().start, &place)?;
                    let payload = g.payload.unwrap_or_else(empty_object);
                    check_strings(&payload, subject.span().start)?;
                    Template::Publish { subject: subject.into_inner(), payload }
                }
                (None, Some(d)) => {
                    let offset = d.span().start;
                    let d = d.into_inner();
                    self.check_action(entities, &d.entity_type, &d.action, offset, &place)?;
                    if let Some(c) = &d.created_by {
                        return Err(self
                            .err(c.span().start, format!("{place}: a generator's dispatch cannot use created_by"))
                            .with_hint("a generator names its targets by an id template; write the events that need created_by as [[event]]s"));
                    }
                    let Some(id) = d.id else {
                        return Err(self
                            .err(offset, format!("{place}: the generator's dispatch has no id"))
                            .with_hint("add id = \"...\" (a template, e.g. \"o{n}\")"));
                    };
                    check_placeholders(&id, &values).map_err(|m| self.err(offset, format!("{place}: {m}")).with_hint(PLACEHOLDER_HINT))?;
                    if can_render_empty(&id, &values) {
                        return Err(self
                            .err(offset, format!("{place}: dispatch.id {id:?} can make an empty id"))
                            .with_hint("give the id a literal part (e.g. id = \"o{n}\") or take the empty string out of its pools"));
                    }
                    self.table(&d.params, offset, &format!("{place}: dispatch.params"))?;
                    check_strings(&d.params, offset)?;
                    Template::Dispatch { entity_type: d.entity_type, id, action: d.action, params: d.params }
                }
                _ => {
                    return Err(self
                        .err(g.tenant.span().start, format!("{place} needs exactly one of `subject` or `dispatch`"))
                        .with_hint("a generator makes bus publications (subject, payload) or entity actions (dispatch)"))
                }
            };
            out.push(Generator {
                tenant,
                count: count as u64,
                start,
                spacing,
                template,
                values,
            });
        }
        Ok(out)
    }
}

//! `[[generator]]`: random root events from a template, drawn from the seed.
//!
//! ```toml
//! [[generator]]
//! tenant = "netops"
//! count = 200                      # how many events
//! start = "0ms"                    # first event no earlier than this
//! every = "250ms"                  # a fixed interval...
//! jitter = "100ms"                 # ...plus a uniform 0..=jitter
//! # rate = 4.0                     # or: events per second, exponential gaps (Poisson)
//! subject = "sensory.link_down.snmp_trap.{device}|{iface}"
//! payload = { device = "{device}", interface = "{iface}", seq = "{n}" }
//! # dispatch = { entity_type = "Order", id = "o{n}", action = "AddItem", params = { total = "{total}" } }
//! [generator.values]
//! device = ["r1", "r2", "r3"]      # a pool: one value drawn uniformly per event
//! iface = ["Gi0/1", "Gi0/2"]
//! total = { min = 1, max = 100 }   # an integer range, inclusive
//! ```
//!
//! `{name}` is a drawn value, `{n}` the event's index within the generator. A string that is
//! exactly one placeholder keeps the value's type (`"{total}"` is a number). Expansion uses
//! the seed's `Generators` stream, one generator after another, so adding a generator at
//! the end does not change the events of the ones before it.

use crate::core::Subject;
use crate::core::{parse_template, Piece, TemplateError};
use crate::core::{EntityId, TenantId, Value};
use crate::core::{Purpose, RngStream, Seed, SimTime};
use crate::scenario::{Input, RootEvent};
use std::collections::BTreeMap;

/// At most this many events per generator (a budget, like everything else).
pub const GENERATOR_COUNT_MAX: u64 = 10_000_000;

#[derive(Debug, Clone, PartialEq)]
pub enum ValuePool {
    List(Vec<Value>),
    Range { min: i64, max: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Spacing {
    Every {
        interval_ms: u64,
        jitter_ms: u64,
    },
    /// Events per second, exponential inter-arrival times.
    Rate {
        per_sec: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    Publish {
        subject: String,
        payload: Value,
    },
    Dispatch {
        entity_type: String,
        id: String,
        action: String,
        params: Value,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Generator {
    pub tenant: TenantId,
    pub count: u64,
    pub start: SimTime,
    pub spacing: Spacing,
    pub template: Template,
    pub values: BTreeMap<String, ValuePool>,
}

/// Checks that `text` is a template (the scenario template language, `{{` and `}}` for
/// literal braces) whose every `{placeholder}` is `n` or a declared value.
pub fn check_placeholders(text: &str, values: &BTreeMap<String, ValuePool>) -> Result<(), String> {
    parse_template(text, |name| {
        if name == "n" || values.contains_key(name) {
            return Ok(());
        }
        let known: Vec<&str> = values.keys().map(String::as_str).collect();
        Err(format!(
            "{text:?}: placeholder {{{name}}} is not `n` or a declared value (declared: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ))
    })
    .map(|_| ())
    .map_err(|e| match e {
        TemplateError::Unclosed { at } => {
            format!("{text:?}: the `{{` at byte {at} has no closing `}}`")
        }
        TemplateError::Unopened { at } => format!(
            "{text:?}: the `}}` at byte {at} closes nothing; write `}}}}` for a literal brace"
        ),
        TemplateError::Placeholder(message) => message,
    })
}

/// Renders `text` (checked by [`check_placeholders`]) with the values drawn for one event.
/// A string that is exactly one placeholder keeps the drawn value's type.
fn render_str(text: &str, drawn: &BTreeMap<&str, Value>) -> Value {
    let Ok(pieces) = parse_template(text, Ok) else {
        // The loader checked every template; one that does not parse is kept as written.
        return Value::String(text.to_string());
    };
    if let [Piece::Placeholder(name)] = pieces.as_slice() {
        if let Some(v) = drawn.get(name) {
            return v.clone();
        }
    }
    let mut out = String::with_capacity(text.len());
    for piece in pieces {
        match piece {
            Piece::Literal(s) => out.push_str(&s),
            Piece::Placeholder(name) => match drawn.get(name) {
                Some(Value::String(s)) => out.push_str(s),
                Some(v) => out.push_str(&v.to_string()),
                // Unreachable for a checked template: every name is drawn.
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    Value::String(out)
}

fn render(value: &Value, drawn: &BTreeMap<&str, Value>) -> Value {
    match value {
        Value::String(s) => render_str(s, drawn),
        Value::Array(items) => Value::Array(items.iter().map(|v| render(v, drawn)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render(v, drawn)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn as_string(v: Value) -> String {
    match v {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

impl Generator {
    /// Appends this generator's events (drawn from `rng`) to `out`.
    pub fn expand(&self, rng: &mut RngStream, out: &mut Vec<RootEvent>) {
        let mut cursor = Cursor::new(self, rng.clone());
        while let Some(draw) = cursor.draw() {
            out.push(cursor.build(&draw));
        }
        *rng = cursor.into_stream();
    }
}

/// One event's draws: its number within the generator, its time, and where in the
/// generator's stream its values were drawn (enough to build it later, in any order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draw {
    pub n: u64,
    pub at: SimTime,
    values: u128,
}

/// A generator's events one at a time, in number (and so time) order: the cursor holds the
/// generator's stream and the last event's time, never the events. [`Cursor::draw`] makes
/// the draws of the next event, as [`expand_generators`] makes them; [`Cursor::build`]
/// renders an event from its draws, redrawing its values from where they were drawn.
pub struct Cursor<'g> {
    generator: &'g Generator,
    rng: RngStream,
    /// Repositioned to build an event (kept so that a build allocates no stream).
    builder: RngStream,
    next: u64,
    at: u64,
    drawn: BTreeMap<&'g str, Value>,
}

impl<'g> Cursor<'g> {
    /// A cursor on `generator`'s events, drawing from `rng` where it stands.
    pub fn new(generator: &'g Generator, rng: RngStream) -> Cursor<'g> {
        Cursor {
            generator,
            builder: rng.clone(),
            rng,
            next: 0,
            at: generator.start.ms(),
            drawn: BTreeMap::new(),
        }
    }

    /// The next event's draws (time and values), or `None` after the last.
    pub fn draw(&mut self) -> Option<Draw> {
        let g = self.generator;
        if self.next >= g.count {
            return None;
        }
        let n = self.next;
        self.next += 1;
        if n > 0 {
            self.at = self.at.saturating_add(match &g.spacing {
                Spacing::Every {
                    interval_ms,
                    jitter_ms,
                } => interval_ms.saturating_add(self.rng.between(0, *jitter_ms)),
                Spacing::Rate { per_sec } => {
                    let u = 1.0 - self.rng.unit(); // in (0, 1]
                    (-u.ln() / per_sec * 1000.0).round() as u64
                }
            });
        }
        let values = self.rng.word_pos();
        for pool in g.values.values() {
            draw_one(&mut self.rng, pool);
        }
        Some(Draw {
            n,
            at: SimTime(self.at),
            values,
        })
    }

    /// The event `draw` (from this cursor) describes.
    pub fn build(&mut self, draw: &Draw) -> RootEvent {
        let g = self.generator;
        self.builder.set_word_pos(draw.values);
        self.drawn.clear();
        self.drawn.insert("n", Value::from(draw.n));
        for (name, pool) in &g.values {
            let v = draw_one(&mut self.builder, pool);
            self.drawn.insert(name, v);
        }
        let drawn = &self.drawn;
        let input = match &g.template {
            Template::Publish { subject, payload } => {
                let subject = as_string(render_str(subject, drawn));
                let subject = Subject::new(crate::bus::sanitize_subject(&subject))
                    .expect("sanitized subjects are valid");
                Input::Publish {
                    subject,
                    payload: render(payload, drawn),
                }
            }
            Template::Dispatch {
                entity_type,
                id,
                action,
                params,
            } => Input::Dispatch {
                entity_type: entity_type.clone(),
                id: EntityId(as_string(render_str(id, drawn))),
                action: action.clone(),
                params: render(params, drawn),
                created_by: None,
            },
        };
        RootEvent {
            at: draw.at,
            tenant: g.tenant.clone(),
            input,
            vendor: None,
        }
    }

    /// The stream after the draws made so far: where the next generator starts once every
    /// event of this one is drawn.
    pub fn into_stream(self) -> RngStream {
        self.rng
    }
}

/// One value from `pool` (one draw from `rng`).
fn draw_one(rng: &mut RngStream, pool: &ValuePool) -> Value {
    match pool {
        ValuePool::List(items) => items[rng.below(items.len() as u64) as usize].clone(),
        ValuePool::Range { min, max } => {
            Value::from(*min + rng.between(0, (*max - *min) as u64) as i64)
        }
    }
}

/// Where each generator starts in the seed's `Generators` stream: a generator's events are
/// drawn after every draw of the ones before it, so finding where the last one starts
/// draws (without building) every event of the others. Costs time, not memory.
pub fn generator_streams(generators: &[Generator], seed: Seed) -> Vec<RngStream> {
    let mut rng = RngStream::new(seed, Purpose::Generators);
    let mut starts = Vec::with_capacity(generators.len());
    for (i, g) in generators.iter().enumerate() {
        starts.push(rng.clone());
        if i + 1 < generators.len() {
            let mut cursor = Cursor::new(g, rng);
            while cursor.draw().is_some() {}
            rng = cursor.into_stream();
        }
    }
    starts
}

/// Every generator's events for `seed`, in generator order.
pub fn expand_generators(generators: &[Generator], seed: Seed) -> Vec<RootEvent> {
    let mut rng = RngStream::new(seed, Purpose::Generators);
    let mut out = Vec::new();
    for g in generators {
        g.expand(&mut rng, &mut out);
    }
    out
}

/// Every generator's events for `seed` at or before `until`, in generator order, with how
/// many there are after it; `None` when more than `max` fall within it (nothing is built
/// past that point, so memory stays bounded by `max`).
pub fn expand_generators_until(
    generators: &[Generator],
    seed: Seed,
    until: SimTime,
    max: usize,
) -> Option<(Vec<RootEvent>, u64)> {
    let mut rng = RngStream::new(seed, Purpose::Generators);
    let (mut out, mut beyond) = (Vec::new(), 0);
    for g in generators {
        let mut cursor = Cursor::new(g, rng);
        while let Some(draw) = cursor.draw() {
            if draw.at > until {
                beyond += 1;
            } else if out.len() == max {
                return None;
            } else {
                out.push(cursor.build(&draw));
            }
        }
        rng = cursor.into_stream();
    }
    Some((out, beyond))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn generator() -> Generator {
        let mut values = BTreeMap::new();
        values.insert(
            "device".to_string(),
            ValuePool::List(vec![json!("r1"), json!("r2")]),
        );
        values.insert("total".to_string(), ValuePool::Range { min: 5, max: 7 });
        Generator {
            tenant: TenantId::new("t"),
            count: 50,
            start: SimTime(100),
            spacing: Spacing::Every {
                interval_ms: 10,
                jitter_ms: 5,
            },
            template: Template::Publish {
                subject: "sensory.link_down.gen.{device} x".into(),
                payload: json!({"device": "{device}", "total": "{total}", "label": "n={n}"}),
            },
            values,
        }
    }

    #[test]
    fn events_are_drawn_from_pools_and_ranges_with_types_kept() {
        let events = expand_generators(&[generator()], Seed(1));
        assert_eq!(events.len(), 50);
        assert_eq!(events[0].at, SimTime(100));
        for (i, e) in events.iter().enumerate() {
            let Input::Publish { subject, payload } = &e.input else {
                panic!()
            };
            let device = payload["device"].as_str().unwrap();
            assert!(device == "r1" || device == "r2");
            assert_eq!(
                subject.as_str(),
                format!("sensory.link_down.gen.{device}_x")
            );
            assert!((5..=7).contains(&payload["total"].as_i64().expect("a number, not a string")));
            assert_eq!(payload["label"], json!(format!("n={i}")));
        }
        for w in events.windows(2) {
            let gap = w[1].at.ms() - w[0].at.ms();
            assert!((10..=15).contains(&gap), "{gap}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_events_and_seeds_differ() {
        let g = [generator()];
        assert_eq!(
            expand_generators(&g, Seed(4)),
            expand_generators(&g, Seed(4))
        );
        assert_ne!(
            expand_generators(&g, Seed(4)),
            expand_generators(&g, Seed(5))
        );
    }

    #[test]
    fn rate_spacing_averages_to_the_rate() {
        let mut g = generator();
        g.count = 5_000;
        g.spacing = Spacing::Rate { per_sec: 10.0 };
        let events = expand_generators(&[g], Seed(2));
        let span = events.last().unwrap().at.ms() - events[0].at.ms();
        let mean_gap = span as f64 / 4_999.0;
        assert!((mean_gap - 100.0).abs() < 8.0, "{mean_gap}");
    }

    #[test]
    fn unknown_placeholders_are_rejected() {
        let values = generator().values;
        assert!(check_placeholders("x.{device}.{n}", &values).is_ok());
        assert!(check_placeholders("x.{devise}", &values)
            .unwrap_err()
            .contains("devise"));
        assert!(check_placeholders("x.{device", &values)
            .unwrap_err()
            .contains("closing"));
    }

    /// The reference: every event drawn and built in one pass, as generators were expanded
    /// before cursors.
    fn expand_eagerly(g: &Generator, rng: &mut RngStream) -> Vec<RootEvent> {
        let mut out = Vec::new();
        let mut at = g.start.ms();
        for n in 0..g.count {
            if n > 0 {
                at = at.saturating_add(match &g.spacing {
                    Spacing::Every {
                        interval_ms,
                        jitter_ms,
                    } => interval_ms.saturating_add(rng.between(0, *jitter_ms)),
                    Spacing::Rate { per_sec } => {
                        let u = 1.0 - rng.unit();
                        (-u.ln() / per_sec * 1000.0).round() as u64
                    }
                });
            }
            let mut drawn: BTreeMap<&str, Value> = BTreeMap::new();
            drawn.insert("n", Value::from(n));
            for (name, pool) in &g.values {
                drawn.insert(name, draw_one(rng, pool));
            }
            let input = match &g.template {
                Template::Publish { subject, payload } => Input::Publish {
                    subject: Subject::new(crate::bus::sanitize_subject(&as_string(render_str(
                        subject, &drawn,
                    ))))
                    .unwrap(),
                    payload: render(payload, &drawn),
                },
                Template::Dispatch {
                    entity_type,
                    id,
                    action,
                    params,
                } => Input::Dispatch {
                    entity_type: entity_type.clone(),
                    id: EntityId(as_string(render_str(id, &drawn))),
                    action: action.clone(),
                    params: render(params, &drawn),
                    created_by: None,
                },
            };
            out.push(RootEvent {
                at: SimTime(at),
                tenant: g.tenant.clone(),
                input,
                vendor: None,
            });
        }
        out
    }

    #[test]
    fn cursors_draw_and_build_what_one_eager_pass_does() {
        let mut late = generator();
        late.count = 30;
        late.spacing = Spacing::Rate { per_sec: 200.0 };
        let mut dispatch = generator();
        dispatch.template = Template::Dispatch {
            entity_type: "Order".into(),
            id: "o{n}-{device}".into(),
            action: "Add".into(),
            params: json!({"total": "{total}", "at": "n{n}"}),
        };
        dispatch.spacing = Spacing::Every {
            interval_ms: 0,
            jitter_ms: 1,
        };
        let gens = [generator(), late, dispatch, generator()];
        for seed in 0..20 {
            let mut rng = RngStream::new(Seed(seed), Purpose::Generators);
            let mut want = Vec::new();
            for g in &gens {
                want.extend(expand_eagerly(g, &mut rng));
            }
            assert_eq!(expand_generators(&gens, Seed(seed)), want, "seed {seed}");
            // Each generator's stream starts where the draws of the ones before it end.
            let starts = generator_streams(&gens, Seed(seed));
            let mut from_starts = Vec::new();
            for (g, rng) in gens.iter().zip(starts) {
                let mut cursor = Cursor::new(g, rng);
                let draws: Vec<Draw> = std::iter::from_fn(|| cursor.draw()).collect();
                // Built out of order: each build redraws its own values.
                let mut built: Vec<RootEvent> =
                    draws.iter().rev().map(|d| cursor.build(d)).collect();
                built.reverse();
                from_starts.extend(built);
            }
            assert_eq!(from_starts, want, "seed {seed}");
        }
    }

    #[test]
    fn expanding_until_builds_only_what_a_run_reaches_and_stops_at_its_limit() {
        let mut late = generator();
        late.count = 30;
        let gens = [generator(), late];
        let all = expand_generators(&gens, Seed(7));
        let until = SimTime(300);
        let kept: Vec<RootEvent> = all.iter().filter(|e| e.at <= until).cloned().collect();
        assert!(!kept.is_empty() && kept.len() < all.len());
        let (within, beyond) = expand_generators_until(&gens, Seed(7), until, 1000).unwrap();
        assert_eq!(within, kept);
        assert_eq!(beyond as usize, all.len() - kept.len());
        assert!(expand_generators_until(&gens, Seed(7), until, kept.len() - 1).is_none());
        assert!(expand_generators_until(&gens, Seed(7), until, kept.len()).is_some());
    }
}

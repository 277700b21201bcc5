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
        self.expand_within(rng, SimTime(u64::MAX), &mut |_, e| out.push(e), &mut |_| {});
    }

    /// Draws this generator's events from `rng` in order; hands `kept` each event at or
    /// before `until` with its number (0-based), and `beyond` the time of each later one,
    /// which is drawn (so that every later draw is the same) but never built: a run never
    /// reaches it, and a generator of millions of events after `until` costs no memory.
    pub fn expand_within(
        &self,
        rng: &mut RngStream,
        until: SimTime,
        kept: &mut dyn FnMut(u64, RootEvent),
        beyond: &mut dyn FnMut(SimTime),
    ) {
        let mut at = self.start.ms();
        let mut drawn: BTreeMap<&str, Value> = BTreeMap::new();
        for n in 0..self.count {
            if n > 0 {
                at = at.saturating_add(match &self.spacing {
                    Spacing::Every {
                        interval_ms,
                        jitter_ms,
                    } => interval_ms.saturating_add(rng.between(0, *jitter_ms)),
                    Spacing::Rate { per_sec } => {
                        let u = 1.0 - rng.unit(); // in (0, 1]
                        (-u.ln() / per_sec * 1000.0).round() as u64
                    }
                });
            }
            drawn.clear();
            drawn.insert("n", Value::from(n));
            for (name, pool) in &self.values {
                let v = match pool {
                    ValuePool::List(items) => items[rng.below(items.len() as u64) as usize].clone(),
                    ValuePool::Range { min, max } => {
                        Value::from(*min + rng.between(0, (*max - *min) as u64) as i64)
                    }
                };
                drawn.insert(name, v);
            }
            if SimTime(at) > until {
                beyond(SimTime(at));
                continue;
            }
            let input = match &self.template {
                Template::Publish { subject, payload } => {
                    let subject = as_string(render_str(subject, &drawn));
                    let subject = Subject::new(crate::bus::sanitize_subject(&subject))
                        .expect("sanitized subjects are valid");
                    Input::Publish {
                        subject,
                        payload: render(payload, &drawn),
                    }
                }
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
            kept(
                n,
                RootEvent {
                    at: SimTime(at),
                    tenant: self.tenant.clone(),
                    input,
                    vendor: None,
                },
            );
        }
    }
}

/// A run's generated root inputs: those a run can reach, by number, and how many more
/// there are after its `until`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Generated {
    /// (number among all generated events, in generator order; the event), in number order.
    pub events: Vec<(u32, RootEvent)>,
    /// Every generated event, kept or not.
    pub total: u64,
    /// Events after `until`: drawn, never built.
    pub beyond: u64,
    /// The earliest of them.
    pub first_beyond: Option<SimTime>,
}

impl Generated {
    /// The kept event numbered `n`.
    pub fn get(&self, n: u32) -> Option<&RootEvent> {
        self.events
            .binary_search_by_key(&n, |(i, _)| *i)
            .ok()
            .map(|at| &self.events[at].1)
    }
}

/// Every generator's events for `seed` at or before `until`, numbered as
/// [`expand_generators`] numbers them (the draws are the same: an event after `until` is
/// drawn and counted, not built).
pub fn expand_generators_within(generators: &[Generator], seed: Seed, until: SimTime) -> Generated {
    let mut rng = RngStream::new(seed, Purpose::Generators);
    let mut out = Generated::default();
    for g in generators {
        let base = out.total;
        let (events, beyond, first) = (&mut out.events, &mut out.beyond, &mut out.first_beyond);
        g.expand_within(
            &mut rng,
            until,
            &mut |n, e| events.push(((base + n) as u32, e)),
            &mut |at| {
                *beyond += 1;
                *first = Some(first.map_or(at, |f: SimTime| f.min(at)));
            },
        );
        out.total += g.count;
    }
    out
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

    #[test]
    fn events_after_until_are_drawn_but_not_built() {
        let mut late = generator();
        late.count = 30;
        let gens = [generator(), late];
        let all = expand_generators(&gens, Seed(7));
        let until = SimTime(300);
        let within = expand_generators_within(&gens, Seed(7), until);
        assert_eq!(within.total, all.len() as u64);
        let kept: Vec<(u32, RootEvent)> = all
            .iter()
            .enumerate()
            .filter(|(_, e)| e.at <= until)
            .map(|(i, e)| (i as u32, e.clone()))
            .collect();
        assert!(!kept.is_empty() && kept.len() < all.len());
        assert_eq!(within.events, kept, "same numbers, same draws");
        assert_eq!(within.beyond as usize, all.len() - kept.len());
        assert_eq!(
            within.first_beyond,
            all.iter().map(|e| e.at).filter(|&t| t > until).min()
        );
        assert_eq!(within.get(kept[3].0), Some(&kept[3].1));
    }
}

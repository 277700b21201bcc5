//! A run's root inputs, in the order they run, drawn as the run reaches them.
//!
//! Root inputs run in (time, key, number) order: the key is the input's draw from the seed's
//! scheduling stream (one draw per input, in number order: scripted events, then each
//! generator's events), so inputs that share a time run in an order the seed picks. A
//! generator of millions of events is never built as a whole: each generator is a
//! [`Cursor`] that draws its next events when the run gets to their time, and only the
//! events that share one instant are held at once (they are ordered by key among
//! themselves). Memory is one head per generator plus the largest such instant, not the
//! generator's count.
//!
//! A root input runs before any message due at the same time (they were once all queued
//! before anything else, and the order is kept), which [`Roots::peek_time`] and the
//! scheduler's tie rule give.

use crate::core::{RngStream, Seed, SimTime};
use crate::scenario::{generator_streams, Cursor, Draw, RootEvent, Scenario};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One generator's events not run yet.
struct Source<'s> {
    cursor: Cursor<'s>,
    /// The scheduling stream at this generator's next event's key.
    keys: RngStream,
    /// The number (among all root inputs) of the generator's first event.
    base: u64,
    file_order: bool,
    /// Drawn events that share the next instant: (key, number, draws), the next one last.
    group: Vec<(u64, u32, Draw)>,
    /// The first event drawn after the group (at a later time).
    ahead: Option<(u64, u32, Draw)>,
}

impl Source<'_> {
    fn draw(&mut self) -> Option<(u64, u32, Draw)> {
        let draw = self.cursor.draw()?;
        let drawn_key = self.keys.next_u64();
        let number = self.base + draw.n;
        let key = if self.file_order { number } else { drawn_key };
        Some((key, number as u32, draw))
    }

    /// The next event's (time, key, number), drawing the next instant's events when the
    /// last instant's have all run. An instant after `until` is never run: only its first
    /// event is drawn (its time is what a run reports as left).
    fn head(&mut self, until: SimTime) -> Option<(SimTime, u64, u32)> {
        if self.group.is_empty() {
            let first = self.ahead.take().or_else(|| self.draw())?;
            let at = first.2.at;
            self.group.push(first);
            if at <= until {
                loop {
                    match self.draw() {
                        Some(next) if next.2.at == at => self.group.push(next),
                        other => {
                            self.ahead = other;
                            break;
                        }
                    }
                }
                self.group
                    .sort_unstable_by_key(|&(key, n, _)| std::cmp::Reverse((key, n)));
            }
        }
        self.group.last().map(|(key, n, d)| (d.at, *key, *n))
    }
}

/// The root inputs of one run not run yet.
pub(super) struct Roots<'s> {
    /// The scripted events in run order: (time, key, number).
    scripted: Vec<(SimTime, u64, u32)>,
    next_scripted: usize,
    generators: Vec<Source<'s>>,
    /// Each source's next input: (time, key, number, source), source 0 being the scripted
    /// events and source `g + 1` generator `g`.
    heads: BinaryHeap<Reverse<(SimTime, u64, u32, usize)>>,
    until: SimTime,
    total: u64,
    left: u64,
}

impl<'s> Roots<'s> {
    /// The root inputs of `scenario` under `seed`. `sched` is the run's scheduling stream,
    /// fresh: it is left past one key per root input, as if each had been drawn.
    pub(super) fn new(scenario: &'s Scenario, seed: Seed, sched: &mut RngStream) -> Roots<'s> {
        let file_order = scenario.file_order;
        let mut keys = sched.clone();
        let mut scripted: Vec<(SimTime, u64, u32)> = scenario
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let drawn = keys.next_u64();
                (e.at, if file_order { i as u64 } else { drawn }, i as u32)
            })
            .collect();
        scripted.sort_unstable();
        let mut base = scenario.events.len() as u64;
        let mut generators = Vec::with_capacity(scenario.generators.len());
        for (g, rng) in scenario
            .generators
            .iter()
            .zip(generator_streams(&scenario.generators, seed))
        {
            let mut keys = sched.clone();
            keys.skip_u64(base);
            generators.push(Source {
                cursor: Cursor::new(g, rng),
                keys,
                base,
                file_order,
                group: Vec::new(),
                ahead: None,
            });
            base += g.count;
        }
        sched.skip_u64(base);
        let mut roots = Roots {
            scripted,
            next_scripted: 0,
            generators,
            heads: BinaryHeap::new(),
            until: scenario.until,
            total: base,
            left: base,
        };
        if let Some(&(at, key, n)) = roots.scripted.first() {
            roots.heads.push(Reverse((at, key, n, 0)));
        }
        for g in 0..roots.generators.len() {
            roots.refill(g + 1);
        }
        roots
    }

    fn refill(&mut self, source: usize) {
        let head = if source == 0 {
            self.scripted.get(self.next_scripted).copied()
        } else {
            self.generators[source - 1].head(self.until)
        };
        if let Some((at, key, n)) = head {
            self.heads.push(Reverse((at, key, n, source)));
        }
    }

    /// When the next root input is due (it may be after `until`: then no input is left to
    /// run, but some are left).
    pub(super) fn peek_time(&self) -> Option<SimTime> {
        self.heads.peek().map(|Reverse(head)| head.0)
    }

    /// The next root input: its time, its number, and the event when it is a generated one
    /// (a scripted one is the scenario's `events[number]`).
    pub(super) fn pop(&mut self) -> Option<(SimTime, u32, Option<RootEvent>)> {
        let Reverse((at, _, n, source)) = self.heads.pop()?;
        self.left -= 1;
        let event = if source == 0 {
            self.next_scripted += 1;
            None
        } else {
            let g = &mut self.generators[source - 1];
            let (_, _, draw) = g.group.pop().expect("a head is in its group");
            Some(g.cursor.build(&draw))
        };
        self.refill(source);
        Some((at, n, event))
    }

    /// Root inputs not run yet (after `until` included).
    pub(super) fn left(&self) -> u64 {
        self.left
    }

    /// Every root input of the run, scripted and generated.
    pub(super) fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Purpose, TenantId};
    use crate::scenario::{expand_generators, Generator, Input, Spacing, Template, ValuePool};
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    /// The reference: every root input drawn, built and sorted at the start, as runs did
    /// before generators were drawn lazily. Returns (time, number, event) in run order (only
    /// those at or before `until`) and the scheduling stream after the keys.
    fn eager(scenario: &Scenario, seed: Seed) -> (Vec<(SimTime, u32, RootEvent)>, RngStream) {
        let mut sched = RngStream::new(seed, Purpose::Scheduling);
        let mut all: Vec<RootEvent> = scenario.events.clone();
        all.extend(expand_generators(&scenario.generators, seed));
        let mut order: Vec<(SimTime, u64, u32)> = Vec::new();
        for (i, e) in all.iter().enumerate() {
            let drawn = sched.next_u64();
            let key = if scenario.file_order { i as u64 } else { drawn };
            if e.at <= scenario.until {
                order.push((e.at, key, i as u32));
            }
        }
        order.sort_unstable();
        let run = order
            .into_iter()
            .map(|(at, _, i)| (at, i, all[i as usize].clone()))
            .collect();
        (run, sched)
    }

    fn lazy(scenario: &Scenario, seed: Seed) -> (Vec<(SimTime, u32, RootEvent)>, RngStream, u64) {
        let mut sched = RngStream::new(seed, Purpose::Scheduling);
        let mut roots = Roots::new(scenario, seed, &mut sched);
        let mut run = Vec::new();
        while roots.peek_time().is_some_and(|at| at <= scenario.until) {
            let (at, n, event) = roots.pop().expect("peeked");
            let event = event.unwrap_or_else(|| scenario.events[n as usize].clone());
            run.push((at, n, event));
        }
        let left = roots.left();
        (run, sched, left)
    }

    fn generator(count: u64, start: u64, every: u64, jitter: u64) -> Generator {
        let mut values = BTreeMap::new();
        values.insert(
            "d".to_string(),
            ValuePool::List(vec![json!("a"), json!("b")]),
        );
        values.insert("x".to_string(), ValuePool::Range { min: 0, max: 9 });
        Generator {
            tenant: TenantId::new("t"),
            count,
            start: SimTime(start),
            spacing: Spacing::Every {
                interval_ms: every,
                jitter_ms: jitter,
            },
            template: Template::Dispatch {
                entity_type: "E".into(),
                id: "e{n}{d}".into(),
                action: "A".into(),
                params: json!({"x": "{x}"}),
            },
            values,
        }
    }

    fn scenario(
        scripted: &[u64],
        generators: Vec<Generator>,
        until: u64,
        file_order: bool,
    ) -> Scenario {
        let mut s = crate::scenario::parse_scenario(
            "[scenario]\nname = \"roots\"\n[[tenant]]\nid = \"t\"\n[[entity]]\ntype = \"E\"\nstates = [\"S\"]\ninitial = \"S\"\n[[entity.action]]\nname = \"A\"\n",
            std::path::Path::new("roots.toml"),
        )
        .expect("loads");
        s.events = scripted
            .iter()
            .enumerate()
            .map(|(i, &at)| RootEvent {
                at: SimTime(at),
                tenant: TenantId::new("t"),
                input: Input::Publish {
                    subject: crate::core::Subject::new(format!("s.{i}")).unwrap(),
                    payload: json!({}),
                },
                vendor: None,
            })
            .collect();
        s.generators = generators;
        s.until = SimTime(until);
        s.file_order = file_order;
        s
    }

    proptest! {
        /// Drawn lazily, the root inputs run in the order, with the events, of drawing them
        /// all at the start; the scheduling stream is left where it was; what is left
        /// counts the inputs after `until`. Generators with gaps of 0 to 2 ms make inputs
        /// that share instants within a generator and across generators and scripted events.
        #[test]
        fn lazy_roots_run_as_eager_roots(
            scripted in proptest::collection::vec(0u64..30, 0..6),
            gens in proptest::collection::vec((1u64..25, 0u64..10, 0u64..3, 0u64..3), 0..4),
            until in 0u64..60,
            file_order in any::<bool>(),
            seed in 0u64..1000,
        ) {
            let generators = gens.iter().map(|&(c, s, e, j)| generator(c, s, e, j)).collect();
            let s = scenario(&scripted, generators, until, file_order);
            let (want, mut want_sched) = eager(&s, Seed(seed));
            let (got, mut got_sched, left) = lazy(&s, Seed(seed));
            let total = scripted.len() as u64 + gens.iter().map(|g| g.0).sum::<u64>();
            prop_assert_eq!(&got, &want);
            prop_assert_eq!(want_sched.next_u64(), got_sched.next_u64());
            prop_assert_eq!(left, total - want.len() as u64);
        }
    }

    #[test]
    fn a_generator_of_millions_holds_one_instant_at_a_time() {
        let s = scenario(
            &[],
            vec![generator(10_000_000, 0, 1, 0)],
            u64::MAX / 2,
            false,
        );
        let mut sched = RngStream::new(Seed(1), Purpose::Scheduling);
        let mut roots = Roots::new(&s, Seed(1), &mut sched);
        for n in 0..1000u32 {
            let (at, number, event) = roots.pop().unwrap();
            assert_eq!((at, number), (SimTime(u64::from(n)), n));
            assert!(event.is_some());
            assert!(roots.generators[0].group.len() <= 1);
        }
        assert_eq!(roots.left(), 10_000_000 - 1000);
        assert_eq!(roots.total(), 10_000_000);
    }
}

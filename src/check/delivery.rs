//! `delivery`: every published event reaches every matching subscription exactly once,
//! unless a fault dropped or duplicated it.
//!
//! Counts, per bus event, the subscriptions it was routed to, the drop and duplicate faults
//! recorded against it, and the deliveries. A delivery beyond what was routed plus
//! duplicated is a violation at once; at the end of a quiescent run, every event must have
//! been delivered exactly routed - dropped + duplicated times. It does not check deliveries
//! still pending when a budget stopped the run (`quiescence` reports that), and it does not
//! check which subscription got which copy beyond the counts.

use crate::check::{Invariant, RunEnd};
use crate::core::EventId;
use crate::core::{FaultKind, Record, RecordKind, RecordRef};
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    routed: u32,
    dropped: u32,
    duplicated: u32,
    delivered: u32,
}

/// Counts per event. A run's event ids are dense (0, 1, 2, ... in publish order) and each
/// event's records come after its `publish`, so the counts live in a `Vec` indexed by id;
/// an id out of that order (a hand-made record stream) goes to `sparse`, whose keys all
/// stay at or past `dense.len()` so that `dense` then `sparse` is id order.
#[derive(Default, Clone)]
pub struct Delivery {
    dense: Vec<Counts>,
    sparse: BTreeMap<EventId, Counts>,
}

impl Delivery {
    fn counts(&mut self, event: EventId) -> &mut Counts {
        let next = self.dense.len() as u64;
        if event.0 < next {
            return &mut self.dense[event.0 as usize];
        }
        if event.0 == next {
            let counts = self.sparse.remove(&event).unwrap_or_default();
            self.dense.push(counts);
            return self.dense.last_mut().expect("just pushed");
        }
        self.sparse.entry(event).or_default()
    }
}

impl Invariant for Delivery {
    fn name(&self) -> &'static str {
        "delivery"
    }

    fn watches(&self, kind: RecordKind) -> bool {
        matches!(
            kind,
            RecordKind::Publish | RecordKind::Fault | RecordKind::Deliver
        )
    }

    fn on_record(&mut self, record: &Record) -> Option<String> {
        self.on_record_ref(&record.view())
    }

    #[inline]
    fn on_record_ref(&mut self, record: &RecordRef<'_>) -> Option<String> {
        match record {
            RecordRef::Publish {
                event, subscribers, ..
            } => {
                *self.counts(*event) = Counts {
                    routed: *subscribers,
                    ..Counts::default()
                };
                None
            }
            RecordRef::Fault {
                fault: FaultKind::Drop,
                event: Some(e),
                ..
            } => {
                self.counts(*e).dropped += 1;
                None
            }
            RecordRef::Fault {
                fault: FaultKind::Duplicate,
                event: Some(e),
                ..
            } => {
                self.counts(*e).duplicated += 1;
                None
            }
            RecordRef::Deliver { event, handler, .. } => {
                let c = self.counts(*event);
                c.delivered += 1;
                (c.delivered > c.routed - c.dropped.min(c.routed) + c.duplicated).then(|| {
                    format!(
                        "event {} was delivered {} times (to {handler} last) but routed to {} subscriptions with {} duplicated",
                        event.0, c.delivered, c.routed, c.duplicated
                    )
                })
            }
            _ => None,
        }
    }

    fn at_end(&mut self, end: &RunEnd) -> Vec<String> {
        if !end.quiescent {
            return Vec::new();
        }
        let dense = (0u64..).map(EventId).zip(self.dense.iter());
        dense
            .chain(self.sparse.iter().map(|(e, c)| (*e, c)))
            .filter(|(_, c)| c.delivered + c.dropped != c.routed + c.duplicated)
            .take(10)
            .map(|(e, c)| {
                format!(
                    "event {} was routed to {} subscriptions ({} dropped, {} duplicated) but delivered {} times",
                    e.0, c.routed, c.dropped, c.duplicated, c.delivered
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::SimTime;
    use crate::core::{Depth, TenantId};
    use crate::core::{SubId, Subject};
    use crate::engine::Store;

    fn publish(n: u32) -> Record {
        Record::Publish {
            at: SimTime(0),
            cause: 0,
            event: EventId(1),
            tenant: TenantId::new("t"),
            subject: Subject::new("a.b").unwrap(),
            depth: Depth(0),
            subscribers: n,
        }
    }
    fn deliver() -> Record {
        Record::Deliver {
            at: SimTime(0),
            cause: 0,
            event: EventId(1),
            sub: SubId(0),
            handler: "h".into(),
        }
    }
    fn fault(kind: FaultKind) -> Record {
        Record::Fault {
            at: SimTime(0),
            cause: 0,
            fault: kind,
            on: crate::core::FaultTarget::Delivery {
                subject: "a.b".into(),
                handler: "h".into(),
            },
            nth: 1,
            event: Some(EventId(1)),
            delay_ms: 0,
        }
    }
    fn end(store: &Store) -> RunEnd<'_> {
        RunEnd {
            store,
            quiescent: true,
            pending: 0,
            now: SimTime(0),
            next_due: None,
        }
    }

    #[test]
    fn exactly_once_holds_and_a_lost_or_extra_delivery_breaks() {
        let store = Store::default();
        let mut ok = Delivery::default();
        ok.on_record(&publish(2));
        assert_eq!(ok.on_record(&deliver()), None);
        assert_eq!(ok.on_record(&deliver()), None);
        assert!(ok.at_end(&end(&store)).is_empty());

        let mut extra = Delivery::default();
        extra.on_record(&publish(1));
        extra.on_record(&deliver());
        assert!(extra
            .on_record(&deliver())
            .unwrap()
            .contains("delivered 2 times"));

        let mut lost = Delivery::default();
        lost.on_record(&publish(2));
        lost.on_record(&deliver());
        assert_eq!(lost.at_end(&end(&store)).len(), 1);
    }

    #[test]
    fn drops_and_duplicates_are_accounted_for() {
        let store = Store::default();
        let mut c = Delivery::default();
        c.on_record(&publish(2));
        c.on_record(&fault(FaultKind::Drop));
        c.on_record(&fault(FaultKind::Duplicate));
        assert_eq!(c.on_record(&deliver()), None);
        assert_eq!(c.on_record(&deliver()), None);
        assert!(c.at_end(&end(&store)).is_empty());
    }

    #[test]
    fn events_out_of_publish_order_are_reported_in_id_order() {
        let store = Store::default();
        let mut c = Delivery::default();
        let event = |r: Record, id: u64| match r {
            Record::Publish {
                at,
                tenant,
                subject,
                depth,
                subscribers,
                ..
            } => Record::Publish {
                at,
                cause: 0,
                event: EventId(id),
                tenant,
                subject,
                depth,
                subscribers,
            },
            _ => unreachable!(),
        };
        // Event 1 first (kept apart: 0 is not known yet), then 0 (in order), then 2.
        c.on_record(&publish(1));
        c.on_record(&event(publish(3), 0));
        c.on_record(&event(publish(2), 2));
        let found = c.at_end(&end(&store));
        assert_eq!(found.len(), 3);
        for (message, id) in found.iter().zip(["event 0 ", "event 1 ", "event 2 "]) {
            assert!(message.starts_with(id), "{message}");
        }
    }
}

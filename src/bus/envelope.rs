//! The envelope: one publication on the bus, with its tenant, virtual time, cause and depth.

use crate::bus::sanitize_token_into;
use crate::core::EventId;
use crate::core::SimTime;
use crate::core::Subject;
use crate::core::{Depth, EntityId, LookupMap, Object, TenantId, Value};
use serde::Serialize;
use std::sync::Arc;

/// What published an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cause {
    /// The scenario's `[[event]]` (or generated event) with this index.
    Root { event: u32 },
    /// A committed entity action (published as `entity.<Type>.<Action>.<id>`).
    Commit {
        entity_type: String,
        id: EntityId,
        action: String,
    },
}

/// The subject of a committed entity action, `entity.<Type>.<Action>.<id>`, appended to
/// `out` (a reused buffer, in the simulator). Entity types and actions are validated plain
/// names; the id is sanitized into one token.
#[inline]
pub fn commit_subject_into(entity_type: &str, action: &str, id: &str, out: &mut String) {
    out.push_str("entity.");
    out.push_str(entity_type);
    out.push('.');
    out.push_str(action);
    out.push('.');
    sanitize_token_into(id, out);
}

/// The payload (`entity_type`, `id`, `action`, `status`) and the cause of a committed entity
/// action's event: what the simulator and the cascade model both publish.
pub fn commit_event(entity_type: &str, id: &str, action: &str, status: &str) -> (Value, Cause) {
    (
        commit_payload(entity_type, id, action, status),
        commit_cause(entity_type, id, action),
    )
}

fn commit_payload(entity_type: &str, id: &str, action: &str, status: &str) -> Value {
    let mut payload = Object::new();
    payload.insert("entity_type".into(), Value::from(entity_type));
    payload.insert("id".into(), Value::from(id));
    payload.insert("action".into(), Value::from(action));
    payload.insert("status".into(), Value::from(status));
    Value::Object(payload)
}

/// The cause of a committed entity action's event.
fn commit_cause(entity_type: &str, id: &str, action: &str) -> Cause {
    Cause::Commit {
        entity_type: entity_type.to_string(),
        id: EntityId::new(id),
        action: action.to_string(),
    }
}

/// Makes `cause` the cause of a committed entity action's event, writing over the strings of
/// the commit it was (the simulator reuses the envelopes it delivered).
pub(crate) fn commit_cause_into(cause: &mut Cause, entity_type: &str, id: &str, action: &str) {
    if let Cause::Commit {
        entity_type: kept_type,
        id: kept_id,
        action: kept_action,
    } = cause
    {
        for (kept, text) in [
            (kept_type, entity_type),
            (&mut kept_id.0, id),
            (kept_action, action),
        ] {
            kept.clear();
            kept.push_str(text);
        }
    } else {
        *cause = commit_cause(entity_type, id, action);
    }
}

/// Commit payloads already built in a run, shared by the publications that repeat one: an
/// entity that takes the same action to the same status again publishes an equal payload,
/// and a shared `Arc` costs neither building the map (ten allocations) nor freeing it.
/// Payloads are immutable, so sharing one changes nothing anyone can see.
///
/// Keyed by the four strings, each prefixed with its length (no separator can be confused
/// with a name's bytes). At most [`CommitPayloads::KEPT_MAX`] are kept; beyond that, new
/// payloads are built each time, as without the cache.
#[derive(Debug, Default)]
pub(crate) struct CommitPayloads {
    kept: LookupMap<Box<[u8]>, Arc<Value>>,
    /// The key being looked up (a reused buffer).
    key: Vec<u8>,
}

impl CommitPayloads {
    pub(crate) const KEPT_MAX: usize = 8192;

    /// The payload [`commit_event`] gives for these, shared when it was built before.
    pub(crate) fn get(
        &mut self,
        entity_type: &str,
        id: &str,
        action: &str,
        status: &str,
    ) -> Arc<Value> {
        self.key.clear();
        for part in [entity_type, id, action, status] {
            self.key
                .extend_from_slice(&(part.len() as u64).to_le_bytes());
            self.key.extend_from_slice(part.as_bytes());
        }
        if let Some(payload) = self.kept.get(self.key.as_slice()) {
            return Arc::clone(payload);
        }
        let payload = Arc::new(commit_payload(entity_type, id, action, status));
        if self.kept.len() < Self::KEPT_MAX {
            self.kept
                .insert(self.key.as_slice().into(), Arc::clone(&payload));
        }
        payload
    }
}

/// One publication. The payload is shared (`Arc`), not cloned, across fan-out.
#[derive(Debug, Clone, Serialize)]
pub struct Envelope {
    pub id: EventId,
    pub tenant: TenantId,
    pub subject: Subject,
    pub payload: Arc<Value>,
    pub at: SimTime,
    pub cause: Cause,
    pub depth: Depth,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_commit_shares_the_payload_commit_event_builds() {
        let mut payloads = CommitPayloads::default();
        let first = payloads.get("Order", "o1", "Confirm", "Confirmed");
        assert_eq!(
            *first,
            commit_event("Order", "o1", "Confirm", "Confirmed").0
        );
        let again = payloads.get("Order", "o1", "Confirm", "Confirmed");
        assert!(Arc::ptr_eq(&first, &again));
        let other = payloads.get("Order", "o1", "Confirm", "Pending");
        assert_eq!(*other, commit_event("Order", "o1", "Confirm", "Pending").0);
        assert!(!Arc::ptr_eq(&first, &other));
    }

    #[test]
    fn names_that_concatenate_alike_are_told_apart() {
        let mut payloads = CommitPayloads::default();
        let cases = [
            ("ab", "c", "A", "S"),
            ("a", "bc", "A", "S"),
            ("a", "b\0c", "A", "S"),
            ("a\0b", "c", "A", "S"),
            ("a", "", "bcA", "S"),
        ];
        for _ in 0..2 {
            for (t, id, action, status) in cases {
                assert_eq!(
                    *payloads.get(t, id, action, status),
                    commit_event(t, id, action, status).0,
                    "{t:?} {id:?} {action:?} {status:?}"
                );
            }
        }
    }

    #[test]
    fn commit_cause_into_gives_the_cause_commit_event_gives() {
        let expected = commit_event("Order", "o1", "Confirm", "Confirmed").1;
        for start in [
            Cause::Root { event: 3 },
            commit_event("Payment", "a-much-longer-id", "Authorize", "Authorized").1,
            expected.clone(),
        ] {
            let mut cause = start;
            commit_cause_into(&mut cause, "Order", "o1", "Confirm");
            assert_eq!(cause, expected);
        }
    }

    #[test]
    fn past_the_cap_payloads_are_built_each_time() {
        let mut payloads = CommitPayloads::default();
        for i in 0..CommitPayloads::KEPT_MAX {
            payloads.get("T", &format!("e{i}"), "A", "S");
        }
        let late = payloads.get("T", "late", "A", "S");
        let again = payloads.get("T", "late", "A", "S");
        assert_eq!(late, again);
        assert!(!Arc::ptr_eq(&late, &again), "not kept once full");
        let early = payloads.get("T", "e0", "A", "S");
        assert!(Arc::ptr_eq(&early, &payloads.get("T", "e0", "A", "S")));
    }
}

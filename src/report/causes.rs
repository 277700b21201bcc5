//! The causal tree of a run's records, for the pictures: each record names its cause (a
//! `cause` step, see [`Record::cause`]), so every dispatch is drawn under what really caused
//! it, however late its message arrived and whatever root input was running then.
//!
//! The tree's nodes are the records a picture draws: root inputs, dispatches (with their
//! result), reflex outcomes, and the lines that say why something did not happen (a failed
//! reaction, a guard skip, a depth limit, a fault, a warning). Every other record (a
//! transition, a publication, a delivery) stands for the node that caused it: a reaction's
//! dispatch hangs under the dispatch whose commit fired its rule, a reflex's outcome under
//! the dispatch whose commit published what the reflex heard.

use crate::core::Record;

/// The causal tree over one run's kept records.
pub(crate) struct CauseTree {
    /// Per step: the node it stands for (itself for a node, otherwise its cause's node).
    node: Vec<usize>,
    /// Per step: the children it has as a node, in step order.
    children: Vec<Vec<usize>>,
    /// Per dispatch step: the step of its result (transition or failure).
    result: Vec<Option<usize>>,
    /// Nodes without a cause: the root inputs, in order.
    pub roots: Vec<usize>,
}

/// Is this record a node of the tree (drawn), rather than standing for its cause?
fn is_node(r: &Record) -> bool {
    match r {
        Record::Input { .. } | Record::Dispatch { .. } | Record::Outcome { .. } => true,
        Record::Reaction { target_id, .. } => target_id.is_none(),
        Record::GuardSkip { .. }
        | Record::DepthLimit { .. }
        | Record::Fault { .. }
        | Record::Warning { .. } => true,
        Record::Publish { .. }
        | Record::Deliver { .. }
        | Record::Transition { .. }
        | Record::ActionFailed { .. } => false,
    }
}

impl CauseTree {
    pub(crate) fn new(records: &[Record]) -> CauseTree {
        let n = records.len();
        let mut tree = CauseTree {
            node: Vec::with_capacity(n),
            children: vec![Vec::new(); n],
            result: vec![None; n],
            roots: Vec::new(),
        };
        let mut last_dispatch: Option<usize> = None;
        for (step, r) in records.iter().enumerate() {
            // A cause is always an earlier step; one that is not (a record read from
            // elsewhere) is drawn as a root rather than trusted.
            let cause = r.cause().map(|c| c as usize).filter(|&c| c < step);
            if let (Record::Transition { .. } | Record::ActionFailed { .. }, Some(c)) = (r, cause) {
                if matches!(records[c], Record::Dispatch { .. }) {
                    tree.result[c].get_or_insert(step);
                }
            }
            let parent = cause.map(|c| tree.node[c]);
            // A reaction's result stands for its dispatch, the latest one (the engine records
            // the result right after the target's commit), when they share their cause.
            if let Record::Reaction {
                target_id: Some(_), ..
            } = r
            {
                let dispatch = last_dispatch.filter(|&d| records[d].cause() == r.cause());
                if let Some(d) = dispatch {
                    tree.node.push(d);
                    continue;
                }
            }
            if let Record::Dispatch { .. } = r {
                last_dispatch = Some(step);
            }
            if is_node(r) {
                tree.node.push(step);
                match parent {
                    Some(p) => tree.children[p].push(step),
                    None => tree.roots.push(step),
                }
            } else {
                tree.node.push(parent.unwrap_or(step));
            }
        }
        tree
    }

    /// The node a step is drawn as (itself, or the node that caused it).
    pub(crate) fn node_of(&self, step: usize) -> Option<usize> {
        self.node.get(step).copied()
    }

    #[cfg(test)]
    pub(crate) fn children(&self, node: usize) -> &[usize] {
        &self.children[node]
    }

    /// The result of the dispatch at `step`, when it has one among the kept records.
    pub(crate) fn result(&self, step: usize) -> Option<usize> {
        self.result.get(step).copied().flatten()
    }

    /// The nodes under `root`, depth first in step order, with their depth below it (the
    /// root itself at 0).
    pub(crate) fn walk(&self, root: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let mut stack = vec![(root, 0usize)];
        std::iter::from_fn(move || {
            let (node, depth) = stack.pop()?;
            stack.extend(self.children[node].iter().rev().map(|&c| (c, depth + 1)));
            Some((node, depth))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Depth, EntityId, Origin, SimTime, TenantId};

    fn dispatch(at: u64, cause: u64, id: &str, origin: Origin) -> Record {
        Record::Dispatch {
            at: SimTime(at),
            cause,
            tenant: TenantId::new("t"),
            source_tenant: TenantId::new("t"),
            entity_type: "E".into(),
            id: EntityId::new(id),
            action: "A".into(),
            depth: Depth(0),
            origin,
        }
    }

    fn transition(at: u64, cause: u64, id: &str) -> Record {
        Record::Transition {
            at: SimTime(at),
            cause,
            tenant: TenantId::new("t"),
            entity_type: "E".into(),
            id: EntityId::new(id),
            action: "A".into(),
            from: "S".into(),
            to: "S".into(),
            created: false,
        }
    }

    fn rule() -> Origin {
        Origin::Rule {
            rule: "r".into(),
            copy: false,
        }
    }

    /// Input 0 confirms a; its reaction to b is delayed past input 3: b's dispatch is drawn
    /// under a's, not under input 3.
    #[test]
    fn a_late_dispatch_hangs_under_its_cause_not_under_the_running_input() {
        let records = vec![
            Record::Input {
                at: SimTime(0),
                event: 0,
            },
            dispatch(0, 0, "a", Origin::Root { event: 0 }),
            transition(0, 1, "a"),
            Record::Input {
                at: SimTime(10),
                event: 1,
            },
            dispatch(10, 3, "c", Origin::Root { event: 1 }),
            transition(10, 4, "c"),
            dispatch(15, 2, "b", rule()),
            transition(15, 6, "b"),
        ];
        let tree = CauseTree::new(&records);
        assert_eq!(tree.roots, vec![0, 3]);
        assert_eq!(tree.children(1), &[6]);
        assert_eq!(tree.children(3), &[4]);
        assert!(tree.children(4).is_empty());
        assert_eq!(tree.result(6), Some(7));
        assert_eq!(tree.node_of(7), Some(6));
        let walked: Vec<_> = tree.walk(0).collect();
        assert_eq!(walked, vec![(0, 0), (1, 1), (6, 2)]);
    }

    #[test]
    fn a_cause_that_is_not_earlier_is_not_trusted() {
        let records = vec![
            dispatch(0, 5, "a", rule()),
            transition(0, 0, "a"),
            dispatch(0, 1, "b", rule()),
        ];
        let tree = CauseTree::new(&records);
        assert_eq!(tree.roots, vec![0]);
        assert_eq!(tree.children(0), &[2]);
    }
}

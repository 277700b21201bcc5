//! The scheduler's queue: messages ordered by (virtual time, sequence).
//!
//! The sequence number is assigned at push, so two messages at the same time run in the
//! order they were scheduled: FIFO per subscription falls out of this without faults.
//! Randomness in ordering (concurrent root inputs, fan-out order, fault delays) is decided
//! by whoever pushes, from the seed, never by the queue.
//!
//! A run pushes all its root inputs first, in time order, then messages due at or shortly
//! after the current time. So the queue keeps two parts: a run of items pushed in order
//! (appended to a deque, popped from its front) and a heap for the rest; `pop` takes the
//! earlier of the two fronts. The order is exactly (time, sequence), as with one heap, but
//! the heap holds only what is in flight instead of every root input of the run.

use crate::core::SimTime;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

struct Entry<T> {
    at: SimTime,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at && self.seq == other.seq
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    /// Reversed: `BinaryHeap` is a max-heap and we pop the earliest.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A min-queue on (time, sequence).
pub struct Queue<T> {
    /// Items pushed in (time, sequence) order, each after the previous one.
    sorted: VecDeque<Entry<T>>,
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
}

impl<T> Default for Queue<T> {
    fn default() -> Self {
        Queue {
            sorted: VecDeque::new(),
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
}

impl<T> Queue<T> {
    pub fn new() -> Queue<T> {
        Queue::default()
    }

    pub fn with_capacity(n: usize) -> Queue<T> {
        Queue {
            sorted: VecDeque::with_capacity(n),
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Schedules `item` at `at`; returns its sequence number.
    pub fn push(&mut self, at: SimTime, item: T) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        let entry = Entry { at, seq, item };
        // The sequence only grows, so an item no earlier than the last one in order comes
        // after it: it can join the ordered run.
        if self.sorted.back().is_none_or(|last| last.at <= at) {
            self.sorted.push_back(entry);
        } else {
            self.heap.push(entry);
        }
        seq
    }

    /// Whether the next item is the front of the ordered run (rather than the heap's top).
    fn next_is_sorted(&self) -> bool {
        match (self.sorted.front(), self.heap.peek()) {
            (Some(a), Some(b)) => (a.at, a.seq) < (b.at, b.seq),
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    pub fn pop(&mut self) -> Option<(SimTime, T)> {
        let entry = if self.next_is_sorted() {
            self.sorted.pop_front()
        } else {
            self.heap.pop()
        };
        entry.map(|e| (e.at, e.item))
    }

    pub fn peek_time(&self) -> Option<SimTime> {
        if self.next_is_sorted() {
            self.sorted.front().map(|e| e.at)
        } else {
            self.heap.peek().map(|e| e.at)
        }
    }

    pub fn len(&self) -> usize {
        self.sorted.len() + self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty() && self.heap.is_empty()
    }

    /// How many items were ever pushed.
    pub fn pushed(&self) -> u64 {
        self.seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_push_order() {
        let mut q = Queue::new();
        q.push(SimTime(5), "c");
        q.push(SimTime(1), "a");
        q.push(SimTime(5), "d");
        q.push(SimTime(1), "b");
        let order: Vec<&str> = std::iter::from_fn(|| q.pop().map(|(_, x)| x)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
    }

    proptest::proptest! {
        /// Whatever the pattern of pushes and pops, the order is the one a single heap on
        /// (time, sequence) gives.
        #[test]
        fn order_is_time_then_sequence(ops in proptest::collection::vec((0u64..20, proptest::bool::ANY), 0..200)) {
            let mut q = Queue::new();
            let mut reference: BinaryHeap<Entry<u64>> = BinaryHeap::new();
            let mut seq = 0;
            let mut now = 0;
            for (delay, pop) in ops {
                if pop {
                    let want = reference.pop().map(|e| (e.at, e.item));
                    proptest::prop_assert_eq!(q.peek_time(), want.map(|(at, _)| at));
                    let got = q.pop();
                    proptest::prop_assert_eq!(got, want);
                    if let Some((at, _)) = got {
                        now = at.0;
                    }
                } else {
                    // Mostly at or after the last pop (as a run schedules), sometimes anywhere.
                    let at = SimTime(if delay % 3 == 0 { delay } else { now + delay });
                    q.push(at, seq);
                    reference.push(Entry { at, seq, item: seq });
                    seq += 1;
                }
                proptest::prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}

//! Delta debugging (Zeller and Hildebrandt's ddmin) over a list.
//!
//! Returns a 1-minimal sublist: removing any one more item makes the test pass. Runs
//! O(k log n) tests for k needed items among n when the failure is monotone, and at worst
//! O(n^2). The test may report that the budget ran out; ddmin then returns the smallest
//! failing list found so far.

/// What a test says about a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Still fails the same way: keep the candidate.
    Fails,
    /// Passes (or fails differently): reject it.
    Passes,
    /// No budget left: stop.
    OutOfBudget,
}

/// Shrinks `items` (which fail) to a 1-minimal failing sublist, keeping item order.
pub fn ddmin<T: Clone>(items: Vec<T>, test: &mut dyn FnMut(&[T]) -> Verdict) -> Vec<T> {
    let mut current = items;
    let mut n = 2usize;
    while current.len() >= 2 {
        let chunks = split(&current, n);
        let mut reduced = false;
        // Complements first: when several items are needed, a chunk alone rarely holds them
        // all, but removing one chunk often keeps them. (Zeller's order tries subsets first;
        // with k needed items spread over n this order saves most of the subset tests.)
        if n > 2 {
            for i in 0..chunks.len() {
                let complement: Vec<T> = chunks
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .flat_map(|(_, c)| c.iter().cloned())
                    .collect();
                match test(&complement) {
                    Verdict::Fails => {
                        current = complement;
                        n = (n - 1).max(2);
                        reduced = true;
                        break;
                    }
                    Verdict::OutOfBudget => return current,
                    Verdict::Passes => {}
                }
            }
        }
        if !reduced {
            for chunk in &chunks {
                match test(chunk) {
                    Verdict::Fails => {
                        current = chunk.clone();
                        n = 2;
                        reduced = true;
                        break;
                    }
                    Verdict::OutOfBudget => return current,
                    Verdict::Passes => {}
                }
            }
        }
        if !reduced {
            if n >= current.len() {
                break;
            }
            n = (n * 2).min(current.len());
        }
    }
    // A single item may still be unnecessary.
    if current.len() == 1 && test(&[]) == Verdict::Fails {
        current.clear();
    }
    current
}

fn split<T: Clone>(items: &[T], n: usize) -> Vec<Vec<T>> {
    let n = n.min(items.len()).max(1);
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let end = start + (items.len() - start) / (n - i);
        out.push(items[start..end].to_vec());
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(needed: &[u32]) -> impl FnMut(&[u32]) -> Verdict + '_ {
        move |c: &[u32]| {
            if needed.iter().all(|x| c.contains(x)) {
                Verdict::Fails
            } else {
                Verdict::Passes
            }
        }
    }

    #[test]
    fn finds_exactly_the_needed_items() {
        let items: Vec<u32> = (0..1000).collect();
        for needed in [vec![417], vec![3, 998], vec![1, 500, 999]] {
            let mut runs = 0;
            let mut test = needs(&needed);
            let out = ddmin(items.clone(), &mut |c| {
                runs += 1;
                test(c)
            });
            assert_eq!(out, needed);
            eprintln!("{runs} runs for {needed:?}");
            assert!(runs < 200, "{runs} runs for {needed:?}");
        }
    }

    #[test]
    fn result_is_one_minimal_for_a_non_monotone_failure() {
        // Fails when the count of even items is exactly 2.
        let mut test = |c: &[u32]| {
            if c.iter().filter(|x| *x % 2 == 0).count() == 2 {
                Verdict::Fails
            } else {
                Verdict::Passes
            }
        };
        let out = ddmin((0..20).collect(), &mut test);
        assert_eq!(out.len(), 2);
        for i in 0..out.len() {
            let mut fewer = out.clone();
            fewer.remove(i);
            assert_eq!(test(&fewer), Verdict::Passes);
        }
    }

    #[test]
    fn running_out_of_budget_keeps_the_best_so_far() {
        let mut calls = 0;
        let out = ddmin((0..100).collect::<Vec<u32>>(), &mut |c: &[u32]| {
            calls += 1;
            if calls > 3 {
                Verdict::OutOfBudget
            } else if c.contains(&7) {
                Verdict::Fails
            } else {
                Verdict::Passes
            }
        });
        assert!(out.contains(&7));
        assert!(out.len() < 100);
    }
}

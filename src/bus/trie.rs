//! The subscription index: a token trie from patterns to subscription ids.
//!
//! Each pattern is stored along the path of its tokens: a literal token descends into the
//! child keyed by that token, `*` into the node's single wildcard child, and a trailing `>`
//! is recorded on the node *before* it (it stands for "one or more further tokens"). A
//! publication is matched by walking its subject's tokens down every branch that can still
//! match, so the cost follows the shape of the trie along that subject, never the total
//! number of subscriptions.
//!
//! What it does: NATS matching (`*` is exactly one token, `>` one or more and only last),
//! with `Pattern::matches` as the reference it must agree with (a proptest below checks
//! that), and a result sorted by id so that delivery order is subscription order.
//!
//! What it leaves out: tenants (the [`Bus`](crate::bus::Bus) filters those), delivery,
//! queues and ordering between publications (the scheduler's job), and validation (a
//! [`Pattern`] and a [`Subject`] are already valid when they get here).
//!
//! An example is the test `the_trie_returns_matching_ids_in_subscription_order` below.

use crate::bus::Pattern;
use crate::core::SubId;
#[cfg(test)]
use crate::core::Subject;
use crate::core::{find_named, get_in};
#[cfg(test)]
use std::str::Split;

/// One trie node: the position after some sequence of pattern tokens (literals and `*`).
#[derive(Debug, Default)]
struct Node {
    /// Children for literal tokens, sorted by token: a `Debug` dump or any future iteration
    /// must not depend on a random seed. A node has a handful of them, found by a scan that
    /// compares in line (a map's search or iterator costs more than the comparisons).
    literal: Vec<(Box<str>, Node)>,
    /// The child for a `*` token. Boxed because `Node` is recursive.
    star: Option<Box<Node>>,
    /// Ids whose pattern is this path followed by `>`: they match when at least one more
    /// subject token remains.
    gt: Vec<SubId>,
    /// Ids whose pattern ends exactly here: they match when no subject token remains.
    terminal: Vec<SubId>,
}

impl Node {
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.literal.is_empty()
            && self.star.is_none()
            && self.gt.is_empty()
            && self.terminal.is_empty()
    }
}

/// An index of patterns to subscription ids. See the module doc.
#[derive(Debug, Default)]
pub struct SubscriptionTrie {
    root: Node,
    /// Number of `(pattern, id)` entries, kept so that `len` need not walk the trie.
    entries: usize,
}

impl SubscriptionTrie {
    #[cfg(test)]
    pub fn new() -> SubscriptionTrie {
        SubscriptionTrie::default()
    }

    /// Indexes `id` under `pattern`. Inserting the same `(pattern, id)` twice is a no-op, so
    /// one subscription is never delivered twice through one pattern.
    pub fn insert(&mut self, pattern: &Pattern, id: SubId) {
        let mut node = &mut self.root;
        let mut tokens = pattern.tokens();
        let list = loop {
            match tokens.next() {
                None => break &mut node.terminal,
                Some(">") => {
                    // `Pattern::new` guarantees this; the trie's layout depends on it.
                    assert!(tokens.next().is_none(), "`>` not last in {pattern}");
                    break &mut node.gt;
                }
                Some("*") => node = node.star.get_or_insert_with(Box::default),
                Some(literal) => {
                    let at = find_named(&node.literal, literal).unwrap_or_else(|at| {
                        node.literal.insert(at, (literal.into(), Node::default()));
                        at
                    });
                    node = &mut node.literal[at].1;
                }
            }
        };
        if insert_sorted(list, id) {
            self.entries += 1;
        }
    }

    #[cfg(test)]
    /// Removes `id` from under `pattern`, pruning nodes left empty so that churn does not
    /// grow the trie. Returns whether it was there.
    pub fn remove(&mut self, pattern: &Pattern, id: SubId) -> bool {
        let removed = remove_from(&mut self.root, pattern.tokens(), id);
        if removed {
            self.entries -= 1;
        }
        removed
    }

    #[cfg(test)]
    /// Clears `out`, then fills it with every id whose pattern matches `subject`, each once,
    /// in ascending order. Allocates nothing beyond growing `out`: the walk recurses over a
    /// copied token iterator (a slice), and its depth is bounded by the longest
    /// pattern, because it only descends where the trie has a node.
    pub fn matches(&self, subject: &Subject, out: &mut Vec<SubId>) {
        self.matches_str(subject.as_str(), out);
    }

    /// [`SubscriptionTrie::matches`] on a subject the caller knows is valid (built from
    /// validated parts in a reused buffer), so that publishing needs no [`Subject`].
    pub fn matches_str(&self, subject: &str, out: &mut Vec<SubId>) {
        out.clear();
        collect(&self.root, Tokens(Some(subject)), out);
        // Each trie node is reached by at most one path for a given subject (its depth fixes
        // the subject position), so an id appears twice only if it was inserted under two
        // different patterns that both match; `dedup` makes that "once" too.
        out.sort_unstable();
        out.dedup();
    }

    /// Whether a subject made of `prefix`'s tokens and exactly one more token, whatever it
    /// is, may match a subscription. `false`: every such subject is heard by nobody (the
    /// simulator asks this once per entity type and action, of `entity.<Type>.<Action>`, and
    /// then publishes most commits without routing them). A literal last token counts as a
    /// possible match, so a `true` may be false for some tokens; a `false` never is.
    pub fn may_match_one_more(&self, prefix: &str) -> bool {
        may_match_one_more(&self.root, Tokens(Some(prefix)))
    }

    #[cfg(test)]
    /// The number of `(pattern, id)` entries.
    pub fn len(&self) -> usize {
        self.entries
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }
}

/// A subject's tokens: `str::split('.')` for the short subjects routed on every publish,
/// without the general splitter's search machinery. Cloning it is copying a slice.
#[derive(Clone, Copy)]
struct Tokens<'a>(Option<&'a str>);

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;

    #[inline]
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.0?;
        match rest.bytes().position(|b| b == b'.') {
            Some(dot) => {
                self.0 = Some(&rest[dot + 1..]);
                Some(&rest[..dot])
            }
            None => {
                self.0 = None;
                Some(rest)
            }
        }
    }
}

/// Pushes onto `out` every id under `node` that matches the remaining subject tokens.
fn collect(node: &Node, mut rest: Tokens<'_>, out: &mut Vec<SubId>) {
    let Some(token) = rest.next() else {
        out.extend_from_slice(&node.terminal);
        return;
    };
    // `token` exists, so "one or more tokens remain": every `>` recorded here matches.
    out.extend_from_slice(&node.gt);
    if let Some(child) = get_in(&node.literal, token) {
        collect(child, rest, out);
    }
    if let Some(child) = &node.star {
        collect(child, rest, out);
    }
}

fn may_match_one_more(node: &Node, mut rest: Tokens<'_>) -> bool {
    // `>` here takes the rest, which has at least the one more token.
    if !node.gt.is_empty() {
        return true;
    }
    match rest.next() {
        // The one more token: a child that ends there.
        None => {
            node.literal
                .iter()
                .any(|(_, child)| !child.terminal.is_empty())
                || node.star.as_ref().is_some_and(|c| !c.terminal.is_empty())
        }
        Some(token) => {
            get_in(&node.literal, token).is_some_and(|child| may_match_one_more(child, rest))
                || node
                    .star
                    .as_ref()
                    .is_some_and(|child| may_match_one_more(child, rest))
        }
    }
}

#[cfg(test)]
/// Removes `id` along the remaining pattern tokens; prunes a child that is left empty.
fn remove_from(node: &mut Node, mut tokens: Split<'_, char>, id: SubId) -> bool {
    match tokens.next() {
        None => remove_sorted(&mut node.terminal, id),
        Some(">") => remove_sorted(&mut node.gt, id),
        Some("*") => {
            let Some(child) = node.star.as_deref_mut() else {
                return false;
            };
            let removed = remove_from(child, tokens, id);
            if child.is_empty() {
                node.star = None;
            }
            removed
        }
        Some(literal) => {
            let Ok(at) = find_named(&node.literal, literal) else {
                return false;
            };
            let child = &mut node.literal[at].1;
            let removed = remove_from(child, tokens, id);
            if child.is_empty() {
                node.literal.remove(at);
            }
            removed
        }
    }
}

/// Lists stay sorted so that membership is a binary search; ids usually arrive ascending,
/// so the insert is almost always a push at the end.
fn insert_sorted(list: &mut Vec<SubId>, id: SubId) -> bool {
    match list.binary_search(&id) {
        Ok(_) => false,
        Err(at) => {
            list.insert(at, id);
            true
        }
    }
}

#[cfg(test)]
fn remove_sorted(list: &mut Vec<SubId>, id: SubId) -> bool {
    match list.binary_search(&id) {
        Ok(at) => {
            list.remove(at);
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {

    /// The example of this module's documentation.
    #[test]
    fn the_trie_returns_matching_ids_in_subscription_order() {
        use crate::bus::{Pattern, SubscriptionTrie};
        use crate::core::{SubId, Subject};

        let mut trie = SubscriptionTrie::new();
        trie.insert(&Pattern::new("sensory.link_down.>").unwrap(), SubId(1));
        trie.insert(&Pattern::new("sensory.*.snmp_trap.*").unwrap(), SubId(0));
        trie.insert(&Pattern::new("sensory.bgp_drop.>").unwrap(), SubId(2));

        let mut out = Vec::new();
        let subject = Subject::new("sensory.link_down.snmp_trap.r1|Gi0/1").unwrap();
        trie.matches(&subject, &mut out);
        assert_eq!(out, vec![SubId(0), SubId(1)]);
    }
    use super::*;
    use proptest::prelude::*;

    fn pattern(text: &str) -> Pattern {
        Pattern::new(text).unwrap()
    }

    fn subject(text: &str) -> Subject {
        Subject::new(text).unwrap()
    }

    /// The ids in `trie` matching `text`.
    fn matching(trie: &SubscriptionTrie, text: &str) -> Vec<SubId> {
        let mut out = Vec::new();
        trie.matches(&subject(text), &mut out);
        out
    }

    fn trie_of(patterns: &[&str]) -> SubscriptionTrie {
        let mut trie = SubscriptionTrie::new();
        for (i, text) in patterns.iter().enumerate() {
            trie.insert(&pattern(text), SubId(i as u32));
        }
        trie
    }

    #[test]
    fn literal_matches_only_the_same_subject() {
        let trie = trie_of(&["a.b"]);
        assert_eq!(matching(&trie, "a.b"), vec![SubId(0)]);
        assert!(matching(&trie, "a").is_empty());
        assert!(matching(&trie, "a.b.c").is_empty());
        assert!(matching(&trie, "a.c").is_empty());
    }

    #[test]
    fn star_matches_exactly_one_token() {
        let trie = trie_of(&["a.*", "*", "a.*.c"]);
        assert_eq!(matching(&trie, "a.b"), vec![SubId(0)]);
        assert_eq!(matching(&trie, "a"), vec![SubId(1)]);
        assert_eq!(matching(&trie, "a.x.c"), vec![SubId(2)]);
        assert!(matching(&trie, "a.b.d").is_empty());
        assert!(matching(&trie, "b.c").is_empty());
    }

    #[test]
    fn gt_needs_at_least_one_token() {
        let trie = trie_of(&["sensory.link_down.>", ">"]);
        assert_eq!(matching(&trie, "sensory.link_down"), vec![SubId(1)]);
        assert_eq!(
            matching(&trie, "sensory.link_down.snmp_trap.r1|Gi0/1"),
            vec![SubId(0), SubId(1)]
        );
        assert_eq!(
            matching(&trie, "sensory.link_down.x"),
            vec![SubId(0), SubId(1)]
        );
        assert_eq!(matching(&trie, "x"), vec![SubId(1)]);
    }

    #[test]
    fn gt_only_last_is_rejected() {
        assert!(Pattern::new("a.>.b").is_err());
        assert!(Pattern::new(">.a").is_err());
        // A wildcard must be a whole token.
        assert!(Pattern::new("a.b>").is_err());
        assert!(Pattern::new("a.*b").is_err());
        assert!(Pattern::new("a.*.>").is_ok());
    }

    #[test]
    fn star_and_gt_combine() {
        let trie = trie_of(&["entity.*.MarkDown.*", "entity.*.>"]);
        assert_eq!(
            matching(&trie, "entity.Link.MarkDown.l1"),
            vec![SubId(0), SubId(1)]
        );
        assert_eq!(matching(&trie, "entity.Link.MarkUp.l1"), vec![SubId(1)]);
        assert!(matching(&trie, "entity.Link").is_empty());
    }

    #[test]
    fn matches_are_ascending_whatever_the_insert_order() {
        let mut trie = SubscriptionTrie::new();
        trie.insert(&pattern("a.>"), SubId(7));
        trie.insert(&pattern("a.b"), SubId(3));
        trie.insert(&pattern("*.b"), SubId(5));
        trie.insert(&pattern(">"), SubId(1));
        assert_eq!(
            matching(&trie, "a.b"),
            vec![SubId(1), SubId(3), SubId(5), SubId(7)]
        );
    }

    #[test]
    fn matches_clears_out_first() {
        let trie = trie_of(&["a"]);
        let mut out = vec![SubId(99), SubId(98)];
        trie.matches(&subject("b"), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn duplicate_patterns_each_get_delivery() {
        let trie = trie_of(&["a.*", "a.*"]);
        assert_eq!(matching(&trie, "a.b"), vec![SubId(0), SubId(1)]);
    }

    #[test]
    fn reinserting_the_same_entry_is_a_no_op() {
        let mut trie = trie_of(&["a.*"]);
        trie.insert(&pattern("a.*"), SubId(0));
        assert_eq!(trie.len(), 1);
        assert_eq!(matching(&trie, "a.b"), vec![SubId(0)]);
    }

    #[test]
    fn one_id_under_two_matching_patterns_is_reported_once() {
        let mut trie = SubscriptionTrie::new();
        trie.insert(&pattern("a.*"), SubId(4));
        trie.insert(&pattern("a.>"), SubId(4));
        assert_eq!(matching(&trie, "a.b"), vec![SubId(4)]);
    }

    #[test]
    fn removed_entry_no_longer_matches() {
        let mut trie = trie_of(&["a.*", "a.>", "a.b"]);
        assert!(trie.remove(&pattern("a.>"), SubId(1)));
        assert_eq!(matching(&trie, "a.b"), vec![SubId(0), SubId(2)]);
        assert_eq!(trie.len(), 2);
    }

    #[test]
    fn removing_an_absent_entry_returns_false() {
        let mut trie = trie_of(&["a.*"]);
        assert!(!trie.remove(&pattern("a.*"), SubId(1)));
        assert!(!trie.remove(&pattern("a.b"), SubId(0)));
        assert!(!trie.remove(&pattern("a.>"), SubId(0)));
        assert!(!trie.remove(&pattern("*.*"), SubId(0)));
        assert_eq!(trie.len(), 1);
    }

    #[test]
    fn removing_everything_prunes_every_node() {
        let patterns = ["a.b.c", "a.*.c", "a.>", "*", ">", "a.b"];
        let mut trie = trie_of(&patterns);
        for (i, text) in patterns.iter().enumerate() {
            assert!(trie.remove(&pattern(text), SubId(i as u32)));
        }
        assert!(trie.is_empty());
        assert!(trie.root.is_empty(), "left behind: {:?}", trie.root);
    }

    // ---- properties ----

    /// A valid pattern: 1..5 tokens from {a, b, c, *}, the last one possibly turned into `>`.
    fn pattern_strategy() -> impl Strategy<Value = Pattern> {
        (
            prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "*"]), 1..5),
            any::<bool>(),
        )
            .prop_map(|(mut tokens, gt_last)| {
                if gt_last {
                    *tokens.last_mut().unwrap() = ">";
                }
                Pattern::new(tokens.join(".")).unwrap()
            })
    }

    fn subject_strategy() -> impl Strategy<Value = Subject> {
        prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 1..5)
            .prop_map(|tokens| Subject::new(tokens.join(".")).unwrap())
    }

    /// A trie of `patterns`, each subscribed with its index, and the entries it holds.
    fn trie_with(patterns: Vec<Pattern>) -> (SubscriptionTrie, Vec<(Pattern, SubId)>) {
        let mut trie = SubscriptionTrie::new();
        let entries: Vec<(Pattern, SubId)> = patterns
            .into_iter()
            .enumerate()
            .map(|(i, p)| (p, SubId(i as u32)))
            .collect();
        for (p, id) in &entries {
            trie.insert(p, *id);
        }
        (trie, entries)
    }

    /// The reference answer: scan every entry with `Pattern::matches`.
    fn reference(entries: &[(Pattern, SubId)], subject: &Subject) -> Vec<SubId> {
        let mut ids: Vec<SubId> = entries
            .iter()
            .filter(|(p, _)| p.matches(subject))
            .map(|(_, id)| *id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    proptest! {
        #[test]
        fn trie_agrees_with_the_reference_matcher(
            patterns in prop::collection::vec(pattern_strategy(), 1..20),
            subjects in prop::collection::vec(subject_strategy(), 1..8),
        ) {
            let (trie, entries) = trie_with(patterns);
            let mut out = Vec::new();
            for s in &subjects {
                trie.matches(s, &mut out);
                prop_assert_eq!(&out, &reference(&entries, s), "subject {}", s);
            }
        }

        /// Over tokens a, b, c (and d for "any other"), "may match one more" is exactly
        /// "some prefix.X matches": never `false` when something hears one of them.
        #[test]
        fn may_match_one_more_is_whether_some_last_token_is_heard(
            patterns in prop::collection::vec(pattern_strategy(), 0..12),
            prefix in prop::collection::vec(prop::sample::select(vec!["a", "b", "c"]), 1..4),
        ) {
            let (trie, entries) = trie_with(patterns);
            let prefix = prefix.join(".");
            let heard = ["a", "b", "c", "d"].iter().any(|last| {
                let subject = Subject::new(format!("{prefix}.{last}")).unwrap();
                !reference(&entries, &subject).is_empty()
            });
            prop_assert_eq!(trie.may_match_one_more(&prefix), heard, "prefix {}", prefix);
        }

        #[test]
        fn trie_agrees_with_the_reference_after_removals(
            patterns in prop::collection::vec((pattern_strategy(), any::<bool>()), 1..20),
            subjects in prop::collection::vec(subject_strategy(), 1..8),
        ) {
            let mut trie = SubscriptionTrie::new();
            let mut kept = Vec::new();
            let mut dropped = Vec::new();
            for (i, (p, drop)) in patterns.into_iter().enumerate() {
                let id = SubId(i as u32);
                trie.insert(&p, id);
                if drop { dropped.push((p, id)) } else { kept.push((p, id)) }
            }
            for (p, id) in &dropped {
                prop_assert!(trie.remove(p, *id));
            }
            prop_assert_eq!(trie.len(), kept.len());
            let mut out = Vec::new();
            for s in &subjects {
                trie.matches(s, &mut out);
                prop_assert_eq!(&out, &reference(&kept, s), "subject {}", s);
            }
        }

        #[test]
        fn subject_and_pattern_validation_agree_with_a_reference(text in text_strategy()) {
            prop_assert_eq!(Subject::new(text.as_str()).is_ok(), valid_subject(&text), "{:?}", text);
            prop_assert_eq!(Pattern::new(text.as_str()).is_ok(), valid_pattern(&text), "{:?}", text);
            // Every subject is also a literal pattern that matches exactly itself.
            if let Ok(s) = Subject::new(text.as_str()) {
                prop_assert!(Pattern::new(text.as_str()).unwrap().matches(&s));
            }
        }
    }

    /// Strings near the boundary of validity: half are raw characters (mostly invalid), half
    /// are tokens joined by dots (often valid), so both answers are well exercised.
    fn text_strategy() -> impl Strategy<Value = String> {
        let raw = prop::collection::vec(
            prop::sample::select(vec!['a', 'b', '.', '.', '*', '>', ' ', '\t', '\u{a0}']),
            0..10,
        )
        .prop_map(|chars| chars.into_iter().collect::<String>());
        let tokens = prop::collection::vec(
            prop::sample::select(vec!["a", "b", "*", ">", "", "a b", "a*", ">>", "b\u{a0}"]),
            1..5,
        )
        .prop_map(|tokens| tokens.join("."));
        prop_oneof![raw, tokens]
    }

    /// Independent reference for subjects, written as a character scan rather than by
    /// splitting: a token must be non-empty, so a dot may not start, end or follow a dot.
    fn valid_subject(text: &str) -> bool {
        let mut previous_was_dot = true; // the start behaves like a dot: no leading dot
        for c in text.chars() {
            if c.is_whitespace() || c == '*' || c == '>' {
                return false;
            }
            if c == '.' && previous_was_dot {
                return false;
            }
            previous_was_dot = c == '.';
        }
        !previous_was_dot // rejects "" and a trailing dot
    }

    /// Independent reference for patterns: a subject with some tokens replaced by `*`, and
    /// optionally a final `>`.
    fn valid_pattern(text: &str) -> bool {
        let body = match text.strip_suffix('>') {
            Some("") => return true, // ">" alone
            Some(rest) => match rest.strip_suffix('.') {
                Some(body) => body,
                None => return false, // `>` glued to a token, e.g. "a>"
            },
            None => text,
        };
        // Replace each whole-token `*` by a literal; what remains must be a valid subject.
        let literalized: Vec<&str> = body
            .split('.')
            .map(|token| if token == "*" { "x" } else { token })
            .collect();
        valid_subject(&literalized.join("."))
    }
}

//! The bus: who subscribed to what, and who must receive a given publication.
//!
//! A subscription is a [`Pattern`] and an optional tenant. [`Bus::route`] answers, for one
//! publication, which subscriptions receive it: those whose pattern matches the subject and
//! whose tenant is either unset or the publication's tenant, in subscription order.
//!
//! What it does not do, and why:
//! - **Delivery.** The bus only routes. The scheduler turns each routed subscription into a
//!   delivery of its own (fan-out: subscribers are independent, and a fault on one delivery
//!   leaves the others alone) and keeps each subscription's queue FIFO unless a fault
//!   reorders it. Keeping that out of here keeps the bus free of time and randomness.
//! - **History.** Routing happens once, at publish time, against the subscriptions that
//!   exist then, and nothing is retained. So a late subscriber sees no earlier events, as on
//!   NATS, without any bookkeeping for it.
//!
//! An example is the test `routing_reaches_every_matching_subscription_of_the_tenant` below.

// `bus::bus` is deliberate: one concept a file, and this file is the bus itself. The lint
// fires on the `mod bus;` line in `mod.rs`; an inner attribute here covers that item.
#![allow(clippy::module_inception)]

use crate::bus::{Pattern, SubscriptionTrie};
use crate::core::TenantId;
use crate::core::{SubId, Subject};
use serde::Serialize;

/// One subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub id: SubId,
    pub pattern: Pattern,
    /// `None` receives publications of every tenant; `Some(t)` only those of `t`.
    pub tenant: Option<TenantId>,
}

/// The set of live subscriptions and their index. See the module doc.
#[derive(Debug, Default)]
pub struct Bus {
    /// Indexed by `SubId.0`. Ids are dense and never reused, so a `Vec` gives O(1) lookups
    /// in `route`'s tenant filter; an unsubscribed slot becomes `None`.
    slots: Vec<Option<Subscription>>,
    trie: SubscriptionTrie,
    /// The number of `Some` slots.
    live: usize,
}

impl Bus {
    pub fn new() -> Bus {
        Bus::default()
    }

    /// Adds a subscription and returns its id: 0, 1, 2, ... in call order, never reused, so
    /// ascending ids are subscription order.
    pub fn subscribe(&mut self, pattern: Pattern, tenant: Option<TenantId>) -> SubId {
        let id = SubId(u32::try_from(self.slots.len()).expect("more than u32::MAX subscriptions"));
        self.trie.insert(&pattern, id);
        self.slots.push(Some(Subscription {
            id,
            pattern,
            tenant,
        }));
        self.live += 1;
        id
    }

    #[cfg(test)]
    /// Removes a subscription. Returns `false` if it does not exist (never did, or already
    /// removed). Publications routed before this call still reach it: they were routed then.
    pub fn unsubscribe(&mut self, id: SubId) -> bool {
        let Some(subscription) = self.slots.get_mut(id.0 as usize).and_then(Option::take) else {
            return false;
        };
        let removed = self.trie.remove(&subscription.pattern, id);
        assert!(removed, "{id} was live but missing from the trie");
        self.live -= 1;
        true
    }

    pub fn subscription(&self, id: SubId) -> Option<&Subscription> {
        self.slots.get(id.0 as usize).and_then(Option::as_ref)
    }

    #[cfg(test)]
    /// The live subscriptions, in id order.
    pub fn subscriptions(&self) -> impl Iterator<Item = &Subscription> {
        self.slots.iter().flatten()
    }

    #[cfg(test)]
    /// The number of live subscriptions.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Clears `out`, then fills it with the subscriptions that receive a publication on
    /// `subject` by `tenant`, ascending (= subscription order).
    ///
    /// The trie knows nothing of tenants; matching first and filtering in place keeps the
    /// index simple and costs one O(1) lookup per match, with no allocation beyond `out`.
    pub fn route(&self, tenant: &TenantId, subject: &Subject, out: &mut Vec<SubId>) {
        self.route_str(tenant.as_str(), subject.as_str(), out);
    }

    /// [`SubscriptionTrie::may_match_one_more`], of any tenant's subscriptions.
    pub fn may_hear_one_more(&self, prefix: &str) -> bool {
        self.trie.may_match_one_more(prefix)
    }

    /// [`Bus::route`] for a subject the caller knows is valid, as a `&str`: the simulator
    /// builds `entity.<Type>.<Action>.<id>` in a reused buffer and routes it without
    /// allocating.
    pub fn route_str(&self, tenant: &str, subject: &str, out: &mut Vec<SubId>) {
        self.trie.matches_str(subject, out);
        if out.is_empty() {
            // Most commits are heard by nobody.
            return;
        }
        out.retain(|id| {
            let subscription = self
                .subscription(*id)
                .expect("the trie holds only live subscriptions");
            subscription
                .tenant
                .as_ref()
                .is_none_or(|t| t.as_str() == tenant)
        });
        debug_assert!(out.windows(2).all(|w| w[0] < w[1]), "route not ascending");
    }
}

#[cfg(test)]
mod tests {

    /// The example of this module's documentation.
    #[test]
    fn routing_reaches_every_matching_subscription_of_the_tenant() {
        use crate::bus::{Bus, Pattern};
        use crate::core::Subject;
        use crate::core::TenantId;

        let mut bus = Bus::new();
        let all = bus.subscribe(Pattern::new("sensory.>").unwrap(), None);
        let shop = bus.subscribe(
            Pattern::new("sensory.*.*.*").unwrap(),
            Some(TenantId::new("shop")),
        );

        let mut out = Vec::new();
        let subject = Subject::new("sensory.link_down.snmp_trap.r1|Gi0/1").unwrap();
        bus.route(&TenantId::new("shop"), &subject, &mut out);
        assert_eq!(out, vec![all, shop]);
        bus.route(&TenantId::new("other"), &subject, &mut out);
        assert_eq!(out, vec![all]);
    }
    use super::*;

    fn pattern(text: &str) -> Pattern {
        Pattern::new(text).unwrap()
    }

    fn tenant(name: &str) -> TenantId {
        TenantId::new(name)
    }

    fn route(bus: &Bus, tenant_name: &str, subject: &str) -> Vec<SubId> {
        let mut out = Vec::new();
        bus.route(
            &tenant(tenant_name),
            &Subject::new(subject).unwrap(),
            &mut out,
        );
        out
    }

    #[test]
    fn subscribe_assigns_ids_in_order() {
        let mut bus = Bus::new();
        assert_eq!(bus.subscribe(pattern("a"), None), SubId(0));
        assert_eq!(bus.subscribe(pattern("b"), None), SubId(1));
        assert_eq!(bus.subscribe(pattern("a"), Some(tenant("t"))), SubId(2));
        assert_eq!(bus.len(), 3);
        let sub = bus.subscription(SubId(2)).unwrap();
        assert_eq!(sub.pattern, pattern("a"));
        assert_eq!(sub.tenant, Some(tenant("t")));
        assert!(bus.subscription(SubId(3)).is_none());
    }

    #[test]
    fn ids_are_not_reused_after_unsubscribe() {
        let mut bus = Bus::new();
        let first = bus.subscribe(pattern("a"), None);
        assert!(bus.unsubscribe(first));
        assert_eq!(bus.subscribe(pattern("a"), None), SubId(1));
    }

    #[test]
    fn tenant_filter_excludes_other_tenants() {
        let mut bus = Bus::new();
        let shop = bus.subscribe(pattern("entity.Order.>"), Some(tenant("shop")));
        let _bank = bus.subscribe(pattern("entity.Order.>"), Some(tenant("bank")));
        assert_eq!(route(&bus, "shop", "entity.Order.Confirm.o1"), vec![shop]);
        assert!(route(&bus, "zoo", "entity.Order.Confirm.o1").is_empty());
    }

    #[test]
    fn untenanted_subscription_receives_every_tenant() {
        let mut bus = Bus::new();
        let all = bus.subscribe(pattern("sensory.>"), None);
        assert_eq!(
            route(&bus, "shop", "sensory.link_down.snmp_poll.r1|Gi0/1"),
            vec![all]
        );
        assert_eq!(
            route(&bus, "bank", "sensory.bgp_drop.snmp_trap.r1|10.0.1.5"),
            vec![all]
        );
    }

    #[test]
    fn unsubscribed_pattern_no_longer_matches() {
        let mut bus = Bus::new();
        let gone = bus.subscribe(pattern("a.*"), None);
        let kept = bus.subscribe(pattern("a.>"), None);
        assert!(bus.unsubscribe(gone));
        assert_eq!(route(&bus, "t", "a.b"), vec![kept]);
        assert!(bus.subscription(gone).is_none());
        assert_eq!(bus.len(), 1);
    }

    #[test]
    fn unsubscribing_twice_or_an_unknown_id_returns_false() {
        let mut bus = Bus::new();
        let id = bus.subscribe(pattern("a"), None);
        assert!(bus.unsubscribe(id));
        assert!(!bus.unsubscribe(id));
        assert!(!bus.unsubscribe(SubId(42)));
        assert!(bus.is_empty());
    }

    #[test]
    fn duplicate_patterns_each_get_delivery() {
        let mut bus = Bus::new();
        let first = bus.subscribe(pattern("sensory.link_down.>"), None);
        let second = bus.subscribe(pattern("sensory.link_down.>"), None);
        assert_eq!(
            route(&bus, "t", "sensory.link_down.snmp_trap.r1|Gi0/1"),
            vec![first, second]
        );
    }

    #[test]
    fn overlapping_patterns_deliver_once_per_subscription() {
        let mut bus = Bus::new();
        let ids: Vec<SubId> = [
            "sensory.>",
            "sensory.link_down.>",
            "sensory.*.*.*",
            "*.link_down.*.*",
        ]
        .iter()
        .map(|p| bus.subscribe(pattern(p), None))
        .collect();
        assert_eq!(
            route(&bus, "t", "sensory.link_down.snmp_trap.r1|Gi0/1"),
            ids
        );
    }

    #[test]
    fn route_is_in_subscription_order() {
        let mut bus = Bus::new();
        // Subscribed in an order that differs from any trie walk order.
        let a = bus.subscribe(pattern("x.>"), Some(tenant("t")));
        let b = bus.subscribe(pattern("*.y"), None);
        let c = bus.subscribe(pattern("x.y"), None);
        let d = bus.subscribe(pattern(">"), Some(tenant("t")));
        assert_eq!(route(&bus, "t", "x.y"), vec![a, b, c, d]);
    }

    #[test]
    fn late_subscriber_sees_nothing_routed_before_it() {
        let mut bus = Bus::new();
        let early = bus.subscribe(pattern("a.>"), None);
        // A publication is routed when it is published; the result is what gets delivered.
        let routed_before = route(&bus, "t", "a.b");
        let late = bus.subscribe(pattern("a.>"), None);
        assert_eq!(routed_before, vec![early]);
        assert_eq!(route(&bus, "t", "a.b"), vec![early, late]);
    }

    #[test]
    fn subscriptions_iterate_live_ones_in_id_order() {
        let mut bus = Bus::new();
        let a = bus.subscribe(pattern("a"), None);
        let b = bus.subscribe(pattern("b"), None);
        let c = bus.subscribe(pattern("c"), None);
        bus.unsubscribe(b);
        let ids: Vec<SubId> = bus.subscriptions().map(|s| s.id).collect();
        assert_eq!(ids, vec![a, c]);
    }
}

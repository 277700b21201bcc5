//! Fault injection: the `[faults]` table, swarm configurations drawn from a seed, and the
//! per-message decisions.
//!
//! Every decision draws the same number of values from the seed's `Faults` stream whatever
//! the configuration (a fault that is off still rolls), so turning one fault on or off does
//! not reshuffle the others. With faults on, each reaction dispatch becomes a message of its
//! own, so concurrent cascades interleave.

use crate::core::{format_duration_ms, Purpose, RngStream, Seed};
use crate::core::{FaultKind, FaultTarget};
use crate::scenario::{FaultConfig, ScheduledFault};
use std::collections::BTreeMap;

impl FaultConfig {
    /// A configuration drawn from the seed, as TigerBeetle's VOPR and FoundationDB's BUGGIFY
    /// do: each fault is on or off by a coin flip, and its rate is drawn too. The same seed
    /// always draws the same configuration, so a failing swarm seed reproduces alone.
    pub fn swarm(seed: Seed) -> FaultConfig {
        let mut r = RngStream::new(seed, Purpose::Swarm);
        let mut rate = |lo: f64, hi: f64| {
            let on = r.chance(0.5);
            let x = lo + (hi - lo) * r.unit();
            if on {
                x
            } else {
                0.0
            }
        };
        let delay_p = rate(0.05, 0.6);
        let drop_p = rate(0.001, 0.05);
        let duplicate_p = rate(0.001, 0.05);
        let handler_panic_p = rate(0.001, 0.05);
        let action_failure_p = rate(0.001, 0.05);
        let reflex_restart_p = rate(0.001, 0.05);
        const DELAYS_MS: [u64; 6] = [1, 5, 20, 50, 200, 1000];
        let delay_ms_max = DELAYS_MS[r.below(DELAYS_MS.len() as u64) as usize];
        let reorder = r.chance(0.5);
        FaultConfig {
            delay_p,
            delay_ms_max,
            drop_p,
            duplicate_p,
            reorder,
            handler_panic_p,
            action_failure_p,
            reflex_restart_p,
        }
    }
}

/// What happens to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageFate {
    pub dropped: bool,
    pub duplicated: bool,
    pub delay_ms: u64,
}

/// Draws fault decisions from the seed's `Faults` stream.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub config: FaultConfig,
    rng: RngStream,
}

impl FaultPlan {
    pub fn new(config: FaultConfig, seed: Seed) -> FaultPlan {
        FaultPlan {
            config,
            rng: RngStream::new(seed, Purpose::Faults),
        }
    }

    /// The fate of one message (a bus delivery or a reaction). Always four draws.
    pub fn message(&mut self) -> MessageFate {
        let c = self.config;
        let dropped = self.rng.chance(c.drop_p);
        let duplicated = self.rng.chance(c.duplicate_p);
        let delayed = self.rng.chance(c.delay_p);
        let amount = self.rng.between(1, c.delay_ms_max.max(1));
        MessageFate {
            dropped,
            duplicated: duplicated && !dropped,
            delay_ms: if delayed && c.delay_ms_max > 0 {
                amount
            } else {
                0
            },
        }
    }

    /// The delay of a duplicate copy (drawn so the copy can land before or after).
    pub fn duplicate_delay_ms(&mut self) -> u64 {
        self.rng.between(0, self.config.delay_ms_max)
    }

    pub fn handler_panics(&mut self) -> bool {
        self.rng.chance(self.config.handler_panic_p)
    }

    pub fn reflex_restarts(&mut self) -> bool {
        self.rng.chance(self.config.reflex_restart_p)
    }

    pub fn action_fails(&mut self) -> bool {
        self.rng.chance(self.config.action_failure_p)
    }
}

/// Where fault decisions come from.
#[derive(Debug, Clone)]
pub enum FaultMode {
    /// Drawn from the seed at the configured rates.
    Random(Box<FaultPlan>),
    /// Exactly the listed faults, nothing else. Messages can overtake each other.
    Scheduled(Vec<ScheduledFault>),
}

/// The faults of one run. Occurrences of every message identity are counted in both modes,
/// so the faults a random run drew can be written down as an explicit schedule.
#[derive(Debug, Clone)]
pub struct Faults {
    pub mode: FaultMode,
    seen: BTreeMap<String, u32>,
    /// A schedule's faults by (identity key, occurrence): their places in the schedule, in
    /// order. A replay looks up each message here instead of scanning the whole schedule
    /// (which made replaying a long counterexample quadratic).
    index: BTreeMap<(String, u32), Vec<usize>>,
}

impl Faults {
    pub fn random(plan: FaultPlan) -> Faults {
        Faults {
            mode: FaultMode::Random(Box::new(plan)),
            seen: BTreeMap::new(),
            index: BTreeMap::new(),
        }
    }

    pub fn scheduled(faults: Vec<ScheduledFault>) -> Faults {
        let mut index: BTreeMap<(String, u32), Vec<usize>> = BTreeMap::new();
        for (i, f) in faults.iter().enumerate() {
            index.entry((f.on.key(), f.nth)).or_default().push(i);
        }
        Faults {
            mode: FaultMode::Scheduled(faults),
            seen: BTreeMap::new(),
            index,
        }
    }

    /// Delays may reorder messages on one channel.
    pub fn reorder(&self) -> bool {
        match &self.mode {
            FaultMode::Random(p) => p.config.reorder,
            FaultMode::Scheduled(_) => true,
        }
    }

    /// Counts one more occurrence of `on`; returns it (1-based) and the scheduled faults
    /// that hit it.
    fn occurrence(&mut self, on: &FaultTarget) -> (u32, Vec<ScheduledFault>) {
        let key = on.key();
        let n = match self.seen.get_mut(&key) {
            Some(seen) => {
                *seen += 1;
                *seen
            }
            None => {
                self.seen.insert(key.clone(), 1);
                1
            }
        };
        let hits = match &self.mode {
            FaultMode::Random(_) => Vec::new(),
            // Two identities may share a key (a `|` in a name): the bucket is compared whole.
            FaultMode::Scheduled(faults) => self
                .index
                .get(&(key, n))
                .map(|places| {
                    places
                        .iter()
                        .map(|&i| &faults[i])
                        .filter(|f| f.on == *on)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
        };
        (n, hits)
    }

    /// The reference: every scheduled fault compared with the occurrence.
    #[cfg(test)]
    fn occurrence_by_scan(
        faults: &[ScheduledFault],
        on: &FaultTarget,
        n: u32,
    ) -> Vec<ScheduledFault> {
        faults
            .iter()
            .filter(|f| f.nth == n && f.on == *on)
            .cloned()
            .collect()
    }

    /// The fate of one message, which occurrence of its identity it is, and the delay of a
    /// duplicate copy.
    pub fn message(&mut self, on: &FaultTarget) -> (u32, MessageFate, u64) {
        let (nth, hits) = self.occurrence(on);
        match &mut self.mode {
            FaultMode::Random(plan) => {
                let fate = plan.message();
                let dup = if fate.duplicated {
                    plan.duplicate_delay_ms()
                } else {
                    0
                };
                (nth, fate, dup)
            }
            FaultMode::Scheduled(_) => {
                let has = |k: FaultKind| hits.iter().find(|f| f.kind == k);
                let fate = MessageFate {
                    dropped: has(FaultKind::Drop).is_some(),
                    duplicated: has(FaultKind::Duplicate).is_some()
                        && has(FaultKind::Drop).is_none(),
                    delay_ms: has(FaultKind::Delay).map(|f| f.delay_ms).unwrap_or(0),
                };
                (
                    nth,
                    fate,
                    has(FaultKind::Duplicate).map(|f| f.delay_ms).unwrap_or(0),
                )
            }
        }
    }

    /// Whether an action failure hits `on`.
    pub fn action_fails(&mut self, on: &FaultTarget) -> (u32, bool) {
        let (nth, hits) = self.occurrence(on);
        let hit = match &mut self.mode {
            FaultMode::Random(plan) => plan.action_fails(),
            FaultMode::Scheduled(_) => hits.iter().any(|f| f.kind == FaultKind::ActionFailure),
        };
        (nth, hit)
    }

    /// Restart and crash decisions for one delivery to a handler (one occurrence).
    pub fn handler_faults(&mut self, on: &FaultTarget) -> (u32, bool, bool) {
        let (nth, hits) = self.occurrence(on);
        match &mut self.mode {
            FaultMode::Random(plan) => {
                let restart = plan.reflex_restarts();
                let panic = plan.handler_panics();
                (nth, restart, panic)
            }
            FaultMode::Scheduled(_) => (
                nth,
                hits.iter().any(|f| f.kind == FaultKind::ReflexRestart),
                hits.iter().any(|f| f.kind == FaultKind::HandlerPanic),
            ),
        }
    }

    /// A one-line description for reports.
    pub fn describe(&self) -> String {
        match &self.mode {
            FaultMode::Random(p) => p.config.to_string(),
            FaultMode::Scheduled(faults) => {
                let parts: Vec<String> = faults
                    .iter()
                    .map(|f| {
                        let delay = if f.delay_ms > 0 {
                            format!(" {}", format_duration_ms(f.delay_ms))
                        } else {
                            String::new()
                        };
                        format!("{}{delay} on #{} {}", f.kind.as_str(), f.nth, f.on)
                    })
                    .collect();
                format!(
                    "scheduled: {}",
                    if parts.is_empty() {
                        "none".to_string()
                    } else {
                        parts.join("; ")
                    }
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FaultConfig {
        FaultConfig {
            delay_p: 0.3,
            delay_ms_max: 50,
            drop_p: 0.1,
            duplicate_p: 0.05,
            reorder: true,
            handler_panic_p: 0.02,
            action_failure_p: 0.2,
            reflex_restart_p: 0.1,
        }
    }

    #[test]
    fn each_fault_fires_at_about_its_rate() {
        let mut plan = FaultPlan::new(config(), Seed(1));
        let n = 20_000;
        let fates: Vec<MessageFate> = (0..n).map(|_| plan.message()).collect();
        let rate = |k: usize| k as f64 / n as f64;
        let dropped = rate(fates.iter().filter(|f| f.dropped).count());
        let delayed = rate(fates.iter().filter(|f| f.delay_ms > 0).count());
        let duplicated = rate(fates.iter().filter(|f| f.duplicated).count());
        assert!((dropped - 0.1).abs() < 0.01, "drop {dropped}");
        assert!((delayed - 0.3).abs() < 0.015, "delay {delayed}");
        assert!(
            (duplicated - 0.05 * 0.9).abs() < 0.01,
            "duplicate {duplicated}"
        );
        assert!(fates.iter().all(|f| f.delay_ms <= 50));
        let fails = rate((0..n).filter(|_| plan.action_fails()).count());
        assert!((fails - 0.2).abs() < 0.015, "action_failure {fails}");
        let panics = rate((0..n).filter(|_| plan.handler_panics()).count());
        assert!((panics - 0.02).abs() < 0.005, "handler_panic {panics}");
        let restarts = rate((0..n).filter(|_| plan.reflex_restarts()).count());
        assert!((restarts - 0.1).abs() < 0.01, "reflex_restart {restarts}");
    }

    #[test]
    fn the_same_seed_gives_the_same_faults() {
        let mut a = FaultPlan::new(config(), Seed(9));
        let mut b = FaultPlan::new(config(), Seed(9));
        for _ in 0..1000 {
            assert_eq!(a.message(), b.message());
        }
        let mut c = FaultPlan::new(config(), Seed(10));
        let differ = (0..100).any(|_| a.message() != c.message());
        assert!(differ);
    }

    #[test]
    fn a_fault_that_is_off_never_fires_and_does_not_shift_the_others() {
        let mut on = config();
        on.drop_p = 0.0;
        let mut a = FaultPlan::new(on, Seed(4));
        let mut b = FaultPlan::new(config(), Seed(4));
        for _ in 0..1000 {
            let (x, y) = (a.message(), b.message());
            assert!(!x.dropped);
            assert_eq!(x.delay_ms, y.delay_ms, "delays line up draw for draw");
        }
    }

    #[test]
    fn swarm_configs_are_a_function_of_the_seed_and_vary_across_seeds() {
        assert_eq!(FaultConfig::swarm(Seed(3)), FaultConfig::swarm(Seed(3)));
        let distinct: std::collections::BTreeSet<String> = (0..50)
            .map(|s| FaultConfig::swarm(Seed(s)).to_string())
            .collect();
        assert!(distinct.len() > 40, "{}", distinct.len());
        // Over many seeds, each fault is sometimes on and sometimes off.
        let configs: Vec<FaultConfig> = (0..200).map(|s| FaultConfig::swarm(Seed(s))).collect();
        for (name, on) in [
            ("drop", configs.iter().filter(|c| c.drop_p > 0.0).count()),
            ("delay", configs.iter().filter(|c| c.delay_p > 0.0).count()),
            ("reorder", configs.iter().filter(|c| c.reorder).count()),
            (
                "action_failure",
                configs.iter().filter(|c| c.action_failure_p > 0.0).count(),
            ),
        ] {
            assert!((50..150).contains(&on), "{name} on in {on} of 200");
        }
    }

    proptest::proptest! {
        /// A schedule's faults found through the index are the ones a scan of the whole
        /// schedule finds, in schedule order, for every occurrence of every identity
        /// (identities whose keys collide included).
        #[test]
        fn the_schedule_index_finds_what_a_scan_finds(
            schedule in proptest::collection::vec((0usize..4, 1u32..4, 0usize..3), 0..20),
            messages in proptest::collection::vec(0usize..4, 0..40),
        ) {
            let targets = [
                FaultTarget::Reaction { rule: "a|b".into(), target: "c".into() },
                FaultTarget::Reaction { rule: "a".into(), target: "b|c".into() },
                FaultTarget::Delivery { subject: "s".into(), handler: "h".into() },
                FaultTarget::Action { target: "T/1".into(), action: "Go".into() },
            ];
            let kinds = [FaultKind::Drop, FaultKind::Duplicate, FaultKind::Delay];
            let faults: Vec<ScheduledFault> = schedule
                .iter()
                .map(|&(t, nth, k)| ScheduledFault {
                    kind: kinds[k],
                    on: targets[t].clone(),
                    nth,
                    delay_ms: 5,
                })
                .collect();
            let mut plan = Faults::scheduled(faults.clone());
            let mut counts = [0u32; 4];
            for &t in &messages {
                // The two colliding identities share one occurrence counter (one key), as
                // they always have.
                let shared = if t < 2 { counts[0] + counts[1] } else { counts[t] };
                counts[t] += 1;
                let (n, hits) = plan.occurrence(&targets[t]);
                proptest::prop_assert_eq!(n, shared + 1);
                proptest::prop_assert_eq!(hits, Faults::occurrence_by_scan(&faults, &targets[t], n));
            }
        }
    }
}

//! The cascade space of a small scenario: the state is the world (every entity, the pending
//! messages, what the reflexes remember) and each action delivers one pending message or
//! one root event, computed by the real engine (`Engine::dispatch`, `Engine::deliver`) and
//! the real reflex handlers.
//!
//! What may be delivered next depends on the scenario's mode, as in the simulator:
//! - Without `[faults]`, cascades run inline (atomic, depth-first). Root events that share a
//!   time are concurrent: every order is tried; each root's cascade and its bus deliveries
//!   (FIFO) settle before the next root.
//! - With `[faults]`, every reaction and bus delivery is a message. With delays on, any
//!   pending message may be delivered next (with `reorder = false`, only the oldest of its
//!   target entity or subscription), and a later root may overtake a pending message that
//!   could still be delayed that long (`delay.max` after the message was created). With
//!   drops or duplicates on, one message may be lost and one delivered twice.
//!
//! Properties: `depth_bound`, `tenant_isolation`, `valid_transition`, `cascade_truncated`
//! (unless the scenario allows truncation) on every transition's trace records, the
//! scenario's own `[[invariant]]`s in every settled state (`invariant`), end invariants and
//! `[[expect]]`s in quiescent states (`invariant_at_end`), all `always`; `quiescence`
//! (`eventually`). Terminal states are collected as they are reached, so that the checker
//! can report order dependence (two schedules, two different worlds).
//!
//! Integration answers (temper specs' `trigger`s) are pending messages too: delivering one
//! is a choice among the answers a run could pick (weight above 0), each its own branch
//! (`Step::Answer`); one may be lost when the scenario drops messages. An answer is
//! deliverable in any order with the other answers, after the scenario's other pending
//! messages of its instant, and a root may overtake it while the integration's longest
//! delay allows.
//!
//! Faults are choices: with `[faults]`, up to `faults_max` per path (`--faults-max`) of the
//! kinds it enables, each a branch: a message lost (`Drop`) or delivered twice
//! (`Duplicate`), a delivery or a root action whose first action fails (`Fail`,
//! `FailRoot`), a reflex that crashes on an event (`Panic`) or restarts and forgets what it
//! remembered (`Restart`). A `[[fault]]`
//! schedule (what `ripple shrink` writes) is followed exactly: the occurrences it names are
//! dropped, duplicated, failed, crashed or restarted, counted per path as the simulator
//! counts them; its delays are not, every order of the messages is explored instead.
//!
//! Partial-order reduction (`footprint.rs`) explores one order of independent deliveries;
//! `ModelConfig::reduce = false` explores them all. Generators must be expanded into root
//! events for a seed before a model is built (`run.rs` does, per seed).
//!
//! Not explored: exact message times (a message's creation time is taken as the latest
//! root's time, a lower bound, so long chains of delays, answers' included, are
//! under-approximated), fan-out order (subscription order).
//!
//! Answers under faults: a lost answer is `Drop`, a duplicated one `AnswerTwice` (the copy
//! is the chosen answer, a reaction), one whose action fails `FailAnswer`. An `[[answer]]`
//! pin makes its call's answer the only choice. A `[[fault]]` on an answer names it by the
//! answer's rule, counted at the call among that entity's calls with that answer; to count
//! as a run does, calls of one integration on one entity are then answered in call order,
//! and a search that had to leave another order out says so (`CascadeModel::unexplored`).

use crate::bus::{Bus, Cause, Envelope};
use crate::check::{
    CascadeTruncated, DepthBound, ExpectCheck, Invariant, RunEnd, TenantIsolation, ValidTransition,
};
use crate::core::Depth;
use crate::core::Origin;
use crate::core::SimTime;
use crate::core::{EntityId, LookupMap, TenantId};
use crate::core::{FaultKind, FaultTarget};
use crate::engine::reflex::ReflexRegistry;
use crate::engine::{ActionDispatch, Engine, Entity, Resolver, Store};
use crate::model::canonical::{hash_fields, json_text};
use crate::model::footprint::{conflict, looks_up, reducible, Analysis, Footprint};
use crate::model::host::{count_occurrence, ModelHost};
use crate::model::message::{envelope_eq, hash_envelope, Message, Pending};
use crate::scenario::temper::SpecAssert;
use crate::scenario::ScheduledFault;
use crate::scenario::{CheckAt, Input, ReflexKind, Scenario};
use crate::sim::{registries, rule_sets, runtime_rule_sets};
use foldhash::quality::FixedState;
use stateright::{Model, Property};
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

/// The first line of an outcome reached with integration answers.
pub const ANSWERS_PREFIX: &str = "answers: ";

/// Faults per path explored by default (`--faults-max`).
pub const FAULTS_MAX_DEFAULT: u8 = 1;

/// How a cascade model is explored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelConfig {
    /// Partial-order reduction (see `footprint.rs`); `false` explores every interleaving.
    pub reduce: bool,
    /// Faults (of the kinds `[faults]` enables) injected per path at most.
    pub faults_max: u8,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            reduce: true,
            faults_max: FAULTS_MAX_DEFAULT,
        }
    }
}

/// The fault kinds a scenario's `[faults]` enables (probability above 0): each is a choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FaultKinds {
    pub drop: bool,
    pub duplicate: bool,
    pub action_failure: bool,
    pub handler_panic: bool,
    pub reflex_restart: bool,
}

/// How messages may be scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No faults: inline cascades; only concurrent roots interleave.
    Inline,
    /// Faults: reactions are messages.
    Messages {
        delay: bool,
        reorder: bool,
        /// The longest delay: a message born at `t` has arrived by `t + delay_ms_max`, so a
        /// root event later than that cannot overtake it.
        delay_ms_max: u64,
    },
}

/// One world of the cascade model.
#[derive(Debug, Clone)]
pub struct CascadeState {
    pub store: Store,
    /// Root events delivered, as a place in the model's time order of them
    /// (`CascadeModel::roots_left`): every root before `roots_next` and those in
    /// `roots_taken` (sorted; roots of the earliest instant left, delivered in another order)
    /// are delivered. Constant in size: a crowd of 16,000 roots copied a 64 KB list of the
    /// roots left into every state.
    pub roots_next: u32,
    pub roots_taken: Vec<u32>,
    /// How many roots the model delivers in all (`roots_next` reaches it at the end).
    roots_end: u32,
    pub pending: Vec<Message>,
    /// When each pending message was created (the model's `now` then), in step.
    pub born: Vec<SimTime>,
    pub minted: u32,
    /// The time of the latest root delivered.
    pub now: SimTime,
    /// Faults injected on the way here (drops, duplicates, failures, panics, restarts).
    pub faults: u8,
    /// Deliveries to reflexes that keep memory (dedup windows), in order per subscription
    /// (sorted by subscription, so that deliveries to two reflexes commute): replayed into
    /// a fresh handler to rebuild its memory.
    pub memory: Vec<(u32, Arc<Envelope>, SimTime)>,
    /// The first violation of each property on the way here. Two states that broke the
    /// same properties are equal whatever the messages say (any one is a witness), so
    /// schedules that differ only in which violation came first meet again.
    /// Shared by a state's copies until a step adds one.
    pub violations: Arc<BTreeMap<String, String>>,
    /// With a `[[fault]]` schedule: occurrences so far of each identity it names.
    pub seen: Vec<(String, u32)>,
    /// The integration answers chosen on the way here, sorted (`Type/id name#n Answer`):
    /// the outside world's part of the inputs. Order dependence compares the worlds that
    /// the same inputs and answers reach.
    pub answers: Vec<String>,
    /// Integration calls so far, per (tenant, type, id, integration), sorted: the number of
    /// the next call (what an `[[answer]]` pin names and a run counts).
    pub calls: Vec<(String, u32)>,
    /// The store's part of `digest`: the wrapping sum of its entities' digests, so that a
    /// step updates it for the entities it dispatched on instead of rehashing the world.
    store_digest: u64,
    /// A digest of everything `Eq` compares, set by [`CascadeState::seal`] after every
    /// change: `Hash` feeds only this, so the checker's fingerprints (two per state with
    /// symmetry reduction) cost nothing.
    digest: u64,
}

/// The digests' hasher: foldhash's quality variant with a fixed seed (no random state), well
/// mixed, so that a sum of entity digests is a fair hash of the set.
fn digest_hasher() -> impl Hasher {
    FixedState::with_seed(0).build_hasher()
}

/// One entity's part of a store digest.
fn entity_digest(tenant: &str, entity_type: &str, id: &str, e: &Entity) -> u64 {
    let mut h = digest_hasher();
    tenant.hash(&mut h);
    entity_type.hash(&mut h);
    id.hash(&mut h);
    e.status.hash(&mut h);
    hash_fields(&e.fields, &mut h);
    h.finish()
}

/// An entity a step changed (or created): (tenant, type, id).
type Changed<'a> = (&'a TenantId, &'a str, &'a EntityId);

/// The entities `after`, the store `s.store` became in one step that dispatched actions on
/// `dispatched`, holds changed or new, sorted: only an entity an action was dispatched on
/// can have changed (the engine writes the store nowhere else).
fn changed_entities<'a>(
    s: &CascadeState,
    after: &Store,
    dispatched: &'a [(TenantId, String, EntityId)],
) -> Vec<Changed<'a>> {
    let mut touched: Vec<Changed<'a>> = dispatched
        .iter()
        .map(|(tenant, ty, id)| (tenant, ty.as_str(), id))
        .collect();
    touched.sort_unstable();
    touched.dedup();
    touched.retain(|(tenant, ty, id)| {
        let old = s.store.get_shared(tenant.as_str(), ty, id.as_str());
        let new = after.get_shared(tenant.as_str(), ty, id.as_str());
        !matches!((old, new), (Some(a), Some(b)) if Arc::ptr_eq(a, b))
    });
    touched
}

/// The digest of `after` from `s`'s, rehashing only the `changed` entities.
fn store_digest_after(s: &CascadeState, after: &Store, changed: &[Changed<'_>]) -> u64 {
    let mut sum = s.store_digest;
    for (tenant, ty, id) in changed {
        if let Some(e) = s.store.get(tenant.as_str(), ty, id.as_str()) {
            sum = sum.wrapping_sub(entity_digest(tenant.as_str(), ty, id.as_str(), e));
        }
        if let Some(e) = after.get(tenant.as_str(), ty, id.as_str()) {
            sum = sum.wrapping_add(entity_digest(tenant.as_str(), ty, id.as_str(), e));
        }
    }
    sum
}

/// A store's digest, from scratch.
fn store_digest(store: &Store) -> u64 {
    store.iter().fold(0u64, |sum, (tenant, ty, id, e)| {
        sum.wrapping_add(entity_digest(tenant.as_str(), ty, id.as_str(), e))
    })
}

/// The canonical order of a pending set, sorted whole (stable): what `step` places its new
/// messages into by binary search, kept as the reference that tests compare it with.
#[cfg(test)]
fn canonical_order_reference(
    pending: &[Message],
    born: &[SimTime],
) -> (Vec<Message>, Vec<SimTime>) {
    let mut order: Vec<usize> = (0..pending.len()).collect();
    order.sort_by(|&a, &b| {
        pending[a]
            .canonical_cmp(&pending[b])
            .then(born[a].cmp(&born[b]))
    });
    (
        order.iter().map(|&i| pending[i].clone()).collect(),
        order.iter().map(|&i| born[i]).collect(),
    )
}

impl CascadeState {
    /// An empty world before any root (of `roots_end`), unsealed.
    fn empty(roots_end: u32) -> CascadeState {
        CascadeState {
            store: Store::shared(),
            roots_next: 0,
            roots_taken: Vec::new(),
            roots_end,
            pending: Vec::new(),
            born: Vec::new(),
            minted: 0,
            now: SimTime::ZERO,
            faults: 0,
            memory: Vec::new(),
            violations: Arc::default(),
            seen: Vec::new(),
            answers: Vec::new(),
            calls: Vec::new(),
            store_digest: 0,
            digest: 0,
        }
    }

    pub fn is_quiescent(&self) -> bool {
        self.pending.is_empty() && self.roots_next == self.roots_end
    }
}

impl PartialEq for CascadeState {
    fn eq(&self, o: &CascadeState) -> bool {
        self.store == o.store
            && self.roots_next == o.roots_next
            && self.roots_taken == o.roots_taken
            && self.pending == o.pending
            && self.born == o.born
            && self.minted == o.minted
            && self.now == o.now
            && self.faults == o.faults
            && self.seen == o.seen
            && self.memory.len() == o.memory.len()
            && self
                .memory
                .iter()
                .zip(&o.memory)
                .all(|(a, b)| a.0 == b.0 && a.2 == b.2 && envelope_eq(&a.1, &b.1))
            && self.violations.keys().eq(o.violations.keys())
            && self.answers == o.answers
            && self.calls == o.calls
    }
}

impl Eq for CascadeState {}

impl CascadeState {
    /// Recomputes `digest` from `store_digest` and the rest of the state; every change to a
    /// state ends with it.
    pub(crate) fn seal(&mut self) {
        let mut h = digest_hasher();
        self.hash_store(&mut h, self.store.len(), self.store_digest);
        self.hash_rest(&mut h);
        self.digest = h.finish();
    }

    /// The store's part of the digest, for a store of `len` entities whose digest is
    /// `store_digest` and whose minted ids are this state's.
    fn hash_store<H: Hasher>(&self, h: &mut H, len: usize, store_digest: u64) {
        len.hash(h);
        store_digest.hash(h);
        // What create rules minted, per source: empty unless an event names an entity by
        // `created_by` (small then: one entry per creation).
        for (key, ids) in self.store.created() {
            key.hash(h);
            ids.hash(h);
        }
    }

    /// [`CascadeState::seal`] after the store was replaced wholesale.
    pub(crate) fn seal_store(&mut self) {
        self.store_digest = store_digest(&self.store);
        self.seal();
    }

    /// Everything but the store, as `Eq` compares it.
    fn hash_rest<H: Hasher>(&self, state: &mut H) {
        self.hash_rest_with(
            state,
            self.roots_next,
            &self.roots_taken,
            self.pending.iter().zip(self.born.iter().copied()),
            self.pending.len(),
            self.now,
        );
    }

    /// [`CascadeState::hash_rest`] of this state with the roots delivered
    /// (`roots_next`, `roots_taken`), the pending messages (with their births: `len` of
    /// them) and `now` replaced: what a step that changes only these (and the store) leads
    /// to (see [`CascadeModel::digest_ahead`]).
    fn hash_rest_with<'m, H: Hasher>(
        &self,
        state: &mut H,
        roots_next: u32,
        roots_taken: &[u32],
        pending: impl Iterator<Item = (&'m Message, SimTime)> + Clone,
        len: usize,
        now: SimTime,
    ) {
        roots_next.hash(state);
        roots_taken.hash(state);
        // As `Vec`s hash: the length, then each element.
        len.hash(state);
        pending.clone().for_each(|(m, _)| m.hash(state));
        len.hash(state);
        pending.for_each(|(_, born)| born.hash(state));
        self.minted.hash(state);
        now.hash(state);
        self.faults.hash(state);
        self.seen.hash(state);
        self.memory.len().hash(state);
        for (sub, e, at) in &self.memory {
            sub.hash(state);
            hash_envelope(e, state);
            at.hash(state);
        }
        self.violations.len().hash(state);
        self.violations.keys().for_each(|k| k.hash(state));
        self.answers.hash(state);
        self.calls.hash(state);
    }

    /// What `Hash` feeds.
    #[cfg(test)]
    pub(crate) fn digest(&self) -> u64 {
        self.digest
    }

    /// The digest computed from scratch: what `digest` must always be.
    #[cfg(test)]
    pub(crate) fn digest_reference(&self) -> u64 {
        let mut fresh = self.clone();
        fresh.seal_store();
        fresh.digest
    }
}

impl Hash for CascadeState {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.digest.hash(state);
    }
}

/// One step of the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Deliver pending message `i`.
    Deliver(u16),
    /// Deliver root event `r`.
    Root(u32),
    /// Lose pending message `i`.
    Drop(u16),
    /// Deliver pending message `i` and keep a copy pending.
    Duplicate(u16),
    /// Deliver pending integration call `i` with its answer `k`.
    Answer(u16, u16),
    /// Deliver pending integration call `i` with its answer `k`, and keep a copy of that
    /// answer pending (a duplicated answer).
    AnswerTwice(u16, u16),
    /// Deliver pending integration call `i` with its answer `k`, whose action fails.
    FailAnswer(u16, u16),
    /// Deliver pending message `i`; the first action it applies fails (an injected fault).
    Fail(u16),
    /// Deliver pending bus event `i` to a reflex that crashes on it.
    Panic(u16),
    /// Restart the reflex of pending bus event `i` (its memory is lost), then deliver.
    Restart(u16),
    /// Deliver root event `r`, an action whose first application fails (an injected
    /// fault, as `Fail` is for a message).
    FailRoot(u32),
}

impl Step {
    /// The pending message the step delivers or loses, if any.
    pub fn message(self) -> Option<usize> {
        match self {
            Step::Root(_) | Step::FailRoot(_) => None,
            Step::Deliver(i)
            | Step::Drop(i)
            | Step::Duplicate(i)
            | Step::Answer(i, _)
            | Step::AnswerTwice(i, _)
            | Step::FailAnswer(i, _)
            | Step::Fail(i)
            | Step::Panic(i)
            | Step::Restart(i) => Some(i as usize),
        }
    }

    /// Whether the step injects a fault.
    pub fn is_fault(self) -> bool {
        matches!(
            self,
            Step::Drop(_)
                | Step::Duplicate(_)
                | Step::AnswerTwice(..)
                | Step::FailAnswer(..)
                | Step::Fail(_)
                | Step::Panic(_)
                | Step::Restart(_)
                | Step::FailRoot(_)
        )
    }
}

/// A reflex subscription: its tenant, its `[[reflex]]` entry and whether it remembers.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub spec: usize,
    pub handler: String,
    pub remembers: bool,
}

/// What a worker thread needs to compute a transition: an engine (its store swapped in
/// and out) and the record invariants.
struct Worker {
    engine: Engine,
    invariants: Vec<Box<dyn Invariant>>,
    /// What cached steps did (see [`CacheKey`]), when the model caches.
    cache: LookupMap<CacheKey, Effect>,
}

/// Entries the transition cache holds at most: past it, new steps are computed and not kept.
/// An entry is about 170 bytes in the table, plus the messages it created; the cache is held
/// by the search's thread, so it counts toward `--memory-max`. The unreduced `race_crowd`
/// needs 240 entries; with every fault kind on, 57,000 (at 1 << 17 its whole check's peak
/// RSS grew by 40 %, at 1 << 14 by 12 %, for the same speed).
const CACHE_MAX: usize = 1 << 14;

/// A step the transition cache answers: a root event, or the delivery of a deferred reaction
/// (named by its digest; the entry keeps the reaction, compared in full on a hit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Cached {
    Root(u32),
    Reaction(u64),
}

/// The transition cache's key: in a model whose steps read nothing of the world but the
/// entity they act on ([`CascadeModel::caches`]), a step's result is a function of the step,
/// the model's time and that entity. The entity is named by the address of its `Arc` (0:
/// absent): the entry holds that `Arc`, so the address is not reused while the entry lives,
/// and what an `Arc` in a store holds never changes (a write goes through `Arc::make_mut`,
/// which copies a shared one). Two equal entities behind two `Arc`s are two keys (a miss, not
/// a wrong answer); an entity a hit installs is the entry's own `Arc`, so the states one
/// entry made meet the next entry again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CacheKey {
    step: Cached,
    now: SimTime,
    target: usize,
}

/// What a cached step did to a state: everything `step` takes from the engine's run.
struct Effect {
    /// The reaction delivered (for `Cached::Reaction`, whose key has its digest only).
    message: Option<Arc<Pending>>,
    /// The target before the step: held, never read, so that its address (in the key)
    /// stays its own.
    #[allow(dead_code)]
    before: Option<Arc<Entity>>,
    /// The target after the step, when the step replaced it.
    after: Option<Arc<Entity>>,
    created: Vec<Message>,
    /// `created` in canonical order (stable): where they go among the pending messages.
    created_order: Vec<usize>,
    found: Vec<(&'static str, String)>,
    dispatches: u64,
    /// What the store's digest gained (wrapping).
    digest: u64,
    /// The settled-state check of the bindings the step changed, when it reads nothing but
    /// the target ([`CascadeModel::verdict_local`]): what `step_violation` says after it.
    verdict: Option<Option<String>>,
}

/// The look-ahead of a search ([`CascadeModel::search_ahead`]): the digests of the states
/// this model handed the checker, on the one thread that looks ahead.
#[derive(Default)]
struct Ahead {
    owner: Option<std::thread::ThreadId>,
    seen: LookupMap<u64, ()>,
    /// Scratch for a root step's `roots_taken`.
    roots: Vec<u32>,
}

/// The pending messages (and births) a step leaves: `pending` less `removed`, with each of
/// `created` (born `now`) placed before the message at its index.
#[derive(Clone)]
struct Merged<'a> {
    pending: &'a [Message],
    born: &'a [SimTime],
    removed: Option<usize>,
    created: &'a [(usize, &'a Message)],
    now: SimTime,
    j: usize,
    k: usize,
}

impl<'a> Iterator for Merged<'a> {
    type Item = (&'a Message, SimTime);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(&(at, m)) = self.created.get(self.k) {
                if at <= self.j {
                    self.k += 1;
                    return Some((m, self.now));
                }
            }
            let j = self.j;
            if j >= self.pending.len() {
                return None;
            }
            self.j += 1;
            if Some(j) != self.removed {
                return Some((&self.pending[j], self.born[j]));
            }
        }
    }
}

/// What the engine's run of one step left besides the state: the messages it created (in
/// creation order), what the record invariants found, the entities it dispatched on.
struct Ran {
    created: Vec<Message>,
    found: Vec<(&'static str, String)>,
    dispatched: Vec<(TenantId, String, EntityId)>,
    dispatches: u64,
    records: Vec<crate::core::Record>,
}

pub struct CascadeModel {
    pub scenario: Arc<Scenario>,
    pub mode: Mode,
    pub config: ModelConfig,
    /// The fault kinds explored as choices, up to `config.faults_max` per path.
    pub kinds: FaultKinds,
    /// An explicit `[[fault]]` schedule, followed exactly (empty: none).
    pub schedule: Vec<ScheduledFault>,
    pub bus: Bus,
    pub subscribers: Vec<Subscriber>,
    /// Handler id per subscription (fault identities name handlers).
    pub handlers: Vec<String>,
    template: Engine,
    pool: Mutex<Vec<Worker>>,
    /// Terminal worlds reached (canonical text -> a state that reached it).
    pub outcomes: Mutex<BTreeMap<String, CascadeState>>,
    /// Second pass: find a path to this terminal world.
    pub target: Option<String>,
    analysis: Analysis,
    /// Per root event: what its step and everything it may cause touch (static, so built
    /// once: `persistent` looks at every root left in every state).
    root_footprints: Vec<Arc<Footprint>>,
    /// Per `[[invariant]]`: the entity types it reads through a literal id, or every type
    /// it reads when it has no variable (a change to one re-checks every binding).
    invariant_globals: Vec<Vec<String>>,
    /// Bytes the search's thread may hold before no state is expanded further
    /// ([`CascadeModel::with_memory_max`]; unbounded by default).
    memory_max: u64,
    /// Set when the search ran out of memory: the model is then incomplete.
    memory_hit: std::sync::atomic::AtomicBool,
    /// The `[[fault]]` schedule names an integration's answer: calls of one integration on
    /// one entity are answered in call order (see `answer_in_call_order`).
    answer_order: bool,
    /// Set when that order left a choice out: the model is then incomplete.
    answers_reordered: std::sync::atomic::AtomicBool,
    /// Whether a rule can mint ids (`create`): without one, symmetry reduction has nothing
    /// to rename.
    mints: bool,
    /// Each root event's time, side by side: `enabled` and `persistent` read every root
    /// left's time in every state, and a crowd has thousands.
    root_times: Vec<SimTime>,
    /// The roots a run reaches (at or before `until`: a run's time budget ends it before
    /// any later input), by (time, index): the order `CascadeState::roots_next` counts in.
    root_order: Vec<u32>,
    /// Whether roots and reaction deliveries go through the transition cache ([`CacheKey`]):
    /// with messages (nothing runs inline), no `[[fault]]` schedule (its occurrence counts
    /// are path state), no minted ids and no guard that looks up another entity, such a
    /// step reads only the entity it acts on, its own message and the time.
    caches: bool,
    /// Steps the transition cache answered (each also computed by the engine, under test,
    /// and compared).
    #[cfg(test)]
    pub(crate) cache_hits: std::sync::atomic::AtomicUsize,
    /// Whether [`CascadeModel::digest_ahead`] may say what a cached step leads to: with
    /// delays (every state is settled), no spec invariants (they read the whole world).
    ahead_ok: bool,
    /// On during a search that asked for it ([`CascadeModel::search_ahead`]).
    ahead_on: std::sync::atomic::AtomicBool,
    ahead: Mutex<Ahead>,
    /// What `next_state` returns for a successor the checker has generated already: only
    /// its digest counts.
    hollow: CascadeState,
    /// Successors recognised as known before they were built.
    #[cfg(test)]
    pub(crate) hollow_count: std::sync::atomic::AtomicUsize,
}

impl CascadeModel {
    /// `Err` says why the scenario is not checked as a cascade. Generators must have been
    /// expanded into root events (for one seed) first.
    pub fn new(scenario: Arc<Scenario>, config: ModelConfig) -> Result<CascadeModel, String> {
        if !scenario.generators.is_empty() {
            return Err("the scenario has generators: expand them for a seed first".into());
        }
        if scenario.events.len() > u32::MAX as usize / 2 {
            return Err(format!("{} root events", scenario.events.len()));
        }
        let (mode, kinds) = match &scenario.faults {
            // An explicit `[[fault]]` schedule: reactions are messages that may overtake
            // each other (the model explores every order, not only the listed one); its
            // drops, duplicates, failures, crashes and restarts hit exactly the occurrences
            // it names.
            None if scenario.schedule.is_some() => (
                Mode::Messages {
                    delay: true,
                    reorder: true,
                    delay_ms_max: u64::MAX,
                },
                FaultKinds::default(),
            ),
            None => (Mode::Inline, FaultKinds::default()),
            Some(f) => (
                Mode::Messages {
                    delay: f.delay_p > 0.0,
                    reorder: f.reorder,
                    delay_ms_max: f.delay_ms_max,
                },
                FaultKinds {
                    drop: f.drop_p > 0.0,
                    duplicate: f.duplicate_p > 0.0,
                    action_failure: f.action_failure_p > 0.0,
                    handler_panic: f.handler_panic_p > 0.0,
                    reflex_restart: f.reflex_restart_p > 0.0,
                },
            ),
        };
        let schedule = match (&scenario.faults, &scenario.schedule) {
            (None, Some(list)) => list.clone(),
            _ => Vec::new(),
        };
        if let Some(r) = scenario
            .reflexes
            .iter()
            .find(|r| matches!(r.kind, ReflexKind::Process { .. }))
        {
            return Err(format!(
                "reflex {:?} runs as a child process: the model checker explores only what Ripple's own engine computes; sweep seeds with `ripple sweep` instead",
                r.id
            ));
        }
        let rules = rule_sets(&scenario)?;
        let mut template = Engine::with_runtime_rules(
            scenario.entities.clone(),
            rules,
            runtime_rule_sets(&scenario)?,
            scenario.depth_max,
        );
        if scenario.names_created_entities() {
            template.track_created();
        }
        // Subscriptions exactly as the simulator's world makes them.
        let mut bus = Bus::new();
        let mut subscribers = Vec::new();
        registries(&scenario, None, |tenant, i, index, registry| {
            let handler = registry.handler(index);
            bus.subscribe(handler.pattern().clone(), Some(tenant.clone()));
            subscribers.push(Subscriber {
                spec: i,
                handler: handler.id().to_string(),
                remembers: !matches!(scenario.reflexes[i].kind, ReflexKind::Declarative { .. }),
            });
        })?;
        let handlers = subscribers.iter().map(|s| s.handler.clone()).collect();
        let patterns = (0..subscribers.len())
            .map(|i| {
                let sub = bus
                    .subscription(crate::core::SubId(i as u32))
                    .expect("subscriptions are dense");
                (
                    sub.tenant.clone(),
                    sub.pattern.tokens().map(String::from).collect(),
                )
            })
            .collect();
        let analysis = Analysis::new(&scenario, &subscribers, patterns);
        let invariant_globals = scenario
            .invariants
            .iter()
            .map(|spec| {
                let p = &spec.invariant.predicate;
                match p.variable() {
                    Some(_) => p.literal_types(),
                    None => p.entity_types(),
                }
            })
            .collect();
        let mut route = Vec::new();
        let root_footprints = scenario
            .events
            .iter()
            .map(|e| {
                let routes: Vec<u32> = match &e.input {
                    Input::Publish { subject, .. } => {
                        bus.route(&e.tenant, subject, &mut route);
                        route.iter().map(|s| s.0).collect()
                    }
                    Input::Dispatch { .. } => Vec::new(),
                };
                analysis.root(e, &routes)
            })
            .collect();
        let mints = scenario
            .rules
            .values()
            .chain(scenario.runtime_rules.values())
            .flatten()
            .any(|rule| matches!(rule.resolve_target, Resolver::Create));
        let root_times: Vec<SimTime> = scenario.events.iter().map(|e| e.at).collect();
        let mut root_order: Vec<u32> = (0..scenario.events.len() as u32)
            .filter(|&r| root_times[r as usize] <= scenario.until)
            .collect();
        root_order.sort_by_key(|&r| (root_times[r as usize], r));
        let answer_rules: Vec<&str> = scenario
            .integrations
            .iter()
            .flat_map(|i| i.answers.iter().map(|a| a.rule.name.as_str()))
            .collect();
        let answer_order = schedule.iter().any(|f| {
            matches!(&f.on, FaultTarget::Reaction { rule, .. } if answer_rules.contains(&rule.as_str()))
        });
        // An integration call's number is path state (the calls before it on the path).
        let caches = !matches!(mode, Mode::Inline)
            && schedule.is_empty()
            && scenario.integrations.is_empty()
            && !mints
            && !scenario.names_created_entities()
            && !scenario
                .rules
                .values()
                .chain(scenario.runtime_rules.values())
                .flatten()
                .any(|rule| rule.when.guard.as_ref().is_some_and(looks_up));
        let ahead_ok = caches
            && matches!(mode, Mode::Messages { delay: true, .. })
            && scenario.spec_invariants.is_empty();
        let hollow = CascadeState::empty(0);
        Ok(CascadeModel {
            answer_order,
            answers_reordered: std::sync::atomic::AtomicBool::new(false),
            caches,
            #[cfg(test)]
            cache_hits: Default::default(),
            ahead_ok,
            ahead_on: Default::default(),
            ahead: Default::default(),
            hollow,
            #[cfg(test)]
            hollow_count: Default::default(),
            mints,
            root_times,
            root_order,
            scenario,
            mode,
            config,
            kinds,
            schedule,
            bus,
            subscribers,
            handlers,
            template,
            pool: Mutex::new(Vec::new()),
            outcomes: Mutex::new(BTreeMap::new()),
            target: None,
            analysis,
            root_footprints,
            invariant_globals,
            memory_max: u64::MAX,
            memory_hit: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The same model with a memory budget: once the thread searching it holds more than
    /// `bytes` (the allocator's count: visited states, pending states, terminal worlds), no
    /// state is expanded further and [`CascadeModel::memory_ran_out`] says so.
    pub fn with_memory_max(mut self, bytes: u64) -> CascadeModel {
        self.memory_max = bytes;
        self
    }

    /// The memory budget, when the search ran out of it.
    pub fn memory_ran_out(&self) -> Option<u64> {
        self.memory_hit
            .load(std::sync::atomic::Ordering::Relaxed)
            .then_some(self.memory_max)
    }

    /// Whether a step can mint an id (a rule resolves its target with `create`): if not,
    /// every state is its own symmetry representative.
    pub fn mints(&self) -> bool {
        self.mints
    }

    /// The same model, searching for a path to `target`, within the same memory budget.
    pub fn with_target(&self, target: String) -> CascadeModel {
        let mut model =
            CascadeModel::new(self.scenario.clone(), self.config).expect("built once already");
        model.target = Some(target);
        model.memory_max = self.memory_max;
        model
    }

    fn worker(&self) -> Worker {
        if let Some(w) = self.pool.lock().expect("pool").pop() {
            return w;
        }
        let s = &self.scenario;
        Worker {
            engine: self.template.clone(),
            invariants: {
                let mut list: Vec<Box<dyn Invariant>> = vec![
                    Box::new(DepthBound {
                        depth_max: s.depth_max,
                    }),
                    Box::new(TenantIsolation::of(s).indexed()),
                    Box::new(ValidTransition::of(s).indexed()),
                ];
                // History asserts of the specs keep memory (which states an entity was in)
                // that a model state does not carry: `no_further_transitions` needs none,
                // `ordering` is checked by runs only.
                list.extend(
                    s.spec_invariants
                        .iter()
                        .filter(|i| matches!(i.assert, SpecAssert::NoFurtherTransitions))
                        .filter_map(|i| i.transitions())
                        .map(|c| Box::new(c) as Box<dyn Invariant>),
                );
                list
            },
            cache: LookupMap::default(),
        }
    }

    fn root_at(&self, r: u32) -> SimTime {
        self.root_times[r as usize]
    }

    /// Root events after `until`: a run never reaches them, and the model leaves them out.
    pub fn roots_past_until(&self) -> usize {
        self.scenario.events.len() - self.root_order.len()
    }

    /// The root events `s` has not delivered, by (time, index): those of the earliest
    /// instant left first, in index order.
    pub fn roots_left<'a>(&'a self, s: &'a CascadeState) -> impl Iterator<Item = u32> + 'a {
        self.root_order[s.roots_next as usize..]
            .iter()
            .copied()
            .filter(|r| s.roots_taken.binary_search(r).is_err())
    }

    /// Marks root `r` (one of the earliest instant left) delivered in `s`.
    fn take_root(&self, s: &mut CascadeState, r: u32) {
        self.take_root_in(&mut s.roots_next, &mut s.roots_taken, r);
    }

    /// [`CascadeModel::take_root`] on a state's `roots_next` and `roots_taken`.
    fn take_root_in(&self, roots_next: &mut u32, roots_taken: &mut Vec<u32>, r: u32) {
        if let Err(at) = roots_taken.binary_search(&r) {
            roots_taken.insert(at, r);
        }
        while let Some(&next) = self.root_order.get(*roots_next as usize) {
            match roots_taken.binary_search(&next) {
                Ok(at) => {
                    roots_taken.remove(at);
                    *roots_next += 1;
                }
                Err(_) => break,
            }
        }
    }

    /// Messages that may be delivered (or dropped, or duplicated) next.
    pub fn deliverable(&self, s: &CascadeState) -> Vec<usize> {
        let mut list = self.deliverable_in_mode(s);
        if self.answer_order {
            self.answer_in_call_order(s, &mut list);
        }
        list
    }

    /// With a `[[fault]]` schedule that names an answer: only the first pending call of
    /// each integration on each entity may be answered. A run counts an answer's
    /// occurrence at its call, under the rule of the answer drawn; answering calls of one
    /// entity out of order would leave that count open until the earlier call's answer is
    /// chosen. Calls of one integration on one entity rarely overlap (an agent waits for
    /// its answer); when they do, the orders left out make the model incomplete
    /// ([`CascadeModel::unexplored`]), never a pass.
    fn answer_in_call_order(&self, s: &CascadeState, list: &mut Vec<usize>) {
        let earlier_call = |i: usize| {
            let Message::Answer {
                integration,
                tenant,
                id,
                call,
            } = &s.pending[i]
            else {
                return false;
            };
            s.pending.iter().any(|m| {
                matches!(m, Message::Answer { integration: i2, tenant: t2, id: id2, call: c2 }
                    if i2.name == integration.name && t2 == tenant && id2 == id && c2 < call)
            })
        };
        let before = list.len();
        list.retain(|&i| !earlier_call(i));
        if list.len() < before {
            self.answers_reordered
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// What a run's runtime could leave out of the search's space, whatever the budgets:
    /// `Some(why)` makes a finished search incomplete.
    pub fn unexplored(&self) -> Option<String> {
        self.answers_reordered
            .load(std::sync::atomic::Ordering::Relaxed)
            .then(|| "two calls of one integration on one entity were waiting for answers at once, and the `[[fault]]` schedule names an integration's answer: the checker answers such calls in call order only (a run counts an answer's occurrence at its call); `ripple run` follows the schedule".to_string())
    }

    fn deliverable_in_mode(&self, s: &CascadeState) -> Vec<usize> {
        let answer = |m: &Message| matches!(m, Message::Answer { .. });
        match self.mode {
            Mode::Inline | Mode::Messages { delay: false, .. } => {
                // FIFO, except that integration answers come after the rest of their
                // instant and in any order among themselves (each has its own delay).
                match s.pending.iter().position(|m| !answer(m)) {
                    Some(first) => vec![first],
                    None => (0..s.pending.len()).collect(),
                }
            }
            Mode::Messages {
                delay: true,
                reorder: true,
                ..
            } => (0..s.pending.len()).collect(),
            Mode::Messages {
                delay: true,
                reorder: false,
                ..
            } => (0..s.pending.len())
                .filter(|&i| {
                    let c = s.pending[i].channel();
                    !s.pending[..i].iter().any(|m| m.channel() == c)
                })
                .collect(),
        }
    }

    pub(crate) fn delays(&self) -> bool {
        matches!(self.mode, Mode::Messages { delay: true, .. })
    }

    /// The transition for `step`, and the messages it created (in creation order; with a
    /// `[[fault]]` schedule, before its drops and duplicates apply).
    pub fn transition(&self, s: &CascadeState, step: Step) -> (CascadeState, Vec<Message>) {
        let (next, created, _) = self.step(s, step, false);
        (next, created)
    }

    /// [`CascadeModel::transition`], with the trace records the step wrote.
    pub fn transition_with_records(
        &self,
        s: &CascadeState,
        step: Step,
    ) -> (CascadeState, Vec<Message>, Vec<crate::core::Record>) {
        self.step(s, step, true)
    }

    /// The transition; with `keep_records`, the trace records too (owned).
    fn step(
        &self,
        s: &CascadeState,
        step: Step,
        keep_records: bool,
    ) -> (CascadeState, Vec<Message>, Vec<crate::core::Record>) {
        let mut next = s.clone();
        let mut worker = self.worker();
        let mut delivered = None;
        if step.is_fault() {
            next.faults += 1;
        }
        match step {
            Step::Root(r) | Step::FailRoot(r) => {
                self.take_root(&mut next, r);
                next.now = next.now.max(self.root_at(r));
            }
            Step::Deliver(i) | Step::Fail(i) | Step::Panic(i) | Step::Restart(i) => {
                next.born.remove(i as usize);
                delivered = Some(next.pending.remove(i as usize));
            }
            Step::Drop(i) => {
                next.born.remove(i as usize);
                next.pending.remove(i as usize);
            }
            Step::Duplicate(i) => {
                let born = next.born.remove(i as usize);
                let m = next.pending.remove(i as usize);
                next.pending.push(m.as_copy());
                next.born.push(born);
                delivered = Some(m);
            }
            Step::Answer(i, k) | Step::AnswerTwice(i, k) | Step::FailAnswer(i, k) => {
                next.born.remove(i as usize);
                let call = next.pending.remove(i as usize);
                let Message::Answer {
                    integration, id, ..
                } = &call
                else {
                    panic!("an answer step names a pending integration call");
                };
                let label = format!("{}/{id} {}#", integration.entity_type, integration.name);
                let n = next
                    .answers
                    .iter()
                    .filter(|a| a.starts_with(&label))
                    .count()
                    + 1;
                next.answers.push(format!(
                    "{label}{n} {}",
                    integration.answers[k as usize].action
                ));
                next.answers.sort();
                let answer = self.answer_message(&call, k as usize);
                // A `[[fault]]` schedule names an answer by its rule, counted at the call:
                // calls of one integration on one entity are answered in call order when
                // it names one (see `answer_order`), so this count is the run's.
                let (lost, twice) = if self.schedule.is_empty() {
                    (false, matches!(step, Step::AnswerTwice(..)))
                } else {
                    self.answer_fate(&mut next.seen, &call, k as usize)
                };
                if twice {
                    next.pending.push(answer.as_copy());
                    next.born.push(next.now);
                }
                if !lost {
                    delivered = Some(answer);
                }
            }
        }
        // The transition cache (see `CacheKey`): the step, the time and the entity it acts on.
        let target = match (self.caches && !keep_records, step, &delivered) {
            (true, Step::Root(r), _) => match &self.scenario.events[r as usize].input {
                Input::Dispatch {
                    entity_type,
                    id,
                    created_by: None,
                    ..
                } => Some((
                    Cached::Root(r),
                    Some((
                        &self.scenario.events[r as usize].tenant,
                        entity_type.as_str(),
                        id,
                    )),
                )),
                Input::Dispatch { .. } => None,
                Input::Publish { .. } => Some((Cached::Root(r), None)),
            },
            (true, Step::Deliver(_), Some(Message::Reaction(p))) => Some((
                Cached::Reaction(p.digest()),
                Some((
                    &p.dispatch.tenant,
                    p.dispatch.entity_type.as_str(),
                    &p.dispatch.id,
                )),
            )),
            _ => None,
        };
        let cached = target.map(|(what, on)| {
            let before = on.and_then(|(t, ty, id)| s.store.get_shared(t.as_str(), ty, id.as_str()));
            let key = CacheKey {
                step: what,
                now: next.now,
                target: before.map_or(0, |e| Arc::as_ptr(e) as usize),
            };
            (key, on, before)
        });
        // Under test, every cacheable step is computed by the engine too: the reference.
        #[cfg(test)]
        let reference = cached.as_ref().map(|_| {
            let mut again = next.clone();
            let ran = self.run_engine(&mut worker, &mut again, step, delivered.as_ref(), false);
            (again, ran)
        });
        let hit = cached.as_ref().and_then(|(key, _, _)| {
            let e = worker.cache.get(key)?;
            match (&e.message, &delivered) {
                (None, _) => Some(e),
                (Some(m), Some(Message::Reaction(p))) if Arc::ptr_eq(m, p) || **m == **p => Some(e),
                _ => None,
            }
        });
        let mut hit_changed: Option<Vec<Changed<'_>>> = None;
        let mut ran = if let Some(e) = hit {
            let (_, on, _) = cached.as_ref().expect("a hit has a key");
            let mut changed = Vec::new();
            if let (Some(after), Some((t, ty, id))) = (&e.after, on) {
                next.store.insert_shared(t, ty, id.as_str(), after.clone());
                changed.push((*t, *ty, *id));
            }
            next.store_digest = s.store_digest.wrapping_add(e.digest);
            hit_changed = Some(changed);
            #[cfg(test)]
            self.cache_hits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ran {
                created: e.created.clone(),
                found: e.found.clone(),
                dispatched: Vec::new(),
                dispatches: e.dispatches,
                records: Vec::new(),
            }
        } else {
            self.run_engine(
                &mut worker,
                &mut next,
                step,
                delivered.as_ref(),
                keep_records,
            )
        };
        let was_hit = hit_changed.is_some();
        let changed = match hit_changed {
            Some(changed) => changed,
            None => {
                let changed = changed_entities(s, &next.store, &ran.dispatched);
                next.store_digest = store_digest_after(s, &next.store, &changed);
                if let Some((key, on, before)) = &cached {
                    self.remember(
                        &mut worker,
                        *key,
                        *on,
                        *before,
                        &next,
                        s,
                        &changed,
                        &ran,
                        &delivered,
                    );
                }
                changed
            }
        };
        #[cfg(test)]
        if let (true, Some((again, r))) = (was_hit, &reference) {
            assert!(
                again.store == next.store,
                "a cached step's store is the engine's"
            );
            assert_eq!(again.minted, next.minted);
            assert_eq!(
                r.created, ran.created,
                "a cached step creates what the engine does"
            );
            assert_eq!(r.found, ran.found);
            assert_eq!(r.dispatches, ran.dispatches);
            let engine_changed = changed_entities(s, &again.store, &r.dispatched);
            let names = |c: &[Changed<'_>]| -> Vec<(String, String, String)> {
                c.iter()
                    .map(|(t, ty, id)| (t.to_string(), ty.to_string(), id.to_string()))
                    .collect()
            };
            assert_eq!(names(&engine_changed), names(&changed));
            assert_eq!(
                store_digest_after(s, &again.store, &engine_changed),
                next.store_digest
            );
        }
        #[cfg(not(test))]
        let _ = was_hit;
        self.pool.lock().expect("pool").push(worker);
        let created = std::mem::take(&mut ran.created);
        if self.schedule.is_empty() {
            next.pending.extend(created.iter().cloned());
            next.born.extend(created.iter().map(|_| next.now));
        } else {
            // A message the schedule drops never becomes pending; one it duplicates is
            // pending twice (the second a copy).
            for m in &created {
                // An integration call's fate is its chosen answer's (`answer_fate`).
                let (drop, duplicate) = match m {
                    Message::Answer { .. } => (false, false),
                    _ => self.scheduled_fate(&mut next.seen, m),
                };
                if drop {
                    continue;
                }
                if duplicate {
                    next.pending.push(m.as_copy());
                    next.born.push(next.now);
                }
                next.pending.push(m.clone());
                next.born.push(next.now);
            }
        }
        if ran.dispatches >= self.scenario.cascade_dispatches_max
            && !next.violations.contains_key("budget")
        {
            Arc::make_mut(&mut next.violations).insert("budget".to_string(), format!(
                    "one step dispatched {} actions (cascade_dispatches_max) and was cut there: a reaction fan-out; check the rules that fire on one action, or raise cascade_dispatches_max in [scenario]",
                    ran.dispatches
                ));
        }
        for (name, message) in std::mem::take(&mut ran.found) {
            if !next.violations.contains_key(name) {
                Arc::make_mut(&mut next.violations).insert(name.to_string(), message);
            }
        }
        let records = std::mem::take(&mut ran.records);
        // An instant is settled when nothing else is due at once: with delays, any state
        // (the rest was delayed); otherwise, when nothing is pending.
        // Integration answers are due later (each after its delay), so they do not keep
        // an instant open.
        if self.delays()
            || next
                .pending
                .iter()
                .all(|m| matches!(m, Message::Answer { .. }))
        {
            // Only the first violation is kept. With delays every state is checked, so a
            // state that got here clean held everywhere: only bindings that read an entity
            // this step changed can break now (the first store, empty, is never checked).
            if !next.violations.contains_key("invariant") {
                let only = (self.delays() && !s.store.is_empty()).then_some(&changed[..]);
                if let Some(message) = self.step_violation(&next.store, only) {
                    Arc::make_mut(&mut next.violations).insert("invariant".into(), message);
                }
            }
        }
        if matches!(
            self.mode,
            Mode::Messages {
                delay: true,
                reorder: true,
                ..
            }
        ) {
            // Order carries no meaning: one canonical order per set. What `s` had pending
            // is in that order already (this branch put it there), less the message this
            // step took: only what the step appended is placed, by binary search.
            let sorted = s.pending.len() - usize::from(step.message().is_some());
            #[cfg(test)]
            let reference = canonical_order_reference(&next.pending, &next.born);
            for k in sorted..next.pending.len() {
                // After every message not greater than it (a stable sort's place).
                let (m, born) = (&next.pending[k], next.born[k]);
                let (mut at, mut end) = (0, k);
                while at < end {
                    let mid = at + (end - at) / 2;
                    let order = next.pending[mid]
                        .canonical_cmp(m)
                        .then(next.born[mid].cmp(&born));
                    if order == std::cmp::Ordering::Greater {
                        end = mid;
                    } else {
                        at = mid + 1;
                    }
                }
                next.pending[at..=k].rotate_right(1);
                next.born[at..=k].rotate_right(1);
            }
            #[cfg(test)]
            assert!(
                (&next.pending, &next.born) == (&reference.0, &reference.1),
                "the canonical order of pending messages is the reference sort's"
            );
        }
        next.seal();
        (next, created, records)
    }

    /// Whether the settled-state check of a step that changed only entity (`tenant`, `ty`,
    /// some id) reads nothing but that entity: no spec invariant (each reads the world), and
    /// every step invariant of the tenant either ignores the type or binds it alone, with
    /// no literal id.
    fn verdict_local(&self, tenant: &TenantId, ty: &str) -> bool {
        self.scenario.spec_invariants.is_empty()
            && self
                .scenario
                .invariants
                .iter()
                .enumerate()
                .all(|(k, spec)| {
                    if spec.at != CheckAt::Step || spec.tenant.as_ref().is_some_and(|t| t != tenant)
                    {
                        return true;
                    }
                    let p = &spec.invariant.predicate;
                    if self.invariant_globals[k].iter().any(|g| g == ty) {
                        return false;
                    }
                    p.variable().is_none()
                        || !p.bound_types().iter().any(|b| b == ty)
                        || (p.bound_types().len() == 1 && p.literal_types().is_empty())
                })
    }

    /// A search of this model (stateright's depth-first checker without symmetry, or its
    /// breadth-first one: each fingerprints a successor and looks it up among the states
    /// generated right after `next_state` returns it) that recognises a known successor
    /// before building it: `next_state` works out the digest of a step the transition cache knows, and when
    /// the search has generated that digest already it returns a hollow state with that
    /// digest alone (the checker counts it and drops it, as it does a built one). Only the
    /// first thread that calls `next_state` looks ahead, among the states it returned
    /// itself, each of which the checker fingerprinted before its next call. Off again with
    /// [`CascadeModel::searched`], before paths are rebuilt.
    pub fn search_ahead(self) -> CascadeModel {
        self.ahead_on
            .store(self.ahead_ok, std::sync::atomic::Ordering::Relaxed);
        self
    }

    /// The search is over: `next_state` builds every state again.
    pub fn searched(&self) {
        self.ahead_on
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// `next_state` with the look-ahead on.
    fn step_ahead(&self, s: &CascadeState, step: Step) -> CascadeState {
        let mut ahead = self.ahead.lock().expect("ahead");
        let me = std::thread::current().id();
        if *ahead.owner.get_or_insert(me) != me {
            drop(ahead);
            return self.transition(s, step).0;
        }
        let known = self.digest_ahead(s, step, &mut ahead.roots);
        if let Some(d) = known {
            if ahead.seen.get(&d).is_some() {
                #[cfg(test)]
                {
                    let next = self.transition(s, step).0;
                    assert_eq!(
                        next.digest, d,
                        "a digest worked out ahead is the built state's"
                    );
                    self.hollow_count
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                let mut hollow = self.hollow.clone();
                hollow.digest = d;
                return hollow;
            }
        }
        let next = self.transition(s, step).0;
        if let Some(d) = known {
            assert_eq!(
                next.digest, d,
                "a digest worked out ahead is the built state's"
            );
        }
        ahead.seen.insert(next.digest, ());
        next
    }

    /// The digest of the state `step` leads to from `s`, worked out without building it,
    /// when the transition cache knows the step and the step adds no violation; `None`:
    /// build it to know. `roots` is scratch.
    fn digest_ahead(&self, s: &CascadeState, step: Step, roots: &mut Vec<u32>) -> Option<u64> {
        if s.store.is_empty() {
            return None;
        }
        let (what, on, removed, now) = match step {
            Step::Root(r) => {
                let event = &self.scenario.events[r as usize];
                let on = match &event.input {
                    Input::Dispatch {
                        entity_type,
                        id,
                        created_by: None,
                        ..
                    } => Some((&event.tenant, entity_type.as_str(), id)),
                    Input::Dispatch { .. } => return None,
                    Input::Publish { .. } => None,
                };
                (Cached::Root(r), on, None, s.now.max(self.root_at(r)))
            }
            Step::Deliver(i) => match &s.pending[i as usize] {
                Message::Reaction(p) => (
                    Cached::Reaction(p.digest()),
                    Some((
                        &p.dispatch.tenant,
                        p.dispatch.entity_type.as_str(),
                        &p.dispatch.id,
                    )),
                    Some(i as usize),
                    s.now,
                ),
                _ => return None,
            },
            _ => return None,
        };
        let before = on.and_then(|(t, ty, id)| s.store.get_shared(t.as_str(), ty, id.as_str()));
        let key = CacheKey {
            step: what,
            now,
            target: before.map_or(0, |e| Arc::as_ptr(e) as usize),
        };
        let worker = self.worker();
        let known = self.digest_with(s, &worker, key, before, removed, now, roots);
        self.pool.lock().expect("pool").push(worker);
        known
    }

    /// [`CascadeModel::digest_ahead`] with the cache entry's key worked out.
    #[allow(clippy::too_many_arguments)]
    fn digest_with(
        &self,
        s: &CascadeState,
        worker: &Worker,
        key: CacheKey,
        before: Option<&Arc<Entity>>,
        removed: Option<usize>,
        now: SimTime,
        roots: &mut Vec<u32>,
    ) -> Option<u64> {
        let e = worker.cache.get(&key)?;
        if let (Some(m), Some(i)) = (&e.message, removed) {
            match &s.pending[i] {
                Message::Reaction(p) if Arc::ptr_eq(m, p) || **m == **p => {}
                _ => return None,
            }
        }
        // Nothing new among the violations: the budget, the record invariants' findings and
        // the settled-state check (with delays every state is settled).
        if e.dispatches >= self.scenario.cascade_dispatches_max
            && !s.violations.contains_key("budget")
        {
            return None;
        }
        if e.found
            .iter()
            .any(|(name, _)| !s.violations.contains_key(*name))
        {
            return None;
        }
        if !s.violations.contains_key("invariant") && !matches!(e.verdict, Some(None)) {
            return None;
        }
        let mut h = digest_hasher();
        let len = s.store.len() + usize::from(before.is_none() && e.after.is_some());
        s.hash_store(&mut h, len, s.store_digest.wrapping_add(e.digest));
        let (roots_next, roots_taken): (u32, &[u32]) = match key.step {
            Cached::Root(r) => {
                roots.clear();
                roots.extend_from_slice(&s.roots_taken);
                let mut next = s.roots_next;
                self.take_root_in(&mut next, roots, r);
                (next, roots.as_slice())
            }
            Cached::Reaction(_) => (s.roots_next, s.roots_taken.as_slice()),
        };
        // The pending messages after the step: `s`'s less the one delivered, with the
        // created ones placed as `step` places them (canonical order: after every message
        // not greater; without reordering, appended in creation order).
        let reorder = matches!(self.mode, Mode::Messages { reorder: true, .. });
        let place = |m: &Message| -> usize {
            if !reorder {
                return s.pending.len();
            }
            let (mut at, mut end) = (0, s.pending.len());
            while at < end {
                let mid = at + (end - at) / 2;
                let order = s.pending[mid].canonical_cmp(m).then(s.born[mid].cmp(&now));
                if order == std::cmp::Ordering::Greater {
                    end = mid;
                } else {
                    at = mid + 1;
                }
            }
            at
        };
        let mut created: Vec<(usize, &Message)> = Vec::with_capacity(e.created.len());
        if reorder {
            created.extend(
                e.created_order
                    .iter()
                    .map(|&k| (place(&e.created[k]), &e.created[k])),
            );
        } else {
            created.extend(e.created.iter().map(|m| (s.pending.len(), m)));
        }
        let merged = Merged {
            pending: &s.pending,
            born: &s.born,
            removed,
            created: &created,
            now,
            j: 0,
            k: 0,
        };
        let len = s.pending.len() - usize::from(removed.is_some()) + created.len();
        s.hash_rest_with(&mut h, roots_next, roots_taken, merged, len, now);
        Some(h.finish())
    }

    /// Runs step `step`'s root or `delivered` message through the engine on `next` (whose
    /// pending messages, time and faults the step has updated already): the store, `minted`,
    /// `seen` and a reflex's memory change in `next`; the rest is returned.
    fn run_engine(
        &self,
        worker: &mut Worker,
        next: &mut CascadeState,
        step: Step,
        delivered: Option<&Message>,
        keep_records: bool,
    ) -> Ran {
        let messages = !matches!(self.mode, Mode::Inline);
        let Worker {
            engine, invariants, ..
        } = worker;
        *engine.store_mut() = std::mem::take(&mut next.store);
        let mut host = ModelHost::new(next.now, messages, next.minted, &self.bus, invariants);
        host.keep_records = keep_records;
        host.truncated = (!self.scenario.allow_truncation)
            .then(|| CascadeTruncated::new(self.scenario.depth_max));
        host.dispatches_max = self.scenario.cascade_dispatches_max;
        host.fail = matches!(
            step,
            Step::Fail(_) | Step::FailRoot(_) | Step::FailAnswer(..)
        );
        host.calls = std::mem::take(&mut next.calls);
        if !self.schedule.is_empty() {
            host.schedule = Some((&self.schedule, std::mem::take(&mut next.seen)));
        }
        if let Step::Root(r) | Step::FailRoot(r) = step {
            self.root(engine, &mut host, r);
        }
        if let Some(m) = delivered {
            match m {
                Message::Reaction(p) => engine.deliver(&mut host, p),
                Message::Delivery { sub, event, .. } => {
                    self.reflex(engine, &mut host, next, *sub, event.clone(), step)
                }
                Message::Answer { .. } => {
                    panic!("an integration call is delivered with its answer (Step::Answer)")
                }
            }
        }
        assert!(
            self.mints || host.minted == next.minted,
            "a model that mints no ids minted one"
        );
        next.minted = host.minted;
        next.calls = std::mem::take(&mut host.calls);
        if let Some((_, seen)) = host.schedule.take() {
            next.seen = seen;
        }
        let ran = Ran {
            created: std::mem::take(&mut host.created),
            found: std::mem::take(&mut host.found),
            dispatches: host.dispatches,
            dispatched: host.dispatched,
            records: host.records,
        };
        next.store = std::mem::take(engine.store_mut());
        ran
    }

    /// Keeps what a cacheable step did (see [`CacheKey`]), when it changed nothing but its
    /// target and the cache has room.
    #[allow(clippy::too_many_arguments)]
    fn remember(
        &self,
        worker: &mut Worker,
        key: CacheKey,
        on: Option<Changed<'_>>,
        before: Option<&Arc<Entity>>,
        next: &CascadeState,
        s: &CascadeState,
        changed: &[Changed<'_>],
        ran: &Ran,
        delivered: &Option<Message>,
    ) {
        if worker.cache.len() >= CACHE_MAX {
            return;
        }
        let after = on.and_then(|(t, ty, id)| next.store.get_shared(t.as_str(), ty, id.as_str()));
        let replaced = match (before, after) {
            (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
            (None, Some(_)) => true,
            (Some(_), None) => return,
            (None, None) => false,
        };
        let only_target = match (replaced, changed, on) {
            (false, [], _) => true,
            (true, [c], Some(t)) => *c == t,
            _ => false,
        };
        if !only_target {
            return;
        }
        let message = match delivered {
            Some(Message::Reaction(p)) => Some(p.clone()),
            _ => None,
        };
        let mut created_order: Vec<usize> = (0..ran.created.len()).collect();
        created_order.sort_by(|&a, &b| ran.created[a].canonical_cmp(&ran.created[b]));
        let verdict = on
            .is_none_or(|(t, ty, _)| self.verdict_local(t, ty))
            .then(|| self.step_violation(&next.store, Some(changed)));
        worker.cache.insert(
            key,
            Effect {
                message,
                before: before.cloned(),
                after: if replaced { after.cloned() } else { None },
                created: ran.created.clone(),
                created_order,
                found: ran.found.clone(),
                dispatches: ran.dispatches,
                digest: next.store_digest.wrapping_sub(s.store_digest),
                verdict,
            },
        );
    }

    /// Counts one more occurrence of `m`'s identity; whether the schedule drops or
    /// duplicates that occurrence.
    pub(crate) fn scheduled_fate(
        &self,
        seen: &mut Vec<(String, u32)>,
        m: &Message,
    ) -> (bool, bool) {
        self.fate(seen, m.identity(&self.handlers))
    }

    /// Counts one more occurrence of `on`; whether the schedule drops or duplicates it.
    fn fate(&self, seen: &mut Vec<(String, u32)>, on: FaultTarget) -> (bool, bool) {
        let nth = count_occurrence(&self.schedule, seen, &on);
        let hit = |k: FaultKind| {
            self.schedule
                .iter()
                .any(|f| f.kind == k && f.nth == nth && f.on == on)
        };
        let drop = hit(FaultKind::Drop);
        (drop, !drop && hit(FaultKind::Duplicate))
    }

    /// Integration call `call`'s answer `k`, as the reaction message it becomes.
    pub(crate) fn answer_message(&self, call: &Message, k: usize) -> Message {
        let Message::Answer {
            integration,
            tenant,
            id,
            ..
        } = call
        else {
            unreachable!("only an integration call has answers")
        };
        Message::Reaction(Pending::new(integration.answer(k, tenant, id.as_str(), 0)))
    }

    /// Counts one more occurrence of integration call `call` answered with `k`; whether the
    /// schedule drops or duplicates that answer.
    pub(crate) fn answer_fate(
        &self,
        seen: &mut Vec<(String, u32)>,
        call: &Message,
        k: usize,
    ) -> (bool, bool) {
        self.fate(seen, call.answer_identity(k))
    }

    fn root(&self, engine: &mut Engine, host: &mut ModelHost, r: u32) {
        let event = &self.scenario.events[r as usize];
        match &event.input {
            Input::Publish { subject, payload } => host.publish(
                &event.tenant,
                subject.clone(),
                payload.clone(),
                Depth(0),
                Cause::Root { event: r },
            ),
            Input::Dispatch { id, .. } => {
                let created = match event.created_target(r, engine.store()) {
                    Ok(created) => created,
                    Err(message) => {
                        crate::engine::Host::record(
                            host,
                            crate::core::Record::Warning {
                                at: host.now,
                                cause: 0,
                                message,
                            },
                        );
                        return;
                    }
                };
                let id = created.as_ref().unwrap_or(id).as_str();
                // A failed root action is recorded by the engine; the model goes on. Borrowed,
                // as the simulator dispatches its roots: nothing is copied per state.
                let d = event.dispatch(r, 0, id).expect("an action input");
                let _ = engine.dispatch_ref(host, d);
            }
        }
    }

    /// A delivery to a reflex: a fresh handler, its memory rebuilt from the deliveries it
    /// saw, handles the event; an action it asks for is dispatched. `Step::Restart` loses
    /// the memory first; `Step::Panic` crashes the handler (an `errored` outcome, nothing
    /// remembered, nothing dispatched), as the simulator's faults do.
    fn reflex(
        &self,
        engine: &mut Engine,
        host: &mut ModelHost,
        next: &mut CascadeState,
        sub: u32,
        event: Arc<Envelope>,
        step: Step,
    ) {
        let subscriber = &self.subscribers[sub as usize];
        let (mut restart, mut panic) = (
            matches!(step, Step::Restart(_)),
            matches!(step, Step::Panic(_)),
        );
        if let Some((schedule, seen)) = host.schedule.as_mut() {
            let on = FaultTarget::Handler {
                handler: subscriber.handler.clone(),
                subject: event.subject.to_string(),
            };
            let nth = count_occurrence(schedule, seen, &on);
            let hit = |k: FaultKind| {
                schedule
                    .iter()
                    .any(|f| f.kind == k && f.nth == nth && f.on == on)
            };
            restart |= hit(FaultKind::ReflexRestart);
            panic |= hit(FaultKind::HandlerPanic);
        }
        if restart {
            next.memory.retain(|(s, _, _)| *s != sub);
        }
        let mut registry = ReflexRegistry::new();
        let index = registry
            .register(self.scenario.reflexes[subscriber.spec].instantiate())
            .expect("an empty registry takes one handler");
        if subscriber.remembers && !panic {
            for (s, e, at) in &next.memory {
                if *s == sub {
                    let _ = registry.handle(index, e, *at, false);
                }
            }
            // Sorted by subscription, in delivery order within one.
            let at = next.memory.partition_point(|(s, _, _)| *s <= sub);
            next.memory.insert(at, (sub, event.clone(), host.now));
        }
        let Some(output) = registry.handle(index, &event, host.now, panic) else {
            return;
        };
        for req in output.dispatch {
            let _ = engine.dispatch(
                host,
                ActionDispatch {
                    tenant: event.tenant.clone(),
                    source_tenant: event.tenant.clone(),
                    entity_type: req.entity_type,
                    id: req.id,
                    action: req.action,
                    params: req.params,
                    depth: Depth(event.depth.0 + 1),
                    origin: Origin::Reflex {
                        handler: subscriber.handler.clone(),
                        event: event.id,
                    },
                    cause: 0,
                },
            );
        }
    }

    /// [`CascadeModel::invariant_violation`] at `CheckAt::Step`; with `only`, the user
    /// invariants are checked for the bindings that read a changed entity only (every other
    /// binding is known to hold): the same first violation, found without walking the world.
    fn step_violation(&self, store: &Store, only: Option<&[Changed<'_>]>) -> Option<String> {
        let Some(changed) = only else {
            return self.invariant_violation(store, CheckAt::Step);
        };
        let mut ids: Vec<&str> = Vec::new();
        for (k, spec) in self.scenario.invariants.iter().enumerate() {
            if spec.at != CheckAt::Step {
                continue;
            }
            let p = &spec.invariant.predicate;
            for tenant in &self.scenario.tenants {
                if spec.tenant.as_ref().is_some_and(|t| t != tenant) {
                    continue;
                }
                let here = changed.iter().filter(|(t, _, _)| *t == tenant);
                let found = if here
                    .clone()
                    .any(|(_, ty, _)| self.invariant_globals[k].iter().any(|g| g == ty))
                {
                    spec.invariant.check(store, tenant.as_str())
                } else if p.variable().is_none() {
                    None
                } else {
                    ids.clear();
                    ids.extend(
                        here.filter(|(_, ty, _)| p.bound_types().iter().any(|b| b == ty))
                            .map(|(_, _, id)| id.as_str()),
                    );
                    ids.sort_unstable();
                    ids.dedup();
                    spec.invariant.check_among(store, tenant.as_str(), &ids)
                };
                if let Some(message) = found {
                    return Some(format!(
                        "{}: {message} (tenant {tenant})",
                        spec.invariant.name
                    ));
                }
            }
        }
        for spec in &self.scenario.spec_invariants {
            for tenant in &self.scenario.tenants {
                if let Some(message) = spec.check(store, tenant.as_str()) {
                    return Some(format!("{}: {message} (tenant {tenant})", spec.name));
                }
            }
        }
        None
    }

    /// The first violated `[[invariant]]` checked at `at`, as `name: message`. (A run
    /// also checks step invariants at the end; here every quiescent state is settled, so
    /// `transition` has checked them already.)
    pub fn invariant_violation(&self, store: &Store, at: CheckAt) -> Option<String> {
        for spec in &self.scenario.invariants {
            if spec.at != at {
                continue;
            }
            for tenant in &self.scenario.tenants {
                if spec.tenant.as_ref().is_some_and(|t| t != tenant) {
                    continue;
                }
                if let Some(message) = spec.invariant.check(store, tenant.as_str()) {
                    return Some(format!(
                        "{}: {message} (tenant {tenant})",
                        spec.invariant.name
                    ));
                }
            }
        }
        if at == CheckAt::Step {
            for spec in &self.scenario.spec_invariants {
                for tenant in &self.scenario.tenants {
                    if let Some(message) = spec.check(store, tenant.as_str()) {
                        return Some(format!("{}: {message} (tenant {tenant})", spec.name));
                    }
                }
            }
        }
        None
    }

    /// What is wrong with a quiescent world: an end invariant or an `[[expect]]`.
    pub fn end_violation(&self, s: &CascadeState) -> Option<String> {
        if let Some(m) = self.invariant_violation(&s.store, CheckAt::End) {
            return Some(m);
        }
        let mut expect = ExpectCheck {
            expects: self.scenario.expects.clone().into(),
        };
        let end = RunEnd {
            store: &s.store,
            quiescent: true,
            pending: 0,
            now: s.now,
            next_due: None,
        };
        expect
            .at_end(&end)
            .into_iter()
            .next()
            .map(|m| format!("expect: {m}"))
    }

    /// Whether a quiescent world breaks anything a run would report: a step or end
    /// invariant, or an `[[expect]]`.
    pub fn world_violation(&self, s: &CascadeState) -> Option<String> {
        self.invariant_violation(&s.store, CheckAt::Step)
            .or_else(|| self.end_violation(s))
    }

    /// The terminal world, canonical: minted ids renamed as symmetry reduction does, one
    /// entity a line.
    pub fn outcome(&self, s: &CascadeState) -> String {
        let canonical = crate::model::symmetry::representative(s);
        let mut out = String::new();
        if !canonical.answers.is_empty() {
            out.push_str(&format!(
                "{ANSWERS_PREFIX}{}\n",
                canonical.answers.join("; ")
            ));
        }
        for (tenant, entity_type, id, e) in canonical.store.iter() {
            out.push_str(&format!(
                "{tenant}/{entity_type}/{id} {} {}\n",
                e.status,
                json_text(&serde_json::Value::Object(e.fields.to_object()))
            ));
        }
        out
    }

    pub fn initial(&self) -> CascadeState {
        let mut s = CascadeState::empty(self.root_order.len() as u32);
        s.seal_store();
        s
    }

    /// `deliver rule x -> Payment/o1.AuthorizePayment`, `root #3 (Order/o1.CancelOrder at 110ms)`.
    pub fn describe_step(&self, s: &CascadeState, step: Step) -> String {
        match step {
            Step::Root(r) | Step::FailRoot(r) => {
                let e = &self.scenario.events[r as usize];
                let what = match &e.input {
                    Input::Publish { subject, .. } => format!("publish {subject}"),
                    Input::Dispatch {
                        entity_type,
                        id,
                        action,
                        ..
                    } => format!("{entity_type}/{id}.{action}"),
                };
                let fails = if matches!(step, Step::FailRoot(_)) {
                    " (its action fails)"
                } else {
                    ""
                };
                format!("root #{} ({what} at {}){fails}", r + 1, e.at)
            }
            Step::Deliver(i) => {
                format!("deliver {}", s.pending[i as usize].describe(&self.handlers))
            }
            Step::Drop(i) => format!("drop {}", s.pending[i as usize].describe(&self.handlers)),
            Step::Fail(i) => format!(
                "deliver {} (its action fails)",
                s.pending[i as usize].describe(&self.handlers)
            ),
            Step::Panic(i) => format!(
                "deliver {} (the handler crashes)",
                s.pending[i as usize].describe(&self.handlers)
            ),
            Step::Restart(i) => format!(
                "restart the reflex, then deliver {}",
                s.pending[i as usize].describe(&self.handlers)
            ),
            Step::Duplicate(i) => {
                format!(
                    "duplicate {}",
                    s.pending[i as usize].describe(&self.handlers)
                )
            }
            Step::Answer(i, k) | Step::AnswerTwice(i, k) | Step::FailAnswer(i, k) => {
                let fault = match step {
                    Step::AnswerTwice(..) => " (twice: the answer is duplicated)",
                    Step::FailAnswer(..) => " (its action fails)",
                    _ => "",
                };
                match &s.pending[i as usize] {
                    Message::Answer {
                        integration, id, ..
                    } => format!(
                        "integration {} answers {}/{id} with {}{fault}",
                        integration.name,
                        integration.entity_type,
                        integration.answers[k as usize].action
                    ),
                    other => format!("answer {k} of {}", other.describe(&self.handlers)),
                }
            }
        }
    }

    /// Whether partial-order reduction is on and applies to this model: not with a
    /// `[[fault]]` schedule, whose faults hit the nth occurrence of an identity, so the
    /// order in which independent deliveries create messages decides which one is hit.
    pub fn reduces(&self) -> bool {
        self.config.reduce && reducible(self.mode) && self.schedule.is_empty()
    }

    /// Every step enabled in `s`, unreduced.
    pub fn enabled(&self, s: &CascadeState, actions: &mut Vec<Step>) {
        let deliverable = self.deliverable(s);
        let from = actions.len();
        for &i in &deliverable {
            match &s.pending[i] {
                m @ Message::Answer { .. } => {
                    for k in self.answer_choices(m) {
                        actions.push(Step::Answer(i as u16, k));
                    }
                }
                _ => actions.push(Step::Deliver(i as u16)),
            }
        }
        let deliverable_steps = actions.len() - from;
        if let Some(min) = self.roots_left(s).next().map(|r| self.root_at(r)) {
            // A root may overtake a pending message only if that message could still be
            // delayed until the root's time.
            let overtakable = (0..s.pending.len()).all(|i| self.may_wait_until(s, i, min));
            if overtakable {
                for r in self.roots_left(s).take_while(|&r| self.root_at(r) == min) {
                    actions.push(Step::Root(r));
                }
            }
        }
        let roots_enabled = actions.len() - from - deliverable_steps;
        if s.faults < self.config.faults_max {
            for &i in &deliverable {
                let m = &s.pending[i];
                let answer = matches!(m, Message::Answer { .. });
                let reflex = match m {
                    Message::Delivery { sub, .. } => Some(&self.subscribers[*sub as usize]),
                    _ => None,
                };
                if self.kinds.drop && !m.is_copy() {
                    actions.push(Step::Drop(i as u16));
                }
                if self.kinds.duplicate && !m.is_copy() && !answer {
                    actions.push(Step::Duplicate(i as u16));
                }
                // A duplicated or failing answer is a chosen one: one branch per answer.
                if answer && (self.kinds.duplicate || self.kinds.action_failure) {
                    for k in self.answer_choices(m) {
                        if self.kinds.duplicate {
                            actions.push(Step::AnswerTwice(i as u16, k));
                        }
                        if self.kinds.action_failure {
                            actions.push(Step::FailAnswer(i as u16, k));
                        }
                    }
                }
                // A failure needs an action to fail: a reaction's target, or what a
                // declarative reflex dispatches.
                let acts = match reflex {
                    Some(sub) => matches!(
                        &self.scenario.reflexes[sub.spec].kind,
                        ReflexKind::Declarative { then: Some(_), .. }
                    ),
                    None => !answer,
                };
                if self.kinds.action_failure && acts {
                    actions.push(Step::Fail(i as u16));
                }
                if let Some(sub) = reflex {
                    if self.kinds.handler_panic {
                        actions.push(Step::Panic(i as u16));
                    }
                    if self.kinds.reflex_restart && sub.remembers {
                        actions.push(Step::Restart(i as u16));
                    }
                }
            }
            // A root action may fail too (a publication has no action of its own).
            if self.kinds.action_failure {
                for k in from + deliverable_steps..from + deliverable_steps + roots_enabled {
                    if let Step::Root(r) = actions[k] {
                        if matches!(
                            self.scenario.events[r as usize].input,
                            Input::Dispatch { .. }
                        ) {
                            actions.push(Step::FailRoot(r));
                        }
                    }
                }
            }
        }
    }

    /// The answers integration call `m` may get: the one an `[[answer]]` pin names for
    /// its call (whatever its weight, as a run takes it), or else every answer a run could
    /// draw (weight above 0).
    pub(crate) fn answer_choices(&self, m: &Message) -> Vec<u16> {
        let Message::Answer {
            integration,
            id,
            call,
            ..
        } = m
        else {
            return Vec::new();
        };
        let pin = self.scenario.answers.iter().find(|p| {
            p.nth == *call
                && p.integration == integration.name
                && p.target
                    .strip_prefix(integration.entity_type.as_str())
                    .and_then(|r| r.strip_prefix('/'))
                    == Some(id.as_str())
        });
        match pin {
            // A pin that names no answer of the integration: nothing answers (as in a run).
            Some(p) => integration
                .answers
                .iter()
                .position(|a| a.action == p.answer)
                .map(|k| k as u16)
                .into_iter()
                .collect(),
            None => (0..integration.answers.len())
                .filter(|&k| integration.answers[k].weight > 0)
                .map(|k| k as u16)
                .collect(),
        }
    }

    /// Whether pending message `i` may still be on its way at `at` (its longest delay).
    fn may_wait_until(&self, s: &CascadeState, i: usize, at: SimTime) -> bool {
        let born = s.born[i];
        match &s.pending[i] {
            // An answer may still be on its way while its longest delay allows.
            Message::Answer { integration, .. } => {
                born.saturating_add_ms(integration.delay_ms_max) >= at
            }
            _ => match self.mode {
                Mode::Messages {
                    delay: true,
                    delay_ms_max,
                    ..
                } => born.saturating_add_ms(delay_ms_max) >= at,
                _ => false,
            },
        }
    }

    /// A persistent subset of `enabled` (see `footprint.rs`), or `None` when every enabled
    /// step must be explored.
    pub fn persistent(&self, s: &CascadeState, enabled: &[Step]) -> Option<Vec<Step>> {
        if !self.reduces() || enabled.len() < 2 {
            return None;
        }
        // A fault still to spend couples every faultable step (one budget per path).
        if s.faults < self.config.faults_max && enabled.iter().any(|a| a.is_fault()) {
            return None;
        }
        let pending: Vec<_> = s.pending.iter().map(|m| self.analysis.message(m)).collect();
        let root = |r: u32| -> &Footprint { &self.root_footprints[r as usize] };
        'message: for (i, f) in pending.iter().enumerate() {
            for (j, g) in pending.iter().enumerate() {
                if j != i && conflict(&f.step, &g.future) {
                    continue 'message;
                }
            }
            // Roots in time order: once message `i` cannot wait until one, it cannot wait
            // until any later one.
            for r in self
                .roots_left(s)
                .take_while(|&r| self.may_wait_until(s, i, self.root_at(r)))
            {
                if f.timed || conflict(&f.step, &root(r).future) {
                    continue 'message;
                }
            }
            let set: Vec<Step> = enabled
                .iter()
                .copied()
                .filter(|a| a.message() == Some(i))
                .collect();
            if !set.is_empty() && set.len() < enabled.len() {
                return Some(set);
            }
        }
        // One root of the earliest instant, when nothing pending reads the time.
        if pending.iter().any(|f| f.timed) {
            return None;
        }
        let min = self.root_at(self.roots_left(s).next()?);
        'root: for &a in enabled {
            let Step::Root(r) = a else { continue };
            if pending.iter().any(|g| conflict(&root(r).step, &g.future)) {
                continue;
            }
            for r2 in self.roots_left(s).take_while(|&r2| self.root_at(r2) == min) {
                if r2 != r && conflict(&root(r).step, &root(r2).future) {
                    continue 'root;
                }
            }
            return Some(vec![a]);
        }
        None
    }
}

impl Model for CascadeModel {
    type State = CascadeState;
    type Action = Step;

    fn init_states(&self) -> Vec<CascadeState> {
        let init = self.initial();
        if self.ahead_on.load(std::sync::atomic::Ordering::Relaxed) {
            // The checker fingerprints the initial state before any step.
            self.ahead
                .lock()
                .expect("ahead")
                .seen
                .insert(init.digest, ());
        }
        vec![init]
    }

    fn actions(&self, s: &CascadeState, actions: &mut Vec<Step>) {
        self.enabled(s, actions);
        if self.reduces() {
            if let Some(set) = self.persistent(s, actions) {
                *actions = set;
            }
        }
        if actions.is_empty() && self.target.is_none() {
            // Stateright has no hook for terminal states, and a visitor would rebuild every
            // path from the start; `actions` is called once per explored state.
            let key = self.outcome(s);
            self.outcomes
                .lock()
                .expect("outcomes")
                .entry(key)
                .or_insert_with(|| s.clone());
        }
    }

    fn next_state(&self, s: &CascadeState, step: Step) -> Option<CascadeState> {
        if self.ahead_on.load(std::sync::atomic::Ordering::Relaxed) {
            return Some(self.step_ahead(s, step));
        }
        Some(self.transition(s, step).0)
    }

    /// Every state is within the boundary until the search holds more than its memory
    /// budget; then none is, and the search drains without growing.
    fn within_boundary(&self, _: &CascadeState) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        if self.memory_max == u64::MAX {
            return true;
        }
        if self.memory_hit.load(Relaxed) {
            return false;
        }
        if crate::core::raw::meter::thread_held() > self.memory_max as i64 {
            self.memory_hit.store(true, Relaxed);
            return false;
        }
        true
    }

    fn properties(&self) -> Vec<Property<Self>> {
        fn clean(s: &CascadeState, name: &str) -> bool {
            !s.violations.contains_key(name)
        }
        if self.target.is_some() {
            return vec![Property::sometimes(
                "reaches_target",
                |m: &CascadeModel, s: &CascadeState| {
                    s.is_quiescent() && m.target.as_deref() == Some(m.outcome(s).as_str())
                },
            )];
        }
        vec![
            Property::always("depth_bound", |_, s| clean(s, "depth_bound")),
            Property::always("tenant_isolation", |_, s| clean(s, "tenant_isolation")),
            Property::always("valid_transition", |_, s| clean(s, "valid_transition")),
            Property::always("cascade_truncated", |_, s| clean(s, "cascade_truncated")),
            Property::always("budget", |_, s| clean(s, "budget")),
            Property::always("invariant", |_, s| clean(s, "invariant")),
            Property::always("invariant_at_end", |m: &CascadeModel, s: &CascadeState| {
                !s.is_quiescent() || m.end_violation(s).is_none()
            }),
            Property::eventually("quiescence", |_, s: &CascadeState| s.is_quiescent()),
            // Never discovered: stateright stops once every property has a discovery, and
            // order dependence needs every terminal state.
            Property::always("explored", |_, _| true),
        ]
    }
}

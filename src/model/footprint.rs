//! Partial-order reduction for the cascade model: what each delivery reads and writes, and
//! the persistent set of steps explored from a state.
//!
//! **Why persistent sets.** Stateright's checkers call `actions()` once per state and keep
//! a visited set; they have no hook for sleep sets (which prune transitions, not states,
//! and need the set carried along the path), and source-DPOR needs to replay whole
//! executions, which would replace stateright's checkers, their symmetry reduction, their
//! counterexample paths and budgets with a search of our own. A persistent set is computed
//! from the state alone, inside `actions()`, so every checker (BFS, DFS with symmetry, the
//! targeted second pass) explores the reduced graph unchanged. Persistent sets preserve
//! every reachable deadlock, here every terminal world; the reduced path to one is a
//! reordering of independent steps of the full path (Godefroid, 1996, thm. 6.14).
//!
//! **No cycle proviso.** The cascade graph is acyclic: every step removes a root, records
//! an integration answer (the sorted list only grows), spends a fault, or replaces a
//! message of depth `d` by messages of depth `d + 1`, bounded by `max_depth`: a multiset of
//! depths that decreases. A cycle proviso guards against a cycle that postpones a step
//! for ever; without cycles there is none to guard against. With stateright's visited set
//! and symmetry reduction this still holds: by induction on the longest path to a terminal
//! state (a quantity symmetric states share), a state whose successor was met before in a
//! symmetric form reaches the symmetric image of every terminal world.
//!
//! **What a step touches** ([`Res`]): its target entity (written), the entities its rules'
//! guards look up (read, any id of their type), a reflex's dedup memory (written), the
//! counter `create` ids are minted from (written). A state invariant is a disjunction over
//! bindings of its variable; each binding (`Payment[o1]`, `Order[o1]`) is a group, and a
//! write to an entity it reads is a write to the group, so two steps that change what one
//! binding sees keep their order: every state of a group that one schedule passes through,
//! an equivalent schedule passes through too, so a settled-state violation is kept as well
//! as the terminal worlds. An entity read through a literal id (`Pager['oncall']`) belongs
//! to every binding.
//!
//! **Time.** A root moves the model's `now`, which stamps the messages a delivery creates
//! (their birth bounds how long they may be delayed) and a reflex's memory. A delivery that
//! creates nothing and is not a reflex commutes with a root that does not touch what it
//! touches; any other delivery is dependent on every root that may overtake it.
//!
//! **Steps that can happen later** are over-approximated statically: from a message's
//! target type, the rules of its tenant (same-id and static resolvers keep the id; field,
//! create-if-missing and create resolvers mean any id of the target type), the reflexes
//! whose patterns may match the commit's subject, and the actions those reflexes dispatch.
//!
//! The persistent set of a state is either all steps of one pending message (deliver, and
//! each answer) such that no other pending message, no root that may overtake it, and
//! nothing any of them can cause touches what its delivery touches; or one root of the
//! earliest instant, independent of everything else that can run first. Otherwise, every
//! enabled step.
//!
//! Not reduced (every enabled step is explored): inline cascades (the only choices are the
//! order of simultaneous roots and answers, each a whole cascade), messages without delays
//! or with `reorder = false` (FIFO order is observable), scenarios with a `[[fault]]`
//! schedule (it names the nth occurrence of a message, and which message is nth depends on
//! the order of creation), and states in which a fault may still be injected (a fault
//! budget is shared by every message of a path, so any two faultable steps are
//! dependent).

use crate::core::TenantId;
use crate::engine::{Guard, Resolver, Rule};
use crate::model::cascade::{Mode, Subscriber};
use crate::model::message::Message;
use crate::scenario::{Input, ReflexKind, RootEvent, Scenario};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

/// Something a step reads or writes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Res {
    /// An entity; `None`: any id of its type.
    Entity(TenantId, String, Option<String>),
    /// One binding of user invariant `k` in a tenant; `None`: every binding.
    Group(u32, TenantId, Option<String>),
    /// A reflex subscription's dedup memory.
    Memory(u32),
    /// The counter `create` ids are minted from.
    Minted,
}

impl Res {
    fn overlaps(&self, other: &Res) -> bool {
        let ids = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        match (self, other) {
            (Res::Entity(t1, ty1, i1), Res::Entity(t2, ty2, i2)) => {
                t1 == t2 && ty1 == ty2 && ids(i1, i2)
            }
            (Res::Group(k1, t1, i1), Res::Group(k2, t2, i2)) => k1 == k2 && t1 == t2 && ids(i1, i2),
            (Res::Memory(a), Res::Memory(b)) => a == b,
            (Res::Minted, Res::Minted) => true,
            _ => false,
        }
    }
}

/// A read or a write of one resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Access {
    pub res: Res,
    pub write: bool,
}

/// Two access sets conflict when they share a resource and one of them writes it.
pub fn conflict(a: &[Access], b: &[Access]) -> bool {
    a.iter().any(|x| {
        b.iter()
            .any(|y| (x.write || y.write) && x.res.overlaps(&y.res))
    })
}

/// What one step may touch, and what it and everything it may cause may touch.
#[derive(Debug, Clone, Default)]
pub struct Footprint {
    pub step: Vec<Access>,
    pub future: Vec<Access>,
    /// The step may create messages (stamped with `now`) or is a reflex delivery (whose
    /// memory and dedup windows read `now`).
    pub timed: bool,
}

/// A kind of step, abstracted: an action on an entity (a reaction, an answer, a root
/// action), or a delivery to a subscription.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Node {
    Entity(TenantId, String, Option<String>),
    Sub(u32, TenantId),
}

/// The static knowledge the reduction needs, built once per model.
pub struct Analysis {
    /// Rules by tenant, both the scenario's and temper's runtime engine's.
    rules: BTreeMap<TenantId, Vec<Arc<Rule>>>,
    /// Per subscription: its tenant filter, pattern tokens, memory, the type it dispatches.
    subs: Vec<SubInfo>,
    /// Per user invariant: its tenant, the types read through the variable and the types
    /// read through a literal id.
    groups: Vec<(Option<TenantId>, Vec<String>, Vec<String>)>,
    /// Entity types with an action that calls an integration.
    integrations: BTreeSet<String>,
    /// Per type: its action names (commit subjects).
    actions: BTreeMap<String, Vec<String>>,
    cache: RwLock<BTreeMap<Node, Arc<Footprint>>>,
}

struct SubInfo {
    tenant: Option<TenantId>,
    pattern: Vec<String>,
    remembers: bool,
    then_type: Option<String>,
}

impl Analysis {
    pub fn new(
        scenario: &Scenario,
        subscribers: &[Subscriber],
        patterns: Vec<(Option<TenantId>, Vec<String>)>,
    ) -> Analysis {
        let mut rules: BTreeMap<TenantId, Vec<Arc<Rule>>> = BTreeMap::new();
        for (tenant, list) in scenario.rules.iter().chain(scenario.runtime_rules.iter()) {
            rules
                .entry(tenant.clone())
                .or_default()
                .extend(list.iter().cloned());
        }
        let subs = subscribers
            .iter()
            .zip(patterns)
            .map(|(s, (tenant, pattern))| SubInfo {
                tenant,
                pattern,
                remembers: s.remembers,
                then_type: match &scenario.reflexes[s.spec].kind {
                    ReflexKind::Declarative { then, .. } => {
                        then.as_ref().map(|t| t.entity_type.clone())
                    }
                    _ => None,
                },
            })
            .collect();
        let groups = scenario
            .invariants
            .iter()
            .map(|spec| {
                let p = &spec.invariant.predicate;
                let bound: Vec<String> = if p.variable().is_some() {
                    p.bound_types().to_vec()
                } else {
                    Vec::new()
                };
                let mut global = p.literal_types();
                if p.variable().is_none() {
                    global = p.entity_types();
                }
                (spec.tenant.clone(), bound, global)
            })
            .collect();
        let integrations = scenario
            .entities
            .iter()
            .filter(|(_, spec)| {
                spec.actions
                    .values()
                    .any(|a| a.commands.iter().any(|c| c.call().is_some()))
            })
            .map(|(name, _)| name.clone())
            .collect();
        let actions = scenario
            .entities
            .iter()
            .map(|(name, spec)| (name.clone(), spec.actions.keys().cloned().collect()))
            .collect();
        Analysis {
            rules,
            subs,
            groups,
            integrations,
            actions,
            cache: RwLock::new(BTreeMap::new()),
        }
    }

    /// The footprint of delivering `m`.
    pub fn message(&self, m: &Message) -> Arc<Footprint> {
        match m {
            Message::Reaction(p) => self.node(Node::Entity(
                p.dispatch.tenant.clone(),
                p.dispatch.entity_type.clone(),
                Some(p.dispatch.id.as_str().to_string()),
            )),
            Message::Delivery { sub, event, .. } => {
                self.node(Node::Sub(*sub, event.tenant.clone()))
            }
            Message::Answer {
                integration,
                tenant,
                id,
                ..
            } => self.node(Node::Entity(
                tenant.clone(),
                integration.entity_type.clone(),
                Some(id.as_str().to_string()),
            )),
        }
    }

    /// The footprint of a root event; `route` gives the subscriptions a publication reaches.
    pub fn root(&self, event: &RootEvent, route: &[u32]) -> Arc<Footprint> {
        match &event.input {
            Input::Dispatch {
                entity_type,
                id,
                created_by,
                ..
            } => {
                // A target named by `created_by` is any entity of its type, found through
                // what `create` rules minted (read as the minted counter's resource).
                let id = match created_by {
                    None => Some(id.as_str().to_string()),
                    Some(_) => None,
                };
                let f = self.node(Node::Entity(event.tenant.clone(), entity_type.clone(), id));
                let mut step = f.step.clone();
                if created_by.is_some() {
                    step.push(Access {
                        res: Res::Minted,
                        write: false,
                    });
                }
                Arc::new(Footprint {
                    step,
                    future: f.future.clone(),
                    timed: true,
                })
            }
            Input::Publish { .. } => {
                let mut future = Vec::new();
                for &sub in route {
                    let f = self.node(Node::Sub(sub, event.tenant.clone()));
                    future.extend(f.future.iter().cloned());
                }
                future.sort();
                future.dedup();
                Arc::new(Footprint {
                    step: Vec::new(),
                    future,
                    timed: true,
                })
            }
        }
    }

    fn node(&self, node: Node) -> Arc<Footprint> {
        if let Some(f) = self.cache.read().expect("footprint cache").get(&node) {
            return f.clone();
        }
        let (step, _, timed) = self.step(&node);
        // The closure over everything the node may cause; bounded by the finite set of
        // (tenant, type, id) the rules can name.
        let mut future: BTreeSet<Access> = step.iter().cloned().collect();
        let mut seen: BTreeSet<Node> = BTreeSet::new();
        let mut work = vec![node.clone()];
        while let Some(n) = work.pop() {
            if !seen.insert(n.clone()) {
                continue;
            }
            let (accesses, children, _) = self.step(&n);
            future.extend(accesses);
            work.extend(children.into_iter().filter(|c| !seen.contains(c)));
        }
        let f = Arc::new(Footprint {
            step,
            future: future.into_iter().collect(),
            timed,
        });
        self.cache
            .write()
            .expect("footprint cache")
            .insert(node, f.clone());
        f
    }

    /// One node's own accesses, the nodes it may cause (as messages), and whether it is
    /// timed.
    fn step(&self, node: &Node) -> (Vec<Access>, Vec<Node>, bool) {
        match node {
            Node::Entity(tenant, ty, id) => self.entity_step(tenant, ty, id.as_deref()),
            Node::Sub(sub, tenant) => {
                let info = &self.subs[*sub as usize];
                let mut accesses = Vec::new();
                if info.remembers {
                    accesses.push(Access {
                        res: Res::Memory(*sub),
                        write: true,
                    });
                }
                let mut children = Vec::new();
                if let Some(ty) = &info.then_type {
                    // The reflex dispatches inline, to an id rendered from the event.
                    let (a, c, _) = self.entity_step(tenant, ty, None);
                    accesses.extend(a);
                    children.extend(c);
                }
                (accesses, children, true)
            }
        }
    }

    fn entity_step(
        &self,
        tenant: &TenantId,
        ty: &str,
        id: Option<&str>,
    ) -> (Vec<Access>, Vec<Node>, bool) {
        let mut accesses = vec![Access {
            res: Res::Entity(tenant.clone(), ty.to_string(), id.map(String::from)),
            write: true,
        }];
        for (k, (only, bound, global)) in self.groups.iter().enumerate() {
            if only.as_ref().is_some_and(|t| t != tenant) {
                continue;
            }
            if global.iter().any(|t| t == ty) {
                accesses.push(Access {
                    res: Res::Group(k as u32, tenant.clone(), None),
                    write: true,
                });
            } else if bound.iter().any(|t| t == ty) {
                accesses.push(Access {
                    res: Res::Group(k as u32, tenant.clone(), id.map(String::from)),
                    write: true,
                });
            }
        }
        let mut children = Vec::new();
        let mut timed = self.integrations.contains(ty);
        for rule in self.rules.get(tenant).into_iter().flatten() {
            if rule.when.entity_type != ty {
                continue;
            }
            timed = true;
            if let Some(guard) = &rule.when.guard {
                lookups(guard, &mut |lt| {
                    accesses.push(Access {
                        res: Res::Entity(tenant.clone(), lt.to_string(), None),
                        write: false,
                    })
                });
            }
            let target = match &rule.resolve_target {
                Resolver::SameId => id.map(String::from),
                Resolver::Static { entity_id } => Some(entity_id.clone()),
                Resolver::Create => {
                    accesses.push(Access {
                        res: Res::Minted,
                        write: true,
                    });
                    None
                }
                Resolver::Field { .. } | Resolver::CreateIfMissing { .. } => None,
            };
            children.push(Node::Entity(
                tenant.clone(),
                rule.then.entity_type.clone(),
                target,
            ));
        }
        for (sub, info) in self.subs.iter().enumerate() {
            if info.tenant.as_ref().is_some_and(|t| t != tenant) {
                continue;
            }
            let hears = self
                .actions
                .get(ty)
                .into_iter()
                .flatten()
                .any(|action| may_match(&info.pattern, &["entity", ty, action]));
            if hears {
                timed = true;
                children.push(Node::Sub(sub as u32, tenant.clone()));
            }
        }
        accesses.sort();
        accesses.dedup();
        (accesses, children, timed)
    }
}

/// Whether a guard looks up other entities (a cross-entity lookup): what it decides then
/// depends on more of the world than the commit it fires on.
pub fn looks_up(guard: &Guard) -> bool {
    let mut any = false;
    lookups(guard, &mut |_| any = true);
    any
}

/// The types a guard looks up.
fn lookups(guard: &Guard, visit: &mut dyn FnMut(&str)) {
    match guard {
        Guard::CrossEntityStateIn { entity_type, .. } => visit(entity_type),
        Guard::AllOf { guards } | Guard::AnyOf { guards } => {
            guards.iter().for_each(|g| lookups(g, visit))
        }
        Guard::Not { guard } => lookups(guard, visit),
        _ => {}
    }
}

/// Whether a pattern may match a subject made of `prefix` and one or more tokens more
/// (an id of any shape).
fn may_match(pattern: &[String], prefix: &[&str]) -> bool {
    for (i, p) in pattern.iter().enumerate() {
        if p == ">" {
            return true;
        }
        match prefix.get(i) {
            Some(t) => {
                if p != "*" && p != t {
                    return false;
                }
            }
            // Past the prefix: the id's tokens, whatever they are.
            None => return true,
        }
    }
    // The pattern ended within the prefix: the subject has more tokens.
    false
}

/// Whether reduction applies in `mode` at all (see the module doc).
pub fn reducible(mode: Mode) -> bool {
    matches!(
        mode,
        Mode::Messages {
            delay: true,
            reorder: true,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(p: &str) -> Vec<String> {
        p.split('.').map(String::from).collect()
    }

    #[test]
    fn commit_patterns_match_as_nats_would() {
        let prefix = ["entity", "Order", "Cancel"];
        assert!(may_match(&toks("entity.>"), &prefix));
        assert!(may_match(&toks("entity.Order.*.*"), &prefix));
        assert!(may_match(&toks("entity.*.Cancel.o1"), &prefix));
        assert!(!may_match(&toks("entity.Payment.>"), &prefix));
        assert!(!may_match(&toks("entity.Order.Cancel"), &prefix));
        assert!(!may_match(&toks("sensory.>"), &prefix));
    }

    #[test]
    fn any_id_overlaps_every_id_of_its_type_only() {
        let t = TenantId::new("t");
        let any = Res::Entity(t.clone(), "Order".into(), None);
        let o1 = Res::Entity(t.clone(), "Order".into(), Some("o1".into()));
        let o2 = Res::Entity(t.clone(), "Order".into(), Some("o2".into()));
        let p1 = Res::Entity(t, "Payment".into(), Some("o1".into()));
        assert!(any.overlaps(&o1) && o1.overlaps(&any));
        assert!(!o1.overlaps(&o2) && !o1.overlaps(&p1));
        let read = |r: &Res| Access {
            res: r.clone(),
            write: false,
        };
        assert!(!conflict(&[read(&o1)], &[read(&any)]), "two reads commute");
        assert!(conflict(
            &[read(&o1)],
            &[Access {
                res: any,
                write: true
            }]
        ));
    }
}

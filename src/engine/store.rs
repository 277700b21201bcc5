//! The entity store: tenant -> entity type -> id -> entity.
//!
//! Nested maps let a lookup borrow `&str` keys (no key allocation on the hot path) and make
//! tenant scoping structural: nothing reaches an entity without naming its tenant.
//!
//! A big run looks entities up millions of times, so the store is laid out for that.
//! Tenants and types are sorted lists (a handful of each), scanned comparing lengths before
//! bytes. The entities of one type are found through a hash map, because a B-tree of string
//! ids costs a dozen string comparisons per lookup; their order comes from a sorted set of
//! the ids beside it. The hash map is never iterated, and its hasher has no random state:
//! nothing about it can reach a trace. Iteration is in (tenant, type, id) order, as with
//! nested ordered maps, and `Debug` prints the store as those maps.
//!
//! Entities are held behind an `Arc` so that a commit's snapshot (what the rules of that
//! commit see, whatever its siblings' subtrees do to the entity later) is a reference count,
//! not a copy of the field map. Changing an entity goes through `Arc::make_mut`, which copies
//! it only while such a snapshot is alive.
//!
//! Tables (and each table's sorted ids) are behind an `Arc` too, for the model checker,
//! which clones a whole world per transition: a clone shares every table, and a transition
//! copies only the tables it changes (`Arc::make_mut`; a run never clones its store, so
//! there it never copies).
//!
//! A model's store ([`Store::shared`]) goes one level further: a table past [`CHUNK_MAX`]
//! entities becomes sorted runs of at most that many, each behind its own `Arc`, so that a
//! write copies the list of runs and the one run it changes, not the whole table. Without it a crowd of
//! thousands of entities copied its table (hash map and sorted ids) on every transition
//! that wrote one of them: quadratic in the crowd. A run keeps the flat table (one hash
//! lookup, nothing to share); both hold the same entities in the same order.

use super::fields::Key;
use crate::core::{find_named, get_in, EntityId, LookupMap, TenantId};
use crate::engine::Entity;
use std::collections::BTreeSet;
use std::sync::Arc;

/// One tenant's entity types, sorted by name, each with the slot of its table.
type Types = Vec<(String, usize)>;

#[derive(Clone, Default)]
pub struct Store {
    /// Sorted by tenant, each tenant's types sorted by name, with the slot of their table.
    /// Shared by clones (a model state's), copied only when a table is created.
    tenants: Arc<Vec<(TenantId, Types)>>,
    /// The tables, in the order they were created: a table's slot never changes, so a
    /// cascade can remember where its tenant's tables are (see [`Store::slot`]).
    tables: Vec<Arc<Table>>,
    len: usize,
    /// The entities `create` rules made, per (tenant, rule, source `Type/id`), in the order
    /// they were minted: what an event's `created_by` looks up. Kept only when the engine
    /// tracks them ([`crate::engine::Engine::track_created`]).
    created: std::collections::BTreeMap<(TenantId, String, String), Vec<EntityId>>,
    /// Tables past [`CHUNK_MAX`] entities are chunked (a model state's store, see
    /// [`Store::shared`]).
    chunked: bool,
}

/// Stores are equal when they hold the same entities (whatever order their tables were
/// created in).
impl PartialEq for Store {
    fn eq(&self, other: &Store) -> bool {
        self.len == other.len && self.iter().eq(other.iter()) && self.created == other.created
    }
}

/// Printed as the nested ordered maps it stands for: tenant -> type -> id -> entity.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Types<'a>(&'a Store, &'a [(String, usize)]);
        impl std::fmt::Debug for Types<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let tables = &self.0.tables;
                f.debug_map()
                    .entries(self.1.iter().map(|(ty, slot)| (ty, &tables[*slot])))
                    .finish()
            }
        }
        struct Tenants<'a>(&'a Store);
        impl std::fmt::Debug for Tenants<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let store = self.0;
                f.debug_map()
                    .entries(
                        store
                            .tenants
                            .iter()
                            .map(|(t, types)| (t, Types(store, types))),
                    )
                    .finish()
            }
        }
        f.debug_struct("Store")
            .field("tenants", &Tenants(self))
            .field("len", &self.len)
            .finish()
    }
}

/// Entities per shared run of a chunked table at most: a write copies up to this many
/// entries (two reference counts each) and the list of runs (one per 32 to 64 entities).
const CHUNK_MAX: usize = 64;

/// A sorted run of a chunked table's entities.
type Chunk = Vec<(Arc<EntityId>, Arc<Entity>)>;

/// The entities of one type in one tenant.
#[derive(Clone)]
enum Table {
    /// A run's table.
    Flat {
        /// Lookups only, never iterated. Keyed by the id in line (when short): a probe
        /// compares the bytes in the bucket instead of chasing each candidate's heap string.
        entities: LookupMap<Key, Arc<Entity>>,
        /// The ids, in order: iteration goes through these. Shared until an id is added.
        ids: Arc<BTreeSet<EntityId>>,
    },
    /// A big table of a model state's store: sorted runs of 1 to [`CHUNK_MAX`] entities
    /// (none empty), found by binary search, each shared until written.
    Chunked(Vec<Arc<Chunk>>),
}

impl Table {
    fn new() -> Table {
        Table::Flat {
            entities: LookupMap::default(),
            ids: Arc::default(),
        }
    }

    fn iter(&self) -> TableIter<'_> {
        match self {
            Table::Flat { entities, ids } => TableIter::Flat {
                entities,
                ids: ids.iter(),
            },
            Table::Chunked(chunks) => TableIter::Chunked {
                chunks: chunks.iter(),
                chunk: [].iter(),
            },
        }
    }

    /// The run of a chunked table that holds `id`, or would (`None`: no runs yet).
    fn chunk_of(chunks: &[Arc<Chunk>], id: &str) -> Option<usize> {
        if chunks.is_empty() {
            return None;
        }
        let at = chunks.partition_point(|c| c.last().expect("no run is empty").0.as_str() < id);
        Some(at.min(chunks.len() - 1))
    }

    #[inline]
    fn get(&self, id: &str) -> Option<&Arc<Entity>> {
        match self {
            Table::Flat { entities, .. } => entities.get(id.as_bytes()),
            Table::Chunked(chunks) => Table::chunked_get(chunks, id),
        }
    }

    /// Out of line, so that a run's lookups (flat tables only) stay small where inlined.
    #[inline(never)]
    fn chunked_get<'a>(chunks: &'a [Arc<Chunk>], id: &str) -> Option<&'a Arc<Entity>> {
        let chunk = &chunks[Table::chunk_of(chunks, id)?];
        let i = chunk.binary_search_by(|(k, _)| k.as_str().cmp(id)).ok()?;
        Some(&chunk[i].1)
    }

    #[inline]
    fn get_mut(&mut self, id: &str) -> Option<&mut Arc<Entity>> {
        match self {
            Table::Flat { entities, .. } => entities.get_mut(id.as_bytes()),
            Table::Chunked(chunks) => Table::chunked_get_mut(chunks, id),
        }
    }

    /// Out of line, as [`Table::chunked_get`].
    #[inline(never)]
    fn chunked_get_mut<'a>(chunks: &'a mut [Arc<Chunk>], id: &str) -> Option<&'a mut Arc<Entity>> {
        let c = Table::chunk_of(chunks, id)?;
        let i = chunks[c]
            .binary_search_by(|(k, _)| k.as_str().cmp(id))
            .ok()?;
        Some(&mut Arc::make_mut(&mut chunks[c])[i].1)
    }

    /// Inserts or replaces; whether the id is new. With `chunk`, a flat table that grows
    /// past [`CHUNK_MAX`] entities becomes chunked (below that, copying it whole is
    /// cheaper than copying a list of runs and one of them).
    fn insert(&mut self, id: &str, entity: Arc<Entity>, chunk: bool) -> bool {
        match self {
            Table::Flat { entities, ids } => match entities.get_mut(id.as_bytes()) {
                Some(slot) => {
                    *slot = entity;
                    false
                }
                None => {
                    entities.insert(Key::new(id), entity);
                    Arc::make_mut(ids).insert(EntityId::new(id));
                    if chunk && ids.len() > CHUNK_MAX {
                        self.chunk();
                    }
                    true
                }
            },
            Table::Chunked(chunks) => {
                let Some(c) = Table::chunk_of(chunks, id) else {
                    chunks.push(Arc::new(vec![(Arc::new(EntityId::new(id)), entity)]));
                    return true;
                };
                let chunk = Arc::make_mut(&mut chunks[c]);
                match chunk.binary_search_by(|(k, _)| k.as_str().cmp(id)) {
                    Ok(i) => {
                        chunk[i].1 = entity;
                        false
                    }
                    Err(i) => {
                        chunk.insert(i, (Arc::new(EntityId::new(id)), entity));
                        if chunk.len() > CHUNK_MAX {
                            let tail = chunk.split_off(chunk.len() / 2);
                            chunks.insert(c + 1, Arc::new(tail));
                        }
                        true
                    }
                }
            }
        }
    }

    /// The same entities, as sorted runs of half [`CHUNK_MAX`].
    fn chunk(&mut self) {
        let Table::Flat { entities, ids } = self else {
            return;
        };
        let rows: Vec<(Arc<EntityId>, Arc<Entity>)> = ids
            .iter()
            .map(|id| {
                (
                    Arc::new(id.clone()),
                    entities[id.as_str().as_bytes()].clone(),
                )
            })
            .collect();
        *self = Table::Chunked(
            rows.chunks(CHUNK_MAX / 2)
                .map(|c| Arc::new(c.to_vec()))
                .collect(),
        );
    }

    /// Every entity, moved out in id order (copied only where a snapshot shares it).
    fn into_rows(self) -> Vec<(EntityId, Entity)> {
        match self {
            Table::Flat { mut entities, ids } => Arc::unwrap_or_clone(ids)
                .into_iter()
                .map(|id| {
                    let entity = entities
                        .remove(id.as_str().as_bytes())
                        .expect("every id has its entity");
                    (id, Arc::unwrap_or_clone(entity))
                })
                .collect(),
            Table::Chunked(chunks) => chunks
                .into_iter()
                .flat_map(Arc::unwrap_or_clone)
                .map(|(id, e)| (Arc::unwrap_or_clone(id), Arc::unwrap_or_clone(e)))
                .collect(),
        }
    }
}

/// A table's entities in id order.
enum TableIter<'a> {
    Flat {
        entities: &'a LookupMap<Key, Arc<Entity>>,
        ids: std::collections::btree_set::Iter<'a, EntityId>,
    },
    Chunked {
        chunks: std::slice::Iter<'a, Arc<Chunk>>,
        chunk: std::slice::Iter<'a, (Arc<EntityId>, Arc<Entity>)>,
    },
}

impl<'a> Iterator for TableIter<'a> {
    type Item = (&'a EntityId, &'a Arc<Entity>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            TableIter::Flat { entities, ids } => {
                let id = ids.next()?;
                Some((id, &entities[id.as_str().as_bytes()]))
            }
            TableIter::Chunked { chunks, chunk } => loop {
                if let Some((id, e)) = chunk.next() {
                    return Some((id, e));
                }
                *chunk = chunks.next()?.iter();
            },
        }
    }
}

/// Printed as the ordered map of ids to entities it stands for.
impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Store {
    /// An empty store whose big tables are chunked, for a model checker that clones it per
    /// transition (see the module doc): the same entities, found and iterated as in a
    /// store from `Store::default()`, a run's.
    pub fn shared() -> Store {
        Store {
            chunked: true,
            ..Store::default()
        }
    }

    /// Notes that rule `rule` minted `id` for the source `source` (`Type/id`) in `tenant`.
    pub fn note_created(&mut self, tenant: &TenantId, rule: &str, source: String, id: &str) {
        self.created
            .entry((tenant.clone(), rule.to_string(), source))
            .or_default()
            .push(EntityId::new(id));
    }

    /// The id of the `nth` (1-based) entity rule `rule` minted for `source` (`Type/id`) in
    /// `tenant`, when it did.
    pub fn created_by(
        &self,
        tenant: &TenantId,
        rule: &str,
        source: &str,
        nth: u32,
    ) -> Option<&EntityId> {
        let key = (tenant.clone(), rule.to_string(), source.to_string());
        self.created.get(&key)?.get((nth as usize).checked_sub(1)?)
    }

    /// Every id noted by [`Store::note_created`], in key order (for a model state's hash).
    pub fn created(&self) -> impl Iterator<Item = (&(TenantId, String, String), &[EntityId])> {
        self.created.iter().map(|(k, v)| (k, v.as_slice()))
    }

    pub fn get(&self, tenant: &str, entity_type: &str, id: &str) -> Option<&Entity> {
        self.get_shared(tenant, entity_type, id).map(Arc::as_ref)
    }

    /// The entity as the store shares it: cloning the `Arc` is a snapshot.
    pub fn get_shared(&self, tenant: &str, entity_type: &str, id: &str) -> Option<&Arc<Entity>> {
        self.table(tenant, entity_type)?.get(id)
    }

    fn table(&self, tenant: &str, entity_type: &str) -> Option<&Table> {
        Some(&*self.tables[self.slot(tenant, entity_type)?])
    }

    /// Where the table of `entity_type` in `tenant` is, if there is one yet. A slot stays
    /// valid as long as the store is not replaced.
    pub fn slot(&self, tenant: &str, entity_type: &str) -> Option<usize> {
        get_in(get_in(&self.tenants, tenant)?, entity_type).copied()
    }

    /// [`Store::get_shared_mut`] in the table at `slot` (from [`Store::slot`]).
    pub fn get_shared_mut_in(&mut self, slot: usize, id: &str) -> Option<&mut Arc<Entity>> {
        Arc::make_mut(&mut self.tables[slot]).get_mut(id)
    }

    pub fn get_mut(&mut self, tenant: &str, entity_type: &str, id: &str) -> Option<&mut Entity> {
        self.get_shared_mut(tenant, entity_type, id)
            .map(Arc::make_mut)
    }

    /// The slot of an entity: `Arc::make_mut` on it changes the entity, copying it first only
    /// if a snapshot of it is alive.
    pub fn get_shared_mut(
        &mut self,
        tenant: &str,
        entity_type: &str,
        id: &str,
    ) -> Option<&mut Arc<Entity>> {
        let slot = self.slot(tenant, entity_type)?;
        self.get_shared_mut_in(slot, id)
    }

    pub fn insert(&mut self, tenant: &TenantId, entity_type: &str, id: &EntityId, entity: Entity) {
        self.insert_shared(tenant, entity_type, id.as_str(), Arc::new(entity));
    }

    /// Inserts (or replaces) an entity already behind an `Arc`.
    pub fn insert_shared(
        &mut self,
        tenant: &TenantId,
        entity_type: &str,
        id: &str,
        entity: Arc<Entity>,
    ) {
        let slot = match self.slot(tenant.as_str(), entity_type) {
            Some(slot) => slot,
            None => self.new_table(tenant, entity_type),
        };
        if Arc::make_mut(&mut self.tables[slot]).insert(id, entity, self.chunked) {
            self.len += 1;
        }
    }

    /// Creates the (empty) table of `entity_type` in `tenant`; its slot.
    fn new_table(&mut self, tenant: &TenantId, entity_type: &str) -> usize {
        let tenants = Arc::make_mut(&mut self.tenants);
        let t = find_named(tenants, tenant.as_str()).unwrap_or_else(|at| {
            tenants.insert(at, (tenant.clone(), Vec::new()));
            at
        });
        let types = &mut tenants[t].1;
        let slot = self.tables.len();
        let at = find_named(types, entity_type).expect_err("a table not created yet");
        types.insert(at, (entity_type.to_string(), slot));
        self.tables.push(Arc::new(Table::new()));
        slot
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every entity in (tenant, type, id) order.
    pub fn iter(&self) -> impl Iterator<Item = (&TenantId, &str, &EntityId, &Entity)> {
        self.tenants.iter().flat_map(move |(t, types)| {
            types.iter().flat_map(move |(ty, slot)| {
                self.tables[*slot]
                    .iter()
                    .map(move |(id, e)| (t, ty.as_str(), id, e.as_ref()))
            })
        })
    }

    /// Every entity in (tenant, type, id) order, moved out of the store: what [`Store::iter`]
    /// gives, without copying an entity that no snapshot shares any more (at the end of a
    /// run, none does).
    pub fn into_entities(self) -> impl Iterator<Item = (TenantId, String, EntityId, Entity)> {
        let mut tables: Vec<Option<Table>> = self
            .tables
            .into_iter()
            .map(|t| Some(Arc::unwrap_or_clone(t)))
            .collect();
        let mut rows = Vec::with_capacity(self.len);
        for (tenant, types) in Arc::unwrap_or_clone(self.tenants) {
            for (entity_type, slot) in types {
                let table = tables[slot].take().expect("each table has one slot");
                for (id, entity) in table.into_rows() {
                    rows.push((tenant.clone(), entity_type.clone(), id, entity));
                }
            }
        }
        rows.into_iter()
    }

    /// The ids of one type in one tenant, in order.
    pub fn ids_of<'a>(
        &'a self,
        tenant: &str,
        entity_type: &str,
    ) -> impl Iterator<Item = &'a EntityId> + 'a {
        self.table(tenant, entity_type)
            .into_iter()
            .flat_map(|table| table.iter().map(|(id, _)| id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Fields;

    fn entity(status: &str) -> Entity {
        Entity {
            status: status.into(),
            fields: Fields::new(),
        }
    }

    #[test]
    fn a_snapshot_keeps_its_state_when_the_entity_changes() {
        let mut store = Store::default();
        let (t, id) = (TenantId::new("t"), EntityId::new("1"));
        store.insert(&t, "X", &id, entity("A"));
        let snapshot = store.get_shared("t", "X", "1").unwrap().clone();
        store.get_mut("t", "X", "1").unwrap().status = "B".into();
        assert_eq!(snapshot.status, "A");
        assert_eq!(store.get("t", "X", "1").unwrap().status, "B");
        assert_eq!(store.len(), 1);
        store.insert(&t, "X", &id, entity("C"));
        assert_eq!(store.len(), 1, "replacing does not count twice");
        assert_eq!(store.iter().count(), 1);
    }

    #[test]
    fn iteration_is_in_tenant_type_id_order_whatever_the_insertion_order() {
        let mut a = Store::default();
        let mut b = Store::default();
        let keys: Vec<(String, String, String)> = (0..300)
            .map(|i| {
                (
                    format!("t{}", i % 3),
                    format!("T{}", i % 5),
                    format!("e{}", (i * 7919) % 1000),
                )
            })
            .collect();
        for (t, ty, id) in &keys {
            a.insert(&TenantId::new(t), ty, &EntityId::new(id), entity(id));
        }
        for (t, ty, id) in keys.iter().rev() {
            b.insert(&TenantId::new(t), ty, &EntityId::new(id), entity(id));
        }
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
        let order: Vec<_> = a
            .iter()
            .map(|(t, ty, id, _)| (t.clone(), ty, id.clone()))
            .collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
        assert_eq!(order.len(), a.len());
        for (t, ty, id) in &keys {
            assert_eq!(a.get(t, ty, id).unwrap().status, *id);
        }
        let ids: Vec<_> = a.ids_of("t0", "T0").collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(format!("{a:?}")
            .starts_with("Store { tenants: {TenantId(\"t0\"): {\"T0\": {EntityId(\""));
    }

    #[test]
    fn ids_past_the_in_line_limit_are_found_as_short_ones_are() {
        let mut store = Store::default();
        let t = TenantId::new("t");
        let ids: Vec<String> = (0..40).map(|n| format!("{}{n}", "x".repeat(n))).collect();
        for id in &ids {
            store.insert(&t, "X", &EntityId::new(id.as_str()), entity(id));
        }
        for id in &ids {
            assert_eq!(store.get("t", "X", id).unwrap().status, *id);
            store.get_mut("t", "X", id).unwrap().status.push('!');
        }
        assert_eq!(store.get("t", "X", &"x".repeat(39)), None);
        let statuses: Vec<String> = store.into_entities().map(|(_, _, _, e)| e.status).collect();
        let mut expected: Vec<String> = ids.iter().map(|id| format!("{id}!")).collect();
        expected.sort();
        assert_eq!(statuses, expected);
    }

    #[test]
    fn into_entities_moves_out_what_iter_shows_in_the_same_order() {
        let mut store = Store::default();
        for i in 0..200 {
            let t = TenantId::new(format!("t{}", i % 3));
            // Types created out of order, so that slots and sorted order differ.
            let ty = format!("T{}", (7 - i % 4) % 4);
            store.insert(
                &t,
                &ty,
                &EntityId::new(format!("e{}", (i * 37) % 101)),
                entity(&format!("s{i}")),
            );
        }
        // A snapshot still alive: that entity is copied (the snapshot stays the only
        // reference to the stored one), the others are moved.
        store.insert(
            &TenantId::new("t1"),
            "T2",
            &EntityId::new("e4"),
            entity("kept"),
        );
        let snapshot = store.get_shared("t1", "T2", "e4").unwrap().clone();
        let expected: Vec<(TenantId, String, EntityId, Entity)> = store
            .iter()
            .map(|(t, ty, id, e)| (t.clone(), ty.to_string(), id.clone(), e.clone()))
            .collect();
        assert_eq!(expected.len(), store.len());
        let moved: Vec<_> = store.into_entities().collect();
        assert_eq!(moved, expected);
        assert_eq!(Arc::strong_count(&snapshot), 1, "the store let go of it");
        assert!(moved
            .iter()
            .any(
                |(t, ty, id, e)| (t.as_str(), ty.as_str(), id.as_str()) == ("t1", "T2", "e4")
                    && *e == *snapshot
            ));
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The model's chunked tables against a run's flat ones (the reference): the same
        /// entities found, iterated, counted and moved out, after any inserts and writes,
        /// and a clone taken midway keeps what it saw while the original is written.
        #[test]
        fn chunked_tables_hold_what_flat_tables_hold(
            ops in proptest::collection::vec((0u8..3, 0u8..2, 0u16..400, 0u8..3), 0..600),
        ) {
            let mut flat = Store::default();
            let mut chunked = Store::shared();
            let mut before: Option<(Store, Store)> = None;
            for (n, (kind, ty, id, tenant)) in ops.iter().enumerate() {
                let (t, ty, id) = (
                    TenantId::new(format!("t{tenant}")),
                    format!("T{ty}"),
                    format!("e{id}"),
                );
                match kind {
                    0 | 1 => {
                        let e = entity(&format!("s{n}"));
                        flat.insert(&t, &ty, &EntityId::new(id.as_str()), e.clone());
                        chunked.insert(&t, &ty, &EntityId::new(id.as_str()), e);
                    }
                    _ => {
                        let a = flat.get_mut(t.as_str(), &ty, &id).map(|e| {
                            e.status.push('!');
                            e.status.clone()
                        });
                        let b = chunked.get_mut(t.as_str(), &ty, &id).map(|e| {
                            e.status.push('!');
                            e.status.clone()
                        });
                        prop_assert_eq!(a, b);
                    }
                }
                prop_assert_eq!(
                    flat.get(t.as_str(), &ty, &id),
                    chunked.get(t.as_str(), &ty, &id)
                );
                if n == ops.len() / 2 {
                    before = Some((flat.clone(), chunked.clone()));
                }
            }
            prop_assert_eq!(flat.len(), chunked.len());
            prop_assert!(flat == chunked);
            prop_assert!(flat.iter().eq(chunked.iter()));
            prop_assert_eq!(format!("{flat:?}"), format!("{chunked:?}"));
            for t in ["t0", "t1", "t2"] {
                for ty in ["T0", "T1"] {
                    prop_assert!(flat.ids_of(t, ty).eq(chunked.ids_of(t, ty)));
                }
            }
            if let Some((a, b)) = before {
                prop_assert!(a.iter().eq(b.iter()));
                prop_assert!(a.into_entities().eq(b.into_entities()));
            }
            prop_assert!(flat.into_entities().eq(chunked.into_entities()));
        }
    }

    #[test]
    fn a_chunked_table_splits_its_runs_and_keeps_them_in_order() {
        let mut store = Store::shared();
        let t = TenantId::new("t");
        for i in (0..1000).rev() {
            store.insert(&t, "X", &EntityId::new(format!("e{i:04}")), entity("A"));
        }
        let Table::Chunked(chunks) = &*store.tables[0] else {
            panic!("a shared store's table is chunked");
        };
        assert!(chunks.len() > 1000 / CHUNK_MAX);
        assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= CHUNK_MAX));
        let ids: Vec<_> = store.ids_of("t", "X").collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        // A clone shares every run; a write copies one run.
        let mut copy = store.clone();
        copy.get_mut("t", "X", "e0500").unwrap().status = "B".into();
        let (Table::Chunked(a), Table::Chunked(b)) = (&*store.tables[0], &*copy.tables[0]) else {
            panic!("chunked");
        };
        let shared = a.iter().zip(b).filter(|(x, y)| Arc::ptr_eq(x, y)).count();
        assert_eq!(shared, a.len() - 1);
        assert_eq!(store.get("t", "X", "e0500").unwrap().status, "A");
        assert_eq!(copy.get("t", "X", "e0500").unwrap().status, "B");
    }
}

//! The entity store: tenant -> entity type -> id -> entity, all ordered maps.
//!
//! Nested maps let a lookup borrow `&str` keys (no key allocation on the hot path) and make
//! tenant scoping structural: nothing reaches an entity without naming its tenant.

use crate::engine::{Entity, EntityId, TenantId};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Store {
    tenants: BTreeMap<TenantId, BTreeMap<String, BTreeMap<EntityId, Entity>>>,
    len: usize,
}

impl Store {
    pub fn get(&self, tenant: &str, entity_type: &str, id: &str) -> Option<&Entity> {
        self.tenants.get(tenant)?.get(entity_type)?.get(id)
    }

    pub fn get_mut(&mut self, tenant: &str, entity_type: &str, id: &str) -> Option<&mut Entity> {
        self.tenants
            .get_mut(tenant)?
            .get_mut(entity_type)?
            .get_mut(id)
    }

    pub fn insert(&mut self, tenant: &TenantId, entity_type: &str, id: &EntityId, entity: Entity) {
        let by_type = self.tenants.entry(tenant.clone()).or_default();
        let by_id = match by_type.get_mut(entity_type) {
            Some(m) => m,
            None => by_type.entry(entity_type.to_string()).or_default(),
        };
        if by_id.insert(id.clone(), entity).is_none() {
            self.len += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every entity in (tenant, type, id) order.
    pub fn iter(&self) -> impl Iterator<Item = (&TenantId, &str, &EntityId, &Entity)> {
        self.tenants.iter().flat_map(|(t, types)| {
            types
                .iter()
                .flat_map(move |(ty, ids)| ids.iter().map(move |(id, e)| (t, ty.as_str(), id, e)))
        })
    }

    /// The ids of one type in one tenant, in order.
    pub fn ids_of<'a>(
        &'a self,
        tenant: &str,
        entity_type: &str,
    ) -> impl Iterator<Item = &'a EntityId> + 'a {
        self.tenants
            .get(tenant)
            .and_then(|m| m.get(entity_type))
            .into_iter()
            .flat_map(|m| m.keys())
    }
}

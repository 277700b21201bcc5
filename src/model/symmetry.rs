//! Symmetry reduction for the cascade model: ids minted by `create` resolvers are
//! interchangeable, so two worlds that differ only in which minted id went to which entity
//! are one state.
//!
//! The representative renames minted ids in the order of what they name: each id's
//! signature is everything attached to it (its entities, the pending messages aimed at it)
//! written with every minted id masked; ids are sorted by signature (ties keep their old
//! order, which is sound but may leave two equivalent states apart) and renamed
//! `minted-1`, `minted-2`, ... in that order. The counter is kept, so the next minted id
//! never collides.

use crate::core::{EntityId, Value};
use crate::engine::Store;
use crate::model::canonical::json_text;
use crate::model::cascade::CascadeState;
use crate::model::host::MINTED_PREFIX;
use crate::model::message::{rename_envelope, rename_value, Message};
use std::collections::BTreeMap;
use std::sync::Arc;

fn minted_index(s: &str) -> Option<u32> {
    s.strip_prefix(MINTED_PREFIX)?.parse().ok()
}

fn masked(value: &Value) -> String {
    let mut v = value.clone();
    rename_value(&mut v, &|s| minted_index(s).map(|_| "#".to_string()));
    json_text(&v)
}

/// The state with minted ids renamed canonically (see the module doc).
pub fn representative(s: &CascadeState) -> CascadeState {
    if s.minted < 2 {
        return s.clone();
    }
    let mut signatures: BTreeMap<u32, String> =
        (1..=s.minted).map(|k| (k, String::new())).collect();
    for (tenant, entity_type, id, e) in s.store.iter() {
        if let Some(k) = minted_index(id.as_str()) {
            if let Some(sig) = signatures.get_mut(&k) {
                sig.push_str(&format!(
                    "{tenant}/{entity_type}/{}/{};",
                    e.status,
                    masked(&Value::Object(e.fields.to_object()))
                ));
            }
        }
    }
    for m in &s.pending {
        if let Message::Reaction(p) = m {
            if let Some(k) = minted_index(p.dispatch.id.as_str()) {
                if let Some(sig) = signatures.get_mut(&k) {
                    sig.push_str(&format!(
                        "<-{}/{}/{}/{};",
                        p.rule.name,
                        p.dispatch.action,
                        masked(&p.dispatch.params),
                        m.is_copy()
                    ));
                }
            }
        }
    }
    let mut order: Vec<(String, u32)> = signatures.into_iter().map(|(k, sig)| (sig, k)).collect();
    order.sort();
    let map: BTreeMap<u32, u32> = order
        .iter()
        .enumerate()
        .map(|(new, (_, old))| (*old, new as u32 + 1))
        .collect();
    if map.iter().all(|(old, new)| old == new) {
        return s.clone();
    }
    let rename = |text: &str| -> Option<String> {
        let k = minted_index(text)?;
        map.get(&k).map(|n| format!("{MINTED_PREFIX}{n}"))
    };
    let mut store = Store::shared();
    for (tenant, entity_type, id, e) in s.store.iter() {
        let mut e = e.clone();
        for v in e.fields.values_mut() {
            rename_value(v, &rename);
        }
        let id = rename(id.as_str())
            .map(EntityId)
            .unwrap_or_else(|| id.clone());
        store.insert(tenant, entity_type, &id, e);
    }
    let mut out = s.clone();
    out.store = store;
    out.pending = s.pending.iter().map(|m| m.rename(&rename)).collect();
    out.memory = s
        .memory
        .iter()
        .map(|(sub, e, at)| (*sub, Arc::new(rename_envelope(e, &rename)), *at))
        .collect();
    // `Type/minted-3 invoke_llm#1 Done`: the id is the first word after the slash.
    out.answers = s
        .answers
        .iter()
        .map(|a| {
            let Some((target, rest)) = a.split_once(' ') else {
                return a.clone();
            };
            match target.split_once('/') {
                Some((ty, id)) => match rename(id) {
                    Some(new) => format!("{ty}/{new} {rest}"),
                    None => a.clone(),
                },
                None => a.clone(),
            }
        })
        .collect();
    out.answers.sort();
    // `tenant\0Type\0minted-3\0invoke_llm`: the id is the third part.
    out.calls = s
        .calls
        .iter()
        .map(|(key, n)| {
            let mut parts: Vec<&str> = key.split('\0').collect();
            let renamed = parts.get(2).and_then(|id| rename(id));
            if let Some(new) = &renamed {
                parts[2] = new;
            }
            (parts.join("\0"), *n)
        })
        .collect();
    out.calls.sort();
    out.seal_store();
    out
}

impl stateright::Representative for CascadeState {
    fn representative(&self) -> Self {
        representative(self)
    }
}

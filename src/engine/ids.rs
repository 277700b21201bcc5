//! Newtypes for names that must not be mixed up, and the JSON value types entities carry.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A JSON value: entity fields, params and payloads. Equality is JSON equality (`1 != 1.0`).
pub type Value = serde_json::Value;
/// An ordered JSON object (serde_json's map is a `BTreeMap` unless `preserve_order` is on,
/// which this crate never enables): iteration order is key order, so it is deterministic.
pub type Fields = serde_json::Map<String, Value>;

macro_rules! string_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                $name(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_string())
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// A tenant: rules, lookups and targets never cross from one tenant to another.
    TenantId
);
string_newtype!(
    /// An entity's id, unique within its tenant and entity type.
    EntityId
);

/// How many causal hops separate a dispatch from its root input. Reactions fired by a root
/// action have depth 0.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Depth(pub u32);

impl fmt::Display for Depth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The reaction engine's bound: reaction results carry depth 0..=7.
pub const MAX_REACTION_DEPTH: u32 = 8;
/// Guards deeper than this are rejected when rules are parsed.
pub const MAX_GUARD_DEPTH: usize = 4;
/// At most this many rules per tenant.
pub const MAX_RULES_PER_TENANT: usize = 256;

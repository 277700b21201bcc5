//! Invariants: the built-in ones (one file each) and the set a run watches.

mod builtins;
mod cascade_truncated;
mod delivery;
mod depth_bound;
mod determinism;
mod expect;
mod fresh_ids;
mod guard_skip_silent;
mod invariant;
mod memo;
mod observation;
pub(crate) use memo::NameMemo;
mod quiescence;
mod spec_invariant;
mod tenant_isolation;
mod valid_transition;

pub use builtins::*;
pub use cascade_truncated::*;
pub use delivery::*;
pub use depth_bound::*;
pub use determinism::*;
pub use expect::*;
pub use fresh_ids::*;
pub use guard_skip_silent::*;
pub use invariant::*;
pub use observation::*;
pub use quiescence::*;
pub use spec_invariant::*;
pub use tenant_isolation::*;
pub use valid_transition::*;

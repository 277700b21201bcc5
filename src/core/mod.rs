//! The vocabulary every floor speaks: virtual time, seeds and rng streams, `sim_uuid`, ids
//! and names, JSON values, subjects, severities, and the trace record types. It is owned by
//! no layer and imports from none: everything above builds on it.

mod coverage;
mod finite;
mod fs;
mod ids;
mod lookup;
#[allow(unsafe_code)] // The crate's one module of unsafe code: see its header.
pub mod raw;
mod record;
mod record_ref;
mod rng;
mod severity;
mod size;
mod subject;
mod template;
mod terminal;
mod time;
mod uuid;

pub use self::uuid::*;
pub use coverage::*;
pub use finite::*;
pub use fs::*;
pub use ids::*;
pub use lookup::*;
pub use record::*;
pub use record_ref::*;
pub use rng::*;
pub use severity::*;
pub use size::*;
pub use subject::*;
pub use template::*;
pub use terminal::*;
pub use time::*;

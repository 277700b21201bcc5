//! The simulator: virtual time, seeded rng streams, `sim_uuid`, the scheduler and the world.

mod faults;
mod host;
mod outcome;
mod prepared;
mod queue;
mod runner;
mod sweep;
mod world;

pub use faults::*;
pub use outcome::*;
pub use prepared::*;
pub use queue::*;
pub use runner::*;
pub use sweep::*;
pub use world::*;

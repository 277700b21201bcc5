//! The simulator: virtual time, seeded rng streams, `sim_uuid`, the scheduler and the world.

mod faults;
mod queue;
mod sweep;
mod world;

pub use faults::*;
pub use queue::*;
pub use sweep::*;
pub use world::*;

//! The simulator: virtual time, seeded rng streams, `sim_uuid`, the scheduler and the world.

mod faults;
mod queue;
mod rng;
mod sweep;
mod time;
mod uuid;
mod world;

pub use self::uuid::*;
pub use faults::*;
pub use queue::*;
pub use rng::*;
pub use sweep::*;
pub use time::*;
pub use world::*;

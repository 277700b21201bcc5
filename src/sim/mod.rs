//! The simulator: virtual time, seeded rng streams, `sim_uuid`, the scheduler and the world.

mod queue;
mod rng;
mod time;
mod uuid;
mod world;

pub use self::uuid::*;
pub use queue::*;
pub use rng::*;
pub use time::*;
pub use world::*;

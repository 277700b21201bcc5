//! Shrinking: from a failing seed to the smallest concrete scenario that fails the same way.

mod concrete;
mod ddmin;
mod planted;
mod reduce;

pub use concrete::*;
pub use ddmin::*;
pub use planted::*;
pub use reduce::*;

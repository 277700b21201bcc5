//! The scenario file format: parse, validate, errors with line and column.

mod load;
mod model;

pub use load::*;
pub use model::*;

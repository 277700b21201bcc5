//! The crate's one module of `unsafe` code (the crate root denies `unsafe_code` everywhere
//! else), each part behind a safe interface:
//!
//! - [`bytes`]: bytes stored straight into a `Vec<u8>`'s spare capacity (the trace encoder);
//! - [`meter`]: the global allocator, which counts the bytes each thread holds (the memory
//!   budgets of runs and checks).

pub(crate) mod bytes;
pub mod meter;

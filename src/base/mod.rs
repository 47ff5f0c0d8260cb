//! The bottom layer: errors, hashing and derived seeds, atomic writes.
//! Imports nothing from the rest of the crate.

pub mod atomic;
pub mod error;
pub mod hash;

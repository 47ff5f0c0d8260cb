//! burn modules and their training loops.

pub mod batch;
pub mod classifier;
pub mod classify;
pub mod conv_ae;
pub mod train;

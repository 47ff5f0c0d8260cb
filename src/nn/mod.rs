//! burn modules and their training loops.

pub mod batch;
pub mod conv_ae;
pub mod train;

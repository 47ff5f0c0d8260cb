//! burn modules and their training loops.

pub mod autoencoder;
pub mod batch;
pub mod classifier;
pub mod classify;
pub mod code_classifier;
pub mod code_head;
pub mod conv_ae;
pub mod init;
pub mod lowered_conv;
pub mod mlp_ae;
pub mod train;

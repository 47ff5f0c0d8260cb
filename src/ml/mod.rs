//! Classic ML beside the networks: embedding statistics, t-SNE, confusion
//! matrices (linfa where it has the algorithm).

pub mod baselines;
pub mod confusion;
pub mod embedding;
pub mod latent;
pub mod tsne;

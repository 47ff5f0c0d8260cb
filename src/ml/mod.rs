//! Classic ML beside the networks: embedding statistics, t-SNE, confusion
//! matrices (linfa where it has the algorithm), and the statistics that put
//! an uncertainty on the book's comparisons.

pub mod baselines;
pub mod confusion;
pub mod embedding;
pub mod latent;
pub mod stats;
pub mod tsne;

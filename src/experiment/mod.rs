//! What a chapter's experiments run with (`Ctx`), and the specs of the
//! trained models they share.

pub mod classic;
pub mod models;
pub mod sections;

use burn::tensor::backend::AutodiffBackend;

use crate::base::hash::derive_seed;
use crate::config::Config;
use crate::data::Dataset;
use crate::store::artifacts::ArtifactStore;

/// What a chapter runs with.
pub struct Ctx<'a, B: AutodiffBackend> {
    pub device: B::Device,
    pub config: &'a Config,
    /// The profile's subsets of its dataset.
    pub data: &'a Dataset,
    /// Trained models, shared across chapters and runs.
    pub artifacts: &'a ArtifactStore,
}

impl<B: AutodiffBackend> Ctx<'_, B> {
    /// A seed for one experiment, derived from the book's base seed and the
    /// experiment's name, so adding an experiment never shifts another's.
    pub fn seed(&self, experiment: &str) -> u64 {
        derive_seed(self.config.book.build.seed, experiment)
    }
}

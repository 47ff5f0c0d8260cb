//! The chapters of the book. Each chapter is a module here (the code that
//! measures) plus `chapters/<id>.typ.j2` (the text that explains).

pub mod autoencoder;
pub mod baselines;
pub mod center_loss;
pub mod classifier;
pub mod classifier_decoding;
pub mod denoising;
pub mod few_shot;
pub mod latent;
pub mod seeds;
pub mod theory;
pub mod transfer;

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::data::Mnist;
use crate::models::PlannedModel;
use crate::store::artifacts::ArtifactStore;
use crate::tables::Table;

/// Every chapter the binary knows, in default book order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
#[value(rename_all = "kebab-case")]
pub enum ChapterId {
    Autoencoder,
    Latent,
    Denoising,
    CenterLoss,
    Classifier,
    ClassifierDecoding,
    FewShot,
    Transfer,
    Baselines,
    Theory,
}

impl ChapterId {
    pub const ALL: [ChapterId; 10] = [
        ChapterId::Autoencoder,
        ChapterId::Latent,
        ChapterId::Denoising,
        ChapterId::Classifier,
        ChapterId::CenterLoss,
        ChapterId::ClassifierDecoding,
        ChapterId::FewShot,
        ChapterId::Transfer,
        ChapterId::Baselines,
        ChapterId::Theory,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChapterId::Autoencoder => "autoencoder",
            ChapterId::Latent => "latent",
            ChapterId::Denoising => "denoising",
            ChapterId::CenterLoss => "center-loss",
            ChapterId::Classifier => "classifier",
            ChapterId::ClassifierDecoding => "classifier-decoding",
            ChapterId::FewShot => "few-shot",
            ChapterId::Transfer => "transfer",
            ChapterId::Baselines => "baselines",
            ChapterId::Theory => "theory",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ChapterId::Autoencoder => "A Convolutional Autoencoder",
            ChapterId::Latent => "The Latent Space",
            ChapterId::Denoising => "Denoising Autoencoders",
            ChapterId::CenterLoss => "Softmax versus Center Loss",
            ChapterId::Classifier => "A Digit Classifier",
            ChapterId::ClassifierDecoding => "Decoding a Classifier's Latent Space",
            ChapterId::FewShot => "Learning from Few Labels",
            ChapterId::Transfer => "Transfer from a Pre-trained Encoder",
            ChapterId::Baselines => "Classic Baselines",
            ChapterId::Theory => "Theory, Checked Numerically",
        }
    }

    /// The `[chapter.*]` sections whose settings the chapter's results
    /// depend on: its own and those of the shared models it uses (the book
    /// AE's `autoencoder`, the book classifier's `classifier`). With the
    /// profile, the base seed, the data, the backend and the ex2 build they
    /// decide whether an earlier run's results can stand for it.
    pub fn sections(self) -> &'static [&'static str] {
        match self {
            ChapterId::Autoencoder => &["autoencoder"],
            ChapterId::Latent => &["autoencoder", "latent", "classifier"],
            ChapterId::Denoising => &["autoencoder", "denoising", "classifier", "baselines"],
            ChapterId::CenterLoss => &["autoencoder", "center-loss"],
            ChapterId::Classifier => &["autoencoder", "classifier"],
            ChapterId::ClassifierDecoding => &["autoencoder", "classifier", "classifier-decoding"],
            ChapterId::FewShot => &["autoencoder", "classifier", "few-shot"],
            ChapterId::Transfer => &["autoencoder", "classifier", "few-shot"],
            ChapterId::Baselines => &["autoencoder", "classifier", "baselines"],
            ChapterId::Theory => &[],
        }
    }

    /// The title as this book prints it: with the few-shot chapter's
    /// number of labels, as configured.
    pub fn title_in(self, config: &Config) -> String {
        match self {
            ChapterId::FewShot => format!(
                "Learning from {} Labels",
                config.book.chapter.few_shot.labels
            ),
            _ => self.title().to_string(),
        }
    }

    /// The chapter's template, relative to the book root.
    pub fn template(self) -> String {
        format!("chapters/{}.typ.j2", self.as_str())
    }

    /// Names of the metric tables the chapter writes.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            ChapterId::Autoencoder => autoencoder::TABLES,
            ChapterId::Latent => latent::TABLES,
            ChapterId::Denoising => denoising::TABLES,
            ChapterId::CenterLoss => center_loss::TABLES,
            ChapterId::Classifier => classifier::TABLES,
            ChapterId::ClassifierDecoding => classifier_decoding::TABLES,
            ChapterId::FewShot => few_shot::TABLES,
            ChapterId::Transfer => transfer::TABLES,
            ChapterId::Baselines => baselines::TABLES,
            ChapterId::Theory => theory::TABLES,
        }
    }
}

impl fmt::Display for ChapterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A figure file of a chapter (SVG or PNG bytes).
#[derive(Debug, Clone)]
pub struct Figure {
    pub file: String,
    pub bytes: Vec<u8>,
}

/// What a chapter hands to the store and the template.
#[derive(Debug, Clone, Default)]
pub struct ChapterOutput {
    pub tables: Vec<Table>,
    pub figures: Vec<Figure>,
    /// Named measured values the template reasons with.
    pub facts: serde_json::Map<String, Value>,
    /// Experiment name → seed it ran with.
    pub seeds: BTreeMap<String, u64>,
}

impl ChapterOutput {
    /// Sets the facts from the chapter's typed facts (a struct: one field a
    /// fact; non-finite numbers become null).
    pub fn set_facts(&mut self, facts: &impl Serialize) -> Result<()> {
        match serde_json::to_value(facts)? {
            Value::Object(map) => {
                self.facts.extend(map);
                Ok(())
            }
            other => anyhow::bail!("a chapter's facts are a struct, not {other}"),
        }
    }
}

/// What a chapter runs with.
pub struct Ctx<'a, B: AutodiffBackend> {
    pub device: B::Device,
    pub config: &'a Config,
    /// The profile's subsets of MNIST.
    pub data: &'a Mnist,
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

/// The test error after the last epoch, as the training loop measured it on
/// the profile's test images: what `evaluate` gives for the stored model,
/// without another pass over the test set (a cached chapter re-renders fast).
pub fn final_test_error(
    history: &[crate::nn::train::EpochRecord],
) -> crate::nn::autoencoder::ReconstructionError {
    let last = history.last().expect("training records at least one epoch");
    crate::nn::autoencoder::ReconstructionError {
        l1: last.test_l1,
        mse: last.test_mse,
    }
}

/// The digit the classifier reads in each 28×28 image (bytes): how the
/// chapters judge generated, interpolated and denoised digits.
pub fn classify_digits<B: burn::tensor::backend::Backend>(
    classifier: &crate::nn::classifier::Classifier<B>,
    images: &[Vec<u8>],
    device: &B::Device,
) -> Vec<u8> {
    let side = crate::nn::conv_ae::SIDE;
    let split = crate::data::Split {
        images: crate::data::Images {
            count: images.len(),
            rows: side,
            cols: side,
            pixels: images.concat(),
        },
        labels: vec![0; images.len()],
    };
    crate::nn::classify::embed(classifier, &split, device).predictions
}

pub fn derive_seed(base: u64, experiment: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(base.to_le_bytes());
    h.update(experiment.as_bytes());
    let d = h.finalize();
    u64::from_le_bytes(d[..8].try_into().expect("8 bytes"))
}

pub fn run_chapter<B: AutodiffBackend>(id: ChapterId, ctx: &Ctx<B>) -> Result<ChapterOutput> {
    match id {
        ChapterId::Autoencoder => autoencoder::run(ctx),
        ChapterId::Latent => latent::run(ctx),
        ChapterId::Denoising => denoising::run(ctx),
        ChapterId::CenterLoss => center_loss::run(ctx),
        ChapterId::Classifier => classifier::run(ctx),
        ChapterId::ClassifierDecoding => classifier_decoding::run(ctx),
        ChapterId::FewShot => few_shot::run(ctx),
        ChapterId::Transfer => transfer::run(ctx),
        ChapterId::Baselines => baselines::run(ctx),
        ChapterId::Theory => theory::run(ctx),
    }
}

/// The cached models chapter `id` loads or trains.
pub fn chapter_models<B: AutodiffBackend>(
    id: ChapterId,
    ctx: &Ctx<B>,
) -> Result<Vec<PlannedModel>> {
    match id {
        ChapterId::Autoencoder => autoencoder::models(ctx),
        ChapterId::Latent => latent::models(ctx),
        ChapterId::Denoising => denoising::models(ctx),
        ChapterId::CenterLoss => center_loss::models(ctx),
        ChapterId::Classifier => classifier::models(ctx),
        ChapterId::ClassifierDecoding => classifier_decoding::models(ctx),
        ChapterId::FewShot => few_shot::models(ctx),
        ChapterId::Transfer => transfer::models(ctx),
        ChapterId::Baselines => baselines::models(ctx),
        ChapterId::Theory => theory::models(ctx),
    }
}

/// Every cached model the book's chapters need, each once, in book order:
/// the plan a build loads or trains (with the profile's first seed).
pub fn book_models<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<PlannedModel>> {
    let mut planned: Vec<PlannedModel> = Vec::new();
    for &id in &ctx.config.book.book.chapters {
        for m in chapter_models(id, ctx)? {
            match planned.iter().find(|p| p.name == m.name) {
                Some(p) => anyhow::ensure!(
                    p.key == m.key,
                    "{id} plans {} as {}, another chapter as {}",
                    m.name,
                    m.key,
                    p.key
                ),
                None => planned.push(m),
            }
        }
    }
    Ok(planned)
}

/// Chapters run their independent trainings through the book's scheduler.
pub use crate::scheduler::parallel;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_per_experiment_and_base() {
        let a = derive_seed(1, "autoencoder/conv-ae");
        assert_eq!(a, derive_seed(1, "autoencoder/conv-ae"));
        assert_ne!(a, derive_seed(2, "autoencoder/conv-ae"));
        assert_ne!(a, derive_seed(1, "latent/d2"));
    }

    #[test]
    fn ids_round_trip_through_their_names() {
        for id in ChapterId::ALL {
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{}\"", id.as_str()));
        }
    }
}

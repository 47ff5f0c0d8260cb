//! The chapters of the book. Each chapter is a module here (the code that
//! measures) plus `chapters/<id>.typ.j2` (the text that explains).

pub mod autoencoder;

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::data::Mnist;
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
}

impl ChapterId {
    pub const ALL: [ChapterId; 1] = [ChapterId::Autoencoder];

    pub fn as_str(self) -> &'static str {
        match self {
            ChapterId::Autoencoder => "autoencoder",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ChapterId::Autoencoder => "A Convolutional Autoencoder",
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
    pub fn fact(&mut self, name: &str, value: impl Into<Value>) {
        self.facts.insert(name.to_string(), value.into());
    }

    /// A float fact; non-finite values become null (the template says so).
    pub fn fact_f64(&mut self, name: &str, value: f64) {
        self.facts.insert(
            name.to_string(),
            serde_json::Number::from_f64(value)
                .map(Value::Number)
                .unwrap_or(Value::Null),
        );
    }
}

/// What a chapter runs with.
pub struct Ctx<'a, B: AutodiffBackend> {
    pub device: B::Device,
    pub config: &'a Config,
    /// The profile's subsets of MNIST.
    pub data: &'a Mnist,
}

impl<B: AutodiffBackend> Ctx<'_, B> {
    /// A seed for one experiment, derived from the book's base seed and the
    /// experiment's name, so adding an experiment never shifts another's.
    pub fn seed(&self, experiment: &str) -> u64 {
        derive_seed(self.config.book.build.seed, experiment)
    }
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
    }
}

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

//! The chapters of the book. Each chapter is a folder here (the code that
//! measures) plus `chapters/<id>.typ.j2` (the text that explains).
//!
//! Every chapter module provides the same five items, which the registry
//! (`book::for_each_chapter!`) dispatches to:
//! `TABLES` (its metric tables), `SECTIONS` (the `[chapter.*]` sections its
//! results depend on), `title(config)`, `models(ctx)` (the cached models it
//! loads or trains) and `run(ctx)`.

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

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;

use crate::book::{ChapterId, ChapterOutput};
use crate::config::Config;
use crate::experiment::Ctx;
use crate::experiment::models::PlannedModel;

macro_rules! dispatch_chapters {
    ($($variant:ident => $module:ident $id:literal),* $(,)?) => {
        /// Runs chapter `id` once (one seed).
        pub fn run_chapter<B: AutodiffBackend>(id: ChapterId, ctx: &Ctx<B>) -> Result<ChapterOutput> {
            match id {
                $(ChapterId::$variant => $module::run(ctx),)*
            }
        }

        /// The cached models chapter `id` loads or trains.
        pub fn chapter_models<B: AutodiffBackend>(
            id: ChapterId,
            ctx: &Ctx<B>,
        ) -> Result<Vec<PlannedModel>> {
            match id {
                $(ChapterId::$variant => $module::models(ctx),)*
            }
        }

        /// The title as this book prints it (the few-shot chapter's has
        /// its number of labels, as configured).
        pub fn title(id: ChapterId, config: &Config) -> String {
            match id {
                $(ChapterId::$variant => $module::title(config),)*
            }
        }

        /// The `[chapter.*]` sections whose settings the chapter's results
        /// depend on: its own and those of the shared models it uses (the
        /// book AE's `autoencoder`, the book classifier's `classifier`).
        /// With the profile, the base seed, the data, the backend and the
        /// ex2 build they decide whether an earlier run's results can
        /// stand for it.
        pub fn sections(id: ChapterId) -> &'static [&'static str] {
            match id {
                $(ChapterId::$variant => $module::SECTIONS,)*
            }
        }

        /// Names of the metric tables the chapter writes.
        pub fn tables(id: ChapterId) -> &'static [&'static str] {
            match id {
                $(ChapterId::$variant => $module::TABLES,)*
            }
        }
    };
}

crate::for_each_chapter!(dispatch_chapters);

/// The chapter's template, relative to the book root.
pub fn template(id: ChapterId) -> String {
    format!("chapters/{}.typ.j2", id.as_str())
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
pub use crate::runtime::scheduler::parallel;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chapter_names_its_tables_and_a_title() {
        let config = Config::from_toml(
            &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/book.toml")).unwrap(),
            std::path::Path::new("book.toml"),
            std::path::PathBuf::from("."),
            Some("smoke"),
        )
        .unwrap();
        for &id in ChapterId::ALL {
            assert!(!tables(id).is_empty(), "{id} names no tables");
            assert!(!title(id, &config).is_empty(), "{id} has no title");
        }
    }
}

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
pub mod published;
pub mod seeds;
pub mod theory;
pub mod transfer;

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;

use crate::base::error::Ex2Error;
use crate::book::{ChapterId, ChapterOutput};
use crate::config::{BookConfig, Config};
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
        pub fn chapter_models<'a, B: AutodiffBackend>(
            id: ChapterId,
            ctx: &'a Ctx<B>,
        ) -> Result<Vec<PlannedModel<'a>>> {
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

        /// Checks every `[chapter.*]` section against the type of the code
        /// that owns it and completes it with its defaults; a section no
        /// chapter owns is an error.
        pub fn check_sections(book: &mut BookConfig) -> Result<(), String> {
            $($module::check_section(book)?;)*
            let known = [$($id),*];
            if let Some(unknown) = book.chapter.keys().find(|k| !known.contains(&k.as_str())) {
                return Err(format!(
                    "unknown section [chapter.{unknown}]; chapters: {}",
                    known.join(", ")
                ));
            }
            Ok(())
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

/// Reads book.toml (`--set` overrides applied), selects the profile and
/// checks every chapter's section: the configuration every command runs with.
pub fn load_config(
    path: &std::path::Path,
    profile: Option<&str>,
    overrides: &[String],
) -> Result<Config, Ex2Error> {
    let mut config = Config::load_with(path, profile, overrides)?;
    check_sections(&mut config.book).map_err(|message| Ex2Error::Config {
        file: path.to_path_buf(),
        message,
    })?;
    Ok(config)
}

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
pub fn book_models<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> Result<Vec<PlannedModel<'a>>> {
    let mut planned: Vec<PlannedModel<'a>> = Vec::new();
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
        let config = book(&[]).unwrap();
        for &id in ChapterId::ALL {
            assert!(!tables(id).is_empty(), "{id} names no tables");
            assert!(!title(id, &config).is_empty(), "{id} has no title");
        }
    }

    fn book(overrides: &[&str]) -> Result<Config, String> {
        let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        let path = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/book.toml"));
        load_config(path, Some("smoke"), &o).map_err(|e| e.to_string())
    }

    #[test]
    fn sections_are_checked_and_completed_by_their_chapters() {
        let c = book(&["chapter.latent.dims=[2, 12]"]).unwrap();
        assert_eq!(c.section::<latent::LatentSection>().dims, [2, 12]);
        // Defaults fill what book.toml leaves out.
        assert_eq!(c.book.chapter["latent"]["plot-points"], 2000);
        for (set, names) in [
            ("chapter.latent.dims=[]", "chapter.latent.dims"),
            ("chapter.latent.dims=[2, 12, 2]", "lists d = 2 twice"),
            ("chapter.latent.dimz=[2]", "dimz"),
            (
                "chapter.autoencoder.latent-dim=0",
                "chapter.autoencoder.latent-dim",
            ),
            (
                "chapter.autoencoder.learning-rate=-1.0",
                "chapter.autoencoder.learning-rate",
            ),
            ("chapter.theory.x=1", "no settings of its own"),
            ("chapter.nonesuch.x=1", "unknown section [chapter.nonesuch]"),
            (
                "chapter.few-shot.labels=\"many\"",
                "chapter.few-shot.labels: invalid type",
            ),
        ] {
            let e = book(&[set]).unwrap_err();
            assert!(e.contains(names), "{set}: {e}");
        }
    }
}

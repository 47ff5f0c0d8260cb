//! Chapter `classifier-decoding`: a decoder (the AE's decoder architecture)
//! trained to reconstruct digits from the frozen classifier encoder's codes,
//! compared with the autoencoder trained for reconstruction.

pub mod section;

use anyhow::Result;
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::classify_digits;
use super::final_test_error;
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::{BookConfig, Config};
use crate::data::TrainingSet;
use crate::experiment::Ctx;
use crate::experiment::models::{self, PlannedModel, TrainedAe, TrainedClassifier};
use crate::experiment::sections::AutoencoderSection;
use crate::ml::embedding::{EmbeddingStats, embedding_stats};
use crate::ml::latent::mean_pairwise_distance;
use crate::ml::stats::{Difference, paired_difference};
use crate::nn::autoencoder::per_image_l1_against;
use crate::nn::autoencoder::{Autoencoder, ReconstructionError};
use crate::nn::classifier::Classifier;
use crate::nn::conv_ae::{ConvAutoencoder, ConvAutoencoderConfig, SIDE};
use crate::nn::train::{ReconstructionTrainingConfig, check_left_plateau, train_reconstruction};
use crate::plot::digit_grid_png;

pub use section::ClassifierDecodingSection;

pub const TABLES: &[&str] = &["reconstruction", "latent_spaces"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "classifier", "classifier-decoding"];

pub fn title(_config: &Config) -> String {
    "Decoding a Classifier's Latent Space".into()
}

/// Checks `[chapter.classifier-decoding]` and completes it with its defaults.
pub fn check_section(book: &mut BookConfig) -> Result<(), String> {
    crate::config::section::complete::<ClassifierDecodingSection>(book)
}

/// A fresh decoder trained under the book classifier's frozen encoder.
#[derive(Serialize)]
struct DecoderSpec {
    /// The classifier's artifact key.
    classifier: String,
    decoder: ConvAutoencoderConfig,
    training: ReconstructionTrainingConfig,
    train_set: TrainingSet,
}

/// Test digits per class whose reconstructions are compared for diversity.
const DIVERSITY_PER_CLASS: usize = 100;

/// What the chapter's text reasons with, each computed once.
#[derive(Serialize)]
struct Facts {
    digits: usize,
    per_class: usize,
    ae_l1: f64,
    decoder_l1: f64,
    /// Decoder minus AE test L1, paired by test image (one training each).
    decoder_vs_ae: Difference,
    ae_intra: f64,
    clf_intra: f64,
    ae_inter: f64,
    clf_inter: f64,
    decoder_params: usize,
    /// Mean pairwise L2 distance within a class, averaged over classes: of
    /// the test digits, of their AE reconstructions, of the classifier
    /// decoder's.
    real_diversity: f64,
    ae_diversity: f64,
    decoder_diversity: f64,
    /// Share of reconstructions the book classifier reads as their digit.
    ae_recognised: f64,
    decoder_recognised: f64,
}

/// Kind of the decoder's cache entries.
const CLASSIFIER_DECODER: &str = "classifier-decoder";

fn spec<B: AutodiffBackend>(ctx: &Ctx<B>, classifier_key: &str) -> DecoderSpec {
    let section = ctx.config.section::<ClassifierDecodingSection>();
    // The AE recipe's optimizer and output initialisation (the decoder is the
    // book AE's decoder).
    let ae = ctx.config.section::<AutoencoderSection>();
    let profile = &ctx.config.profile;
    DecoderSpec {
        classifier: classifier_key.to_string(),
        decoder: models::conv_ae_config(ctx.config),
        training: ReconstructionTrainingConfig::new(
            profile.epochs,
            profile.batch_size,
            section.learning_rate,
            ctx.seed("classifier-decoding/decoder"),
        )
        .with_mse_warmup_epochs(section.mse_warmup_epochs)
        .with_adam_epsilon(ae.adam_epsilon)
        .with_output_bias_at_mean(ae.output_bias_at_mean),
        train_set: ctx.data.training_set().clone(),
    }
}

/// The models the chapter loads or trains.
pub fn models<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> Result<Vec<PlannedModel<'a>>> {
    let classifier = models::planned_book_classifier(ctx);
    let decoder = PlannedModel::new(
        ctx.artifacts,
        "classifier-decoding/decoder",
        CLASSIFIER_DECODER,
        &spec(ctx, &classifier.key),
        move || train_decoder(ctx, &models::book_classifier(ctx)?).map(drop),
    );
    Ok(vec![
        models::planned_book_autoencoder(ctx),
        classifier,
        decoder,
    ])
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let ae = models::book_autoencoder(ctx)?;
    let clf = models::book_classifier(ctx)?;
    let decoder = train_decoder(ctx, &clf)?;
    out.seeds.insert("decoder".into(), decoder.seed);
    let decoded = decoder.trained;

    let models = Models {
        ae: ae.model.valid(),
        decoder: decoded.model.valid(),
        classifier: clf.model.valid(),
    };
    let reconstruction = reconstruction_study(ctx, &ae, &decoded)?;
    out.tables.push(reconstruction.table);
    let latent = latent_spaces_study(ctx, &models)?;
    out.tables.push(latent.table);
    let shown = reconstructions_figure(ctx, &models)?;
    out.figures.push(shown.figure);
    let diversity = diversity_study(ctx, &models);
    let test = &ctx.data.test.images;

    out.set_facts(&Facts {
        digits: shown.digits,
        per_class: DIVERSITY_PER_CLASS,
        ae_l1: reconstruction.ae.l1,
        decoder_l1: reconstruction.decoder.l1,
        decoder_vs_ae: paired_difference(
            &per_image_l1_against(&models.decoder, test, test, &ctx.device),
            &per_image_l1_against(&models.ae, test, test, &ctx.device),
        ),
        ae_intra: latent.ae.intra_normalised,
        clf_intra: latent.classifier.intra_normalised,
        ae_inter: latent.ae.inter_normalised,
        clf_inter: latent.classifier.inter_normalised,
        decoder_params: decoded.model.decoder.num_params(),
        real_diversity: diversity.real,
        ae_diversity: diversity.ae,
        decoder_diversity: diversity.decoder,
        ae_recognised: diversity.ae_recognised,
        decoder_recognised: diversity.decoder_recognised,
    })?;
    Ok(out)
}

/// The decoder trained on the frozen classifier's codes, and its seed.
struct Decoder<B: AutodiffBackend> {
    seed: u64,
    trained: TrainedAe<B>,
}

/// Loads or trains a fresh decoder under the classifier's frozen encoder.
fn train_decoder<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    clf: &TrainedClassifier<B>,
) -> Result<Decoder<B>> {
    let device = &ctx.device;
    let spec = spec(ctx, &clf.key);
    let seed = spec.training.seed;
    let decoder_config = spec.decoder.clone();
    // The classifier's encoder, frozen, under a fresh decoder.
    let frozen = clf.model.encoder.clone().no_grad();
    let trained = ctx.artifacts.load_or_train::<B, _, _, _>(
        CLASSIFIER_DECODER,
        &spec,
        device,
        || decoder_config.init::<B>(device),
        || {
            let fresh = crate::nn::init::seeded_init::<B, _>(device, seed, || {
                decoder_config.init::<B>(device)
            });
            let model = ConvAutoencoder {
                encoder: frozen,
                decoder: fresh.decoder,
            };
            Ok(train_reconstruction(
                "decoder on classifier codes",
                model,
                &spec.train_set.split().images,
                &ctx.data.test.images,
                &spec.training,
                device,
            )?)
        },
    )?;
    check_left_plateau(
        "decoder on classifier codes",
        &trained.history,
        ctx.data.test.mean_pixel(),
    )?;
    Ok(Decoder { seed, trained })
}

/// The trained models, as evaluated (no autodiff).
struct Models<B: AutodiffBackend> {
    ae: ConvAutoencoder<B::InnerBackend>,
    decoder: ConvAutoencoder<B::InnerBackend>,
    classifier: Classifier<B::InnerBackend>,
}

/// One model's test reconstruction error.
#[derive(Serialize)]
struct ReconstructionRow {
    model: &'static str,
    latent_dim: u64,
    test_l1: f64,
    test_mse: f64,
}

struct Reconstruction {
    table: Table,
    ae: ReconstructionError,
    decoder: ReconstructionError,
}

/// The AE's and the classifier decoder's test errors, as their trainings
/// measured them.
fn reconstruction_study<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    ae: &TrainedAe<B>,
    decoded: &TrainedAe<B>,
) -> Result<Reconstruction> {
    let latent_dim = ctx.config.section::<AutoencoderSection>().latent_dim as u64;
    let ae = final_test_error(&ae.history);
    let decoder = final_test_error(&decoded.history);
    let row = |model, e: &ReconstructionError| ReconstructionRow {
        model,
        latent_dim,
        test_l1: e.l1,
        test_mse: e.mse,
    };
    let rows = [
        row("autoencoder", &ae),
        row("classifier encoder + decoder", &decoder),
    ];
    Ok(Reconstruction {
        table: Table::from_rows("reconstruction", &["model"], &rows)?,
        ae,
        decoder,
    })
}

/// One latent space's class geometry.
#[derive(Serialize)]
struct LatentSpaceRow {
    latent_space: &'static str,
    intra_normalised: f64,
    inter_normalised: f64,
    intra_inter_ratio: f64,
}

struct LatentSpaces {
    table: Table,
    ae: EmbeddingStats,
    classifier: EmbeddingStats,
}

/// The two latent spaces, measured with the same functions as center-loss.
fn latent_spaces_study<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    models: &Models<B>,
) -> Result<LatentSpaces> {
    let test = &ctx.data.test;
    let (ae_codes, d) = models.ae.encoder.encode_all(&test.images, &ctx.device);
    let (clf_codes, _) = models
        .classifier
        .encoder
        .encode_all(&test.images, &ctx.device);
    let ae = embedding_stats(&ae_codes, d, &test.labels);
    let classifier = embedding_stats(&clf_codes, d, &test.labels);
    let row = |latent_space, s: &EmbeddingStats| LatentSpaceRow {
        latent_space,
        intra_normalised: s.intra_normalised,
        inter_normalised: s.inter_normalised,
        intra_inter_ratio: s.ratio,
    };
    let rows = [row("autoencoder", &ae), row("classifier", &classifier)];
    Ok(LatentSpaces {
        table: Table::from_rows("latent_spaces", &["latent_space"], &rows)?,
        ae,
        classifier,
    })
}

/// The figure of the first test digits and how many it shows.
struct Shown {
    figure: Figure,
    digits: usize,
}

/// ≥ 50 digits: blocks of 25 columns, each block original / AE / decoder.
fn reconstructions_figure<B: AutodiffBackend>(ctx: &Ctx<B>, models: &Models<B>) -> Result<Shown> {
    let test = &ctx.data.test;
    let device = &ctx.device;
    let n = ctx
        .config
        .section::<ClassifierDecodingSection>()
        .digits
        .min(test.len());
    let originals: Vec<Vec<u8>> = (0..n).map(|i| test.images.image(i).to_vec()).collect();
    let first: Vec<usize> = (0..n).collect();
    let ae_rec = models.ae.reconstruct(&test.images, &first, device);
    let dec_rec = models.decoder.reconstruct(&test.images, &first, device);
    let mut rows = Vec::new();
    for start in (0..n).step_by(25) {
        let end = (start + 25).min(n);
        rows.push(originals[start..end].to_vec());
        rows.push(ae_rec[start..end].to_vec());
        rows.push(dec_rec[start..end].to_vec());
    }
    Ok(Shown {
        figure: Figure {
            file: "reconstructions.png".into(),
            bytes: digit_grid_png(&rows, SIDE, 2)?,
        },
        digits: n,
    })
}

/// Mean pairwise distance within a class, averaged over classes, and the
/// share of reconstructions the book classifier reads as their digit.
struct Diversity {
    real: f64,
    ae: f64,
    decoder: f64,
    ae_recognised: f64,
    decoder_recognised: f64,
}

/// Is the classifier's decoder's digit more generic? Per class, the mean
/// pairwise distance between the reconstructions of the same test
/// digits (originals, AE, classifier decoder), and how often the book
/// classifier reads each reconstruction as its digit.
fn diversity_study<B: AutodiffBackend>(ctx: &Ctx<B>, models: &Models<B>) -> Diversity {
    let test = &ctx.data.test;
    let device = &ctx.device;
    let mut diversity = [0.0f64; 3];
    let mut recognised = [0usize; 2];
    let mut judged = 0usize;
    for digit in 0..10u8 {
        let idx: Vec<usize> = (0..test.len())
            .filter(|&i| test.labels[i] == digit)
            .take(DIVERSITY_PER_CLASS)
            .collect();
        let real: Vec<Vec<u8>> = idx.iter().map(|&i| test.images.image(i).to_vec()).collect();
        let by_ae = models.ae.reconstruct(&test.images, &idx, device);
        let by_dec = models.decoder.reconstruct(&test.images, &idx, device);
        for (k, images) in [&real, &by_ae, &by_dec].into_iter().enumerate() {
            diversity[k] += mean_pairwise_distance(images) / 10.0;
        }
        for (k, images) in [by_ae, by_dec].into_iter().enumerate() {
            recognised[k] += classify_digits(&models.classifier, &images, device)
                .iter()
                .filter(|&&p| p == digit)
                .count();
        }
        judged += idx.len();
    }
    let [real, ae, decoder] = diversity;
    Diversity {
        real,
        ae,
        decoder,
        ae_recognised: recognised[0] as f64 / judged as f64,
        decoder_recognised: recognised[1] as f64 / judged as f64,
    }
}

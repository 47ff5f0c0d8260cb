//! Chapter `classifier-decoding`: a decoder (the AE's decoder architecture)
//! trained to reconstruct digits from the frozen classifier encoder's codes,
//! compared with the autoencoder trained for reconstruction.

use anyhow::Result;
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::AutodiffBackend;
use polars::prelude::Column;
use serde::Serialize;

use super::classify_digits;
use super::final_test_error;
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::Config;
use crate::data::TrainingSet;
use crate::experiment::Ctx;
use crate::experiment::models::{self, PlannedModel};
use crate::ml::embedding::embedding_stats;
use crate::ml::latent::mean_pairwise_distance;
use crate::nn::autoencoder::Autoencoder;
use crate::nn::conv_ae::{ConvAutoencoder, ConvAutoencoderConfig, SIDE};
use crate::nn::train::{ReconstructionTrainingConfig, train_reconstruction};
use crate::plot::digit_grid_png;

pub const TABLES: &[&str] = &["reconstruction", "latent_spaces"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "classifier", "classifier-decoding"];

pub fn title(_config: &Config) -> String {
    "Decoding a Classifier's Latent Space".into()
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
    let c = &ctx.config.book.chapter;
    let section = &c.classifier_decoding;
    let profile = &ctx.config.profile;
    DecoderSpec {
        classifier: classifier_key.to_string(),
        decoder: models::conv_ae_config(c),
        training: ReconstructionTrainingConfig::new(
            profile.epochs,
            profile.batch_size,
            section.learning_rate,
            ctx.seed("classifier-decoding/decoder"),
        )
        .with_mse_warmup_epochs(section.mse_warmup_epochs),
        train_set: ctx.data.training_set().clone(),
    }
}

/// The models the chapter loads or trains.
pub fn models<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<PlannedModel>> {
    let classifier = models::planned_book_classifier(ctx);
    let decoder = PlannedModel::new(
        ctx.artifacts,
        "classifier-decoding/decoder",
        CLASSIFIER_DECODER,
        &spec(ctx, &classifier.key),
    );
    Ok(vec![
        models::planned_book_autoencoder(ctx),
        classifier,
        decoder,
    ])
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let c = &ctx.config.book.chapter;
    let section = &c.classifier_decoding;
    let device = &ctx.device;

    let ae = models::book_autoencoder(ctx)?;
    let clf = models::book_classifier(ctx)?;

    let spec = spec(ctx, &clf.key);
    let seed = spec.training.seed;
    out.seeds.insert("decoder".into(), seed);
    let decoder_config = spec.decoder.clone();
    // The classifier's encoder, frozen, under a fresh decoder.
    let frozen = clf.model.encoder.clone().no_grad();
    let decoded = ctx.artifacts.load_or_train::<B, _, _, _>(
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

    let test = &ctx.data.test;
    let ae_model = ae.model.valid();
    let dec_model = decoded.model.valid();
    let ae_err = final_test_error(&ae.history);
    let dec_err = final_test_error(&decoded.history);
    out.tables.push(Table::new(
        "reconstruction",
        &["model"],
        vec![
            Column::new(
                "model".into(),
                ["autoencoder", "classifier encoder + decoder"],
            ),
            Column::new("latent_dim".into(), [c.autoencoder.latent_dim as u32; 2]),
            Column::new("test_l1".into(), [ae_err.l1, dec_err.l1]),
            Column::new("test_mse".into(), [ae_err.mse, dec_err.mse]),
        ],
    )?);

    // The two latent spaces, measured with the same functions as center-loss.
    let (ae_codes, d) = ae_model.encoder.encode_all(&test.images, device);
    let (clf_codes, _) = clf.model.valid().encoder.encode_all(&test.images, device);
    let ae_stats = embedding_stats(&ae_codes, d, &test.labels);
    let clf_stats = embedding_stats(&clf_codes, d, &test.labels);
    out.tables.push(Table::new(
        "latent_spaces",
        &["latent_space"],
        vec![
            Column::new("latent_space".into(), ["autoencoder", "classifier"]),
            Column::new(
                "intra_normalised".into(),
                [ae_stats.intra_normalised, clf_stats.intra_normalised],
            ),
            Column::new(
                "inter_normalised".into(),
                [ae_stats.inter_normalised, clf_stats.inter_normalised],
            ),
            Column::new(
                "intra_inter_ratio".into(),
                [ae_stats.ratio, clf_stats.ratio],
            ),
        ],
    )?);

    // ≥ 50 digits: blocks of 25 columns, each block original / AE / decoder.
    let n = section.digits.min(test.len());
    let originals: Vec<Vec<u8>> = (0..n).map(|i| test.images.image(i).to_vec()).collect();
    let first: Vec<usize> = (0..n).collect();
    let ae_rec = ae_model.reconstruct(&test.images, &first, device);
    let dec_rec = dec_model.reconstruct(&test.images, &first, device);
    let mut rows = Vec::new();
    for start in (0..n).step_by(25) {
        let end = (start + 25).min(n);
        rows.push(originals[start..end].to_vec());
        rows.push(ae_rec[start..end].to_vec());
        rows.push(dec_rec[start..end].to_vec());
    }
    out.figures.push(Figure {
        file: "reconstructions.png".into(),
        bytes: digit_grid_png(&rows, SIDE, 2)?,
    });

    // Is the classifier's decoder's digit more generic? Per class, the mean
    // pairwise distance between the reconstructions of the same test
    // digits (originals, AE, classifier decoder), and how often the book
    // classifier reads each reconstruction as its digit.
    let mut diversity = [0.0f64; 3];
    let mut recognised = [0usize; 2];
    let mut judged = 0usize;
    let clf_valid = clf.model.valid();
    for digit in 0..10u8 {
        let idx: Vec<usize> = (0..test.len())
            .filter(|&i| test.labels[i] == digit)
            .take(DIVERSITY_PER_CLASS)
            .collect();
        let real: Vec<Vec<u8>> = idx.iter().map(|&i| test.images.image(i).to_vec()).collect();
        let by_ae = ae_model.reconstruct(&test.images, &idx, device);
        let by_dec = dec_model.reconstruct(&test.images, &idx, device);
        for (k, images) in [&real, &by_ae, &by_dec].into_iter().enumerate() {
            diversity[k] += mean_pairwise_distance(images) / 10.0;
        }
        for (k, images) in [by_ae, by_dec].into_iter().enumerate() {
            recognised[k] += classify_digits(&clf_valid, &images, device)
                .iter()
                .filter(|&&p| p == digit)
                .count();
        }
        judged += idx.len();
    }
    out.set_facts(&Facts {
        digits: n,
        per_class: DIVERSITY_PER_CLASS,
        ae_l1: ae_err.l1,
        decoder_l1: dec_err.l1,
        ae_intra: ae_stats.intra_normalised,
        clf_intra: clf_stats.intra_normalised,
        ae_inter: ae_stats.inter_normalised,
        clf_inter: clf_stats.inter_normalised,
        decoder_params: decoded.model.decoder.num_params(),
        real_diversity: diversity[0],
        ae_diversity: diversity[1],
        decoder_diversity: diversity[2],
        ae_recognised: recognised[0] as f64 / judged as f64,
        decoder_recognised: recognised[1] as f64 / judged as f64,
    })?;
    Ok(out)
}

//! Chapter `classifier-decoding`: a decoder (the AE's decoder architecture)
//! trained to reconstruct digits from the frozen classifier encoder's codes,
//! compared with the autoencoder trained for reconstruction.

use anyhow::Result;
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::AutodiffBackend;
use polars::prelude::Column;
use serde::Serialize;

use super::final_test_error;
use super::{ChapterOutput, Ctx, Figure};
use crate::ml::embedding::embedding_stats;
use crate::data::TrainingSet;
use crate::models::{self, PlannedModel};
use crate::nn::autoencoder::Autoencoder;
use crate::nn::conv_ae::{ConvAutoencoder, ConvAutoencoderConfig, SIDE};
use crate::nn::train::{ReconstructionTrainingConfig, train_reconstruction};
use crate::plot::digit_grid_png;
use crate::tables::Table;

pub const TABLES: &[&str] = &["reconstruction", "latent_spaces"];

/// A fresh decoder trained under the book classifier's frozen encoder.
#[derive(Serialize)]
struct DecoderSpec {
    /// The classifier's artifact key.
    classifier: String,
    decoder: ConvAutoencoderConfig,
    training: ReconstructionTrainingConfig,
    train_set: TrainingSet,
}

/// Kind of the decoder's cache entries.
const CLASSIFIER_DECODER: &str = "classifier-decoder";

fn spec<B: AutodiffBackend>(ctx: &Ctx<B>, classifier_key: &str) -> DecoderSpec {
    let c = &ctx.config.book.chapter;
    let section = &c.classifier_decoding;
    let profile = &ctx.config.profile;
    DecoderSpec {
        classifier: classifier_key.to_string(),
        decoder: ConvAutoencoderConfig::new(c.autoencoder.latent_dim)
            .with_channels(c.autoencoder.channels),
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
            let fresh =
                models::seeded_init::<B, _>(device, seed, || decoder_config.init::<B>(device));
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

    out.fact("digits", n);
    out.fact("latent_dim", c.autoencoder.latent_dim);
    out.fact_f64("ae_l1", ae_err.l1);
    out.fact_f64("decoder_l1", dec_err.l1);
    out.fact_f64("ae_mse", ae_err.mse);
    out.fact_f64("decoder_mse", dec_err.mse);
    out.fact_f64("ae_intra", ae_stats.intra_normalised);
    out.fact_f64("clf_intra", clf_stats.intra_normalised);
    out.fact_f64("ae_inter", ae_stats.inter_normalised);
    out.fact_f64("clf_inter", clf_stats.inter_normalised);
    out.fact_f64("ae_ratio", ae_stats.ratio);
    out.fact_f64("clf_ratio", clf_stats.ratio);
    out.fact("decoder_params", decoded.model.decoder.num_params());
    Ok(out)
}

//! Chapter `autoencoder`: a convolutional autoencoder with a fully connected
//! bottleneck, trained on mean L1, and why it needs an MSE warm-up.
//!
//! `trained` holds the chapter's trainings, `comparison` its tables,
//! `figures` its figures.

mod comparison;
mod figures;
mod trained;

use anyhow::Result;
use burn::module::Module;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use crate::book::ChapterOutput;
use crate::config::{BookConfig, Config};
use crate::experiment::Ctx;
use crate::experiment::models::{self, AutoencoderSpec, PlannedModel};
use crate::experiment::sections::AutoencoderSection;
use crate::nn::conv_ae::ConvAutoencoderConfig;
use crate::nn::conv_ae::{BOTTOM, KERNEL, SIDE, STRIDE};
// How far below the all-black image's error a model must get to count as
// having left the plateau; a model of the book that does not fails its chapter.
use crate::nn::train::{PLATEAU_MARGIN, mean_intensity_logit};

pub const TABLES: &[&str] = &[
    "history",
    "control_history",
    "mlp_history",
    "summary",
    "architecture",
    "timing",
];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder"];

pub fn title(_config: &Config) -> String {
    "A Convolutional Autoencoder".into()
}

/// Checks `[chapter.autoencoder]` (the shared model's section, see
/// `experiment::sections`) and completes it with its defaults.
pub fn check_section(book: &mut BookConfig) -> Result<(), String> {
    crate::config::section::complete::<crate::experiment::sections::AutoencoderSection>(book)
}

/// The plain-L1 control: the book AE with no MSE warm-up.
fn plain_l1_spec<B: AutodiffBackend>(ctx: &Ctx<B>) -> AutoencoderSpec<ConvAutoencoderConfig> {
    models::autoencoder_spec(ctx, 0)
}

/// The models the chapter loads or trains.
pub fn models<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> Result<Vec<PlannedModel<'a>>> {
    let mut planned = vec![
        models::planned_book_autoencoder(ctx),
        PlannedModel::new(
            ctx.artifacts,
            "autoencoder/mlp-ae",
            models::MLP_AE,
            &models::mlp_autoencoder_spec(ctx),
            move || models::mlp_autoencoder(ctx).map(drop),
        ),
    ];
    if ctx
        .config
        .section::<AutoencoderSection>()
        .train_plain_l1_control
    {
        planned.push(PlannedModel::new(
            ctx.artifacts,
            "autoencoder/conv-ae-plain-l1",
            models::CONV_AE,
            &plain_l1_spec(ctx),
            move || trained::plain_l1(ctx).map(drop),
        ));
    }
    Ok(planned)
}

/// A train–test gap below this share of the test error is no measurable
/// over-fitting.
const OVERFIT_MARGIN: f64 = 0.05;

/// What the chapter's text reasons with, each computed once.
#[derive(Serialize)]
struct Facts {
    train_size: usize,
    test_size: usize,
    parameters: usize,
    /// The architecture's constants (`nn::conv_ae`).
    kernel: usize,
    stride: usize,
    side: usize,
    bottom_side: usize,
    grid_digits: usize,
    plateau_margin: f64,
    /// The training images' mean intensity and its logit, the output
    /// layer's initial bias when `output-bias-at-mean` is on.
    train_mean_intensity: f64,
    output_bias_logit: f64,
    overfit_margin: f64,
    has_control: bool,
    control_test_l1: Option<f64>,
    control_left_plateau_epoch: Option<usize>,
    test_l1: f64,
    black_l1: f64,
    median_black_fraction: f64,
    l1_vs_black: f64,
    generalisation_gap: f64,
    /// Loaded from the cache: its training time was measured in an earlier run.
    from_cache: bool,
    train_seconds: f64,
    train_images_per_second: f64,
    mlp_parameters: usize,
    mlp_test_l1: f64,
    mlp_from_cache: bool,
    mlp_train_seconds: f64,
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let t = trained::train(ctx)?;
    out.seeds.insert(
        "conv-ae".into(),
        ctx.seed(crate::experiment::models::BOOK_AE_SEED),
    );

    let comparison = comparison::comparison(ctx, &t)?;
    let timing = comparison::timing(ctx, &t)?;
    out.tables.extend(comparison::histories(&t)?);
    out.tables.push(comparison.table);
    out.tables.push(comparison::architecture(ctx, &t)?);
    out.tables.push(timing.table);
    out.figures
        .push(figures::loss_curves(ctx, &t, comparison.black_l1)?);
    let reconstructions = figures::reconstructions(ctx, &t)?;
    out.figures.push(reconstructions.figure);

    let (train_size, test_size) = (ctx.data.train.len(), ctx.data.test.len());
    let (test, black_l1) = (comparison.test, comparison.black_l1);
    let control = comparison.control;
    out.set_facts(&Facts {
        train_size,
        test_size,
        parameters: t.main.model.num_params(),
        kernel: KERNEL,
        stride: STRIDE,
        side: SIDE,
        bottom_side: BOTTOM,
        grid_digits: reconstructions.digits,
        plateau_margin: PLATEAU_MARGIN,
        train_mean_intensity: ctx.data.train.mean_pixel(),
        output_bias_logit: mean_intensity_logit(&ctx.data.train.images) as f64,
        overfit_margin: OVERFIT_MARGIN,
        has_control: control.is_some(),
        control_test_l1: control.as_ref().map(|c| c.test_l1),
        control_left_plateau_epoch: control.and_then(|c| c.left_plateau_epoch),
        test_l1: test.l1,
        black_l1,
        median_black_fraction: figures::median_black_fraction(&ctx.data.train),
        l1_vs_black: test.l1 / black_l1,
        generalisation_gap: test.l1 - comparison.train.l1,
        from_cache: t.main.cached,
        train_seconds: timing.train_seconds,
        train_images_per_second: timing.train_images_per_second,
        mlp_parameters: t.mlp.model.num_params(),
        mlp_test_l1: comparison.mlp_test_l1,
        mlp_from_cache: t.mlp.cached,
        mlp_train_seconds: timing.mlp_train_seconds,
    })?;
    Ok(out)
}

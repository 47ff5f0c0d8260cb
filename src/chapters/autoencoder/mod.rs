//! Chapter `autoencoder`: a convolutional autoencoder with a fully connected
//! bottleneck, trained on mean L1, and why it needs an MSE warm-up.

use anyhow::Result;
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use polars::prelude::Column;

use super::final_test_error;
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::Config;
use crate::experiment::Ctx;
use crate::experiment::models::{self, AutoencoderSpec, PlannedModel};
use crate::nn::autoencoder::{Autoencoder, evaluate};
use crate::nn::conv_ae::ConvAutoencoderConfig;
use crate::nn::conv_ae::{BOTTOM, KERNEL, SIDE, STRIDE};
use crate::nn::train::EpochRecord;
use crate::plot::{LineChart, Series, digit_grid_png};

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

fn history_table(name: &str, history: &[EpochRecord]) -> Result<Table> {
    Table::new(
        name,
        &["epoch"],
        vec![
            Column::new(
                "epoch".into(),
                history.iter().map(|r| r.epoch as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "loss".into(),
                history.iter().map(|r| r.loss.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "train_l1".into(),
                history.iter().map(|r| r.train_l1).collect::<Vec<_>>(),
            ),
            Column::new(
                "test_l1".into(),
                history.iter().map(|r| r.test_l1).collect::<Vec<_>>(),
            ),
            Column::new(
                "test_mse".into(),
                history.iter().map(|r| r.test_mse).collect::<Vec<_>>(),
            ),
        ],
    )
}

/// The plain-L1 control: the book AE with no MSE warm-up.
fn plain_l1_spec<B: AutodiffBackend>(ctx: &Ctx<B>) -> AutoencoderSpec<ConvAutoencoderConfig> {
    models::autoencoder_spec(ctx, 0)
}

/// The models the chapter loads or trains.
pub fn models<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<PlannedModel>> {
    let mut planned = vec![
        models::planned_book_autoencoder(ctx),
        PlannedModel::new(
            ctx.artifacts,
            "autoencoder/mlp-ae",
            models::MLP_AE,
            &models::mlp_autoencoder_spec(ctx),
        ),
    ];
    if ctx.config.book.chapter.autoencoder.train_plain_l1_control {
        planned.push(PlannedModel::new(
            ctx.artifacts,
            "autoencoder/conv-ae-plain-l1",
            models::CONV_AE,
            &plain_l1_spec(ctx),
        ));
    }
    Ok(planned)
}

/// How far below the all-black image's error a model must get to count as
/// having left the plateau (a share of that error).
const PLATEAU_MARGIN: f64 = 0.1;
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
    let section = &ctx.config.book.chapter.autoencoder;
    let profile = &ctx.config.profile;
    let (train_set, test_set) = (&ctx.data.train, &ctx.data.test);
    let mut out = ChapterOutput::default();

    // The model of the chapter; the fully connected AE with the same loss
    // and budget; and (optionally) the conv AE, same seed, trained on plain
    // L1 from the first step: the control for the plateau.
    enum Trained<B: AutodiffBackend> {
        Conv(Box<models::TrainedAe<B>>),
        Mlp(Box<models::TrainedMlpAe<B>>),
    }
    type Job<'a, B> = Box<dyn FnOnce() -> Result<Trained<B>> + Send + 'a>;
    let mut jobs: Vec<Job<B>> = vec![
        Box::new(|| models::book_autoencoder(ctx).map(|a| Trained::Conv(Box::new(a)))),
        Box::new(|| models::mlp_autoencoder(ctx).map(|a| Trained::Mlp(Box::new(a)))),
    ];
    if section.train_plain_l1_control {
        jobs.push(Box::new(|| {
            models::autoencoder(ctx, "conv AE (plain L1)", plain_l1_spec(ctx))
                .map(|a| Trained::Conv(Box::new(a)))
        }));
    }
    let (mut main, mut mlp, mut control) = (None, None, None);
    for t in super::parallel(jobs)? {
        match t {
            Trained::Conv(a) if main.is_none() => main = Some(*a),
            Trained::Conv(a) => control = Some(*a),
            Trained::Mlp(a) => mlp = Some(*a),
        }
    }
    let main = main.expect("main model");
    let mlp = mlp.expect("MLP model");
    out.seeds
        .insert("conv-ae".into(), ctx.seed("autoencoder/conv-ae"));

    let device = &ctx.device;
    let model = main.model.valid();
    let train_err = evaluate(&model, &train_set.images, device);
    let test_err = final_test_error(&main.history);
    let params = main.model.num_params();

    // The all-black image: the plateau's value, as a reference.
    let black_l1 = test_set.mean_pixel();
    let black_mse = {
        let px = &test_set.images.pixels;
        px.iter().map(|&p| (p as f64 / 255.0).powi(2)).sum::<f64>() / px.len() as f64
    };

    // Tables.
    out.tables.push(history_table("history", &main.history)?);
    let mut summary_models = vec!["all-black image".to_string(), "conv AE, MSE warm-up".into()];
    let mut summary_params = vec![0u64, params as u64];
    let black_train_mse = {
        let px = &train_set.images.pixels;
        px.iter().map(|&p| (p as f64 / 255.0).powi(2)).sum::<f64>() / px.len() as f64
    };
    let mut summary_train_l1 = vec![train_set.mean_pixel(), train_err.l1];
    let mut summary_train_mse = vec![black_train_mse, train_err.mse];
    let mut summary_test_l1 = vec![black_l1, test_err.l1];
    let mut summary_test_mse = vec![black_mse, test_err.mse];
    let mut timing_models = vec!["conv AE, MSE warm-up".to_string()];
    let mut timing_seconds = vec![main.history.iter().map(|r| r.train_seconds).sum::<f64>()];
    let mut timing_cached = vec![main.cached];
    let (mut control_test_l1, mut control_left_plateau_epoch) = (None, None);
    if let Some(c) = &control {
        out.tables
            .push(history_table("control_history", &c.history)?);
        let cm = c.model.valid();
        let ce = final_test_error(&c.history);
        let cte = evaluate(&cm, &train_set.images, device);
        summary_models.push("conv AE, plain L1".into());
        summary_params.push(params as u64);
        summary_train_l1.push(cte.l1);
        summary_train_mse.push(cte.mse);
        summary_test_l1.push(ce.l1);
        summary_test_mse.push(ce.mse);
        timing_models.push("conv AE, plain L1".into());
        timing_seconds.push(c.history.iter().map(|r| r.train_seconds).sum::<f64>());
        timing_cached.push(c.cached);
        control_test_l1 = Some(ce.l1);
        control_left_plateau_epoch = c
            .history
            .iter()
            .find(|r| r.test_l1 < (1.0 - PLATEAU_MARGIN) * black_l1)
            .map(|r| r.epoch);
    }
    // The fully connected AE, same loss and budget.
    let mlp_model = mlp.model.valid();
    let mlp_test = final_test_error(&mlp.history);
    let mlp_train = evaluate(&mlp_model, &train_set.images, device);
    let mlp_params = mlp.model.num_params();
    // The layer sizes are in the text; the name stays short for the tables.
    let mlp_name = "fully connected AE".to_string();
    summary_models.push(mlp_name.clone());
    summary_params.push(mlp_params as u64);
    summary_train_l1.push(mlp_train.l1);
    summary_train_mse.push(mlp_train.mse);
    summary_test_l1.push(mlp_test.l1);
    summary_test_mse.push(mlp_test.mse);
    timing_models.push(mlp_name);
    timing_seconds.push(mlp.history.iter().map(|r| r.train_seconds).sum::<f64>());
    timing_cached.push(mlp.cached);
    out.tables.push(history_table("mlp_history", &mlp.history)?);

    out.tables.push(Table::new(
        "summary",
        &["model"],
        vec![
            Column::new("model".into(), summary_models),
            Column::new("parameters".into(), summary_params),
            Column::new("train_l1".into(), summary_train_l1),
            Column::new("train_mse".into(), summary_train_mse),
            Column::new("test_l1".into(), summary_test_l1),
            Column::new("test_mse".into(), summary_test_mse),
        ],
    )?);
    let arch = main.model.architecture(device);
    out.tables.push(Table::new(
        "architecture",
        &["index"],
        vec![
            Column::new("index".into(), (1..=arch.len() as u32).collect::<Vec<_>>()),
            Column::new(
                "part".into(),
                arch.iter().map(|r| r.part.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "layer".into(),
                arch.iter().map(|r| r.layer.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "output_shape".into(),
                arch.iter()
                    .map(|r| r.output_shape.clone())
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "parameters".into(),
                arch.iter().map(|r| r.parameters as u64).collect::<Vec<_>>(),
            ),
        ],
    )?);
    let images_per_epoch = (train_set.len() / profile.batch_size * profile.batch_size) as f64;
    let throughput: Vec<f64> = timing_seconds
        .iter()
        .map(|s| images_per_epoch * profile.epochs as f64 / s)
        .collect();
    out.tables.push(
        Table::new(
            "timing",
            &["model"],
            vec![
                Column::new("model".into(), timing_models),
                Column::new("train_seconds".into(), timing_seconds.clone()),
                Column::new("train_images_per_second".into(), throughput.clone()),
                Column::new("from_cache".into(), timing_cached),
            ],
        )
        .map(Table::volatile)?,
    );

    // Figures.
    let epochs = |h: &[EpochRecord], f: fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
        h.iter().map(|r| (r.epoch as f64, f(r))).collect()
    };
    let mut chart = LineChart::new("epoch", "mean L1 per pixel")
        .integer_x(true)
        .series(Series::new(
            "train (warm-up)",
            epochs(&main.history, |r| r.train_l1),
        ))
        .series(Series::new(
            "test (warm-up)",
            epochs(&main.history, |r| r.test_l1),
        ))
        .series(Series::new(
            "test (fully connected)",
            epochs(&mlp.history, |r| r.test_l1),
        ));
    if let Some(c) = &control {
        chart = chart.series(Series::new(
            "test (plain L1)",
            epochs(&c.history, |r| r.test_l1),
        ));
    }
    let chart = chart.series(Series::reference(
        "all-black image",
        black_l1,
        1.0,
        profile.epochs as f64,
    ));
    out.figures.push(Figure {
        file: "loss.svg".into(),
        bytes: chart.to_svg()?.into_bytes(),
    });

    let n = section.grid_digits.min(test_set.len());
    let indices: Vec<usize> = (0..n).collect();
    let mut rows = vec![
        indices
            .iter()
            .map(|&i| test_set.images.image(i).to_vec())
            .collect(),
        model.reconstruct(&test_set.images, &indices, device),
    ];
    rows.push(mlp_model.reconstruct(&test_set.images, &indices, device));
    if let Some(c) = &control {
        rows.push(
            c.model
                .valid()
                .reconstruct(&test_set.images, &indices, device),
        );
    }
    out.figures.push(Figure {
        file: "reconstructions.png".into(),
        bytes: digit_grid_png(&rows, SIDE, 2)?,
    });

    // Pixel positions whose training-set median is black: where L1's
    // pixel-wise optimum is the all-black output.
    let per_image = train_set.images.pixels_per_image();
    let mut zeros = vec![0usize; per_image];
    for i in 0..train_set.len() {
        for (z, &p) in zeros.iter_mut().zip(train_set.images.image(i)) {
            *z += usize::from(p == 0);
        }
    }
    let median_black = zeros.iter().filter(|&&z| 2 * z > train_set.len()).count();

    out.set_facts(&Facts {
        train_size: train_set.len(),
        test_size: test_set.len(),
        parameters: params,
        kernel: KERNEL,
        stride: STRIDE,
        side: SIDE,
        bottom_side: BOTTOM,
        grid_digits: n,
        plateau_margin: PLATEAU_MARGIN,
        overfit_margin: OVERFIT_MARGIN,
        has_control: control.is_some(),
        control_test_l1,
        control_left_plateau_epoch,
        test_l1: test_err.l1,
        black_l1,
        median_black_fraction: median_black as f64 / per_image as f64,
        l1_vs_black: test_err.l1 / black_l1,
        generalisation_gap: test_err.l1 - train_err.l1,
        from_cache: main.cached,
        train_seconds: timing_seconds[0],
        train_images_per_second: throughput[0],
        mlp_parameters: mlp_params,
        mlp_test_l1: mlp_test.l1,
        mlp_from_cache: mlp.cached,
        mlp_train_seconds: mlp.history.iter().map(|r| r.train_seconds).sum::<f64>(),
    })?;
    Ok(out)
}

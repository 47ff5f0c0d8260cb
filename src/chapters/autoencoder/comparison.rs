//! The chapter's tables: each model's training history, the comparison of
//! the models (and of the all-black image) on the training and test
//! images, the conv AE's layers, and the training times.

use anyhow::Result;
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::PLATEAU_MARGIN;
use super::trained::Trained;
use crate::book::table::Table;
use crate::chapters::final_test_error;
use crate::data::Split;
use crate::experiment::Ctx;
use crate::nn::autoencoder::{ReconstructionError, evaluate};
use crate::nn::train::EpochRecord;

const MAIN: &str = "conv AE, MSE warm-up";
const CONTROL: &str = "conv AE, plain L1";
/// The layer sizes are in the text; the name stays short for the tables.
const MLP: &str = "fully connected AE";

#[derive(Serialize)]
struct HistoryRow {
    epoch: usize,
    loss: &'static str,
    train_l1: f64,
    test_l1: f64,
    test_mse: f64,
}

fn history_table(name: &str, history: &[EpochRecord]) -> Result<Table> {
    let rows: Vec<HistoryRow> = history
        .iter()
        .map(|r| HistoryRow {
            epoch: r.epoch,
            loss: r.loss.as_str(),
            train_l1: r.train_l1,
            test_l1: r.test_l1,
            test_mse: r.test_mse,
        })
        .collect();
    Table::from_rows(name, &["epoch"], &rows)
}

/// `history`, `control_history` (with the control) and `mlp_history`.
pub(super) fn histories<B: AutodiffBackend>(t: &Trained<B>) -> Result<Vec<Table>> {
    let mut tables = vec![history_table("history", &t.main.history)?];
    if let Some(c) = &t.control {
        tables.push(history_table("control_history", &c.history)?);
    }
    tables.push(history_table("mlp_history", &t.mlp.history)?);
    Ok(tables)
}

#[derive(Serialize)]
struct SummaryRow {
    model: &'static str,
    parameters: usize,
    train_l1: f64,
    train_mse: f64,
    test_l1: f64,
    test_mse: f64,
}

impl SummaryRow {
    fn new(
        model: &'static str,
        parameters: usize,
        train: ReconstructionError,
        test: ReconstructionError,
    ) -> Self {
        Self {
            model,
            parameters,
            train_l1: train.l1,
            train_mse: train.mse,
            test_l1: test.l1,
            test_mse: test.mse,
        }
    }
}

/// The error of the all-black output: the plateau's value, as a reference.
fn black_error(split: &Split) -> ReconstructionError {
    let px = &split.images.pixels;
    ReconstructionError {
        l1: split.mean_pixel(),
        mse: px.iter().map(|&p| (p as f64 / 255.0).powi(2)).sum::<f64>() / px.len() as f64,
    }
}

/// The plain-L1 control's results.
pub(super) struct Control {
    pub test_l1: f64,
    /// First epoch whose test L1 is [`PLATEAU_MARGIN`] below the black image's.
    pub left_plateau_epoch: Option<usize>,
}

/// The `summary` table and what the text takes from it.
pub(super) struct Comparison {
    pub table: Table,
    /// Test L1 of the all-black image.
    pub black_l1: f64,
    /// The main model's error on the training and on the test images.
    pub train: ReconstructionError,
    pub test: ReconstructionError,
    pub control: Option<Control>,
    pub mlp_test_l1: f64,
}

/// Each model's error on the training images (evaluated) and on the test
/// images (the training loop's last measurement), beside the black image's.
pub(super) fn comparison<B: AutodiffBackend>(ctx: &Ctx<B>, t: &Trained<B>) -> Result<Comparison> {
    let (train_set, device) = (&ctx.data.train, &ctx.device);
    let black = black_error(&ctx.data.test);
    let params = t.main.model.num_params();
    let train = evaluate(&t.main.model.valid(), &train_set.images, device);
    let test = final_test_error(&t.main.history);
    let mut rows = vec![
        SummaryRow::new("all-black image", 0, black_error(train_set), black),
        SummaryRow::new(MAIN, params, train, test),
    ];
    let control = t.control.as_ref().map(|c| {
        let test = final_test_error(&c.history);
        let train = evaluate(&c.model.valid(), &train_set.images, device);
        rows.push(SummaryRow::new(CONTROL, params, train, test));
        Control {
            test_l1: test.l1,
            left_plateau_epoch: c
                .history
                .iter()
                .find(|r| r.test_l1 < (1.0 - PLATEAU_MARGIN) * black.l1)
                .map(|r| r.epoch),
        }
    });
    let mlp_test = final_test_error(&t.mlp.history);
    let mlp_train = evaluate(&t.mlp.model.valid(), &train_set.images, device);
    rows.push(SummaryRow::new(
        MLP,
        t.mlp.model.num_params(),
        mlp_train,
        mlp_test,
    ));
    Ok(Comparison {
        table: Table::from_rows("summary", &["model"], &rows)?,
        black_l1: black.l1,
        train,
        test,
        control,
        mlp_test_l1: mlp_test.l1,
    })
}

#[derive(Serialize)]
struct ArchitectureRow {
    index: usize,
    part: String,
    layer: String,
    output_shape: String,
    parameters: usize,
}

/// The main model's layers, numbered from 1.
pub(super) fn architecture<B: AutodiffBackend>(ctx: &Ctx<B>, t: &Trained<B>) -> Result<Table> {
    let rows: Vec<ArchitectureRow> = t
        .main
        .model
        .architecture(&ctx.device)
        .into_iter()
        .zip(1..)
        .map(|(r, index)| ArchitectureRow {
            index,
            part: r.part,
            layer: r.layer,
            output_shape: r.output_shape,
            parameters: r.parameters,
        })
        .collect();
    Table::from_rows("architecture", &["index"], &rows)
}

#[derive(Serialize)]
struct TimingRow {
    model: &'static str,
    train_seconds: f64,
    train_images_per_second: f64,
    from_cache: bool,
}

/// The `timing` table (volatile) and the times the text quotes.
pub(super) struct Timing {
    pub table: Table,
    /// The main model's.
    pub train_seconds: f64,
    pub train_images_per_second: f64,
    pub mlp_train_seconds: f64,
}

fn train_seconds(history: &[EpochRecord]) -> f64 {
    history.iter().map(|r| r.train_seconds).sum()
}

pub(super) fn timing<B: AutodiffBackend>(ctx: &Ctx<B>, t: &Trained<B>) -> Result<Timing> {
    let profile = &ctx.config.profile;
    let images_per_epoch = (ctx.data.train.len() / profile.batch_size * profile.batch_size) as f64;
    let row = |model, history: &[EpochRecord], cached| {
        let seconds = train_seconds(history);
        TimingRow {
            model,
            train_seconds: seconds,
            train_images_per_second: images_per_epoch * profile.epochs as f64 / seconds,
            from_cache: cached,
        }
    };
    let mut rows = vec![row(MAIN, &t.main.history, t.main.cached)];
    if let Some(c) = &t.control {
        rows.push(row(CONTROL, &c.history, c.cached));
    }
    rows.push(row(MLP, &t.mlp.history, t.mlp.cached));
    Ok(Timing {
        train_seconds: rows[0].train_seconds,
        train_images_per_second: rows[0].train_images_per_second,
        mlp_train_seconds: rows[rows.len() - 1].train_seconds,
        table: Table::from_rows("timing", &["model"], &rows)?.volatile(),
    })
}

//! What the size d of the code buys: the test error per d, and how
//! correlated the code's dimensions are.

use anyhow::Result;
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::Study;
use super::trained::Trained;
use crate::book::Figure;
use crate::book::table::Table;
use crate::chapters::final_test_error;
use crate::experiment::Ctx;
use crate::ml::latent::off_diagonal_correlation;
use crate::nn::autoencoder::Autoencoder;
use crate::plot::{LineChart, Series};

#[derive(Serialize)]
pub(super) struct SweepFacts {
    best_d: usize,
    best_l1: f64,
    smallest_d: usize,
    smallest_d_l1: f64,
    largest_d: usize,
    largest_d_l1: f64,
}

#[derive(Serialize)]
pub(super) struct DecorrelationFacts {
    max_correlation_any_d: f64,
    mean_correlation_first: f64,
    mean_correlation_last: f64,
}

/// A row of `sweep`, by increasing d.
#[derive(Serialize)]
struct SweepRow {
    d: usize,
    parameters: usize,
    test_l1: f64,
    test_mse: f64,
    /// Test L1 saved per added dimension since the previous d.
    l1_gain_per_dim: Option<f64>,
}

/// A row of `decorrelation`, by increasing d.
#[derive(Serialize)]
struct DecorrelationRow {
    d: usize,
    max_abs_correlation: f64,
    mean_abs_correlation: f64,
}

/// `(d, y)` per row, for a chart over d.
fn over_d<R>(rows: &[R], d: fn(&R) -> usize, y: fn(&R) -> f64) -> Vec<(f64, f64)> {
    rows.iter().map(|r| (d(r) as f64, y(r))).collect()
}

/// A study of one table and its chart over d (`<table name>.svg`).
fn table_and_chart<F>(table: Table, chart: LineChart, facts: F) -> Result<Study<F>> {
    let file = format!("{}.svg", table.name);
    Ok(Study {
        tables: vec![table],
        figures: vec![Figure {
            file,
            bytes: chart.to_svg()?.into_bytes(),
        }],
        facts,
    })
}

/// The test error per d (the training loop's last measurement).
pub(super) fn sweep<B: AutodiffBackend>(trained: &Trained<B>) -> Result<Study<SweepFacts>> {
    let mut rows: Vec<SweepRow> = trained
        .dims
        .iter()
        .map(|&d| {
            let a = trained.at(d);
            let err = final_test_error(&a.history);
            SweepRow {
                d,
                parameters: a.model.num_params(),
                test_l1: err.l1,
                test_mse: err.mse,
                l1_gain_per_dim: None,
            }
        })
        .collect();
    rows.sort_by_key(|r| r.d);
    for i in 1..rows.len() {
        let (prev, r) = (&rows[i - 1], &rows[i]);
        rows[i].l1_gain_per_dim = Some((prev.test_l1 - r.test_l1) / (r.d - prev.d) as f64);
    }
    let chart = LineChart::new("latent size d", "error per pixel (test)")
        .integer_x(true)
        .series(Series::new(
            "mean L1",
            over_d(&rows, |r| r.d, |r| r.test_l1),
        ))
        .series(Series::new("MSE", over_d(&rows, |r| r.d, |r| r.test_mse)));
    let best = rows
        .iter()
        .min_by(|a, b| a.test_l1.total_cmp(&b.test_l1))
        .expect("a sweep point");
    let (first, last) = (&rows[0], &rows[rows.len() - 1]);
    let facts = SweepFacts {
        best_d: best.d,
        best_l1: best.test_l1,
        smallest_d: first.d,
        smallest_d_l1: first.test_l1,
        largest_d: last.d,
        largest_d_l1: last.test_l1,
    };
    table_and_chart(Table::from_rows("sweep", &["d"], &rows)?, chart, facts)
}

/// How correlated two dimensions of the test codes are, per d.
pub(super) fn decorrelation<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    trained: &Trained<B>,
) -> Result<Study<DecorrelationFacts>> {
    let mut rows: Vec<DecorrelationRow> = trained
        .dims
        .iter()
        .map(|&d| {
            let model = trained.at(d).model.valid();
            let (codes, dim) = model.encode_images(&ctx.data.test.images, &ctx.device);
            let (max, mean) = off_diagonal_correlation(&codes, dim);
            DecorrelationRow {
                d,
                max_abs_correlation: max,
                mean_abs_correlation: mean,
            }
        })
        .collect();
    rows.sort_by_key(|r| r.d);
    let chart = LineChart::new("latent size d", "|correlation| between two code dimensions")
        .integer_x(true)
        .series(Series::new(
            "largest",
            over_d(&rows, |r| r.d, |r| r.max_abs_correlation),
        ))
        .series(Series::new(
            "mean",
            over_d(&rows, |r| r.d, |r| r.mean_abs_correlation),
        ));
    let facts = DecorrelationFacts {
        max_correlation_any_d: rows
            .iter()
            .map(|r| r.max_abs_correlation)
            .fold(0.0, f64::max),
        mean_correlation_first: rows[0].mean_abs_correlation,
        mean_correlation_last: rows[rows.len() - 1].mean_abs_correlation,
    };
    table_and_chart(
        Table::from_rows("decorrelation", &["d"], &rows)?,
        chart,
        facts,
    )
}

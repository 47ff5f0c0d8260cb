//! Chapter `classifier`: the AE's encoder architecture + a two-layer MLP,
//! trained with cross-entropy.

use anyhow::Result;
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::AutodiffBackend;
use polars::prelude::Column;
use serde::Serialize;

use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::Config;
use crate::experiment::Ctx;
use crate::experiment::models;
use crate::ml::confusion::{class_scores, confusion_counts};
use crate::nn::classify::{ClassEpoch, embed};
use crate::plot::{LineChart, Series, confusion_svg};

pub const TABLES: &[&str] = &["history", "per_class", "confusion", "timing"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "classifier"];

pub fn title(_config: &Config) -> String {
    "A Digit Classifier".into()
}

/// Per-epoch table of a classifier's training (shared with few-shot/transfer).
pub fn history_table(name: &str, history: &[ClassEpoch]) -> Result<Table> {
    Table::new(
        name,
        &["epoch"],
        vec![
            Column::new(
                "epoch".into(),
                history.iter().map(|r| r.epoch as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "train_loss".into(),
                history.iter().map(|r| r.train_loss).collect::<Vec<_>>(),
            ),
            Column::new(
                "train_accuracy".into(),
                history.iter().map(|r| r.train_accuracy).collect::<Vec<_>>(),
            ),
            Column::new(
                "test_loss".into(),
                history.iter().map(|r| r.test_loss).collect::<Vec<_>>(),
            ),
            Column::new(
                "test_accuracy".into(),
                history.iter().map(|r| r.test_accuracy).collect::<Vec<_>>(),
            ),
        ],
    )
}

pub fn confusion_table(counts: &[[u64; 10]; 10]) -> Result<Table> {
    let mut cols = vec![Column::new(
        "true_digit".into(),
        (0u32..10).collect::<Vec<_>>(),
    )];
    for p in 0..10 {
        cols.push(Column::new(
            format!("pred_{p}").into(),
            counts.iter().map(|row| row[p]).collect::<Vec<_>>(),
        ));
    }
    Table::new("confusion", &["true_digit"], cols)
}

/// The models the chapter loads or trains.
pub fn models<B: AutodiffBackend>(
    ctx: &Ctx<B>,
) -> Result<Vec<crate::experiment::models::PlannedModel>> {
    Ok(vec![models::planned_book_classifier(ctx)])
}

/// Train accuracy above test accuracy by more than this is over-fitting.
const OVERFIT_MARGIN: f64 = 0.01;

/// What the chapter's text reasons with, each computed once.
#[derive(Serialize)]
struct Facts {
    test_accuracy: f64,
    test_error: f64,
    train_accuracy: f64,
    best_epoch: usize,
    best_test_accuracy: f64,
    train_size: usize,
    test_size: usize,
    parameters: usize,
    confused_true: usize,
    confused_pred: usize,
    confused_count: u64,
    best_digit: usize,
    best_digit_accuracy: f64,
    worst_digit: usize,
    worst_digit_accuracy: f64,
    train_seconds: f64,
    from_cache: bool,
    overfit_margin: f64,
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let trained = models::book_classifier(ctx)?;
    out.seeds
        .insert("classifier".into(), ctx.seed("classifier/classifier"));
    let model = trained.model.valid();
    let test = embed(&model, &ctx.data.test, &ctx.device);
    let counts = confusion_counts(&ctx.data.test.labels, &test.predictions);
    let (accuracy, scores) = class_scores(&ctx.data.test.labels, &test.predictions)?;

    out.tables.push(history_table("history", &trained.history)?);
    let class_acc: Vec<f64> = (0..10)
        .map(|d| counts[d][d] as f64 / counts[d].iter().sum::<u64>().max(1) as f64)
        .collect();
    out.tables.push(Table::new(
        "per_class",
        &["digit"],
        vec![
            Column::new(
                "digit".into(),
                scores.iter().map(|s| s.digit as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "support".into(),
                scores.iter().map(|s| s.support).collect::<Vec<_>>(),
            ),
            Column::new(
                "precision".into(),
                scores.iter().map(|s| s.precision).collect::<Vec<_>>(),
            ),
            Column::new(
                "recall".into(),
                scores.iter().map(|s| s.recall).collect::<Vec<_>>(),
            ),
            Column::new("f1".into(), scores.iter().map(|s| s.f1).collect::<Vec<_>>()),
            Column::new(
                "accuracy".into(),
                scores
                    .iter()
                    .map(|s| class_acc[s.digit as usize])
                    .collect::<Vec<_>>(),
            ),
        ],
    )?);
    out.tables.push(confusion_table(&counts)?);
    let train_seconds = trained.history.last().map_or(0.0, |r| r.elapsed_seconds);
    out.tables.push(
        Table::new(
            "timing",
            &["model"],
            vec![
                Column::new("model".into(), ["classifier"]),
                Column::new("train_seconds".into(), [train_seconds]),
                Column::new("from_cache".into(), [trained.cached]),
            ],
        )
        .map(Table::volatile)?,
    );

    let epochs = |f: fn(&ClassEpoch) -> f64| -> Vec<(f64, f64)> {
        trained
            .history
            .iter()
            .map(|r| (r.epoch as f64, f(r)))
            .collect()
    };
    let loss = LineChart::new("epoch", "cross-entropy")
        .integer_x(true)
        .series(Series::new("train", epochs(|r| r.train_loss)))
        .series(Series::new("test", epochs(|r| r.test_loss)));
    let acc = LineChart::new("epoch", "accuracy")
        .integer_x(true)
        .series(Series::new("train", epochs(|r| r.train_accuracy)))
        .series(Series::new("test", epochs(|r| r.test_accuracy)));
    out.figures.push(Figure {
        file: "loss.svg".into(),
        bytes: loss.to_svg()?.into_bytes(),
    });
    out.figures.push(Figure {
        file: "accuracy.svg".into(),
        bytes: acc.to_svg()?.into_bytes(),
    });
    out.figures.push(Figure {
        file: "confusion.svg".into(),
        bytes: confusion_svg(&counts)?.into_bytes(),
    });

    // The most frequent confusion, for the text.
    let (mut worst, mut worst_n) = ((0, 0), 0);
    for (t, row) in counts.iter().enumerate() {
        for (p, &c) in row.iter().enumerate() {
            if t != p && c > worst_n {
                worst = (t, p);
                worst_n = c;
            }
        }
    }
    let (best_digit, worst_digit) = {
        let mut idx: Vec<usize> = (0..10).collect();
        idx.sort_by(|&a, &b| class_acc[a].total_cmp(&class_acc[b]));
        (idx[9], idx[0])
    };
    let last = trained.history.last().expect("at least one epoch");
    let best = trained
        .history
        .iter()
        .max_by(|a, b| a.test_accuracy.total_cmp(&b.test_accuracy))
        .expect("history");
    out.set_facts(&Facts {
        test_accuracy: accuracy,
        test_error: 1.0 - accuracy,
        train_accuracy: last.train_accuracy,
        best_epoch: best.epoch,
        best_test_accuracy: best.test_accuracy,
        train_size: ctx.data.train.len(),
        test_size: ctx.data.test.len(),
        parameters: trained.model.num_params(),
        confused_true: worst.0,
        confused_pred: worst.1,
        confused_count: worst_n,
        best_digit,
        best_digit_accuracy: class_acc[best_digit],
        worst_digit,
        worst_digit_accuracy: class_acc[worst_digit],
        train_seconds,
        from_cache: trained.cached,
        overfit_margin: OVERFIT_MARGIN,
    })?;
    Ok(out)
}

//! Chapter `classifier`: the AE's encoder architecture + a two-layer MLP,
//! trained with cross-entropy.

use anyhow::Result;
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::{BookConfig, Config};
use crate::experiment::Ctx;
use crate::experiment::models::{self, PlannedModel, TrainedClassifier};
use crate::ml::confusion::{class_scores, confusion_counts};
use crate::nn::classify::{ClassEpoch, embed};
use crate::plot::{LineChart, Series, confusion_svg};

pub const TABLES: &[&str] = &["history", "per_class", "confusion", "timing"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "classifier"];

/// "A Digit Classifier", "A Garment Classifier": by the dataset's item.
pub fn title(config: &Config) -> String {
    let item = config.dataset().item_capitalised();
    format!("A {item} Classifier")
}

/// Checks `[chapter.classifier]` (the shared model's section, see
/// `experiment::sections`) and completes it with its defaults.
pub fn check_section(book: &mut BookConfig) -> Result<(), String> {
    crate::config::section::complete::<crate::experiment::sections::ClassifierSection>(book)
}

/// One epoch of a classifier's training.
#[derive(Serialize)]
struct HistoryRow {
    epoch: u64,
    train_loss: f64,
    train_accuracy: f64,
    test_loss: f64,
    test_accuracy: f64,
}

/// One epoch of a training with a validation split.
#[derive(Serialize)]
struct ValidatedHistoryRow {
    epoch: u64,
    train_loss: f64,
    train_accuracy: f64,
    validation_loss: f64,
    validation_accuracy: f64,
    test_loss: f64,
    test_accuracy: f64,
}

/// Per-epoch table of a classifier's training (shared with few-shot), with
/// validation columns where the training had a validation split.
pub fn history_table(name: &str, history: &[ClassEpoch]) -> Result<Table> {
    let validated: Option<Vec<ValidatedHistoryRow>> = history
        .iter()
        .map(|r| {
            Some(ValidatedHistoryRow {
                epoch: r.epoch as u64,
                train_loss: r.train_loss,
                train_accuracy: r.train_accuracy,
                validation_loss: r.validation_loss?,
                validation_accuracy: r.validation_accuracy?,
                test_loss: r.test_loss,
                test_accuracy: r.test_accuracy,
            })
        })
        .collect();
    if let Some(rows) = validated.filter(|rows| !rows.is_empty()) {
        return Table::from_rows(name, &["epoch"], &rows);
    }
    let rows: Vec<HistoryRow> = history
        .iter()
        .map(|r| HistoryRow {
            epoch: r.epoch as u64,
            train_loss: r.train_loss,
            train_accuracy: r.train_accuracy,
            test_loss: r.test_loss,
            test_accuracy: r.test_accuracy,
        })
        .collect();
    Table::from_rows(name, &["epoch"], &rows)
}

/// One true digit's row of the confusion matrix: how often each digit was
/// predicted for it.
#[derive(Serialize)]
struct ConfusionRow {
    true_digit: u64,
    pred_0: u64,
    pred_1: u64,
    pred_2: u64,
    pred_3: u64,
    pred_4: u64,
    pred_5: u64,
    pred_6: u64,
    pred_7: u64,
    pred_8: u64,
    pred_9: u64,
}

pub fn confusion_table(counts: &[[u64; 10]; 10]) -> Result<Table> {
    let rows: Vec<ConfusionRow> = counts
        .iter()
        .zip(0u64..)
        .map(
            |(&[p0, p1, p2, p3, p4, p5, p6, p7, p8, p9], true_digit)| ConfusionRow {
                true_digit,
                pred_0: p0,
                pred_1: p1,
                pred_2: p2,
                pred_3: p3,
                pred_4: p4,
                pred_5: p5,
                pred_6: p6,
                pred_7: p7,
                pred_8: p8,
                pred_9: p9,
            },
        )
        .collect();
    Table::from_rows("confusion", &["true_digit"], &rows)
}

/// The models the chapter loads or trains.
pub fn models<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> Result<Vec<PlannedModel<'a>>> {
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
    /// A published small CNN on the same dataset, beside this run.
    published: Option<crate::chapters::published::Comparison>,
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let trained = models::book_classifier(ctx)?;
    out.seeds.insert(
        "classifier".into(),
        ctx.seed(crate::experiment::models::BOOK_CLASSIFIER_SEED),
    );
    let test = test_study(ctx, &trained)?;
    let training = training_study(&trained)?;

    out.tables.push(training.history);
    out.tables.push(test.per_class);
    out.tables.push(test.confusion);
    out.tables.push(training.timing);
    out.figures.push(training.loss);
    out.figures.push(training.accuracy);
    out.figures.push(test.confusion_figure);

    let confused = most_confused(&test.counts);
    let Extremes {
        best: best_digit,
        worst: worst_digit,
    } = best_and_worst(&test.class_accuracy);
    let last = trained.history.last().expect("at least one epoch");
    let best = trained
        .history
        .iter()
        .max_by(|a, b| a.test_accuracy.total_cmp(&b.test_accuracy))
        .expect("history");
    out.set_facts(&Facts {
        test_accuracy: test.accuracy,
        test_error: 1.0 - test.accuracy,
        train_accuracy: last.train_accuracy,
        best_epoch: best.epoch,
        best_test_accuracy: best.test_accuracy,
        train_size: ctx.data.train.len(),
        test_size: ctx.data.test.len(),
        parameters: trained.model.num_params(),
        confused_true: confused.true_digit,
        confused_pred: confused.predicted,
        confused_count: confused.count,
        best_digit,
        best_digit_accuracy: test.class_accuracy[best_digit],
        worst_digit,
        worst_digit_accuracy: test.class_accuracy[worst_digit],
        train_seconds: training.seconds,
        from_cache: trained.cached,
        overfit_margin: OVERFIT_MARGIN,
        published: ctx.data.entry.published("small-cnn").map(|p| {
            crate::chapters::published::Comparison::new(
                "classifier",
                ctx.data.train.len(),
                test.accuracy,
                ctx.data.test.len(),
                p,
            )
        }),
    })?;
    Ok(out)
}

/// The training run: its history, its time, and the loss and accuracy
/// curves.
struct Training {
    history: Table,
    timing: Table,
    loss: Figure,
    accuracy: Figure,
    seconds: f64,
}

/// One trained model's training time.
#[derive(Serialize)]
struct TimingRow {
    model: &'static str,
    train_seconds: f64,
    from_cache: bool,
}

fn training_study<B: AutodiffBackend>(trained: &TrainedClassifier<B>) -> Result<Training> {
    let seconds = trained.history.last().map_or(0.0, |r| r.elapsed_seconds);
    let timing = Table::from_rows(
        "timing",
        &["model"],
        &[TimingRow {
            model: "classifier",
            train_seconds: seconds,
            from_cache: trained.cached,
        }],
    )?
    .volatile();

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
    let accuracy = LineChart::new("epoch", "accuracy")
        .integer_x(true)
        .series(Series::new("train", epochs(|r| r.train_accuracy)))
        .series(Series::new("test", epochs(|r| r.test_accuracy)));
    Ok(Training {
        history: history_table("history", &trained.history)?,
        timing,
        loss: Figure {
            file: "loss.svg".into(),
            bytes: loss.to_svg()?.into_bytes(),
        },
        accuracy: Figure {
            file: "accuracy.svg".into(),
            bytes: accuracy.to_svg()?.into_bytes(),
        },
        seconds,
    })
}

/// The trained classifier on the test set: per-digit scores and the
/// confusion matrix.
struct TestResults {
    accuracy: f64,
    counts: [[u64; 10]; 10],
    /// Share of each digit's test images read as that digit.
    class_accuracy: Vec<f64>,
    per_class: Table,
    confusion: Table,
    confusion_figure: Figure,
}

/// One digit's test scores.
#[derive(Serialize)]
struct PerClassRow {
    digit: u64,
    support: u64,
    precision: f64,
    recall: f64,
    f1: f64,
    accuracy: f64,
}

fn test_study<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    trained: &TrainedClassifier<B>,
) -> Result<TestResults> {
    let labels = &ctx.data.test.labels;
    let test = embed(&trained.model.valid(), &ctx.data.test, &ctx.device);
    let counts = confusion_counts(labels, &test.predictions);
    let (accuracy, scores) = class_scores(labels, &test.predictions)?;
    let class_accuracy: Vec<f64> = (0..10)
        .map(|d| counts[d][d] as f64 / counts[d].iter().sum::<u64>().max(1) as f64)
        .collect();
    let rows: Vec<PerClassRow> = scores
        .iter()
        .map(|s| PerClassRow {
            digit: s.digit.into(),
            support: s.support,
            precision: s.precision,
            recall: s.recall,
            f1: s.f1,
            accuracy: class_accuracy[s.digit as usize],
        })
        .collect();
    Ok(TestResults {
        accuracy,
        per_class: Table::from_rows("per_class", &["digit"], &rows)?,
        confusion: confusion_table(&counts)?,
        confusion_figure: Figure {
            file: "confusion.svg".into(),
            bytes: confusion_svg(&counts, &ctx.data.entry.classes, &ctx.data.entry.class_noun)?
                .into_bytes(),
        },
        counts,
        class_accuracy,
    })
}

/// The most frequent confusion of one digit for another.
struct Confusion {
    true_digit: usize,
    predicted: usize,
    count: u64,
}

/// The most frequent confusion, for the text (the first of equals; none
/// at all reads as 0 → 0, count 0).
fn most_confused(counts: &[[u64; 10]; 10]) -> Confusion {
    let mut worst = Confusion {
        true_digit: 0,
        predicted: 0,
        count: 0,
    };
    for (t, row) in counts.iter().enumerate() {
        for (p, &c) in row.iter().enumerate() {
            if t != p && c > worst.count {
                worst = Confusion {
                    true_digit: t,
                    predicted: p,
                    count: c,
                };
            }
        }
    }
    worst
}

/// The digits of the highest and the lowest accuracy.
struct Extremes {
    best: usize,
    worst: usize,
}

fn best_and_worst(class_accuracy: &[f64]) -> Extremes {
    let mut idx: Vec<usize> = (0..10).collect();
    idx.sort_by(|&a, &b| class_accuracy[a].total_cmp(&class_accuracy[b]));
    Extremes {
        best: idx[9],
        worst: idx[0],
    }
}

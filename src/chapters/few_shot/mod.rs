//! Chapter `few-shot`: encoder + MLP trained from scratch on 100 labelled
//! images, evaluated on the whole test set; over-fitting read off the curves.

pub mod section;

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Serialize;

use super::classifier::history_table;
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::{BookConfig, Config};
use crate::data::TrainingSet;
use crate::experiment::Ctx;
use crate::experiment::models::{self, ClassifierSpec, PlannedModel, TrainedClassifier};
use crate::experiment::sections::ClassifierSection;
use crate::nn::classify::{ClassEpoch, ClassifierTrainingConfig};
use crate::plot::{LineChart, Series};

pub use section::FewShotSection;

/// The experiment names of the labelled subset's draw and of the
/// trainings' seed (shared with `transfer`, which trains on the same images).
pub const SUBSET_SEED: &str = "few-shot/subset";
pub const TRAINING_SEED: &str = "few-shot/training";

pub const TABLES: &[&str] = &["class_counts", "history", "timeline", "overfitting"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "classifier", "few-shot"];

/// With the number of labels, as configured.
pub fn title(config: &Config) -> String {
    format!(
        "Learning from {} Labels",
        config.section::<FewShotSection>().labels
    )
}

/// Checks `[chapter.few-shot]` and completes it with its defaults.
pub fn check_section(book: &mut BookConfig) -> Result<(), String> {
    crate::config::section::complete::<FewShotSection>(book)
}

/// The labelled images: `[chapter.few-shot].labels` drawn from the
/// profile's training split with a fixed seed (shared with `transfer`).
pub fn labelled_subset<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<TrainingSet> {
    let n = ctx.config.section::<FewShotSection>().labels;
    let available = ctx.data.train.len();
    anyhow::ensure!(
        n <= available,
        "chapter.few-shot.labels = {n}, but the profile's training split has only {available} images"
    );
    let mut idx: Vec<usize> = (0..available).collect();
    idx.shuffle(&mut StdRng::seed_from_u64(ctx.seed(SUBSET_SEED)));
    idx.truncate(n);
    idx.sort_unstable();
    Ok(TrainingSet::new(
        format!("{n} labelled"),
        ctx.data.train.select(&idx),
    ))
}

/// The classifier spec for the labelled subset; `encoder_init` and
/// `freeze` distinguish scratch, fine-tuned and frozen-encoder runs.
pub fn spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    subset: &TrainingSet,
    encoder_init: String,
    freeze: bool,
) -> ClassifierSpec {
    let fs = ctx.config.section::<FewShotSection>();
    let hidden = ctx.config.section::<ClassifierSection>().hidden_dim;
    ClassifierSpec {
        model: models::classifier_config(ctx.config, hidden),
        training: ClassifierTrainingConfig::new(
            fs.epochs,
            fs.batch_size,
            fs.learning_rate,
            ctx.seed(TRAINING_SEED),
        )
        .with_eval_every(fs.eval_every)
        .with_freeze_encoder(freeze),
        encoder_init,
        train_set: subset.clone(),
    }
}

/// The from-scratch model's spec (also `transfer`'s baseline).
pub fn scratch_spec<B: AutodiffBackend>(ctx: &Ctx<B>, subset: &TrainingSet) -> ClassifierSpec {
    spec(ctx, subset, "random".into(), false)
}

/// The from-scratch model.
pub fn scratch<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    subset: &TrainingSet,
) -> Result<TrainedClassifier<B>> {
    models::classifier(
        ctx,
        "few-shot, from scratch",
        scratch_spec(ctx, subset),
        None,
    )
}

/// The models the chapter loads or trains.
pub fn models<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<PlannedModel>> {
    let subset = labelled_subset(ctx)?;
    Ok(vec![PlannedModel::new(
        ctx.artifacts,
        "few-shot/scratch",
        models::CLASSIFIER,
        &scratch_spec(ctx, &subset),
    )])
}

/// What the chapter's text reasons with, each computed once.
#[derive(Serialize)]
struct Facts {
    labels: usize,
    min_class_count: u32,
    max_class_count: u32,
    test_size: usize,
    best_loss_epoch: usize,
    best_loss: f64,
    final_loss: f64,
    best_accuracy_epoch: usize,
    best_accuracy: f64,
    final_accuracy: f64,
    final_train_accuracy: f64,
    accuracy_gap: f64,
    loss_rise: f64,
}

/// Over-fitting measured from a history.
pub struct Overfitting {
    pub best_loss_epoch: usize,
    pub best_loss: f64,
    pub final_loss: f64,
    pub best_accuracy_epoch: usize,
    pub best_accuracy: f64,
    pub final_accuracy: f64,
    pub final_train_accuracy: f64,
    pub accuracy_gap: f64,
    pub loss_rise: f64,
}

pub fn overfitting(history: &[ClassEpoch]) -> Overfitting {
    let best_loss = history
        .iter()
        .min_by(|a, b| a.test_loss.total_cmp(&b.test_loss))
        .expect("history");
    let best_acc = history
        .iter()
        .max_by(|a, b| a.test_accuracy.total_cmp(&b.test_accuracy))
        .expect("history");
    let last = history.last().expect("history");
    Overfitting {
        best_loss_epoch: best_loss.epoch,
        best_loss: best_loss.test_loss,
        final_loss: last.test_loss,
        best_accuracy_epoch: best_acc.epoch,
        best_accuracy: best_acc.test_accuracy,
        final_accuracy: last.test_accuracy,
        final_train_accuracy: last.train_accuracy,
        accuracy_gap: last.train_accuracy - last.test_accuracy,
        loss_rise: last.test_loss - best_loss.test_loss,
    }
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let subset = labelled_subset(ctx)?;
    out.seeds.insert("subset".into(), ctx.seed(SUBSET_SEED));
    out.seeds.insert("training".into(), ctx.seed(TRAINING_SEED));
    let trained = scratch(ctx, &subset)?;
    let h = &trained.history;

    let balance = class_balance(&subset)?;
    out.tables.push(balance.table);
    out.tables.push(history_table("history", h)?);
    out.tables.push(timeline(h)?);
    let over = overfitting_study(h)?;
    out.tables.push(over.table);
    out.figures.extend(curves(h)?);

    let o = over.measures;
    out.set_facts(&Facts {
        labels: subset.len(),
        min_class_count: balance.min,
        max_class_count: balance.max,
        test_size: ctx.data.test.len(),
        best_loss_epoch: o.best_loss_epoch,
        best_loss: o.best_loss,
        final_loss: o.final_loss,
        best_accuracy_epoch: o.best_accuracy_epoch,
        best_accuracy: o.best_accuracy,
        final_accuracy: o.final_accuracy,
        final_train_accuracy: o.final_train_accuracy,
        accuracy_gap: o.accuracy_gap,
        loss_rise: o.loss_rise,
    })?;
    Ok(out)
}

#[derive(Serialize)]
struct ClassCountRow {
    digit: u32,
    images: u32,
}

/// How many labelled images each digit has.
struct ClassBalance {
    table: Table,
    min: u32,
    max: u32,
}

fn class_balance(subset: &TrainingSet) -> Result<ClassBalance> {
    let mut counts = [0u32; 10];
    for &l in &subset.split().labels {
        counts[l as usize] += 1;
    }
    let rows: Vec<ClassCountRow> = (0u32..10)
        .zip(counts)
        .map(|(digit, images)| ClassCountRow { digit, images })
        .collect();
    Ok(ClassBalance {
        table: Table::from_rows("class_counts", &["digit"], &rows)?,
        min: *counts.iter().min().expect("10"),
        max: *counts.iter().max().expect("10"),
    })
}

#[derive(Serialize)]
struct TimelineRow {
    epoch: usize,
    elapsed_seconds: f64,
}

/// Training time per epoch (volatile).
fn timeline(h: &[ClassEpoch]) -> Result<Table> {
    let rows: Vec<TimelineRow> = h
        .iter()
        .map(|r| TimelineRow {
            epoch: r.epoch,
            elapsed_seconds: r.elapsed_seconds,
        })
        .collect();
    Table::from_rows("timeline", &["epoch"], &rows).map(Table::volatile)
}

#[derive(Serialize)]
struct MeasureRow {
    measure: &'static str,
    value: f64,
}

/// Over-fitting, measured and tabled.
struct OverfittingStudy {
    table: Table,
    measures: Overfitting,
}

fn overfitting_study(h: &[ClassEpoch]) -> Result<OverfittingStudy> {
    let o = overfitting(h);
    let rows = [
        ("epoch of minimum test loss", o.best_loss_epoch as f64),
        ("minimum test loss", o.best_loss),
        ("final test loss", o.final_loss),
        ("final train accuracy", o.final_train_accuracy),
        ("final test accuracy", o.final_accuracy),
        ("train - test accuracy gap", o.accuracy_gap),
    ]
    .map(|(measure, value)| MeasureRow { measure, value });
    Ok(OverfittingStudy {
        table: Table::from_rows("overfitting", &["measure"], &rows)?,
        measures: o,
    })
}

/// Accuracy and loss curves, against epochs and against training time.
fn curves(h: &[ClassEpoch]) -> Result<Vec<Figure>> {
    let by = |x: fn(&ClassEpoch) -> f64, y: fn(&ClassEpoch) -> f64| -> Vec<(f64, f64)> {
        h.iter().map(|r| (x(r), y(r))).collect()
    };
    let epoch = |r: &ClassEpoch| r.epoch as f64;
    let secs = |r: &ClassEpoch| r.elapsed_seconds;
    let mut figures = Vec::new();
    for (file, x_label, x) in [
        ("curves-epoch.svg", "epoch", epoch as fn(&ClassEpoch) -> f64),
        ("curves-time.svg", "training time (s)", secs),
    ] {
        let acc = LineChart::new(x_label, "accuracy / cross-entropy")
            .series(Series::new("train accuracy", by(x, |r| r.train_accuracy)))
            .series(Series::new("test accuracy", by(x, |r| r.test_accuracy)))
            .series(Series::new("train loss", by(x, |r| r.train_loss)))
            .series(Series::new("test loss", by(x, |r| r.test_loss)));
        figures.push(Figure {
            file: file.into(),
            bytes: acc.to_svg()?.into_bytes(),
        });
    }
    Ok(figures)
}

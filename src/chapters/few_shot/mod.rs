//! Chapter `few-shot`: encoder + MLP trained from scratch on 100 labelled
//! images, evaluated on the whole test set; over-fitting read off the curves
//! of the first draw, the accuracy measured over all draws.

pub mod augmentation;
pub mod section;

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Serialize;

use super::classifier::history_table;
use super::parallel;
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::{BookConfig, Config};
use crate::data::TrainingSet;
use crate::experiment::Ctx;
use crate::experiment::models::{self, ClassifierSpec, PlannedModel, TrainedClassifier};
use crate::experiment::sections::ClassifierSection;
use crate::ml::stats::Estimate;
use crate::nn::classify::{ClassEpoch, ClassifierTrainingConfig, selected_epoch};
use crate::plot::{LineChart, Series};

pub use section::FewShotSection;

/// The experiment names of the labelled draws and of the trainings' seeds
/// (shared with `transfer`, which trains on the same draws); draw `r`
/// derives its seeds from `<name>/<r>`.
pub const SUBSET_SEED: &str = "few-shot/subset";
pub const TRAINING_SEED: &str = "few-shot/training";

pub const TABLES: &[&str] = &[
    "class_counts",
    "history",
    "timeline",
    "overfitting",
    "repetitions",
    "augmentation",
];

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

/// One repetition: its labelled images, split into those trained on and
/// those that select the epoch, and the seed of its training.
#[derive(Clone)]
pub struct Draw {
    /// 1-based, as the tables and model names show it.
    pub number: usize,
    pub subset_seed: u64,
    pub training_seed: u64,
    pub train: TrainingSet,
    pub validation: TrainingSet,
}

/// Draw `number`: `[chapter.few-shot].labels` images drawn from the
/// profile's training split with the draw's own seed, the last
/// `validation` of them held out.
pub fn draw<B: AutodiffBackend>(ctx: &Ctx<B>, number: usize) -> Result<Draw> {
    let fs = ctx.config.section::<FewShotSection>();
    let n = fs.labels;
    let available = ctx.data.train.len();
    anyhow::ensure!(
        n <= available,
        "chapter.few-shot.labels = {n}, but the profile's training split has only {available} images"
    );
    let subset_seed = ctx.seed(&format!("{SUBSET_SEED}/{number}"));
    let mut idx: Vec<usize> = (0..available).collect();
    idx.shuffle(&mut StdRng::seed_from_u64(subset_seed));
    idx.truncate(n);
    let mut validation = idx.split_off(n - fs.validation);
    idx.sort_unstable();
    validation.sort_unstable();
    let train = n - fs.validation;
    Ok(Draw {
        number,
        subset_seed,
        training_seed: ctx.seed(&format!("{TRAINING_SEED}/{number}")),
        train: TrainingSet::new(
            format!("{train} labelled, draw {number}"),
            ctx.data.train.select(&idx),
        ),
        validation: TrainingSet::new(
            format!("{} validation, draw {number}", fs.validation),
            ctx.data.train.select(&validation),
        ),
    })
}

/// Every draw of the chapter, `[chapter.few-shot].seeds` of them.
pub fn draws<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<Draw>> {
    let seeds = ctx.config.section::<FewShotSection>().seeds;
    (1..=seeds).map(|r| draw(ctx, r)).collect()
}

/// A model's name in the plan: `chapter/model/<draw>`.
pub fn model_name(name: &str, draw: &Draw) -> String {
    format!("{name}/{}", draw.number)
}

/// The classifier spec for one draw; `encoder_init` and `freeze`
/// distinguish scratch, fine-tuned and frozen-encoder runs.
pub fn spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    draw: &Draw,
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
            draw.training_seed,
        )
        .with_eval_every(fs.eval_every)
        .with_freeze_encoder(freeze),
        encoder_init,
        train_set: draw.train.clone(),
        validation_set: Some(draw.validation.clone()),
        augmentation: None,
    }
}

/// The from-scratch model's spec (also `transfer`'s baseline).
pub fn scratch_spec<B: AutodiffBackend>(ctx: &Ctx<B>, draw: &Draw) -> ClassifierSpec {
    spec(ctx, draw, "random".into(), false)
}

/// The from-scratch model of one draw.
pub fn scratch<B: AutodiffBackend>(ctx: &Ctx<B>, draw: &Draw) -> Result<TrainedClassifier<B>> {
    models::classifier(
        ctx,
        &format!("few-shot, from scratch, draw {}", draw.number),
        scratch_spec(ctx, draw),
        None,
    )
}

/// The from-scratch model of every draw (`transfer`'s baselines too).
pub fn scratch_models_planned<'a, B: AutodiffBackend>(
    ctx: &'a Ctx<B>,
) -> Result<Vec<PlannedModel<'a>>> {
    Ok(draws(ctx)?
        .iter()
        .map(|d| {
            PlannedModel::new(
                ctx.artifacts,
                model_name("few-shot/scratch", d),
                models::CLASSIFIER,
                &scratch_spec(ctx, d),
                {
                    let d = d.clone();
                    move || scratch(ctx, &d).map(drop)
                },
            )
        })
        .collect())
}

/// The models the chapter loads or trains: per draw, from scratch and
/// augmented (with the book AE that generates for the latter).
pub fn models<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> Result<Vec<PlannedModel<'a>>> {
    let mut planned = scratch_models_planned(ctx)?;
    planned.extend(augmentation::models(ctx, &draws(ctx)?));
    Ok(planned)
}

/// What one training of a draw scores: at the epoch its validation split
/// selects and at the last epoch.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Scores {
    pub selected_epoch: usize,
    pub selected_validation_accuracy: f64,
    pub selected_test_accuracy: f64,
    pub last_test_accuracy: f64,
    pub last_train_accuracy: f64,
    /// Train minus test accuracy at the last epoch.
    pub last_train_test_gap: f64,
}

impl Scores {
    pub fn of(history: &[ClassEpoch]) -> Self {
        let selected = selected_epoch(history).expect("few-shot trainings have a validation split");
        let last = history.last().expect("history");
        Self {
            selected_epoch: selected.epoch,
            selected_validation_accuracy: selected.validation_accuracy.expect("validation"),
            selected_test_accuracy: selected.test_accuracy,
            last_test_accuracy: last.test_accuracy,
            last_train_accuracy: last.train_accuracy,
            last_train_test_gap: last.train_accuracy - last.test_accuracy,
        }
    }
}

/// A measure over the draws.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct OverDraws {
    pub selected_test_accuracy: Estimate,
    pub last_test_accuracy: Estimate,
    pub last_train_test_gap: Estimate,
}

impl OverDraws {
    pub fn of(scores: &[Scores]) -> Self {
        let est = |f: fn(&Scores) -> f64| Estimate::of(&scores.iter().map(f).collect::<Vec<_>>());
        Self {
            selected_test_accuracy: est(|s| s.selected_test_accuracy),
            last_test_accuracy: est(|s| s.last_test_accuracy),
            last_train_test_gap: est(|s| s.last_train_test_gap),
        }
    }
}

/// What the chapter's text reasons with, each computed once.
#[derive(Serialize)]
struct Facts {
    labels: usize,
    train_labels: usize,
    validation_labels: usize,
    draws: usize,
    min_class_count: u32,
    max_class_count: u32,
    test_size: usize,
    best_loss_epoch: usize,
    best_loss: f64,
    final_loss: f64,
    selected_epoch: usize,
    selected_accuracy: f64,
    final_accuracy: f64,
    final_train_accuracy: f64,
    accuracy_gap: f64,
    loss_rise: f64,
    over_draws: OverDraws,
    /// Lowest and highest last-epoch test accuracy of a draw.
    min_last_accuracy: f64,
    max_last_accuracy: f64,
    augmentation: Option<augmentation::AugmentationFacts>,
    /// Published results with as many labels that also use the unlabelled
    /// images (the dataset entry's; only with 100 labels).
    published: Vec<crate::data::catalog::Published>,
}

/// Over-fitting measured from a history.
pub struct Overfitting {
    pub best_loss_epoch: usize,
    pub best_loss: f64,
    pub final_loss: f64,
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
    let last = history.last().expect("history");
    Overfitting {
        best_loss_epoch: best_loss.epoch,
        best_loss: best_loss.test_loss,
        final_loss: last.test_loss,
        final_accuracy: last.test_accuracy,
        final_train_accuracy: last.train_accuracy,
        accuracy_gap: last.train_accuracy - last.test_accuracy,
        loss_rise: last.test_loss - best_loss.test_loss,
    }
}

/// Trains (or loads) every draw's from-scratch model, in parallel.
pub fn scratch_models<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    draws: &[Draw],
) -> Result<Vec<TrainedClassifier<B>>> {
    type Job<'a, B> = Box<dyn FnOnce() -> Result<TrainedClassifier<B>> + Send + 'a>;
    let jobs: Vec<Job<B>> = draws
        .iter()
        .map(|d| -> Job<B> { Box::new(move || scratch(ctx, d)) })
        .collect();
    parallel(jobs)
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let draws = draws(ctx)?;
    for d in &draws {
        out.seeds
            .insert(format!("subset {}", d.number), d.subset_seed);
        out.seeds
            .insert(format!("training {}", d.number), d.training_seed);
    }
    // From scratch and augmented, every draw's, side by side.
    let fs = ctx.config.section::<FewShotSection>();
    let augmented_specs: Vec<ClassifierSpec> = if fs.generated_per_class > 0 {
        let ae = models::book_autoencoder(ctx)?;
        out.seeds.insert(
            "generated images, draw 1".into(),
            augmentation::spec(ctx, &draws[0], &ae.key, fs.generated_per_class)
                .augmentation
                .expect("augmented")
                .seed,
        );
        draws
            .iter()
            .map(|d| augmentation::generated_spec(ctx, d, &ae, fs.generated_per_class))
            .collect()
    } else {
        Vec::new()
    };
    type Job<'a, B> = Box<dyn FnOnce() -> Result<TrainedClassifier<B>> + Send + 'a>;
    let mut jobs: Vec<Job<B>> = draws
        .iter()
        .map(|d| -> Job<B> { Box::new(move || scratch(ctx, d)) })
        .collect();
    for (d, spec) in draws.iter().zip(&augmented_specs) {
        let spec = spec.clone();
        jobs.push(Box::new(move || augmentation::classifier(ctx, d, spec)));
    }
    let mut trained = parallel(jobs)?;
    let augmented = trained.split_off(draws.len());
    let scores: Vec<Scores> = trained.iter().map(|t| Scores::of(&t.history)).collect();
    let over_draws = OverDraws::of(&scores);
    out.tables.push(repetitions_table(&draws, &scores)?);
    let augmentation = if augmented.is_empty() {
        None
    } else {
        let augmented: Vec<Scores> = augmented.iter().map(|t| Scores::of(&t.history)).collect();
        let (table, figure, facts) =
            augmentation::study(&draws, &augmented_specs, &scores, &augmented, fs.batch_size)?;
        out.tables.push(table);
        out.figures.push(figure);
        Some(facts)
    };

    // The curves and the over-fitting reading: the first draw's.
    let (first, h) = (&draws[0], &trained[0].history);
    let balance = class_balance(first)?;
    out.tables.push(balance.table);
    out.tables.push(history_table("history", h)?);
    out.tables.push(timeline(h)?);
    let over = overfitting_study(h, &scores[0])?;
    out.tables.push(over.table);
    out.figures.extend(curves(h)?);

    let o = over.measures;
    let last = |f: fn(f64, f64) -> f64| {
        scores
            .iter()
            .map(|s| s.last_test_accuracy)
            .fold(scores[0].last_test_accuracy, f)
    };
    out.set_facts(&Facts {
        labels: first.train.len() + first.validation.len(),
        train_labels: first.train.len(),
        validation_labels: first.validation.len(),
        draws: draws.len(),
        min_class_count: balance.min,
        max_class_count: balance.max,
        test_size: ctx.data.test.len(),
        best_loss_epoch: o.best_loss_epoch,
        best_loss: o.best_loss,
        final_loss: o.final_loss,
        selected_epoch: scores[0].selected_epoch,
        selected_accuracy: scores[0].selected_test_accuracy,
        final_accuracy: o.final_accuracy,
        final_train_accuracy: o.final_train_accuracy,
        accuracy_gap: o.accuracy_gap,
        loss_rise: o.loss_rise,
        over_draws,
        min_last_accuracy: last(f64::min),
        max_last_accuracy: last(f64::max),
        augmentation,
        published: if first.train.len() + first.validation.len() == 100 {
            ["labels-100-m1-tsvm", "labels-100-ladder"]
                .iter()
                .filter_map(|id| ctx.data.entry.published(id).cloned())
                .collect()
        } else {
            Vec::new()
        },
    })?;
    Ok(out)
}

#[derive(Serialize)]
struct RepetitionRow {
    draw: u64,
    selected_epoch: u64,
    validation_accuracy: f64,
    selected_test_accuracy: f64,
    last_test_accuracy: f64,
    last_train_accuracy: f64,
}

/// One row per draw: what its validation split selected, and the last epoch.
fn repetitions_table(draws: &[Draw], scores: &[Scores]) -> Result<Table> {
    let rows: Vec<RepetitionRow> = draws
        .iter()
        .zip(scores)
        .map(|(d, s)| RepetitionRow {
            draw: d.number as u64,
            selected_epoch: s.selected_epoch as u64,
            validation_accuracy: s.selected_validation_accuracy,
            selected_test_accuracy: s.selected_test_accuracy,
            last_test_accuracy: s.last_test_accuracy,
            last_train_accuracy: s.last_train_accuracy,
        })
        .collect();
    Table::from_rows("repetitions", &["draw"], &rows)
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

fn class_balance(draw: &Draw) -> Result<ClassBalance> {
    let mut counts = [0u32; 10];
    for set in [&draw.train, &draw.validation] {
        for &l in &set.split().labels {
            counts[l as usize] += 1;
        }
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

fn overfitting_study(h: &[ClassEpoch], scores: &Scores) -> Result<OverfittingStudy> {
    let o = overfitting(h);
    let rows = [
        ("epoch of minimum test loss", o.best_loss_epoch as f64),
        ("minimum test loss", o.best_loss),
        ("final test loss", o.final_loss),
        ("final train accuracy", o.final_train_accuracy),
        ("final test accuracy", o.final_accuracy),
        ("train - test accuracy gap", o.accuracy_gap),
        ("epoch selected on validation", scores.selected_epoch as f64),
        ("test accuracy at that epoch", scores.selected_test_accuracy),
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
            .series(Series::new(
                "validation accuracy",
                by(x, |r| r.validation_accuracy.expect("a validation split")),
            ))
            .series(Series::new("train loss", by(x, |r| r.train_loss)))
            .series(Series::new("test loss", by(x, |r| r.test_loss)));
        figures.push(Figure {
            file: file.into(),
            bytes: acc.to_svg()?.into_bytes(),
        });
    }
    Ok(figures)
}

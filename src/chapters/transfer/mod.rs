//! Chapter `transfer`: the AE's pre-trained encoder as the starting point
//! for the 100-label classifier, fine-tuned or frozen, against scratch.

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::few_shot::{Overfitting, labelled_subset, overfitting, scratch, spec};
use super::parallel;
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::{BookConfig, Config};
use crate::data::TrainingSet;
use crate::experiment::Ctx;
use crate::experiment::models::{self, PlannedModel, TrainedClassifier};
use crate::plot::{LineChart, Series};

pub const TABLES: &[&str] = &["comparison"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "classifier", "few-shot"];

pub fn title(_config: &Config) -> String {
    "Transfer from a Pre-trained Encoder".into()
}

/// The chapter has no `[chapter.transfer]` section of its own.
pub fn check_section(book: &mut BookConfig) -> Result<(), String> {
    crate::config::section::none(book, "transfer")
}

/// One starting point's test accuracy.
#[derive(Serialize)]
struct Variant {
    best: f64,
    best_epoch: usize,
    last: f64,
    /// Train minus test accuracy at the last epoch.
    train_test_gap: f64,
}

impl Variant {
    fn of(s: &Overfitting) -> Self {
        Self {
            best: s.best_accuracy,
            best_epoch: s.best_accuracy_epoch,
            last: s.final_accuracy,
            train_test_gap: s.accuracy_gap,
        }
    }
}

/// What the chapter's text reasons with, each computed once.
#[derive(Serialize)]
struct Facts {
    labels: usize,
    ae_train_size: usize,
    scratch: Variant,
    fine: Variant,
    frozen: Variant,
}

/// How a transferred classifier's encoder starts: the AE's, by key.
fn encoder_init(ae_key: &str) -> String {
    format!("autoencoder {ae_key}")
}

/// The models the chapter loads or trains (the scratch baseline is
/// `few-shot`'s, the encoder the book AE).
pub fn models<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<PlannedModel>> {
    let subset = labelled_subset(ctx)?;
    let ae = ctx
        .artifacts
        .key(models::CONV_AE, &models::book_autoencoder_spec(ctx));
    let mut planned = super::few_shot::models(ctx)?;
    for (freeze, name) in [(false, "transfer/fine-tuned"), (true, "transfer/frozen")] {
        planned.push(PlannedModel::new(
            ctx.artifacts,
            name,
            models::CLASSIFIER,
            &spec(ctx, &subset, encoder_init(&ae), freeze),
        ));
    }
    Ok(planned)
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let subset = labelled_subset(ctx)?;
    let runs = training(ctx, &subset)?;
    out.seeds
        .insert("training".into(), ctx.seed(super::few_shot::TRAINING_SEED));

    let named = runs.named();
    let stats = named.map(|(_, t)| overfitting(&t.history));
    out.tables.push(comparison(&named, &stats)?);
    out.figures.push(test_accuracy(&named)?);
    let [scratch, fine, frozen] = stats.map(|s| Variant::of(&s));
    out.set_facts(&Facts {
        labels: subset.len(),
        ae_train_size: ctx.data.train.len(),
        scratch,
        fine,
        frozen,
    })?;
    Ok(out)
}

/// The three classifiers: from scratch, fine-tuned from the AE's encoder
/// and on the AE's frozen encoder.
struct Runs<B: AutodiffBackend> {
    scratch: TrainedClassifier<B>,
    fine: TrainedClassifier<B>,
    frozen: TrainedClassifier<B>,
}

impl<B: AutodiffBackend> Runs<B> {
    /// Each run with its name in the table and the figure, in that order.
    fn named(&self) -> [(&'static str, &TrainedClassifier<B>); 3] {
        [
            ("scratch", &self.scratch),
            ("fine-tuned", &self.fine),
            ("frozen encoder", &self.frozen),
        ]
    }
}

/// Loads or trains the scratch baseline, then both transferred
/// classifiers in parallel.
fn training<B: AutodiffBackend>(ctx: &Ctx<B>, subset: &TrainingSet) -> Result<Runs<B>> {
    let ae = models::book_autoencoder(ctx)?;
    let scratch = scratch(ctx, subset)?;
    let init = encoder_init(&ae.key);
    type Job<'a, B> = Box<dyn FnOnce() -> Result<TrainedClassifier<B>> + Send + 'a>;
    let jobs: Vec<Job<B>> = [
        (false, "transfer, fine-tuned"),
        (true, "transfer, frozen encoder"),
    ]
    .into_iter()
    .map(|(freeze, name)| -> Job<B> {
        let spec = spec(ctx, subset, init.clone(), freeze);
        let encoder = ae.model.encoder.clone();
        Box::new(move || models::classifier(ctx, name, spec, Some(encoder)))
    })
    .collect();
    let mut trained = parallel(jobs)?.into_iter();
    Ok(Runs {
        scratch,
        fine: trained.next().expect("fine-tuned"),
        frozen: trained.next().expect("frozen"),
    })
}

#[derive(Serialize)]
struct ComparisonRow {
    variant: &'static str,
    best_test_accuracy: f64,
    best_epoch: usize,
    final_test_accuracy: f64,
    final_test_loss: f64,
    min_test_loss: f64,
}

fn comparison<B: AutodiffBackend>(
    named: &[(&'static str, &TrainedClassifier<B>)],
    stats: &[Overfitting],
) -> Result<Table> {
    let rows: Vec<ComparisonRow> = named
        .iter()
        .zip(stats)
        .map(|((variant, _), s)| ComparisonRow {
            variant,
            best_test_accuracy: s.best_accuracy,
            best_epoch: s.best_accuracy_epoch,
            final_test_accuracy: s.final_accuracy,
            final_test_loss: s.final_loss,
            min_test_loss: s.best_loss,
        })
        .collect();
    Table::from_rows("comparison", &["variant"], &rows)
}

/// Test accuracy per epoch of every run.
fn test_accuracy<B: AutodiffBackend>(
    named: &[(&'static str, &TrainedClassifier<B>)],
) -> Result<Figure> {
    let mut chart = LineChart::new("epoch", "test accuracy");
    for (name, t) in named {
        chart = chart.series(Series::new(
            *name,
            t.history
                .iter()
                .map(|r| (r.epoch as f64, r.test_accuracy))
                .collect(),
        ));
    }
    Ok(Figure {
        file: "test-accuracy.svg".into(),
        bytes: chart.to_svg()?.into_bytes(),
    })
}

//! Chapter `transfer`: the AE's pre-trained encoder as the starting point
//! for the 100-label classifier, fine-tuned or frozen, against scratch.

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use polars::prelude::Column;
use serde::Serialize;

use super::few_shot::{labelled_subset, overfitting, scratch, spec};
use super::parallel;
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::Config;
use crate::experiment::Ctx;
use crate::experiment::models::{self, PlannedModel, TrainedClassifier};
use crate::plot::{LineChart, Series};

pub const TABLES: &[&str] = &["comparison"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "classifier", "few-shot"];

pub fn title(_config: &Config) -> String {
    "Transfer from a Pre-trained Encoder".into()
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
    let ae = models::book_autoencoder(ctx)?;
    let scratch = scratch(ctx, &subset)?;
    let init = encoder_init(&ae.key);
    type Job<'a, B> = Box<dyn FnOnce() -> Result<TrainedClassifier<B>> + Send + 'a>;
    let jobs: Vec<Job<B>> = [
        (false, "transfer, fine-tuned"),
        (true, "transfer, frozen encoder"),
    ]
    .into_iter()
    .map(|(freeze, name)| -> Job<B> {
        let spec = spec(ctx, &subset, init.clone(), freeze);
        let encoder = ae.model.encoder.clone();
        Box::new(move || models::classifier(ctx, name, spec, Some(encoder)))
    })
    .collect();
    let mut trained = parallel(jobs)?.into_iter();
    let (fine, frozen) = (
        trained.next().expect("fine-tuned"),
        trained.next().expect("frozen"),
    );
    out.seeds
        .insert("training".into(), ctx.seed("few-shot/training"));

    let runs = [
        ("scratch", &scratch),
        ("fine-tuned", &fine),
        ("frozen encoder", &frozen),
    ];
    let stats: Vec<_> = runs.iter().map(|(_, t)| overfitting(&t.history)).collect();
    out.tables.push(Table::new(
        "comparison",
        &["variant"],
        vec![
            Column::new(
                "variant".into(),
                runs.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            ),
            Column::new(
                "best_test_accuracy".into(),
                stats.iter().map(|s| s.best_accuracy).collect::<Vec<_>>(),
            ),
            Column::new(
                "best_epoch".into(),
                stats
                    .iter()
                    .map(|s| s.best_accuracy_epoch as u32)
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "final_test_accuracy".into(),
                stats.iter().map(|s| s.final_accuracy).collect::<Vec<_>>(),
            ),
            Column::new(
                "final_test_loss".into(),
                stats.iter().map(|s| s.final_loss).collect::<Vec<_>>(),
            ),
            Column::new(
                "min_test_loss".into(),
                stats.iter().map(|s| s.best_loss).collect::<Vec<_>>(),
            ),
        ],
    )?);
    let mut chart = LineChart::new("epoch", "test accuracy");
    for (name, t) in &runs {
        chart = chart.series(Series::new(
            *name,
            t.history
                .iter()
                .map(|r| (r.epoch as f64, r.test_accuracy))
                .collect(),
        ));
    }
    out.figures.push(Figure {
        file: "test-accuracy.svg".into(),
        bytes: chart.to_svg()?.into_bytes(),
    });
    let variant = |s: &super::few_shot::Overfitting| Variant {
        best: s.best_accuracy,
        best_epoch: s.best_accuracy_epoch,
        last: s.final_accuracy,
        train_test_gap: s.accuracy_gap,
    };
    out.set_facts(&Facts {
        labels: subset.len(),
        ae_train_size: ctx.data.train.len(),
        scratch: variant(&stats[0]),
        fine: variant(&stats[1]),
        frozen: variant(&stats[2]),
    })?;
    Ok(out)
}

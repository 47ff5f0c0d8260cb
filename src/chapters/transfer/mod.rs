//! Chapter `transfer`: the AE's pre-trained encoder as the starting point
//! for the 100-label classifier, fine-tuned or frozen, against scratch, on
//! every draw of `few-shot`; the differences are paired by draw.

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::few_shot::{Draw, OverDraws, Scores, draws, model_name, scratch, spec};
use super::parallel;
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::{BookConfig, Config};
use crate::experiment::Ctx;
use crate::experiment::models::{self, PlannedModel, TrainedClassifier};
use crate::ml::stats::{self, Difference};
use crate::plot::{LineChart, Series};

pub const TABLES: &[&str] = &["comparison", "repetitions", "differences"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "classifier", "few-shot"];

pub fn title(_config: &Config) -> String {
    "Transfer from a Pre-trained Encoder".into()
}

/// The chapter has no `[chapter.transfer]` section of its own.
pub fn check_section(book: &mut BookConfig) -> Result<(), String> {
    crate::config::section::none(book, "transfer")
}

/// The three starting points, in the order of the tables and the figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Start {
    Scratch,
    FineTuned,
    Frozen,
}

const STARTS: [Start; 3] = [Start::Scratch, Start::FineTuned, Start::Frozen];

impl Start {
    fn label(self) -> &'static str {
        match self {
            Start::Scratch => "scratch",
            Start::FineTuned => "fine-tuned",
            Start::Frozen => "frozen encoder",
        }
    }

    /// The model's name in the plan (the scratch one is `few-shot`'s).
    fn model(self) -> &'static str {
        match self {
            Start::Scratch => "few-shot/scratch",
            Start::FineTuned => "transfer/fine-tuned",
            Start::Frozen => "transfer/frozen",
        }
    }
}

/// One paired comparison the text states, with both of its measures.
#[derive(Serialize)]
struct Comparison {
    a: &'static str,
    b: &'static str,
    selected: Difference,
    last: Difference,
}

/// What the chapter's text reasons with, each computed once.
#[derive(Serialize)]
struct Facts {
    labels: usize,
    train_labels: usize,
    validation_labels: usize,
    draws: usize,
    ae_train_size: usize,
    t_quantile: f64,
    scratch: OverDraws,
    fine: OverDraws,
    frozen: OverDraws,
    fine_vs_scratch: Comparison,
    frozen_vs_scratch: Comparison,
    frozen_vs_fine: Comparison,
}

/// How a transferred classifier's encoder starts: the AE's, by key.
fn encoder_init(ae_key: &str) -> String {
    format!("autoencoder {ae_key}")
}

/// The models the chapter loads or trains (the scratch baselines are
/// `few-shot`'s, the encoder the book AE's).
pub fn models<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<PlannedModel>> {
    let ae = ctx
        .artifacts
        .key(models::CONV_AE, &models::book_autoencoder_spec(ctx));
    let mut planned = super::few_shot::models(ctx)?;
    for d in draws(ctx)? {
        for (freeze, start) in [(false, Start::FineTuned), (true, Start::Frozen)] {
            planned.push(PlannedModel::new(
                ctx.artifacts,
                model_name(start.model(), &d),
                models::CLASSIFIER,
                &spec(ctx, &d, encoder_init(&ae), freeze),
            ));
        }
    }
    Ok(planned)
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let draws = draws(ctx)?;
    for d in &draws {
        out.seeds
            .insert(format!("training {}", d.number), d.training_seed);
    }
    // runs[start][draw]
    let runs = training(ctx, &draws)?;
    let scores: Vec<Vec<Scores>> = runs
        .iter()
        .map(|per_draw| per_draw.iter().map(|t| Scores::of(&t.history)).collect())
        .collect();
    let over: Vec<OverDraws> = scores.iter().map(|s| OverDraws::of(s)).collect();
    let compare = |a: usize, b: usize| {
        let m = |i: usize, f: fn(&Scores) -> f64| scores[i].iter().map(f).collect::<Vec<_>>();
        Comparison {
            a: STARTS[a].label(),
            b: STARTS[b].label(),
            selected: stats::paired_difference(
                &m(a, |s| s.selected_test_accuracy),
                &m(b, |s| s.selected_test_accuracy),
            ),
            last: stats::paired_difference(
                &m(a, |s| s.last_test_accuracy),
                &m(b, |s| s.last_test_accuracy),
            ),
        }
    };
    let comparisons = [compare(1, 0), compare(2, 0), compare(2, 1)];

    out.tables.push(comparison_table(&over)?);
    out.tables.push(repetitions_table(&draws, &scores)?);
    out.tables.push(differences_table(&comparisons)?);
    out.figures.push(test_accuracy(&runs)?);
    let first = &draws[0];
    let [fine_vs_scratch, frozen_vs_scratch, frozen_vs_fine] = comparisons;
    out.set_facts(&Facts {
        labels: first.train.len() + first.validation.len(),
        train_labels: first.train.len(),
        validation_labels: first.validation.len(),
        draws: draws.len(),
        ae_train_size: ctx.data.train.len(),
        t_quantile: stats::t_quantile(draws.len() - 1),
        scratch: over[0],
        fine: over[1],
        frozen: over[2],
        fine_vs_scratch,
        frozen_vs_scratch,
        frozen_vs_fine,
    })?;
    Ok(out)
}

/// Every draw's three classifiers, indexed `[start][draw]`: the scratch
/// baselines (`few-shot`'s), then both transferred ones, all in parallel.
fn training<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    draws: &[Draw],
) -> Result<Vec<Vec<TrainedClassifier<B>>>> {
    let ae = models::book_autoencoder(ctx)?;
    let init = encoder_init(&ae.key);
    type Job<'a, B> = Box<dyn FnOnce() -> Result<TrainedClassifier<B>> + Send + 'a>;
    let mut jobs: Vec<Job<B>> = Vec::new();
    for start in STARTS {
        for d in draws {
            jobs.push(match start {
                Start::Scratch => Box::new(move || scratch(ctx, d)),
                Start::FineTuned | Start::Frozen => {
                    let freeze = start == Start::Frozen;
                    let spec = spec(ctx, d, init.clone(), freeze);
                    let encoder = ae.model.encoder.clone();
                    let name = format!("transfer, {}, draw {}", start.label(), d.number);
                    Box::new(move || models::classifier(ctx, &name, spec, Some(encoder)))
                }
            });
        }
    }
    let mut trained = parallel(jobs)?.into_iter();
    Ok(STARTS
        .iter()
        .map(|_| trained.by_ref().take(draws.len()).collect())
        .collect())
}

#[derive(Serialize)]
struct ComparisonRow {
    variant: &'static str,
    selected_test_accuracy: f64,
    selected_se: f64,
    last_test_accuracy: f64,
    last_se: f64,
    last_train_test_gap: f64,
    gap_se: f64,
}

/// Each starting point over the draws: mean and standard error.
fn comparison_table(over: &[OverDraws]) -> Result<Table> {
    let rows: Vec<ComparisonRow> = STARTS
        .iter()
        .zip(over)
        .map(|(start, o)| ComparisonRow {
            variant: start.label(),
            selected_test_accuracy: o.selected_test_accuracy.mean,
            selected_se: o.selected_test_accuracy.se,
            last_test_accuracy: o.last_test_accuracy.mean,
            last_se: o.last_test_accuracy.se,
            last_train_test_gap: o.last_train_test_gap.mean,
            gap_se: o.last_train_test_gap.se,
        })
        .collect();
    Table::from_rows("comparison", &["variant"], &rows)
}

#[derive(Serialize)]
struct RepetitionRow {
    variant: &'static str,
    draw: u64,
    selected_epoch: u64,
    selected_test_accuracy: f64,
    last_test_accuracy: f64,
    last_train_test_gap: f64,
}

fn repetitions_table(draws: &[Draw], scores: &[Vec<Scores>]) -> Result<Table> {
    let mut rows = Vec::new();
    for (start, per_draw) in STARTS.iter().zip(scores) {
        for (d, s) in draws.iter().zip(per_draw) {
            rows.push(RepetitionRow {
                variant: start.label(),
                draw: d.number as u64,
                selected_epoch: s.selected_epoch as u64,
                selected_test_accuracy: s.selected_test_accuracy,
                last_test_accuracy: s.last_test_accuracy,
                last_train_test_gap: s.last_train_test_gap,
            });
        }
    }
    Table::from_rows("repetitions", &["variant", "draw"], &rows)
}

#[derive(Serialize)]
struct DifferenceRow {
    comparison: String,
    epoch: &'static str,
    mean_difference: f64,
    se: f64,
    ci_low: f64,
    ci_high: f64,
    verdict: stats::Verdict,
}

/// The paired differences in test accuracy, at the selected and the last epoch.
fn differences_table(comparisons: &[Comparison]) -> Result<Table> {
    let mut rows = Vec::new();
    for c in comparisons {
        for (epoch, d) in [("selected", &c.selected), ("last", &c.last)] {
            rows.push(DifferenceRow {
                comparison: format!("{} - {}", c.a, c.b),
                epoch,
                mean_difference: d.mean,
                se: d.se,
                ci_low: d.ci_low,
                ci_high: d.ci_high,
                verdict: d.verdict,
            });
        }
    }
    Table::from_rows("differences", &["comparison", "epoch"], &rows)
}

/// Mean test accuracy over the draws by epoch, per starting point.
fn test_accuracy<B: AutodiffBackend>(runs: &[Vec<TrainedClassifier<B>>]) -> Result<Figure> {
    let mut chart = LineChart::new("epoch", "test accuracy (mean over draws)");
    for (start, per_draw) in STARTS.iter().zip(runs) {
        let epochs = &per_draw[0].history;
        let points = (0..epochs.len())
            .map(|i| {
                let mean = per_draw
                    .iter()
                    .map(|t| t.history[i].test_accuracy)
                    .sum::<f64>()
                    / per_draw.len() as f64;
                (epochs[i].epoch as f64, mean)
            })
            .collect();
        chart = chart.series(Series::new(start.label(), points));
    }
    Ok(Figure {
        file: "test-accuracy.svg".into(),
        bytes: chart.to_svg()?.into_bytes(),
    })
}

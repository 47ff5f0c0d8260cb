//! Chapter `transfer`: the AE's pre-trained encoder as the starting point
//! for the 100-label classifier — frozen (under the classifier's MLP head,
//! or under a linear or MLP head on standardised codes), fine-tuned at the
//! base or a smaller encoder learning rate, or probed first and then
//! fine-tuned — against scratch, on every draw of `few-shot`; the
//! differences are paired by draw, and how far fine-tuning moved each
//! encoder layer is measured.

pub mod section;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::few_shot::{Draw, OverDraws, Scores, draws, model_name, scratch, spec};
use super::parallel;
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::{BookConfig, Config};
use crate::experiment::Ctx;
use crate::experiment::models::{self, ClassifierSpec, PlannedModel, TrainedClassifier};
use crate::ml::stats::{self, Difference, Estimate};
use crate::nn::autoencoder::Autoencoder;
use crate::nn::classify::{ClassEpoch, ClassifierTrainingConfig};
use crate::nn::code_head::{HeadKind, LabelledCodes, train_code_head};
use crate::plot::{LineChart, Series};

pub use section::TransferSection;

pub const TABLES: &[&str] = &["comparison", "repetitions", "differences", "weight_change"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "classifier", "few-shot", "transfer"];

pub fn title(_config: &Config) -> String {
    "Transfer from a Pre-trained Encoder".into()
}

/// Checks `[chapter.transfer]` and completes it with its defaults.
pub fn check_section(book: &mut BookConfig) -> Result<(), String> {
    crate::config::section::complete::<TransferSection>(book)
}

/// `[chapter.transfer]`, with the probe's epochs worked out from few-shot's.
struct Settings {
    encoder_learning_rate_factor: f64,
    probe_epochs: usize,
    code_head_epoch_factor: usize,
}

fn settings<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Settings> {
    let t = ctx.config.section::<TransferSection>();
    let epochs = ctx
        .config
        .section::<super::few_shot::FewShotSection>()
        .epochs;
    anyhow::ensure!(
        epochs >= 2,
        "chapter.few-shot.epochs = {epochs}: transfer's probe-then-fine-tune needs at least 2 \
         (one to probe, one to fine-tune)"
    );
    Ok(Settings {
        encoder_learning_rate_factor: t.encoder_learning_rate_factor,
        probe_epochs: t.probe_epochs(epochs),
        code_head_epoch_factor: t.code_head_epoch_factor,
    })
}

/// The starting points, in the order of the tables and the figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Start {
    Scratch,
    /// The classifier with its encoder frozen: the MLP head on raw codes.
    Frozen,
    /// The same MLP head on the frozen codes, standardised.
    FrozenStandardised,
    /// A linear head on the frozen codes, standardised: a linear probe.
    FrozenLinear,
    FineTuned,
    /// Fine-tuned with the encoder at a smaller learning rate.
    Gentle,
    /// Linear probe (head only), then everything fine-tuned.
    ProbeThenFineTune,
}

const STARTS: [Start; 7] = [
    Start::Scratch,
    Start::Frozen,
    Start::FrozenStandardised,
    Start::FrozenLinear,
    Start::FineTuned,
    Start::Gentle,
    Start::ProbeThenFineTune,
];

impl Start {
    fn label(self, t: &Settings) -> String {
        match self {
            Start::Scratch => "scratch".into(),
            Start::Frozen => "frozen, MLP head, raw codes".into(),
            Start::FrozenStandardised => "frozen, MLP head, standardised codes".into(),
            Start::FrozenLinear => "frozen, linear head, standardised codes".into(),
            Start::FineTuned => "fine-tuned".into(),
            Start::Gentle => format!("fine-tuned, encoder lr ×{}", t.encoder_learning_rate_factor),
            Start::ProbeThenFineTune => format!("probe {} epochs, then fine-tuned", t.probe_epochs),
        }
    }

    /// The model's name in the plan (the scratch one is `few-shot`'s);
    /// None for the heads trained on codes, which are not cached models.
    fn model(self) -> Option<&'static str> {
        match self {
            Start::Scratch => Some("few-shot/scratch"),
            Start::Frozen => Some("transfer/frozen"),
            Start::FrozenStandardised | Start::FrozenLinear => None,
            Start::FineTuned => Some("transfer/fine-tuned"),
            Start::Gentle => Some("transfer/fine-tuned-gently"),
            Start::ProbeThenFineTune => Some("transfer/probe-then-fine-tune"),
        }
    }

    /// The head trained on the frozen encoder's standardised codes, for the
    /// starts that are one.
    fn code_head(self, hidden: usize) -> Option<HeadKind> {
        match self {
            Start::FrozenStandardised => Some(HeadKind::Mlp { hidden }),
            Start::FrozenLinear => Some(HeadKind::Linear),
            _ => None,
        }
    }

    /// This start's spec for one draw (not for scratch, few-shot's).
    fn spec<B: AutodiffBackend>(
        self,
        ctx: &Ctx<B>,
        t: &Settings,
        draw: &Draw,
        ae_key: &str,
    ) -> crate::experiment::models::ClassifierSpec {
        let mut s = spec(ctx, draw, encoder_init(ae_key), self == Start::Frozen);
        s.training = match self {
            Start::Gentle => s
                .training
                .with_encoder_learning_rate_factor(t.encoder_learning_rate_factor),
            Start::ProbeThenFineTune => s.training.with_probe_epochs(t.probe_epochs),
            Start::Scratch
            | Start::Frozen
            | Start::FrozenStandardised
            | Start::FrozenLinear
            | Start::FineTuned => s.training,
        };
        s
    }
}

/// One paired comparison the text states, with both of its measures.
#[derive(Serialize)]
struct Comparison {
    a: String,
    b: String,
    selected: Difference,
    last: Difference,
}

/// One start over the draws, for the text.
#[derive(Serialize)]
struct StartFacts {
    label: String,
    over: OverDraws,
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
    encoder_learning_rate_factor: f64,
    probe_epochs: usize,
    code_head_epoch_factor: usize,
    code_head_epochs: usize,
    starts: Vec<StartFacts>,
    comparisons: Vec<Comparison>,
    /// Mean relative change of the whole encoder, per fine-tuned start.
    encoder_change: Vec<(String, f64)>,
}

/// How a transferred classifier's encoder starts: the AE's, by key.
fn encoder_init(ae_key: &str) -> String {
    format!("autoencoder {ae_key}")
}

/// The models the chapter loads or trains (the scratch baselines are
/// `few-shot`'s, the encoder the book AE's).
pub fn models<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> Result<Vec<PlannedModel<'a>>> {
    let t = settings(ctx)?;
    let ae = ctx
        .artifacts
        .key(models::CONV_AE, &models::book_autoencoder_spec(ctx));
    let mut planned = super::few_shot::scratch_models_planned(ctx)?;
    for d in draws(ctx)? {
        for start in &STARTS[1..] {
            let Some(model) = start.model() else {
                continue;
            };
            let spec = start.spec(ctx, &t, &d, &ae);
            let label = start.label(&t);
            let number = d.number;
            planned.push(PlannedModel::new(
                ctx.artifacts,
                model_name(model, &d),
                models::CLASSIFIER,
                &spec.clone(),
                move || {
                    let ae = models::book_autoencoder(ctx)?;
                    transferred(ctx, &label, number, spec, &ae).map(drop)
                },
            ));
        }
    }
    Ok(planned)
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let t = settings(ctx)?;
    let draws = draws(ctx)?;
    for d in &draws {
        out.seeds
            .insert(format!("training {}", d.number), d.training_seed);
    }
    let ae = models::book_autoencoder(ctx)?;
    // runs[start][draw], for the starts that train a classifier.
    let runs = training(ctx, &t, &draws, &ae)?;
    let code_heads = code_heads(ctx, &t, &draws, &ae)?;
    // histories[start][draw], every start in STARTS order.
    let mut trained = runs.iter();
    let mut on_codes = code_heads.into_iter();
    let histories: Vec<Vec<Vec<ClassEpoch>>> = STARTS
        .iter()
        .map(|s| match s.model() {
            Some(_) => trained
                .next()
                .expect("one run per classifier start")
                .iter()
                .map(|t| t.history.clone())
                .collect(),
            None => on_codes.next().expect("one history per code head"),
        })
        .collect();
    let scores: Vec<Vec<Scores>> = histories
        .iter()
        .map(|per_draw| per_draw.iter().map(|h| Scores::of(h)).collect())
        .collect();
    let over: Vec<OverDraws> = scores.iter().map(|s| OverDraws::of(s)).collect();
    let index = |s: Start| STARTS.iter().position(|&x| x == s).expect("a start");
    let compare = |a: Start, b: Start| {
        let m =
            |s: Start, f: fn(&Scores) -> f64| scores[index(s)].iter().map(f).collect::<Vec<_>>();
        Comparison {
            a: a.label(&t),
            b: b.label(&t),
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
    // Every transferred start against scratch; the fine-tuning variants
    // and freezing against plain fine-tuning; then what the frozen codes
    // need: standardisation, and whether a linear head reads them as well.
    use Start::*;
    let comparisons = vec![
        compare(Frozen, Scratch),
        compare(FrozenStandardised, Scratch),
        compare(FrozenLinear, Scratch),
        compare(FineTuned, Scratch),
        compare(Gentle, Scratch),
        compare(ProbeThenFineTune, Scratch),
        compare(Gentle, FineTuned),
        compare(ProbeThenFineTune, FineTuned),
        compare(Frozen, FineTuned),
        compare(FrozenStandardised, Frozen),
        compare(FrozenLinear, FrozenStandardised),
    ];
    let classifier_starts: Vec<Start> = STARTS
        .iter()
        .copied()
        .filter(|s| s.model().is_some())
        .collect();
    let change = weight_change(&ae.model.encoder, &classifier_starts, &runs);
    // The text says the frozen encoder did not move: a run where it did is
    // a broken experiment, not a result.
    if let Some(c) = change
        .iter()
        .find(|c| c.start == Start::Frozen && c.relative.mean != 0.0)
    {
        anyhow::bail!(
            "transfer: the frozen encoder's {} moved by {:.3e} of its norm during training",
            c.layer,
            c.relative.mean
        );
    }

    out.tables.push(comparison_table(&t, &over)?);
    out.tables.push(repetitions_table(&t, &draws, &scores)?);
    out.tables.push(differences_table(&comparisons)?);
    out.tables.push(weight_change_table(&t, &change)?);
    out.figures.push(test_accuracy(&t, &histories)?);
    let first = &draws[0];
    out.set_facts(&Facts {
        labels: first.train.len() + first.validation.len(),
        train_labels: first.train.len(),
        validation_labels: first.validation.len(),
        draws: draws.len(),
        ae_train_size: ctx.data.train.len(),
        t_quantile: stats::t_quantile(draws.len() - 1),
        encoder_learning_rate_factor: t.encoder_learning_rate_factor,
        probe_epochs: t.probe_epochs,
        code_head_epoch_factor: t.code_head_epoch_factor,
        code_head_epochs: t.code_head_epoch_factor
            * ctx
                .config
                .section::<super::few_shot::FewShotSection>()
                .epochs,
        starts: STARTS
            .iter()
            .zip(&over)
            .map(|(s, o)| StartFacts {
                label: s.label(&t),
                over: *o,
            })
            .collect(),
        comparisons,
        encoder_change: change
            .iter()
            .filter(|c| c.layer == "encoder")
            .map(|c| (c.start.label(&t), c.relative.mean))
            .collect(),
    })?;
    Ok(out)
}

/// Every draw's classifiers, indexed `[start][draw]`: the scratch
/// baselines (`few-shot`'s), then the transferred ones, all in parallel.
fn training<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    t: &Settings,
    draws: &[Draw],
    ae: &models::TrainedAe<B>,
) -> Result<Vec<Vec<TrainedClassifier<B>>>> {
    type Job<'a, B> = Box<dyn FnOnce() -> Result<TrainedClassifier<B>> + Send + 'a>;
    let mut jobs: Vec<Job<B>> = Vec::new();
    let starts: Vec<Start> = STARTS.into_iter().filter(|s| s.model().is_some()).collect();
    for &start in &starts {
        for d in draws {
            jobs.push(match start {
                Start::Scratch => Box::new(move || scratch(ctx, d)),
                _ => {
                    let spec = start.spec(ctx, t, d, &ae.key);
                    let label = start.label(t);
                    Box::new(move || transferred(ctx, &label, d.number, spec, ae))
                }
            });
        }
    }
    let mut trained = parallel(jobs)?.into_iter();
    Ok(starts
        .iter()
        .map(|_| trained.by_ref().take(draws.len()).collect())
        .collect())
}

/// The classifier of draw `number` that starts from `ae`'s encoder as
/// `spec` (a start's, labelled `label`) says, loaded or trained.
fn transferred<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    label: &str,
    number: usize,
    spec: ClassifierSpec,
    ae: &models::TrainedAe<B>,
) -> Result<TrainedClassifier<B>> {
    let name = format!("transfer, {label}, draw {number}");
    models::classifier(ctx, &name, spec, Some(&ae.model.encoder))
}

/// The heads trained on the AE encoder's standardised codes, indexed
/// `[start][draw]` over the starts that are one: the encoder is frozen, so
/// each draw's images and the test images are encoded once.
fn code_heads<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    t: &Settings,
    draws: &[Draw],
    ae: &models::TrainedAe<B>,
) -> Result<Vec<Vec<Vec<ClassEpoch>>>> {
    let model = ae.model.valid();
    let device = &ctx.device;
    let test = &ctx.data.test;
    let (test_codes, _) = model.encode_images(&test.images, device);
    let encoded: Vec<[(Vec<f32>, &[u8]); 2]> = draws
        .iter()
        .map(|d| {
            [d.train.split(), d.validation.split()].map(|s| {
                (
                    model.encode_images(&s.images, device).0,
                    s.labels.as_slice(),
                )
            })
        })
        .collect();
    fn codes<'a>((c, l): &'a (Vec<f32>, &'a [u8])) -> LabelledCodes<'a> {
        LabelledCodes {
            codes: c,
            labels: l,
        }
    }
    let test = LabelledCodes {
        codes: &test_codes,
        labels: &test.labels,
    };
    STARTS
        .iter()
        .filter(|s| s.model().is_none())
        .map(|start| {
            draws
                .iter()
                .zip(&encoded)
                .map(|(d, [train, validation])| {
                    let spec = spec(ctx, d, "random".into(), false);
                    let kind = start
                        .code_head(spec.model.feature_dim)
                        .expect("a start without a model is a code head");
                    let k = t.code_head_epoch_factor;
                    let training = ClassifierTrainingConfig {
                        epochs: spec.training.epochs * k,
                        eval_every: spec.training.eval_every * k,
                        ..spec.training.clone()
                    };
                    train_code_head::<B>(
                        kind,
                        codes(train),
                        codes(validation),
                        test,
                        &training,
                        device,
                    )
                })
                .collect()
        })
        .collect()
}

/// How far training moved one layer of a transferred encoder from the
/// autoencoder's: ‖θ − θ_AE‖ / ‖θ_AE‖ over the draws.
struct LayerChange {
    start: Start,
    /// `conv1`, `conv2`, `fc`, or `encoder` for all of them together.
    layer: &'static str,
    relative: Estimate,
}

fn relative_change(trained: &[f32], pretrained: &[f32]) -> f64 {
    let (mut diff, mut norm) = (0f64, 0f64);
    for (&a, &b) in trained.iter().zip(pretrained) {
        diff += (a as f64 - b as f64).powi(2);
        norm += (b as f64).powi(2);
    }
    (diff / norm).sqrt()
}

/// Per transferred classifier start (`starts`, in the order of `runs`).
fn weight_change<B: AutodiffBackend>(
    pretrained: &crate::nn::conv_ae::ConvEncoder<B>,
    starts: &[Start],
    runs: &[Vec<TrainedClassifier<B>>],
) -> Vec<LayerChange> {
    let before = pretrained.layer_parameters();
    let all = |layers: &[(&'static str, Vec<f32>)]| -> Vec<f32> {
        layers.iter().flat_map(|(_, p)| p.iter().copied()).collect()
    };
    let before_all = all(&before);
    let mut out = Vec::new();
    for (start, per_draw) in starts.iter().zip(runs).skip(1) {
        let after: Vec<Vec<(&'static str, Vec<f32>)>> = per_draw
            .iter()
            .map(|t| t.model.encoder.layer_parameters())
            .collect();
        for (i, (layer, p0)) in before.iter().enumerate() {
            let xs: Vec<f64> = after.iter().map(|a| relative_change(&a[i].1, p0)).collect();
            out.push(LayerChange {
                start: *start,
                layer,
                relative: Estimate::of(&xs),
            });
        }
        let xs: Vec<f64> = after
            .iter()
            .map(|a| relative_change(&all(a), &before_all))
            .collect();
        out.push(LayerChange {
            start: *start,
            layer: "encoder",
            relative: Estimate::of(&xs),
        });
    }
    out
}

#[derive(Serialize)]
struct WeightChangeRow {
    variant: String,
    layer: &'static str,
    relative_change: f64,
    se: f64,
}

fn weight_change_table(t: &Settings, change: &[LayerChange]) -> Result<Table> {
    let rows: Vec<WeightChangeRow> = change
        .iter()
        .map(|c| WeightChangeRow {
            variant: c.start.label(t),
            layer: c.layer,
            relative_change: c.relative.mean,
            se: c.relative.se,
        })
        .collect();
    Table::from_rows("weight_change", &["variant", "layer"], &rows)
}

#[derive(Serialize)]
struct ComparisonRow {
    variant: String,
    selected_test_accuracy: f64,
    selected_se: f64,
    last_test_accuracy: f64,
    last_se: f64,
    last_train_test_gap: f64,
    gap_se: f64,
}

/// Each starting point over the draws: mean and standard error.
fn comparison_table(t: &Settings, over: &[OverDraws]) -> Result<Table> {
    let rows: Vec<ComparisonRow> = STARTS
        .iter()
        .zip(over)
        .map(|(start, o)| ComparisonRow {
            variant: start.label(t),
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
    variant: String,
    draw: u64,
    selected_epoch: u64,
    selected_test_accuracy: f64,
    last_test_accuracy: f64,
    last_train_test_gap: f64,
}

fn repetitions_table(t: &Settings, draws: &[Draw], scores: &[Vec<Scores>]) -> Result<Table> {
    let mut rows = Vec::new();
    for (start, per_draw) in STARTS.iter().zip(scores) {
        for (d, s) in draws.iter().zip(per_draw) {
            rows.push(RepetitionRow {
                variant: start.label(t),
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
fn test_accuracy(t: &Settings, histories: &[Vec<Vec<ClassEpoch>>]) -> Result<Figure> {
    let mut chart = LineChart::new("epoch", "test accuracy (mean over draws)").legend_low();
    // The heads on codes train for more epochs; the figure shows the
    // starts that share the network's budget.
    for (start, per_draw) in STARTS.iter().zip(histories) {
        if start.model().is_none() {
            continue;
        }
        let epochs = &per_draw[0];
        let points = (0..epochs.len())
            .map(|i| {
                let mean = per_draw.iter().map(|h| h[i].test_accuracy).sum::<f64>()
                    / per_draw.len() as f64;
                (epochs[i].epoch as f64, mean)
            })
            .collect();
        chart = chart.series(Series::new(start.label(t), points));
    }
    Ok(Figure {
        file: "test-accuracy.svg".into(),
        bytes: chart.to_svg()?.into_bytes(),
    })
}

//! Chapter `center-loss`: the classifier with a feature layer of size k,
//! trained with softmax (cross-entropy) alone and with softmax + λ·center
//! loss (Wen et al. 2016). Features are measured, plotted (k = 2) and
//! embedded with t-SNE (k > 2).

pub mod section;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::parallel;
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::{BookConfig, Config};
use crate::experiment::Ctx;
use crate::experiment::classic::{PointsRecipe, TsneJob};
use crate::experiment::models::{self, ClassifierSpec, PlannedModel, TrainedClassifier};
use crate::ml::embedding::embedding_stats;
use crate::ml::stats::{Difference, hits, paired_difference};
use crate::nn::classify::{CenterLossConfig, ClassifierTrainingConfig, embed};
use crate::plot::{Panel, scatter_svg};

pub use section::CenterLossSection;

pub const TABLES: &[&str] = &["variants"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "center-loss"];

pub fn title(_config: &Config) -> String {
    "Softmax versus Center Loss".into()
}

/// Checks `[chapter.center-loss]` and completes it with its defaults.
pub fn check_section(book: &mut BookConfig) -> Result<(), String> {
    crate::config::section::complete::<CenterLossSection>(book)
}

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Softmax,
    Center,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Softmax => "softmax",
            Variant::Center => "softmax + center loss",
        }
    }
    fn slug(self) -> &'static str {
        match self {
            Variant::Softmax => "softmax",
            Variant::Center => "center",
        }
    }
}

/// The classifier with a feature layer of size `k`, trained as `variant`.
fn spec<B: AutodiffBackend>(ctx: &Ctx<B>, k: usize, variant: Variant) -> ClassifierSpec {
    let section = ctx.config.section::<CenterLossSection>();
    let profile = &ctx.config.profile;
    // Both variants of one k share a seed: same initial weights, same batches.
    let mut training = ClassifierTrainingConfig::new(
        profile.epochs,
        profile.batch_size,
        section.learning_rate,
        ctx.seed(&format!("center-loss/k{k}")),
    );
    if variant == Variant::Center {
        training =
            training.with_center_loss(Some(CenterLossConfig::new(section.lambda, section.alpha)));
    }
    ClassifierSpec {
        model: models::classifier_config(ctx.config, k),
        training,
        encoder_init: "random".into(),
        train_set: ctx.data.training_set().clone(),
        validation_set: None,
        augmentation: None,
    }
}

/// The models the chapter loads or trains.
pub fn models<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> Result<Vec<PlannedModel<'a>>> {
    let mut planned = Vec::new();
    for &k in &ctx.config.section::<CenterLossSection>().feature_dims {
        for variant in [Variant::Softmax, Variant::Center] {
            planned.push(PlannedModel::new(
                ctx.artifacts,
                format!("center-loss/k{k}-{}", variant.slug()),
                models::CLASSIFIER,
                &spec(ctx, k, variant),
                move || classifier(ctx, k, variant).map(drop),
            ));
        }
    }
    if let Some(k) = tsne_k(ctx) {
        for variant in [Variant::Softmax, Variant::Center] {
            let key = ctx
                .artifacts
                .key(models::CLASSIFIER, &spec(ctx, k, variant));
            planned.push(tsne_job(ctx, &key).planned(
                ctx,
                format!("center-loss/tsne/k{k}-{}", variant.slug()),
                move || {
                    let trained = classifier(ctx, k, variant)?;
                    let e = embed(&trained.model.valid(), &ctx.data.test, &ctx.device);
                    Ok((plotted(ctx, &e.features, e.feature_dim), e.feature_dim))
                },
            ));
        }
    }
    Ok(planned)
}

/// The feature size whose features t-SNE embeds: the largest other than
/// 2 (none when 2 is the only one).
fn tsne_k<B: AutodiffBackend>(ctx: &Ctx<B>) -> Option<usize> {
    let section = &ctx.config.section::<CenterLossSection>();
    section
        .feature_dims
        .iter()
        .copied()
        .filter(|&k| k != 2)
        .max()
}

/// The t-SNE of the plotted digits' features of the classifier of cache
/// key `key` (one seed for every variant).
fn tsne_job<B: AutodiffBackend>(ctx: &Ctx<B>, key: &str) -> TsneJob {
    let section = &ctx.config.section::<CenterLossSection>();
    let n_plot = plot_points(ctx);
    let points = PointsRecipe::Features {
        classifier: key.into(),
        images: n_plot,
    };
    TsneJob::new(
        points,
        section
            .tsne_perplexity
            .min((n_plot as f64 - 1.0) / 3.0 - 1.0),
        section.tsne_iterations,
        ctx.seed("center-loss/tsne"),
    )
}

/// The features of the plotted test digits, out of every test digit's.
fn plotted<B: AutodiffBackend>(ctx: &Ctx<B>, features: &[f32], feature_dim: usize) -> Vec<f32> {
    features[..plot_points(ctx) * feature_dim].to_vec()
}

/// One trained variant's test accuracy and feature geometry.
#[derive(Clone, Serialize)]
struct Measured {
    accuracy: f64,
    ratio: f64,
    intra: f64,
    inter: f64,
}

/// Both variants of one feature size k (same seed, same batches).
#[derive(Clone, Serialize)]
struct Pair {
    k: usize,
    softmax: Measured,
    center: Measured,
    /// Center minus softmax accuracy, paired by test image: the
    /// uncertainty of which test images were drawn, for these two trained
    /// models (one training each, so not the spread over seeds).
    accuracy_difference: Difference,
}

/// What the chapter's text reasons with, each computed once.
#[derive(Serialize)]
struct Facts {
    pairs: Vec<Pair>,
    k2: Pair,
    tsne_k: Option<usize>,
    has_tsne: bool,
    plot_points: usize,
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let runs = train_variants(ctx)?;
    for r in &runs {
        out.seeds.insert(
            format!("k{}-{}", r.k, r.variant.slug()),
            ctx.seed(&format!("center-loss/k{}", r.k)),
        );
    }
    let measured = measure_variants(ctx, &runs);
    let rows: Vec<VariantRow> = measured.iter().map(VariantRow::of).collect();
    out.tables
        .push(Table::from_rows("variants", &["k", "variant"], &rows)?);
    out.figures
        .push(features_2d_figure(&measured, &ctx.data.entry.classes)?);
    let tsne = tsne_study(ctx, &measured)?;
    let has_tsne = tsne.figure.is_some();
    out.figures.extend(tsne.figure);
    let pairs = pairs(&measured);
    out.set_facts(&Facts {
        k2: pairs
            .iter()
            .find(|p| p.k == 2)
            .expect("k = 2 is validated")
            .clone(),
        pairs,
        tsne_k: tsne.k,
        has_tsne,
        plot_points: plot_points(ctx),
    })?;
    Ok(out)
}

/// One variant of one feature size, trained.
struct Run<B: AutodiffBackend> {
    k: usize,
    variant: Variant,
    trained: TrainedClassifier<B>,
}

/// The classifier with `k` features trained with `variant`'s loss, loaded
/// or trained.
fn classifier<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    k: usize,
    variant: Variant,
) -> Result<TrainedClassifier<B>> {
    let name = format!("k={k}, {}", variant.name());
    models::classifier(ctx, &name, spec(ctx, k, variant), None)
}

/// Both variants of every feature size, in the order of `models`, trained
/// side by side.
fn train_variants<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<Run<B>>> {
    let mut runs = Vec::new();
    for &k in &ctx.config.section::<CenterLossSection>().feature_dims {
        for variant in [Variant::Softmax, Variant::Center] {
            runs.push((k, variant));
        }
    }
    type Job<'a, B> = Box<dyn FnOnce() -> Result<TrainedClassifier<B>> + Send + 'a>;
    let jobs: Vec<Job<B>> = runs
        .iter()
        .map(|&(k, variant)| -> Job<B> { Box::new(move || classifier(ctx, k, variant)) })
        .collect();
    let trained = parallel(jobs)?;
    Ok(runs
        .into_iter()
        .zip(trained)
        .map(|((k, variant), trained)| Run {
            k,
            variant,
            trained,
        })
        .collect())
}

/// Test digits whose features are plotted.
fn plot_points<B: AutodiffBackend>(ctx: &Ctx<B>) -> usize {
    ctx.config
        .section::<CenterLossSection>()
        .plot_points
        .min(ctx.data.test.len())
}

/// One variant on the test set: accuracy, feature geometry, and the
/// features of the plotted digits.
struct Measurement {
    k: usize,
    variant: Variant,
    measured: Measured,
    feature_dim: usize,
    /// 1 where the test image is classified correctly, else 0.
    correct: Vec<f64>,
    /// The features of the first plotted test digits, and their labels.
    plotted: Vec<f32>,
    /// The classifier's cache key.
    key: String,
    labels: Vec<u8>,
}

fn measure_variants<B: AutodiffBackend>(ctx: &Ctx<B>, runs: &[Run<B>]) -> Vec<Measurement> {
    let test = &ctx.data.test;
    let n_plot = plot_points(ctx);
    runs.iter()
        .map(|r| {
            let e = embed(&r.trained.model.valid(), test, &ctx.device);
            let stats = embedding_stats(&e.features, e.feature_dim, &test.labels);
            Measurement {
                k: r.k,
                variant: r.variant,
                measured: Measured {
                    accuracy: e.accuracy,
                    ratio: stats.ratio,
                    intra: stats.intra,
                    inter: stats.inter,
                },
                feature_dim: e.feature_dim,
                correct: hits(&e.predictions, &test.labels),
                plotted: plotted(ctx, &e.features, e.feature_dim),
                key: r.trained.key.clone(),
                labels: test.labels[..n_plot].to_vec(),
            }
        })
        .collect()
}

/// One variant's row of the `variants` table.
#[derive(Serialize)]
struct VariantRow {
    k: u64,
    variant: &'static str,
    test_accuracy: f64,
    intra_class_distance: f64,
    inter_centroid_distance: f64,
    intra_inter_ratio: f64,
}

impl VariantRow {
    fn of(m: &Measurement) -> Self {
        VariantRow {
            k: m.k as u64,
            variant: m.variant.name(),
            test_accuracy: m.measured.accuracy,
            intra_class_distance: m.measured.intra,
            inter_centroid_distance: m.measured.inter,
            intra_inter_ratio: m.measured.ratio,
        }
    }
}

/// The k = 2 features of both variants, plotted as they are.
fn features_2d_figure(measured: &[Measurement], classes: &[String]) -> Result<Figure> {
    let panels: Vec<Panel> = measured
        .iter()
        .filter(|m| m.k == 2)
        .map(|m| Panel {
            title: m.variant.name().into(),
            points: m
                .plotted
                .chunks(2)
                .map(|p| (p[0] as f64, p[1] as f64))
                .collect(),
            labels: m.labels.clone(),
        })
        .collect();
    Ok(Figure {
        file: "features-2d.svg".into(),
        bytes: scatter_svg(&panels, ("feature 1", "feature 2"), classes)?.into_bytes(),
    })
}

/// The t-SNE figure of the largest k other than 2, if there is one.
struct Tsne {
    k: Option<usize>,
    figure: Option<Figure>,
}

/// Both variants' features of the largest k other than 2, embedded with
/// t-SNE (one seed for both).
fn tsne_study<B: AutodiffBackend>(ctx: &Ctx<B>, measured: &[Measurement]) -> Result<Tsne> {
    let mut panels = Vec::new();
    let mut k = None;
    let largest = tsne_k(ctx);
    for m in measured.iter().filter(|m| Some(m.k) == largest) {
        let points = tsne_job(ctx, &m.key).run(ctx, || Ok((m.plotted.clone(), m.feature_dim)))?;
        panels.push(Panel {
            title: format!("{} (k = {})", m.variant.name(), m.k),
            points,
            labels: m.labels.clone(),
        });
        k = Some(m.k);
    }
    let figure = if panels.is_empty() {
        None
    } else {
        Some(Figure {
            file: "tsne.svg".into(),
            bytes: scatter_svg(&panels, ("t-SNE 1", "t-SNE 2"), &ctx.data.entry.classes)?
                .into_bytes(),
        })
    };
    Ok(Tsne { k, figure })
}

/// The two variants of each k, paired in the order of the runs.
fn pairs(measured: &[Measurement]) -> Vec<Pair> {
    let of = |variant| measured.iter().filter(move |m| m.variant == variant);
    of(Variant::Softmax)
        .zip(of(Variant::Center))
        .map(|(softmax, center)| Pair {
            k: softmax.k,
            softmax: softmax.measured.clone(),
            center: center.measured.clone(),
            accuracy_difference: paired_difference(&center.correct, &softmax.correct),
        })
        .collect()
}

//! Chapter `center-loss`: the classifier with a feature layer of size k,
//! trained with softmax (cross-entropy) alone and with softmax + λ·center
//! loss (Wen et al. 2016). Features are measured, plotted (k = 2) and
//! embedded with t-SNE (k > 2).

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use polars::prelude::Column;
use serde::Serialize;

use super::parallel;
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::Config;
use crate::experiment::Ctx;
use crate::experiment::models::{self, ClassifierSpec, PlannedModel, TrainedClassifier};
use crate::ml::embedding::embedding_stats;
use crate::ml::tsne::tsne_2d;
use crate::nn::classify::{CenterLossConfig, ClassifierTrainingConfig, embed};
use crate::plot::{Panel, scatter_svg};

pub const TABLES: &[&str] = &["variants"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "center-loss"];

pub fn title(_config: &Config) -> String {
    "Softmax versus Center Loss".into()
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
    let c = &ctx.config.book.chapter;
    let section = &c.center_loss;
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
        model: models::classifier_config(c, k),
        training,
        encoder_init: "random".into(),
        train_set: ctx.data.training_set().clone(),
    }
}

/// The models the chapter loads or trains.
pub fn models<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<PlannedModel>> {
    let mut planned = Vec::new();
    for &k in &ctx.config.book.chapter.center_loss.feature_dims {
        for variant in [Variant::Softmax, Variant::Center] {
            planned.push(PlannedModel::new(
                ctx.artifacts,
                format!("center-loss/k{k}-{}", variant.slug()),
                models::CLASSIFIER,
                &spec(ctx, k, variant),
            ));
        }
    }
    Ok(planned)
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
    let c = &ctx.config.book.chapter;
    let section = &c.center_loss;

    let mut runs = Vec::new();
    for &k in &section.feature_dims {
        for variant in [Variant::Softmax, Variant::Center] {
            runs.push((k, variant));
        }
    }
    type Job<'a, B> = Box<dyn FnOnce() -> Result<TrainedClassifier<B>> + Send + 'a>;
    let jobs: Vec<Job<B>> = runs
        .iter()
        .map(|&(k, variant)| -> Job<B> {
            let spec = spec(ctx, k, variant);
            let name = format!("k={k}, {}", variant.name());
            Box::new(move || models::classifier(ctx, &name, spec, None))
        })
        .collect();
    let trained = parallel(jobs)?;

    let test = &ctx.data.test;
    let n_plot = section.plot_points.min(test.len());
    let plot_labels = test.labels[..n_plot].to_vec();
    let (mut names, mut ks, mut accs, mut intra, mut inter, mut ratio) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let (mut softmax, mut center, mut tsne_k) = (Vec::new(), Vec::new(), None);
    let mut panels_2d = Vec::new();
    let mut panels_tsne = Vec::new();
    for (&(k, variant), t) in runs.iter().zip(&trained) {
        out.seeds.insert(
            format!("k{k}-{}", variant.slug()),
            ctx.seed(&format!("center-loss/k{k}")),
        );
        let e = embed(&t.model.valid(), test, &ctx.device);
        let stats = embedding_stats(&e.features, e.feature_dim, &test.labels);
        names.push(variant.name().to_string());
        ks.push(k as u32);
        accs.push(e.accuracy);
        intra.push(stats.intra);
        inter.push(stats.inter);
        ratio.push(stats.ratio);
        let measured = Measured {
            accuracy: e.accuracy,
            ratio: stats.ratio,
            intra: stats.intra,
            inter: stats.inter,
        };
        match variant {
            Variant::Softmax => softmax.push((k, measured)),
            Variant::Center => center.push(measured),
        }
        let feats = &e.features[..n_plot * e.feature_dim];
        if k == 2 {
            panels_2d.push(Panel {
                title: variant.name().into(),
                points: feats
                    .chunks(2)
                    .map(|p| (p[0] as f64, p[1] as f64))
                    .collect(),
                labels: plot_labels.clone(),
            });
        } else if k
            == *section
                .feature_dims
                .iter()
                .filter(|&&k| k != 2)
                .max()
                .unwrap_or(&0)
        {
            let points = tsne_2d(
                feats,
                e.feature_dim,
                section
                    .tsne_perplexity
                    .min((n_plot as f64 - 1.0) / 3.0 - 1.0),
                section.tsne_iterations,
                ctx.seed("center-loss/tsne"),
            )?;
            panels_tsne.push(Panel {
                title: format!("{} (k = {k})", variant.name()),
                points,
                labels: plot_labels.clone(),
            });
            tsne_k = Some(k);
        }
    }
    out.tables.push(Table::new(
        "variants",
        &["k", "variant"],
        vec![
            Column::new("k".into(), ks),
            Column::new("variant".into(), names),
            Column::new("test_accuracy".into(), accs),
            Column::new("intra_class_distance".into(), intra),
            Column::new("inter_centroid_distance".into(), inter),
            Column::new("intra_inter_ratio".into(), ratio),
        ],
    )?);
    out.figures.push(Figure {
        file: "features-2d.svg".into(),
        bytes: scatter_svg(&panels_2d, ("feature 1", "feature 2"))?.into_bytes(),
    });
    let has_tsne = !panels_tsne.is_empty();
    if has_tsne {
        out.figures.push(Figure {
            file: "tsne.svg".into(),
            bytes: scatter_svg(&panels_tsne, ("t-SNE 1", "t-SNE 2"))?.into_bytes(),
        });
    }
    let pairs: Vec<Pair> = softmax
        .into_iter()
        .zip(center)
        .map(|((k, softmax), center)| Pair { k, softmax, center })
        .collect();
    out.set_facts(&Facts {
        k2: pairs
            .iter()
            .find(|p| p.k == 2)
            .expect("k = 2 is validated")
            .clone(),
        pairs,
        tsne_k,
        has_tsne,
        plot_points: n_plot,
    })?;
    Ok(out)
}

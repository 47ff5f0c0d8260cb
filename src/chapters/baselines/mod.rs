//! Chapter `baselines`: classic classifiers (linfa) on raw pixels, on the
//! autoencoder's codes and on PCA of the pixels, against the deep classifier.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use polars::prelude::Column;
use serde::Serialize;

use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::Config;
use crate::data::Images;
use crate::experiment::Ctx;
use crate::experiment::models;
use crate::ml::baselines::{
    Features, Model, Settings, fit_predict, pca, pixel_features, standardise,
};
use crate::ml::confusion::confusion_counts;
use crate::nn::classify::embed;
use crate::plot::{bars_svg, confusion_svg};

pub const TABLES: &[&str] = &["accuracy", "timing"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "classifier", "baselines"];

pub fn title(_config: &Config) -> String {
    "Classic Baselines".into()
}

/// Published full-MNIST test accuracy on raw pixels (Xiao et al. 2017,
/// Table 3; docs/facts.md), where the book's settings are the ones
/// published: linear SVM with C = 1, polynomial SVM of degree 3 (their
/// library's default) with C = 10 or 100, logistic regression with C = 1.
fn published(model: Model, section: &crate::config::BaselinesSection) -> Option<f64> {
    match model {
        Model::LinearSvm => (section.svm_c == 1.0).then_some(0.929),
        Model::PolySvm if section.poly_degree == 3 && section.poly_c == 10.0 => Some(0.976),
        Model::PolySvm if section.poly_degree == 3 && section.poly_c == 100.0 => Some(0.978),
        Model::PolySvm => None,
        Model::Logistic => Some(0.917),
        Model::NaiveBayes => Some(0.524),
    }
}

/// What the chapter's text reasons with, each computed once.
#[derive(Serialize)]
struct Facts {
    best_model: String,
    best_features: String,
    best_accuracy: f64,
    best_fit_seconds: f64,
    worst_model: String,
    worst_features: String,
    worst_accuracy: f64,
    deep_accuracy: f64,
    deep_fit_seconds: f64,
    /// The deep classifier came from the cache: its training time was
    /// measured in an earlier run.
    deep_from_cache: bool,
    svm_train_size: usize,
    linear_train_size: usize,
    deep_train_size: usize,
    test_size: usize,
    pixels: usize,
    /// Dimensions of the AE codes, measured on the encoder.
    code_dim: usize,
    linear_svm_raw: f64,
    linear_svm_ae: f64,
    logistic_raw: f64,
    logistic_ae: f64,
    /// The classic model that gains most from the AE codes over raw pixels.
    most_gaining_model: String,
    most_gaining_gain: f64,
    /// SVM models fitted (each one binary SVM per class).
    svm_models: usize,
    svm_seconds: f64,
    /// Whether any published figure matched the settings.
    any_published: bool,
}

struct Row {
    model: String,
    features: String,
    train_size: usize,
    accuracy: f64,
    published: Option<f64>,
    fit_seconds: f64,
    predict_seconds: f64,
    predictions: Vec<u8>,
    deep: bool,
}

/// The models the chapter loads or trains.
pub fn models<B: AutodiffBackend>(
    ctx: &Ctx<B>,
) -> Result<Vec<crate::experiment::models::PlannedModel>> {
    Ok(vec![
        models::planned_book_autoencoder(ctx),
        models::planned_book_classifier(ctx),
    ])
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let section = &ctx.config.book.chapter.baselines;
    let profile = &ctx.config.profile;
    let (train, test) = (&ctx.data.train, &ctx.data.test);
    // Profile validation keeps both within the training split.
    let linear_n = profile.linear_train_size();
    let svm_n = profile.svm_train_size;
    let settings = Settings {
        svm_c: section.svm_c,
        poly_c: section.poly_c,
        poly_degree: section.poly_degree as f64,
        logistic_iterations: section.logistic_iterations,
    };

    // Feature sets, all from the first `linear_n` training images.
    let train_px = pixel_features(
        &train.images.pixels[..linear_n * train.images.pixels_per_image()],
        &train.labels[..linear_n],
    )?;
    let test_px = pixel_features(&test.images.pixels, &test.labels)?;
    let ae = models::book_autoencoder(ctx)?;
    let encoder = ae.model.valid().encoder;
    let head = |images: &Images, n: usize| images.truncated(n);
    let (tr, d) = encoder.encode_all(&head(&train.images, linear_n), &ctx.device);
    let (te, _) = encoder.encode_all(&test.images, &ctx.device);
    let train_ae = Features::new(
        tr.iter().map(|&v| v as f64).collect(),
        d,
        &train.labels[..linear_n],
    )?;
    let test_ae = Features::new(te.iter().map(|&v| v as f64).collect(), d, &test.labels)?;
    let (train_ae, test_ae) = standardise(&train_ae, &test_ae);
    let (train_pca, test_pca) = pca(&train_px, &test_px, section.pca_components)?;
    let (train_pca, test_pca) = standardise(&train_pca, &test_pca);
    let pixels = train.images.pixels_per_image();
    let sets = [
        (format!("raw pixels ({pixels})"), &train_px, &test_px),
        (format!("AE codes ({d})"), &train_ae, &test_ae),
        (
            format!("PCA of pixels ({})", section.pca_components),
            &train_pca,
            &test_pca,
        ),
    ];

    let mut rows = Vec::new();
    for (set, tr, te) in &sets {
        for model in Model::ALL {
            let n = if model.is_svm() { svm_n } else { linear_n };
            eprintln!("baselines: {} on {set}, {n} training images", model.name());
            let o = fit_predict(model, &tr.head(n), te, &settings)?;
            rows.push(Row {
                model: model.name().into(),
                features: set.clone(),
                train_size: n,
                accuracy: o.accuracy,
                published: if set.starts_with("raw") {
                    published(model, section)
                } else {
                    None
                },
                fit_seconds: o.fit_seconds,
                predict_seconds: o.predict_seconds,
                predictions: o.predictions,
                deep: false,
            });
        }
    }
    // The book's deep classifier, for comparison.
    let clf = models::book_classifier(ctx)?;
    let started = std::time::Instant::now();
    let e = embed(&clf.model.valid(), test, &ctx.device);
    rows.push(Row {
        model: "deep classifier".into(),
        features: format!("raw pixels ({pixels})"),
        train_size: train.len(),
        accuracy: e.accuracy,
        published: None,
        fit_seconds: clf.history.last().map_or(0.0, |r| r.elapsed_seconds),
        predict_seconds: started.elapsed().as_secs_f64(),
        predictions: e.predictions,
        deep: true,
    });

    out.tables.push(Table::new(
        "accuracy",
        &["model", "features"],
        vec![
            Column::new(
                "model".into(),
                rows.iter().map(|r| r.model.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "features".into(),
                rows.iter().map(|r| r.features.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "train_size".into(),
                rows.iter().map(|r| r.train_size as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "test_accuracy".into(),
                rows.iter().map(|r| r.accuracy).collect::<Vec<_>>(),
            ),
            Column::new(
                "published_accuracy".into(),
                rows.iter().map(|r| r.published).collect::<Vec<_>>(),
            ),
        ],
    )?);
    out.tables.push(
        Table::new(
            "timing",
            &["model", "features"],
            vec![
                Column::new(
                    "model".into(),
                    rows.iter().map(|r| r.model.clone()).collect::<Vec<_>>(),
                ),
                Column::new(
                    "features".into(),
                    rows.iter().map(|r| r.features.clone()).collect::<Vec<_>>(),
                ),
                Column::new(
                    "fit_seconds".into(),
                    rows.iter().map(|r| r.fit_seconds).collect::<Vec<_>>(),
                ),
                Column::new(
                    "predict_seconds".into(),
                    rows.iter().map(|r| r.predict_seconds).collect::<Vec<_>>(),
                ),
            ],
        )?
        .volatile(),
    );

    let classic: Vec<&Row> = rows.iter().filter(|r| !r.deep).collect();
    let best = classic
        .iter()
        .max_by(|a, b| a.accuracy.total_cmp(&b.accuracy))
        .expect("rows");
    let worst = classic
        .iter()
        .min_by(|a, b| a.accuracy.total_cmp(&b.accuracy))
        .expect("rows");
    out.figures.push(Figure {
        file: "confusion-best.svg".into(),
        bytes: confusion_svg(&confusion_counts(&test.labels, &best.predictions))?.into_bytes(),
    });
    out.figures.push(Figure {
        file: "confusion-worst.svg".into(),
        bytes: confusion_svg(&confusion_counts(&test.labels, &worst.predictions))?.into_bytes(),
    });
    let bars: Vec<(String, f64, usize)> = rows
        .iter()
        .map(|r| {
            let group = if r.deep {
                3
            } else if r.features.starts_with("raw") {
                0
            } else if r.features.starts_with("AE") {
                1
            } else {
                2
            };
            (
                format!(
                    "{} · {}",
                    r.model,
                    r.features.split(' ').next().unwrap_or("")
                ),
                r.accuracy,
                group,
            )
        })
        .collect();
    out.figures.push(Figure {
        file: "accuracy.svg".into(),
        bytes: bars_svg(&bars, "test accuracy", (0.0, 1.0))?.into_bytes(),
    });

    let deep = rows.last().expect("deep row");
    let acc = |model: Model, set: &str| {
        rows.iter()
            .find(|r| r.model == model.name() && r.features.starts_with(set))
            .map_or(f64::NAN, |r| r.accuracy)
    };
    let (most_gaining, gain) = Model::ALL
        .into_iter()
        .map(|m| (m, acc(m, "AE") - acc(m, "raw")))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("models");
    let svm_rows: Vec<&Row> = rows.iter().filter(|r| r.model.starts_with("SVM")).collect();
    out.set_facts(&Facts {
        best_model: best.model.clone(),
        best_features: best.features.clone(),
        best_accuracy: best.accuracy,
        best_fit_seconds: best.fit_seconds,
        worst_model: worst.model.clone(),
        worst_features: worst.features.clone(),
        worst_accuracy: worst.accuracy,
        deep_accuracy: deep.accuracy,
        deep_fit_seconds: deep.fit_seconds,
        deep_from_cache: clf.cached,
        svm_train_size: svm_n,
        linear_train_size: linear_n,
        deep_train_size: train.len(),
        test_size: test.len(),
        pixels,
        code_dim: d,
        linear_svm_raw: acc(Model::LinearSvm, "raw"),
        linear_svm_ae: acc(Model::LinearSvm, "AE"),
        logistic_raw: acc(Model::Logistic, "raw"),
        logistic_ae: acc(Model::Logistic, "AE"),
        most_gaining_model: most_gaining.name().into(),
        most_gaining_gain: gain,
        svm_models: svm_rows.len(),
        svm_seconds: svm_rows.iter().map(|r| r.fit_seconds).sum(),
        any_published: rows.iter().any(|r| r.published.is_some()),
    })?;
    Ok(out)
}

//! Chapter `baselines`: classic classifiers (linfa) on raw pixels, on the
//! autoencoder's codes and on PCA of the pixels, against the deep classifier.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use polars::prelude::Column;

use super::{ChapterOutput, Ctx, Figure};
use crate::data::Images;
use crate::ml::baselines::{
    Features, Model, Settings, fit_predict, pca, pixel_features, standardise,
};
use crate::ml::confusion::confusion_counts;
use crate::models;
use crate::nn::classify::embed;
use crate::plot::{bars_svg, confusion_svg};
use crate::tables::Table;

pub const TABLES: &[&str] = &["accuracy", "timing"];

/// Published full-MNIST test accuracy on raw pixels (Xiao et al. 2017, Table 3).
fn published(model: Model) -> Option<f64> {
    match model {
        Model::LinearSvm => Some(0.929),
        Model::PolySvm => Some(0.976),
        Model::Logistic => Some(0.917),
        Model::NaiveBayes => Some(0.524),
    }
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
pub fn models<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<crate::models::PlannedModel>> {
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
    let linear_n = profile.linear_train_size.min(train.len());
    let svm_n = profile.svm_train_size.min(train.len());
    let settings = Settings {
        svm_c: section.svm_c,
        poly_c: section.poly_c,
        poly_degree: section.poly_degree as f64,
        logistic_iterations: section.logistic_iterations,
    };

    // Feature sets, all from the first `linear_n` training images.
    let train_px = pixel_features(
        &train.images.pixels[..linear_n * 784],
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
    let sets = [
        ("raw pixels (784)".to_string(), &train_px, &test_px),
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
                    published(model)
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
        model: "deep classifier (chapter 2)".into(),
        features: "raw pixels (784)".into(),
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
    out.fact("best_model", best.model.clone());
    out.fact("best_features", best.features.clone());
    out.fact_f64("best_accuracy", best.accuracy);
    out.fact_f64("best_fit_seconds", best.fit_seconds);
    out.fact("worst_model", worst.model.clone());
    out.fact("worst_features", worst.features.clone());
    out.fact_f64("worst_accuracy", worst.accuracy);
    out.fact_f64("deep_accuracy", deep.accuracy);
    out.fact_f64("deep_fit_seconds", deep.fit_seconds);
    out.fact("svm_train_size", svm_n);
    out.fact("linear_train_size", linear_n);
    out.fact("deep_train_size", train.len());
    out.fact("test_size", test.len());
    out.fact("latent_dim", d);
    out.fact("pca_components", section.pca_components);
    let acc = |model: Model, set: &str| {
        rows.iter()
            .find(|r| r.model == model.name() && r.features.starts_with(set))
            .map_or(f64::NAN, |r| r.accuracy)
    };
    for (slug, m) in [
        ("linear_svm", Model::LinearSvm),
        ("poly_svm", Model::PolySvm),
        ("logistic", Model::Logistic),
        ("nb", Model::NaiveBayes),
    ] {
        out.fact_f64(&format!("{slug}_raw"), acc(m, "raw"));
        out.fact_f64(&format!("{slug}_ae"), acc(m, "AE"));
        out.fact_f64(&format!("{slug}_pca"), acc(m, "PCA"));
    }
    let svm_seconds: f64 = rows
        .iter()
        .filter(|r| r.model.starts_with("SVM"))
        .map(|r| r.fit_seconds)
        .sum();
    out.fact_f64("svm_seconds", svm_seconds);
    Ok(out)
}

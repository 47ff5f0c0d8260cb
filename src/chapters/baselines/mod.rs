//! Chapter `baselines`: classic classifiers (linfa) on raw pixels, on the
//! autoencoder's codes and on PCA of the pixels, against the deep classifier.

pub mod section;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::{BookConfig, Config};
use crate::data::Images;
use crate::experiment::Ctx;
use crate::experiment::{classic, models};
use crate::ml::baselines::{Features, Model, Settings, pca, pixel_features, standardise};
use crate::ml::confusion::confusion_counts;
use crate::nn::classify::embed;
use crate::plot::{bars_svg, confusion_svg};

pub use section::BaselinesSection;

pub const TABLES: &[&str] = &["accuracy", "timing"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "classifier", "baselines"];

pub fn title(_config: &Config) -> String {
    "Classic Baselines".into()
}

/// Checks `[chapter.baselines]` and completes it with its defaults.
pub fn check_section(book: &mut BookConfig) -> Result<(), String> {
    crate::config::section::complete::<BaselinesSection>(book)
}

/// The published figure on the dataset's full split for `model` on raw
/// pixels (the entry's `published`; docs/facts.md), where the book's
/// settings are the published ones: linear SVM with C = 1, polynomial SVM of
/// degree 3 (scikit-learn's default) with C = 10 or 100; logistic regression
/// and naive Bayes.
fn published(
    model: Model,
    section: &BaselinesSection,
    entry: &crate::data::DatasetEntry,
) -> Option<crate::data::catalog::Published> {
    let id = match model {
        Model::LinearSvm if section.svm_c == 1.0 => "linear-svm-c1",
        Model::PolySvm if section.poly_degree == 3 && section.poly_c == 10.0 => "poly-svm-c10",
        Model::PolySvm if section.poly_degree == 3 && section.poly_c == 100.0 => "poly-svm-c100",
        Model::Logistic => "logistic-c1",
        Model::NaiveBayes => "naive-bayes",
        _ => return None,
    };
    entry.published(id).cloned()
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
    /// The classic fits' results came from the cache: their times were
    /// measured in the earlier run that computed them.
    classic_from_cache: bool,
    /// Whether any published figure matched the settings.
    any_published: bool,
    /// The book's results beside the published ones, with the verdict.
    published: Vec<crate::chapters::published::Comparison>,
}

/// The models the chapter loads or trains.
pub fn models<'a, B: AutodiffBackend>(
    ctx: &'a Ctx<B>,
) -> Result<Vec<crate::experiment::models::PlannedModel<'a>>> {
    Ok(vec![
        models::planned_book_autoencoder(ctx),
        models::planned_book_classifier(ctx),
    ])
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let sets = feature_sets(ctx)?;
    let mut fits = classic(ctx, &sets.sets)?;
    let deep = deep_classifier(ctx, sets.pixels)?;
    fits.push(deep.fit);
    out.tables.push(accuracy_table(&fits)?);
    out.tables.push(timing_table(&fits)?);

    let extremes = Extremes::of(&fits);
    let labels = &ctx.data.test.labels;
    out.figures.push(confusion(
        "confusion-best.svg",
        labels,
        extremes.best,
        &ctx.data.entry,
    )?);
    out.figures.push(confusion(
        "confusion-worst.svg",
        labels,
        extremes.worst,
        &ctx.data.entry,
    )?);
    out.figures.push(accuracy_bars(&fits)?);
    out.set_facts(&facts(ctx, &sets, &fits, &extremes, deep.cached))?;
    Ok(out)
}

/// What a feature set is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FeatureKind {
    RawPixels,
    AeCodes,
    Pca,
}

impl FeatureKind {
    /// Its group in the accuracy chart (the deep classifier is the last).
    fn group(self) -> usize {
        self as usize
    }
}

/// One feature set: its name in the tables, training and test features.
struct FeatureSet {
    kind: FeatureKind,
    name: String,
    train: Features,
    test: Features,
}

/// Raw pixels, the book AE's codes and PCA of the pixels (both
/// standardised), all from the first `linear_n` training images.
struct FeatureSets {
    sets: Vec<FeatureSet>,
    /// Pixels per image.
    pixels: usize,
    /// Dimensions of the AE codes, measured on the encoder.
    code_dim: usize,
}

fn feature_sets<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<FeatureSets> {
    let section = &ctx.config.section::<BaselinesSection>();
    let (train, test) = (&ctx.data.train, &ctx.data.test);
    // Profile validation keeps it within the training split.
    let linear_n = ctx.config.profile.linear_train_size();
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
    let set = |kind, name: String, train: Features, test: Features| FeatureSet {
        kind,
        name,
        train,
        test,
    };
    Ok(FeatureSets {
        sets: vec![
            set(
                FeatureKind::RawPixels,
                format!("raw pixels ({pixels})"),
                train_px,
                test_px,
            ),
            set(
                FeatureKind::AeCodes,
                format!("AE codes ({d})"),
                train_ae,
                test_ae,
            ),
            set(
                FeatureKind::Pca,
                format!("PCA of pixels ({})", section.pca_components),
                train_pca,
                test_pca,
            ),
        ],
        pixels,
        code_dim: d,
    })
}

/// One model fitted on one feature set, and what it predicted.
struct Fit {
    model: String,
    /// The classic model, or `None` for the deep classifier.
    classic: Option<Model>,
    features: String,
    feature_kind: FeatureKind,
    train_size: usize,
    accuracy: f64,
    published: Option<crate::data::catalog::Published>,
    fit_seconds: f64,
    predict_seconds: f64,
    predictions: Vec<u8>,
    /// Loaded from the cache: its times were measured in an earlier run.
    from_cache: bool,
}

impl Fit {
    fn is_deep(&self) -> bool {
        self.classic.is_none()
    }
}

/// Every classic model on every feature set (SVMs on the first
/// `svm_train_size` images, the others on `linear_n`).
fn classic<B: AutodiffBackend>(ctx: &Ctx<B>, sets: &[FeatureSet]) -> Result<Vec<Fit>> {
    let section = &ctx.config.section::<BaselinesSection>();
    let profile = &ctx.config.profile;
    let (linear_n, svm_n) = (profile.linear_train_size(), profile.svm_train_size);
    let settings = Settings {
        svm_c: section.svm_c,
        poly_c: section.poly_c,
        poly_degree: section.poly_degree as f64,
        logistic_iterations: section.logistic_iterations,
    };
    let mut fits = Vec::new();
    for set in sets {
        for model in Model::ALL {
            let n = if model.is_svm() { svm_n } else { linear_n };
            eprintln!(
                "baselines: {} on {}, {n} training images",
                model.name(),
                set.name
            );
            let computed =
                classic::fit_predict(ctx, model, &set.train.head(n), &set.test, &settings)?;
            let o = computed.value;
            fits.push(Fit {
                model: model.name().into(),
                classic: Some(model),
                features: set.name.clone(),
                feature_kind: set.kind,
                train_size: n,
                accuracy: o.accuracy,
                published: if set.kind == FeatureKind::RawPixels {
                    published(model, section, &ctx.data.entry)
                } else {
                    None
                },
                fit_seconds: o.fit_seconds,
                predict_seconds: o.predict_seconds,
                predictions: o.predictions,
                from_cache: computed.cached,
            });
        }
    }
    Ok(fits)
}

/// The book's deep classifier, for comparison.
struct DeepFit {
    fit: Fit,
    /// It came from the cache: its training time was measured earlier.
    cached: bool,
}

fn deep_classifier<B: AutodiffBackend>(ctx: &Ctx<B>, pixels: usize) -> Result<DeepFit> {
    let clf = models::book_classifier(ctx)?;
    let started = std::time::Instant::now();
    let e = embed(&clf.model.valid(), &ctx.data.test, &ctx.device);
    Ok(DeepFit {
        fit: Fit {
            model: "deep classifier".into(),
            classic: None,
            features: format!("raw pixels ({pixels})"),
            feature_kind: FeatureKind::RawPixels,
            train_size: ctx.data.train.len(),
            accuracy: e.accuracy,
            published: ctx.data.entry.published("small-cnn").cloned(),
            fit_seconds: clf.history.last().map_or(0.0, |r| r.elapsed_seconds),
            predict_seconds: started.elapsed().as_secs_f64(),
            predictions: e.predictions,
            from_cache: clf.cached,
        },
        cached: clf.cached,
    })
}

#[derive(Serialize)]
struct AccuracyRow<'a> {
    model: &'a str,
    features: &'a str,
    train_size: usize,
    test_accuracy: f64,
    published_accuracy: Option<f64>,
}

fn accuracy_table(fits: &[Fit]) -> Result<Table> {
    let rows: Vec<AccuracyRow> = fits
        .iter()
        .map(|f| AccuracyRow {
            model: &f.model,
            features: &f.features,
            train_size: f.train_size,
            test_accuracy: f.accuracy,
            published_accuracy: f.published.as_ref().map(|p| p.accuracy),
        })
        .collect();
    Table::from_rows("accuracy", &["model", "features"], &rows)
}

#[derive(Serialize)]
struct TimingRow<'a> {
    model: &'a str,
    features: &'a str,
    fit_seconds: f64,
    predict_seconds: f64,
}

/// Fit and prediction times (volatile).
fn timing_table(fits: &[Fit]) -> Result<Table> {
    let rows: Vec<TimingRow> = fits
        .iter()
        .map(|f| TimingRow {
            model: &f.model,
            features: &f.features,
            fit_seconds: f.fit_seconds,
            predict_seconds: f.predict_seconds,
        })
        .collect();
    Ok(Table::from_rows("timing", &["model", "features"], &rows)?.volatile())
}

/// The most and the least accurate classic fit.
struct Extremes<'a> {
    best: &'a Fit,
    worst: &'a Fit,
}

impl<'a> Extremes<'a> {
    fn of(fits: &'a [Fit]) -> Self {
        let classic = || fits.iter().filter(|f| !f.is_deep());
        Self {
            best: classic()
                .max_by(|a, b| a.accuracy.total_cmp(&b.accuracy))
                .expect("fits"),
            worst: classic()
                .min_by(|a, b| a.accuracy.total_cmp(&b.accuracy))
                .expect("fits"),
        }
    }
}

fn confusion(
    file: &str,
    labels: &[u8],
    fit: &Fit,
    entry: &crate::data::DatasetEntry,
) -> Result<Figure> {
    Ok(Figure {
        file: file.into(),
        bytes: confusion_svg(
            &confusion_counts(labels, &fit.predictions),
            &entry.classes,
            &entry.class_noun,
        )?
        .into_bytes(),
    })
}

/// Every fit's test accuracy, grouped by feature set (the deep classifier
/// its own group).
fn accuracy_bars(fits: &[Fit]) -> Result<Figure> {
    let bars: Vec<(String, f64, usize)> = fits
        .iter()
        .map(|f| {
            let group = if f.is_deep() {
                FeatureKind::Pca.group() + 1
            } else {
                f.feature_kind.group()
            };
            (
                format!(
                    "{} · {}",
                    f.model,
                    f.features.split(' ').next().unwrap_or("")
                ),
                f.accuracy,
                group,
            )
        })
        .collect();
    Ok(Figure {
        file: "accuracy.svg".into(),
        bytes: bars_svg(&bars, "test accuracy", (0.0, 1.0))?.into_bytes(),
    })
}

fn facts<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    sets: &FeatureSets,
    fits: &[Fit],
    extremes: &Extremes,
    deep_from_cache: bool,
) -> Facts {
    let profile = &ctx.config.profile;
    let (best, worst) = (extremes.best, extremes.worst);
    let deep = fits.iter().find(|f| f.is_deep()).expect("the deep fit");
    let acc = |model: Model, kind: FeatureKind| {
        fits.iter()
            .find(|f| f.classic == Some(model) && f.feature_kind == kind)
            .map_or(f64::NAN, |f| f.accuracy)
    };
    let (most_gaining, gain) = Model::ALL
        .into_iter()
        .map(|m| {
            let gain = acc(m, FeatureKind::AeCodes) - acc(m, FeatureKind::RawPixels);
            (m, gain)
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("models");
    let svm_fits: Vec<&Fit> = fits
        .iter()
        .filter(|f| f.classic.is_some_and(Model::is_svm))
        .collect();
    Facts {
        best_model: best.model.clone(),
        best_features: best.features.clone(),
        best_accuracy: best.accuracy,
        best_fit_seconds: best.fit_seconds,
        worst_model: worst.model.clone(),
        worst_features: worst.features.clone(),
        worst_accuracy: worst.accuracy,
        deep_accuracy: deep.accuracy,
        deep_fit_seconds: deep.fit_seconds,
        deep_from_cache,
        svm_train_size: profile.svm_train_size,
        linear_train_size: profile.linear_train_size(),
        deep_train_size: ctx.data.train.len(),
        test_size: ctx.data.test.len(),
        pixels: sets.pixels,
        code_dim: sets.code_dim,
        linear_svm_raw: acc(Model::LinearSvm, FeatureKind::RawPixels),
        linear_svm_ae: acc(Model::LinearSvm, FeatureKind::AeCodes),
        logistic_raw: acc(Model::Logistic, FeatureKind::RawPixels),
        logistic_ae: acc(Model::Logistic, FeatureKind::AeCodes),
        most_gaining_model: most_gaining.name().into(),
        most_gaining_gain: gain,
        svm_models: svm_fits.len(),
        svm_seconds: svm_fits.iter().map(|f| f.fit_seconds).sum(),
        classic_from_cache: fits.iter().any(|f| !f.is_deep() && f.from_cache),
        any_published: fits.iter().any(|f| f.published.is_some()),
        published: fits
            .iter()
            .filter_map(|f| {
                f.published.as_ref().map(|p| {
                    crate::chapters::published::Comparison::new(
                        &f.model,
                        f.train_size,
                        f.accuracy,
                        ctx.data.test.len(),
                        p,
                    )
                })
            })
            .collect(),
    }
}

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
use crate::experiment::Ctx;
use crate::experiment::classic::{FeaturePair, FeatureRecipe, FitJob, LazyFeatures, code_features};
use crate::experiment::models::{self, PlannedModel};
use crate::ml::baselines::{Model, Settings, pca, pixel_features, standardise};
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
    let mut planned = vec![
        models::planned_book_autoencoder(ctx),
        models::planned_book_classifier(ctx),
    ];
    planned.extend(planned_fits(ctx));
    Ok(planned)
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let sets = FeatureKind::ALL.map(|kind| feature_set(ctx, kind));
    let mut fits = classic(ctx, &sets)?;
    let deep = deep_classifier(ctx, ctx.data.train.images.pixels_per_image())?;
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
    out.set_facts(&facts(ctx, &fits, &extremes, deep.cached))?;
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

/// One feature set: its kind, its name in the tables, and its features,
/// made only when a fit on it is not cached.
struct FeatureSet<'a> {
    kind: FeatureKind,
    name: String,
    features: LazyFeatures<'a>,
}

impl FeatureKind {
    const ALL: [FeatureKind; 3] = [
        FeatureKind::RawPixels,
        FeatureKind::AeCodes,
        FeatureKind::Pca,
    ];

    /// Its part of a planned fit's name (`baselines/poly-svm/pixels`).
    fn id(self) -> &'static str {
        match self {
            FeatureKind::RawPixels => "pixels",
            FeatureKind::AeCodes => "ae-codes",
            FeatureKind::Pca => "pca",
        }
    }
}

/// Raw pixels, the book AE's codes or PCA of the pixels (both
/// standardised), of the first `linear_n` training images and of every
/// test image.
fn feature_set<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>, kind: FeatureKind) -> FeatureSet<'a> {
    let section = ctx.config.section::<BaselinesSection>();
    // Profile validation keeps it within the training split.
    let images = ctx.config.profile.linear_train_size();
    let (train, test) = (&ctx.data.train, &ctx.data.test);
    let pixels = move || -> Result<FeaturePair> {
        let per_image = train.images.pixels_per_image();
        Ok((
            pixel_features(
                &train.images.pixels[..images * per_image],
                &train.labels[..images],
            )?,
            pixel_features(&test.images.pixels, &test.labels)?,
        ))
    };
    match kind {
        FeatureKind::RawPixels => FeatureSet {
            kind,
            name: format!("raw pixels ({})", train.images.pixels_per_image()),
            features: LazyFeatures::new(FeatureRecipe::RawPixels { images }, pixels),
        },
        FeatureKind::Pca => {
            let components = section.pca_components;
            FeatureSet {
                kind,
                name: format!("PCA of pixels ({components})"),
                features: LazyFeatures::new(FeatureRecipe::Pca { images, components }, move || {
                    let (train, test) = pixels()?;
                    let (train, test) = pca(&train, &test, components)?;
                    Ok(standardise(&train, &test))
                }),
            }
        }
        FeatureKind::AeCodes => {
            let autoencoder = ctx
                .artifacts
                .key(models::CONV_AE, &models::book_autoencoder_spec(ctx));
            FeatureSet {
                kind,
                name: format!("AE codes ({})", code_dim(ctx)),
                features: LazyFeatures::new(
                    FeatureRecipe::Codes {
                        images,
                        autoencoder,
                    },
                    move || {
                        let ae = models::book_autoencoder(ctx)?;
                        code_features(ctx, &ae.model.valid().encoder, images)
                    },
                ),
            }
        }
    }
}

/// The book AE's code size (its configured latent size).
fn code_dim<B: AutodiffBackend>(ctx: &Ctx<B>) -> usize {
    models::conv_ae_config(ctx.config).latent_dim
}

/// The classic settings of `[chapter.baselines]`.
fn settings<B: AutodiffBackend>(ctx: &Ctx<B>) -> Settings {
    let section = ctx.config.section::<BaselinesSection>();
    Settings {
        svm_c: section.svm_c,
        poly_c: section.poly_c,
        poly_degree: section.poly_degree as f64,
        logistic_iterations: section.logistic_iterations,
    }
}

/// The fit of `model` on `set`: SVMs on the first `svm_train_size`
/// images, the others on `linear_n`.
fn fit_job<B: AutodiffBackend>(ctx: &Ctx<B>, model: Model, set: &FeatureSet) -> (usize, FitJob) {
    let profile = &ctx.config.profile;
    let n = if model.is_svm() {
        profile.svm_train_size
    } else {
        profile.linear_train_size()
    };
    (
        n,
        FitJob::new(model, set.features.recipe.clone(), n, &settings(ctx)),
    )
}

/// Every classic fit as a job of the plan.
fn planned_fits<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> Vec<PlannedModel<'a>> {
    let mut planned = Vec::new();
    for kind in FeatureKind::ALL {
        for model in Model::ALL {
            let set = feature_set(ctx, kind);
            let (_, job) = fit_job(ctx, model, &set);
            let name = format!("baselines/{}/{}", model.id(), kind.id());
            planned.push(job.planned(ctx, name, set.features));
        }
    }
    planned
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

/// Every classic model on every feature set, from the cache where it has
/// the fit (then the feature set is not even made).
fn classic<B: AutodiffBackend>(ctx: &Ctx<B>, sets: &[FeatureSet]) -> Result<Vec<Fit>> {
    let section = &ctx.config.section::<BaselinesSection>();
    let mut fits = Vec::new();
    for set in sets {
        for model in Model::ALL {
            let (n, job) = fit_job(ctx, model, set);
            eprintln!(
                "baselines: {} on {}, {n} training images",
                model.name(),
                set.name
            );
            let computed = job.run(ctx, &set.features)?;
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
        pixels: ctx.data.train.images.pixels_per_image(),
        code_dim: code_dim(ctx),
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

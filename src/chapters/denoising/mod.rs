//! Chapter `denoising`: autoencoders trained to map noisy digits to clean
//! ones, one per noise level, against the plain AE on the same noisy input;
//! and whether the denoising objective makes better codes.

mod budget;
mod codes;
mod levels;
pub mod section;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::{final_test_error, parallel};
use crate::book::ChapterOutput;
use crate::book::table::Table;
use crate::config::{BookConfig, Config};
use crate::experiment::Ctx;
use crate::experiment::models::{self, AutoencoderSpec, Outcome, PlannedModel, TrainedAe};
use crate::nn::conv_ae::ConvAutoencoderConfig;

pub use section::DenoisingSection;

pub const TABLES: &[&str] = &[
    "denoising",
    "recognition",
    "recall_by_digit",
    "budget",
    "probe",
    "timing",
];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "denoising", "classifier", "baselines"];

pub fn title(_config: &Config) -> String {
    "Denoising Autoencoders".into()
}

/// Checks `[chapter.denoising]` and completes it with its defaults.
pub fn check_section(book: &mut BookConfig) -> Result<(), String> {
    crate::config::section::complete::<DenoisingSection>(book)
}

/// A noise level as it appears in names: 0.5 → "0.5".
fn level_name(f: f64) -> String {
    format!("{f}")
}

/// The denoising AE of level `f` as tables and figures name it.
fn dae_name(f: f64) -> String {
    format!("denoising AE, f = {f}")
}

/// The denoising AE of level `f`: the book AE's spec and seed, only the
/// input noise differs.
fn dae_spec<B: AutodiffBackend>(ctx: &Ctx<B>, f: f64) -> AutoencoderSpec<ConvAutoencoderConfig> {
    // Only its final test error is read: evaluated once.
    let mut spec = models::evaluated_at_end(models::book_autoencoder_spec(ctx));
    spec.training.noise_factor = f;
    spec
}

/// The models the chapter loads or trains.
pub fn models<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> Result<Vec<PlannedModel<'a>>> {
    let mut planned = vec![
        models::planned_book_autoencoder(ctx),
        models::planned_book_classifier(ctx),
    ];
    for &f in &ctx.config.section::<DenoisingSection>().noise_factors {
        planned.push(PlannedModel::new(
            ctx.artifacts,
            format!("denoising/f{f}"),
            models::CONV_AE,
            &dae_spec(ctx, f),
            move || dae(ctx, f).map(drop),
        ));
    }
    let section = &ctx.config.section::<DenoisingSection>();
    let f = budget::budget_level(section);
    for &k in &section.budget_multiples {
        planned.push(PlannedModel::new(
            ctx.artifacts,
            budget::model_name(f, k),
            models::CONV_AE,
            &budget::spec(ctx, f, k),
            move || longer_dae(ctx, f, k).map(drop),
        ));
    }
    planned.extend(codes::planned(ctx));
    Ok(planned)
}

/// One noise level, measured.
#[derive(Clone, Serialize)]
struct Level {
    f: f64,
    noisy_recognised: f64,
    ae_recognised: f64,
    dae_recognised: f64,
    noisy_l1: f64,
    ae_l1: f64,
    dae_l1: f64,
    dae_clean_l1: f64,
    /// DAE minus AE test L1 on this level's noisy images, paired by image
    /// (one training each: the uncertainty is the test images').
    dae_vs_ae: crate::ml::stats::Difference,
    /// DAE minus noisy input, and DAE minus AE: the share of test images the
    /// classifier reads right, paired by image.
    dae_vs_noisy_recognised: crate::ml::stats::Difference,
    dae_vs_ae_recognised: crate::ml::stats::Difference,
    figure: String,
}

/// What the chapter's text reasons with, each computed once.
#[derive(Serialize)]
struct Facts {
    train_size: usize,
    test_size: usize,
    ae_clean_l1: f64,
    /// The all-black image's test L1 (the plateau every model must leave).
    black_l1: f64,
    /// How close to `black_l1` a model may end (a share of it).
    plateau_margin: f64,
    clean_recognised: f64,
    /// Levels whose DAE reconstructs clean input worse than the plain AE.
    dae_clean_worse_levels: usize,
    levels: Vec<Level>,
    /// The levels of the smallest and the largest f.
    weakest: Level,
    strongest: Level,
    /// The worst (level, digit) across all levels: the DAE's
    /// reconstructions least often read as their digit.
    failure_noise: f64,
    failure_digit: usize,
    failure_recall: f64,
    /// The same digit's noisy images, as the classifier reads them.
    failure_noisy_recall: f64,
    failure_into: usize,
    failure_into_share: f64,
    /// Denoised minus noisy recall of the failing digit, paired by image.
    failure_dae_vs_noisy: crate::ml::stats::Difference,
    /// The strongest level's DAE trained longer; None without multiples.
    budget: Option<budget::BudgetFacts>,
    /// Each DAE's probe accuracy minus the AE's, paired by test image.
    probe_dae_vs_ae: Vec<codes::ProbeComparison>,
    probe_ae: f64,
    probe_dae_mean: f64,
    probe_best: String,
    probe_best_accuracy: f64,
    probe_train_size: usize,
    tsne_noise: f64,
    tsne_points: usize,
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let section = &ctx.config.section::<DenoisingSection>();
    let trained = train_models(ctx)?;
    let (ae, rest) = trained.split_first().expect("the book AE");
    let (daes, longer) = rest.split_at(section.noise_factors.len());
    let ae_model = ae.model.valid();
    out.seeds.insert(
        "conv-ae".into(),
        ctx.seed(crate::experiment::models::BOOK_AE_SEED),
    );

    let per_level = levels::study(ctx, &ae_model, daes)?;
    out.seeds.extend(per_level.seeds);
    out.figures.extend(per_level.figures);
    out.tables.push(Table::from_rows(
        "denoising",
        &["noise", "method"],
        &per_level.errors,
    )?);
    out.tables.push(Table::from_rows(
        "recognition",
        &["noise", "input"],
        &per_level.recognition,
    )?);
    out.tables.push(Table::from_rows(
        "recall_by_digit",
        &["noise", "digit"],
        &per_level.by_digit,
    )?);
    let failure = levels::worst_failure(&ctx.data.test.labels, &per_level.readings);
    let budget = if longer.is_empty() {
        None
    } else {
        let f = budget::budget_level(section);
        let level = section
            .noise_factors
            .iter()
            .position(|&x| x == f)
            .expect("the budget level is a level");
        let mut models = vec![&daes[level]];
        models.extend(longer);
        let facts = budget::study(ctx, f, &models)?;
        out.tables
            .push(Table::from_rows("budget", &["multiple"], &facts.rows)?);
        Some(facts)
    };

    let probe = codes::probe_study(ctx, ae, daes)?;
    out.tables
        .push(Table::from_rows("probe", &["model"], &probe.rows)?);
    let tsne = codes::tsne_study(ctx, ae, daes)?;
    out.seeds.insert("tsne".into(), tsne.seed);
    out.figures.push(tsne.figure);
    out.tables.push(timing_table(ctx, &trained)?);

    let ae_clean = final_test_error(&ae.history);
    out.set_facts(&Facts {
        train_size: ctx.data.train.len(),
        test_size: ctx.data.test.len(),
        ae_clean_l1: ae_clean.l1,
        black_l1: ctx.data.test.images.mean_intensity(),
        plateau_margin: crate::nn::train::PLATEAU_MARGIN,
        clean_recognised: per_level.clean_recognised,
        dae_clean_worse_levels: levels::dae_clean_worse(&per_level.levels, ae_clean.l1),
        weakest: per_level.weakest,
        strongest: per_level.strongest,
        levels: per_level.levels,
        failure_noise: failure.noise,
        failure_digit: failure.digit,
        failure_recall: failure.recall,
        failure_noisy_recall: failure.noisy_recall,
        failure_into: failure.into,
        failure_into_share: failure.into_share,
        failure_dae_vs_noisy: failure.dae_vs_noisy,
        budget,
        probe_ae: probe.ae,
        probe_dae_vs_ae: probe.dae_vs_ae,
        probe_dae_mean: probe.dae_mean,
        probe_best: probe.best,
        probe_best_accuracy: probe.best_accuracy,
        probe_train_size: probe.train_size,
        tsne_noise: tsne.noise,
        tsne_points: tsne.points,
    })?;
    Ok(out)
}

/// The denoising AE of level `f`, loaded or trained.
fn dae<B: AutodiffBackend>(ctx: &Ctx<B>, f: f64) -> Result<TrainedAe<B>> {
    let name = format!("denoising AE f={f}");
    models::autoencoder(ctx, &name, dae_spec(ctx, f), Outcome::MustLearn)
}

/// The DAE of level `f` trained `k` times as long, loaded or trained.
fn longer_dae<B: AutodiffBackend>(ctx: &Ctx<B>, f: f64, k: usize) -> Result<TrainedAe<B>> {
    let name = format!("denoising AE f={f}, {k}× epochs");
    models::autoencoder(ctx, &name, budget::spec(ctx, f, k), Outcome::MustLearn)
}

/// The book AE and one denoising AE per level, trained side by side: the
/// same spec and seed, only the input noise differs.
fn train_models<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<TrainedAe<B>>> {
    type Job<'a, B> = Box<dyn FnOnce() -> Result<TrainedAe<B>> + Send + 'a>;
    let section = &ctx.config.section::<DenoisingSection>();
    // The longer trainings first, longest first: the scheduler starts jobs
    // in order, so the longest does not run alone at the end.
    let f = budget::budget_level(section);
    let mut order: Vec<usize> = (0..section.budget_multiples.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(section.budget_multiples[i]));
    let mut jobs: Vec<Job<B>> = Vec::new();
    for &i in &order {
        let k = section.budget_multiples[i];
        jobs.push(Box::new(move || longer_dae(ctx, f, k)));
    }
    jobs.push(Box::new(|| models::book_autoencoder(ctx)));
    for &f in &section.noise_factors {
        jobs.push(Box::new(move || dae(ctx, f)));
    }
    let mut trained = parallel(jobs)?;
    // Back to the chapter's order: the book AE, the levels, the longer
    // trainings in the section's order.
    let rest = trained.split_off(order.len());
    let mut longer: Vec<Option<TrainedAe<B>>> = order.iter().map(|_| None).collect();
    for (&i, t) in order.iter().zip(trained) {
        longer[i] = Some(t);
    }
    Ok(rest
        .into_iter()
        .chain(
            longer
                .into_iter()
                .map(|t| t.expect("every multiple trained")),
        )
        .collect())
}

/// One model's training time.
#[derive(Serialize)]
struct TimingRow {
    model: String,
    train_seconds: f64,
    from_cache: bool,
}

/// The training times of the book AE, the denoising AEs and the longer
/// trainings, in that order.
fn timing_table<B: AutodiffBackend>(ctx: &Ctx<B>, trained: &[TrainedAe<B>]) -> Result<Table> {
    let section = &ctx.config.section::<DenoisingSection>();
    let f = budget::budget_level(section);
    let names = std::iter::once("autoencoder".to_string())
        .chain(section.noise_factors.iter().map(|&f| dae_name(f)))
        .chain(
            section
                .budget_multiples
                .iter()
                .map(|k| format!("{}, {k}× epochs", dae_name(f))),
        );
    let rows: Vec<TimingRow> = names
        .zip(trained)
        .map(|(model, a)| TimingRow {
            model,
            train_seconds: a.history.iter().map(|r| r.train_seconds).sum::<f64>(),
            from_cache: a.cached,
        })
        .collect();
    Ok(Table::from_rows("timing", &["model"], &rows)?.volatile())
}

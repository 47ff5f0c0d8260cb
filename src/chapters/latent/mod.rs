//! Chapter `latent`: what the size d of the code buys (a sweep), what the
//! space between codes looks like (interpolation, correlation, a d=2 map),
//! and whether it can generate digits (a Gaussian per class), also when the
//! AE saw only a handful of images.
//!
//! One file per study: `sweep` (error and decorrelation per d),
//! `interpolation`, `map` (d=2), `generation`; `trained` holds the
//! chapter's trainings and their timing.

mod adversary;
mod generation;
mod interpolation;
mod map;
pub mod section;
mod sweep;
mod trained;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::Serialize;

use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::{BookConfig, Config};
use crate::data::{Split, TrainingSet};
use crate::experiment::Ctx;
use crate::experiment::models::{self, AutoencoderSpec, PlannedModel};
use crate::experiment::sections::AutoencoderSection;
use crate::nn::code_classifier::CodeClassifierTraining;
use crate::nn::conv_ae::ConvAutoencoderConfig;
use crate::nn::train::ReconstructionTrainingConfig;

pub use section::LatentSection;

pub const TABLES: &[&str] = &[
    "sweep",
    "decorrelation",
    "interpolation",
    "generation",
    "generation_summary",
    "generation_draws",
    "adversary",
    "timing",
];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "latent", "classifier"];

pub fn title(_config: &Config) -> String {
    "The Latent Space".into()
}

/// Checks `[chapter.latent]` and completes it with its defaults.
pub fn check_section(book: &mut BookConfig) -> Result<(), String> {
    crate::config::section::complete::<LatentSection>(book)
}

/// The book AE's spec with latent size `d`.
fn sweep_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    d: usize,
) -> AutoencoderSpec<ConvAutoencoderConfig> {
    let warmup = ctx.config.section::<AutoencoderSection>().mse_warmup_epochs;
    let mut spec = models::autoencoder_spec(ctx, warmup);
    if d != spec.model.latent_dim {
        // Only its final test error is read: evaluated once (the book AE,
        // whose curve the autoencoder chapter draws, keeps its spec).
        spec = models::evaluated_at_end(spec);
    }
    spec.model.latent_dim = d;
    spec
}

/// The small-set AE's plan entry for draw `draw` (1-based) of `n` images;
/// with `/subset` and `/training`, the experiment names of the draw's
/// images and of its training seed.
fn small_name(n: usize, draw: usize) -> String {
    format!("latent/small-{n}/{draw}")
}

/// Draw `draw` of `n` class-balanced training images: the first `n / 10`
/// of each digit in an order shuffled with the draw's own seed.
fn small_draw<B: AutodiffBackend>(ctx: &Ctx<B>, n: usize, draw: usize) -> Result<Split> {
    let train = &ctx.data.train;
    let mut order: Vec<usize> = (0..train.len()).collect();
    let seed = ctx.seed(&format!("{}/subset", small_name(n, draw)));
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    train.balanced_in_order(n / 10, order)
}

/// Gradient steps of the book AE.
fn book_steps<B: AutodiffBackend>(ctx: &Ctx<B>) -> usize {
    let profile = &ctx.config.profile;
    profile.epochs * (ctx.data.train.len() / profile.batch_size).max(1)
}

/// The book AE's spec trained on draw `draw` of `n` class-balanced images
/// for `small-step-share` of the book AE's gradient steps in whole epochs
/// (with the same share of warm-up), evaluated once at the end.
fn small_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    n: usize,
    draw: usize,
) -> Result<AutoencoderSpec<ConvAutoencoderConfig>> {
    let section = &ctx.config.section::<AutoencoderSection>();
    let share = ctx.config.section::<LatentSection>().small_step_share;
    let profile = &ctx.config.profile;
    let base = models::autoencoder_spec(ctx, section.mse_warmup_epochs);
    let steps = ((book_steps(ctx) as f64 * share).ceil() as usize).max(1);
    let batch = profile.batch_size.min(n);
    let epochs = steps.div_ceil(n / batch);
    let warmup = (section.mse_warmup_epochs * epochs).div_ceil(profile.epochs);
    Ok(AutoencoderSpec {
        model: base.model,
        training: ReconstructionTrainingConfig {
            epochs,
            batch_size: batch,
            seed: ctx.seed(&format!("{}/training", small_name(n, draw))),
            mse_warmup_epochs: warmup,
            eval_every: epochs,
            ..base.training
        },
        train_set: TrainingSet::new(
            format!("balanced-{n}, draw {draw}"),
            small_draw(ctx, n, draw)?,
        ),
    })
}

/// Every small-set draw `(n, draw)`, sizes in the section's order.
fn small_draws(section: &LatentSection) -> Vec<(usize, usize)> {
    section
        .small_train_sizes
        .iter()
        .flat_map(|&n| (1..=section.small_seeds).map(move |r| (n, r)))
        .collect()
}

/// Kind of the map classifier's cache entries.
const CODE_CLASSIFIER: &str = "code-classifier";

/// The d=2 map's classifier: fitted on the codes the d=2 AE (by key) gives
/// the profile's training images, with their labels.
#[derive(Serialize)]
struct MapClassifierSpec {
    autoencoder: String,
    training: CodeClassifierTraining,
    train_set: TrainingSet,
}

fn map_classifier_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    d2_key: &str,
    seed: u64,
) -> MapClassifierSpec {
    MapClassifierSpec {
        autoencoder: d2_key.to_string(),
        training: CodeClassifierTraining {
            seed,
            ..MAP_CLASSIFIER
        },
        train_set: ctx.data.training_set().clone(),
    }
}

/// The models the chapter loads or trains.
pub fn models<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> Result<Vec<PlannedModel<'a>>> {
    let section = &ctx.config.section::<LatentSection>();
    let mut planned = vec![
        models::planned_book_autoencoder(ctx),
        models::planned_book_classifier(ctx),
    ];
    for &d in &section.dims {
        planned.push(PlannedModel::new(
            ctx.artifacts,
            format!("latent/d{d}"),
            models::CONV_AE,
            &sweep_spec(ctx, d),
            move || trained::sweep_ae(ctx, d).map(drop),
        ));
    }
    for (n, draw) in small_draws(section) {
        let spec = small_spec(ctx, n, draw)?;
        planned.push(PlannedModel::new(
            ctx.artifacts,
            small_name(n, draw),
            models::CONV_AE,
            &spec.clone(),
            move || trained::small_ae(ctx, n, draw, spec).map(drop),
        ));
    }
    let d2 = ctx.artifacts.key(models::CONV_AE, &sweep_spec(ctx, 2));
    planned.push(PlannedModel::new(
        ctx.artifacts,
        map::SEED_NAME,
        CODE_CLASSIFIER,
        &map_classifier_spec(ctx, &d2, ctx.seed(map::SEED_NAME)),
        move || map::map_classifier(ctx, &trained::sweep_ae(ctx, 2)?).map(drop),
    ));
    Ok(planned)
}

/// The small classifier behind the d=2 map (its seed is the chapter's).
const MAP_CLASSIFIER: CodeClassifierTraining = CodeClassifierTraining {
    hidden: 64,
    epochs: 20,
    batch_size: 256,
    learning_rate: 3e-3,
    seed: 0,
};

/// What the chapter's text reasons with, each computed once, by study.
#[derive(Serialize)]
struct Facts {
    train_size: usize,
    test_size: usize,
    /// Gradient steps of the book AE, and the different step counts of the
    /// small-set AEs (one when their sizes take the same).
    gradient_steps: usize,
    small_gradient_steps: Vec<usize>,
    #[serde(flatten)]
    sweep: sweep::SweepFacts,
    #[serde(flatten)]
    decorrelation: sweep::DecorrelationFacts,
    #[serde(flatten)]
    interpolation: interpolation::InterpolationFacts,
    #[serde(flatten)]
    map: map::MapFacts,
    #[serde(flatten)]
    generation: generation::GenerationFacts,
    #[serde(flatten)]
    adversary: adversary::AdversaryFacts,
}

/// One study's part of the chapter: its tables and figures, in the order
/// the book shows them, and the facts the text takes from it.
struct Study<F> {
    tables: Vec<Table>,
    figures: Vec<Figure>,
    facts: F,
}

impl<F> Study<F> {
    /// Appends the study's tables and figures to `out`; returns its facts.
    fn add_to(self, out: &mut ChapterOutput) -> F {
        out.tables.extend(self.tables);
        out.figures.extend(self.figures);
        self.facts
    }
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let (train, test) = (&ctx.data.train, &ctx.data.test);
    let mut out = ChapterOutput::default();

    // Every training of the chapter, side by side: the sweep (whose d=12
    // is the book's AE), the book AE if the sweep lacks its d, and the
    // small-data AEs.
    let trained = trained::train(ctx)?;
    out.seeds.insert(
        "conv-ae".into(),
        ctx.seed(crate::experiment::models::BOOK_AE_SEED),
    );
    for s in &trained.small {
        let name = small_name(s.n, s.draw);
        for part in ["subset", "training"] {
            out.seeds.insert(
                format!("small-{}/{}/{part}", s.n, s.draw),
                ctx.seed(&format!("{name}/{part}")),
            );
        }
    }
    out.seeds
        .insert("map-classifier".into(), ctx.seed(map::SEED_NAME));

    let sweep = sweep::sweep(&trained)?.add_to(&mut out);
    let decorrelation = sweep::decorrelation(ctx, &trained)?.add_to(&mut out);
    // The digit classifier judges the interpolated and generated digits.
    let book_classifier = models::book_classifier(ctx)?;
    let clf = book_classifier.model.valid();
    let interpolation = interpolation::interpolation(ctx, &trained, &clf)?.add_to(&mut out);
    let map = map::map(ctx, &trained)?.add_to(&mut out);
    let generation = generation::generation(ctx, &trained, &clf)?.add_to(&mut out);
    let adversary = adversary::adversary(ctx, &trained, &book_classifier.model)?.add_to(&mut out);
    out.tables.push(trained.timing()?);

    out.set_facts(&Facts {
        train_size: train.len(),
        test_size: test.len(),
        gradient_steps: book_steps(ctx),
        // The small-set AEs' own steps: whole epochs, so at least their share.
        small_gradient_steps: trained
            .small
            .iter()
            .filter(|s| s.draw == 1)
            .map(|s| s.spec.training.epochs * (s.n / s.spec.training.batch_size).max(1))
            .fold(Vec::new(), |mut steps, s| {
                // One number when the sizes take the same steps.
                if !steps.contains(&s) {
                    steps.push(s);
                }
                steps
            }),
        sweep,
        decorrelation,
        interpolation,
        map,
        generation,
        adversary,
    })?;
    Ok(out)
}

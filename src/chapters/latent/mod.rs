//! Chapter `latent`: what the size d of the code buys (a sweep), what the
//! space between codes looks like (interpolation, correlation, a d=2 map),
//! and whether it can generate digits (a Gaussian per class), also when the
//! AE saw only a handful of images.

use anyhow::Result;
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::AutodiffBackend;
use polars::prelude::Column;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use super::classify_digits;
use super::final_test_error;
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::Config;
use crate::data::TrainingSet;
use crate::experiment::Ctx;
use crate::experiment::models::{self, AutoencoderSpec, PlannedModel, TrainedAe};
use crate::ml::latent::{
    interpolate_codes, mean_pairwise_distance, off_diagonal_correlation, sample_class_gaussian,
};
use crate::nn::autoencoder::Autoencoder;
use crate::nn::code_classifier::{
    CodeClassifier, CodeClassifierTraining, FittedCodeClassifier, fit_code_classifier,
};
use crate::nn::conv_ae::{ConvAutoencoderConfig, SIDE};
use crate::nn::train::ReconstructionTrainingConfig;
use crate::plot::scatter::bounds;
use crate::plot::{ClassMap, LineChart, Series, digit_grid_png, latent_map_svg};

pub const TABLES: &[&str] = &[
    "sweep",
    "decorrelation",
    "interpolation",
    "generation",
    "generation_summary",
    "timing",
];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "latent", "classifier"];

pub fn title(_config: &Config) -> String {
    "The Latent Space".into()
}

/// Digit pairs interpolated, most instructive first (shapes that morph
/// into each other), then every other pair of distinct digits.
fn interpolation_pairs(n: usize) -> Vec<(u8, u8)> {
    let mut pairs = vec![(1, 7), (3, 8), (4, 9), (0, 6), (2, 5)];
    for a in 0..10u8 {
        for b in a + 1..10 {
            if !pairs.contains(&(a, b)) && !pairs.contains(&(b, a)) {
                pairs.push((a, b));
            }
        }
    }
    pairs.truncate(n);
    pairs
}

/// The book AE's spec with latent size `d`.
fn sweep_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    d: usize,
) -> AutoencoderSpec<ConvAutoencoderConfig> {
    let warmup = ctx.config.book.chapter.autoencoder.mse_warmup_epochs;
    let mut spec = models::autoencoder_spec(ctx, warmup);
    spec.model.latent_dim = d;
    spec
}

/// The book AE's spec trained on `n` class-balanced images for as many
/// gradient steps as the book AE takes (with the same share of warm-up),
/// evaluated once at the end.
fn small_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    n: usize,
) -> Result<AutoencoderSpec<ConvAutoencoderConfig>> {
    let section = &ctx.config.book.chapter.autoencoder;
    let profile = &ctx.config.profile;
    let base = models::autoencoder_spec(ctx, section.mse_warmup_epochs);
    let steps = profile.epochs * (ctx.data.train.len() / profile.batch_size).max(1);
    let batch = profile.batch_size.min(n);
    let epochs = steps.div_ceil(n / batch);
    let warmup = (section.mse_warmup_epochs * epochs).div_ceil(profile.epochs);
    Ok(AutoencoderSpec {
        model: base.model,
        training: ReconstructionTrainingConfig::new(
            epochs,
            batch,
            section.learning_rate,
            ctx.seed(&format!("latent/small-{n}")),
        )
        .with_mse_warmup_epochs(warmup)
        .with_eval_every(epochs),
        train_set: TrainingSet::new(format!("balanced-{n}"), ctx.data.train.balanced(n / 10)?),
    })
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
pub fn models<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<PlannedModel>> {
    let section = &ctx.config.book.chapter.latent;
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
        ));
    }
    for &n in &section.small_train_sizes {
        planned.push(PlannedModel::new(
            ctx.artifacts,
            format!("latent/small-{n}"),
            models::CONV_AE,
            &small_spec(ctx, n)?,
        ));
    }
    let d2 = ctx.artifacts.key(models::CONV_AE, &sweep_spec(ctx, 2));
    planned.push(PlannedModel::new(
        ctx.artifacts,
        "latent/map-classifier",
        CODE_CLASSIFIER,
        &map_classifier_spec(ctx, &d2, ctx.seed("latent/map-classifier")),
    ));
    Ok(planned)
}

/// The digits the small-set generation figure shows.
const FOCUS_DIGITS: [usize; 3] = [2, 3, 8];

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
    /// Gradient steps of the book AE, and of each small-set AE.
    gradient_steps: usize,
    small_gradient_steps: Vec<usize>,
    #[serde(flatten)]
    sweep: SweepFacts,
    #[serde(flatten)]
    interpolation: InterpolationFacts,
    #[serde(flatten)]
    map: MapFacts,
    #[serde(flatten)]
    generation: GenerationFacts,
}

#[derive(Serialize)]
struct SweepFacts {
    best_d: usize,
    best_l1: f64,
    smallest_d: usize,
    smallest_d_l1: f64,
    largest_d: usize,
    largest_d_l1: f64,
    max_correlation_any_d: f64,
    mean_correlation_first: f64,
    mean_correlation_last: f64,
}

#[derive(Serialize)]
struct InterpolationFacts {
    interpolation_interior_endpoint_share: f64,
    interpolation_interior_images: u32,
    interpolation_pairs: Vec<String>,
    interpolation_dims: Vec<usize>,
    interpolation_steps: usize,
}

#[derive(Serialize)]
struct MapFacts {
    map_accuracy: f64,
    map_hidden: usize,
    map_epochs: usize,
    map_points: usize,
    d2_test_l1: f64,
}

#[derive(Serialize)]
struct GenerationFacts {
    generated_recognised: f64,
    generated_diversity_ratio: f64,
    focus_digits: Vec<usize>,
    generated_recognised_focus: f64,
    worst_generated_digit: usize,
    worst_generated_recognised: f64,
    generation_sources: Vec<String>,
}

/// Generated digits of one AE, and how they measure up.
struct Generation {
    label: String,
    training_images: usize,
    test_l1: f64,
    /// Per digit: (shown images, recognised fraction, diversity generated, diversity real).
    digits: Vec<(Vec<Vec<u8>>, f64, f64, f64)>,
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let section = &ctx.config.book.chapter.latent;
    let book_d = ctx.config.book.chapter.autoencoder.latent_dim;
    let (train, test) = (&ctx.data.train, &ctx.data.test);
    let device = &ctx.device;
    let mut out = ChapterOutput::default();

    // Every training of the chapter, side by side: the sweep (whose d=12
    // is the book's AE), the book AE if the sweep lacks its d, and the
    // small-data AEs.
    let small_specs: Vec<(usize, AutoencoderSpec<ConvAutoencoderConfig>)> = section
        .small_train_sizes
        .iter()
        .map(|&n| Ok((n, small_spec(ctx, n)?)))
        .collect::<Result<_>>()?;
    type Job<'a, B> = Box<dyn FnOnce() -> Result<TrainedAe<B>> + Send + 'a>;
    let mut jobs: Vec<Job<B>> = Vec::new();
    for &d in &section.dims {
        jobs.push(Box::new(move || {
            models::autoencoder(ctx, &format!("conv AE d={d}"), sweep_spec(ctx, d))
        }));
    }
    let book_in_sweep = section.dims.contains(&book_d);
    if !book_in_sweep {
        jobs.push(Box::new(|| models::book_autoencoder(ctx)));
    }
    for (n, spec) in &small_specs {
        let (n, spec) = (*n, spec.clone());
        jobs.push(Box::new(move || {
            models::autoencoder(ctx, &format!("conv AE on {n} images"), spec)
        }));
    }
    let mut trained = super::parallel(jobs)?;
    let small: Vec<TrainedAe<B>> = trained.split_off(trained.len() - small_specs.len());
    let sweep = trained;
    let sweep_model = |d: usize| -> &TrainedAe<B> {
        let i = section
            .dims
            .iter()
            .position(|&x| x == d)
            .expect("d in sweep");
        &sweep[i]
    };
    let book = if book_in_sweep {
        sweep_model(book_d)
    } else {
        sweep.last().expect("book AE")
    };
    out.seeds
        .insert("conv-ae".into(), ctx.seed("autoencoder/conv-ae"));
    for (n, _) in &small_specs {
        out.seeds
            .insert(format!("small-{n}"), ctx.seed(&format!("latent/small-{n}")));
    }

    // The sweep: error and correlation of the codes per d.
    let mut rows = Vec::new();
    for &d in &section.dims {
        let a = sweep_model(d);
        let model = a.model.valid();
        let err = final_test_error(&a.history);
        let (codes, dim) = model.encode_images(&test.images, device);
        let (max_corr, mean_corr) = off_diagonal_correlation(&codes, dim);
        rows.push((d, a.model.num_params(), err, max_corr, mean_corr));
    }
    rows.sort_by_key(|r| r.0);
    let gains: Vec<Option<f64>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (i > 0).then(|| (rows[i - 1].2.l1 - r.2.l1) / (r.0 - rows[i - 1].0) as f64))
        .collect();
    out.tables.push(Table::new(
        "sweep",
        &["d"],
        vec![
            Column::new(
                "d".into(),
                rows.iter().map(|r| r.0 as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "parameters".into(),
                rows.iter().map(|r| r.1 as u64).collect::<Vec<_>>(),
            ),
            Column::new(
                "test_l1".into(),
                rows.iter().map(|r| r.2.l1).collect::<Vec<_>>(),
            ),
            Column::new(
                "test_mse".into(),
                rows.iter().map(|r| r.2.mse).collect::<Vec<_>>(),
            ),
            Column::new("l1_gain_per_dim".into(), gains),
        ],
    )?);
    out.tables.push(Table::new(
        "decorrelation",
        &["d"],
        vec![
            Column::new(
                "d".into(),
                rows.iter().map(|r| r.0 as u32).collect::<Vec<_>>(),
            ),
            Column::new(
                "max_abs_correlation".into(),
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            ),
            Column::new(
                "mean_abs_correlation".into(),
                rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            ),
        ],
    )?);
    let xy = |f: fn(
        &(
            usize,
            usize,
            crate::nn::autoencoder::ReconstructionError,
            f64,
            f64,
        ),
    ) -> f64| { rows.iter().map(|r| (r.0 as f64, f(r))).collect::<Vec<_>>() };
    let chart = LineChart::new("latent size d", "error per pixel (test)")
        .integer_x(true)
        .series(Series::new("mean L1", xy(|r| r.2.l1)))
        .series(Series::new("MSE", xy(|r| r.2.mse)));
    out.figures.push(Figure {
        file: "sweep.svg".into(),
        bytes: chart.to_svg()?.into_bytes(),
    });
    let chart = LineChart::new("latent size d", "|correlation| between two code dimensions")
        .integer_x(true)
        .series(Series::new("largest", xy(|r| r.3)))
        .series(Series::new("mean", xy(|r| r.4)));
    out.figures.push(Figure {
        file: "decorrelation.svg".into(),
        bytes: chart.to_svg()?.into_bytes(),
    });
    let best = rows
        .iter()
        .min_by(|a, b| a.2.l1.total_cmp(&b.2.l1))
        .expect("a sweep point");
    let last = &rows[rows.len() - 1];
    let sweep_facts = SweepFacts {
        best_d: best.0,
        best_l1: best.2.l1,
        smallest_d: rows[0].0,
        smallest_d_l1: rows[0].2.l1,
        largest_d: last.0,
        largest_d_l1: last.2.l1,
        max_correlation_any_d: rows.iter().map(|r| r.3).fold(0.0, f64::max),
        mean_correlation_first: rows[0].4,
        mean_correlation_last: last.4,
    };

    // Interpolation between test digits of different classes, judged by
    // the digit classifier: which digit each step is recognised as.
    let clf = models::book_classifier(ctx)?.model.valid();
    let dims: Vec<usize> = section
        .interpolation_dims
        .iter()
        .copied()
        .filter(|d| section.dims.contains(d))
        .collect();
    let pairs = interpolation_pairs(section.interpolation_pairs);
    let first_of = |digit: u8| test.labels.iter().position(|&l| l == digit);
    let steps = section.interpolation_steps;
    let mut grid = Vec::new();
    let mut shown_pairs = Vec::new();
    let (mut col_d, mut col_pair, mut col_first, mut col_endpoint, mut col_other) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &(a, b) in &pairs {
        let (Some(i), Some(j)) = (first_of(a), first_of(b)) else {
            continue;
        };
        shown_pairs.push(format!("{a}→{b}"));
        for &d in &dims {
            let model = sweep_model(d).model.valid();
            let (codes, dim) = model.encode_images(&test.select(&[i, j]).images, device);
            let line = interpolate_codes(&codes[..dim], &codes[dim..], steps);
            let row = model.decode_codes(&line, dim, device);
            let verdicts = classify_digits(&clf, &row, device);
            // First α whose image is recognised as the target digit b.
            let first_b = verdicts
                .iter()
                .position(|&p| p == b)
                .map(|s| s as f64 / (steps - 1) as f64);
            let interior = &verdicts[1..steps - 1];
            let endpoint = interior.iter().filter(|&&p| p == a || p == b).count();
            col_d.push(d as u32);
            col_pair.push(format!("{a}→{b}"));
            col_first.push(first_b);
            col_endpoint.push(endpoint as u32);
            col_other.push((interior.len() - endpoint) as u32);
            grid.push(row);
        }
    }
    out.figures.push(Figure {
        file: "interpolation.png".into(),
        bytes: digit_grid_png(&grid, SIDE, 2)?,
    });
    let interior_total: u32 = col_endpoint.iter().sum::<u32>() + col_other.iter().sum::<u32>();
    let interior_endpoint_share =
        col_endpoint.iter().sum::<u32>() as f64 / interior_total.max(1) as f64;
    out.tables.push(Table::new(
        "interpolation",
        &["d", "pair"],
        vec![
            Column::new("d".into(), col_d),
            Column::new("pair".into(), col_pair),
            Column::new("first_alpha_recognised_as_target".into(), col_first),
            Column::new("interior_recognised_as_an_end".into(), col_endpoint),
            Column::new("interior_recognised_as_other".into(), col_other),
        ],
    )?);
    let interpolation_facts = InterpolationFacts {
        interpolation_interior_endpoint_share: interior_endpoint_share,
        interpolation_interior_images: interior_total,
        interpolation_pairs: shown_pairs,
        interpolation_dims: dims,
        interpolation_steps: steps,
    };

    // The d=2 map: test codes over a classifier fitted on the training codes.
    let d2 = sweep_model(2).model.valid();
    let (train_codes, _) = d2.encode_images(&train.images, device);
    let (test_codes, _) = d2.encode_images(&test.images, device);
    let map_seed = ctx.seed("latent/map-classifier");
    out.seeds.insert("map-classifier".into(), map_seed);
    let spec = map_classifier_spec(ctx, &sweep_model(2).key, map_seed);
    let fitted = ctx.artifacts.load_or_train::<B::InnerBackend, _, _, _>(
        CODE_CLASSIFIER,
        &spec,
        device,
        || CodeClassifier::init(2, spec.training.hidden, device),
        || {
            let f = fit_code_classifier::<B>(
                &train_codes,
                2,
                &spec.train_set.split().labels,
                &spec.training,
                device,
            );
            Ok((f.model, f.standardisation))
        },
    )?;
    let classifier = FittedCodeClassifier {
        model: fitted.model,
        standardisation: fitted.history,
    };
    let map_predictions = classifier.predict(&test_codes, device);
    let map_accuracy = map_predictions
        .iter()
        .zip(&test.labels)
        .filter(|(p, l)| p == l)
        .count() as f64
        / test.len() as f64;
    let shown = section.plot_points.min(test.len());
    let points: Vec<(f64, f64)> = test_codes[..2 * shown]
        .chunks(2)
        .map(|c| (c[0] as f64, c[1] as f64))
        .collect();
    let (x, y) = bounds(&points);
    let r = section.map_resolution;
    let mut cells = Vec::with_capacity(2 * r * r);
    for row in 0..r {
        for col in 0..r {
            cells.push((x.0 + (col as f64 + 0.5) * (x.1 - x.0) / r as f64) as f32);
            cells.push((y.0 + (row as f64 + 0.5) * (y.1 - y.0) / r as f64) as f32);
        }
    }
    let probabilities = classifier.probabilities(&cells, device);
    let (classes, best_p): (Vec<u8>, Vec<f32>) = probabilities
        .chunks(10)
        .map(|p| {
            let c = (0..10).max_by(|&a, &b| p[a].total_cmp(&p[b])).expect("ten");
            (c as u8, p[c])
        })
        .unzip();
    let map = ClassMap {
        x,
        y,
        resolution: r,
        classes,
        probabilities: best_p,
    };
    out.figures.push(Figure {
        file: "latent_map.svg".into(),
        bytes: latent_map_svg(&points, &test.labels[..shown], &map, ("z₁", "z₂"))?.into_bytes(),
    });
    let map_facts = MapFacts {
        map_accuracy,
        map_hidden: MAP_CLASSIFIER.hidden,
        map_epochs: MAP_CLASSIFIER.epochs,
        map_points: shown,
        d2_test_l1: final_test_error(&sweep_model(2).history).l1,
    };

    // Generation: a Gaussian per class in each AE's code space, fitted on
    // the codes it gives the profile's labelled training images.
    let mut sources = vec![("all training images".to_string(), train.len(), book)];
    for ((n, _), a) in small_specs.iter().zip(&small) {
        sources.push((format!("{n} images"), *n, a));
    }
    let real_by_digit: Vec<Vec<Vec<u8>>> = (0..10u8)
        .map(|c| {
            test.labels
                .iter()
                .enumerate()
                .filter(|(_, l)| **l == c)
                .take(section.generated_measured)
                .map(|(i, _)| test.images.image(i).to_vec())
                .collect()
        })
        .collect();
    let mut generations = Vec::new();
    for (label, n, artifact) in sources {
        let model = artifact.model.valid();
        let (codes, dim) = model.encode_images(&train.images, device);
        let mut digits = Vec::new();
        for c in 0..10u8 {
            let mut rng = StdRng::seed_from_u64(ctx.seed(&format!("latent/generate/{n}/{c}")));
            let z = sample_class_gaussian(
                &codes,
                dim,
                &train.labels,
                c,
                section.generated_measured,
                &mut rng,
            );
            let images = model.decode_codes(&z, dim, device);
            let predicted = classify_digits(&clf, &images, device);
            let recognised =
                predicted.iter().filter(|&&p| p == c).count() as f64 / images.len() as f64;
            let diversity = mean_pairwise_distance(&images);
            let real = if real_by_digit[c as usize].len() >= 2 {
                mean_pairwise_distance(&real_by_digit[c as usize])
            } else {
                f64::NAN
            };
            let shown = images.into_iter().take(section.generated_shown).collect();
            digits.push((shown, recognised, diversity, real));
        }
        generations.push(Generation {
            label,
            training_images: n,
            test_l1: final_test_error(&artifact.history).l1,
            digits,
        });
    }
    let generation_facts = generation_outputs(&mut out, &generations)?;

    // Timing (volatile).
    let mut names: Vec<String> = section.dims.iter().map(|d| format!("d={d}")).collect();
    if !book_in_sweep {
        names.push(format!("d={book_d} (book)"));
    }
    names.extend(small_specs.iter().map(|(n, _)| format!("{n} images")));
    let all: Vec<&TrainedAe<B>> = sweep.iter().chain(&small).collect();
    out.tables.push(
        Table::new(
            "timing",
            &["model"],
            vec![
                Column::new("model".into(), names),
                Column::new(
                    "train_seconds".into(),
                    all.iter()
                        .map(|a| a.history.iter().map(|r| r.train_seconds).sum::<f64>())
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "from_cache".into(),
                    all.iter().map(|a| a.cached).collect::<Vec<_>>(),
                ),
            ],
        )?
        .volatile(),
    );

    let profile = &ctx.config.profile;
    out.set_facts(&Facts {
        train_size: train.len(),
        test_size: test.len(),
        gradient_steps: profile.epochs * (train.len() / profile.batch_size).max(1),
        // The small-set AEs' own steps: whole epochs, so at least as many.
        small_gradient_steps: small_specs
            .iter()
            .map(|(n, s)| s.training.epochs * (n / s.training.batch_size).max(1))
            .collect(),
        sweep: sweep_facts,
        interpolation: interpolation_facts,
        map: map_facts,
        generation: generation_facts,
    })?;
    Ok(out)
}

/// Tables, figures and facts of the generation study.
fn generation_outputs(
    out: &mut ChapterOutput,
    generations: &[Generation],
) -> Result<GenerationFacts> {
    let mut col_ae = Vec::new();
    let mut col_n = Vec::new();
    let mut col_digit = Vec::new();
    let mut col_rec = Vec::new();
    let mut col_gen = Vec::new();
    let mut col_real = Vec::new();
    let mut col_ratio = Vec::new();
    let mut summary = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for g in generations {
        for (c, (_, rec, div, real)) in g.digits.iter().enumerate() {
            col_ae.push(g.label.clone());
            col_n.push(g.training_images as u64);
            col_digit.push(c as u32);
            col_rec.push(*rec);
            col_gen.push(*div);
            col_real.push(*real);
            col_ratio.push(div / real);
        }
        let k = g.digits.len() as f64;
        let rec = g.digits.iter().map(|d| d.1).sum::<f64>() / k;
        let ratio = g.digits.iter().map(|d| d.2 / d.3).sum::<f64>() / k;
        summary.0.push(g.label.clone());
        summary.1.push(g.training_images as u64);
        summary.2.push(g.test_l1);
        summary.3.push(rec);
        summary.4.push(ratio);
    }
    out.tables.push(Table::new(
        "generation",
        &["training_images", "digit"],
        vec![
            Column::new("autoencoder".into(), col_ae),
            Column::new("training_images".into(), col_n),
            Column::new("digit".into(), col_digit),
            Column::new("recognised".into(), col_rec),
            Column::new("diversity_generated".into(), col_gen),
            Column::new("diversity_real".into(), col_real),
            Column::new("diversity_ratio".into(), col_ratio),
        ],
    )?);
    let book = &generations[0];
    let focus = FOCUS_DIGITS;
    let worst = (0..10)
        .min_by(|&a, &b| book.digits[a].1.total_cmp(&book.digits[b].1))
        .expect("ten digits");
    let facts = GenerationFacts {
        generated_recognised: summary.3[0],
        generated_diversity_ratio: summary.4[0],
        focus_digits: focus.to_vec(),
        generated_recognised_focus: focus.iter().map(|&c| book.digits[c].1).sum::<f64>()
            / focus.len() as f64,
        worst_generated_digit: worst,
        worst_generated_recognised: book.digits[worst].1,
        generation_sources: generations.iter().map(|g| g.label.clone()).collect(),
    };
    out.tables.push(Table::new(
        "generation_summary",
        &["training_images"],
        vec![
            Column::new("autoencoder".into(), summary.0),
            Column::new("training_images".into(), summary.1),
            Column::new("test_l1".into(), summary.2),
            Column::new("recognised".into(), summary.3),
            Column::new("diversity_ratio".into(), summary.4),
        ],
    )?);

    let rows: Vec<Vec<Vec<u8>>> = book.digits.iter().map(|d| d.0.clone()).collect();
    out.figures.push(Figure {
        file: "generated.png".into(),
        bytes: digit_grid_png(&rows, SIDE, 2)?,
    });
    if generations.len() > 1 {
        let rows: Vec<Vec<Vec<u8>>> = generations
            .iter()
            .flat_map(|g| focus.iter().map(|&c| g.digits[c].0.clone()))
            .collect();
        out.figures.push(Figure {
            file: "generated_small.png".into(),
            bytes: digit_grid_png(&rows, SIDE, 2)?,
        });
    }
    Ok(facts)
}

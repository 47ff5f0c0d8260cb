//! The latent adversary (the exercise's data-augmentation question): from
//! the code of a real test digit, step along the gradient that lowers the
//! digit classifier's probability of the true class until the decoded image
//! is read as another digit. How far the code had to move, in units of its
//! class's code spread, says how much room each autoencoder's code space
//! gives a class — for the AE trained on all images and for every draw of
//! the small sets.

use anyhow::Result;
use burn::module::{AutodiffModule, Module};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use serde::Serialize;

use super::Study;
use super::trained::Trained;
use crate::book::Figure;
use crate::book::table::Table;
use crate::experiment::Ctx;
use crate::experiment::models::TrainedAe;
use crate::ml::stats::{Difference, Estimate, paired_difference};
use crate::nn::autoencoder::Autoencoder;
use crate::nn::batch::read_f32;
use crate::nn::classifier::Classifier;
use crate::nn::conv_ae::SIDE;
use crate::plot::digit_grid_png;

/// Test digits of each class that start a path.
const PER_CLASS: usize = 5;
/// Each step moves the code this far, in units of the class's spread.
const STEP: f64 = 0.05;
/// Paths give up after this many steps (10 spreads).
const MAX_STEPS: usize = 200;
/// Frames of the figure's path, start and flip included.
const FRAMES: usize = 10;

#[derive(Serialize)]
struct AdversaryRow {
    autoencoder: String,
    training_images: usize,
    /// Trainings: the small sets' draws, one for the full AE.
    draws: usize,
    /// Paths started, over all draws.
    digits: usize,
    /// Of those, read right when decoded from their own code.
    read_right: usize,
    flipped: usize,
    /// Euclidean distance of the code from its start at the flip, over the
    /// class's code spread: mean and standard error over flipped digits
    /// (one training) or over the draws' means (a small set); the median
    /// over every flipped path.
    distance: f64,
    distance_se: f64,
    median_distance: f64,
}

/// One AE's paths, summarised for the text.
#[derive(Serialize)]
struct AeFacts {
    label: String,
    training_images: usize,
    draws: usize,
    flipped_share: f64,
    distance: Option<Estimate>,
    median_distance: f64,
}

#[derive(Serialize)]
pub(super) struct AdversaryFacts {
    /// The class of the digit whose paths the figure shows.
    adversary_shown_digit: u8,
    adversary_digits: usize,
    adversary_per_class: usize,
    adversary_step: f64,
    adversary_max_spreads: f64,
    adversary: Vec<AeFacts>,
    /// Each smaller set's distance minus the full AE's: per draw the mean
    /// over the digits both flipped, with a t-interval over the draws (None
    /// with fewer than two draws that share a flipped digit).
    adversary_vs_full: Vec<Option<Difference>>,
}

/// One AE's paths: per digit, the distance at the flip (None: never
/// flipped or never started), and the codes along the way.
struct Paths {
    /// Digits whose own reconstruction the classifier reads right: the
    /// paths that start at all.
    read_right: usize,
    distances: Vec<Option<f64>>,
    /// Per digit, the step at which it was read as another digit.
    flip_step: Vec<Option<usize>>,
    /// Every code after every step (`n × dim` each), the start first.
    steps: Vec<Vec<f32>>,
    dim: usize,
}

/// The digits the paths start from: the first `PER_CLASS` test images of
/// each class.
fn starts<B: AutodiffBackend>(ctx: &Ctx<B>) -> Vec<usize> {
    let labels = &ctx.data.test.labels;
    (0..10u8)
        .flat_map(|c| {
            labels
                .iter()
                .enumerate()
                .filter(move |(_, l)| **l == c)
                .map(|(i, _)| i)
                .take(PER_CLASS)
        })
        .collect()
}

/// Per class, the root mean squared distance of its test codes to their
/// mean: the unit a path's length is measured in.
fn class_spreads(codes: &[f32], dim: usize, labels: &[u8]) -> [f64; 10] {
    let mut spread = [0.0; 10];
    for (c, s) in spread.iter_mut().enumerate() {
        let members: Vec<&[f32]> = labels
            .iter()
            .enumerate()
            .filter(|(_, l)| **l as usize == c)
            .map(|(i, _)| &codes[i * dim..(i + 1) * dim])
            .collect();
        if members.is_empty() {
            continue;
        }
        let n = members.len() as f64;
        let mean: Vec<f64> = (0..dim)
            .map(|j| members.iter().map(|z| z[j] as f64).sum::<f64>() / n)
            .collect();
        let ms = members
            .iter()
            .map(|z| {
                (0..dim)
                    .map(|j| (z[j] as f64 - mean[j]).powi(2))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / n;
        *s = ms.sqrt();
    }
    spread
}

fn paths<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    ae: &TrainedAe<B>,
    clf: &Classifier<B>,
    starts: &[usize],
) -> Paths {
    let device = &ctx.device;
    let test = &ctx.data.test;
    let inner_ae = ae.model.valid();
    let inner_clf = clf.valid();
    let (codes, dim) = inner_ae.encode_images(&test.images, device);
    let spreads = class_spreads(&codes, dim, &test.labels);
    let n = starts.len();
    let labels: Vec<u8> = starts.iter().map(|&i| test.labels[i]).collect();
    let start_codes: Vec<f32> = starts
        .iter()
        .flat_map(|&i| codes[i * dim..(i + 1) * dim].iter().copied())
        .collect();
    let spread: Vec<f32> = labels.iter().map(|&l| spreads[l as usize] as f32).collect();
    let label_tensor = Tensor::<B, 1, Int>::from_data(
        TensorData::new(labels.iter().map(|&l| l as i64).collect(), [n]),
        device,
    );
    let ce = CrossEntropyLossConfig::new().init(device);
    // Only the code is differentiated: copies of the models with untracked
    // parameters keep the walk's graph off the trained models' parameters
    // (a tracked forward pass beside other trainings once made classifier
    // trainings differ between schedules; `train_classifier`'s probe).
    let (walk_clf, walk_decoder) = (clf.clone().no_grad(), ae.model.decoder.clone().no_grad());
    let mut z = start_codes.clone();
    let read = |z: &[f32]| -> Vec<u8> {
        let zt = Tensor::from_data(TensorData::new(z.to_vec(), [n, dim]), device);
        read_f32(
            inner_clf
                .forward(inner_ae.decoder.forward(zt))
                .argmax(1)
                .float(),
        )
        .iter()
        .map(|&p| p as u8)
        .collect()
    };
    // A reconstruction already read as another digit has no path to walk.
    let read_right: Vec<bool> = read(&z).iter().zip(&labels).map(|(p, l)| p == l).collect();
    let mut distances: Vec<Option<f64>> = vec![None; n];
    let mut steps = vec![z.clone()];
    let mut flip_step = vec![None; n];
    let walking = |distances: &[Option<f64>], i: usize| read_right[i] && distances[i].is_none();
    for _ in 0..MAX_STEPS {
        if !(0..n).any(|i| walking(&distances, i)) {
            break;
        }
        let zg =
            Tensor::<B, 2>::from_data(TensorData::new(z.clone(), [n, dim]), device).require_grad();
        let logits = walk_clf.forward(walk_decoder.forward(zg.clone()));
        let grads = ce.forward(logits, label_tensor.clone()).backward();
        let g = read_f32(zg.grad(&grads).expect("the code requires grad"));
        for i in 0..n {
            if !walking(&distances, i) {
                continue;
            }
            let row = &g[i * dim..(i + 1) * dim];
            let norm = row.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
            if norm == 0.0 {
                continue;
            }
            let scale = STEP * spread[i] as f64 / norm;
            for j in 0..dim {
                z[i * dim + j] += (row[j] as f64 * scale) as f32;
            }
        }
        steps.push(z.clone());
        // Read the decoded images as the classifier does.
        let predicted = read(&z);
        for i in 0..n {
            if walking(&distances, i) && predicted[i] != labels[i] {
                let moved = (0..dim)
                    .map(|j| ((z[i * dim + j] - start_codes[i * dim + j]) as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
                distances[i] = Some(moved / spread[i] as f64);
                flip_step[i] = Some(steps.len() - 1);
            }
        }
    }
    Paths {
        read_right: read_right.iter().filter(|&&r| r).count(),
        distances,
        flip_step,
        steps,
        dim,
    }
}

/// One small set's size, and every draw's AE with its paths.
type SetPaths<'a, B> = (usize, Vec<(&'a TrainedAe<B>, Paths)>);

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

pub(super) fn adversary<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    trained: &Trained<B>,
    clf: &Classifier<B>,
) -> Result<Study<AdversaryFacts>> {
    let starts = starts(ctx);
    let full = paths(ctx, trained.book(), clf, &starts);
    // Per small set: every draw's AE and paths.
    let small: Vec<SetPaths<B>> = trained
        .small_sets()
        .into_iter()
        .map(|(n, draws)| {
            let draws = draws
                .into_iter()
                .map(|s| (&s.ae, paths(ctx, &s.ae, clf, &starts)))
                .collect();
            (n, draws)
        })
        .collect();

    let mut rows = Vec::new();
    let mut per_ae = Vec::new();
    // The full AE is one training: its distance's uncertainty is over the
    // digits. A small set's is over its draws, each draw's mean distance
    // one value.
    let flipped_of = |p: &Paths| -> Vec<f64> { p.distances.iter().flatten().copied().collect() };
    let mut add = |label: String, n: usize, sets: &[&Paths]| {
        let pooled: Vec<f64> = sets.iter().flat_map(|p| flipped_of(p)).collect();
        let read_right: usize = sets.iter().map(|p| p.read_right).sum();
        let estimate = if sets.len() == 1 {
            (pooled.len() >= 2).then(|| Estimate::of(&pooled))
        } else {
            let means: Vec<f64> = sets
                .iter()
                .map(|p| flipped_of(p))
                .filter(|f| !f.is_empty())
                .map(|f| f.iter().sum::<f64>() / f.len() as f64)
                .collect();
            (means.len() >= 2).then(|| Estimate::of(&means))
        };
        rows.push(AdversaryRow {
            autoencoder: label.clone(),
            training_images: n,
            draws: sets.len(),
            digits: starts.len() * sets.len(),
            read_right,
            flipped: pooled.len(),
            distance: estimate.map_or(f64::NAN, |e| e.mean),
            distance_se: estimate.map_or(f64::NAN, |e| e.se),
            median_distance: median(&pooled),
        });
        per_ae.push(AeFacts {
            label,
            training_images: n,
            draws: sets.len(),
            flipped_share: pooled.len() as f64 / read_right.max(1) as f64,
            distance: estimate,
            median_distance: median(&pooled),
        });
    };
    add("all training images".into(), ctx.data.train.len(), &[&full]);
    for (n, draws) in &small {
        let sets: Vec<&Paths> = draws.iter().map(|(_, p)| p).collect();
        add(format!("{n} images"), *n, &sets);
    }
    // Per draw, its mean paired difference from the full AE over the digits
    // both flip; the interval is over the draws.
    let vs_full = small
        .iter()
        .map(|(_, draws)| {
            let per_draw: Vec<f64> = draws
                .iter()
                .filter_map(|(_, p)| {
                    let d: Vec<f64> = p
                        .distances
                        .iter()
                        .zip(&full.distances)
                        .filter_map(|(x, y)| Some((*x)? - (*y)?))
                        .collect();
                    (!d.is_empty()).then(|| d.iter().sum::<f64>() / d.len() as f64)
                })
                .collect();
            (per_draw.len() >= 2).then(|| paired_difference(&per_draw, &vec![0.0; per_draw.len()]))
        })
        .collect();

    // The figure shows the first draw of each small set.
    let shown_sets: Vec<(&TrainedAe<B>, &Paths)> = std::iter::once((trained.book(), &full))
        .chain(small.iter().map(|(_, draws)| (draws[0].0, &draws[0].1)))
        .collect();
    // The figure: one digit's path under each AE, start to flip — the
    // first digit every AE reads right and flips.
    let shown = (0..starts.len())
        .find(|&i| shown_sets.iter().all(|(_, p)| p.flip_step[i].is_some()))
        .unwrap_or(0);
    let mut grid = Vec::new();
    for (ae, p) in shown_sets {
        let last = p.flip_step[shown].unwrap_or(p.steps.len() - 1);
        let dim = p.dim;
        let codes: Vec<f32> = (0..FRAMES)
            .map(|k| k * last / (FRAMES - 1))
            .flat_map(|k| p.steps[k][shown * dim..(shown + 1) * dim].to_vec())
            .collect();
        grid.push(ae.model.valid().decode_codes(&codes, dim, &ctx.device));
    }
    Ok(Study {
        tables: vec![Table::from_rows("adversary", &["training_images"], &rows)?],
        figures: vec![Figure {
            file: "adversary-path.png".into(),
            bytes: digit_grid_png(&grid, SIDE, 2)?,
        }],
        facts: AdversaryFacts {
            adversary_shown_digit: ctx.data.test.labels[starts[shown]],
            adversary_digits: starts.len(),
            adversary_per_class: PER_CLASS,
            adversary_step: STEP,
            adversary_max_spreads: STEP * MAX_STEPS as f64,
            adversary: per_ae,
            adversary_vs_full: vs_full,
        },
    })
}

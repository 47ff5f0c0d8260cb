//! Per noise level: the reconstruction errors of the noisy input, the AE
//! and the denoising AE; how the book classifier reads the noisy images and
//! both reconstructions; the figure; and where the denoising AE fails worst.

use std::collections::BTreeMap;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::{Level, level_name};
use crate::book::Figure;
use crate::chapters::denoising::DenoisingSection;
use crate::chapters::{classify_digits, final_test_error};
use crate::data::noise::noisy_images;
use crate::data::{Images, Split};
use crate::experiment::Ctx;
use crate::experiment::models::{self, TrainedAe};
use crate::ml::confusion::confusion_counts;
use crate::ml::stats::{Difference, hits, paired_difference};
use crate::nn::autoencoder::{Autoencoder, evaluate_against, image_error, per_image_l1_against};
use crate::nn::classifier::Classifier;
use crate::nn::conv_ae::{ConvAutoencoder, SIDE};
use crate::plot::digit_grid_png;

/// One (level, method) row of the `denoising` table.
#[derive(Serialize)]
pub(super) struct ErrorRow {
    noise: f64,
    method: &'static str,
    l1: f64,
    mse: f64,
}

/// One (level, input) row of the `recognition` table.
#[derive(Serialize)]
pub(super) struct RecognitionRow {
    noise: f64,
    input: &'static str,
    recognised: f64,
}

/// The classifier's reading of one level's noisy images and of the DAE's
/// reconstructions of them.
pub(super) struct Reading {
    noise: f64,
    noisy: Vec<u8>,
    denoised: Vec<u8>,
}

/// Every level, measured.
pub(super) struct Levels {
    /// Share of the clean test images the classifier reads right.
    pub(super) clean_recognised: f64,
    pub(super) levels: Vec<Level>,
    /// The levels of the smallest and the largest f.
    pub(super) weakest: Level,
    pub(super) strongest: Level,
    pub(super) errors: Vec<ErrorRow>,
    pub(super) recognition: Vec<RecognitionRow>,
    pub(super) by_digit: Vec<DigitRecallRow>,
    pub(super) readings: Vec<Reading>,
    pub(super) figures: Vec<Figure>,
    /// Each level's noise seed.
    pub(super) seeds: BTreeMap<String, u64>,
}

/// How many levels' DAEs reconstruct clean input worse than the plain AE
/// (whose clean test L1 is `ae_clean_l1`).
pub(super) fn dae_clean_worse(levels: &[Level], ae_clean_l1: f64) -> usize {
    levels
        .iter()
        .filter(|l| l.dae_clean_l1 > ae_clean_l1)
        .count()
}

/// What every level is judged with.
struct Judges<'a, B: AutodiffBackend> {
    ae: &'a ConvAutoencoder<B::InnerBackend>,
    /// The digit classifier judges whether a reconstruction is still the
    /// digit it was: where denoising fails, it shows as a wrong digit.
    classifier: Classifier<B::InnerBackend>,
    /// The ten digits 0–9 shown per level: the first test image of each.
    shown: Vec<usize>,
    clean_shown: Vec<Vec<u8>>,
}

/// The share of `predicted` that are the test labels.
fn accuracy(predicted: &[u8], test: &Split) -> f64 {
    predicted
        .iter()
        .zip(&test.labels)
        .filter(|(a, b)| a == b)
        .count() as f64
        / test.len() as f64
}

pub(super) fn study<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    ae: &ConvAutoencoder<B::InnerBackend>,
    daes: &[TrainedAe<B>],
) -> Result<Levels> {
    let test = &ctx.data.test;
    let shown: Vec<usize> = (0..10u8)
        .filter_map(|c| test.labels.iter().position(|&l| l == c))
        .collect();
    let clean_shown = shown
        .iter()
        .map(|&i| test.images.image(i).to_vec())
        .collect();
    let judges = Judges::<B> {
        ae,
        classifier: models::book_classifier(ctx)?.model.valid(),
        shown,
        clean_shown,
    };
    let clean: Vec<Vec<u8>> = (0..test.len())
        .map(|i| test.images.image(i).to_vec())
        .collect();
    let clean_recognised = accuracy(
        &classify_digits(&judges.classifier, &clean, &ctx.device),
        test,
    );
    let (mut levels, mut errors, mut recognition) = (Vec::new(), Vec::new(), Vec::new());
    let mut by_digit = Vec::new();
    let (mut readings, mut figures, mut seeds) = (Vec::new(), Vec::new(), BTreeMap::new());
    let section = &ctx.config.section::<DenoisingSection>();
    for (&f, dae) in section.noise_factors.iter().zip(daes) {
        let one = level(ctx, &judges, f, dae)?;
        seeds.insert(format!("noise-{}", level_name(f)), one.seed);
        errors.extend(one.errors);
        recognition.extend(one.recognition);
        by_digit.extend(one.by_digit);
        levels.push(one.level);
        readings.push(one.reading);
        figures.push(one.figure);
    }
    let by_f = |a: &&Level, b: &&Level| a.f.total_cmp(&b.f);
    Ok(Levels {
        clean_recognised,
        weakest: levels.iter().min_by(by_f).expect("a level").clone(),
        strongest: levels.iter().max_by(by_f).expect("a level").clone(),
        levels,
        errors,
        recognition,
        by_digit,
        readings,
        figures,
        seeds,
    })
}

/// One level, measured.
struct OneLevel {
    seed: u64,
    errors: Vec<ErrorRow>,
    recognition: Vec<RecognitionRow>,
    by_digit: Vec<DigitRecallRow>,
    level: Level,
    reading: Reading,
    figure: Figure,
}

fn level<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    judges: &Judges<B>,
    f: f64,
    dae: &TrainedAe<B>,
) -> Result<OneLevel> {
    let (test, device) = (&ctx.data.test, &ctx.device);
    let seed = ctx.seed(&format!("denoising/noise-{}", level_name(f)));
    let noisy = noisy_images(&test.images, f, seed);
    let dae_model = dae.model.valid();
    let input = image_error(&noisy, &test.images);
    let by_ae = evaluate_against(judges.ae, &noisy, &test.images, device);
    let by_dae = evaluate_against(&dae_model, &noisy, &test.images, device);
    let dae_clean = final_test_error(&dae.history);
    // DAE minus AE, image by image on the same noisy images.
    let dae_vs_ae = paired_difference(
        &per_image_l1_against(&dae_model, &noisy, &test.images, device),
        &per_image_l1_against(judges.ae, &noisy, &test.images, device),
    );
    let errors = [
        ("noisy input", input),
        ("autoencoder", by_ae),
        ("denoising AE", by_dae),
        ("denoising AE, clean input", dae_clean),
    ]
    .into_iter()
    .map(|(method, e)| ErrorRow {
        noise: f,
        method,
        l1: e.l1,
        mse: e.mse,
    })
    .collect();

    let read = read_level(ctx, judges, &noisy, &dae_model);
    let correct = |p: &[u8]| hits(p, &test.labels);
    let (noisy_ok, ae_ok, dae_ok) = (correct(&read.noisy), correct(&read.ae), correct(&read.dae));
    let by_digit = recall_by_digit(f, &test.labels, &read);
    let recognition = [
        ("noisy input", &read.noisy),
        ("autoencoder", &read.ae),
        ("denoising AE", &read.dae),
    ]
    .into_iter()
    .map(|(input, p)| RecognitionRow {
        noise: f,
        input,
        recognised: accuracy(p, test),
    })
    .collect();
    let level = Level {
        f,
        noisy_recognised: accuracy(&read.noisy, test),
        ae_recognised: accuracy(&read.ae, test),
        dae_recognised: accuracy(&read.dae, test),
        noisy_l1: input.l1,
        ae_l1: by_ae.l1,
        dae_l1: by_dae.l1,
        dae_clean_l1: dae_clean.l1,
        dae_vs_ae,
        dae_vs_noisy_recognised: paired_difference(&dae_ok, &noisy_ok),
        dae_vs_ae_recognised: paired_difference(&dae_ok, &ae_ok),
        figure: format!("denoise_{}.png", level_name(f).replace('.', "_")),
    };

    let figure = Figure {
        file: level.figure.clone(),
        bytes: level_grid(ctx, judges, &noisy, &dae_model)?,
    };
    Ok(OneLevel {
        seed,
        errors,
        recognition,
        by_digit,
        level,
        reading: Reading {
            noise: f,
            noisy: read.noisy,
            denoised: read.dae,
        },
        figure,
    })
}

/// One (level, digit) row of `recall_by_digit`: the share of that digit's
/// test images the classifier reads right, noisy and as each AE returns them.
#[derive(Serialize)]
pub(super) struct DigitRecallRow {
    noise: f64,
    digit: u64,
    noisy_input: f64,
    autoencoder: f64,
    denoising_ae: f64,
}

fn recall_by_digit(f: f64, labels: &[u8], read: &Predictions) -> Vec<DigitRecallRow> {
    let [noisy, ae, dae] = [&read.noisy, &read.ae, &read.dae].map(|p| confusion_counts(labels, p));
    (0..10)
        .map(|c| DigitRecallRow {
            noise: f,
            digit: c as u64,
            noisy_input: share(&noisy, c, c),
            autoencoder: share(&ae, c, c),
            denoising_ae: share(&dae, c, c),
        })
        .collect()
}

/// The digits the classifier reads in one level's noisy test images and
/// in the AE's and the DAE's reconstructions of them.
struct Predictions {
    noisy: Vec<u8>,
    ae: Vec<u8>,
    dae: Vec<u8>,
}

fn read_level<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    judges: &Judges<B>,
    noisy: &Images,
    dae: &ConvAutoencoder<B::InnerBackend>,
) -> Predictions {
    let device = &ctx.device;
    let all: Vec<usize> = (0..ctx.data.test.len()).collect();
    let reconstruct_all = |m: &dyn Fn(&[usize]) -> Vec<Vec<u8>>| -> Vec<Vec<u8>> {
        all.chunks(1000).flat_map(m).collect()
    };
    let recognised = |images: Vec<Vec<u8>>| classify_digits(&judges.classifier, &images, device);
    Predictions {
        noisy: recognised(all.iter().map(|&i| noisy.image(i).to_vec()).collect()),
        ae: recognised(reconstruct_all(&|c| {
            judges.ae.reconstruct(noisy, c, device)
        })),
        dae: read_denoised(ctx, &judges.classifier, noisy, dae),
    }
}

/// The digits the classifier reads in `dae`'s reconstructions of every
/// noisy test image.
pub(super) fn read_denoised<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    classifier: &Classifier<B::InnerBackend>,
    noisy: &Images,
    dae: &ConvAutoencoder<B::InnerBackend>,
) -> Vec<u8> {
    let all: Vec<usize> = (0..ctx.data.test.len()).collect();
    let images: Vec<Vec<u8>> = all
        .chunks(1000)
        .flat_map(|c| dae.reconstruct(noisy, c, &ctx.device))
        .collect();
    classify_digits(classifier, &images, &ctx.device)
}

/// The level's figure (PNG): the shown digits clean, noisy, and as the AE
/// and the DAE reconstruct the noisy ones.
fn level_grid<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    judges: &Judges<B>,
    noisy: &Images,
    dae: &ConvAutoencoder<B::InnerBackend>,
) -> Result<Vec<u8>> {
    let device = &ctx.device;
    let noisy_shown: Vec<Vec<u8>> = judges
        .shown
        .iter()
        .map(|&i| noisy.image(i).to_vec())
        .collect();
    let rows = vec![
        judges.clean_shown.clone(),
        noisy_shown,
        judges.ae.reconstruct(noisy, &judges.shown, device),
        dae.reconstruct(noisy, &judges.shown, device),
    ];
    digit_grid_png(&rows, SIDE, 2)
}

/// The worst (level, digit) across every level: the digit whose DAE
/// reconstructions are least often read as that digit.
pub(super) struct Failure {
    pub(super) noise: f64,
    pub(super) digit: usize,
    pub(super) recall: f64,
    /// The same digit's noisy images, as the classifier reads them.
    pub(super) noisy_recall: f64,
    /// The digit it is most often read as instead, and how often.
    pub(super) into: usize,
    pub(super) into_share: f64,
    /// Denoised minus noisy recall of the digit, paired by image.
    pub(super) dae_vs_noisy: Difference,
}

/// Share of digit `c`'s images read as `j`.
fn share(counts: &[[u64; 10]; 10], c: usize, j: usize) -> f64 {
    counts[c][j] as f64 / counts[c].iter().sum::<u64>().max(1) as f64
}

pub(super) fn worst_failure(labels: &[u8], readings: &[Reading]) -> Failure {
    let denoised: Vec<[[u64; 10]; 10]> = readings
        .iter()
        .map(|r| confusion_counts(labels, &r.denoised))
        .collect();
    let recall = |l: usize, c: usize| share(&denoised[l], c, c);
    let (level, digit) = (0..readings.len())
        .flat_map(|l| (0..10).map(move |c| (l, c)))
        .min_by(|&(la, ca), &(lb, cb)| recall(la, ca).total_cmp(&recall(lb, cb)))
        .expect("a level and ten digits");
    let counts = &denoised[level];
    let into = (0..10)
        .filter(|&j| j != digit)
        .max_by_key(|&j| counts[digit][j])
        .expect("nine others");
    let noisy = confusion_counts(labels, &readings[level].noisy);
    let of_digit = |p: &[u8]| -> Vec<f64> {
        hits(p, labels)
            .into_iter()
            .zip(labels)
            .filter(|(_, l)| **l as usize == digit)
            .map(|(h, _)| h)
            .collect()
    };
    Failure {
        dae_vs_noisy: paired_difference(
            &of_digit(&readings[level].denoised),
            &of_digit(&readings[level].noisy),
        ),
        noise: readings[level].noise,
        digit,
        recall: recall(level, digit),
        noisy_recall: share(&noisy, digit, digit),
        into,
        into_share: share(counts, digit, into),
    }
}

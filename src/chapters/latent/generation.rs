//! Generation: a Gaussian per class in each AE's code space (the book AE
//! and the small-set AEs), fitted on the codes it gives the profile's
//! labelled training images; the decoded samples judged by the digit
//! classifier and by their diversity.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use super::Study;
use super::trained::Trained;
use crate::book::Figure;
use crate::book::table::Table;
use crate::chapters::latent::LatentSection;
use crate::chapters::{classify_digits, final_test_error};
use crate::data::Split;
use crate::experiment::Ctx;
use crate::experiment::models::TrainedAe;
use crate::ml::latent::{mean_pairwise_distance, sample_class_gaussian};
use crate::ml::stats::{Difference, Estimate, proportion_difference};
use crate::nn::autoencoder::Autoencoder;
use crate::nn::classifier::Classifier;
use crate::nn::conv_ae::SIDE;
use crate::plot::digit_grid_png;

/// The digits the small-set generation figure shows.
const FOCUS_DIGITS: [usize; 3] = [2, 3, 8];

#[derive(Serialize)]
pub(super) struct GenerationFacts {
    generated_recognised: f64,
    /// The book AE's per-digit diversity ratios over the ten digits: mean,
    /// standard error and 95 % t-interval (whether it is below or above 1).
    generated_diversity: Estimate,
    generated_diversity_low: f64,
    generated_diversity_high: f64,
    /// The same ratios against the AE's reconstructions of those digits.
    diversity_vs_reconstructed: Estimate,
    diversity_vs_reconstructed_low: f64,
    diversity_vs_reconstructed_high: f64,
    focus_digits: Vec<usize>,
    generated_recognised_focus: f64,
    worst_generated_digit: usize,
    worst_generated_recognised: f64,
    generation_sources: Vec<String>,
    /// Per smaller training set, in order: its share of recognised digits
    /// minus the full set's, as independent samples.
    recognised_vs_full: Vec<Difference>,
}

/// Generated digits of one AE, and how they measure up.
struct Generation {
    label: String,
    training_images: usize,
    test_l1: f64,
    /// One per digit 0–9.
    digits: Vec<GeneratedDigit>,
}

/// The samples of one digit's Gaussian.
struct GeneratedDigit {
    samples: usize,
    /// The first few, for the figures.
    shown: Vec<Vec<u8>>,
    /// Share the classifier reads as the digit.
    recognised: f64,
    /// Mean pairwise distance of the samples, of as many real test images
    /// of the digit, and of this AE's reconstructions of those (NaN with
    /// fewer than two): decoded images are smoother than real ones, so the
    /// reconstructions are the like-for-like reference.
    diversity_generated: f64,
    diversity_real: f64,
    diversity_reconstructed: f64,
}

#[derive(Serialize)]
struct GenerationRow {
    autoencoder: String,
    training_images: usize,
    digit: usize,
    recognised: f64,
    diversity_generated: f64,
    diversity_real: f64,
    diversity_reconstructed: f64,
    diversity_ratio: f64,
    diversity_vs_reconstructed: f64,
}

/// A row of `generation_summary`: one AE, its digits' means.
#[derive(Serialize)]
struct SummaryRow {
    autoencoder: String,
    training_images: usize,
    test_l1: f64,
    recognised: f64,
    diversity_ratio: f64,
    diversity_vs_reconstructed: f64,
}

pub(super) fn generation<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    trained: &Trained<B>,
    clf: &Classifier<B::InnerBackend>,
) -> Result<Study<GenerationFacts>> {
    let train = &ctx.data.train;
    // Each AE's Gaussians are fitted on the codes of its own training
    // images: a small setting has no other labelled images to fit them on.
    let mut sources = vec![(
        "all training images".to_string(),
        train.len(),
        trained.book(),
        train.clone(),
    )];
    for s in &trained.small {
        let own = train.balanced(s.n / 10)?;
        sources.push((format!("{} images", s.n), s.n, &s.ae, own.into()));
    }
    let real = real_by_digit(ctx);
    let generations: Vec<Generation> = sources
        .into_iter()
        .map(|(label, n, ae, fit)| generate(ctx, clf, &real, label, n, ae, &fit))
        .collect();
    outputs(&generations)
}

/// Per digit, the indices of its first `generated_measured` test images.
fn real_by_digit<B: AutodiffBackend>(ctx: &Ctx<B>) -> Vec<Vec<usize>> {
    let test = &ctx.data.test;
    (0..10u8)
        .map(|c| {
            test.labels
                .iter()
                .enumerate()
                .filter(|(_, l)| **l == c)
                .take(ctx.config.section::<LatentSection>().generated_measured)
                .map(|(i, _)| i)
                .collect()
        })
        .collect()
}

/// Samples each digit's Gaussian, fitted on the codes of `fit` in
/// `artifact`'s code space (seeded by `n`, the AE's training images, and
/// the digit), and measures the decoded images.
fn generate<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    clf: &Classifier<B::InnerBackend>,
    real_by_digit: &[Vec<usize>],
    label: String,
    n: usize,
    artifact: &TrainedAe<B>,
    fit: &Split,
) -> Generation {
    let section = &ctx.config.section::<LatentSection>();
    let device = &ctx.device;
    let model = artifact.model.valid();
    let (codes, dim) = model.encode_images(&fit.images, device);
    let mut digits = Vec::new();
    for c in 0..10u8 {
        let mut rng = StdRng::seed_from_u64(ctx.seed(&format!("latent/generate/{n}/{c}")));
        let z = sample_class_gaussian(
            &codes,
            dim,
            &fit.labels,
            c,
            section.generated_measured,
            &mut rng,
        );
        let images = model.decode_codes(&z, dim, device);
        let predicted = classify_digits(clf, &images, device);
        let recognised = predicted.iter().filter(|&&p| p == c).count() as f64 / images.len() as f64;
        let diversity_generated = mean_pairwise_distance(&images);
        let real = &real_by_digit[c as usize];
        let test = &ctx.data.test.images;
        let (diversity_real, diversity_reconstructed) = if real.len() >= 2 {
            let originals: Vec<Vec<u8>> = real.iter().map(|&i| test.image(i).to_vec()).collect();
            (
                mean_pairwise_distance(&originals),
                mean_pairwise_distance(&model.reconstruct(test, real, device)),
            )
        } else {
            (f64::NAN, f64::NAN)
        };
        digits.push(GeneratedDigit {
            samples: images.len(),
            shown: images.into_iter().take(section.generated_shown).collect(),
            recognised,
            diversity_generated,
            diversity_real,
            diversity_reconstructed,
        });
    }
    Generation {
        label,
        training_images: n,
        test_l1: final_test_error(&artifact.history).l1,
        digits,
    }
}

/// Tables, figures and facts of the generation study (the first
/// generation is the book AE's).
fn outputs(generations: &[Generation]) -> Result<Study<GenerationFacts>> {
    let mut rows = Vec::new();
    let mut summary = Vec::new();
    for g in generations {
        for (c, d) in g.digits.iter().enumerate() {
            rows.push(GenerationRow {
                autoencoder: g.label.clone(),
                training_images: g.training_images,
                digit: c,
                recognised: d.recognised,
                diversity_generated: d.diversity_generated,
                diversity_real: d.diversity_real,
                diversity_reconstructed: d.diversity_reconstructed,
                diversity_ratio: d.diversity_generated / d.diversity_real,
                diversity_vs_reconstructed: d.diversity_generated / d.diversity_reconstructed,
            });
        }
        let k = g.digits.len() as f64;
        let mean_over = |f: fn(&GeneratedDigit) -> f64| g.digits.iter().map(f).sum::<f64>() / k;
        summary.push(SummaryRow {
            autoencoder: g.label.clone(),
            training_images: g.training_images,
            test_l1: g.test_l1,
            recognised: g.digits.iter().map(|d| d.recognised).sum::<f64>() / k,
            diversity_ratio: mean_over(|d| d.diversity_generated / d.diversity_real),
            diversity_vs_reconstructed: mean_over(|d| {
                d.diversity_generated / d.diversity_reconstructed
            }),
        });
    }
    let book = &generations[0];
    let focus = FOCUS_DIGITS;
    let recognised = |c: usize| book.digits[c].recognised;
    let worst = (0..10)
        .min_by(|&a, &b| recognised(a).total_cmp(&recognised(b)))
        .expect("ten digits");
    let recognised_of = |g: &Generation| {
        let n: usize = g.digits.iter().map(|d| d.samples).sum();
        let hits: f64 = g
            .digits
            .iter()
            .map(|d| d.recognised * d.samples as f64)
            .sum();
        (hits / n as f64, n)
    };
    let (p_full, n_full) = recognised_of(book);
    let recognised_vs_full = generations[1..]
        .iter()
        .map(|g| {
            let (p, n) = recognised_of(g);
            proportion_difference(p, n, p_full, n_full)
        })
        .collect();
    let ratios = |reference: fn(&GeneratedDigit) -> f64| -> Result<Estimate> {
        let r: Vec<f64> = book
            .digits
            .iter()
            .map(|d| d.diversity_generated / reference(d))
            .filter(|r| r.is_finite())
            .collect();
        anyhow::ensure!(
            r.len() >= 2,
            "only {} digits have two real test images to measure diversity against",
            r.len()
        );
        Ok(Estimate::of(&r))
    };
    let generated_diversity = ratios(|d| d.diversity_real)?;
    let half = generated_diversity.half_width();
    let vs_reconstructed = ratios(|d| d.diversity_reconstructed)?;
    let half_reconstructed = vs_reconstructed.half_width();
    let facts = GenerationFacts {
        generated_diversity,
        generated_diversity_low: generated_diversity.mean - half,
        generated_diversity_high: generated_diversity.mean + half,
        diversity_vs_reconstructed: vs_reconstructed,
        diversity_vs_reconstructed_low: vs_reconstructed.mean - half_reconstructed,
        diversity_vs_reconstructed_high: vs_reconstructed.mean + half_reconstructed,
        recognised_vs_full,
        generated_recognised: summary[0].recognised,
        focus_digits: focus.to_vec(),
        generated_recognised_focus: focus.iter().map(|&c| recognised(c)).sum::<f64>()
            / focus.len() as f64,
        worst_generated_digit: worst,
        worst_generated_recognised: recognised(worst),
        generation_sources: generations.iter().map(|g| g.label.clone()).collect(),
    };
    let tables = vec![
        Table::from_rows("generation", &["training_images", "digit"], &rows)?,
        Table::from_rows("generation_summary", &["training_images"], &summary)?,
    ];

    let grid: Vec<Vec<Vec<u8>>> = book.digits.iter().map(|d| d.shown.clone()).collect();
    let mut figures = vec![Figure {
        file: "generated.png".into(),
        bytes: digit_grid_png(&grid, SIDE, 2)?,
    }];
    if generations.len() > 1 {
        let grid: Vec<Vec<Vec<u8>>> = generations
            .iter()
            .flat_map(|g| focus.iter().map(|&c| g.digits[c].shown.clone()))
            .collect();
        figures.push(Figure {
            file: "generated_small.png".into(),
            bytes: digit_grid_png(&grid, SIDE, 2)?,
        });
    }
    Ok(Study {
        tables,
        figures,
        facts,
    })
}

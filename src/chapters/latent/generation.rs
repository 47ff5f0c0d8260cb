//! Generation: a Gaussian per class in each AE's code space (the book AE
//! and every draw of the small-set AEs), fitted on the codes it gives its
//! own labelled training images; the decoded samples judged by the digit
//! classifier and by their diversity. A small set's numbers are means over
//! its draws.

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
use crate::ml::stats::{Difference, Estimate, paired_difference};
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
    /// Per smaller training set, in order: its draws' test L1 and share of
    /// recognised digits, over the draws.
    small_sets: Vec<SmallSetFacts>,
    /// Per smaller training set, in order: each draw's share of recognised
    /// digits minus the full set's, with a t-interval over the draws (the
    /// full AE is one training).
    recognised_vs_full: Vec<Difference>,
}

#[derive(Serialize)]
struct SmallSetFacts {
    training_images: usize,
    draws: usize,
    test_l1: Estimate,
    recognised: Estimate,
}

/// Generated digits of one AE, and how they measure up.
struct Generation {
    label: String,
    training_images: usize,
    /// The small set's draw; None for the book AE.
    draw: Option<usize>,
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

/// A row of `generation`: one AE's digit, means over its draws.
#[derive(Serialize)]
struct GenerationRow {
    autoencoder: String,
    training_images: usize,
    draws: usize,
    digit: usize,
    recognised: f64,
    diversity_generated: f64,
    diversity_real: f64,
    diversity_reconstructed: f64,
    diversity_ratio: f64,
    diversity_vs_reconstructed: f64,
}

/// A row of `generation_summary`: one AE, its digits' means (and its
/// draws' means); of `generation_draws`: one draw of a small set.
#[derive(Serialize)]
struct SummaryRow {
    autoencoder: String,
    training_images: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    draws: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    draw: Option<usize>,
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
    let real = real_by_digit(ctx);
    let mut generations = vec![generate(
        ctx,
        clf,
        &real,
        ("all training images".into(), train.len(), None),
        trained.book(),
        train,
    )];
    for s in &trained.small {
        generations.push(generate(
            ctx,
            clf,
            &real,
            (format!("{} images", s.n), s.n, Some(s.draw)),
            &s.ae,
            s.spec.train_set.split(),
        ));
    }
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
/// `artifact`'s code space (seeded by `n`, the AE's training images, its
/// draw and the digit), and measures the decoded images.
fn generate<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    clf: &Classifier<B::InnerBackend>,
    real_by_digit: &[Vec<usize>],
    (label, n, draw): (String, usize, Option<usize>),
    artifact: &TrainedAe<B>,
    fit: &Split,
) -> Generation {
    let section = &ctx.config.section::<LatentSection>();
    let device = &ctx.device;
    let model = artifact.model.valid();
    let (codes, dim) = model.encode_images(&fit.images, device);
    let mut digits = Vec::new();
    for c in 0..10u8 {
        let name = match draw {
            None => format!("latent/generate/{n}/{c}"),
            Some(r) => format!("latent/generate/{n}/{r}/{c}"),
        };
        let mut rng = StdRng::seed_from_u64(ctx.seed(&name));
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
        draw,
        test_l1: final_test_error(&artifact.history).l1,
        digits,
    }
}

/// The generations of one AE, or of every draw of one small set.
fn groups(generations: &[Generation]) -> Vec<&[Generation]> {
    generations
        .chunk_by(|a, b| a.training_images == b.training_images)
        .collect()
}

/// Share of a generation's digits the classifier recognises, and how many.
fn recognised_of(g: &Generation) -> (f64, usize) {
    let n: usize = g.digits.iter().map(|d| d.samples).sum();
    let hits: f64 = g
        .digits
        .iter()
        .map(|d| d.recognised * d.samples as f64)
        .sum();
    (hits / n as f64, n)
}

fn summary_row(g: &Generation) -> SummaryRow {
    let k = g.digits.len() as f64;
    let mean_over = |f: &dyn Fn(&GeneratedDigit) -> f64| g.digits.iter().map(f).sum::<f64>() / k;
    SummaryRow {
        autoencoder: g.label.clone(),
        training_images: g.training_images,
        draws: None,
        draw: g.draw,
        test_l1: g.test_l1,
        recognised: mean_over(&|d| d.recognised),
        diversity_ratio: mean_over(&|d| d.diversity_generated / d.diversity_real),
        diversity_vs_reconstructed: mean_over(&|d| {
            d.diversity_generated / d.diversity_reconstructed
        }),
    }
}

/// Tables, figures and facts of the generation study (the first
/// generation is the book AE's, then each small set's draws in order).
fn outputs(generations: &[Generation]) -> Result<Study<GenerationFacts>> {
    let groups = groups(generations);
    let mean = |xs: &mut dyn Iterator<Item = f64>| {
        let v: Vec<f64> = xs.collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let mut rows = Vec::new();
    let mut summary = Vec::new();
    let mut draw_rows = Vec::new();
    for group in &groups {
        let first = &group[0];
        for c in 0..first.digits.len() {
            let of = |f: &dyn Fn(&GeneratedDigit) -> f64| {
                mean(&mut group.iter().map(|g| f(&g.digits[c])))
            };
            rows.push(GenerationRow {
                autoencoder: first.label.clone(),
                training_images: first.training_images,
                draws: group.len(),
                digit: c,
                recognised: of(&|d| d.recognised),
                diversity_generated: of(&|d| d.diversity_generated),
                diversity_real: of(&|d| d.diversity_real),
                diversity_reconstructed: of(&|d| d.diversity_reconstructed),
                diversity_ratio: of(&|d| d.diversity_generated / d.diversity_real),
                diversity_vs_reconstructed: of(&|d| {
                    d.diversity_generated / d.diversity_reconstructed
                }),
            });
        }
        let per_draw: Vec<SummaryRow> = group.iter().map(summary_row).collect();
        let of = |f: fn(&SummaryRow) -> f64| mean(&mut per_draw.iter().map(f));
        summary.push(SummaryRow {
            autoencoder: first.label.clone(),
            training_images: first.training_images,
            draws: Some(group.len()),
            draw: None,
            test_l1: of(|r| r.test_l1),
            recognised: of(|r| r.recognised),
            diversity_ratio: of(|r| r.diversity_ratio),
            diversity_vs_reconstructed: of(|r| r.diversity_vs_reconstructed),
        });
        if first.draw.is_some() {
            draw_rows.extend(per_draw);
        }
    }
    let book = &generations[0];
    let focus = FOCUS_DIGITS;
    let recognised = |c: usize| book.digits[c].recognised;
    let worst = (0..10)
        .min_by(|&a, &b| recognised(a).total_cmp(&recognised(b)))
        .expect("ten digits");
    let (p_full, _) = recognised_of(book);
    let small = &groups[1..];
    let recognised_vs_full = small
        .iter()
        .map(|group| {
            let shares: Vec<f64> = group.iter().map(|g| recognised_of(g).0).collect();
            paired_difference(&shares, &vec![p_full; shares.len()])
        })
        .collect();
    let small_sets = small
        .iter()
        .map(|group| SmallSetFacts {
            training_images: group[0].training_images,
            draws: group.len(),
            test_l1: Estimate::of(&group.iter().map(|g| g.test_l1).collect::<Vec<_>>()),
            recognised: Estimate::of(&group.iter().map(|g| recognised_of(g).0).collect::<Vec<_>>()),
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
            "only {} classes have two real test images to measure diversity against",
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
        small_sets,
        recognised_vs_full,
        generated_recognised: summary[0].recognised,
        focus_digits: focus.to_vec(),
        generated_recognised_focus: focus.iter().map(|&c| recognised(c)).sum::<f64>()
            / focus.len() as f64,
        worst_generated_digit: worst,
        worst_generated_recognised: recognised(worst),
        generation_sources: groups.iter().map(|g| g[0].label.clone()).collect(),
    };
    let mut tables = vec![
        Table::from_rows("generation", &["training_images", "digit"], &rows)?,
        Table::from_rows("generation_summary", &["training_images"], &summary)?,
    ];
    if !draw_rows.is_empty() {
        tables.push(Table::from_rows(
            "generation_draws",
            &["training_images", "draw"],
            &draw_rows,
        )?);
    }

    let grid: Vec<Vec<Vec<u8>>> = book.digits.iter().map(|d| d.shown.clone()).collect();
    let mut figures = vec![Figure {
        file: "generated.png".into(),
        bytes: digit_grid_png(&grid, SIDE, 2)?,
    }];
    if groups.len() > 1 {
        // The first draw of each small set.
        let grid: Vec<Vec<Vec<u8>>> = groups
            .iter()
            .map(|g| &g[0])
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

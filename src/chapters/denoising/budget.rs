//! Is the strongest level's failure under-training? Its DAE is trained
//! again for multiples of the book's epochs, everything else as its spec
//! (seed, batches, warm-up, noise), and read on the same noisy test images
//! as the level itself, so every comparison is paired by image.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::{DenoisingSection, dae_spec, level_name, levels};
use crate::chapters::final_test_error;
use crate::data::noise::noisy_images;
use crate::experiment::Ctx;
use crate::experiment::models::{self, AutoencoderSpec, TrainedAe};
use crate::ml::confusion::confusion_counts;
use crate::ml::stats::{Difference, hits, paired_difference};
use crate::nn::autoencoder::evaluate_against;
use crate::nn::conv_ae::ConvAutoencoderConfig;

/// The level whose DAE is trained longer: the strongest noise.
pub(super) fn budget_level(section: &DenoisingSection) -> f64 {
    section
        .noise_factors
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .expect("at least one level")
}

/// The longer-trained DAE's plan entry.
pub(super) fn model_name(f: f64, multiple: usize) -> String {
    format!("denoising/f{f}/x{multiple}")
}

/// The level-`f` DAE's spec with `multiple` times its epochs.
pub(super) fn spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    f: f64,
    multiple: usize,
) -> AutoencoderSpec<ConvAutoencoderConfig> {
    let mut spec = dae_spec(ctx, f);
    spec.training.epochs *= multiple;
    models::evaluated_at_end(spec)
}

/// One budget, measured on the level's noisy test images.
#[derive(Serialize)]
pub(super) struct BudgetRow {
    multiple: u64,
    epochs: u64,
    /// Test L1 of the DAE's reconstructions of the noisy images, and of
    /// clean input.
    dae_l1: f64,
    clean_l1: f64,
    recognised: f64,
    /// Recall of the digit the book-budget DAE loses most at this level.
    tracked_digit_recall: f64,
    /// The digit this budget's DAE loses most, and its recall.
    worst_digit: u64,
    worst_recall: f64,
}

#[derive(Serialize)]
pub(super) struct BudgetFacts {
    noise: f64,
    /// The digit the book-budget DAE loses most at this level.
    tracked_digit: usize,
    pub(super) rows: Vec<BudgetRow>,
    /// Per longer budget: its DAE minus the book-budget DAE, paired by
    /// image — over all test images, and over the tracked digit's.
    recognised_vs_book: Vec<Difference>,
    tracked_vs_book: Vec<Difference>,
}

/// `trained[0]` is the level's book-budget DAE, the rest its longer
/// trainings in the section's order of multiples.
pub(super) fn study<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    f: f64,
    trained: &[&TrainedAe<B>],
) -> Result<BudgetFacts> {
    let section = &ctx.config.section::<DenoisingSection>();
    let (test, device) = (&ctx.data.test, &ctx.device);
    let noisy = noisy_images(
        &test.images,
        f,
        ctx.seed(&format!("denoising/noise-{}", level_name(f))),
    );
    let classifier = models::book_classifier(ctx)?.model.valid();
    let multiples: Vec<usize> = std::iter::once(1)
        .chain(section.budget_multiples.iter().copied())
        .collect();
    // Per budget: every test image read right or not, and each digit's recall.
    let mut correct = Vec::new();
    let mut recalls = Vec::new();
    for dae in trained {
        let read = levels::read_denoised(ctx, &classifier, &noisy, &dae.model.valid());
        let counts = confusion_counts(&test.labels, &read);
        let recall: Vec<f64> = (0..10)
            .map(|c| counts[c][c] as f64 / counts[c].iter().sum::<u64>().max(1) as f64)
            .collect();
        recalls.push(recall);
        correct.push(hits(&read, &test.labels));
    }
    let worst = |recall: &[f64]| {
        (0..10)
            .min_by(|&a, &b| recall[a].total_cmp(&recall[b]))
            .expect("ten digits")
    };
    let tracked = worst(&recalls[0]);
    let of_tracked = |h: &[f64]| -> Vec<f64> {
        h.iter()
            .zip(&test.labels)
            .filter(|(_, l)| **l as usize == tracked)
            .map(|(x, _)| *x)
            .collect()
    };
    let recognised_vs_book = correct[1..]
        .iter()
        .map(|h| paired_difference(h, &correct[0]))
        .collect();
    let tracked_vs_book = correct[1..]
        .iter()
        .map(|h| paired_difference(&of_tracked(h), &of_tracked(&correct[0])))
        .collect();
    let rows = multiples
        .iter()
        .zip(trained)
        .zip(correct.iter().zip(&recalls))
        .map(|((&multiple, dae), (h, recall))| {
            let w = worst(recall);
            BudgetRow {
                multiple: multiple as u64,
                epochs: spec(ctx, f, multiple).training.epochs as u64,
                dae_l1: evaluate_against(&dae.model.valid(), &noisy, &test.images, device).l1,
                clean_l1: final_test_error(&dae.history).l1,
                recognised: h.iter().sum::<f64>() / h.len() as f64,
                tracked_digit_recall: recall[tracked],
                worst_digit: w as u64,
                worst_recall: recall[w],
            }
        })
        .collect();
    Ok(BudgetFacts {
        noise: f,
        tracked_digit: tracked,
        rows,
        recognised_vs_book,
        tracked_vs_book,
    })
}

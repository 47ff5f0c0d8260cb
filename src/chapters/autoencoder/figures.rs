//! The chapter's figures: the learning curves and the reconstructions;
//! and where L1's pixel-wise optimum is black.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;

use super::trained::Trained;
use crate::book::Figure;
use crate::data::Split;
use crate::experiment::Ctx;
use crate::experiment::sections::AutoencoderSection;
use crate::nn::autoencoder::Autoencoder;
use crate::nn::conv_ae::SIDE;
use crate::nn::train::EpochRecord;
use crate::plot::{LineChart, Series, digit_grid_png};

/// Test (and the main model's training) L1 per epoch, with the all-black
/// image's test L1 (`black_l1`) as a reference line.
pub(super) fn loss_curves<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    t: &Trained<B>,
    black_l1: f64,
) -> Result<Figure> {
    let epochs = |h: &[EpochRecord], f: fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
        h.iter().map(|r| (r.epoch as f64, f(r))).collect()
    };
    let mut chart = LineChart::new("epoch", "mean L1 per pixel")
        .integer_x(true)
        .series(Series::new(
            "train (warm-up)",
            epochs(&t.main.history, |r| r.train_l1),
        ))
        .series(Series::new(
            "test (warm-up)",
            epochs(&t.main.history, |r| r.test_l1),
        ))
        .series(Series::new(
            "test (fully connected)",
            epochs(&t.mlp.history, |r| r.test_l1),
        ));
    if let Some(c) = &t.control {
        chart = chart.series(Series::new(
            "test (plain L1)",
            epochs(&c.history, |r| r.test_l1),
        ));
    }
    let chart = chart.series(Series::reference(
        "all-black image",
        black_l1,
        1.0,
        ctx.config.profile.epochs as f64,
    ));
    Ok(Figure {
        file: "loss.svg".into(),
        bytes: chart.to_svg()?.into_bytes(),
    })
}

/// The reconstructions figure and how many test digits it shows.
pub(super) struct Reconstructions {
    pub figure: Figure,
    pub digits: usize,
}

/// The first test digits, then each model's reconstruction of them (the
/// main model, the fully connected one, the control).
pub(super) fn reconstructions<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    t: &Trained<B>,
) -> Result<Reconstructions> {
    let (test_set, device) = (&ctx.data.test, &ctx.device);
    let n = ctx
        .config
        .section::<AutoencoderSection>()
        .grid_digits
        .min(test_set.len());
    let indices: Vec<usize> = (0..n).collect();
    let mut rows = vec![
        indices
            .iter()
            .map(|&i| test_set.images.image(i).to_vec())
            .collect(),
        t.main
            .model
            .valid()
            .reconstruct(&test_set.images, &indices, device),
        t.mlp
            .model
            .valid()
            .reconstruct(&test_set.images, &indices, device),
    ];
    if let Some(c) = &t.control {
        rows.push(
            c.model
                .valid()
                .reconstruct(&test_set.images, &indices, device),
        );
    }
    Ok(Reconstructions {
        figure: Figure {
            file: "reconstructions.png".into(),
            bytes: digit_grid_png(&rows, SIDE, 2)?,
        },
        digits: n,
    })
}

/// Share of pixel positions whose training-set median is black: where
/// L1's pixel-wise optimum is the all-black output.
pub(super) fn median_black_fraction(train_set: &Split) -> f64 {
    let per_image = train_set.images.pixels_per_image();
    let mut zeros = vec![0usize; per_image];
    for i in 0..train_set.len() {
        for (z, &p) in zeros.iter_mut().zip(train_set.images.image(i)) {
            *z += usize::from(p == 0);
        }
    }
    let median_black = zeros.iter().filter(|&&z| 2 * z > train_set.len()).count();
    median_black as f64 / per_image as f64
}

//! Interpolation between test digits of different classes, judged by the
//! digit classifier: which digit each step is recognised as.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::Study;
use super::trained::Trained;
use crate::book::Figure;
use crate::book::table::Table;
use crate::chapters::classify_digits;
use crate::chapters::latent::LatentSection;
use crate::experiment::Ctx;
use crate::ml::latent::interpolate_codes;
use crate::nn::autoencoder::Autoencoder;
use crate::nn::classifier::Classifier;
use crate::nn::conv_ae::SIDE;
use crate::plot::digit_grid_png;

#[derive(Serialize)]
pub(super) struct InterpolationFacts {
    interpolation_interior_endpoint_share: f64,
    interpolation_interior_images: u32,
    interpolation_pairs: Vec<String>,
    interpolation_dims: Vec<usize>,
    interpolation_steps: usize,
}

/// One line of codes, from a test digit `a` to one `b`, through an AE's
/// code space of size `d`.
#[derive(Serialize)]
struct InterpolationRow {
    d: usize,
    pair: String,
    /// First α whose image is recognised as the target digit b.
    first_alpha_recognised_as_target: Option<f64>,
    interior_recognised_as_an_end: u32,
    interior_recognised_as_other: u32,
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

/// The interpolated digits, a row per pair and d (pairs whose digits the
/// test set lacks are skipped), and how the classifier reads each step.
pub(super) fn interpolation<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    trained: &Trained<B>,
    clf: &Classifier<B::InnerBackend>,
) -> Result<Study<InterpolationFacts>> {
    let section = &ctx.config.section::<LatentSection>();
    let (test, device) = (&ctx.data.test, &ctx.device);
    let dims: Vec<usize> = section
        .interpolation_dims
        .iter()
        .copied()
        .filter(|d| section.dims.contains(d))
        .collect();
    let first_of = |digit: u8| test.labels.iter().position(|&l| l == digit);
    let steps = section.interpolation_steps;
    let mut grid = Vec::new();
    let mut shown_pairs = Vec::new();
    let mut rows = Vec::new();
    for (a, b) in interpolation_pairs(section.interpolation_pairs) {
        let (Some(i), Some(j)) = (first_of(a), first_of(b)) else {
            continue;
        };
        let entry = &ctx.data.entry;
        let pair = format!(
            "{}→{}",
            entry.class_name(a as usize),
            entry.class_name(b as usize)
        );
        shown_pairs.push(pair.clone());
        for &d in &dims {
            let model = trained.at(d).model.valid();
            let (codes, dim) = model.encode_images(&test.select(&[i, j]).images, device);
            let line = interpolate_codes(&codes[..dim], &codes[dim..], steps);
            let row = model.decode_codes(&line, dim, device);
            let verdicts = classify_digits(clf, &row, device);
            let interior = &verdicts[1..steps - 1];
            let endpoint = interior.iter().filter(|&&p| p == a || p == b).count();
            rows.push(InterpolationRow {
                d,
                pair: pair.clone(),
                first_alpha_recognised_as_target: verdicts
                    .iter()
                    .position(|&p| p == b)
                    .map(|s| s as f64 / (steps - 1) as f64),
                interior_recognised_as_an_end: endpoint as u32,
                interior_recognised_as_other: (interior.len() - endpoint) as u32,
            });
            grid.push(row);
        }
    }
    // (An empty grid is an error before the table is.)
    let figure = Figure {
        file: "interpolation.png".into(),
        bytes: digit_grid_png(&grid, SIDE, 2)?,
    };
    let endpoint_total: u32 = rows.iter().map(|r| r.interior_recognised_as_an_end).sum();
    let other_total: u32 = rows.iter().map(|r| r.interior_recognised_as_other).sum();
    let interior_total = endpoint_total + other_total;
    let facts = InterpolationFacts {
        interpolation_interior_endpoint_share: endpoint_total as f64 / interior_total.max(1) as f64,
        interpolation_interior_images: interior_total,
        interpolation_pairs: shown_pairs,
        interpolation_dims: dims,
        interpolation_steps: steps,
    };
    Ok(Study {
        tables: vec![Table::from_rows("interpolation", &["d", "pair"], &rows)?],
        figures: vec![figure],
        facts,
    })
}

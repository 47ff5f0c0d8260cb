//! Barnes-Hut t-SNE (linfa-tsne) of latent codes to 2-D. Never on raw
//! pixels: bhtsne overflows its stack on 784-d input (docs/facts.md, "Library pitfalls").

use anyhow::{Result, anyhow, ensure};
use linfa::traits::Transformer;
use linfa_tsne::TSneParams;
use ndarray::Array2;
use ndarray_rand::rand::SeedableRng;
use ndarray_rand::rand::rngs::StdRng;

use crate::runtime::scheduler;
use crate::runtime::timing::Phase;

/// Embeds `points` (n × dim, row-major) in 2-D. Deterministic for a seed.
pub fn tsne_2d(
    points: &[f32],
    dim: usize,
    perplexity: f64,
    iterations: usize,
    seed: u64,
) -> Result<Vec<(f64, f64)>> {
    ensure!(
        dim <= 100,
        "t-SNE runs on low-dimensional codes, got {dim} dimensions"
    );
    let n = points.len() / dim;
    let data = Array2::from_shape_vec((n, dim), points.iter().map(|&v| v as f64).collect())?;
    // A slot of the book's scheduler: t-SNE is as heavy as a training.
    let out = scheduler::in_slot(Phase::ClassicMl, || {
        TSneParams::embedding_size_with_rng(2, StdRng::seed_from_u64(seed))
            .perplexity(perplexity)
            .approx_threshold(0.5)
            .max_iter(iterations)
            .transform(data)
            .map_err(|e| anyhow!("t-SNE failed: {e}"))
    })?;
    Ok(out.rows().into_iter().map(|r| (r[0], r[1])).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same points and seed give the same embedding, bit for bit, even
    /// with tied neighbours (bhtsne's vantage-point tree once drew its
    /// vantage points unseeded; vendor/README.md).
    #[test]
    fn the_same_points_and_seed_give_the_same_embedding() {
        // Three clusters of 40 points in 5-d, each point twice (ties).
        let points: Vec<f32> = (0..120)
            .flat_map(|i| {
                let (cluster, j) = ((i / 2) % 3, (i / 2) as f32);
                (0..5).map(move |d| cluster as f32 * 4.0 + ((j * 0.37 + d as f32 * 1.3).sin()))
            })
            .collect();
        let runs: Vec<Vec<(f64, f64)>> = (0..4)
            .map(|_| tsne_2d(&points, 5, 10.0, 250, 7).unwrap())
            .collect();
        for r in &runs[1..] {
            assert!(
                *r == runs[0],
                "t-SNE gave a different embedding for the same input"
            );
        }
        assert_ne!(
            runs[0],
            tsne_2d(&points, 5, 10.0, 250, 8).unwrap(),
            "the seed matters"
        );
    }
}

//! Measures of a latent space: how correlated its dimensions are, straight
//! lines between codes, Gaussian sampling per class, and the diversity of a
//! set of images. Codes are n × d, row-major.

use rand::Rng;
use rand_distr::StandardNormal;

/// Largest and mean absolute Pearson correlation between two different
/// dimensions of `codes`. A dimension that never varies (a dead unit) has no
/// correlation with anything and is left out of both.
pub fn off_diagonal_correlation(codes: &[f32], dim: usize) -> (f64, f64) {
    let n = codes.len() / dim;
    assert!(n >= 2, "correlation needs two codes");
    let mean: Vec<f64> = (0..dim)
        .map(|j| (0..n).map(|i| codes[i * dim + j] as f64).sum::<f64>() / n as f64)
        .collect();
    let mut cov = vec![0f64; dim * dim];
    for i in 0..n {
        let row = &codes[i * dim..(i + 1) * dim];
        for a in 0..dim {
            let da = row[a] as f64 - mean[a];
            for b in a..dim {
                cov[a * dim + b] += da * (row[b] as f64 - mean[b]);
            }
        }
    }
    let (mut max, mut sum, mut count) = (0f64, 0f64, 0usize);
    for a in 0..dim {
        for b in a + 1..dim {
            let (va, vb) = (cov[a * dim + a], cov[b * dim + b]);
            if va <= 1e-12 * n as f64 || vb <= 1e-12 * n as f64 {
                continue;
            }
            let r = (cov[a * dim + b] / (va * vb).sqrt()).abs();
            max = max.max(r);
            sum += r;
            count += 1;
        }
    }
    (max, if count == 0 { 0.0 } else { sum / count as f64 })
}

/// (1 − α)·z₁ + α·z₂ for `steps` values of α evenly from 0 to 1, one code
/// after the other. The first is exactly z₁ and the last exactly z₂.
pub fn interpolate_codes(z1: &[f32], z2: &[f32], steps: usize) -> Vec<f32> {
    assert_eq!(z1.len(), z2.len());
    assert!(steps >= 2, "interpolation needs both ends");
    let mut out = Vec::with_capacity(steps * z1.len());
    for s in 0..steps {
        let alpha = s as f32 / (steps - 1) as f32;
        out.extend(z1.iter().zip(z2).map(|(&a, &b)| {
            if s == 0 {
                a
            } else if s == steps - 1 {
                b
            } else {
                (1.0 - alpha) * a + alpha * b
            }
        }));
    }
    out
}

/// `count` samples of N(μ_c, Σ_c), the mean and sample covariance of the
/// codes labelled `class`. Drawn as μ + Σᵢ wᵢ (zᵢ − μ)/√(n − 1) with
/// wᵢ ~ N(0, 1), which has exactly that covariance, even when Σ_c is
/// singular (fewer codes than dimensions).
pub fn sample_class_gaussian(
    codes: &[f32],
    dim: usize,
    labels: &[u8],
    class: u8,
    count: usize,
    rng: &mut impl Rng,
) -> Vec<f32> {
    let members: Vec<&[f32]> = labels
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == class)
        .map(|(i, _)| &codes[i * dim..(i + 1) * dim])
        .collect();
    assert!(!members.is_empty(), "no codes of class {class}");
    let n = members.len();
    let mean: Vec<f64> = (0..dim)
        .map(|j| members.iter().map(|z| z[j] as f64).sum::<f64>() / n as f64)
        .collect();
    let scale = if n > 1 {
        1.0 / ((n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let mut out = Vec::with_capacity(count * dim);
    for _ in 0..count {
        let mut z = mean.clone();
        for member in &members {
            let w: f64 = rng.sample(StandardNormal);
            for j in 0..dim {
                z[j] += w * scale * (member[j] as f64 - mean[j]);
            }
        }
        out.extend(z.iter().map(|&v| v as f32));
    }
    out
}

/// Mean Euclidean distance between two different images of the set, pixels
/// scaled to [0, 1]: how varied a set of digits is.
pub fn mean_pairwise_distance(images: &[Vec<u8>]) -> f64 {
    let n = images.len();
    assert!(n >= 2, "diversity needs two images");
    let mut sum = 0f64;
    for i in 0..n {
        for j in i + 1..n {
            let d2: f64 = images[i]
                .iter()
                .zip(&images[j])
                .map(|(&a, &b)| ((a as f64 - b as f64) / 255.0).powi(2))
                .sum();
            sum += d2.sqrt();
        }
    }
    sum / (n * (n - 1) / 2) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// Codes (a, ρa + √(1−ρ²) b, c) with a, b, c independent N(0, 1).
    fn correlated(rho: f64, n: usize) -> Vec<f32> {
        let mut rng = StdRng::seed_from_u64(11);
        let mut v = Vec::new();
        for _ in 0..n {
            let (a, b, c): (f64, f64, f64) = (
                rng.sample(StandardNormal),
                rng.sample(StandardNormal),
                rng.sample(StandardNormal),
            );
            v.extend([a, rho * a + (1.0 - rho * rho).sqrt() * b, c].map(|x| x as f32));
        }
        v
    }

    #[test]
    fn correlation_metric_recovers_a_known_correlation() {
        let (max, mean) = off_diagonal_correlation(&correlated(0.8, 20_000), 3);
        assert!((max - 0.8).abs() < 0.02, "max {max}");
        // Pairs: 0.8, ~0, ~0.
        assert!((mean - 0.8 / 3.0).abs() < 0.02, "mean {mean}");
        let (max, _) = off_diagonal_correlation(&correlated(-0.5, 20_000), 3);
        assert!((max - 0.5).abs() < 0.02, "sign is ignored: {max}");
    }

    #[test]
    fn a_dead_dimension_is_left_out() {
        let codes = [1.0, 5.0, 2.0, 5.0, 3.0, 5.0];
        assert_eq!(off_diagonal_correlation(&codes, 2), (0.0, 0.0));
    }

    #[test]
    fn interpolation_starts_and_ends_on_the_codes() {
        let (z1, z2) = ([0.1f32, -3.0, 7.7], [2.0f32, 0.5, -1.0]);
        let line = interpolate_codes(&z1, &z2, 5);
        assert_eq!(line.len(), 15);
        assert_eq!(&line[..3], &z1);
        assert_eq!(&line[12..], &z2);
        assert!((line[6] - 1.05).abs() < 1e-6, "midpoint {}", line[6]);
    }

    #[test]
    fn class_samples_have_the_class_mean_and_spread() {
        // Class 1 codes at (10 ± 1, −5 ± 0); class 0 elsewhere.
        let codes = [9.0f32, -5.0, 11.0, -5.0, 0.0, 0.0, 10.0, -5.0];
        let labels = [1u8, 1, 0, 1];
        let mut rng = StdRng::seed_from_u64(3);
        let s = sample_class_gaussian(&codes, 2, &labels, 1, 20_000, &mut rng);
        let n = s.len() / 2;
        let mean0 = s.iter().step_by(2).map(|&v| v as f64).sum::<f64>() / n as f64;
        let var0 = s
            .iter()
            .step_by(2)
            .map(|&v| (v as f64 - 10.0).powi(2))
            .sum::<f64>()
            / n as f64;
        assert!((mean0 - 10.0).abs() < 0.03, "mean {mean0}");
        assert!((var0 - 1.0).abs() < 0.05, "variance {var0}");
        assert!(s.iter().skip(1).step_by(2).all(|&v| v == -5.0));
    }

    #[test]
    fn pairwise_distance_of_known_images() {
        let black = vec![0u8; 4];
        let one_white = vec![255u8, 0, 0, 0];
        let all_white = vec![255u8; 4];
        assert_eq!(mean_pairwise_distance(&[black.clone(), black.clone()]), 0.0);
        // Distances: 1 (black–one), 2 (black–all), √3 (one–all).
        let d = mean_pairwise_distance(&[black, one_white, all_white]);
        assert!((d - (1.0 + 2.0 + 3f64.sqrt()) / 3.0).abs() < 1e-12, "{d}");
    }
}

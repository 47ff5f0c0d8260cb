//! The exercise's noise model: x̃ = clip(x + f·N(0, 1), 0, 1), pixel-wise.

use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::StandardNormal;

use super::idx::Images;

/// Adds f·N(0, 1) to every value (pixels in [0, 1]) and clips to [0, 1].
pub fn add_noise(pixels: &mut [f32], factor: f64, rng: &mut impl Rng) {
    for p in pixels {
        let n: f64 = rng.sample(StandardNormal);
        *p = (*p as f64 + factor * n).clamp(0.0, 1.0) as f32;
    }
}

/// A noisy copy of `images`, fixed by `seed`, stored as 8-bit images like
/// the originals (the rounding moves a pixel by at most 1/510).
pub fn noisy_images(images: &Images, factor: f64, seed: u64) -> Images {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut values: Vec<f32> = images.pixels.iter().map(|&p| p as f32 / 255.0).collect();
    add_noise(&mut values, factor, &mut rng);
    Images {
        count: images.count,
        rows: images.rows,
        cols: images.cols,
        pixels: values.iter().map(|v| (v * 255.0).round() as u8).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_on_mid_grey_has_the_requested_spread() {
        // At 0.5 with f = 0.1, clipping almost never bites (5 sigma away),
        // so the added values are f·N(0, 1).
        let mut x = vec![0.5f32; 200_000];
        add_noise(&mut x, 0.1, &mut StdRng::seed_from_u64(7));
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!((mean - 0.5).abs() < 1e-3, "mean {mean}");
        assert!((var.sqrt() - 0.1).abs() < 1e-3, "std {}", var.sqrt());
    }

    #[test]
    fn noise_is_clipped_and_black_pixels_brighten_on_average() {
        // On black, clip(f·n) has mean f·E[max(n, 0)] = f/√(2π) and half the
        // pixels stay exactly 0.
        let f = 0.7;
        let mut x = vec![0.0f32; 200_000];
        add_noise(&mut x, f, &mut StdRng::seed_from_u64(1));
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
        let clipped_at_one = x.iter().filter(|&&v| v == 1.0).count() as f64 / x.len() as f64;
        // E[min(max(f n, 0), 1)] = f φ-integral up to 1/f: computed exactly below.
        let expected = f / (2.0 * std::f64::consts::PI).sqrt() * (1.0 - (-0.5 / (f * f)).exp())
            + clipped_at_one;
        assert!((mean - expected).abs() < 3e-3, "mean {mean} vs {expected}");
        let zeros = x.iter().filter(|&&v| v == 0.0).count() as f64 / x.len() as f64;
        assert!((zeros - 0.5).abs() < 5e-3, "zeros {zeros}");
    }

    #[test]
    fn noisy_images_are_fixed_by_the_seed() {
        let images = Images {
            count: 2,
            rows: 2,
            cols: 2,
            pixels: vec![0, 64, 128, 255, 10, 20, 30, 40],
        };
        let a = noisy_images(&images, 0.5, 3);
        assert_eq!(a.pixels, noisy_images(&images, 0.5, 3).pixels);
        assert_ne!(a.pixels, noisy_images(&images, 0.5, 4).pixels);
        assert_eq!(noisy_images(&images, 0.0, 3).pixels, images.pixels);
    }
}

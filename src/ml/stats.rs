//! Uncertainty for the book's comparisons: a measure repeated over seeds is
//! reported as mean ± standard error, and two methods run on the same seeds
//! (the same labelled draw, the same batch order) are compared by the mean of
//! their per-seed differences with a 95 % Student-t interval; two shares of
//! independent samples (recognised generated digits) by the normal
//! interval of their difference. A difference is claimed only when its
//! interval excludes zero.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// 1 where `predicted` matches the label, else 0: per-example accuracy, what
/// a comparison of two classifiers on the same examples pairs up.
pub fn hits(predicted: &[u8], labels: &[u8]) -> Vec<f64> {
    assert_eq!(predicted.len(), labels.len(), "one prediction per label");
    predicted
        .iter()
        .zip(labels)
        .map(|(p, l)| f64::from(u8::from(p == l)))
        .collect()
}

/// The confidence of every interval the book states.
pub const CONFIDENCE: f64 = 0.95;

/// A measure over `n` repetitions: its mean and the standard error of that
/// mean (sample standard deviation / √n).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub n: usize,
    pub mean: f64,
    pub se: f64,
}

impl Estimate {
    /// Panics on fewer than two values: one repetition has no spread to
    /// measure (the chapters' settings require at least two).
    pub fn of(xs: &[f64]) -> Self {
        assert!(xs.len() >= 2, "an uncertainty needs at least 2 repetitions");
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Self {
            n: xs.len(),
            mean,
            se: (var / n).sqrt(),
        }
    }

    /// Half the width of the two-sided [`CONFIDENCE`] t-interval.
    pub fn half_width(&self) -> f64 {
        t_quantile(self.n - 1) * self.se
    }
}

/// The two-sided [`CONFIDENCE`] quantile of Student's t with `df` degrees
/// of freedom (12.71 for 1, 2.78 for 4, → 1.96).
pub fn t_quantile(df: usize) -> f64 {
    StudentsT::new(0.0, 1.0, df as f64)
        .expect("df > 0")
        .inverse_cdf(0.5 + CONFIDENCE / 2.0)
}

/// What a paired difference lets the text say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The interval lies above zero.
    Higher,
    /// The interval lies below zero.
    Lower,
    /// The interval contains zero: no measurable difference at this budget.
    NoMeasurableDifference,
}

/// `a − b` with its standard error and [`CONFIDENCE`] interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Difference {
    /// Pairs, or both samples together for independent shares.
    pub n: usize,
    pub mean: f64,
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub verdict: Verdict,
}

/// The paired difference `a[i] − b[i]`; `a` and `b` must come from the same
/// repetitions, in the same order.
pub fn paired_difference(a: &[f64], b: &[f64]) -> Difference {
    assert_eq!(
        a.len(),
        b.len(),
        "paired measures need the same repetitions"
    );
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let e = Estimate::of(&d);
    Difference::new(e.n, e.mean, e.se, e.half_width())
}

/// `p_a − p_b` for shares of two independent samples of `n_a` and `n_b`
/// items, with the normal (Wald) interval: fine for the thousands of
/// generated digits it compares, not for a handful.
pub fn proportion_difference(p_a: f64, n_a: usize, p_b: f64, n_b: usize) -> Difference {
    assert!(n_a > 0 && n_b > 0, "two non-empty samples");
    let se = (p_a * (1.0 - p_a) / n_a as f64 + p_b * (1.0 - p_b) / n_b as f64).sqrt();
    let z = Normal::standard().inverse_cdf(0.5 + CONFIDENCE / 2.0);
    Difference::new(n_a + n_b, p_a - p_b, se, z * se)
}

impl Difference {
    fn new(n: usize, mean: f64, se: f64, half_width: f64) -> Self {
        let (ci_low, ci_high) = (mean - half_width, mean + half_width);
        let verdict = if ci_low > 0.0 {
            Verdict::Higher
        } else if ci_high < 0.0 {
            Verdict::Lower
        } else {
            Verdict::NoMeasurableDifference
        };
        Self {
            n,
            mean,
            se,
            ci_low,
            ci_high,
            verdict,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_is_mean_and_standard_error() {
        let e = Estimate::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(e.mean, 2.5);
        // s² = 5/3, se = sqrt(5/3 / 4)
        assert!((e.se - (5.0f64 / 12.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        assert!((t_quantile(1) - 12.706).abs() < 1e-3);
        assert!((t_quantile(4) - 2.776).abs() < 1e-3);
        assert!((t_quantile(1000) - 1.962).abs() < 1e-3);
    }

    #[test]
    fn a_difference_is_claimed_only_beyond_its_interval() {
        // Consistent +1 ± small noise: higher.
        let a = [10.0, 11.1, 12.0, 12.9, 14.0];
        let b = [9.0, 10.0, 11.0, 12.0, 13.0];
        let d = paired_difference(&a, &b);
        assert_eq!(d.verdict, Verdict::Higher);
        assert!(d.ci_low > 0.0 && d.mean > 0.9 && d.mean < 1.1);
        assert_eq!(paired_difference(&b, &a).verdict, Verdict::Lower);
        // Large spread around a small mean: no claim, although the means differ.
        let a = [1.0, -2.0, 3.0, -1.0, 0.5];
        let zeros = [0.0; 5];
        let d = paired_difference(&a, &zeros);
        assert!(d.mean > 0.0);
        assert_eq!(d.verdict, Verdict::NoMeasurableDifference);
        // Pairing removes what the draws share: an unpaired view would see
        // the spread of the draws, the paired one only the constant gap.
        let draws = [0.60, 0.75, 0.70, 0.82, 0.66];
        let better: Vec<f64> = draws.iter().map(|x| x + 0.01).collect();
        assert_eq!(paired_difference(&better, &draws).verdict, Verdict::Higher);
    }

    #[test]
    fn shares_of_large_samples_differ_beyond_their_interval() {
        // 80 % vs 70 % of 1,000 each: se = sqrt(.16/1000 + .21/1000) ≈ 0.0192.
        let d = proportion_difference(0.8, 1000, 0.7, 1000);
        assert!((d.se - 0.0192).abs() < 1e-4, "{d:?}");
        assert_eq!(d.verdict, Verdict::Higher);
        // The same shares of 50 each: the interval contains zero.
        let d = proportion_difference(0.8, 50, 0.7, 50);
        assert_eq!(d.verdict, Verdict::NoMeasurableDifference);
    }
}

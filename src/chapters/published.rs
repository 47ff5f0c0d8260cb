//! The book's results beside published ones (the dataset entry's
//! `published`), with a verdict that respects the book's own uncertainty.

use serde::Serialize;

use crate::data::catalog::Published;

/// One of the book's results beside a published one: the difference, and
/// whether it exceeds twice the binomial standard error of the book's
/// accuracy on its test images (the published figure's own spread is not
/// given; Xiao et al. average five shuffles).
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub model: String,
    pub train_size: usize,
    pub accuracy: f64,
    pub published: f64,
    pub published_setting: String,
    /// Training images of the published result, where its source says.
    pub published_train_images: Option<usize>,
    pub source: String,
    /// Book minus published, in accuracy.
    pub difference: f64,
    pub standard_error: f64,
    /// "above", "below" or "within".
    pub verdict: &'static str,
}

impl Comparison {
    pub fn new(
        model: &str,
        train_size: usize,
        accuracy: f64,
        test_size: usize,
        p: &Published,
    ) -> Comparison {
        let standard_error = (accuracy * (1.0 - accuracy) / test_size.max(1) as f64).sqrt();
        let difference = accuracy - p.accuracy;
        Comparison {
            model: model.into(),
            train_size,
            accuracy,
            published: p.accuracy,
            published_setting: p.setting.clone(),
            published_train_images: p.train_images,
            source: p.source.clone(),
            difference,
            standard_error,
            verdict: if difference > 2.0 * standard_error {
                "above"
            } else if difference < -2.0 * standard_error {
                "below"
            } else {
                "within"
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_counts_only_beyond_twice_the_standard_error() {
        let p = Published {
            accuracy: 0.976,
            train_images: Some(60_000),
            source: "xiao2017".into(),
            setting: "SVC".into(),
        };
        // On 10,000 test images the standard error at 97 % is 0.17 points.
        let c = Comparison::new("poly SVM", 5000, 0.970, 10_000, &p);
        assert!((c.standard_error - 0.0017).abs() < 1e-4);
        assert_eq!(c.verdict, "below");
        assert_eq!(
            Comparison::new("poly SVM", 5000, 0.974, 10_000, &p).verdict,
            "within"
        );
        assert_eq!(
            Comparison::new("poly SVM", 5000, 0.980, 10_000, &p).verdict,
            "above"
        );
        // On 100 test images the same gap is within the uncertainty.
        assert_eq!(
            Comparison::new("poly SVM", 500, 0.970, 100, &p).verdict,
            "within"
        );
    }
}

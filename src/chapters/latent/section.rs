//! `[chapter.latent]`.

use serde::{Deserialize, Serialize};

use crate::config::{BookConfig, Section, positive, positive_rate};

/// `[chapter.latent]`: the latent-space study. Every AE here is the book's
/// conv AE with one thing changed (d, or the training set).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct LatentSection {
    /// Latent sizes of the sweep; must contain 2 (the latent map) and the
    /// interpolation sizes.
    pub dims: Vec<usize>,
    /// Latent sizes whose interpolations are shown (those of them the sweep
    /// has; at least one must be).
    pub interpolation_dims: Vec<usize>,
    /// Pairs of test digits (of different classes) interpolated.
    pub interpolation_pairs: usize,
    /// Values of α from 0 to 1, both included.
    pub interpolation_steps: usize,
    /// Generated digits shown per class.
    pub generated_shown: usize,
    /// Generated digits per class for the recognition and diversity measures.
    pub generated_measured: usize,
    /// Sizes of the small, class-balanced training sets of the
    /// data-augmentation question.
    pub small_train_sizes: Vec<usize>,
    /// Draws of each small training set, each with its own images and
    /// training seed: the small sets' results are means over them.
    pub small_seeds: usize,
    /// Gradient steps of each small-set AE, as a share of the book AE's
    /// (rounded up to whole epochs). README has the measured curve behind
    /// the default: the 100-image AEs' test L1 stops falling near half the
    /// book AE's steps; the rest only fits their training images.
    pub small_step_share: f64,
    /// Test points in the d=2 latent map.
    pub plot_points: usize,
    /// Cells per side of the latent map's classifier background.
    pub map_resolution: usize,
    /// A dimension of the sweep "pays" while it lowers the test L1 by at
    /// least this much per pixel.
    pub gain_threshold: f64,
}

impl Default for LatentSection {
    fn default() -> Self {
        Self {
            dims: vec![2, 5, 10, 12, 15, 20, 25, 30],
            interpolation_dims: vec![12, 20],
            interpolation_pairs: 4,
            interpolation_steps: 10,
            generated_shown: 10,
            generated_measured: 100,
            small_train_sizes: vec![10, 100],
            small_seeds: 5,
            small_step_share: 0.5,
            plot_points: 2000,
            map_resolution: 90,
            gain_threshold: 0.0005,
        }
    }
}

impl Section for LatentSection {
    const ID: &'static str = "latent";

    fn validate(&self, _book: &BookConfig) -> Result<(), String> {
        let key = |k: &str| format!("chapter.latent.{k}");
        if self.dims.is_empty() {
            return Err(format!("{} must not be empty", key("dims")));
        }
        for (i, &d) in self.dims.iter().enumerate() {
            positive(&key("dims[]"), d)?;
            if self.dims[..i].contains(&d) {
                return Err(format!("{} lists d = {d} twice", key("dims")));
            }
        }
        if !self.dims.contains(&2) {
            return Err(format!("{} must contain 2 (the latent map)", key("dims")));
        }
        if self.interpolation_dims.is_empty() {
            return Err(format!("{} must not be empty", key("interpolation-dims")));
        }
        if !self
            .interpolation_dims
            .iter()
            .any(|d| self.dims.contains(d))
        {
            return Err(format!(
                "{} ({:?}) shares no d with {} ({:?}); interpolations are shown for swept sizes",
                key("interpolation-dims"),
                self.interpolation_dims,
                key("dims"),
                self.dims
            ));
        }
        positive(&key("interpolation-pairs"), self.interpolation_pairs)?;
        if self.interpolation_pairs > 45 {
            return Err(format!(
                "{} must be at most 45 (pairs of distinct digits), got {}",
                key("interpolation-pairs"),
                self.interpolation_pairs
            ));
        }
        if self.interpolation_steps < 2 {
            return Err(format!(
                "{} must be at least 2 (α = 0 and 1), got {}",
                key("interpolation-steps"),
                self.interpolation_steps
            ));
        }
        positive(&key("generated-shown"), self.generated_shown)?;
        if self.generated_measured < 2 {
            return Err(format!(
                "{} must be at least 2 (diversity compares pairs), got {}",
                key("generated-measured"),
                self.generated_measured
            ));
        }
        for (i, &n) in self.small_train_sizes.iter().enumerate() {
            if self.small_train_sizes[..i].contains(&n) {
                return Err(format!("{} lists {n} twice", key("small-train-sizes")));
            }
            if n < 10 || n % 10 != 0 {
                return Err(format!(
                    "{} holds {n}: each size must be a positive multiple of 10 (class-balanced)",
                    key("small-train-sizes")
                ));
            }
        }
        if !self.small_train_sizes.is_empty() && self.small_seeds < 2 {
            return Err(format!(
                "{} must be at least 2: one draw cannot measure how much the small sets' \
                 results vary, got {}",
                key("small-seeds"),
                self.small_seeds
            ));
        }
        positive_rate(&key("small-step-share"), self.small_step_share)?;
        positive(&key("plot-points"), self.plot_points)?;
        positive_rate(&key("gain-threshold"), self.gain_threshold)?;
        if self.map_resolution < 2 {
            return Err(format!(
                "{} must be at least 2, got {}",
                key("map-resolution"),
                self.map_resolution
            ));
        }
        Ok(())
    }
}

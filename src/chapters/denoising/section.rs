//! `[chapter.denoising]`.

use serde::{Deserialize, Serialize};

use crate::config::{BookConfig, Section, positive, positive_rate};

/// `[chapter.denoising]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct DenoisingSection {
    /// Noise levels f of x̃ = clip(x + f·N(0, 1), 0, 1).
    pub noise_factors: Vec<f64>,
    /// Iterations of the logistic-regression probe on the codes.
    pub probe_iterations: u64,
    /// Test points in the t-SNE panels.
    pub plot_points: usize,
    pub tsne_perplexity: f64,
    pub tsne_iterations: usize,
    /// The strongest level's DAE is trained again for these multiples of
    /// the book's epochs: is its worst failure under-training? Empty: no
    /// such study.
    pub budget_multiples: Vec<usize>,
}

impl Default for DenoisingSection {
    fn default() -> Self {
        Self {
            noise_factors: vec![0.5, 0.7, 0.9],
            probe_iterations: 100,
            plot_points: 2000,
            tsne_perplexity: 30.0,
            tsne_iterations: 500,
            budget_multiples: vec![3],
        }
    }
}

impl Section for DenoisingSection {
    const ID: &'static str = "denoising";

    fn validate(&self, _book: &BookConfig) -> Result<(), String> {
        let key = |k: &str| format!("chapter.denoising.{k}");
        if self.noise_factors.is_empty() {
            return Err(format!("{} must not be empty", key("noise-factors")));
        }
        for &f in &self.noise_factors {
            positive_rate(&key("noise-factors[]"), f)?;
        }
        positive(&key("probe-iterations"), self.probe_iterations as usize)?;
        positive(&key("plot-points"), self.plot_points)?;
        positive_rate(&key("tsne-perplexity"), self.tsne_perplexity)?;
        positive(&key("tsne-iterations"), self.tsne_iterations)?;
        for (i, &k) in self.budget_multiples.iter().enumerate() {
            if k < 2 {
                return Err(format!(
                    "{} holds {k}: each multiple of the book's epochs must be at least 2 \
                     (1 is the book's own DAE)",
                    key("budget-multiples")
                ));
            }
            if self.budget_multiples[..i].contains(&k) {
                return Err(format!("{} lists {k} twice", key("budget-multiples")));
            }
        }
        Ok(())
    }
}

//! `[chapter.center-loss]`.

use serde::{Deserialize, Serialize};

use crate::config::{BookConfig, Section, positive, positive_rate};

/// `[chapter.center-loss]`: softmax vs softmax + λ·center loss.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct CenterLossSection {
    /// Sizes k of the feature layer; 2 is plotted directly.
    pub feature_dims: Vec<usize>,
    pub lambda: f64,
    pub alpha: f64,
    pub learning_rate: f64,
    /// Test points shown in the scatter plots and embedded by t-SNE.
    pub plot_points: usize,
    pub tsne_perplexity: f64,
    pub tsne_iterations: usize,
}

impl Default for CenterLossSection {
    fn default() -> Self {
        Self {
            feature_dims: vec![2, 12],
            lambda: 0.1,
            alpha: 0.5,
            learning_rate: 1e-3,
            plot_points: 2000,
            tsne_perplexity: 30.0,
            tsne_iterations: 500,
        }
    }
}

impl Section for CenterLossSection {
    const ID: &'static str = "center-loss";

    fn validate(&self, _book: &BookConfig) -> Result<(), String> {
        let c = self;
        if c.feature_dims.is_empty() {
            return Err("chapter.center-loss.feature-dims must not be empty".into());
        }
        for k in &c.feature_dims {
            positive("chapter.center-loss.feature-dims[]", *k)?;
        }
        if !c.feature_dims.contains(&2) {
            return Err(
                "chapter.center-loss.feature-dims must contain 2 (the plotted features)".into(),
            );
        }
        positive_rate("chapter.center-loss.lambda", c.lambda)?;
        if !(c.alpha > 0.0 && c.alpha <= 1.0) {
            return Err(format!(
                "chapter.center-loss.alpha must be in (0, 1] (got {})",
                c.alpha
            ));
        }
        positive_rate("chapter.center-loss.learning-rate", c.learning_rate)?;
        positive("chapter.center-loss.plot-points", c.plot_points)?;
        positive_rate("chapter.center-loss.tsne-perplexity", c.tsne_perplexity)?;
        positive("chapter.center-loss.tsne-iterations", c.tsne_iterations)?;
        Ok(())
    }
}

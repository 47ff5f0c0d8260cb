//! The sections of the models several chapters share: `[chapter.autoencoder]`
//! (the book's conv AE, whose encoder the classifier and transfer reuse) and
//! `[chapter.classifier]`.

use serde::{Deserialize, Serialize};

use crate::config::{BookConfig, Section, positive, positive_rate};

/// `[chapter.autoencoder]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct AutoencoderSection {
    /// Size d of the bottleneck.
    pub latent_dim: usize,
    /// Channels of the two stride-2 convolutions of the encoder.
    pub channels: [usize; 2],
    pub learning_rate: f64,
    /// Adam's ε for every AE of the book.
    pub adam_epsilon: f64,
    /// Start every AE's output bias at the logit of its training images'
    /// mean intensity (instead of burn's random init around 0.5 grey).
    pub output_bias_at_mean: bool,
    /// Epochs trained on MSE before switching to the mean-L1 loss the
    /// exercise asks for; this is what gets the model off the all-black
    /// plateau (see the chapter).
    pub mse_warmup_epochs: usize,
    /// Also train the same model on plain L1 from the start, to measure
    /// the plateau the warm-up avoids.
    pub train_plain_l1_control: bool,
    /// Test digits shown in the reconstruction grid.
    pub grid_digits: usize,
    /// Hidden widths of the fully connected comparison AE (784-h₁-h₂-d).
    pub mlp_hidden: [usize; 2],
}

impl Default for AutoencoderSection {
    fn default() -> Self {
        Self {
            latent_dim: 12,
            channels: [32, 64],
            learning_rate: 1e-3,
            adam_epsilon: 1e-8,
            output_bias_at_mean: true,
            mse_warmup_epochs: 1,
            train_plain_l1_control: true,
            grid_digits: 16,
            mlp_hidden: [256, 32],
        }
    }
}

impl Section for AutoencoderSection {
    const ID: &'static str = "autoencoder";

    fn validate(&self, _book: &BookConfig) -> Result<(), String> {
        let key = |k: &str| format!("chapter.autoencoder.{k}");
        positive(&key("latent-dim"), self.latent_dim)?;
        positive(&key("channels[0]"), self.channels[0])?;
        positive(&key("channels[1]"), self.channels[1])?;
        positive(&key("grid-digits"), self.grid_digits)?;
        positive(&key("mlp-hidden[0]"), self.mlp_hidden[0])?;
        positive(&key("mlp-hidden[1]"), self.mlp_hidden[1])?;
        positive_rate(&key("learning-rate"), self.learning_rate)?;
        positive_rate(&key("adam-epsilon"), self.adam_epsilon)?;
        Ok(())
    }
}

/// `[chapter.classifier]`: encoder (as the AE's) + two-layer MLP head.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ClassifierSection {
    /// Width of the MLP's hidden layer.
    pub hidden_dim: usize,
    pub learning_rate: f64,
}

impl Default for ClassifierSection {
    fn default() -> Self {
        Self {
            hidden_dim: 64,
            learning_rate: 1e-3,
        }
    }
}

impl Section for ClassifierSection {
    const ID: &'static str = "classifier";

    fn validate(&self, _book: &BookConfig) -> Result<(), String> {
        positive("chapter.classifier.hidden-dim", self.hidden_dim)?;
        positive_rate("chapter.classifier.learning-rate", self.learning_rate)?;
        Ok(())
    }
}

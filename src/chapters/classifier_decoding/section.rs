//! `[chapter.classifier-decoding]`.

use serde::{Deserialize, Serialize};

use crate::config::{BookConfig, Section, positive, positive_rate};

/// `[chapter.classifier-decoding]`: a decoder on the frozen classifier encoder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct ClassifierDecodingSection {
    /// Test digits shown as original / AE / classifier-decoder.
    pub digits: usize,
    pub learning_rate: f64,
    /// Leading epochs on MSE, as for the AE.
    pub mse_warmup_epochs: usize,
}

impl Default for ClassifierDecodingSection {
    fn default() -> Self {
        Self {
            digits: 75,
            learning_rate: 1e-3,
            mse_warmup_epochs: 1,
        }
    }
}

impl Section for ClassifierDecodingSection {
    const ID: &'static str = "classifier-decoding";

    fn validate(&self, _book: &BookConfig) -> Result<(), String> {
        positive("chapter.classifier-decoding.digits", self.digits)?;
        positive_rate(
            "chapter.classifier-decoding.learning-rate",
            self.learning_rate,
        )?;
        Ok(())
    }
}

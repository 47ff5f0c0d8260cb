//! `[chapter.transfer]`: how the pre-trained encoder is fine-tuned (the
//! images, epochs and base learning rate are `[chapter.few-shot]`'s).

use serde::{Deserialize, Serialize};

use crate::config::{BookConfig, Section, positive, positive_rate};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct TransferSection {
    /// The encoder's learning rate, as a share of the head's, for the
    /// gentle fine-tuning variant.
    pub encoder_learning_rate_factor: f64,
    /// The share of few-shot's epochs that the linear-probe-then-fine-tune
    /// variant trains the head alone before it unfreezes the encoder.
    pub probe_fraction: f64,
    /// The heads on the frozen encoder's standardised codes train for this
    /// many times few-shot's epochs (and are evaluated as often): only the
    /// head trains, in milliseconds, and a linear head needs more steps to
    /// converge than the whole network's budget gives it.
    pub code_head_epoch_factor: usize,
}

impl Default for TransferSection {
    fn default() -> Self {
        Self {
            encoder_learning_rate_factor: 0.1,
            probe_fraction: 0.5,
            code_head_epoch_factor: 10,
        }
    }
}

impl TransferSection {
    /// Head-only epochs out of `epochs`: at least one, and at least one left.
    pub fn probe_epochs(&self, epochs: usize) -> usize {
        ((self.probe_fraction * epochs as f64).round() as usize).clamp(1, epochs.max(2) - 1)
    }
}

impl Section for TransferSection {
    const ID: &'static str = "transfer";

    fn validate(&self, _book: &BookConfig) -> Result<(), String> {
        let f = self.encoder_learning_rate_factor;
        positive_rate("chapter.transfer.encoder-learning-rate-factor", f)?;
        if f >= 1.0 {
            return Err(format!(
                "chapter.transfer.encoder-learning-rate-factor must be below 1: the variant \
                 fine-tunes the encoder more gently than the head (got {f})"
            ));
        }
        let p = self.probe_fraction;
        if !(p > 0.0 && p < 1.0) {
            return Err(format!(
                "chapter.transfer.probe-fraction must be between 0 and 1, both excluded: the \
                 head trains alone first, then the encoder with it (got {p})"
            ));
        }
        positive(
            "chapter.transfer.code-head-epoch-factor",
            self.code_head_epoch_factor,
        )?;
        Ok(())
    }
}

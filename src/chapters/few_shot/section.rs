//! `[chapter.few-shot]` (also read by `transfer`, which trains on the same
//! labelled images).

use serde::{Deserialize, Serialize};

use crate::config::{BookConfig, Section, positive, positive_rate};

/// `[chapter.few-shot]`: learning from a handful of labels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct FewShotSection {
    /// Labelled training images, drawn with a fixed seed.
    pub labels: usize,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Evaluate on the test set every this many epochs.
    pub eval_every: usize,
}

impl Default for FewShotSection {
    fn default() -> Self {
        Self {
            labels: 100,
            epochs: 60,
            batch_size: 20,
            learning_rate: 1e-3,
            eval_every: 2,
        }
    }
}

impl Section for FewShotSection {
    const ID: &'static str = "few-shot";

    fn validate(&self, _book: &BookConfig) -> Result<(), String> {
        let c = self;
        if c.labels < 10 {
            return Err(format!(
                "chapter.few-shot.labels must be at least 10 (got {})",
                c.labels
            ));
        }
        positive("chapter.few-shot.epochs", c.epochs)?;
        positive("chapter.few-shot.batch-size", c.batch_size)?;
        positive("chapter.few-shot.eval-every", c.eval_every)?;
        positive_rate("chapter.few-shot.learning-rate", c.learning_rate)?;
        Ok(())
    }
}

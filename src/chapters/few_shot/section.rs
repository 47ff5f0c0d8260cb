//! `[chapter.few-shot]` (also read by `transfer`, which trains on the same
//! labelled images).

use serde::{Deserialize, Serialize};

use crate::config::{BookConfig, Section, positive, positive_rate};

/// `[chapter.few-shot]`: learning from a handful of labels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct FewShotSection {
    /// Labelled images per draw, the validation ones included.
    pub labels: usize,
    /// Of those, held out to select the epoch (so the test set never does).
    pub validation: usize,
    /// Repetitions, each with its own labelled draw and training seed; the
    /// comparisons' uncertainty is measured over them.
    pub seeds: usize,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Evaluate on the validation and test sets every this many epochs
    /// (and after the last): the epochs a validation split can select.
    pub eval_every: usize,
    /// Digits generated per class for the augmented model of each draw
    /// (from the book AE, fitted on the draw's own training codes); 0
    /// leaves the augmentation study out.
    pub generated_per_class: usize,
}

impl Default for FewShotSection {
    fn default() -> Self {
        Self {
            labels: 100,
            validation: 20,
            seeds: 5,
            epochs: 60,
            batch_size: 20,
            learning_rate: 1e-3,
            eval_every: 10,
            generated_per_class: 20,
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
        if c.validation == 0 || c.validation + 10 > c.labels {
            return Err(format!(
                "chapter.few-shot.validation must be at least 1 and leave at least 10 of the \
                 {} labels for training (got {})",
                c.labels, c.validation
            ));
        }
        if c.seeds < 2 {
            return Err(format!(
                "chapter.few-shot.seeds must be at least 2: one repetition cannot measure \
                 the uncertainty of a comparison (got {})",
                c.seeds
            ));
        }
        positive("chapter.few-shot.epochs", c.epochs)?;
        positive("chapter.few-shot.batch-size", c.batch_size)?;
        positive("chapter.few-shot.eval-every", c.eval_every)?;
        positive_rate("chapter.few-shot.learning-rate", c.learning_rate)?;
        Ok(())
    }
}

//! `[chapter.baselines]`.

use serde::{Deserialize, Serialize};

use crate::config::{BookConfig, Section, positive, positive_rate};

/// `[chapter.baselines]`: hyper-parameters of the classic models.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct BaselinesSection {
    /// C of the linear SVM.
    pub svm_c: f64,
    /// C of the polynomial SVM.
    pub poly_c: f64,
    pub poly_degree: usize,
    pub logistic_iterations: u64,
    /// Components of the PCA feature set.
    pub pca_components: usize,
}

impl Default for BaselinesSection {
    fn default() -> Self {
        Self {
            svm_c: 1.0,
            poly_c: 10.0,
            poly_degree: 3,
            logistic_iterations: 100,
            pca_components: 16,
        }
    }
}

impl Section for BaselinesSection {
    const ID: &'static str = "baselines";

    fn validate(&self, _book: &BookConfig) -> Result<(), String> {
        let c = self;
        positive_rate("chapter.baselines.svm-c", c.svm_c)?;
        positive_rate("chapter.baselines.poly-c", c.poly_c)?;
        positive("chapter.baselines.poly-degree", c.poly_degree)?;
        positive(
            "chapter.baselines.logistic-iterations",
            c.logistic_iterations as usize,
        )?;
        positive("chapter.baselines.pca-components", c.pca_components)?;
        if c.pca_components > 784 {
            return Err(format!(
                "chapter.baselines.pca-components must be at most 784 (got {})",
                c.pca_components
            ));
        }
        Ok(())
    }
}

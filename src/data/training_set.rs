//! Training sets that both select their examples and identify them.
//!
//! A model's cache key holds its training set's identity: a hash of the
//! selected examples themselves (pixels, labels and shape), not a name for
//! the selection. So no choice of settings, no change to the selection code
//! and no future subset can reuse a model trained on other examples.

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Split;

/// Examples to train on, with the identity that goes into cache keys.
/// Serialises as its identity only: `{ name, examples, sha256 }`.
#[derive(Debug, Clone, Serialize)]
pub struct TrainingSet {
    /// What the selection is, for people (`profile`, `balanced-10`, …); the
    /// hash, not the name, is what makes keys differ.
    name: String,
    examples: usize,
    sha256: String,
    #[serde(skip)]
    split: Arc<Split>,
}

impl TrainingSet {
    /// Names and hashes `split`.
    pub fn new(name: impl Into<String>, split: Split) -> Self {
        Self::shared(name, Arc::new(split))
    }

    /// Names and hashes a split that is shared with other owners.
    pub fn shared(name: impl Into<String>, split: Arc<Split>) -> Self {
        Self {
            name: name.into(),
            examples: split.len(),
            sha256: content_sha256(&split),
            split,
        }
    }

    /// The same examples under another name (the hash is kept).
    pub fn renamed(&self, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..self.clone()
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn split(&self) -> &Split {
        &self.split
    }

    pub fn len(&self) -> usize {
        self.examples
    }

    pub fn is_empty(&self) -> bool {
        self.examples == 0
    }
}

/// SHA-256 over a split's shape, pixels and labels.
pub fn content_sha256(split: &Split) -> String {
    let mut h = Sha256::new();
    for n in [split.images.count, split.images.rows, split.images.cols] {
        h.update((n as u64).to_le_bytes());
    }
    h.update(&split.images.pixels);
    h.update(&split.labels);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Images;

    fn split(pixels: Vec<u8>, labels: Vec<u8>) -> Split {
        Split {
            images: Images {
                count: labels.len(),
                rows: 1,
                cols: pixels.len() / labels.len(),
                pixels,
            },
            labels,
        }
    }

    #[test]
    fn identity_is_the_content_not_the_name() {
        let a = TrainingSet::new("a", split(vec![1, 2, 3, 4], vec![0, 1]));
        let same = TrainingSet::new("b", split(vec![1, 2, 3, 4], vec![0, 1]));
        assert_eq!(a.sha256(), same.sha256());
        for other in [
            split(vec![1, 2, 3, 5], vec![0, 1]),
            split(vec![1, 2, 3, 4], vec![0, 2]),
            split(vec![1, 2, 3, 4], vec![0, 1, 0, 1]),
            split(vec![1, 2], vec![0]),
        ] {
            assert_ne!(a.sha256(), TrainingSet::new("a", other).sha256());
        }
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["examples"], 2);
        assert_eq!(json.as_object().unwrap().len(), 3, "{json}");
        assert_eq!(a.renamed("c").sha256(), a.sha256());
    }
}

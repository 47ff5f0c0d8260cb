//! Images with their labels, and the subsets the experiments train on.
//!
//! Part of the training code that cache keys hash (build.rs): how a split
//! is cut and subset decides which examples a model sees.

use super::Images;

/// Images and their labels.
#[derive(Debug, Clone)]
pub struct Split {
    pub images: Images,
    pub labels: Vec<u8>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The first `n` examples (all of them when fewer exist).
    pub fn truncated(&self, n: usize) -> Split {
        let n = n.min(self.len());
        Split {
            images: self.images.truncated(n),
            labels: self.labels[..n].to_vec(),
        }
    }

    /// The first `per_class` examples of each class, in their order here:
    /// a class-balanced small training set. Errors if a class has fewer.
    pub fn balanced(&self, per_class: usize) -> anyhow::Result<Split> {
        self.balanced_in_order(per_class, 0..self.len())
    }

    /// The first `per_class` examples of each class in the order of
    /// `order` (indices into this split), kept in that order: with a
    /// shuffled order, a random class-balanced draw. Errors if a class has
    /// fewer.
    pub fn balanced_in_order(
        &self,
        per_class: usize,
        order: impl IntoIterator<Item = usize>,
    ) -> anyhow::Result<Split> {
        let mut taken = [0usize; 10];
        let mut keep = Vec::with_capacity(per_class * 10);
        for i in order {
            let l = self.labels[i];
            if taken[l as usize] < per_class {
                taken[l as usize] += 1;
                keep.push(i);
            }
        }
        if let Some(d) = taken.iter().position(|&t| t < per_class) {
            anyhow::bail!(
                "the training split has only {} images of class {d}, {per_class} are needed",
                taken[d]
            );
        }
        Ok(self.select(&keep))
    }

    /// The examples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Split {
        let n = self.images.pixels_per_image();
        let mut pixels = Vec::with_capacity(indices.len() * n);
        for &i in indices {
            pixels.extend_from_slice(self.images.image(i));
        }
        Split {
            images: Images {
                count: indices.len(),
                rows: self.images.rows,
                cols: self.images.cols,
                pixels,
            },
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
        }
    }

    /// These examples followed by `other`'s (images of the same size).
    pub fn concat(&self, other: &Split) -> Split {
        assert_eq!(
            (self.images.rows, self.images.cols),
            (other.images.rows, other.images.cols),
            "concatenated splits have images of one size"
        );
        let mut pixels = self.images.pixels.clone();
        pixels.extend_from_slice(&other.images.pixels);
        let mut labels = self.labels.clone();
        labels.extend_from_slice(&other.labels);
        Split {
            images: Images {
                count: self.images.count + other.images.count,
                pixels,
                rows: self.images.rows,
                cols: self.images.cols,
            },
            labels,
        }
    }

    /// Mean pixel value in [0, 1]: the L1 error of the all-black image.
    pub fn mean_pixel(&self) -> f64 {
        self.images.mean_intensity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_subsets_take_the_first_of_each_class() {
        let labels: Vec<u8> = (0..40).map(|i| (i % 10) as u8).collect();
        let split = Split {
            images: Images {
                count: 40,
                rows: 1,
                cols: 1,
                pixels: (0..40).collect(),
            },
            labels,
        };
        let b = split.balanced(2).unwrap();
        assert_eq!(b.len(), 20);
        assert_eq!(b.images.pixels, (0..20).collect::<Vec<u8>>());
        assert!(split.balanced(5).is_err());
        // In a given order: the first two of each digit met in that order.
        let b = split.balanced_in_order(2, (0..40).rev()).unwrap();
        assert_eq!(b.images.pixels, (20..40).rev().collect::<Vec<u8>>());
        assert_eq!(b.labels.iter().filter(|&&l| l == 3).count(), 2);
    }

    #[test]
    fn concatenated_splits_keep_both_in_order() {
        let split = |labels: Vec<u8>, v: u8| Split {
            images: Images {
                count: labels.len(),
                rows: 2,
                cols: 2,
                pixels: vec![v; 4 * labels.len()],
            },
            labels,
        };
        let both = split(vec![1, 2], 10).concat(&split(vec![3], 20));
        assert_eq!(both.labels, [1, 2, 3]);
        assert_eq!(both.images.count, 3);
        assert_eq!(both.images.image(2), [20; 4]);
        assert_eq!(both.images.image(1), [10; 4]);
    }
}

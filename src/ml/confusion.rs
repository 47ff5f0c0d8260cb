//! Confusion matrix and per-class scores, from our own counts: precision is
//! a column's share of correct predictions (of the images predicted as the
//! class), recall a row's (of the images of the class). linfa 0.8's
//! one-vs-all split of `prediction.confusion_matrix(&truth)` gave the two the
//! other way round; the test below has classes whose row and column sums
//! differ, so it tells them apart.

use anyhow::{Result, bail};

/// `counts[true][predicted]`.
pub fn confusion_counts(truth: &[u8], predicted: &[u8]) -> [[u64; 10]; 10] {
    let mut m = [[0u64; 10]; 10];
    for (&t, &p) in truth.iter().zip(predicted) {
        m[t as usize][p as usize] += 1;
    }
    m
}

#[derive(Debug, Clone, Copy)]
pub struct ClassScores {
    pub digit: u8,
    pub support: u64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Accuracy and per-class precision/recall/F1 of the classes that occur.
pub fn class_scores(truth: &[u8], predicted: &[u8]) -> Result<(f64, Vec<ClassScores>)> {
    if truth.len() != predicted.len() || truth.is_empty() {
        bail!(
            "class scores need as many predictions as labels, at least one ({} vs {})",
            predicted.len(),
            truth.len()
        );
    }
    let counts = confusion_counts(truth, predicted);
    let correct: u64 = (0..10).map(|d| counts[d][d]).sum();
    let accuracy = correct as f64 / truth.len() as f64;
    let mut labels: Vec<u8> = truth.iter().chain(predicted).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let scores = labels
        .into_iter()
        .map(|digit| {
            let d = digit as usize;
            let tp = counts[d][d];
            let support: u64 = counts[d].iter().sum();
            let predicted_as: u64 = (0..10).map(|t| counts[t][d]).sum();
            let precision = ratio(tp, predicted_as);
            let recall = ratio(tp, support);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            ClassScores {
                digit,
                support,
                precision,
                recall,
                f1,
            }
        })
        .collect();
    Ok((accuracy, scores))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_is_per_column_and_recall_per_row() {
        // Class 0: 2 images, 1 found; predicted 3 times (1 right).
        // Class 2: 4 images, 3 found; predicted 3 times (3 right).
        let truth = [0u8, 0, 1, 1, 1, 2, 2, 2, 2];
        let pred = [0u8, 1, 1, 1, 0, 2, 2, 2, 0];
        let m = confusion_counts(&truth, &pred);
        assert_eq!(m[0][0], 1);
        assert_eq!(m[1][0], 1);
        assert_eq!(m[2][0], 1);
        let (acc, scores) = class_scores(&truth, &pred).unwrap();
        assert!((acc - 6.0 / 9.0).abs() < 1e-6);
        assert!((scores[0].precision - 1.0 / 3.0).abs() < 1e-12);
        assert!((scores[0].recall - 0.5).abs() < 1e-12);
        assert!((scores[2].precision - 1.0).abs() < 1e-12);
        assert!((scores[2].recall - 0.75).abs() < 1e-12);
        for s in &scores {
            let d = s.digit as usize;
            let tp = m[d][d] as f64;
            let col: u64 = (0..10).map(|t| m[t][d]).sum();
            let row: u64 = m[d].iter().sum();
            assert!((s.precision - tp / col as f64).abs() < 1e-6, "{s:?}");
            assert!((s.recall - tp / row as f64).abs() < 1e-6, "{s:?}");
        }
    }
}

//! Confusion matrix and per-class scores. Counts are ours (for the heat map);
//! precision, recall and F1 come from linfa's `ConfusionMatrix`, and a test
//! checks the two agree.

use anyhow::{Result, anyhow};
use linfa::prelude::ToConfusionMatrix;
use ndarray::Array1;

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

/// Accuracy and per-class precision/recall/F1, through linfa.
pub fn class_scores(truth: &[u8], predicted: &[u8]) -> Result<(f64, Vec<ClassScores>)> {
    let t = Array1::from_iter(truth.iter().map(|&l| l as usize));
    let p = Array1::from_iter(predicted.iter().map(|&l| l as usize));
    let cm = p
        .confusion_matrix(&t)
        .map_err(|e| anyhow!("confusion matrix: {e}"))?;
    let accuracy = cm.accuracy() as f64;
    // linfa orders classes by label; it only knows labels that occur.
    let mut labels: Vec<u8> = truth.iter().chain(predicted).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    let counts = confusion_counts(truth, predicted);
    let scores = cm
        .split_one_vs_all()
        .iter()
        .zip(labels)
        .map(|(bin, digit)| ClassScores {
            digit,
            support: counts[digit as usize].iter().sum(),
            precision: nan_to_zero(bin.precision()),
            recall: nan_to_zero(bin.recall()),
            f1: nan_to_zero(bin.f1_score()),
        })
        .collect();
    Ok((accuracy, scores))
}

fn nan_to_zero(v: f32) -> f64 {
    if v.is_finite() { v as f64 } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linfa_scores_agree_with_the_counts() {
        let truth = [0u8, 0, 1, 1, 1, 2, 2, 2, 2];
        let pred = [0u8, 1, 1, 1, 2, 2, 2, 2, 0];
        let m = confusion_counts(&truth, &pred);
        assert_eq!(m[0][0], 1);
        assert_eq!(m[1][2], 1);
        assert_eq!(m[2][0], 1);
        let (acc, scores) = class_scores(&truth, &pred).unwrap();
        assert!((acc - 6.0 / 9.0).abs() < 1e-6);
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

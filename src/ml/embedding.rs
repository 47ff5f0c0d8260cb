//! How classes sit in an embedding: spread within a class, distance between
//! classes. Shared by `center-loss` and `classifier-decoding`, so both
//! chapters measure with the same ruler.

use serde::{Deserialize, Serialize};

/// Statistics of labelled points (n × dim, row-major).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct EmbeddingStats {
    /// Mean Euclidean distance of a point to its class centroid.
    pub intra: f64,
    /// Mean Euclidean distance between two class centroids (all pairs).
    pub inter: f64,
    /// intra / inter: lower means tighter, better separated classes.
    pub ratio: f64,
    /// Mean distance of a point to the global centroid: the overall scale.
    pub spread: f64,
    /// intra / spread, comparable across embeddings of different scale.
    pub intra_normalised: f64,
    /// inter / spread.
    pub inter_normalised: f64,
}

fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

pub fn centroids(points: &[f32], dim: usize, labels: &[u8]) -> Vec<Vec<f64>> {
    let mut sums = vec![vec![0f64; dim]; 10];
    let mut counts = [0usize; 10];
    for (i, &l) in labels.iter().enumerate() {
        counts[l as usize] += 1;
        for d in 0..dim {
            sums[l as usize][d] += points[i * dim + d] as f64;
        }
    }
    sums.iter_mut()
        .zip(counts)
        .map(|(s, c)| s.iter().map(|v| v / c.max(1) as f64).collect())
        .collect()
}

pub fn embedding_stats(points: &[f32], dim: usize, labels: &[u8]) -> EmbeddingStats {
    let n = labels.len();
    assert_eq!(points.len(), n * dim, "points must be n × dim");
    let cents = centroids(points, dim, labels);
    let present: Vec<usize> = (0..10).filter(|&c| labels.contains(&(c as u8))).collect();
    let global: Vec<f64> = (0..dim)
        .map(|d| (0..n).map(|i| points[i * dim + d] as f64).sum::<f64>() / n as f64)
        .collect();
    let row = |i: usize| -> Vec<f64> {
        points[i * dim..(i + 1) * dim]
            .iter()
            .map(|&v| v as f64)
            .collect()
    };
    let (mut intra, mut spread) = (0.0, 0.0);
    for i in 0..n {
        let p = row(i);
        intra += dist(&p, &cents[labels[i] as usize]);
        spread += dist(&p, &global);
    }
    intra /= n as f64;
    spread /= n as f64;
    let mut inter = 0.0;
    let mut pairs = 0;
    for (a, &ca) in present.iter().enumerate() {
        for &cb in &present[a + 1..] {
            inter += dist(&cents[ca], &cents[cb]);
            pairs += 1;
        }
    }
    inter /= pairs.max(1) as f64;
    EmbeddingStats {
        intra,
        inter,
        ratio: intra / inter,
        spread,
        intra_normalised: intra / spread,
        inter_normalised: inter / spread,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two classes, each four points at distance r from its centre (±r on
    /// each axis), centres 10 apart on the x axis.
    fn clusters(r: f32) -> (Vec<f32>, Vec<u8>) {
        let mut pts = Vec::new();
        let mut labels = Vec::new();
        for (class, cx) in [(0u8, 0.0f32), (1, 10.0)] {
            for (dx, dy) in [(r, 0.0), (-r, 0.0), (0.0, r), (0.0, -r)] {
                pts.extend([cx + dx, dy]);
                labels.push(class);
            }
        }
        (pts, labels)
    }

    #[test]
    fn known_clusters_give_known_statistics() {
        let (pts, labels) = clusters(1.0);
        let s = embedding_stats(&pts, 2, &labels);
        assert!((s.intra - 1.0).abs() < 1e-9, "{s:?}");
        assert!((s.inter - 10.0).abs() < 1e-9, "{s:?}");
        assert!((s.ratio - 0.1).abs() < 1e-9);
        // Tighter clusters: smaller intra, same inter.
        let t = embedding_stats(&clusters(0.5).0, 2, &labels);
        assert!(t.intra < s.intra && (t.inter - s.inter).abs() < 1e-9);
    }

    #[test]
    fn normalised_statistics_do_not_depend_on_scale() {
        let (pts, labels) = clusters(1.0);
        let scaled: Vec<f32> = pts.iter().map(|v| v * 7.0).collect();
        let (a, b) = (
            embedding_stats(&pts, 2, &labels),
            embedding_stats(&scaled, 2, &labels),
        );
        assert!((a.intra_normalised - b.intra_normalised).abs() < 1e-6);
        assert!((a.inter_normalised - b.inter_normalised).abs() < 1e-6);
        assert!((b.intra - 7.0 * a.intra).abs() < 1e-5);
    }
}

//! A small MLP that classifies latent codes directly (the d=2 latent map's
//! background). Inputs are standardised with the training codes' statistics.

use burn::module::{AutodiffModule, Module};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::batch::read_f32;
use super::classify::labels_tensor;
use crate::nn::init::seeded_init;

#[derive(Module, Debug)]
pub struct CodeClassifier<B: Backend> {
    hidden1: Linear<B>,
    hidden2: Linear<B>,
    output: Linear<B>,
}

/// A fitted code classifier with the standardisation it was trained with.
pub struct FittedCodeClassifier<B: Backend> {
    pub model: CodeClassifier<B>,
    pub standardisation: Standardisation,
}

/// The training codes' per-dimension mean and deviation, which a fitted
/// classifier's inputs are standardised with (stored beside its weights).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Standardisation {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl<B: Backend> CodeClassifier<B> {
    /// An untrained classifier of `dim`-dimensional codes.
    pub fn init(dim: usize, hidden: usize, device: &B::Device) -> Self {
        CodeClassifier {
            hidden1: LinearConfig::new(dim, hidden).init(device),
            hidden2: LinearConfig::new(hidden, hidden).init(device),
            output: LinearConfig::new(hidden, 10).init(device),
        }
    }

    fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        let x = relu(self.hidden1.forward(x));
        let x = relu(self.hidden2.forward(x));
        self.output.forward(x)
    }
}

impl Standardisation {
    /// The per-dimension mean and deviation of `codes` (`n × dim`); a
    /// dimension that does not vary keeps a tiny deviation, not zero.
    pub fn fit(codes: &[f32], dim: usize) -> Self {
        let n = codes.len() / dim;
        let mean: Vec<f32> = (0..dim)
            .map(|j| (0..n).map(|i| codes[i * dim + j]).sum::<f32>() / n as f32)
            .collect();
        let std: Vec<f32> = (0..dim)
            .map(|j| {
                let v = (0..n)
                    .map(|i| (codes[i * dim + j] - mean[j]).powi(2))
                    .sum::<f32>()
                    / n as f32;
                v.sqrt().max(1e-6)
            })
            .collect();
        Self { mean, std }
    }

    /// `codes` standardised with these statistics.
    pub fn apply(&self, codes: &[f32]) -> Vec<f32> {
        let dim = self.mean.len();
        codes
            .iter()
            .enumerate()
            .map(|(i, &v)| (v - self.mean[i % dim]) / self.std[i % dim])
            .collect()
    }
}

/// Examples `idx` of the codes `x` (`n × dim`) and their labels, as one
/// batch on the device.
pub(super) fn code_batch<B: Backend>(
    x: &[f32],
    labels: &[u8],
    dim: usize,
    idx: &[usize],
    device: &B::Device,
) -> (Tensor<B, 2>, Tensor<B, 1, Int>) {
    let mut codes = Vec::with_capacity(idx.len() * dim);
    for &i in idx {
        codes.extend_from_slice(&x[i * dim..(i + 1) * dim]);
    }
    let batch_labels: Vec<u8> = idx.iter().map(|&i| labels[i]).collect();
    (
        Tensor::from_data(TensorData::new(codes, [idx.len(), dim]), device),
        labels_tensor::<B>(&batch_labels, device),
    )
}

/// Settings of the code classifier's training.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct CodeClassifierTraining {
    pub hidden: usize,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

/// Fits the MLP to `codes` (n × dim) and their labels with Adam.
pub fn fit_code_classifier<B: AutodiffBackend>(
    codes: &[f32],
    dim: usize,
    labels: &[u8],
    t: &CodeClassifierTraining,
    device: &B::Device,
) -> FittedCodeClassifier<B::InnerBackend> {
    let n = labels.len();
    let standardisation = Standardisation::fit(codes, dim);
    let x = standardisation.apply(codes);
    let mut model = seeded_init::<B, _>(device, t.seed, || {
        CodeClassifier::init(dim, t.hidden, device)
    });
    let mut optim = AdamConfig::new().init();
    let ce = CrossEntropyLossConfig::new().init(device);
    let mut rng = StdRng::seed_from_u64(t.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let batch = t.batch_size.min(n).max(1);
    for _ in 0..t.epochs {
        order.shuffle(&mut rng);
        for idx in order.chunks_exact(batch) {
            let (input, targets) = code_batch::<B>(&x, labels, dim, idx, device);
            let loss = ce.forward(model.forward(input), targets);
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(t.learning_rate, model, grads);
        }
    }
    FittedCodeClassifier {
        model: model.valid(),
        standardisation,
    }
}

impl<B: Backend> FittedCodeClassifier<B> {
    /// Class probabilities of each code (n × 10, row-major).
    pub fn probabilities(&self, codes: &[f32], device: &B::Device) -> Vec<f32> {
        let dim = self.standardisation.mean.len();
        let x = self.standardisation.apply(codes);
        let n = x.len() / dim;
        let input = Tensor::<B, 2>::from_data(TensorData::new(x, [n, dim]), device);
        read_f32(softmax(self.model.forward(input), 1))
    }

    /// Most probable class of each code.
    pub fn predict(&self, codes: &[f32], device: &B::Device) -> Vec<u8> {
        self.probabilities(codes, device)
            .chunks(10)
            .map(|p| {
                (0..10)
                    .max_by(|&a, &b| p[a].total_cmp(&p[b]))
                    .expect("ten classes") as u8
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};

    #[test]
    fn separates_ten_clusters_in_the_plane() {
        let mut codes = Vec::new();
        let mut labels = Vec::new();
        for c in 0..10u8 {
            let angle = c as f32 * std::f32::consts::TAU / 10.0;
            for i in 0..30 {
                let r = 5.0 + (i % 5) as f32 * 0.1;
                codes.extend([r * angle.cos() + 100.0, r * angle.sin()]);
                labels.push(c);
            }
        }
        let device = Default::default();
        let t = CodeClassifierTraining {
            hidden: 32,
            epochs: 200,
            batch_size: 30,
            learning_rate: 1e-2,
            seed: 1,
        };
        let fitted = fit_code_classifier::<Autodiff<Flex>>(&codes, 2, &labels, &t, &device);
        let predicted = fitted.predict(&codes, &device);
        let correct = predicted
            .iter()
            .zip(&labels)
            .filter(|(p, l)| p == l)
            .count();
        assert!(correct >= 290, "{correct} of 300");
        let p = fitted.probabilities(&codes[..2], &device);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
}

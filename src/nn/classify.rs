//! Training and evaluating the classifier: cross-entropy, optionally plus
//! center loss (Wen et al. 2016), optionally with a frozen encoder.

use std::time::Instant;

use burn::config::Config;
use burn::module::{AutodiffModule, Module};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::batch::images_to_tensor;
use super::classifier::Classifier;
use crate::data::Split;
use crate::error::Ex2Error;
use crate::progress::TrainProgress;

#[derive(Config, Debug)]
pub struct CenterLossConfig {
    /// Weight λ of the center loss.
    pub lambda: f64,
    /// Learning rate α of the class centres.
    pub alpha: f64,
}

#[derive(Config, Debug)]
pub struct ClassifierTrainingConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
    #[config(default = "None")]
    pub center_loss: Option<CenterLossConfig>,
    /// Train only the head; the encoder keeps its initial weights.
    #[config(default = false)]
    pub freeze_encoder: bool,
    /// Evaluate on the test split every this many epochs (and after the last).
    #[config(default = 1)]
    pub eval_every: usize,
}

/// One evaluated epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassEpoch {
    pub epoch: usize,
    /// Training time so far, evaluation excluded.
    pub elapsed_seconds: f64,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub test_loss: f64,
    pub test_accuracy: f64,
}

pub fn labels_tensor<B: Backend>(labels: &[u8], device: &B::Device) -> Tensor<B, 1, Int> {
    let data = TensorData::new(
        labels.iter().map(|&l| l as i64).collect::<Vec<_>>(),
        [labels.len()],
    );
    Tensor::from_data(data.convert::<B::IntElem>(), device)
}

fn one_hot<B: Backend>(labels: &[u8], device: &B::Device) -> Tensor<B, 2> {
    let mut v = vec![0f32; labels.len() * 10];
    for (i, &l) in labels.iter().enumerate() {
        v[i * 10 + l as usize] = 1.0;
    }
    Tensor::from_data(TensorData::new(v, [labels.len(), 10]), device)
}

/// ½·mean over the batch of ‖xᵢ − c_yᵢ‖² (Wen et al.'s L_C, per example).
pub fn center_loss<B: Backend>(
    features: Tensor<B, 2>,
    labels: &[u8],
    centers: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let device = features.device();
    let assigned = one_hot::<B>(labels, &device).matmul(centers);
    (features - assigned)
        .powf_scalar(2.0)
        .sum_dim(1)
        .mean()
        .mul_scalar(0.5)
}

/// Wen et al.'s centre update: Δc_j = Σᵢ δ(yᵢ=j)(c_j − xᵢ) / (1 + Σᵢ δ(yᵢ=j)),
/// c_j ← c_j − α·Δc_j. `centers` is 10×k row-major, `features` m×k.
pub fn update_centers(centers: &mut [f64], features: &[f32], labels: &[u8], alpha: f64) {
    let k = centers.len() / 10;
    let mut delta = vec![0f64; centers.len()];
    let mut count = [0usize; 10];
    for (i, &l) in labels.iter().enumerate() {
        let j = l as usize;
        count[j] += 1;
        for d in 0..k {
            delta[j * k + d] += centers[j * k + d] - features[i * k + d] as f64;
        }
    }
    for j in 0..10 {
        for d in 0..k {
            centers[j * k + d] -= alpha * delta[j * k + d] / (1.0 + count[j] as f64);
        }
    }
}

/// Outputs of a classifier on a set of images.
pub struct Embedded {
    pub codes: Vec<f32>,
    pub code_dim: usize,
    pub features: Vec<f32>,
    pub feature_dim: usize,
    pub predictions: Vec<u8>,
    pub loss: f64,
    pub accuracy: f64,
}

const EVAL_BATCH: usize = 1000;

fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec()
        .expect("float tensor converts to f32")
}

/// Runs the classifier over `split`: codes, features, predictions, mean
/// cross-entropy and accuracy.
pub fn embed<B: Backend>(model: &Classifier<B>, split: &Split, device: &B::Device) -> Embedded {
    let ce = CrossEntropyLossConfig::new().init(device);
    let mut out = Embedded {
        codes: Vec::new(),
        code_dim: 0,
        features: Vec::new(),
        feature_dim: 0,
        predictions: Vec::new(),
        loss: 0.0,
        accuracy: 0.0,
    };
    let mut buffer = Vec::new();
    let all: Vec<usize> = (0..split.len()).collect();
    let mut loss_sum = 0.0;
    for chunk in all.chunks(EVAL_BATCH) {
        let x = images_to_tensor::<B>(&split.images, chunk, &mut buffer, device);
        let labels: Vec<u8> = chunk.iter().map(|&i| split.labels[i]).collect();
        let (codes, features, logits) = model.forward_all(x);
        out.code_dim = codes.dims()[1];
        out.feature_dim = features.dims()[1];
        let loss = ce.forward(logits.clone(), labels_tensor::<B>(&labels, device));
        loss_sum += loss.into_scalar().elem::<f64>() * chunk.len() as f64;
        let pred = logits.argmax(1).into_data().convert::<i64>();
        out.predictions.extend(
            pred.into_vec::<i64>()
                .expect("ints")
                .iter()
                .map(|&p| p as u8),
        );
        out.codes.extend(to_vec(codes));
        out.features.extend(to_vec(features));
    }
    let correct = out
        .predictions
        .iter()
        .zip(&split.labels)
        .filter(|(p, l)| p == l)
        .count();
    out.loss = loss_sum / split.len() as f64;
    out.accuracy = correct as f64 / split.len() as f64;
    out
}

/// Trains `model` on `train`, evaluating on `test`. Returns the final model
/// and one record per evaluated epoch.
pub fn train_classifier<B: AutodiffBackend>(
    name: &str,
    mut model: Classifier<B>,
    train: &Split,
    test: &Split,
    config: &ClassifierTrainingConfig,
    device: &B::Device,
) -> Result<(Classifier<B>, Vec<ClassEpoch>), Ex2Error> {
    if config.freeze_encoder {
        model.encoder = model.encoder.no_grad();
    }
    let mut optim = AdamConfig::new().init();
    let ce = CrossEntropyLossConfig::new().init(device);
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..train.len()).collect();
    let batch = config.batch_size.min(train.len());
    let batches = train.len() / batch;
    let progress = TrainProgress::new(name, config.epochs, batches);
    let mut buffer = Vec::new();
    let mut history = Vec::new();
    let mut elapsed = 0.0;
    let k = model
        .head
        .forward(Tensor::zeros([1, model_latent(&model, device)], device))
        .0
        .dims()[1];
    let mut centers = vec![0f64; 10 * k];

    for epoch in 1..=config.epochs {
        let started = Instant::now();
        order.shuffle(&mut rng);
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0usize, 0usize);
        for (b, idx) in order.chunks_exact(batch).enumerate() {
            let x = images_to_tensor::<B>(&train.images, idx, &mut buffer, device);
            let labels: Vec<u8> = idx.iter().map(|&i| train.labels[i]).collect();
            let (_, features, logits) = model.forward_all(x);
            let mut loss = ce.forward(logits.clone(), labels_tensor::<B>(&labels, device));
            if let Some(cl) = &config.center_loss {
                let c = Tensor::<B, 2>::from_data(
                    TensorData::new(
                        centers.iter().map(|&v| v as f32).collect::<Vec<_>>(),
                        [10, k],
                    ),
                    device,
                );
                loss = loss + center_loss(features.clone(), &labels, c).mul_scalar(cl.lambda);
                let feats = to_vec(features.detach());
                update_centers(&mut centers, &feats, &labels, cl.alpha);
            }
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.learning_rate, model, grads);

            let value = loss.into_scalar().elem::<f64>();
            if !value.is_finite() {
                progress.finish();
                return Err(Ex2Error::Diverged {
                    model: name.to_string(),
                    what: "the training loss".into(),
                    value,
                    epoch,
                    batch: b + 1,
                });
            }
            let pred = logits.argmax(1).into_data().convert::<i64>();
            correct += pred
                .into_vec::<i64>()
                .expect("ints")
                .iter()
                .zip(&labels)
                .filter(|(p, l)| **p == **l as i64)
                .count();
            loss_sum += value * idx.len() as f64;
            seen += idx.len();
            progress.batch(epoch, Some(value));
        }
        elapsed += started.elapsed().as_secs_f64();
        if epoch % config.eval_every.max(1) == 0 || epoch == config.epochs {
            let eval = embed(&model.valid(), test, device);
            if !eval.loss.is_finite() {
                progress.finish();
                return Err(Ex2Error::Diverged {
                    model: name.to_string(),
                    what: "the test loss".into(),
                    value: eval.loss,
                    epoch,
                    batch: batches,
                });
            }
            let record = ClassEpoch {
                epoch,
                elapsed_seconds: elapsed,
                train_loss: loss_sum / seen as f64,
                train_accuracy: correct as f64 / seen as f64,
                test_loss: eval.loss,
                test_accuracy: eval.accuracy,
            };
            progress.epoch(&format!(
                "epoch {epoch}/{}: train loss {:.4} acc {:.4}, test loss {:.4} acc {:.4}",
                config.epochs,
                record.train_loss,
                record.train_accuracy,
                record.test_loss,
                record.test_accuracy
            ));
            history.push(record);
        }
    }
    progress.finish();
    Ok((model, history))
}

fn model_latent<B: Backend>(model: &Classifier<B>, device: &B::Device) -> usize {
    model
        .encoder
        .forward(Tensor::zeros([1, 1, 28, 28], device))
        .dims()[1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn center_loss_matches_a_hand_computed_value() {
        let device = Default::default();
        // Two 2-D features of classes 0 and 1; centres at the origin and (1, 1).
        let features = Tensor::<Flex, 2>::from_data([[1.0f32, 2.0], [1.0, 1.0]], &device);
        let mut c = vec![0f32; 20];
        c[2] = 1.0;
        c[3] = 1.0;
        let centers = Tensor::<Flex, 2>::from_data(TensorData::new(c, [10, 2]), &device);
        let v: f32 = center_loss(features, &[0, 1], centers).into_scalar();
        // ½ · mean(‖(1,2)−(0,0)‖², ‖(1,1)−(1,1)‖²) = ½ · (5 + 0) / 2
        assert!((v - 1.25).abs() < 1e-6, "{v}");
    }

    #[test]
    fn center_update_follows_wen_et_al() {
        let mut centers = vec![0f64; 20];
        // Two examples of class 3 at (2, 0) and (4, 2): Δc = ((0−2)+(0−4), (0−0)+(0−2)) / 3.
        update_centers(&mut centers, &[2.0, 0.0, 4.0, 2.0], &[3, 3], 0.5);
        assert!((centers[6] - 1.0).abs() < 1e-12, "{}", centers[6]);
        assert!((centers[7] - 1.0 / 3.0).abs() < 1e-12, "{}", centers[7]);
        // Classes without examples stay put.
        assert!(centers[..6].iter().chain(&centers[8..]).all(|&c| c == 0.0));
    }
}

//! A classifier head trained on the codes of a frozen encoder, standardised
//! with the training codes' statistics: transfer's frozen variants with a
//! linear or an MLP head. With the encoder frozen, training the head on its
//! codes is training the whole classifier, so the codes are computed once
//! and the head trains in milliseconds; nothing here is cached.

use std::time::Instant;

use anyhow::{Result, ensure};
use burn::module::{AutodiffModule, Module};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::batch::read_f32;
use super::classifier::{ClassifierConfig, MlpHead};
use super::classify::{ClassEpoch, ClassifierTrainingConfig, labels_tensor};
use super::code_classifier::{Standardisation, code_batch};
use super::init::seeded_init;

/// The head's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadKind {
    /// One linear layer: softmax regression on the codes.
    Linear,
    /// The classifier's own head: a hidden layer of `hidden` PReLU units.
    Mlp { hidden: usize },
}

// One head per training, moved by value through the optimiser: the size
// difference between the variants costs nothing here.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum CodeHead<B: Backend> {
    Linear(Linear<B>),
    Mlp(MlpHead<B>),
}

impl<B: Backend> CodeHead<B> {
    fn init(kind: HeadKind, dim: usize, device: &B::Device) -> Self {
        match kind {
            HeadKind::Linear => CodeHead::Linear(LinearConfig::new(dim, 10).init(device)),
            HeadKind::Mlp { hidden } => {
                CodeHead::Mlp(ClassifierConfig::new(dim, hidden).init_head(device))
            }
        }
    }

    /// Standardised codes → logits.
    fn forward(&self, codes: Tensor<B, 2>) -> Tensor<B, 2> {
        match self {
            CodeHead::Linear(l) => l.forward(codes),
            CodeHead::Mlp(m) => m.forward(codes).1,
        }
    }
}

/// Codes (`n × dim`, row-major) with their labels.
#[derive(Clone, Copy)]
pub struct LabelledCodes<'a> {
    pub codes: &'a [f32],
    pub labels: &'a [u8],
}

/// Standardised codes of one split, on the device.
struct DeviceCodes<B: Backend> {
    codes: Tensor<B, 2>,
    labels: Vec<u8>,
}

impl<B: Backend> DeviceCodes<B> {
    fn upload(c: LabelledCodes, s: &Standardisation, device: &B::Device) -> Self {
        let dim = s.mean.len();
        let n = c.labels.len();
        Self {
            codes: Tensor::from_data(TensorData::new(s.apply(c.codes), [n, dim]), device),
            labels: c.labels.to_vec(),
        }
    }

    /// Mean cross-entropy and accuracy of `head` on these codes.
    fn score(&self, head: &CodeHead<B>) -> (f64, f64) {
        let device = self.codes.device();
        let logits = head.forward(self.codes.clone());
        let labels = labels_tensor::<B>(&self.labels, &device);
        let loss = CrossEntropyLossConfig::new()
            .init(&device)
            .forward(logits.clone(), labels);
        let predicted = read_f32(logits.argmax(1).float());
        let correct = predicted
            .iter()
            .zip(&self.labels)
            .filter(|(p, l)| **p as u8 == **l)
            .count();
        (
            read_f32(loss)[0] as f64,
            correct as f64 / self.labels.len() as f64,
        )
    }
}

/// Trains a `kind` head on `train`'s codes with Adam, batches and seed as
/// `config` says (its encoder settings do not apply), scoring train,
/// validation and test codes every `eval_every` epochs and after the last.
pub fn train_code_head<B: AutodiffBackend>(
    kind: HeadKind,
    train: LabelledCodes,
    validation: LabelledCodes,
    test: LabelledCodes,
    config: &ClassifierTrainingConfig,
    device: &B::Device,
) -> Result<Vec<ClassEpoch>> {
    let n = train.labels.len();
    ensure!(n > 0, "a code head needs training codes");
    let dim = train.codes.len() / n;
    let standardisation = Standardisation::fit(train.codes, dim);
    let x = standardisation.apply(train.codes);
    let train_inner = DeviceCodes::<B::InnerBackend>::upload(train, &standardisation, device);
    let validation = DeviceCodes::<B::InnerBackend>::upload(validation, &standardisation, device);
    let test = DeviceCodes::<B::InnerBackend>::upload(test, &standardisation, device);

    let mut head = seeded_init::<B, _>(device, config.seed, || CodeHead::init(kind, dim, device));
    let mut optim = AdamConfig::new().init();
    let ce = CrossEntropyLossConfig::new().init(device);
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let batch = config.batch_size.min(n);
    let mut history = Vec::new();
    let mut elapsed = 0.0;
    for epoch in 1..=config.epochs {
        let started = Instant::now();
        order.shuffle(&mut rng);
        for idx in order.chunks_exact(batch) {
            let (input, targets) = code_batch::<B>(&x, train.labels, dim, idx, device);
            let loss = ce.forward(head.forward(input), targets);
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            head = optim.step(config.learning_rate, head, grads);
        }
        elapsed += started.elapsed().as_secs_f64();
        if epoch % config.eval_every.max(1) == 0 || epoch == config.epochs {
            let evaluated = head.valid();
            let (train_loss, train_accuracy) = train_inner.score(&evaluated);
            let (test_loss, test_accuracy) = test.score(&evaluated);
            let (validation_loss, validation_accuracy) = validation.score(&evaluated);
            ensure!(
                train_loss.is_finite() && test_loss.is_finite(),
                "a {kind:?} head on the frozen codes diverged at epoch {epoch} \
                 (train loss {train_loss}, test loss {test_loss})"
            );
            history.push(ClassEpoch {
                epoch,
                elapsed_seconds: elapsed,
                train_loss,
                train_accuracy,
                test_loss,
                test_accuracy,
                validation_loss: Some(validation_loss),
                validation_accuracy: Some(validation_accuracy),
            });
        }
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};

    /// Ten well-separated clusters on a large offset and scale: the raw
    /// codes would saturate a head, the standardised ones are easy.
    fn clusters(per_class: usize, jitter: f32) -> (Vec<f32>, Vec<u8>) {
        let (mut codes, mut labels) = (Vec::new(), Vec::new());
        for c in 0..10u8 {
            for i in 0..per_class {
                let e = jitter * (i as f32 - per_class as f32 / 2.0) / per_class as f32;
                let mut z = vec![1000.0; 10];
                z[c as usize] += 50.0 + e;
                codes.extend(z);
                labels.push(c);
            }
        }
        (codes, labels)
    }

    #[test]
    fn linear_and_mlp_heads_learn_standardised_codes() {
        let (codes, labels) = clusters(8, 10.0);
        let (test_codes, test_labels) = clusters(20, 12.0);
        let set = LabelledCodes {
            codes: &codes,
            labels: &labels,
        };
        let test = LabelledCodes {
            codes: &test_codes,
            labels: &test_labels,
        };
        let config = ClassifierTrainingConfig::new(30, 20, 1e-2, 7).with_eval_every(10);
        let device = Default::default();
        for kind in [HeadKind::Linear, HeadKind::Mlp { hidden: 16 }] {
            let history =
                train_code_head::<Autodiff<Flex>>(kind, set, set, test, &config, &device).unwrap();
            assert_eq!(
                history.iter().map(|r| r.epoch).collect::<Vec<_>>(),
                [10, 20, 30]
            );
            let last = history.last().unwrap();
            assert!(last.test_accuracy > 0.95, "{kind:?}: {last:?}");
            assert!(last.validation_accuracy.unwrap() > 0.95, "{kind:?}");
            // The same seed trains the same head.
            let again =
                train_code_head::<Autodiff<Flex>>(kind, set, set, test, &config, &device).unwrap();
            assert_eq!(again.last().unwrap().test_loss, last.test_loss);
        }
    }
}

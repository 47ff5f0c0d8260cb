//! The reconstruction training loop (Adam, shuffled mini-batches, per-epoch
//! evaluation on the test split).

use std::time::Instant;

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::ElementConversion;
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::batch::images_to_tensor;
use super::conv_ae::ConvAutoencoder;
use crate::data::Images;
use crate::error::Ex2Error;
use crate::progress::TrainProgress;

/// Everything that determines a reconstruction training run.
#[derive(Config, Debug)]
pub struct ReconstructionTrainingConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Leading epochs trained on MSE instead of mean L1.
    #[config(default = 0)]
    pub mse_warmup_epochs: usize,
    pub seed: u64,
}

/// Loss that drives the gradient in an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReconstructionLoss {
    Mse,
    L1,
}

impl ReconstructionLoss {
    pub fn as_str(self) -> &'static str {
        match self {
            ReconstructionLoss::Mse => "mse",
            ReconstructionLoss::L1 => "l1",
        }
    }
}

/// One epoch of a training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub loss: ReconstructionLoss,
    /// Mean L1 over the epoch's training batches (as they were seen).
    pub train_l1: f64,
    pub test_l1: f64,
    pub test_mse: f64,
    /// Wall time of the epoch's training steps, evaluation excluded.
    pub train_seconds: f64,
    pub eval_seconds: f64,
}

/// Mean per-pixel L1 and MSE of a model over a set of images.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReconstructionError {
    pub l1: f64,
    pub mse: f64,
}

/// Images per evaluation batch: large, since no gradients are kept.
const EVAL_BATCH: usize = 1000;

pub fn evaluate<B: Backend>(
    model: &ConvAutoencoder<B>,
    images: &Images,
    device: &B::Device,
) -> ReconstructionError {
    let (mut l1, mut mse) = (0.0f64, 0.0f64);
    let mut buffer = Vec::new();
    let all: Vec<usize> = (0..images.count).collect();
    for chunk in all.chunks(EVAL_BATCH) {
        let x = images_to_tensor::<B>(images, chunk, &mut buffer, device);
        let diff = model.forward(x.clone()) - x;
        l1 += diff.clone().abs().sum().into_scalar().elem::<f64>();
        mse += diff.powf_scalar(2.0).sum().into_scalar().elem::<f64>();
    }
    let n = (images.count * images.pixels_per_image()) as f64;
    ReconstructionError {
        l1: l1 / n,
        mse: mse / n,
    }
}

/// Trains `model` to reconstruct `train`, evaluating on `test` after each
/// epoch. A non-finite loss stops training with [`Ex2Error::Diverged`].
pub fn train_reconstruction<B: AutodiffBackend>(
    name: &str,
    mut model: ConvAutoencoder<B>,
    train: &Images,
    test: &Images,
    config: &ReconstructionTrainingConfig,
    device: &B::Device,
) -> Result<(ConvAutoencoder<B>, Vec<EpochRecord>), Ex2Error> {
    let mut optim = AdamConfig::new().init();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..train.count).collect();
    let batches = train.count / config.batch_size;
    let progress = TrainProgress::new(name, config.epochs, batches);
    let mut buffer = Vec::new();
    let mut history = Vec::new();

    for epoch in 1..=config.epochs {
        let started = Instant::now();
        let loss_kind = if epoch <= config.mse_warmup_epochs {
            ReconstructionLoss::Mse
        } else {
            ReconstructionLoss::L1
        };
        order.shuffle(&mut rng);
        let mut l1_sum = 0.0;
        // Full batches only: a ragged last batch would weigh its few images more.
        for (b, idx) in order.chunks_exact(config.batch_size).enumerate() {
            let x = images_to_tensor::<B>(train, idx, &mut buffer, device);
            let diff = model.forward(x.clone()) - x;
            let l1: Tensor<B, 1> = diff.clone().abs().mean();
            let loss = match loss_kind {
                ReconstructionLoss::L1 => l1.clone(),
                ReconstructionLoss::Mse => diff.powf_scalar(2.0).mean(),
            };
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.learning_rate, model, grads);

            let l1 = l1.into_scalar().elem::<f64>();
            if !l1.is_finite() {
                progress.finish();
                return Err(Ex2Error::Diverged {
                    model: name.to_string(),
                    what: "the training L1".into(),
                    value: l1,
                    epoch,
                    batch: b + 1,
                });
            }
            l1_sum += l1;
            progress.batch(epoch, Some(l1));
        }
        let train_seconds = started.elapsed().as_secs_f64();
        let eval = evaluate(&model.valid(), test, device);
        if !(eval.l1.is_finite() && eval.mse.is_finite()) {
            progress.finish();
            return Err(Ex2Error::Diverged {
                model: name.to_string(),
                what: "the test L1".into(),
                value: eval.l1,
                epoch,
                batch: batches,
            });
        }
        let record = EpochRecord {
            epoch,
            loss: loss_kind,
            train_l1: l1_sum / batches as f64,
            test_l1: eval.l1,
            test_mse: eval.mse,
            train_seconds,
            eval_seconds: started.elapsed().as_secs_f64() - train_seconds,
        };
        progress.epoch(&format!(
            "epoch {epoch}/{} ({}) train L1 {:.4}, test L1 {:.4}, test MSE {:.4}, {:.1} s",
            config.epochs,
            loss_kind.as_str(),
            record.train_l1,
            record.test_l1,
            record.test_mse,
            record.train_seconds + record.eval_seconds
        ));
        history.push(record);
    }
    progress.finish();
    Ok((model, history))
}

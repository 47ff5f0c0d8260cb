//! The reconstruction training loop (Adam, shuffled mini-batches, per-epoch
//! evaluation on the test split).

use std::time::Instant;

use burn::config::Config;
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::autoencoder::{Autoencoder, evaluate_on_device};
use super::batch::{DeviceImages, PendingScalars, host_batch};
use crate::base::error::Ex2Error;
use crate::data::Images;
use crate::data::noise::add_noise;
use crate::runtime::progress::TrainProgress;

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
    /// Denoising: the input is clip(x + f·N(0, 1), 0, 1) with fresh noise
    /// every batch, the target the clean x. 0 trains a plain autoencoder.
    #[config(default = 0.0)]
    pub noise_factor: f64,
    /// Evaluate on the test images every this many epochs (and after the
    /// last); tiny training sets run many short epochs.
    #[config(default = 1)]
    pub eval_every: usize,
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
    /// Mean L1 over the training batches since the previous record (as
    /// they were seen, noisy inputs included).
    pub train_l1: f64,
    pub test_l1: f64,
    pub test_mse: f64,
    /// Wall time of the epoch's training steps, evaluation excluded.
    pub train_seconds: f64,
    pub eval_seconds: f64,
}

/// Training steps between read-backs of the loss. A read-back waits for
/// the device to finish everything queued (on a GPU, a stall per step if
/// done every step); the losses are kept on the device in between.
pub const READBACK_EVERY: usize = 32;

/// Trains `model` to reconstruct `train`, evaluating on `test` (every
/// `eval_every` epochs, on clean test images). A non-finite loss stops
/// training with [`Ex2Error::Diverged`]. The batch is at most the training
/// set, so a set of 10 images trains in batches of 10.
///
/// Both image sets are uploaded to the device once; the loss is read back
/// every [`READBACK_EVERY`] batches. Denoising adds its noise on the host
/// (one seeded generator, the same numbers on every backend) and uploads
/// the noisy batch.
pub fn train_reconstruction<B, M>(
    name: &str,
    mut model: M,
    train: &Images,
    test: &Images,
    config: &ReconstructionTrainingConfig,
    device: &B::Device,
) -> Result<(M, Vec<EpochRecord>), Ex2Error>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Autoencoder<B>,
    M::InnerModule: Autoencoder<B::InnerBackend>,
{
    let mut optim = AdamConfig::new().init();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..train.count).collect();
    let batch_size = config.batch_size.min(train.count).max(1);
    let batches = train.count / batch_size;
    let train_data = DeviceImages::<B::InnerBackend>::upload(train, device);
    let test_data = DeviceImages::<B::InnerBackend>::upload(test, device);
    let mut noisy = Vec::new();
    let progress = TrainProgress::new(name, config.epochs, batches);
    let mut history = Vec::new();
    // Between evaluations (eval_every > 1): what the next record sums.
    let (mut l1_sum_since_eval, mut batches_since_eval, mut train_seconds_since_eval) =
        (0.0, 0usize, 0.0);

    for epoch in 1..=config.epochs {
        let started = Instant::now();
        let loss_kind = if epoch <= config.mse_warmup_epochs {
            ReconstructionLoss::Mse
        } else {
            ReconstructionLoss::L1
        };
        order.shuffle(&mut rng);
        let mut l1_sum = 0.0;
        let mut pending = PendingScalars::<B::InnerBackend>::new();
        // Full batches only: a ragged last batch would weigh its few images more.
        for (b, idx) in order.chunks_exact(batch_size).enumerate() {
            let x = Tensor::<B, 4>::from_inner(train_data.batch(idx));
            let input = if config.noise_factor > 0.0 {
                host_batch(train, idx, &mut noisy);
                add_noise(&mut noisy, config.noise_factor, &mut rng);
                let data = TensorData::new(std::mem::take(&mut noisy), x.dims());
                Tensor::from_data(data, device)
            } else {
                x.clone()
            };
            let diff = model.reconstruct_tensor(input) - x;
            let l1: Tensor<B, 1> = diff.clone().abs().mean();
            let loss = match loss_kind {
                ReconstructionLoss::L1 => l1.clone(),
                ReconstructionLoss::Mse => diff.powf_scalar(2.0).mean(),
            };
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.learning_rate, model, grads);
            pending.push(b + 1, l1.inner());

            let mut shown = None;
            if pending.len() == READBACK_EVERY || b + 1 == batches {
                for (batch, l1) in pending.read() {
                    if !l1.is_finite() {
                        return Err(progress.diverged(name, "the training L1", l1, epoch, batch));
                    }
                    l1_sum += l1;
                    shown = Some(l1);
                }
            }
            progress.batch(epoch, shown);
        }
        let train_seconds = started.elapsed().as_secs_f64();
        if epoch % config.eval_every.max(1) != 0 && epoch != config.epochs {
            l1_sum_since_eval += l1_sum;
            batches_since_eval += batches;
            train_seconds_since_eval += train_seconds;
            continue;
        }
        let l1_sum = l1_sum + std::mem::take(&mut l1_sum_since_eval);
        let seen = batches + std::mem::take(&mut batches_since_eval);
        let train_seconds = train_seconds + std::mem::take(&mut train_seconds_since_eval);
        let eval_started = Instant::now();
        let eval = evaluate_on_device(&model.valid(), &test_data, &test_data);
        if !(eval.l1.is_finite() && eval.mse.is_finite()) {
            return Err(progress.diverged(name, "the test L1", eval.l1, epoch, batches));
        }
        let record = EpochRecord {
            epoch,
            loss: loss_kind,
            train_l1: l1_sum / seen as f64,
            test_l1: eval.l1,
            test_mse: eval.mse,
            train_seconds,
            eval_seconds: eval_started.elapsed().as_secs_f64(),
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

#[cfg(test)]
mod tests {
    use burn::backend::{Autodiff, Flex};
    use burn::tensor::{Tensor, TensorData};

    type B = Autodiff<Flex>;

    /// The MSE warm-up's gradient is 2·(y − x)/n: it must keep the sign of
    /// the error, or the warm-up pushes every pixel towards black.
    #[test]
    fn squared_error_gradient_keeps_the_sign_of_the_error() {
        let device = Default::default();
        let diff = Tensor::<B, 1>::from_data(TensorData::from([-0.5f32, 0.25, -1.0, 2.0]), &device)
            .require_grad();
        let loss = diff.clone().powf_scalar(2.0).mean();
        let grads = loss.backward();
        let g: Vec<f32> = diff.grad(&grads).unwrap().into_data().to_vec().unwrap();
        assert_eq!(g, vec![-0.25, 0.125, -0.5, 1.0]);
    }
}

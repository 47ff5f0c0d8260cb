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
    /// Adam's ε. On the all-black plateau the gradients are tiny, and a
    /// large ε shrinks Adam's otherwise scale-free step there.
    #[config(default = 1e-5)]
    pub adam_epsilon: f64,
    /// Start the output layer's bias at the logit of the training images'
    /// mean intensity, so the output starts near the data's mean brightness
    /// instead of 0.5 grey (README has the measured effect: with it a short
    /// budget leaves the all-black plateau).
    #[config(default = false)]
    pub output_bias_at_mean: bool,
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

/// logit(m) of the images' mean intensity m (clamped away from 0 and 1):
/// the output bias whose sigmoid is m.
pub fn mean_intensity_logit(images: &Images) -> f32 {
    let m = images.mean_intensity().clamp(1e-3, 1.0 - 1e-3);
    (m / (1.0 - m)).ln() as f32
}

/// How far below the trivial solution a trained autoencoder must end: its
/// final test L1 must be at most `1 − PLATEAU_MARGIN` times the all-black
/// image's (the constant image that is L1's optimum when the code is
/// ignored: most pixels are black in most images).
pub const PLATEAU_MARGIN: f64 = 0.10;

/// An error when `history` ends on the all-black plateau: a final test L1
/// within [`PLATEAU_MARGIN`] of `black_l1`, the all-black image's.
pub fn check_left_plateau(
    name: &str,
    history: &[EpochRecord],
    black_l1: f64,
) -> Result<(), Ex2Error> {
    match history.last() {
        Some(last) => check_final_l1(name, last.test_l1, black_l1, "test"),
        None => Ok(()),
    }
}

/// The same check on the training images, for an AE trained on a handful
/// of them: it must learn those, while its test error (near black when ten
/// images cannot cover the digits' shapes) is the finding, not a failure.
/// `black_l1` is the all-black image's L1 on the training images.
pub fn check_learned_training_set(
    name: &str,
    history: &[EpochRecord],
    black_l1: f64,
) -> Result<(), Ex2Error> {
    match history.last() {
        Some(last) => check_final_l1(name, last.train_l1, black_l1, "training"),
        None => Ok(()),
    }
}

fn check_final_l1(name: &str, l1: f64, black_l1: f64, images: &str) -> Result<(), Ex2Error> {
    let bound = (1.0 - PLATEAU_MARGIN) * black_l1;
    if l1 <= bound {
        return Ok(());
    }
    Err(Ex2Error::TrivialSolution {
        model: name.to_string(),
        message: format!(
            "its final {images} L1 {l1:.4} is within {:.0} % of the all-black image's \
             {black_l1:.4} on those images (a model that learned its inputs ends below {bound:.4})",
            PLATEAU_MARGIN * 100.0
        ),
    })
}

/// One epoch of a training run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub loss: ReconstructionLoss,
    /// Mean L1 over the record's epoch's training batches (as they were
    /// seen, noisy inputs included): with `eval_every > 1` the last epoch's,
    /// not an average back to the previous record, which would mix in the
    /// warm-up's early losses.
    pub train_l1: f64,
    /// Wall time of the training steps since the previous record,
    /// evaluation excluded.
    pub test_l1: f64,
    pub test_mse: f64,
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
    if config.output_bias_at_mean {
        model = model.with_output_bias(mean_intensity_logit(train));
    }
    let mut optim = AdamConfig::new()
        .with_epsilon(config.adam_epsilon as f32)
        .init();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = (0..train.count).collect();
    let batch_size = config.batch_size.min(train.count).max(1);
    let batches = train.count / batch_size;
    let train_data = DeviceImages::<B::InnerBackend>::upload(train, device);
    let test_data = DeviceImages::<B::InnerBackend>::upload(test, device);
    let mut noisy = Vec::new();
    let progress = TrainProgress::new(name, config.epochs, batches);
    let mut history = Vec::new();
    // Between evaluations (eval_every > 1): the training time the next
    // record sums.
    let mut train_seconds_since_eval = 0.0;

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
            train_seconds_since_eval += train_seconds;
            continue;
        }
        let train_seconds = train_seconds + std::mem::take(&mut train_seconds_since_eval);
        let eval_started = Instant::now();
        let eval = evaluate_on_device(&model.valid(), &test_data, &test_data);
        if !(eval.l1.is_finite() && eval.mse.is_finite()) {
            return Err(progress.diverged(name, "the test L1", eval.l1, epoch, batches));
        }
        let record = EpochRecord {
            epoch,
            loss: loss_kind,
            train_l1: l1_sum / batches as f64,
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

    fn record(epoch: usize, test_l1: f64) -> super::EpochRecord {
        super::EpochRecord {
            epoch,
            loss: super::ReconstructionLoss::L1,
            train_l1: test_l1,
            test_l1,
            test_mse: 0.0,
            train_seconds: 0.0,
            eval_seconds: 0.0,
        }
    }

    #[test]
    fn a_final_error_near_the_black_image_is_a_trivial_solution() {
        let black = 0.13;
        // Left the plateau early, back on it at the end: the end counts.
        let back = [record(1, 0.08), record(2, 0.125)];
        let e = super::check_left_plateau("ae", &back, black).unwrap_err();
        assert!(e.to_string().contains("trivial solution"), "{e}");
        assert_eq!(e.exit_code(), 4);
        let learned = [record(1, 0.125), record(2, 0.9 * black - 1e-6)];
        assert!(super::check_left_plateau("ae", &learned, black).is_ok());
    }

    #[test]
    fn a_small_set_ae_is_judged_on_its_training_images() {
        let black = 0.13;
        // Learned its ten images, reconstructs unseen digits about as badly
        // as black: the finding, not a failure.
        let memorised = [super::EpochRecord {
            train_l1: 0.05,
            ..record(1, 0.125)
        }];
        assert!(super::check_left_plateau("ae", &memorised, black).is_err());
        assert!(super::check_learned_training_set("ae", &memorised, black).is_ok());
        let stuck = [record(1, 0.125)];
        let e = super::check_learned_training_set("ae", &stuck, black).unwrap_err();
        assert!(e.to_string().contains("final training L1 0.1250"), "{e}");
    }

    /// The last record's training L1 is its own epoch's, whatever
    /// `eval_every`: evaluating less often must not average the warm-up's
    /// early losses into it (the small-set AEs are judged on it).
    #[test]
    fn the_last_records_training_l1_is_its_epochs_own() {
        use crate::nn::conv_ae::ConvAutoencoderConfig;
        let device = Default::default();
        let images = crate::data::Images {
            count: 4,
            rows: 28,
            cols: 28,
            pixels: (0..4 * 784).map(|i| ((i * 37) % 251) as u8).collect(),
        };
        let run = |eval_every: usize| {
            let config = super::ReconstructionTrainingConfig::new(4, 4, 1e-2, 3)
                .with_mse_warmup_epochs(1)
                .with_eval_every(eval_every);
            let model = crate::nn::init::seeded_init::<B, _>(&device, 5, || {
                ConvAutoencoderConfig::new(2).init::<B>(&device)
            });
            let (_, h) =
                super::train_reconstruction("t", model, &images, &images, &config, &device)
                    .unwrap();
            h
        };
        let every = run(1);
        let once = run(4);
        assert_eq!(once.len(), 1);
        assert_eq!(once[0].train_l1, every[3].train_l1);
        assert_eq!(once[0].test_l1, every[3].test_l1, "the same model");
        assert_ne!(
            every[0].train_l1, every[3].train_l1,
            "training changed the loss"
        );
    }

    #[test]
    fn the_output_bias_starts_at_the_mean_intensity_and_stays_trainable() {
        use crate::nn::autoencoder::Autoencoder;
        use crate::nn::conv_ae::ConvAutoencoderConfig;
        let device = Default::default();
        let images = crate::data::Images {
            count: 1,
            rows: 28,
            cols: 28,
            // A quarter of the pixels white: mean intensity 0.25.
            pixels: (0..784).map(|i| if i % 4 == 0 { 255 } else { 0 }).collect(),
        };
        let logit = super::mean_intensity_logit(&images);
        assert!((logit - (0.25f32 / 0.75).ln()).abs() < 1e-6);
        let model = ConvAutoencoderConfig::new(4)
            .init::<B>(&device)
            .with_output_bias(logit);
        let x = crate::nn::batch::images_to_tensor::<B>(&images, &[0], &device);
        let loss = model.reconstruct_tensor(x).mean();
        let grads = loss.backward();
        let bias = model.decoder.output_bias().unwrap();
        let value: Vec<f32> = bias.val().into_data().to_vec().unwrap();
        assert_eq!(value, vec![logit]);
        assert!(bias.grad(&grads).is_some(), "the bias still learns");
    }

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

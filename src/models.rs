//! Trained models that more than one chapter uses, built through the
//! artifact cache so a run trains each at most once (the d=12 AE of
//! `autoencoder` is `transfer`'s initial encoder; the classifier of
//! `classifier` is decoded in `classifier-decoding`).

use std::sync::Mutex;

use anyhow::Result;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use serde::Serialize;

use crate::chapters::Ctx;
use crate::data::Split;
use crate::nn::classifier::{Classifier, ClassifierConfig};
use crate::nn::classify::{ClassEpoch, ClassifierTrainingConfig, train_classifier};
use crate::nn::conv_ae::{ConvAutoencoder, ConvAutoencoderConfig};
use crate::nn::train::{EpochRecord, ReconstructionTrainingConfig, train_reconstruction};
use crate::store::artifacts::Artifact;

/// `B::seed` sets one generator per device: seeding and initialising under
/// this lock keeps a model's initial weights a function of its own seed when
/// several models are trained at once.
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Hold this while seeding the device and initialising a model.
pub fn init_lock() -> std::sync::MutexGuard<'static, ()> {
    INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// burn initialises parameters lazily, on first use; this visitor forces
/// every parameter into existence while the lock is held.
struct Materialise;

impl<B: Backend> ModuleVisitor<B> for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}

/// Seeds the device and initialises a model, deterministically even while
/// other models train in other threads.
pub fn seeded_init<B: Backend, M: Module<B>>(
    device: &B::Device,
    seed: u64,
    init: impl FnOnce() -> M,
) -> M {
    let _guard = init_lock();
    B::seed(device, seed);
    let model = init();
    model.visit(&mut Materialise);
    model
}

pub type TrainedAe<B> = Artifact<ConvAutoencoder<B>, Vec<EpochRecord>>;
pub type TrainedClassifier<B> = Artifact<Classifier<B>, Vec<ClassEpoch>>;

/// Everything that determines a trained autoencoder (with the store's context).
#[derive(Debug, Serialize)]
pub struct AutoencoderSpec {
    pub model: ConvAutoencoderConfig,
    pub training: ReconstructionTrainingConfig,
}

/// Everything that determines a trained classifier.
#[derive(Debug, Serialize)]
pub struct ClassifierSpec<'a> {
    pub model: ClassifierConfig,
    pub training: ClassifierTrainingConfig,
    /// What the encoder started from: `random` or an AE artifact key.
    pub encoder_init: String,
    /// Which training examples: `first-n` (the profile's) or a named subset.
    pub train_set: &'a str,
}

/// Trains (or loads) a conv AE as `spec` says.
pub fn autoencoder<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    name: &str,
    spec: AutoencoderSpec,
) -> Result<Artifact<ConvAutoencoder<B>, Vec<EpochRecord>>> {
    let device = &ctx.device;
    ctx.artifacts.load_or_train::<B, _, _, _>(
        "conv-ae",
        &spec,
        device,
        || spec.model.init::<B>(device),
        || {
            let model =
                seeded_init::<B, _>(device, spec.training.seed, || spec.model.init::<B>(device));
            Ok(train_reconstruction(
                name,
                model,
                &ctx.data.train.images,
                &ctx.data.test.images,
                &spec.training,
                device,
            )?)
        },
    )
}

/// The book's d=12 autoencoder: `[chapter.autoencoder]` with its warm-up.
pub fn book_autoencoder<B: AutodiffBackend>(
    ctx: &Ctx<B>,
) -> Result<Artifact<ConvAutoencoder<B>, Vec<EpochRecord>>> {
    let section = &ctx.config.book.chapter.autoencoder;
    autoencoder(
        ctx,
        "conv AE (MSE warm-up)",
        autoencoder_spec(ctx, section.mse_warmup_epochs),
    )
}

pub fn autoencoder_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    mse_warmup_epochs: usize,
) -> AutoencoderSpec {
    let section = &ctx.config.book.chapter.autoencoder;
    let profile = &ctx.config.profile;
    AutoencoderSpec {
        model: ConvAutoencoderConfig::new(section.latent_dim).with_channels(section.channels),
        training: ReconstructionTrainingConfig::new(
            profile.epochs,
            profile.batch_size,
            section.learning_rate,
            ctx.seed("autoencoder/conv-ae"),
        )
        .with_mse_warmup_epochs(mse_warmup_epochs),
    }
}

/// Trains (or loads) a classifier. `encoder` replaces the random initial
/// encoder (transfer learning); `encoder_init` names it for the cache key.
pub fn classifier<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    name: &str,
    spec: ClassifierSpec,
    train: &Split,
    encoder: Option<crate::nn::conv_ae::ConvEncoder<B>>,
) -> Result<Artifact<Classifier<B>, Vec<ClassEpoch>>> {
    let device = &ctx.device;
    ctx.artifacts.load_or_train::<B, _, _, _>(
        "classifier",
        &spec,
        device,
        || spec.model.init::<B>(device),
        || {
            let mut model =
                seeded_init::<B, _>(device, spec.training.seed, || spec.model.init::<B>(device));
            if let Some(encoder) = encoder {
                model.encoder = encoder;
            }
            Ok(train_classifier(
                name,
                model,
                train,
                &ctx.data.test,
                &spec.training,
                device,
            )?)
        },
    )
}

/// The book's digit classifier: `[chapter.classifier]`.
pub fn book_classifier<B: AutodiffBackend>(
    ctx: &Ctx<B>,
) -> Result<Artifact<Classifier<B>, Vec<ClassEpoch>>> {
    let c = &ctx.config.book.chapter;
    let profile = &ctx.config.profile;
    let spec = ClassifierSpec {
        model: ClassifierConfig::new(c.autoencoder.latent_dim, c.classifier.hidden_dim)
            .with_channels(c.autoencoder.channels),
        training: ClassifierTrainingConfig::new(
            profile.epochs,
            profile.batch_size,
            c.classifier.learning_rate,
            ctx.seed("classifier/classifier"),
        ),
        encoder_init: "random".into(),
        train_set: "first-n",
    };
    classifier(ctx, "classifier", spec, &ctx.data.train, None)
}

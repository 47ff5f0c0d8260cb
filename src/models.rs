//! Trained models that more than one chapter uses, built through the
//! artifact cache so a run trains each at most once (the d=12 AE of
//! `autoencoder` is `transfer`'s initial encoder; the classifier of
//! `classifier` is decoded in `classifier-decoding`).

use std::sync::Mutex;

use anyhow::Result;
use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};
use serde::Serialize;

use crate::chapters::Ctx;
use crate::data::{Images, Split};
use crate::nn::autoencoder::Autoencoder;
use crate::nn::classifier::{Classifier, ClassifierConfig};
use crate::nn::classify::{ClassEpoch, ClassifierTrainingConfig, train_classifier};
use crate::nn::conv_ae::{ConvAutoencoder, ConvAutoencoderConfig};
use crate::nn::mlp_ae::{MlpAutoencoder, MlpAutoencoderConfig};
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
pub type TrainedMlpAe<B> = Artifact<MlpAutoencoder<B>, Vec<EpochRecord>>;
pub type TrainedClassifier<B> = Artifact<Classifier<B>, Vec<ClassEpoch>>;

/// Everything that determines a trained autoencoder (with the store's context).
#[derive(Debug, Clone, Serialize)]
pub struct AutoencoderSpec<C> {
    pub model: C,
    pub training: ReconstructionTrainingConfig,
    /// Which training images: `first-n` (the profile's) or a named subset.
    pub train_set: String,
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

/// Trains (or loads) an autoencoder of `kind` as `spec` says, on `train`
/// (which `spec.train_set` names), with `init` building the untrained model.
pub fn reconstruction_model<B, M, C>(
    ctx: &Ctx<B>,
    kind: &str,
    name: &str,
    spec: &AutoencoderSpec<C>,
    train: &Images,
    init: impl Fn() -> M + Sync,
) -> Result<Artifact<M, Vec<EpochRecord>>>
where
    B: AutodiffBackend,
    C: Serialize + Sync,
    M: AutodiffModule<B> + Autoencoder<B>,
    M::InnerModule: Autoencoder<B::InnerBackend>,
{
    let device = &ctx.device;
    ctx.artifacts
        .load_or_train::<B, _, _, _>(kind, spec, device, &init, || {
            let model = seeded_init::<B, _>(device, spec.training.seed, &init);
            Ok(train_reconstruction(
                name,
                model,
                train,
                &ctx.data.test.images,
                &spec.training,
                device,
            )?)
        })
}

/// Trains (or loads) a conv AE on the profile's training images.
pub fn autoencoder<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    name: &str,
    spec: AutoencoderSpec<ConvAutoencoderConfig>,
) -> Result<TrainedAe<B>> {
    conv_autoencoder_on(ctx, name, spec, &ctx.data.train.images)
}

/// Trains (or loads) a conv AE on `train`, which `spec.train_set` names.
pub fn conv_autoencoder_on<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    name: &str,
    spec: AutoencoderSpec<ConvAutoencoderConfig>,
    train: &Images,
) -> Result<TrainedAe<B>> {
    let device = &ctx.device;
    reconstruction_model(ctx, "conv-ae", name, &spec, train, || {
        spec.model.init::<B>(device)
    })
}

/// The fully connected AE of `[chapter.autoencoder]`: the conv AE's loss,
/// warm-up, budget and seed, only the architecture differs.
pub fn mlp_autoencoder<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<TrainedMlpAe<B>> {
    let section = &ctx.config.book.chapter.autoencoder;
    let conv = autoencoder_spec(ctx, section.mse_warmup_epochs);
    let spec = AutoencoderSpec {
        model: MlpAutoencoderConfig::new(section.latent_dim).with_hidden(section.mlp_hidden),
        training: conv.training,
        train_set: conv.train_set,
    };
    let device = &ctx.device;
    reconstruction_model(
        ctx,
        "mlp-ae",
        "fully connected AE",
        &spec,
        &ctx.data.train.images,
        || spec.model.init::<B>(device),
    )
}

/// The book's d=12 autoencoder: `[chapter.autoencoder]` with its warm-up.
pub fn book_autoencoder<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<TrainedAe<B>> {
    let section = &ctx.config.book.chapter.autoencoder;
    autoencoder(
        ctx,
        "conv AE (MSE warm-up)",
        autoencoder_spec(ctx, section.mse_warmup_epochs),
    )
}

/// The book AE's spec with its warm-up set to `mse_warmup_epochs`. Other
/// chapters vary one field of it (d, noise, training set), so the d=12 AE
/// of the latent sweep is the book's AE, trained once.
pub fn autoencoder_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    mse_warmup_epochs: usize,
) -> AutoencoderSpec<ConvAutoencoderConfig> {
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
        train_set: "first-n".into(),
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::store::artifacts::{ArtifactStore, KeyContext};

    fn context() -> KeyContext {
        KeyContext {
            ex2_version: "0.1.0".into(),
            training_code: "abc".into(),
            backend: "cpu".into(),
            dataset_checksums: BTreeMap::from([("train".into(), "00".into())]),
            train_size: 3000,
            test_size: 1000,
        }
    }

    fn spec() -> AutoencoderSpec<ConvAutoencoderConfig> {
        AutoencoderSpec {
            model: ConvAutoencoderConfig::new(12),
            training: ReconstructionTrainingConfig::new(4, 128, 1e-3, 7),
            train_set: "first-n".into(),
        }
    }

    /// Changing any input of a trained model must change its cache key.
    #[test]
    fn every_input_changes_the_cache_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = |c: KeyContext, s: AutoencoderSpec<ConvAutoencoderConfig>| {
            ArtifactStore::new(dir.path().into(), c).key("conv-ae", &s)
        };
        type Edit<T> = Box<dyn Fn(&mut T)>;
        let context_edits: Vec<Edit<KeyContext>> = vec![
            Box::new(|c| c.ex2_version = "0.2.0".into()),
            Box::new(|c| c.training_code = "abd".into()),
            Box::new(|c| c.backend = "cuda".into()),
            Box::new(|c| {
                c.dataset_checksums.insert("train".into(), "01".into());
            }),
            Box::new(|c| c.train_size += 1),
            Box::new(|c| c.test_size += 1),
        ];
        let spec_edits: Vec<Edit<AutoencoderSpec<ConvAutoencoderConfig>>> = vec![
            Box::new(|s| s.model.latent_dim = 13),
            Box::new(|s| s.model.channels = [16, 64]),
            Box::new(|s| s.training.epochs = 5),
            Box::new(|s| s.training.batch_size = 64),
            Box::new(|s| s.training.learning_rate = 2e-3),
            Box::new(|s| s.training.mse_warmup_epochs = 1),
            Box::new(|s| s.training.seed = 8),
            Box::new(|s| s.training.noise_factor = 0.5),
            Box::new(|s| s.training.eval_every = 2),
            Box::new(|s| s.train_set = "balanced-10".into()),
        ];
        let base = key(context(), spec());
        assert_eq!(base, key(context(), spec()), "keys are stable");
        let mut seen = BTreeSet::from([base]);
        for edit in &context_edits {
            let mut c = context();
            edit(&mut c);
            assert!(seen.insert(key(c, spec())), "a context edit kept the key");
        }
        for edit in &spec_edits {
            let mut s = spec();
            edit(&mut s);
            assert!(seen.insert(key(context(), s)), "a spec edit kept the key");
        }
        let store = ArtifactStore::new(dir.path().into(), context());
        assert_ne!(store.key("conv-ae", &spec()), store.key("mlp-ae", &spec()));
    }
}

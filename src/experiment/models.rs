//! Trained models that more than one chapter uses, built through the
//! artifact cache so a run trains each at most once (the d=12 AE of
//! `autoencoder` is `transfer`'s initial encoder; the classifier of
//! `classifier` is decoded in `classifier-decoding`).

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use crate::config::Config;
use crate::data::TrainingSet;
use crate::experiment::Ctx;
use crate::experiment::sections::{AutoencoderSection, ClassifierSection};
use crate::nn::autoencoder::Autoencoder;
use crate::nn::classifier::{Classifier, ClassifierConfig};
use crate::nn::classify::{
    ClassEpoch, ClassifierTrainingConfig, check_above_chance, majority_share, train_classifier,
};
use crate::nn::conv_ae::{ConvAutoencoder, ConvAutoencoderConfig};
use crate::nn::init::seeded_init;
use crate::nn::mlp_ae::{MlpAutoencoder, MlpAutoencoderConfig};
use crate::nn::train::{
    EpochRecord, ReconstructionTrainingConfig, check_learned_training_set, check_left_plateau,
    train_reconstruction,
};
use crate::store::artifacts::{Artifact, ArtifactStore};

pub type TrainedAe<B> = Artifact<ConvAutoencoder<B>, Vec<EpochRecord>>;
pub type TrainedMlpAe<B> = Artifact<MlpAutoencoder<B>, Vec<EpochRecord>>;
pub type TrainedClassifier<B> = Artifact<Classifier<B>, Vec<ClassEpoch>>;

/// Everything that determines a trained autoencoder (with the store's context).
#[derive(Debug, Clone, Serialize)]
pub struct AutoencoderSpec<C> {
    pub model: C,
    pub training: ReconstructionTrainingConfig,
    /// The images it trains on; the key holds their hash.
    pub train_set: TrainingSet,
}

/// Everything that determines a trained classifier.
#[derive(Debug, Clone, Serialize)]
pub struct ClassifierSpec {
    pub model: ClassifierConfig,
    pub training: ClassifierTrainingConfig,
    /// What the encoder started from: `random` or an AE artifact key.
    pub encoder_init: String,
    /// The labelled examples it trains on; the key holds their hash.
    pub train_set: TrainingSet,
    /// Held-out labelled examples that select an epoch (few-shot and
    /// transfer); none for the models trained on the whole training split.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_set: Option<TrainingSet>,
    /// Generated examples added to `train_set` (few-shot's augmentation
    /// study); none for every other classifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub augmentation: Option<Augmentation>,
}

/// Examples generated for a classifier's training set, named by what
/// makes them, so the key is known before the generator is trained.
#[derive(Debug, Clone, Serialize)]
pub struct Augmentation {
    /// The generator: an AE's artifact key, and how its samples are drawn.
    pub generator: String,
    pub per_class: usize,
    pub seed: u64,
    /// The examples themselves, made from the generator; not in the key.
    #[serde(skip)]
    pub examples: Option<std::sync::Arc<crate::data::Split>>,
}

/// What a training may end on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A model of the book: ending on the all-black plateau fails it
    /// ([`check_left_plateau`]).
    MustLearn,
    /// A model trained on a handful of images: it must learn those
    /// ([`check_learned_training_set`]); how little it generalises is
    /// measured, not refused.
    MustLearnTrainingSet,
    /// A control that measures the plateau (plain L1 from the first step).
    MayPlateau,
}

/// Trains (or loads) an autoencoder of `kind` as `spec` says, on
/// `spec.train_set`, with `init` building the untrained model. A model that
/// must learn and ends on the plateau is an error, cached or not.
pub fn reconstruction_model<B, M, C>(
    ctx: &Ctx<B>,
    kind: &str,
    name: &str,
    spec: &AutoencoderSpec<C>,
    outcome: Outcome,
    init: impl Fn() -> M + Sync,
) -> Result<Artifact<M, Vec<EpochRecord>>>
where
    B: AutodiffBackend,
    C: Serialize + Sync,
    M: AutodiffModule<B> + Autoencoder<B>,
    M::InnerModule: Autoencoder<B::InnerBackend>,
{
    let device = &ctx.device;
    let trained = ctx
        .artifacts
        .load_or_train::<B, _, _, _>(kind, spec, device, &init, || {
            let model = seeded_init::<B, _>(device, spec.training.seed, &init);
            Ok(train_reconstruction(
                name,
                model,
                &spec.train_set.split().images,
                &ctx.data.test.images,
                &spec.training,
                device,
            )?)
        })?;
    match outcome {
        Outcome::MustLearn => {
            check_left_plateau(name, &trained.history, ctx.data.test.mean_pixel())?
        }
        Outcome::MustLearnTrainingSet => {
            check_learned_training_set(name, &trained.history, spec.train_set.split().mean_pixel())?
        }
        Outcome::MayPlateau => {}
    }
    Ok(trained)
}

/// Trains (or loads) a conv AE as `spec` says; `outcome` says whether it
/// may end on the plateau (only the control that measures it may).
pub fn autoencoder<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    name: &str,
    spec: AutoencoderSpec<ConvAutoencoderConfig>,
    outcome: Outcome,
) -> Result<TrainedAe<B>> {
    let device = &ctx.device;
    reconstruction_model(ctx, CONV_AE, name, &spec, outcome, || {
        spec.model.init::<B>(device)
    })
}

/// The book's conv AE architecture, `[chapter.autoencoder]`: the one place
/// that maps its settings to a model config (chapters, specs and `bench`).
pub fn conv_ae_config(config: &Config) -> ConvAutoencoderConfig {
    let ae = config.section::<AutoencoderSection>();
    ConvAutoencoderConfig::new(ae.latent_dim).with_channels(ae.channels)
}

/// The book's classifier: the conv AE's encoder and a head of `hidden`
/// units (`[chapter.classifier].hidden-dim`, or center-loss's k).
pub fn classifier_config(config: &Config, hidden: usize) -> ClassifierConfig {
    let ae = config.section::<AutoencoderSection>();
    ClassifierConfig::new(ae.latent_dim, hidden).with_channels(ae.channels)
}

/// The experiment names the book AE's and the book classifier's seeds are
/// derived from (`Ctx::seed`); chapters record the seeds under them.
pub const BOOK_AE_SEED: &str = "autoencoder/conv-ae";
pub const BOOK_CLASSIFIER_SEED: &str = "classifier/classifier";

/// Kinds of cached model, the first part of their keys.
pub const CONV_AE: &str = "conv-ae";
pub const MLP_AE: &str = "mlp-ae";
pub const CLASSIFIER: &str = "classifier";

/// The fully connected AE of `[chapter.autoencoder]`: the conv AE's loss,
/// warm-up, budget, seed and images, only the architecture differs.
pub fn mlp_autoencoder_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
) -> AutoencoderSpec<MlpAutoencoderConfig> {
    let section = &ctx.config.section::<AutoencoderSection>();
    let conv = autoencoder_spec(ctx, section.mse_warmup_epochs);
    AutoencoderSpec {
        model: MlpAutoencoderConfig::new(section.latent_dim).with_hidden(section.mlp_hidden),
        training: conv.training,
        train_set: conv.train_set,
    }
}

/// Trains (or loads) the fully connected AE.
pub fn mlp_autoencoder<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<TrainedMlpAe<B>> {
    let spec = mlp_autoencoder_spec(ctx);
    let device = &ctx.device;
    reconstruction_model(
        ctx,
        MLP_AE,
        "fully connected AE",
        &spec,
        Outcome::MustLearn,
        || spec.model.init::<B>(device),
    )
}

/// The book's d=12 autoencoder: `[chapter.autoencoder]` with its warm-up.
pub fn book_autoencoder_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
) -> AutoencoderSpec<ConvAutoencoderConfig> {
    autoencoder_spec(
        ctx,
        ctx.config.section::<AutoencoderSection>().mse_warmup_epochs,
    )
}

/// Trains (or loads) the book's autoencoder.
pub fn book_autoencoder<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<TrainedAe<B>> {
    autoencoder(
        ctx,
        "conv AE (MSE warm-up)",
        book_autoencoder_spec(ctx),
        Outcome::MustLearn,
    )
}

/// `spec` evaluated on the test images once, after its last epoch, for a
/// model whose per-epoch test error nothing reads: an evaluation costs
/// about a quarter of a quick-profile epoch (README), and the training is
/// the same whatever `eval_every` (a unit test in `nn::train` checks it).
pub fn evaluated_at_end<C>(mut spec: AutoencoderSpec<C>) -> AutoencoderSpec<C> {
    spec.training.eval_every = spec.training.epochs;
    spec
}

/// The book AE's spec with its warm-up set to `mse_warmup_epochs`. Other
/// chapters vary one field of it (d, noise, training set), so the d=12 AE
/// of the latent sweep is the book's AE, trained once.
pub fn autoencoder_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    mse_warmup_epochs: usize,
) -> AutoencoderSpec<ConvAutoencoderConfig> {
    let section = &ctx.config.section::<AutoencoderSection>();
    let profile = &ctx.config.profile;
    AutoencoderSpec {
        model: conv_ae_config(ctx.config),
        training: ReconstructionTrainingConfig::new(
            profile.epochs,
            profile.batch_size,
            section.learning_rate,
            ctx.seed(BOOK_AE_SEED),
        )
        .with_mse_warmup_epochs(mse_warmup_epochs)
        .with_adam_epsilon(section.adam_epsilon)
        .with_output_bias_at_mean(section.output_bias_at_mean),
        train_set: ctx.data.training_set().clone(),
    }
}

/// Trains (or loads) a classifier. `encoder` replaces the random initial
/// encoder (transfer learning); `spec.encoder_init` names it for the key.
pub fn classifier<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    name: &str,
    spec: ClassifierSpec,
    encoder: Option<&crate::nn::conv_ae::ConvEncoder<B>>,
) -> Result<Artifact<Classifier<B>, Vec<ClassEpoch>>> {
    let device = &ctx.device;
    let trained = ctx.artifacts.load_or_train::<B, _, _, _>(
        CLASSIFIER,
        &spec,
        device,
        || spec.model.init::<B>(device),
        || {
            let mut model =
                seeded_init::<B, _>(device, spec.training.seed, || spec.model.init::<B>(device));
            if let Some(encoder) = encoder {
                model = model.with_encoder(encoder, device);
            }
            let augmented;
            let train = match &spec.augmentation {
                None => spec.train_set.split(),
                Some(a) => {
                    let generated = a.examples.as_deref().ok_or_else(|| {
                        anyhow::anyhow!("{name}: the augmented training set was not generated")
                    })?;
                    augmented = spec.train_set.split().concat(generated);
                    &augmented
                }
            };
            Ok(train_classifier(
                name,
                model,
                train,
                spec.validation_set.as_ref().map(TrainingSet::split),
                &ctx.data.test,
                &spec.training,
                device,
            )?)
        },
    )?;
    // A classifier at chance is a failed experiment, cached or not.
    check_above_chance(
        name,
        &trained.history,
        majority_share(&ctx.data.test.labels),
    )?;
    Ok(trained)
}

/// The book's digit classifier: `[chapter.classifier]`.
pub fn book_classifier_spec<B: AutodiffBackend>(ctx: &Ctx<B>) -> ClassifierSpec {
    let section = ctx.config.section::<ClassifierSection>();
    let profile = &ctx.config.profile;
    ClassifierSpec {
        model: classifier_config(ctx.config, section.hidden_dim),
        training: ClassifierTrainingConfig::new(
            profile.epochs,
            profile.batch_size,
            section.learning_rate,
            ctx.seed(BOOK_CLASSIFIER_SEED),
        ),
        encoder_init: "random".into(),
        train_set: ctx.data.training_set().clone(),
        validation_set: None,
        augmentation: None,
    }
}

/// Trains (or loads) the book's digit classifier.
pub fn book_classifier<B: AutodiffBackend>(
    ctx: &Ctx<B>,
) -> Result<Artifact<Classifier<B>, Vec<ClassEpoch>>> {
    classifier(ctx, "classifier", book_classifier_spec(ctx), None)
}

/// How a planned model is obtained: loaded from the cache, or trained and
/// stored there first (what `ex2 train <key>` runs).
pub type Obtain<'a> = Box<dyn FnOnce() -> Result<()> + 'a>;

/// A model the book needs, as the cache names it: what `ex2` would load or
/// train, and how, without doing either yet.
#[derive(Serialize)]
pub struct PlannedModel<'a> {
    /// `chapter/model`, unique within a book.
    pub name: String,
    pub kind: String,
    pub key: String,
    /// What the key hashes (spec and context), to say why a model is not
    /// cached by comparing with the cached ones.
    #[serde(skip)]
    pub described: serde_json::Value,
    /// Loads or trains it, as the chapter that plans it does.
    #[serde(skip)]
    pub obtain: Obtain<'a>,
}

impl<'a> PlannedModel<'a> {
    /// The model of `kind` and `spec`, which `obtain` loads or trains (the
    /// same call the chapter makes, so the key it stores is this one).
    pub fn new(
        store: &ArtifactStore,
        name: impl Into<String>,
        kind: &str,
        spec: &impl Serialize,
        obtain: impl FnOnce() -> Result<()> + 'a,
    ) -> Self {
        Self {
            name: name.into(),
            kind: kind.into(),
            key: store.key(kind, spec),
            described: store.described(spec),
            obtain: Box::new(obtain),
        }
    }
}

impl std::fmt::Debug for PlannedModel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlannedModel")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// The book AE as a planned model (chapters that use it list it).
pub fn planned_book_autoencoder<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> PlannedModel<'a> {
    PlannedModel::new(
        ctx.artifacts,
        "autoencoder/conv-ae",
        CONV_AE,
        &book_autoencoder_spec(ctx),
        move || book_autoencoder(ctx).map(drop),
    )
}

/// The book classifier as a planned model.
pub fn planned_book_classifier<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> PlannedModel<'a> {
    PlannedModel::new(
        ctx.artifacts,
        "classifier/classifier",
        CLASSIFIER,
        &book_classifier_spec(ctx),
        move || book_classifier(ctx).map(drop),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::store::artifacts::KeyContext;

    fn context() -> KeyContext {
        KeyContext {
            ex2_version: "0.1.0".into(),
            training_code: "abc".into(),
            backend: "cpu".into(),
            kernels: "AVX-512 matrix kernels".into(),
            dataset_checksums: BTreeMap::from([("train".into(), "00".into())]),
            test_size: 1000,
        }
    }

    /// Every input common to a run's keys changes them all.
    #[test]
    fn every_context_input_changes_the_cache_key() {
        let dir = tempfile::tempdir().unwrap();
        let spec = serde_json::json!({"model": 1});
        let key = |c: KeyContext| ArtifactStore::new(dir.path().into(), c).key(CONV_AE, &spec);
        type Edit = Box<dyn Fn(&mut KeyContext)>;
        let edits: Vec<Edit> = vec![
            Box::new(|c| c.ex2_version = "0.2.0".into()),
            Box::new(|c| c.training_code = "abd".into()),
            Box::new(|c| c.backend = "cuda".into()),
            Box::new(|c| c.kernels = "AVX2/FMA matrix kernels".into()),
            Box::new(|c| {
                c.dataset_checksums.insert("train".into(), "01".into());
            }),
            Box::new(|c| c.test_size += 1),
        ];
        let base = key(context());
        assert_eq!(base, key(context()), "keys are stable");
        let mut seen = BTreeSet::from([base]);
        for edit in &edits {
            let mut c = context();
            edit(&mut c);
            assert!(seen.insert(key(c)), "a context edit kept the key");
        }
        let store = ArtifactStore::new(dir.path().into(), context());
        assert_ne!(store.key(CONV_AE, &spec), store.key(MLP_AE, &spec));
    }
}

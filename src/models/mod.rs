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
use crate::config::ChapterSections;
use crate::data::TrainingSet;
use crate::nn::autoencoder::Autoencoder;
use crate::nn::classifier::{Classifier, ClassifierConfig};
use crate::nn::classify::{ClassEpoch, ClassifierTrainingConfig, train_classifier};
use crate::nn::conv_ae::{ConvAutoencoder, ConvAutoencoderConfig};
use crate::nn::mlp_ae::{MlpAutoencoder, MlpAutoencoderConfig};
use crate::nn::train::{EpochRecord, ReconstructionTrainingConfig, train_reconstruction};
use crate::store::artifacts::{Artifact, ArtifactStore};

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
}

/// Trains (or loads) an autoencoder of `kind` as `spec` says, on
/// `spec.train_set`, with `init` building the untrained model.
pub fn reconstruction_model<B, M, C>(
    ctx: &Ctx<B>,
    kind: &str,
    name: &str,
    spec: &AutoencoderSpec<C>,
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
                &spec.train_set.split().images,
                &ctx.data.test.images,
                &spec.training,
                device,
            )?)
        })
}

/// Trains (or loads) a conv AE as `spec` says.
pub fn autoencoder<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    name: &str,
    spec: AutoencoderSpec<ConvAutoencoderConfig>,
) -> Result<TrainedAe<B>> {
    let device = &ctx.device;
    reconstruction_model(ctx, CONV_AE, name, &spec, || spec.model.init::<B>(device))
}

/// The book's conv AE architecture, `[chapter.autoencoder]`: the one place
/// that maps its settings to a model config (chapters, specs and `bench`).
pub fn conv_ae_config(c: &ChapterSections) -> ConvAutoencoderConfig {
    ConvAutoencoderConfig::new(c.autoencoder.latent_dim).with_channels(c.autoencoder.channels)
}

/// The book's classifier: the conv AE's encoder and a head of `hidden`
/// units (`[chapter.classifier].hidden-dim`, or center-loss's k).
pub fn classifier_config(c: &ChapterSections, hidden: usize) -> ClassifierConfig {
    ClassifierConfig::new(c.autoencoder.latent_dim, hidden).with_channels(c.autoencoder.channels)
}

/// Kinds of cached model, the first part of their keys.
pub const CONV_AE: &str = "conv-ae";
pub const MLP_AE: &str = "mlp-ae";
pub const CLASSIFIER: &str = "classifier";

/// The fully connected AE of `[chapter.autoencoder]`: the conv AE's loss,
/// warm-up, budget, seed and images, only the architecture differs.
pub fn mlp_autoencoder_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
) -> AutoencoderSpec<MlpAutoencoderConfig> {
    let section = &ctx.config.book.chapter.autoencoder;
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
    reconstruction_model(ctx, MLP_AE, "fully connected AE", &spec, || {
        spec.model.init::<B>(device)
    })
}

/// The book's d=12 autoencoder: `[chapter.autoencoder]` with its warm-up.
pub fn book_autoencoder_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
) -> AutoencoderSpec<ConvAutoencoderConfig> {
    autoencoder_spec(ctx, ctx.config.book.chapter.autoencoder.mse_warmup_epochs)
}

/// Trains (or loads) the book's autoencoder.
pub fn book_autoencoder<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<TrainedAe<B>> {
    autoencoder(ctx, "conv AE (MSE warm-up)", book_autoencoder_spec(ctx))
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
        model: conv_ae_config(&ctx.config.book.chapter),
        training: ReconstructionTrainingConfig::new(
            profile.epochs,
            profile.batch_size,
            section.learning_rate,
            ctx.seed("autoencoder/conv-ae"),
        )
        .with_mse_warmup_epochs(mse_warmup_epochs),
        train_set: ctx.data.training_set().clone(),
    }
}

/// Trains (or loads) a classifier. `encoder` replaces the random initial
/// encoder (transfer learning); `spec.encoder_init` names it for the key.
pub fn classifier<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    name: &str,
    spec: ClassifierSpec,
    encoder: Option<crate::nn::conv_ae::ConvEncoder<B>>,
) -> Result<Artifact<Classifier<B>, Vec<ClassEpoch>>> {
    let device = &ctx.device;
    ctx.artifacts.load_or_train::<B, _, _, _>(
        CLASSIFIER,
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
                spec.train_set.split(),
                &ctx.data.test,
                &spec.training,
                device,
            )?)
        },
    )
}

/// The book's digit classifier: `[chapter.classifier]`.
pub fn book_classifier_spec<B: AutodiffBackend>(ctx: &Ctx<B>) -> ClassifierSpec {
    let c = &ctx.config.book.chapter;
    let profile = &ctx.config.profile;
    ClassifierSpec {
        model: classifier_config(c, c.classifier.hidden_dim),
        training: ClassifierTrainingConfig::new(
            profile.epochs,
            profile.batch_size,
            c.classifier.learning_rate,
            ctx.seed("classifier/classifier"),
        ),
        encoder_init: "random".into(),
        train_set: ctx.data.training_set().clone(),
    }
}

/// Trains (or loads) the book's digit classifier.
pub fn book_classifier<B: AutodiffBackend>(
    ctx: &Ctx<B>,
) -> Result<Artifact<Classifier<B>, Vec<ClassEpoch>>> {
    classifier(ctx, "classifier", book_classifier_spec(ctx), None)
}

/// A model the book needs, as the cache names it: what `ex2` would load or
/// train, without doing either.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedModel {
    /// `chapter/model`, unique within a book.
    pub name: String,
    pub kind: String,
    pub key: String,
    /// What the key hashes (spec and context), to say why a model is not
    /// cached by comparing with the cached ones.
    #[serde(skip)]
    pub described: serde_json::Value,
}

impl PlannedModel {
    pub fn new(
        store: &ArtifactStore,
        name: impl Into<String>,
        kind: &str,
        spec: &impl Serialize,
    ) -> Self {
        Self {
            name: name.into(),
            kind: kind.into(),
            key: store.key(kind, spec),
            described: store.described(spec),
        }
    }
}

/// The book AE as a planned model (chapters that use it list it).
pub fn planned_book_autoencoder<B: AutodiffBackend>(ctx: &Ctx<B>) -> PlannedModel {
    PlannedModel::new(
        ctx.artifacts,
        "autoencoder/conv-ae",
        CONV_AE,
        &book_autoencoder_spec(ctx),
    )
}

/// The book classifier as a planned model.
pub fn planned_book_classifier<B: AutodiffBackend>(ctx: &Ctx<B>) -> PlannedModel {
    PlannedModel::new(
        ctx.artifacts,
        "classifier/classifier",
        CLASSIFIER,
        &book_classifier_spec(ctx),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    use super::*;
    use crate::config::{Config, DatasetSource};
    use crate::data::Mnist;
    use crate::store::artifacts::KeyContext;

    type B = burn::backend::Autodiff<burn::backend::Flex>;

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

    fn fixture() -> Mnist {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        crate::data::load(DatasetSource::Fixture, &root.join(crate::data::FIXTURE_DIR)).unwrap()
    }

    /// The planned models of book.toml's smoke book with `overrides`: name → key.
    fn plan(full: &Mnist, overrides: &[String]) -> BTreeMap<String, String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let config = Config::load_with(&root.join("book.toml"), Some("smoke"), overrides)
            .unwrap_or_else(|e| panic!("{overrides:?}: {e}"));
        let data = full
            .clone()
            .cut(config.profile.train_size, config.profile.test_size);
        let dir = tempfile::tempdir().unwrap();
        let context = crate::runner::key_context(crate::backend::BackendKind::Cpu, &data);
        let store = ArtifactStore::new(dir.path().into(), context);
        let ctx = crate::chapters::Ctx::<B> {
            device: Default::default(),
            config: &config,
            data: &data,
            artifacts: &store,
        };
        let planned = crate::chapters::book_models(&ctx).unwrap();
        let n = planned.len();
        let map: BTreeMap<_, _> = planned.into_iter().map(|m| (m.name, m.key)).collect();
        assert_eq!(map.len(), n, "model names are unique");
        map
    }

    /// Leaf settings of a serialised book.toml, as `a.b.c` paths; `profile`
    /// only for `profile`, tables of user-chosen keys as one setting.
    fn settings(value: &serde_json::Value, path: &str, profile: &str, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(fields) if path != "diff.tolerance" => {
                for (k, v) in fields {
                    if path == "profile" && k != profile {
                        continue;
                    }
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    settings(v, &p, profile, out);
                }
            }
            _ => out.push(path.to_string()),
        }
    }

    /// For every setting of book.toml, changing it changes exactly the keys
    /// of the models `key_coverage.toml` says it affects and leaves every
    /// other model cached. The table is the only statement of which setting
    /// affects which model.
    #[test]
    fn every_setting_changes_exactly_its_models() {
        let table: toml::Table = toml::from_str(include_str!("key_coverage.toml")).unwrap();
        let groups = table["groups"].as_table().unwrap();
        let rows = table["setting"].as_table().unwrap();

        let full = fixture();
        let base = plan(&full, &[]);
        // Every setting of book.toml is in the table, and nothing else.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let config = Config::load(&root.join("book.toml"), Some("smoke")).unwrap();
        let mut all = Vec::new();
        settings(
            &serde_json::to_value(&config.book).unwrap(),
            "",
            "smoke",
            &mut all,
        );
        let listed: BTreeSet<&String> = rows.keys().collect();
        let present: BTreeSet<&String> = all.iter().collect();
        assert_eq!(
            present.difference(&listed).collect::<Vec<_>>(),
            Vec::<&&String>::new(),
            "settings missing from key_coverage.toml"
        );
        assert_eq!(
            listed.difference(&present).collect::<Vec<_>>(),
            Vec::<&&String>::new(),
            "key_coverage.toml lists settings book.toml does not have"
        );

        let names = |v: Option<&toml::Value>, planned: &BTreeMap<String, String>| {
            let mut out = BTreeSet::new();
            for n in v.and_then(|v| v.as_array()).into_iter().flatten() {
                let n = n.as_str().unwrap();
                if n == "*" {
                    out.extend(base.keys().chain(planned.keys()).cloned());
                } else if let Some(g) = n.strip_prefix('@') {
                    let group = groups[g].as_array().unwrap_or_else(|| panic!("group {g}"));
                    out.extend(group.iter().map(|m| m.as_str().unwrap().to_string()));
                } else {
                    out.insert(n.to_string());
                }
            }
            out
        };
        let mut failures = Vec::new();
        for (setting, row) in rows {
            if row.get("skip").is_some() {
                continue;
            }
            let value = &row["value"];
            let changed_plan = plan(&full, &[format!("{setting}={value}")]);
            let mut expected = names(row.get("models"), &changed_plan);
            for n in names(row.get("except"), &changed_plan) {
                expected.remove(&n);
            }
            let changed: BTreeSet<String> = base
                .keys()
                .chain(changed_plan.keys())
                .filter(|n| base.get(*n) != changed_plan.get(*n))
                .cloned()
                .collect();
            if changed != expected {
                failures.push(format!(
                    "{setting} = {value}: changed {:?}, expected {:?}",
                    changed.difference(&expected).collect::<Vec<_>>(),
                    expected.difference(&changed).collect::<Vec<_>>(),
                ));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
        // The groups name real models.
        for (g, members) in groups {
            for m in members.as_array().unwrap() {
                assert!(base.contains_key(m.as_str().unwrap()), "group {g}: {m}");
            }
        }
    }

    /// A training set is known by its examples: the few-shot models change
    /// with the labelled subset, and two selections of the same size differ.
    #[test]
    fn training_sets_are_keyed_by_their_examples() {
        let full = fixture();
        let base = plan(&full, &[]);
        let other_seed = plan(&full, &["build.seed=1".into()]);
        assert_ne!(base["few-shot/scratch"], other_seed["few-shot/scratch"]);
        // The sweep's d=12 is the book's AE: one model, trained once.
        assert_eq!(base["latent/d12"], base["autoencoder/conv-ae"]);
    }
}

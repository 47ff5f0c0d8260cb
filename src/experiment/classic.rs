//! The heavy classic-ML results as jobs of the book's graph, cached like
//! trained models: an SVM's, a logistic regression's or a naive Bayes
//! fit's test predictions, and t-SNE embeddings.
//!
//! Each is keyed by its *recipe*, not by the bytes of its inputs: the
//! algorithm, the settings it uses, and how its inputs are made (the first
//! n training images' pixels, their PCA, or the codes or features of a
//! cached model named by that model's key). So `ex2 plan` lists it before
//! anything is trained, with the models it reads as dependencies; `ex2
//! train <key>` (a cluster job) computes it; and a rebuild from the cache
//! does not even compute its inputs. The code that turns a recipe into
//! numbers — the algorithms, and the chapter code that makes their inputs
//! — is hashed into every key (build.rs, `EX2_CLASSIC_CODE`); the training
//! code is not, since a model's key already stands for it.

use std::cell::OnceCell;

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::Ctx;
use super::models::PlannedModel;
use crate::ml::baselines::{self, Features, Model, Outcome, Settings, standardise};
use crate::nn::conv_ae::ConvEncoder;
use crate::store::artifacts::Computed;

/// Kinds of the cache entries.
pub const CLASSIC_FIT: &str = "classic-fit";
pub const TSNE: &str = "tsne";

/// The hash of the classic algorithms and of the code that makes their
/// inputs (build.rs).
const CLASSIC_CODE: &str = env!("EX2_CLASSIC_CODE");

/// How a fit's feature set is made: features of the first `images`
/// training images (a fit may use the first part of them, see
/// [`FitJob::examples`]), and of every test image, the same way.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "from", rename_all = "kebab-case")]
pub enum FeatureRecipe {
    /// Pixels scaled to [0, 1].
    RawPixels { images: usize },
    /// The pixels' principal components, fitted on the training images,
    /// standardised.
    Pca { images: usize, components: usize },
    /// The codes of the conv AE with cache key `autoencoder`, standardised.
    Codes { images: usize, autoencoder: String },
}

/// A feature set: training features and test features.
pub type FeaturePair = (Features, Features);

/// What [`FeatureRecipe::Codes`] names: `encoder`'s codes of the first
/// `images` training images and of every test image, standardised with
/// the training codes' statistics.
pub fn code_features<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    encoder: &ConvEncoder<B::InnerBackend>,
    images: usize,
) -> Result<FeaturePair> {
    let (train, test) = (&ctx.data.train, &ctx.data.test);
    let (tr, d) = encoder.encode_all(&train.images.truncated(images), &ctx.device);
    let (te, _) = encoder.encode_all(&test.images, &ctx.device);
    let to_f64 = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<_>>();
    let train = Features::new(to_f64(tr), d, &train.labels[..images])?;
    let test = Features::new(to_f64(te), d, &test.labels)?;
    Ok(standardise(&train, &test))
}

/// What [`PointsRecipe::Codes`] names: `encoder`'s codes of the first
/// `images` test images, and their dimension.
pub fn test_codes<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    encoder: &ConvEncoder<B::InnerBackend>,
    images: usize,
) -> (Vec<f32>, usize) {
    encoder.encode_all(&ctx.data.test.images.truncated(images), &ctx.device)
}

/// A feature set made at most once, when the first fit that needs it is
/// not cached (a rebuild from the cache never makes it).
pub struct LazyFeatures<'a> {
    pub recipe: FeatureRecipe,
    make: Box<dyn Fn() -> Result<FeaturePair> + 'a>,
    made: OnceCell<FeaturePair>,
}

impl<'a> LazyFeatures<'a> {
    pub fn new(recipe: FeatureRecipe, make: impl Fn() -> Result<FeaturePair> + 'a) -> Self {
        Self {
            recipe,
            make: Box::new(make),
            made: OnceCell::new(),
        }
    }

    pub fn get(&self) -> Result<&FeaturePair> {
        if let Some(made) = self.made.get() {
            return Ok(made);
        }
        let made = (self.make)()?;
        Ok(self.made.get_or_init(|| made))
    }
}

/// The settings a model uses (only those: a change to another model's
/// setting keeps its result cached).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
enum UsedSettings {
    Svm { c: f64 },
    PolySvm { c: f64, degree: f64 },
    Logistic { iterations: u64 },
    NaiveBayes {},
}

/// One classic fit: `model` fitted on the first `examples` rows of the
/// training features `features` makes, predicting every test row.
#[derive(Debug, Clone, Serialize)]
pub struct FitJob {
    model: Model,
    settings: UsedSettings,
    features: FeatureRecipe,
    /// Training rows the fit uses (the first of the recipe's `images`).
    examples: usize,
    code: &'static str,
    #[serde(skip)]
    all_settings: Settings,
}

impl FitJob {
    pub fn new(model: Model, features: FeatureRecipe, examples: usize, s: &Settings) -> Self {
        let settings = match model {
            Model::LinearSvm => UsedSettings::Svm { c: s.svm_c },
            Model::PolySvm => UsedSettings::PolySvm {
                c: s.poly_c,
                degree: s.poly_degree,
            },
            Model::Logistic => UsedSettings::Logistic {
                iterations: s.logistic_iterations,
            },
            Model::NaiveBayes => UsedSettings::NaiveBayes {},
        };
        Self {
            model,
            settings,
            features,
            examples,
            code: CLASSIC_CODE,
            all_settings: *s,
        }
    }

    /// The fit's result, from the cache when it has it (its times are
    /// then those of the run that computed it); else `features` is made
    /// (if not yet) and the fit runs in the scheduler's slots.
    pub fn run<B: AutodiffBackend>(
        &self,
        ctx: &Ctx<B>,
        features: &LazyFeatures,
    ) -> Result<Computed<Outcome>> {
        assert_eq!(
            features.recipe, self.features,
            "a fit's features are its recipe's"
        );
        ctx.artifacts.load_or_compute(CLASSIC_FIT, self, || {
            let (train, test) = features.get()?;
            baselines::fit_predict(
                self.model,
                &train.head(self.examples),
                test,
                &self.all_settings,
            )
        })
    }

    /// The fit as a job of the plan; obtaining it makes its features.
    pub fn planned<'a, B: AutodiffBackend>(
        self,
        ctx: &'a Ctx<B>,
        name: String,
        features: LazyFeatures<'a>,
    ) -> PlannedModel<'a> {
        let spec = self.clone();
        PlannedModel::new(ctx.artifacts, name, CLASSIC_FIT, &spec, move || {
            self.run(ctx, &features).map(drop)
        })
    }
}

/// Which points a t-SNE embeds: the first `images` test images' outputs
/// of a cached model, named by its key.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "of", rename_all = "kebab-case")]
pub enum PointsRecipe {
    /// A conv AE's codes.
    Codes { autoencoder: String, images: usize },
    /// A classifier's feature layer.
    Features { classifier: String, images: usize },
}

/// One t-SNE embedding to two dimensions.
#[derive(Debug, Clone, Serialize)]
pub struct TsneJob {
    points: PointsRecipe,
    perplexity: f64,
    iterations: usize,
    seed: u64,
    code: &'static str,
}

impl TsneJob {
    pub fn new(points: PointsRecipe, perplexity: f64, iterations: usize, seed: u64) -> Self {
        Self {
            points,
            perplexity,
            iterations,
            seed,
            code: CLASSIC_CODE,
        }
    }

    /// The embedding, from the cache when it has it; else `points` (the
    /// values, row-major, and their dimension) are made and embedded.
    pub fn run<B: AutodiffBackend>(
        &self,
        ctx: &Ctx<B>,
        points: impl FnOnce() -> Result<(Vec<f32>, usize)>,
    ) -> Result<Vec<(f64, f64)>> {
        let computed = ctx.artifacts.load_or_compute(TSNE, self, || {
            let (values, dim) = points()?;
            crate::ml::tsne::tsne_2d(&values, dim, self.perplexity, self.iterations, self.seed)
        })?;
        Ok(computed.value)
    }

    /// The embedding as a job of the plan; obtaining it makes its points.
    pub fn planned<'a, B: AutodiffBackend>(
        self,
        ctx: &'a Ctx<B>,
        name: String,
        points: impl FnOnce() -> Result<(Vec<f32>, usize)> + 'a,
    ) -> PlannedModel<'a> {
        let spec = self.clone();
        PlannedModel::new(ctx.artifacts, name, TSNE, &spec, move || {
            self.run(ctx, points).map(drop)
        })
    }
}

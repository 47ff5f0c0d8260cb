//! The heavy classic-ML results, cached like trained models: an SVM's,
//! a logistic regression's or a naive Bayes fit's test predictions, and a
//! t-SNE embedding. Each is keyed by the algorithm, the settings it uses and
//! the SHA-256 of the very numbers it runs on (features and labels, or the
//! points), plus the hash of the classic-ML source (build.rs) and the
//! store's key context; so a rebuild from cached models recomputes none of
//! them, and any change to their inputs does.

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Ctx;
use crate::ml::baselines::{self, Features, Model, Outcome, Settings};
use crate::store::artifacts::Computed;

/// Kinds of the cache entries.
const CLASSIC_FIT: &str = "classic-fit";
const TSNE: &str = "tsne";

/// The hash of `src/ml` and `src/base` (build.rs).
const CLASSIC_CODE: &str = env!("EX2_CLASSIC_CODE");

/// SHA-256 of a feature matrix: its shape, values and labels.
fn features_sha256(f: &Features) -> String {
    let mut h = Sha256::new();
    h.update((f.x.nrows() as u64).to_le_bytes());
    h.update((f.x.ncols() as u64).to_le_bytes());
    for v in f.x.iter() {
        h.update(v.to_le_bytes());
    }
    for &y in f.y.iter() {
        h.update((y as u64).to_le_bytes());
    }
    hex(h)
}

fn hex(h: Sha256) -> String {
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The settings a model uses (only those: a change to another model's
/// setting keeps its result cached).
#[derive(Serialize)]
#[serde(untagged)]
enum UsedSettings {
    Svm { c: f64 },
    PolySvm { c: f64, degree: f64 },
    Logistic { iterations: u64 },
    NaiveBayes {},
}

#[derive(Serialize)]
struct FitSpec {
    model: Model,
    settings: UsedSettings,
    train_sha256: String,
    train_examples: usize,
    test_sha256: String,
    code: &'static str,
}

/// `baselines::fit_predict`, from the cache when it has the result (its
/// times are then those of the run that computed it).
pub fn fit_predict<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    model: Model,
    train: &Features,
    test: &Features,
    s: &Settings,
) -> Result<Computed<Outcome>> {
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
    let spec = FitSpec {
        model,
        settings,
        train_sha256: features_sha256(train),
        train_examples: train.y.len(),
        test_sha256: features_sha256(test),
        code: CLASSIC_CODE,
    };
    ctx.artifacts.load_or_compute(CLASSIC_FIT, &spec, || {
        baselines::fit_predict(model, train, test, s)
    })
}

#[derive(Serialize)]
struct TsneSpec {
    points_sha256: String,
    points: usize,
    dim: usize,
    perplexity: f64,
    iterations: usize,
    seed: u64,
    code: &'static str,
}

/// `tsne::tsne_2d`, from the cache when it has the embedding.
pub fn tsne_2d<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    points: &[f32],
    dim: usize,
    perplexity: f64,
    iterations: usize,
    seed: u64,
) -> Result<Vec<(f64, f64)>> {
    let mut h = Sha256::new();
    for v in points {
        h.update(v.to_le_bytes());
    }
    let spec = TsneSpec {
        points_sha256: hex(h),
        points: points.len() / dim.max(1),
        dim,
        perplexity,
        iterations,
        seed,
        code: CLASSIC_CODE,
    };
    let computed = ctx.artifacts.load_or_compute(TSNE, &spec, || {
        crate::ml::tsne::tsne_2d(points, dim, perplexity, iterations, seed)
    })?;
    Ok(computed.value)
}

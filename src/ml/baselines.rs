//! Classic classifiers from linfa: SVM (linear and polynomial kernel,
//! one-vs-rest), multinomial logistic regression, Gaussian naive Bayes; and
//! PCA for a non-learned low-dimensional feature set.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, ensure};
use linfa::prelude::*;
use linfa_bayes::GaussianNb;
use linfa_kernel::{Kernel, KernelMethod};
use linfa_logistic::MultiLogisticRegression;
use linfa_reduction::Pca;
use linfa_svm::{SolverParams, fit_c_shared};
use ndarray::{Array1, Array2, ArrayView2, Axis};

use crate::runtime::scheduler::{self, Job};
use crate::runtime::timing::Phase;

/// A feature matrix (n × dim) with its labels.
pub struct Features {
    pub x: Array2<f64>,
    pub y: Array1<usize>,
}

impl Features {
    pub fn new(values: Vec<f64>, dim: usize, labels: &[u8]) -> Result<Self> {
        ensure!(
            dim > 0 && values.len() == labels.len() * dim,
            "features must be n × {dim}"
        );
        Ok(Self {
            x: Array2::from_shape_vec((labels.len(), dim), values)?,
            y: labels.iter().map(|&l| l as usize).collect(),
        })
    }

    /// The first `n` rows.
    pub fn head(&self, n: usize) -> Features {
        let n = n.min(self.y.len());
        Features {
            x: self.x.slice(ndarray::s![..n, ..]).to_owned(),
            y: self.y.slice(ndarray::s![..n]).to_owned(),
        }
    }

    pub fn dim(&self) -> usize {
        self.x.ncols()
    }
}

/// Pixels in [0, 1], one row per image.
pub fn pixel_features(pixels: &[u8], labels: &[u8]) -> Result<Features> {
    Features::new(
        pixels.iter().map(|&p| p as f64 / 255.0).collect(),
        pixels.len() / labels.len().max(1),
        labels,
    )
}

/// PCA fitted on `train`, applied to both sets.
pub fn pca(train: &Features, test: &Features, components: usize) -> Result<(Features, Features)> {
    ensure!(
        components <= train.dim(),
        "PCA to {components} components of {}-d data",
        train.dim()
    );
    let ds = DatasetBase::from(train.x.clone());
    let model = scheduler::in_slot(Phase::ClassicMl, || {
        Pca::params(components)
            .fit(&ds)
            .map_err(|e| anyhow!("PCA: {e}"))
    })?;
    let project = |f: &Features| Features {
        x: model.predict(&f.x),
        y: f.y.clone(),
    };
    Ok((project(train), project(test)))
}

/// Standardises columns with the training set's mean and deviation (the SVM
/// and logistic regression need comparable scales on latent codes).
pub fn standardise(train: &Features, test: &Features) -> (Features, Features) {
    let mean = train.x.mean_axis(Axis(0)).expect("rows");
    let std = train
        .x
        .std_axis(Axis(0), 0.0)
        .mapv(|s| if s > 1e-9 { s } else { 1.0 });
    let f = |x: &Features| Features {
        x: (&x.x - &mean) / &std,
        y: x.y.clone(),
    };
    (f(train), f(test))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Model {
    LinearSvm,
    PolySvm,
    Logistic,
    NaiveBayes,
}

impl Model {
    pub const ALL: [Model; 4] = [
        Model::LinearSvm,
        Model::PolySvm,
        Model::Logistic,
        Model::NaiveBayes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Model::LinearSvm => "SVM, linear kernel",
            Model::PolySvm => "SVM, polynomial kernel",
            Model::Logistic => "logistic regression",
            Model::NaiveBayes => "Gaussian naive Bayes",
        }
    }

    pub fn is_svm(self) -> bool {
        matches!(self, Model::LinearSvm | Model::PolySvm)
    }

    /// Its name in keys and plan names, as it serialises.
    pub fn id(self) -> &'static str {
        match self {
            Model::LinearSvm => "linear-svm",
            Model::PolySvm => "poly-svm",
            Model::Logistic => "logistic",
            Model::NaiveBayes => "naive-bayes",
        }
    }
}

/// Hyper-parameters of the classic models.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub svm_c: f64,
    pub poly_c: f64,
    pub poly_degree: f64,
    pub logistic_iterations: u64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Outcome {
    pub predictions: Vec<u8>,
    pub accuracy: f64,
    pub fit_seconds: f64,
    pub predict_seconds: f64,
}

/// Scales both sets by the training rows' root-mean-square norm, so that
/// inner products (and the polynomial kernel (x·y + 1)³) are of order one
/// whatever the feature set; like scikit-learn's `gamma="scale"`. Without
/// it linfa's SMO solver can take minutes on poorly separated codes.
pub fn unit_scale(train: &Features, test: &Features) -> (Features, Features) {
    let ms =
        train.x.rows().into_iter().map(|r| r.dot(&r)).sum::<f64>() / train.x.nrows().max(1) as f64;
    let k = if ms > 0.0 { 1.0 / ms.sqrt() } else { 1.0 };
    let f = |x: &Features| Features {
        x: &x.x * k,
        y: x.y.clone(),
    };
    (f(train), f(test))
}

/// One fitted binary SVM, as its decision function needs it: the signed
/// dual coefficient of every training row (zero off the support vectors)
/// and the offset ρ.
struct BinarySvm {
    alpha: Vec<f64>,
    rho: f64,
}

/// Ten binary SVMs, one per digit, each solved by linfa's SMO solver as a
/// job in a slot of the book's scheduler (on the slot's threads, beside the
/// trainings), all on one kernel matrix computed once; the class with the
/// largest decision value wins. Returns the predictions, the fit's time
/// (the kernel and the ten solves, each on its own thread-time, summed) and
/// the prediction's.
fn one_vs_rest_svm(
    train: &Features,
    test: ArrayView2<f64>,
    model: Model,
    s: &Settings,
) -> Result<(Vec<u8>, f64, f64)> {
    let (method, c) = match model {
        Model::PolySvm => (KernelMethod::Polynomial(1.0, s.poly_degree), s.poly_c),
        _ => (KernelMethod::Linear, s.svm_c),
    };
    // Timed inside the slot, so waiting for one is not counted.
    let (kernel, kernel_seconds) = scheduler::in_slot(Phase::ClassicMl, || {
        let started = Instant::now();
        let kernel: Kernel<f64> = Kernel::params().method(method).transform(train.x.view());
        (Arc::new(kernel), started.elapsed().as_secs_f64())
    });
    let kernel = &kernel;
    let jobs: Vec<Job<(BinarySvm, f64)>> = (0..10usize)
        .map(|class| {
            Box::new(move || {
                scheduler::in_slot(Phase::ClassicMl, || {
                    let started = Instant::now();
                    let targets: Vec<bool> = train.y.iter().map(|&y| y == class).collect();
                    // linfa's tolerance; shrinking as libsvm does it by
                    // default (the vendored solver's shrinking is repaired,
                    // vendor/README.md): on low-dimensional codes most of
                    // the time is iterations over variables already at a bound.
                    let params = solver_params();
                    let svm =
                        fit_c_shared(params, train.x.view(), Arc::clone(kernel), &targets, c, c);
                    let fitted = BinarySvm {
                        alpha: support_coefficients(&svm.alpha),
                        rho: svm.rho,
                    };
                    Ok((fitted, started.elapsed().as_secs_f64()))
                })
            }) as Job<_>
        })
        .collect();
    let fitted = scheduler::parallel(jobs)
        .with_context(|| format!("fitting the ten binary SVMs ({})", model.name()))?;
    let fit_seconds = kernel_seconds + fitted.iter().map(|(_, t)| t).sum::<f64>();
    let svms: Vec<BinarySvm> = fitted.into_iter().map(|(svm, _)| svm).collect();
    let (values, predict_seconds) = scheduler::in_slot(Phase::ClassicMl, || {
        let started = Instant::now();
        let values = decision_values(train.x.view(), test, &svms, model, s);
        (values, started.elapsed().as_secs_f64())
    });
    let predictions = values
        .rows()
        .into_iter()
        .map(|row| {
            (0..10)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .expect("ten classes") as u8
        })
        .collect();
    Ok((predictions, fit_seconds, predict_seconds))
}

/// The SMO solver's settings: linfa's default tolerance, with shrinking.
fn solver_params() -> SolverParams<f64> {
    SolverParams {
        eps: 1e-7,
        shrinking: true,
    }
}

/// linfa's dual coefficients with those its own prediction ignores
/// (`Svm::weighted_sum` keeps |α| > 100 ε) set to zero.
fn support_coefficients(alpha: &[f64]) -> Vec<f64> {
    alpha
        .iter()
        .map(|&a| {
            if a.abs() > 100.0 * f64::EPSILON {
                a
            } else {
                0.0
            }
        })
        .collect()
}

/// The decision values of the ten binary SVMs on every test row (n_test ×
/// 10): Σᵢ αᵢ K(xᵢ, t) − ρ, what linfa's `weighted_sum` − ρ computes one
/// pair at a time, here as matrix products — the linear kernel through the
/// ten weight vectors Xᵀα, the polynomial one over the union of the support
/// vectors, in blocks of test rows so the kernel block stays small.
fn decision_values(
    train: ArrayView2<f64>,
    test: ArrayView2<f64>,
    svms: &[BinarySvm],
    model: Model,
    s: &Settings,
) -> Array2<f64> {
    let n = train.nrows();
    let rho = Array1::from_iter(svms.iter().map(|svm| svm.rho));
    let support: Vec<usize> = (0..n)
        .filter(|&i| svms.iter().any(|svm| svm.alpha[i] != 0.0))
        .collect();
    // Rows: the support vectors; columns: the ten problems.
    let alpha = Array2::from_shape_fn((support.len(), svms.len()), |(r, c)| {
        svms[c].alpha[support[r]]
    });
    let vectors = train.select(Axis(0), &support);
    let mut values = match model {
        Model::PolySvm => {
            let mut values = Array2::zeros((test.nrows(), svms.len()));
            const BLOCK: usize = 1024;
            for (start, mut out) in (0..test.nrows())
                .step_by(BLOCK)
                .zip(values.axis_chunks_iter_mut(Axis(0), BLOCK))
            {
                let rows = test.slice(ndarray::s![start..(start + BLOCK).min(test.nrows()), ..]);
                let kernel = rows
                    .dot(&vectors.t())
                    .mapv_into(|g| (g + 1.0).powf(s.poly_degree));
                out.assign(&kernel.dot(&alpha));
            }
            values
        }
        _ => test.dot(&vectors.t().dot(&alpha)),
    };
    values -= &rho;
    values
}

/// Predicts `x` with a fitted linfa model: (labels, fit seconds, predict seconds).
fn predict_timed<M>(fitted: &M, x: &Array2<f64>, fit_seconds: f64) -> (Vec<u8>, f64, f64)
where
    M: for<'a> Predict<&'a Array2<f64>, Array1<usize>>,
{
    let t = Instant::now();
    let p: Array1<usize> = fitted.predict(x);
    (
        p.iter().map(|&c| c as u8).collect(),
        fit_seconds,
        t.elapsed().as_secs_f64(),
    )
}

/// Fits `model` on `train` and predicts `test`, in slots of the book's
/// scheduler. Times are the fits' own, waiting for a slot excluded; an
/// SVM's `fit_seconds` sums its ten binary fits.
pub fn fit_predict(
    model: Model,
    train: &Features,
    test: &Features,
    s: &Settings,
) -> Result<Outcome> {
    let (predictions, fit_seconds, predict_seconds) = match model {
        Model::LinearSvm | Model::PolySvm => {
            let (train, test) = unit_scale(train, test);
            one_vs_rest_svm(&train, test.x.view(), model, s)?
        }
        Model::Logistic => scheduler::in_slot(Phase::ClassicMl, || {
            let started = Instant::now();
            let ds = Dataset::new(train.x.clone(), train.y.clone());
            let fitted = MultiLogisticRegression::default()
                .max_iterations(s.logistic_iterations)
                .fit(&ds)
                .map_err(|e| anyhow!("logistic regression: {e}"))?;
            Ok::<_, anyhow::Error>(predict_timed(
                &fitted,
                &test.x,
                started.elapsed().as_secs_f64(),
            ))
        })?,
        Model::NaiveBayes => scheduler::in_slot(Phase::ClassicMl, || {
            let started = Instant::now();
            let ds = Dataset::new(train.x.clone(), train.y.clone());
            let fitted = GaussianNb::params()
                .fit(&ds)
                .map_err(|e| anyhow!("naive Bayes: {e}"))?;
            Ok::<_, anyhow::Error>(predict_timed(
                &fitted,
                &test.x,
                started.elapsed().as_secs_f64(),
            ))
        })?,
    };
    let correct = predictions
        .iter()
        .zip(&test.y)
        .filter(|(p, y)| **p as usize == **y)
        .count();
    Ok(Outcome {
        accuracy: correct as f64 / test.y.len() as f64,
        predictions,
        fit_seconds,
        predict_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten well-separated blobs in 10-D, one around 3·e_c per class, so that
    /// every one-vs-rest problem is linearly separable.
    fn blobs(n_per: usize, offset: usize) -> Features {
        let mut v = Vec::new();
        let mut labels = Vec::new();
        for c in 0..10u8 {
            for i in 0..n_per {
                for d in 0..10 {
                    let noise = (((i + offset) * 7919 + d * 104_729) % 97) as f64 / 97.0 - 0.5;
                    v.push(if d == c as usize { 3.0 } else { 0.0 } + noise);
                }
                labels.push(c);
            }
        }
        Features::new(v, 10, &labels).unwrap()
    }

    #[test]
    fn every_model_separates_separable_blobs() {
        let (train, test) = (blobs(20, 0), blobs(10, 5));
        let s = Settings {
            svm_c: 1.0,
            poly_c: 10.0,
            poly_degree: 3.0,
            logistic_iterations: 200,
        };
        let (train, test) = standardise(&train, &test);
        for m in Model::ALL {
            let o = fit_predict(m, &train, &test, &s).unwrap();
            assert!(o.accuracy > 0.9, "{} reached only {}", m.name(), o.accuracy);
        }
    }

    /// The vendored dense kernel (one matrix product) is the kernel linfa
    /// defines pair by pair.
    #[test]
    fn the_dense_kernel_is_linfas_pairwise_kernel() {
        let x = blobs(6, 3).x;
        for method in [
            KernelMethod::Linear,
            KernelMethod::Polynomial(1.0, 3.0),
            KernelMethod::Gaussian(2.0),
        ] {
            let kernel = Kernel::params().method(method.clone()).transform(x.view());
            let n = x.nrows();
            assert_eq!(kernel.size(), n);
            for i in 0..n {
                let column = kernel.column(i);
                for (j, value) in column.iter().enumerate() {
                    let pair = method.distance(x.row(i), x.row(j));
                    assert!(
                        (value - pair).abs() <= 1e-9 * pair.abs().max(1.0),
                        "{method:?} ({i}, {j}): {value} against {pair}"
                    );
                }
            }
        }
    }

    /// The ten shared-kernel fits and the matrix-product decision values give
    /// what linfa's own `fit` and `weighted_sum` give, problem by problem.
    #[test]
    fn one_vs_rest_decision_values_are_linfas() {
        let (train, test) = unit_scale(&blobs(8, 0), &blobs(4, 5));
        let s = Settings {
            svm_c: 1.0,
            poly_c: 10.0,
            poly_degree: 3.0,
            logistic_iterations: 10,
        };
        for model in [Model::LinearSvm, Model::PolySvm] {
            let (predictions, _, _) = one_vs_rest_svm(&train, test.x.view(), model, &s).unwrap();
            let mut expected = Array2::<f64>::zeros((test.x.nrows(), 10));
            for class in 0..10 {
                let targets: Array1<bool> = train.y.mapv(|y| y == class);
                let params = linfa_svm::Svm::<f64, bool>::params();
                let params = match model {
                    Model::PolySvm => params
                        .polynomial_kernel(1.0, s.poly_degree)
                        .pos_neg_weights(s.poly_c, s.poly_c),
                    _ => params.linear_kernel().pos_neg_weights(s.svm_c, s.svm_c),
                };
                let svm = params.fit(&Dataset::new(train.x.clone(), targets)).unwrap();
                for (i, row) in test.x.rows().into_iter().enumerate() {
                    expected[[i, class]] = svm.weighted_sum(&row) - svm.rho;
                }
                let ours = BinarySvm {
                    alpha: support_coefficients(&svm.alpha),
                    rho: svm.rho,
                };
                let shared = decision_values(train.x.view(), test.x.view(), &[ours], model, &s);
                for i in 0..test.x.nrows() {
                    let (a, b) = (shared[[i, 0]], expected[[i, class]]);
                    assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} against {b}");
                }
            }
            for (i, p) in predictions.iter().enumerate() {
                let row = expected.row(i);
                let best = (0..10).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
                assert_eq!(*p as usize, best, "{} row {i}", model.name());
            }
        }
    }

    /// Shrinking (the repaired vendored solver) finds the solution the full
    /// solver finds: the same dual objective's coefficients to the
    /// tolerance, and the same decision values, on problems where many
    /// variables end at a bound (overlapping classes, small C) and where
    /// few do.
    #[test]
    fn shrinking_finds_the_unshrunk_solution() {
        // Every fourth label wrong: those points end at the bound C.
        let mut noisy = blobs(30, 1);
        for (i, y) in noisy.y.iter_mut().enumerate() {
            if i % 4 == 0 {
                *y = (*y + 1) % 10;
            }
        }
        for (set, c, degree) in [(blobs(30, 2), 1.0, 1.0), (noisy, 0.5, 3.0)] {
            let (train, _) = unit_scale(&set, &set);
            let method = if degree == 1.0 {
                KernelMethod::Linear
            } else {
                KernelMethod::Polynomial(1.0, degree)
            };
            let kernel = Arc::new(
                Kernel::params()
                    .method(method.clone())
                    .transform(train.x.view()),
            );
            let n = train.x.nrows();
            let k = Array2::from_shape_fn((n, n), |(i, j)| {
                method.distance(train.x.row(i), train.x.row(j))
            });
            for class in 0..10 {
                let targets: Vec<bool> = train.y.iter().map(|&y| y == class).collect();
                let fit = |shrinking| {
                    let params = SolverParams {
                        eps: 1e-7,
                        shrinking,
                    };
                    fit_c_shared(params, train.x.view(), Arc::clone(&kernel), &targets, c, c)
                };
                let (full, shrunk) = (fit(false), fit(true));
                let at_bound = full
                    .alpha
                    .iter()
                    .filter(|a| (a.abs() - c).abs() < 1e-9)
                    .count();
                // The dual's coefficients need not be unique (the kernel
                // matrix is singular here), its optimum is: ½ αᵀKα − Σ|α|
                // with α signed.
                let dual = |alpha: &[f64]| {
                    let a = Array1::from(alpha.to_vec());
                    0.5 * a.dot(&k.dot(&a)) - a.iter().map(|v| v.abs()).sum::<f64>()
                };
                let (d_full, d_shrunk) = (dual(&full.alpha), dual(&shrunk.alpha));
                assert!(
                    (d_full - d_shrunk).abs() <= 1e-6 * d_full.abs().max(1.0),
                    "class {class}: dual {d_full} against {d_shrunk}"
                );
                let values = |svm: &linfa_svm::Svm<f64, f64>| {
                    let one = BinarySvm {
                        alpha: support_coefficients(&svm.alpha),
                        rho: svm.rho,
                    };
                    let s = Settings {
                        svm_c: c,
                        poly_c: c,
                        poly_degree: degree,
                        logistic_iterations: 1,
                    };
                    let model = if degree == 1.0 {
                        Model::LinearSvm
                    } else {
                        Model::PolySvm
                    };
                    decision_values(train.x.view(), train.x.view(), &[one], model, &s)
                };
                let (a, b) = (values(&full), values(&shrunk));
                for (x, y) in a.iter().zip(b.iter()) {
                    assert!((x - y).abs() < 1e-3, "class {class}: {x} against {y}");
                }
                // The noisy problems do reach the bound, so shrinking has
                // something to shrink.
                if c == 0.5 {
                    assert!(at_bound > 0, "class {class}: no α at the bound");
                }
            }
        }
    }

    #[test]
    fn pca_keeps_the_requested_components() {
        let (train, test) = (blobs(20, 0), blobs(10, 5));
        let (a, b) = pca(&train, &test, 2).unwrap();
        assert_eq!((a.dim(), b.dim()), (2, 2));
        assert_eq!(a.y, train.y);
        assert!(pca(&train, &test, 11).is_err());
    }

    #[test]
    fn pixel_features_are_scaled() {
        let f = pixel_features(&[0, 255, 51, 102], &[1, 2]).unwrap();
        assert_eq!(f.x.shape(), &[2, 2]);
        assert!((f.x[[0, 1]] - 1.0).abs() < 1e-12 && (f.x[[1, 0]] - 0.2).abs() < 1e-12);
        assert_eq!(f.head(1).y.len(), 1);
    }
}

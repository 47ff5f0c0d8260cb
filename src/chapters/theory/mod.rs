//! Chapter `theory`: the exercise's theoretical claims, each checked
//! numerically with burn tensors in the run — shift equivariance of
//! convolution, bias, ReLU, strided pooling and a small CNN, and the
//! Jacobians of a bias, a fully connected and a convolution layer.

use anyhow::Result;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::module::{conv1d, max_pool1d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, ElementConversion, Tensor};
use polars::prelude::Column;

use crate::book::ChapterOutput;
use crate::book::table::Table;
use crate::config::Config;
use crate::experiment::Ctx;

pub const TABLES: &[&str] = &["checks"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &[];

pub fn title(_config: &Config) -> String {
    "Theory, Checked Numerically".into()
}

/// Errors below this are floating-point noise: the claim holds.
pub const HOLDS_BELOW: f64 = 1e-4;
/// Errors above this are real: the operation is not equivariant.
pub const FAILS_ABOVE: f64 = 1e-2;

/// Length of the 1-D test signals.
const LEN: usize = 32;

/// A 1-D operation on `[batch, channels, length]` signals.
pub type Op<'a, B> = Box<dyn Fn(Tensor<B, 3>) -> Tensor<B, 3> + 'a>;

fn max_abs<B: Backend, const D: usize>(t: Tensor<B, D>) -> f64 {
    t.abs().max().into_scalar().elem::<f64>()
}

/// Circular convolution: the signal wraps around, so shifting is exact.
pub fn circular_conv<B: Backend>(x: Tensor<B, 3>, w: Tensor<B, 3>) -> Tensor<B, 3> {
    let k = w.dims()[2];
    let len = x.dims()[2];
    let wrapped = Tensor::cat(vec![x.clone().narrow(2, len - (k - 1), k - 1), x], 2);
    conv1d(wrapped, w, None, ConvOptions::new([1], [0], [1], 1))
}

/// max |op(shift(x, s)) − shift(op(x), s_out)|: zero for an operation that
/// commutes with shifting by `s` (its output moving by `s_out`).
pub fn shift_error<B: Backend>(op: &Op<B>, x: Tensor<B, 3>, s: i64, s_out: i64) -> f64 {
    let lhs = op(x.clone().roll_dim(s, 2));
    let rhs = op(x).roll_dim(s_out, 2);
    max_abs(lhs - rhs)
}

/// The smallest shift error over every output shift: large only when no
/// output shift matches, i.e. the operation is not equivariant for `s`.
pub fn best_shift_error<B: Backend>(op: &Op<B>, x: Tensor<B, 3>, s: i64) -> f64 {
    let out_len = op(x.clone()).dims()[2] as i64;
    (0..out_len)
        .map(|o| shift_error(op, x.clone(), s, o))
        .fold(f64::INFINITY, f64::min)
}

/// Jacobian of `f` at `x` by autodiff, one backward pass per output, as a
/// row-major `outputs × inputs` matrix.
pub fn autodiff_jacobian<B: AutodiffBackend>(
    f: &dyn Fn(Tensor<B, 1>) -> Tensor<B, 1>,
    x: Tensor<B, 1>,
) -> (Vec<f64>, usize, usize) {
    let n = x.dims()[0];
    let m = f(x.clone()).dims()[0];
    let mut rows = Vec::with_capacity(m * n);
    for i in 0..m {
        let xi = x.clone().detach().require_grad();
        let yi = f(xi.clone()).narrow(0, i, 1).sum();
        let grads = yi.backward();
        let g = xi.grad(&grads).expect("x requires grad");
        rows.extend(
            g.into_data()
                .convert::<f64>()
                .into_vec::<f64>()
                .expect("floats"),
        );
    }
    (rows, m, n)
}

fn to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().convert::<f64>().into_vec().expect("floats")
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "matrices of different sizes");
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

/// The convolution's Jacobian written out: T[i][j] = w[j − i] for a valid
/// convolution (cross-correlation, as in deep-learning libraries).
pub fn toeplitz(w: &[f64], n: usize) -> Vec<f64> {
    let k = w.len();
    let m = n - k + 1;
    let mut t = vec![0.0; m * n];
    for i in 0..m {
        for (d, &wd) in w.iter().enumerate() {
            t[i * n + i + d] = wd;
        }
    }
    t
}

struct Check {
    claim: String,
    test: String,
    expected: &'static str,
    error: f64,
}

impl Check {
    fn verdict(&self) -> &'static str {
        match (self.expected, self.error) {
            ("equal", e) if e < HOLDS_BELOW => "holds",
            ("equal", _) => "FAILS",
            (_, e) if e > FAILS_ABOVE => "fails, as stated",
            _ => "UNEXPECTEDLY HOLDS",
        }
    }
}

/// What the chapter's text reasons with, each computed once.
#[derive(serde::Serialize)]
struct Facts {
    all_as_stated: bool,
    worst_holding: f64,
    smallest_failing: f64,
    holds_below: f64,
    fails_above: f64,
    len: usize,
    kernel: Vec<f64>,
}

/// The chapter trains no cached model.
pub fn models<B: AutodiffBackend>(
    _: &Ctx<B>,
) -> Result<Vec<crate::experiment::models::PlannedModel>> {
    Ok(Vec::new())
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let device = &ctx.device;
    let seed = ctx.seed("theory/signals");
    out.seeds.insert("signals".into(), seed);
    let _guard = crate::nn::init::init_lock();
    B::seed(device, seed);
    let normal = Distribution::Normal(0.0, 1.0);
    let x = Tensor::<B, 3>::random([1, 1, LEN], normal, device);
    let w = Tensor::<B, 3>::random([1, 1, 5], normal, device);
    let w2 = Tensor::<B, 3>::random([1, 1, 3], normal, device);
    let bias = 0.7;

    let conv: Op<B> = Box::new(|x| circular_conv(x, w.clone()));
    let add: Op<B> = Box::new(|x| x.add_scalar(bias));
    let relu: Op<B> = Box::new(burn::tensor::activation::relu);
    // The pooling stride, and the CNN's total stride (two poolings): every
    // label below is formatted from the numbers the check uses.
    const POOL: i64 = 2;
    const CNN_STRIDE: i64 = POOL * POOL;
    let pool: Op<B> = Box::new(|x| max_pool1d(x, POOL as usize, POOL as usize, 0, 1, false));
    let cnn: Op<B> = Box::new(|x| {
        let h = burn::tensor::activation::relu(circular_conv(x, w.clone()).add_scalar(bias));
        let h = max_pool1d(h, POOL as usize, POOL as usize, 0, 1, false);
        let h = burn::tensor::activation::relu(circular_conv(h, w2.clone()));
        max_pool1d(h, POOL as usize, POOL as usize, 0, 1, false)
    });

    let mut checks = Vec::new();
    // `claim` should hold for a shift of the input by `by`, the output
    // shifted by `out`; the test's label says which.
    let mut equal = |claim: String, op: &Op<B>, by: i64, out: i64| {
        let test = if by == out {
            format!("shift by {by}")
        } else {
            format!("shift by {by} → {out}")
        };
        checks.push(Check {
            claim,
            test,
            expected: "equal",
            error: shift_error(op, x.clone(), by, out),
        });
    };
    for by in [3, 11] {
        equal("convolution is shift-equivariant".into(), &conv, by, by);
    }
    equal("adding a constant is shift-equivariant".into(), &add, 5, 5);
    equal("ReLU is shift-equivariant".into(), &relu, 5, 5);
    let pool_even =
        format!("max-pooling (stride {POOL}) is equivariant to shifts by multiples of {POOL}");
    for by in [POOL, 3 * POOL] {
        equal(pool_even.clone(), &pool, by, by / POOL);
    }
    equal(
        format!("the CNN (total stride {CNN_STRIDE}) is equivariant to shifts by {CNN_STRIDE}"),
        &cnn,
        CNN_STRIDE,
        1,
    );
    let mut different = |claim: String, op: &Op<B>, by: i64| {
        checks.push(Check {
            claim,
            test: format!("shift by {by}, best output shift"),
            expected: "different",
            error: best_shift_error(op, x.clone(), by),
        });
    };
    different(
        format!("max-pooling (stride {POOL}) is not equivariant to other shifts"),
        &pool,
        1,
    );
    let cnn_other =
        format!("the CNN is not equivariant to shifts that are not multiples of {CNN_STRIDE}");
    for by in [2, 1] {
        different(cnn_other.clone(), &cnn, by);
    }

    // Jacobians, autodiff against the analytic matrix.
    let n = 8;
    let x1 = Tensor::<B, 1>::random([n], normal, device);
    let b = Tensor::<B, 1>::random([n], normal, device);
    let (j, _, _) = autodiff_jacobian(&|x| x + b.clone(), x1.clone());
    let identity: Vec<f64> = (0..n * n)
        .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
        .collect();
    let mut jac = |claim: &str, test: String, error| {
        checks.push(Check {
            claim: claim.to_string(),
            test,
            expected: "equal",
            error,
        });
    };
    jac(
        "Jacobian of a bias: the identity",
        format!("n = {n}"),
        max_diff(&j, &identity),
    );
    let m = 5;
    let wfc = Tensor::<B, 2>::random([m, n], normal, device);
    let bfc = Tensor::<B, 1>::random([m], normal, device);
    let fc = |x: Tensor<B, 1>| wfc.clone().matmul(x.reshape([n, 1])).reshape([m]) + bfc.clone();
    let (j, _, _) = autodiff_jacobian(&fc, x1.clone());
    jac(
        "Jacobian of a linear layer Wx + b: W",
        format!("{m} × {n}"),
        max_diff(&j, &to_vec(wfc.clone())),
    );
    let k = 3;
    let wc = Tensor::<B, 3>::random([1, 1, k], normal, device);
    let conv_layer = |x: Tensor<B, 1>| {
        conv1d(
            x.reshape([1, 1, n]),
            wc.clone(),
            None,
            ConvOptions::new([1], [0], [1], 1),
        )
        .reshape([n - k + 1])
    };
    let (j, _, _) = autodiff_jacobian(&conv_layer, x1.clone());
    let t = toeplitz(&to_vec(wc.clone()), n);
    jac(
        "Jacobian of a convolution: the Toeplitz matrix of its kernel",
        format!("kernel {k}, n = {n}"),
        max_diff(&j, &t),
    );
    drop(_guard);

    let all_as_stated = checks
        .iter()
        .all(|c| !c.verdict().starts_with(char::is_uppercase));
    out.tables.push(Table::new(
        "checks",
        &["claim", "check"],
        vec![
            Column::new(
                "claim".into(),
                checks.iter().map(|c| c.claim.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "check".into(),
                checks.iter().map(|c| c.test.clone()).collect::<Vec<_>>(),
            ),
            Column::new(
                "expected".into(),
                checks.iter().map(|c| c.expected).collect::<Vec<_>>(),
            ),
            Column::new(
                "max_abs_error".into(),
                checks.iter().map(|c| c.error).collect::<Vec<_>>(),
            ),
            Column::new(
                "verdict".into(),
                checks.iter().map(|c| c.verdict()).collect::<Vec<_>>(),
            ),
        ],
    )?);
    let worst_holding = checks
        .iter()
        .filter(|c| c.expected == "equal")
        .map(|c| c.error)
        .fold(0.0, f64::max);
    let smallest_failing = checks
        .iter()
        .filter(|c| c.expected == "different")
        .map(|c| c.error)
        .fold(f64::INFINITY, f64::min);
    out.set_facts(&Facts {
        all_as_stated,
        worst_holding,
        smallest_failing,
        holds_below: HOLDS_BELOW,
        fails_above: FAILS_ABOVE,
        len: LEN,
        // Toeplitz example for the text: the kernel actually used.
        kernel: to_vec(wc)
            .iter()
            .map(|v| (v * 1000.0).round() / 1000.0)
            .collect(),
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};

    type B = Flex;

    fn signal() -> Tensor<B, 3> {
        let v: Vec<f32> = (0..LEN)
            .map(|i| ((i * 7919) % 31) as f32 / 7.0 - 2.0)
            .collect();
        Tensor::from_data(
            burn::tensor::TensorData::new(v, [1, 1, LEN]),
            &Default::default(),
        )
    }

    #[test]
    fn convolution_commutes_with_shifts() {
        let w = Tensor::<B, 3>::from_data([[[0.5f32, -1.0, 2.0]]], &Default::default());
        let conv: Op<B> = Box::new(move |x| circular_conv(x, w.clone()));
        assert!(shift_error(&conv, signal(), 5, 5) < 1e-5);
    }

    #[test]
    fn a_position_dependent_op_is_caught() {
        // Multiplying by a ramp is not shift-equivariant: the check must say so.
        let ramp = Tensor::<B, 3>::from_data(
            burn::tensor::TensorData::new(
                (0..LEN).map(|i| i as f32).collect::<Vec<_>>(),
                [1, 1, LEN],
            ),
            &Default::default(),
        );
        let op: Op<B> = Box::new(move |x| x * ramp.clone());
        assert!(shift_error(&op, signal(), 3, 3) > FAILS_ABOVE);
        assert!(best_shift_error(&op, signal(), 3) > FAILS_ABOVE);
    }

    #[test]
    fn pooling_is_equivariant_to_even_shifts_only() {
        let pool: Op<B> = Box::new(|x| max_pool1d(x, 2, 2, 0, 1, false));
        assert!(shift_error(&pool, signal(), 2, 1) < 1e-6);
        assert!(best_shift_error(&pool, signal(), 1) > FAILS_ABOVE);
    }

    #[test]
    fn autodiff_jacobian_of_a_conv_is_its_toeplitz_matrix() {
        type A = Autodiff<Flex>;
        let device = Default::default();
        let w = [0.5f64, -1.0, 2.0];
        let wt = Tensor::<A, 3>::from_data([[[0.5f32, -1.0, 2.0]]], &device);
        let x = Tensor::<A, 1>::from_data([1.0f32, 2.0, -1.0, 0.5, 3.0, -2.0], &device);
        let f = |x: Tensor<A, 1>| {
            conv1d(
                x.reshape([1, 1, 6]),
                wt.clone(),
                None,
                ConvOptions::new([1], [0], [1], 1),
            )
            .reshape([4])
        };
        let (j, m, n) = autodiff_jacobian(&f, x);
        assert_eq!((m, n), (4, 6));
        assert!(max_diff(&j, &toeplitz(&w, 6)) < 1e-6);
        // A wrong analytic matrix (the kernel flipped) is caught.
        assert!(max_diff(&j, &toeplitz(&[2.0, -1.0, 0.5], 6)) > 1.0);
    }
}

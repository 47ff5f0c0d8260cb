//! Shift equivariance: of convolution, bias, ReLU, strided pooling and a
//! small CNN, on circular 1-D signals.

use burn::tensor::backend::Backend;
use burn::tensor::module::{conv1d, max_pool1d};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, Tensor};

use super::{Check, LEN, max_abs};

/// A 1-D operation on `[batch, channels, length]` signals.
pub type Op<'a, B> = Box<dyn Fn(Tensor<B, 3>) -> Tensor<B, 3> + 'a>;

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

/// The equivariance checks, on a random signal and random kernels drawn
/// from the backend's (seeded) generator: first those that should hold,
/// then those that should fail.
pub(super) fn equivariance<B: Backend>(device: &B::Device) -> Vec<Check> {
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
            expected: super::Expected::Equal,
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
            expected: super::Expected::Different,
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
    checks
}

#[cfg(test)]
mod tests {
    use super::super::FAILS_ABOVE;
    use super::*;
    use burn::backend::Flex;

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
}

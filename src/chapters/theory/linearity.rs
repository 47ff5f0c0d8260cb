//! Linearity, the other half of "LTI": a convolution is linear, a bias is
//! only affine and ReLU is not linear at all, so no CNN is an LTI system;
//! and a zero-padded convolution on a finite signal commutes with shifts
//! only away from its borders.

use burn::tensor::backend::Backend;
use burn::tensor::module::conv1d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Distribution, Tensor};

use super::shift::{Op, circular_conv};
use super::{Check, Expected, LEN, max_abs};

/// max |op(a·x + b·y) − (a·op(x) + b·op(y))|: zero for a linear operation.
pub fn linearity_error<B: Backend>(op: &Op<B>, x: Tensor<B, 3>, y: Tensor<B, 3>) -> f64 {
    let (a, b) = (1.5, -0.75);
    let lhs = op(x.clone().mul_scalar(a) + y.clone().mul_scalar(b));
    let rhs = op(x).mul_scalar(a) + op(y).mul_scalar(b);
    max_abs(lhs - rhs)
}

/// Shifts right by `s` on a finite signal: zeros enter on the left and the
/// last `s` samples are lost (what happens to an image, unlike the
/// circular shift of the other checks).
pub fn zero_fill_shift<B: Backend>(x: Tensor<B, 3>, s: usize) -> Tensor<B, 3> {
    let [b, c, len] = x.dims();
    let zeros = Tensor::<B, 3>::zeros([b, c, s], &x.device());
    Tensor::cat(vec![zeros, x.narrow(2, 0, len - s)], 2)
}

/// "Same" convolution with zero padding (k odd).
pub fn zero_padded_conv<B: Backend>(x: Tensor<B, 3>, w: Tensor<B, 3>) -> Tensor<B, 3> {
    let pad = (w.dims()[2] - 1) / 2;
    conv1d(x, w, None, ConvOptions::new([1], [pad], [1], 1))
}

/// max |conv(shift(x)) − shift(conv(x))| over output positions `range`.
fn padded_shift_error<B: Backend>(
    x: Tensor<B, 3>,
    w: Tensor<B, 3>,
    s: usize,
    range: std::ops::Range<usize>,
) -> f64 {
    let lhs = zero_padded_conv(zero_fill_shift(x.clone(), s), w.clone());
    let rhs = zero_fill_shift(zero_padded_conv(x, w), s);
    let n = range.len();
    max_abs(lhs.narrow(2, range.start, n) - rhs.narrow(2, range.start, n))
}

/// The linearity and border checks, on signals and kernels drawn from the
/// backend's (seeded) generator after the shift checks' draws.
pub(super) fn checks<B: Backend>(device: &B::Device) -> Vec<Check> {
    let normal = Distribution::Normal(0.0, 1.0);
    let x = Tensor::<B, 3>::random([1, 1, LEN], normal, device);
    let y = Tensor::<B, 3>::random([1, 1, LEN], normal, device);
    let w = Tensor::<B, 3>::random([1, 1, 5], normal, device);
    let bias = 0.7;
    let conv: Op<B> = Box::new(|x| circular_conv(x, w.clone()));
    let add: Op<B> = Box::new(|x| x.add_scalar(bias));
    let relu: Op<B> = Box::new(burn::tensor::activation::relu);
    let layer: Op<B> =
        Box::new(|x| burn::tensor::activation::relu(circular_conv(x, w.clone()).add_scalar(bias)));

    let mut checks = Vec::new();
    let test = "f(1.5x − 0.75y) vs 1.5f(x) − 0.75f(y)";
    let mut linear = |claim: &str, op: &Op<B>, expected| {
        checks.push(Check {
            claim: claim.into(),
            test: test.into(),
            expected,
            error: linearity_error(op, x.clone(), y.clone()),
        });
    };
    linear("convolution is linear", &conv, Expected::Equal);
    linear(
        "adding a constant is not linear (it is affine)",
        &add,
        Expected::Different,
    );
    linear("ReLU is not linear", &relu, Expected::Different);
    linear(
        "a convolution layer with bias and ReLU is not linear, so not LTI",
        &layer,
        Expected::Different,
    );

    // Zero padding: outputs within the kernel's half-width of the far
    // border see the padding where the unshifted signal had samples (the
    // near border's zeros came in with the shift, on both sides).
    let (k, s) = (5usize, 3usize);
    let pad = (k - 1) / 2;
    checks.push(Check {
        claim: "a zero-padded convolution commutes with shifts away from the borders".into(),
        test: format!("shift by {s}, outputs {s}..{}", LEN - pad),
        expected: Expected::Equal,
        error: padded_shift_error(x.clone(), w.clone(), s, s..LEN - pad),
    });
    checks.push(Check {
        claim: "but not at the border, where the padding enters".into(),
        test: format!("shift by {s}, last {pad} outputs"),
        expected: Expected::Different,
        error: padded_shift_error(x.clone(), w.clone(), s, LEN - pad..LEN),
    });
    checks
}

#[cfg(test)]
mod tests {
    use super::super::FAILS_ABOVE;
    use super::*;
    use burn::backend::Flex;

    type B = Flex;

    fn ramp(scale: f32) -> Tensor<B, 3> {
        let v: Vec<f32> = (0..LEN).map(|i| (i as f32 * scale).sin()).collect();
        Tensor::from_data(
            burn::tensor::TensorData::new(v, [1, 1, LEN]),
            &Default::default(),
        )
    }

    #[test]
    fn linearity_separates_linear_from_affine() {
        let double: Op<B> = Box::new(|x| x.mul_scalar(2.0));
        let shifted: Op<B> = Box::new(|x| x.add_scalar(1.0));
        assert!(linearity_error(&double, ramp(0.3), ramp(0.7)) < 1e-5);
        assert!(linearity_error(&shifted, ramp(0.3), ramp(0.7)) > FAILS_ABOVE);
    }

    #[test]
    fn a_zero_fill_shift_drops_the_end() {
        let x = Tensor::<B, 3>::from_data([[[1.0f32, 2.0, 3.0, 4.0]]], &Default::default());
        let v: Vec<f32> = zero_fill_shift(x, 1).into_data().into_vec().unwrap();
        assert_eq!(v, [0.0, 1.0, 2.0, 3.0]);
    }
}

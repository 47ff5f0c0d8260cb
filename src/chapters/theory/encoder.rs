//! The book's own encoder, measured for shift equivariance: two stride-2
//! convolutions with zero padding, then a fully connected layer. Its feature
//! maps follow a shift by the total stride (4 pixels, one feature-map cell)
//! away from the borders; other shifts regroup the pixels; the code the
//! fully connected layer makes of them follows no shift at all.

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

use super::{Check, Expected, max_abs};
use crate::data::Images;
use crate::nn::conv_ae::{ConvEncoder, SIDE, STRIDE};

/// The image shifted down and right by `s` pixels, zeros entering.
fn shifted<B: Backend>(image: Tensor<B, 4>, s: usize) -> Tensor<B, 4> {
    let [n, c, h, w] = image.dims();
    let device = image.device();
    let kept = image.narrow(2, 0, h - s).narrow(3, 0, w - s);
    let top = Tensor::<B, 4>::zeros([n, c, s, w - s], &device);
    let left = Tensor::<B, 4>::zeros([n, c, h, s], &device);
    Tensor::cat(vec![left, Tensor::cat(vec![top, kept], 2)], 3)
}

/// max |maps(shift_s x)[i, j] − maps(x)[i − t, j − t]| over the cells
/// `i, j > t` (cell `t` itself sees the bias-only activations of the
/// zero-filled strip through the padding), smallest over the output
/// shifts t = 0, 1, 2.
fn feature_map_error<B: Backend>(encoder: &ConvEncoder<B>, image: Tensor<B, 4>, s: usize) -> f64 {
    let maps = encoder.feature_maps(image.clone());
    let moved = encoder.feature_maps(shifted(image, s));
    let side = maps.dims()[2];
    (0..=2usize)
        .map(|t| {
            let n = side - t - 1;
            let a = moved.clone().narrow(2, t + 1, n).narrow(3, t + 1, n);
            let b = maps.clone().narrow(2, 1, n).narrow(3, 1, n);
            max_abs(a - b)
        })
        .fold(f64::INFINITY, f64::min)
}

/// ‖code(shift_s x) − code(x)‖ / ‖code(x)‖ (max norm).
fn code_change<B: Backend>(encoder: &ConvEncoder<B>, image: Tensor<B, 4>, s: usize) -> f64 {
    let code = encoder.forward(image.clone());
    let moved = encoder.forward(shifted(image, s));
    max_abs(moved - code.clone()) / max_abs(code)
}

/// The first image whose last `STRIDE²` rows and columns are black, so
/// that the shift loses no ink (image 0 when none is).
pub(super) fn unclipped_digit(images: &Images) -> usize {
    let m = STRIDE * STRIDE;
    (0..images.count)
        .find(|&i| {
            let px = images.image(i);
            (0..images.rows).all(|r| {
                (0..images.cols).all(|c| {
                    (r < images.rows - m && c < images.cols - m) || px[r * images.cols + c] == 0
                })
            })
        })
        .unwrap_or(0)
}

/// The checks on `encoder` (the book's architecture) and one test digit,
/// whose black margin is wide enough that a 4-pixel shift loses no ink.
pub(super) fn checks<B: Backend>(
    encoder: &ConvEncoder<B>,
    digit: &Images,
    device: &B::Device,
) -> Vec<Check> {
    let total = STRIDE * STRIDE;
    let image = crate::nn::batch::images_to_tensor::<B>(digit, &[0], device);
    assert_eq!(image.dims()[2], SIDE);
    vec![
        Check {
            claim: format!(
                "the book's encoder's feature maps follow a shift by its total stride ({total} px)"
            ),
            test: format!("shift by {total} px → 1 cell"),
            expected: Expected::Equal,
            error: feature_map_error(encoder, image.clone(), total),
        },
        Check {
            claim: "but not a 1-pixel shift".into(),
            test: "shift by 1 px, best cell shift".into(),
            expected: Expected::Different,
            error: feature_map_error(encoder, image.clone(), 1),
        },
        Check {
            claim: "its code (after the fully connected layer) is not shift-invariant".into(),
            test: format!("shift by {total} px, relative change"),
            expected: Expected::Different,
            error: code_change(encoder, image, total),
        },
    ]
}

//! Convolutions lowered to one gather and one matrix product, on images
//! stored as rows: an `[n, side·side·channels]` tensor whose rows are images
//! in height-width-channel order.
//!
//! Why: burn-flex computes a convolution's weight gradient as a second
//! convolution with the batch as channels (burn-backend's generic
//! `conv2d_weight_backward`), which spends most of a training step copying
//! strided views. Lowered, every step is a gather, a scatter-add and three
//! well-shaped matrix products, and the autodiff of those is gemm on the
//! CPU. The parameters stay burn's [`Conv2d`] and [`ConvTranspose2d`]
//! modules, so records, parameter counts and initialisation are burn's; the
//! unit tests check values and gradients against burn's own convolution.
//!
//! Only on the CPU: on a GPU the scatter-add of the transposed convolution
//! (and of the gather's gradient) becomes floating-point atomics, whose
//! order, and so whose result, changes from run to run; there burn's own
//! kernels run instead ([`ConvStrategy::Native`]). Both strategies compute
//! the same function on the same NHWC rows, so a model means the same
//! thing under either.
//!
//! Process-wide state, kept global on purpose: the strategy flag. It is read
//! inside every convolution's forward pass, deep inside burn modules whose
//! records must not carry it; it is set once per process from the backend
//! (`app::backend::dispatch`), before any model runs. `app::bench` switches
//! it between measurements to time the other strategy, and switches it back.

use std::sync::atomic::{AtomicBool, Ordering};

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::tensor::backend::Backend;
use burn::tensor::{IndexingUpdateOp, Int, Tensor, TensorData};

/// How the book's convolutions run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvStrategy {
    /// A gather and a matrix product (the CPU backends).
    Lowered,
    /// burn's `conv2d` / `conv_transpose2d` (the GPU backends).
    Native,
}

impl ConvStrategy {
    /// For the manifest's device line.
    pub fn describe(self) -> &'static str {
        match self {
            ConvStrategy::Lowered => "convolutions as gather + matrix product",
            ConvStrategy::Native => "burn's convolution kernels",
        }
    }
}

static NATIVE: AtomicBool = AtomicBool::new(false);

/// Chooses the strategy for the process; `backend::dispatch` sets it from
/// the backend before any model runs (the backend is part of every cache
/// key, so a stored model was trained under the strategy it is used with).
pub fn set_strategy(strategy: ConvStrategy) {
    NATIVE.store(strategy == ConvStrategy::Native, Ordering::Relaxed);
}

pub fn strategy() -> ConvStrategy {
    if NATIVE.load(Ordering::Relaxed) {
        ConvStrategy::Native
    } else {
        ConvStrategy::Lowered
    }
}

/// The shape of one convolution over square images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    pub side_in: usize,
    pub side_out: usize,
    pub channels_in: usize,
    pub channels_out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl ConvGeometry {
    /// The geometry of `conv` applied to `side_in × side_in` images.
    /// Panics on what the lowering does not cover (groups, dilation,
    /// non-square kernels or strides, asymmetric padding): the models in
    /// this crate use none of it, and a silent wrong answer would be worse.
    pub fn of_conv<B: Backend>(conv: &Conv2d<B>, side_in: usize) -> Self {
        let [cout, cin, kh, kw] = conv.weight.dims();
        let padding = match conv.padding {
            PaddingConfig2d::Valid => 0,
            PaddingConfig2d::Explicit(t, l, b, r) if t == l && l == b && b == r => t,
            ref other => panic!("lowered conv: unsupported padding {other:?}"),
        };
        Self::checked(conv.groups, conv.dilation, conv.stride, [kh, kw]);
        let stride = conv.stride[0];
        ConvGeometry {
            side_in,
            side_out: (side_in + 2 * padding - kh) / stride + 1,
            channels_in: cin,
            channels_out: cout,
            kernel: kh,
            stride,
            padding,
        }
    }

    /// The geometry of `deconv` applied to `side_in × side_in` images.
    pub fn of_conv_transpose<B: Backend>(deconv: &ConvTranspose2d<B>, side_in: usize) -> Self {
        let [cin, cout, kh, kw] = deconv.weight.dims();
        Self::checked(deconv.groups, deconv.dilation, deconv.stride, [kh, kw]);
        assert!(
            deconv.padding[0] == deconv.padding[1]
                && deconv.padding_out[0] == deconv.padding_out[1],
            "lowered conv: unsupported asymmetric padding"
        );
        let (stride, padding) = (deconv.stride[0], deconv.padding[0]);
        ConvGeometry {
            side_in,
            side_out: (side_in - 1) * stride + kh + deconv.padding_out[0] - 2 * padding,
            channels_in: cin,
            channels_out: cout,
            kernel: kh,
            stride,
            padding,
        }
    }

    fn checked(groups: usize, dilation: [usize; 2], stride: [usize; 2], kernel: [usize; 2]) {
        assert!(
            groups == 1 && dilation == [1, 1] && stride[0] == stride[1] && kernel[0] == kernel[1],
            "lowered conv: only square kernels and strides without groups or dilation"
        );
    }

    /// Row length of an input image.
    pub fn input_len(&self) -> usize {
        self.side_in * self.side_in * self.channels_in
    }

    /// Row length of an output image.
    pub fn output_len(&self) -> usize {
        self.side_out * self.side_out * self.channels_out
    }

    /// Where kernel tap (ky, kx) of output (oy, ox) reads in the padded input
    /// (convolution) — or, read the other way, where input (oy, ox) writes
    /// in the output (transposed convolution); `None` when it falls in the
    /// padding.
    fn tap(&self, side: usize, y: usize, x: usize, ky: usize, kx: usize) -> Option<usize> {
        let at = |i: usize, k: usize| (i * self.stride + k).checked_sub(self.padding);
        match (at(y, ky), at(x, kx)) {
            (Some(ty), Some(tx)) if ty < side && tx < side => Some(ty * side + tx),
            _ => None,
        }
    }

    /// Convolution: for each output pixel, kernel tap and input channel, the
    /// input element it reads; `input_len()` (an appended zero) for padding.
    /// Columns are ordered (pixel, ky, kx, channel) to match [`conv_weight_matrix`].
    fn gather_indices(&self) -> Vec<i64> {
        let (k, cin) = (self.kernel, self.channels_in);
        let zero = self.input_len() as i64;
        let mut idx = Vec::with_capacity(self.side_out * self.side_out * k * k * cin);
        for oy in 0..self.side_out {
            for ox in 0..self.side_out {
                for ky in 0..k {
                    for kx in 0..k {
                        let at = self.tap(self.side_in, oy, ox, ky, kx);
                        for c in 0..cin {
                            idx.push(at.map_or(zero, |p| (p * cin + c) as i64));
                        }
                    }
                }
            }
        }
        idx
    }

    /// Transposed convolution: for each input pixel, kernel tap and output
    /// channel, the output element it adds to; `output_len()` (a discarded
    /// column) where it falls outside the image.
    fn scatter_indices(&self) -> Vec<i64> {
        let (k, cout) = (self.kernel, self.channels_out);
        let discard = self.output_len() as i64;
        let mut idx = Vec::with_capacity(self.side_in * self.side_in * k * k * cout);
        for iy in 0..self.side_in {
            for ix in 0..self.side_in {
                for ky in 0..k {
                    for kx in 0..k {
                        let at = self.tap(self.side_out, iy, ix, ky, kx);
                        for c in 0..cout {
                            idx.push(at.map_or(discard, |p| (p * cout + c) as i64));
                        }
                    }
                }
            }
        }
        idx
    }
}

fn index_tensor<B: Backend>(idx: Vec<i64>, device: &B::Device) -> Tensor<B, 1, Int> {
    let len = idx.len();
    Tensor::from_data(TensorData::new(idx, [len]), device)
}

/// burn's `[cout, cin, k, k]` kernel as the `[k·k·cin, cout]` matrix the
/// gathered columns multiply.
fn conv_weight_matrix<B: Backend>(conv: &Conv2d<B>) -> Tensor<B, 2> {
    let [cout, cin, k, _] = conv.weight.dims();
    conv.weight
        .val()
        .permute([2, 3, 1, 0])
        .reshape([k * k * cin, cout])
}

/// `[n, side_in²·cin]` rows → `[n, side_out²·cout]` rows: `conv.forward`
/// on NHWC rows, by the process's [`strategy`].
pub fn conv2d_rows<B: Backend>(
    conv: &Conv2d<B>,
    geometry: &ConvGeometry,
    x: Tensor<B, 2>,
) -> Tensor<B, 2> {
    conv2d_rows_with(strategy(), conv, geometry, x)
}

fn conv2d_rows_with<B: Backend>(
    strategy: ConvStrategy,
    conv: &Conv2d<B>,
    geometry: &ConvGeometry,
    x: Tensor<B, 2>,
) -> Tensor<B, 2> {
    if strategy == ConvStrategy::Native {
        let images = rows_to_nchw(x, geometry.side_in, geometry.channels_in);
        return nchw_to_rows(conv.forward(images));
    }
    let [n, len] = x.dims();
    assert_eq!(len, geometry.input_len(), "lowered conv: input row length");
    let device = x.device();
    let k2c = geometry.kernel * geometry.kernel * geometry.channels_in;
    let pixels = geometry.side_out * geometry.side_out;
    // The appended zero column is what padding taps read.
    let padded = Tensor::cat(vec![x, Tensor::zeros([n, 1], &device)], 1);
    let columns = padded
        .select(1, index_tensor::<B>(geometry.gather_indices(), &device))
        .reshape([n * pixels, k2c]);
    let mut y = columns.matmul(conv_weight_matrix(conv));
    if let Some(bias) = &conv.bias {
        y = y + bias.val().unsqueeze_dim(0);
    }
    y.reshape([n, pixels * geometry.channels_out])
}

/// `[n, side_in²·cin]` rows → `[n, side_out²·cout]` rows:
/// `deconv.forward` on NHWC rows, by the process's [`strategy`].
pub fn conv_transpose2d_rows<B: Backend>(
    deconv: &ConvTranspose2d<B>,
    geometry: &ConvGeometry,
    x: Tensor<B, 2>,
) -> Tensor<B, 2> {
    conv_transpose2d_rows_with(strategy(), deconv, geometry, x)
}

fn conv_transpose2d_rows_with<B: Backend>(
    strategy: ConvStrategy,
    deconv: &ConvTranspose2d<B>,
    geometry: &ConvGeometry,
    x: Tensor<B, 2>,
) -> Tensor<B, 2> {
    if strategy == ConvStrategy::Native {
        let images = rows_to_nchw(x, geometry.side_in, geometry.channels_in);
        return nchw_to_rows(deconv.forward(images));
    }
    let [n, len] = x.dims();
    assert_eq!(len, geometry.input_len(), "lowered conv: input row length");
    let device = x.device();
    let [cin, cout, k, _] = deconv.weight.dims();
    let pixels_in = geometry.side_in * geometry.side_in;
    let weight = deconv
        .weight
        .val()
        .permute([0, 2, 3, 1])
        .reshape([cin, k * k * cout]);
    // Every input pixel's contribution to every tap, then summed into place.
    let contributions = x
        .reshape([n * pixels_in, cin])
        .matmul(weight)
        .reshape([n, pixels_in * k * k * cout]);
    let out_len = geometry.output_len();
    let summed = Tensor::<B, 2>::zeros([n, out_len + 1], &device).select_assign(
        1,
        index_tensor::<B>(geometry.scatter_indices(), &device),
        contributions,
        IndexingUpdateOp::Add,
    );
    let mut y = summed.slice([0..n, 0..out_len]);
    if let Some(bias) = &deconv.bias {
        y = (y.reshape([n * out_len / cout, cout]) + bias.val().unsqueeze_dim(0))
            .reshape([n, out_len]);
    }
    y
}

/// NCHW images → NHWC rows.
pub fn nchw_to_rows<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 2> {
    let [n, c, h, w] = x.dims();
    if c == 1 {
        return x.reshape([n, h * w]);
    }
    x.permute([0, 2, 3, 1]).reshape([n, h * w * c])
}

/// NHWC rows → NCHW images.
pub fn rows_to_nchw<B: Backend>(x: Tensor<B, 2>, side: usize, channels: usize) -> Tensor<B, 4> {
    let n = x.dims()[0];
    if channels == 1 {
        return x.reshape([n, 1, side, side]);
    }
    x.reshape([n, side, side, channels]).permute([0, 3, 1, 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
    use burn::tensor::Distribution;

    type B = Autodiff<Flex>;

    fn close<BB: Backend, const D: usize>(a: Tensor<BB, D>, b: Tensor<BB, D>) {
        let (a, b) = (
            a.into_data().to_vec::<f32>().unwrap(),
            b.into_data().to_vec::<f32>().unwrap(),
        );
        assert_eq!(a.len(), b.len());
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(worst < 1e-4, "largest difference {worst}");
    }

    fn random(shape: [usize; 4]) -> Tensor<B, 4> {
        let device = Default::default();
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), &device).require_grad()
    }

    /// Value, input gradient and weight/bias gradients against burn's conv;
    /// the native strategy on rows gives burn's values too.
    #[test]
    fn lowered_conv_matches_burn_conv_and_its_gradients() {
        let device = Default::default();
        for (cin, cout, side, padding, stride) in
            [(1, 4, 8, 1, 2), (3, 5, 7, 1, 2), (2, 3, 6, 0, 1)]
        {
            let conv = Conv2dConfig::new([cin, cout], [3, 3])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(
                    padding, padding, padding, padding,
                ))
                .init::<B>(&device);
            let geometry = ConvGeometry::of_conv(&conv, side);
            let x = random([2, cin, side, side]);
            let reference = conv.forward(x.clone());
            let run = |s, x: Tensor<B, 4>| {
                let y = conv2d_rows_with(s, &conv, &geometry, nchw_to_rows(x));
                rows_to_nchw(y, geometry.side_out, cout)
            };
            close(reference.clone(), run(ConvStrategy::Native, x.clone()));
            let lowered = run(ConvStrategy::Lowered, x.clone());
            close(reference.clone(), lowered.clone());
            // Gradients of the same weighted sum through both.
            let weights = random(reference.dims());
            let g_ref = (reference * weights.clone()).sum().backward();
            let g_low = (lowered * weights).sum().backward();
            close(x.grad(&g_ref).unwrap(), x.grad(&g_low).unwrap());
            let w = conv.weight.val();
            close(w.grad(&g_ref).unwrap(), w.grad(&g_low).unwrap());
            let b = conv.bias.as_ref().unwrap().val();
            close(b.grad(&g_ref).unwrap(), b.grad(&g_low).unwrap());
        }
    }

    #[test]
    fn lowered_conv_transpose_matches_burn_and_its_gradients() {
        let device = Default::default();
        for (cin, cout, side, padding, out_pad) in
            [(4, 1, 7, 1, 1), (3, 2, 5, 1, 1), (2, 3, 4, 0, 0)]
        {
            let deconv = ConvTranspose2dConfig::new([cin, cout], [3, 3])
                .with_stride([2, 2])
                .with_padding([padding, padding])
                .with_padding_out([out_pad, out_pad])
                .init::<B>(&device);
            let geometry = ConvGeometry::of_conv_transpose(&deconv, side);
            let x = random([2, cin, side, side]);
            let reference = deconv.forward(x.clone());
            assert_eq!(reference.dims()[2], geometry.side_out);
            let run = |s, x: Tensor<B, 4>| {
                let y = conv_transpose2d_rows_with(s, &deconv, &geometry, nchw_to_rows(x));
                rows_to_nchw(y, geometry.side_out, cout)
            };
            close(reference.clone(), run(ConvStrategy::Native, x.clone()));
            let lowered = run(ConvStrategy::Lowered, x.clone());
            close(reference.clone(), lowered.clone());
            let weights = random(reference.dims());
            let g_ref = (reference * weights.clone()).sum().backward();
            let g_low = (lowered * weights).sum().backward();
            close(x.grad(&g_ref).unwrap(), x.grad(&g_low).unwrap());
            let w = deconv.weight.val();
            close(w.grad(&g_ref).unwrap(), w.grad(&g_low).unwrap());
            let b = deconv.bias.as_ref().unwrap().val();
            close(b.grad(&g_ref).unwrap(), b.grad(&g_low).unwrap());
        }
    }
}

//! What every autoencoder of the book can do (the convolutional and the
//! fully connected one), and the helpers built on it: codes of a whole
//! image set, decoding codes to images, reconstruction, and error.

use burn::module::{Module, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::batch::{DeviceImages, images_to_tensor, read_f32, tensor_to_images};
use crate::data::Images;

/// `bias` with every value set to `value`, as a fresh leaf (trainable if
/// it was).
pub fn filled<B: Backend>(
    bias: Option<Param<Tensor<B, 1>>>,
    value: f32,
) -> Option<Param<Tensor<B, 1>>> {
    bias.map(|p| {
        p.map(|t| {
            let trainable = t.is_require_grad();
            Tensor::full(t.dims(), value, &t.device()).set_require_grad(trainable)
        })
    })
}

/// Images per batch when no gradients are kept.
pub const EVAL_BATCH: usize = 1000;

/// Codes of every image (n × d, row-major) and d, by `encode` in batches.
pub fn encode_in_batches<B: Backend>(
    images: &Images,
    device: &B::Device,
    encode: impl Fn(Tensor<B, 4>) -> Tensor<B, 2>,
) -> (Vec<f32>, usize) {
    let mut codes = Vec::new();
    let mut dim = 0;
    let all: Vec<usize> = (0..images.count).collect();
    for chunk in all.chunks(EVAL_BATCH) {
        let z = encode(images_to_tensor::<B>(images, chunk, device));
        dim = z.dims()[1];
        codes.extend(read_f32(z));
    }
    (codes, dim)
}

pub trait Autoencoder<B: Backend>: Module<B> {
    /// `[n, 1, 28, 28]` images in [0, 1] → `[n, d]` codes.
    fn encode(&self, images: Tensor<B, 4>) -> Tensor<B, 2>;
    /// `[n, d]` codes → `[n, 1, 28, 28]` images in (0, 1).
    fn decode(&self, codes: Tensor<B, 2>) -> Tensor<B, 4>;
    /// The model with the bias of its output layer (before the sigmoid) set
    /// to `logit` for every pixel.
    fn with_output_bias(self, logit: f32) -> Self;

    fn reconstruct_tensor(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        self.decode(self.encode(images))
    }

    /// Latent codes of every image (n × d, row-major) and d.
    fn encode_images(&self, images: &Images, device: &B::Device) -> (Vec<f32>, usize) {
        encode_in_batches(images, device, |x| self.encode(x))
    }

    /// Decodes codes (n × d, row-major) to images as bytes.
    fn decode_codes(&self, codes: &[f32], dim: usize, device: &B::Device) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(codes.len() / dim.max(1));
        for chunk in codes.chunks(EVAL_BATCH * dim) {
            let n = chunk.len() / dim;
            let z = Tensor::<B, 2>::from_data(TensorData::new(chunk.to_vec(), [n, dim]), device);
            out.extend(tensor_to_images(self.decode(z)));
        }
        out
    }

    /// Reconstructions of the images at `indices`, as bytes.
    fn reconstruct(&self, images: &Images, indices: &[usize], device: &B::Device) -> Vec<Vec<u8>> {
        let x = images_to_tensor::<B>(images, indices, device);
        tensor_to_images(self.reconstruct_tensor(x))
    }
}

/// Mean per-pixel L1 and MSE.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ReconstructionError {
    pub l1: f64,
    pub mse: f64,
}

/// Error of the model's output for `inputs` against `targets` (the same
/// images for an AE; the clean images for noisy inputs).
pub fn evaluate_against<B: Backend, M: Autoencoder<B>>(
    model: &M,
    inputs: &Images,
    targets: &Images,
    device: &B::Device,
) -> ReconstructionError {
    assert_eq!(inputs.count, targets.count, "inputs and targets pair up");
    let inputs = DeviceImages::upload(inputs, device);
    evaluate_on_device(model, &inputs, &DeviceImages::upload(targets, device))
}

/// Reconstruction error of the model on `images`.
pub fn evaluate<B: Backend, M: Autoencoder<B>>(
    model: &M,
    images: &Images,
    device: &B::Device,
) -> ReconstructionError {
    let images = DeviceImages::upload(images, device);
    evaluate_on_device(model, &images, &images)
}

/// [`evaluate_against`] on images already on the device. The per-batch
/// sums stay there until the end: one read-back per evaluation, not one
/// per batch (each read-back waits for a GPU to finish its queue).
pub fn evaluate_on_device<B: Backend, M: Autoencoder<B>>(
    model: &M,
    inputs: &DeviceImages<B>,
    targets: &DeviceImages<B>,
) -> ReconstructionError {
    assert_eq!(inputs.len(), targets.len(), "inputs and targets pair up");
    if inputs.is_empty() {
        return ReconstructionError {
            l1: f64::NAN,
            mse: f64::NAN,
        };
    }
    let (mut l1_sums, mut mse_sums) = (Vec::new(), Vec::new());
    for range in inputs.chunks(EVAL_BATCH) {
        let diff = model.reconstruct_tensor(inputs.range(range.clone())) - targets.range(range);
        l1_sums.push(diff.clone().abs().sum());
        mse_sums.push(diff.powf_scalar(2.0).sum());
    }
    // Summed in f64 on the host, batch by batch, as the values arrive.
    let total = |sums: Vec<Tensor<B, 1>>| -> f64 {
        read_f32(Tensor::cat(sums, 0))
            .iter()
            .map(|&v| v as f64)
            .sum()
    };
    let n = (inputs.len() * inputs.pixels_per_image()) as f64;
    ReconstructionError {
        l1: total(l1_sums) / n,
        mse: total(mse_sums) / n,
    }
}

/// Each input's mean per-pixel L1 against its target, in input order: what
/// a comparison of two models on the same images pairs up.
pub fn per_image_l1_against<B: Backend, M: Autoencoder<B>>(
    model: &M,
    inputs: &Images,
    targets: &Images,
    device: &B::Device,
) -> Vec<f64> {
    assert_eq!(inputs.count, targets.count, "inputs and targets pair up");
    let (inputs, targets) = (
        DeviceImages::upload(inputs, device),
        DeviceImages::upload(targets, device),
    );
    let mut sums = Vec::new();
    for range in inputs.chunks(EVAL_BATCH) {
        let diff = model.reconstruct_tensor(inputs.range(range.clone())) - targets.range(range);
        let [n, c, h, w] = diff.dims();
        sums.push(diff.abs().reshape([n, c * h * w]).sum_dim(1).reshape([n]));
    }
    if sums.is_empty() {
        return Vec::new();
    }
    let pixels = inputs.pixels_per_image() as f64;
    read_f32(Tensor::cat(sums, 0))
        .iter()
        .map(|&v| v as f64 / pixels)
        .collect()
}

/// Error of the images themselves against `targets` (e.g. a noisy input
/// before any model touches it).
pub fn image_error(inputs: &Images, targets: &Images) -> ReconstructionError {
    assert_eq!(inputs.pixels.len(), targets.pixels.len());
    let (mut l1, mut mse) = (0.0f64, 0.0f64);
    for (&a, &b) in inputs.pixels.iter().zip(&targets.pixels) {
        let d = (a as f64 - b as f64) / 255.0;
        l1 += d.abs();
        mse += d * d;
    }
    let n = inputs.pixels.len().max(1) as f64;
    ReconstructionError {
        l1: l1 / n,
        mse: mse / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::conv_ae::ConvAutoencoderConfig;
    use burn::backend::Flex;

    fn images() -> Images {
        Images {
            count: 2,
            rows: 28,
            cols: 28,
            pixels: (0..2 * 784).map(|i| ((i * 37) % 256) as u8).collect(),
        }
    }

    #[test]
    fn interpolation_endpoints_are_the_reconstructions() {
        let device = Default::default();
        let model = ConvAutoencoderConfig::new(5).init::<Flex>(&device);
        let imgs = images();
        let (codes, dim) = model.encode_images(&imgs, &device);
        assert_eq!((codes.len(), dim), (10, 5));
        // Both ends and four midpoints between them.
        let (a, b) = codes.split_at(dim);
        let mid: Vec<f32> = a.iter().zip(b).map(|(x, y)| (x + y) / 2.0).collect();
        let line = [a, &mid, &mid, &mid, &mid, b].concat();
        let decoded = model.decode_codes(&line, dim, &device);
        let recon = model.reconstruct(&imgs, &[0, 1], &device);
        assert_eq!(decoded.len(), 6);
        // Batches of different size may round differently by one grey level.
        let close = |a: &[u8], b: &[u8]| a.iter().zip(b).all(|(x, y)| x.abs_diff(*y) <= 1);
        assert!(close(&decoded[0], &recon[0]));
        assert!(close(&decoded[5], &recon[1]));
        assert_ne!(&line[..dim], &line[5 * dim..], "the two ends differ");
    }

    #[test]
    fn error_of_identical_images_is_zero_and_of_inverted_known() {
        let a = images();
        let e = image_error(&a, &a);
        assert_eq!((e.l1, e.mse), (0.0, 0.0));
        let black = Images {
            pixels: vec![0; a.pixels.len()],
            ..a.clone()
        };
        let white = Images {
            pixels: vec![255; a.pixels.len()],
            ..a.clone()
        };
        let e = image_error(&black, &white);
        assert_eq!((e.l1, e.mse), (1.0, 1.0));
    }
}

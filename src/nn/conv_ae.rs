//! The convolutional autoencoder of the exercise: two stride-2 convolutions
//! and a fully connected bottleneck of size d, mirrored by the decoder.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::Tensor;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::backend::Backend;
use serde::Serialize;

use super::autoencoder::{Autoencoder, encode_in_batches, filled};
use super::lowered_conv::{
    ConvGeometry, conv_transpose2d_rows, conv2d_rows, nchw_to_rows, rows_to_nchw,
};
use crate::data::Images;

/// Side of an MNIST image.
pub const SIDE: usize = 28;
/// Kernel side of every (transposed) convolution.
pub const KERNEL: usize = 3;
/// Stride of every (transposed) convolution: each halves (doubles) the side.
pub const STRIDE: usize = 2;
/// Side after the two strided convolutions (28 → 14 → 7).
pub const BOTTOM: usize = SIDE / (STRIDE * STRIDE);

#[derive(Config, Debug)]
pub struct ConvAutoencoderConfig {
    /// Size d of the latent code.
    pub latent_dim: usize,
    /// Channels of the first and second convolution.
    #[config(default = "[32, 64]")]
    pub channels: [usize; 2],
}

#[derive(Module, Debug)]
pub struct ConvEncoder<B: Backend> {
    conv1: Conv2d<B>,
    conv2: Conv2d<B>,
    fc: Linear<B>,
}

#[derive(Module, Debug)]
pub struct ConvDecoder<B: Backend> {
    fc: Linear<B>,
    deconv1: ConvTranspose2d<B>,
    deconv2: ConvTranspose2d<B>,
    channels: usize,
}

#[derive(Module, Debug)]
pub struct ConvAutoencoder<B: Backend> {
    pub encoder: ConvEncoder<B>,
    pub decoder: ConvDecoder<B>,
}

impl ConvAutoencoderConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> ConvAutoencoder<B> {
        let [c1, c2] = self.channels;
        let down = |cin, cout| {
            Conv2dConfig::new([cin, cout], [KERNEL, KERNEL])
                .with_stride([STRIDE, STRIDE])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        // Output padding 1 makes each transposed convolution exactly double the side.
        let up = |cin, cout| {
            ConvTranspose2dConfig::new([cin, cout], [KERNEL, KERNEL])
                .with_stride([STRIDE, STRIDE])
                .with_padding([1, 1])
                .with_padding_out([1, 1])
                .init(device)
        };
        let flat = c2 * BOTTOM * BOTTOM;
        ConvAutoencoder {
            encoder: ConvEncoder {
                conv1: down(1, c1),
                conv2: down(c1, c2),
                fc: LinearConfig::new(flat, self.latent_dim).init(device),
            },
            decoder: ConvDecoder {
                fc: LinearConfig::new(self.latent_dim, flat).init(device),
                deconv1: up(c2, c1),
                deconv2: up(c1, 1),
                channels: c2,
            },
        }
    }
}

impl<B: Backend> ConvEncoder<B> {
    /// Latent codes of every image (n × d, row-major) and d, in batches.
    pub fn encode_all(&self, images: &Images, device: &B::Device) -> (Vec<f32>, usize) {
        encode_in_batches(images, device, |x| self.forward(x))
    }

    /// `[n, 1, 28, 28]` images in [0, 1] → `[n, d]` codes. The convolutions
    /// run lowered to matrix products on image rows (see `lowered_conv`).
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let [g1, g2] = self.geometry();
        let x = relu(conv2d_rows(&self.conv1, &g1, nchw_to_rows(images)));
        let x = relu(conv2d_rows(&self.conv2, &g2, x));
        self.fc.forward(x)
    }

    /// The two convolutions' shapes on 28×28 images.
    /// Each layer's parameters (weights, then bias), flattened, by name: what
    /// a comparison of two encoders' weights walks over.
    pub fn layer_parameters(&self) -> Vec<(&'static str, Vec<f32>)> {
        fn flat<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
            super::batch::read_f32(t.flatten::<1>(0, D - 1))
        }
        let with_bias = |mut w: Vec<f32>, b: Option<Vec<f32>>| {
            w.extend(b.unwrap_or_default());
            w
        };
        vec![
            (
                "conv1",
                with_bias(
                    flat(self.conv1.weight.val()),
                    self.conv1.bias.as_ref().map(|b| flat(b.val())),
                ),
            ),
            (
                "conv2",
                with_bias(
                    flat(self.conv2.weight.val()),
                    self.conv2.bias.as_ref().map(|b| flat(b.val())),
                ),
            ),
            (
                "fc",
                with_bias(
                    flat(self.fc.weight.val()),
                    self.fc.bias.as_ref().map(|b| flat(b.val())),
                ),
            ),
        ]
    }

    /// The second convolution's feature maps, `[n, channels, 7, 7]`: what
    /// the fully connected layer flattens into the code.
    pub fn feature_maps(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        let [g1, g2] = self.geometry();
        let x = relu(conv2d_rows(&self.conv1, &g1, nchw_to_rows(images)));
        let x = relu(conv2d_rows(&self.conv2, &g2, x));
        rows_to_nchw(x, g2.side_out, self.conv2.weight.dims()[0])
    }

    fn geometry(&self) -> [ConvGeometry; 2] {
        let g1 = ConvGeometry::of_conv(&self.conv1, SIDE);
        [g1, ConvGeometry::of_conv(&self.conv2, g1.side_out)]
    }
}

impl<B: Backend> ConvDecoder<B> {
    /// The bias of the output layer (one value: one output channel).
    pub fn output_bias(&self) -> Option<&burn::module::Param<Tensor<B, 1>>> {
        self.deconv2.bias.as_ref()
    }

    /// `[n, d]` codes → `[n, 1, 28, 28]` images in (0, 1).
    pub fn forward(&self, codes: Tensor<B, 2>) -> Tensor<B, 4> {
        let [g1, g2] = self.geometry();
        let x = relu(self.fc.forward(codes));
        let x = relu(conv_transpose2d_rows(&self.deconv1, &g1, x));
        rows_to_nchw(
            sigmoid(conv_transpose2d_rows(&self.deconv2, &g2, x)),
            SIDE,
            1,
        )
    }

    /// The two transposed convolutions' shapes, from the 7×7 bottom up.
    fn geometry(&self) -> [ConvGeometry; 2] {
        let g1 = ConvGeometry::of_conv_transpose(&self.deconv1, BOTTOM);
        [
            g1,
            ConvGeometry::of_conv_transpose(&self.deconv2, g1.side_out),
        ]
    }
}

impl<B: Backend> ConvAutoencoder<B> {
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        self.decoder.forward(self.encoder.forward(images))
    }

    /// One row per layer with its output shape (from a real forward pass of
    /// one image) and parameter count (from the module).
    pub fn architecture(&self, device: &B::Device) -> Vec<LayerRow> {
        let shape = |dims: &[usize]| {
            dims[1..]
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("×")
        };
        let mut rows = Vec::new();
        let mut push = |part: &str, layer: &str, dims: &[usize], params: usize| {
            rows.push(LayerRow {
                part: part.into(),
                layer: layer.into(),
                output_shape: shape(dims),
                parameters: params,
            })
        };
        let e = &self.encoder;
        let d = &self.decoder;
        let image = |g: &ConvGeometry| [1, g.channels_out, g.side_out, g.side_out];
        let conv = format!("conv {KERNEL}×{KERNEL}, stride {STRIDE}");
        let deconv = format!("transposed {conv}");
        let [e1, e2] = e.geometry();
        let [d1, d2] = d.geometry();
        // A real pass of one image checks the shapes the table states.
        let z = e.forward(Tensor::<B, 4>::zeros([1, 1, SIDE, SIDE], device));
        assert_eq!(d.forward(z.clone()).dims(), [1, 1, SIDE, SIDE]);
        push("input", "image", &[1, 1, SIDE, SIDE], 0);
        push(
            "encoder",
            &format!("{conv} + ReLU"),
            &image(&e1),
            e.conv1.num_params(),
        );
        push(
            "encoder",
            &format!("{conv} + ReLU"),
            &image(&e2),
            e.conv2.num_params(),
        );
        push("encoder", "flatten", &[1, e2.output_len()], 0);
        push(
            "encoder",
            "linear (latent code)",
            &z.dims(),
            e.fc.num_params(),
        );
        push(
            "decoder",
            "linear + ReLU",
            &[1, d1.input_len()],
            d.fc.num_params(),
        );
        push("decoder", "reshape", &[1, d.channels, BOTTOM, BOTTOM], 0);
        push(
            "decoder",
            &format!("{deconv} + ReLU"),
            &image(&d1),
            d.deconv1.num_params(),
        );
        push(
            "decoder",
            &format!("{deconv} + sigmoid"),
            &image(&d2),
            d.deconv2.num_params(),
        );
        rows
    }
}

impl<B: Backend> Autoencoder<B> for ConvAutoencoder<B> {
    fn encode(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.encoder.forward(images)
    }

    fn decode(&self, codes: Tensor<B, 2>) -> Tensor<B, 4> {
        self.decoder.forward(codes)
    }

    fn with_output_bias(mut self, logit: f32) -> Self {
        self.decoder.deconv2.bias = filled(self.decoder.deconv2.bias, logit);
        self
    }
}

/// A row of the architecture table.
#[derive(Debug, Clone, Serialize)]
pub struct LayerRow {
    pub part: String,
    pub layer: String,
    pub output_shape: String,
    pub parameters: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn shapes_and_parameter_counts_match_the_architecture() {
        let device = Default::default();
        let model = ConvAutoencoderConfig::new(12).init::<Flex>(&device);
        let rows = model.architecture(&device);
        let out: Vec<_> = rows.iter().map(|r| r.output_shape.as_str()).collect();
        assert_eq!(
            out,
            [
                "1×28×28",
                "32×14×14",
                "64×7×7",
                "3136",
                "12",
                "3136",
                "64×7×7",
                "32×14×14",
                "1×28×28"
            ]
        );
        let total: usize = rows.iter().map(|r| r.parameters).sum();
        assert_eq!(total, model.num_params());
        // conv1: 32·9 + 32; fc: 3136·12 + 12.
        assert_eq!(rows[1].parameters, 320);
        assert_eq!(rows[4].parameters, 37_644);
        let y = model.forward(Tensor::zeros([2, 1, 28, 28], &device));
        assert_eq!(y.dims(), [2, 1, 28, 28]);
    }
}

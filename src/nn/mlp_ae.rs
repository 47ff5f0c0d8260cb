//! A fully connected autoencoder, 784 → h₁ → h₂ → d and its mirror, the
//! comparison model of the `autoencoder` chapter.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::Tensor;
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::backend::Backend;

use super::autoencoder::{Autoencoder, filled};
use super::conv_ae::SIDE;

#[derive(Config, Debug)]
pub struct MlpAutoencoderConfig {
    pub latent_dim: usize,
    /// Widths of the two hidden layers of the encoder (the decoder mirrors them).
    #[config(default = "[256, 32]")]
    pub hidden: [usize; 2],
}

#[derive(Module, Debug)]
pub struct MlpAutoencoder<B: Backend> {
    enc1: Linear<B>,
    enc2: Linear<B>,
    enc3: Linear<B>,
    dec1: Linear<B>,
    dec2: Linear<B>,
    dec3: Linear<B>,
}

impl MlpAutoencoderConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> MlpAutoencoder<B> {
        let [h1, h2] = self.hidden;
        let d = self.latent_dim;
        let pixels = SIDE * SIDE;
        let lin = |i, o| LinearConfig::new(i, o).init(device);
        MlpAutoencoder {
            enc1: lin(pixels, h1),
            enc2: lin(h1, h2),
            enc3: lin(h2, d),
            dec1: lin(d, h2),
            dec2: lin(h2, h1),
            dec3: lin(h1, pixels),
        }
    }
}

impl<B: Backend> Autoencoder<B> for MlpAutoencoder<B> {
    fn encode(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = images.flatten::<2>(1, 3);
        let x = relu(self.enc1.forward(x));
        let x = relu(self.enc2.forward(x));
        self.enc3.forward(x)
    }

    fn decode(&self, codes: Tensor<B, 2>) -> Tensor<B, 4> {
        let n = codes.dims()[0];
        let x = relu(self.dec1.forward(codes));
        let x = relu(self.dec2.forward(x));
        sigmoid(self.dec3.forward(x)).reshape([n, 1, SIDE, SIDE])
    }

    fn with_output_bias(mut self, logit: f32) -> Self {
        self.dec3.bias = filled(self.dec3.bias, logit);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn mirrors_the_layers_and_counts_parameters() {
        let device = Default::default();
        let model = MlpAutoencoderConfig::new(12).init::<Flex>(&device);
        let encoder = 784 * 256 + 256 + 256 * 32 + 32 + 32 * 12 + 12;
        let decoder = 12 * 32 + 32 + 32 * 256 + 256 + 256 * 784 + 784;
        assert_eq!(model.num_params(), encoder + decoder);
        let x = Tensor::<Flex, 4>::zeros([3, 1, 28, 28], &device);
        assert_eq!(model.encode(x.clone()).dims(), [3, 12]);
        assert_eq!(model.reconstruct_tensor(x).dims(), [3, 1, 28, 28]);
    }
}

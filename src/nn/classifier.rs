//! The digit classifier: the conv AE's encoder as feature extractor, then a
//! two-layer MLP head. The head's hidden layer is the "feature layer" of the
//! center-loss chapter (size k).

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig, PRelu, PReluConfig};
use burn::tensor::Tensor;
use burn::tensor::backend::{AutodiffBackend, Backend};

use super::conv_ae::{ConvAutoencoderConfig, ConvEncoder};

#[derive(Config, Debug)]
pub struct ClassifierConfig {
    /// Output size of the encoder (the AE's latent size d).
    pub latent_dim: usize,
    #[config(default = "[32, 64]")]
    pub channels: [usize; 2],
    /// Width k of the MLP's hidden (feature) layer.
    pub feature_dim: usize,
}

#[derive(Module, Debug)]
pub struct MlpHead<B: Backend> {
    hidden: Linear<B>,
    activation: PRelu<B>,
    output: Linear<B>,
}

#[derive(Module, Debug)]
pub struct Classifier<B: Backend> {
    pub encoder: ConvEncoder<B>,
    pub head: MlpHead<B>,
}

impl ClassifierConfig {
    pub fn init<B: Backend>(&self, device: &B::Device) -> Classifier<B> {
        let ae = ConvAutoencoderConfig::new(self.latent_dim)
            .with_channels(self.channels)
            .init::<B>(device);
        Classifier {
            encoder: ae.encoder,
            head: self.init_head(device),
        }
    }

    pub fn init_head<B: Backend>(&self, device: &B::Device) -> MlpHead<B> {
        MlpHead {
            hidden: LinearConfig::new(self.latent_dim, self.feature_dim).init(device),
            activation: PReluConfig::new().init(device),
            output: LinearConfig::new(self.feature_dim, 10).init(device),
        }
    }
}

impl<B: Backend> MlpHead<B> {
    /// Codes → (features of size k, logits).
    pub fn forward(&self, codes: Tensor<B, 2>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let features = self.activation.forward(self.hidden.forward(codes));
        let logits = self.output.forward(features.clone());
        (features, logits)
    }
}

impl<B: AutodiffBackend> Classifier<B> {
    /// This classifier, starting from `encoder`'s weights (transfer).
    ///
    /// The weights are shared, their autodiff identity is not: burn's
    /// autodiff keeps one graph per set of connected tensors, so trainings
    /// whose parameters are the *same* leaf tensors (clones of one
    /// encoder, as the transfer chapter's draws trained at once in the
    /// scheduler's slots were) are merged into one graph, whose
    /// bookkeeping and cleanup all of them then share under one lock.
    /// `fork` gives each start leaves of its own.
    pub fn with_encoder(mut self, encoder: &ConvEncoder<B>, device: &B::Device) -> Self {
        self.encoder = encoder.clone().fork(device);
        self
    }
}

impl<B: Backend> Classifier<B> {
    /// Images → (latent codes, features, logits).
    pub fn forward_all(&self, images: Tensor<B, 4>) -> (Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>) {
        let codes = self.encoder.forward(images);
        let (features, logits) = self.head.forward(codes.clone());
        (codes, features, logits)
    }

    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        self.forward_all(images).2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn shapes() {
        let device = Default::default();
        let m = ClassifierConfig::new(12, 2).init::<Flex>(&device);
        let (codes, features, logits) = m.forward_all(Tensor::zeros([3, 1, 28, 28], &device));
        assert_eq!(codes.dims(), [3, 12]);
        assert_eq!(features.dims(), [3, 2]);
        assert_eq!(logits.dims(), [3, 10]);
    }
}

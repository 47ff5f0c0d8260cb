//! Turning bytes of MNIST into tensors.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use crate::data::Images;

/// Images at `indices` as a `[n, 1, rows, cols]` tensor scaled to [0, 1].
/// `buffer` is reused between calls so a training loop does not allocate a
/// new host vector per batch.
pub fn images_to_tensor<B: Backend>(
    images: &Images,
    indices: &[usize],
    buffer: &mut Vec<f32>,
    device: &B::Device,
) -> Tensor<B, 4> {
    buffer.clear();
    for &i in indices {
        buffer.extend(images.image(i).iter().map(|&p| p as f32 / 255.0));
    }
    let data = TensorData::new(buffer.clone(), [indices.len(), 1, images.rows, images.cols]);
    Tensor::from_data(data, device)
}

/// A tensor of images back to bytes, one `Vec<u8>` per image.
pub fn tensor_to_images<B: Backend>(t: Tensor<B, 4>) -> Vec<Vec<u8>> {
    let [n, _, h, w] = t.dims();
    let values: Vec<f32> = t
        .into_data()
        .convert::<f32>()
        .into_vec()
        .expect("float tensor converts to f32");
    values
        .chunks(h * w)
        .take(n)
        .map(|img| {
            img.iter()
                .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect()
        })
        .collect()
}

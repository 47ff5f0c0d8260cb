//! Turning bytes of MNIST into tensors: image sets uploaded to the device
//! once, batches gathered there, and tensors read back as bytes.

use std::ops::Range;

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use crate::data::{Images, Split};

/// Pixel bytes as values in [0, 1], the one conversion every model input goes
/// through (so device and host copies of an image are the same floats).
pub fn pixel_values(pixels: &[u8], out: &mut Vec<f32>) {
    out.extend(pixels.iter().map(|&p| p as f32 / 255.0));
}

/// The images at `indices`, as values in [0, 1], appended to `out` (a host
/// batch, e.g. one that gets noise added before it is uploaded).
pub fn host_batch(images: &Images, indices: &[usize], out: &mut Vec<f32>) {
    out.clear();
    for &i in indices {
        pixel_values(images.image(i), out);
    }
}

fn index_tensor<B: Backend>(indices: &[usize], device: &B::Device) -> Tensor<B, 1, Int> {
    let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(idx, [indices.len()]), device)
}

/// An image set on the device as `[n, rows·cols]` values in [0, 1],
/// uploaded once: a training gathers its batches from it on the device
/// instead of converting and uploading every batch (on a GPU, the data
/// crosses the bus once per training, not once per step).
#[derive(Clone)]
pub struct DeviceImages<B: Backend> {
    values: Tensor<B, 2>,
    rows: usize,
    cols: usize,
}

impl<B: Backend> DeviceImages<B> {
    pub fn upload(images: &Images, device: &B::Device) -> Self {
        let mut values = Vec::with_capacity(images.pixels.len());
        pixel_values(&images.pixels, &mut values);
        let shape = [images.count, images.pixels_per_image()];
        DeviceImages {
            values: Tensor::from_data(TensorData::new(values, shape), device),
            rows: images.rows,
            cols: images.cols,
        }
    }

    pub fn len(&self) -> usize {
        self.values.dims()[0]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The images at `indices` as a `[n, 1, rows, cols]` tensor.
    pub fn batch(&self, indices: &[usize]) -> Tensor<B, 4> {
        let device = self.values.device();
        self.values
            .clone()
            .select(0, index_tensor::<B>(indices, &device))
            .reshape([indices.len(), 1, self.rows, self.cols])
    }

    /// Images `range`, in order, as a `[n, 1, rows, cols]` tensor.
    pub fn range(&self, range: Range<usize>) -> Tensor<B, 4> {
        let n = range.len();
        let pixels = self.rows * self.cols;
        self.values
            .clone()
            .slice([range, 0..pixels])
            .reshape([n, 1, self.rows, self.cols])
    }

    /// Consecutive ranges of at most `batch` images covering the set.
    pub fn chunks(&self, batch: usize) -> impl Iterator<Item = Range<usize>> + use<B> {
        let n = self.len();
        (0..n)
            .step_by(batch.max(1))
            .map(move |start| start..(start + batch.max(1)).min(n))
    }
}

/// A labelled split on the device: images and their labels, uploaded once.
#[derive(Clone)]
pub struct DeviceSplit<B: Backend> {
    pub images: DeviceImages<B>,
    labels: Tensor<B, 1, Int>,
}

impl<B: Backend> DeviceSplit<B> {
    pub fn upload(split: &Split, device: &B::Device) -> Self {
        let labels: Vec<i64> = split.labels.iter().map(|&l| l as i64).collect();
        let n = labels.len();
        DeviceSplit {
            images: DeviceImages::upload(&split.images, device),
            labels: Tensor::from_data(TensorData::new(labels, [n]).convert::<B::IntElem>(), device),
        }
    }

    pub fn len(&self) -> usize {
        self.images.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn device(&self) -> B::Device {
        self.labels.device()
    }

    /// Labels at `indices`.
    pub fn labels(&self, indices: &[usize]) -> Tensor<B, 1, Int> {
        let device = self.labels.device();
        self.labels
            .clone()
            .select(0, index_tensor::<B>(indices, &device))
    }

    /// Labels `range`, in order.
    pub fn label_range(&self, range: Range<usize>) -> Tensor<B, 1, Int> {
        self.labels.clone().slice([range])
    }
}

/// Images at `indices` as a `[n, 1, rows, cols]` tensor scaled to [0, 1]
/// (one upload; for a one-off batch rather than a training loop).
pub fn images_to_tensor<B: Backend>(
    images: &Images,
    indices: &[usize],
    device: &B::Device,
) -> Tensor<B, 4> {
    let mut values = Vec::with_capacity(indices.len() * images.pixels_per_image());
    host_batch(images, indices, &mut values);
    let data = TensorData::new(values, [indices.len(), 1, images.rows, images.cols]);
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

/// A float tensor's values on the host.
pub fn read_f32<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .expect("float tensor converts to f32")
}

/// Per-batch scalars (losses, counts) kept on the device until they are
/// needed, then read back together in batch order.
pub struct PendingScalars<B: Backend> {
    values: Vec<Tensor<B, 1>>,
    /// The 1-based batch number of the first pending value.
    first_batch: usize,
}

impl<B: Backend> PendingScalars<B> {
    pub fn new() -> Self {
        PendingScalars {
            values: Vec::new(),
            first_batch: 1,
        }
    }

    pub fn push(&mut self, batch: usize, value: Tensor<B, 1>) {
        if self.values.is_empty() {
            self.first_batch = batch;
        }
        self.values.push(value);
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The pending values, oldest first, with their batch numbers.
    pub fn read(&mut self) -> Vec<(usize, f64)> {
        if self.values.is_empty() {
            return Vec::new();
        }
        let first = self.first_batch;
        read_f32(Tensor::cat(std::mem::take(&mut self.values), 0))
            .into_iter()
            .enumerate()
            .map(|(i, v)| (first + i, v as f64))
            .collect()
    }
}

impl<B: Backend> Default for PendingScalars<B> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    fn images() -> Images {
        Images {
            count: 3,
            rows: 2,
            cols: 2,
            pixels: (0..12).map(|v| v * 20).collect(),
        }
    }

    fn floats<const D: usize>(t: Tensor<Flex, D>) -> Vec<f32> {
        t.into_data().to_vec::<f32>().unwrap()
    }

    /// A batch gathered on the device holds the same floats as one built on
    /// the host, so moving the data changes no result.
    #[test]
    fn device_batches_equal_host_batches() {
        let device = Default::default();
        let imgs = images();
        let on_device = DeviceImages::<Flex>::upload(&imgs, &device);
        assert_eq!(on_device.len(), 3);
        for idx in [vec![2, 0], vec![1], vec![0, 1, 2]] {
            let host = images_to_tensor::<Flex>(&imgs, &idx, &device);
            assert_eq!(host.dims(), [idx.len(), 1, 2, 2]);
            assert_eq!(floats(on_device.batch(&idx)), floats(host));
        }
        assert_eq!(
            floats(on_device.range(1..3)),
            floats(images_to_tensor::<Flex>(&imgs, &[1, 2], &device))
        );
        assert_eq!(on_device.chunks(2).collect::<Vec<_>>(), vec![0..2, 2..3]);
    }

    #[test]
    fn device_labels_follow_their_indices() {
        let device = Default::default();
        let split = Split {
            images: images(),
            labels: vec![7, 3, 9],
        };
        let on_device = DeviceSplit::<Flex>::upload(&split, &device);
        let read =
            |t: Tensor<Flex, 1, Int>| t.into_data().convert::<i64>().to_vec::<i64>().unwrap();
        assert_eq!(read(on_device.labels(&[2, 0])), vec![9, 7]);
        assert_eq!(read(on_device.label_range(1..3)), vec![3, 9]);
    }
}

//! The IDX format of MNIST: a big-endian header, then unsigned bytes.
//!
//! Files may be raw or gzip-compressed (detected from the gzip magic, not the
//! name). Every malformed case is an error naming the file and what was
//! expected; nothing here panics on bad input.

use std::io::Read;
use std::path::Path;

use crate::base::error::Ex2Error;

pub const IMAGES_MAGIC: u32 = 0x0000_0803;
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// A stack of `count` greyscale images of `rows × cols` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Images {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

impl Images {
    /// Mean pixel value in [0, 1]: the L1 error of the all-black image.
    pub fn mean_intensity(&self) -> f64 {
        let sum: u64 = self.pixels.iter().map(|&p| p as u64).sum();
        sum as f64 / self.pixels.len().max(1) as f64 / 255.0
    }

    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.pixels_per_image();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// The first `n` images.
    pub fn truncated(&self, n: usize) -> Images {
        let n = n.min(self.count);
        Images {
            count: n,
            rows: self.rows,
            cols: self.cols,
            pixels: self.pixels[..n * self.pixels_per_image()].to_vec(),
        }
    }
}

fn data_err(path: &Path, message: impl Into<String>) -> Ex2Error {
    Ex2Error::Data {
        file: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads a file and gunzips it when it starts with the gzip magic.
pub fn read_decompressed(path: &Path) -> Result<Vec<u8>, Ex2Error> {
    let raw = std::fs::read(path).map_err(|e| data_err(path, format!("cannot read: {e}")))?;
    decompress_if_gzip(path, raw)
}

pub fn decompress_if_gzip(path: &Path, raw: Vec<u8>) -> Result<Vec<u8>, Ex2Error> {
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| data_err(path, format!("corrupt or truncated gzip stream: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Parses an IDX image file (magic 2051) whose images are `rows × cols`.
pub fn parse_images(
    path: &Path,
    bytes: &[u8],
    rows: usize,
    cols: usize,
) -> Result<Images, Ex2Error> {
    if bytes.len() < 16 {
        return Err(data_err(
            path,
            format!(
                "truncated IDX image file: {} bytes, the header alone is 16",
                bytes.len()
            ),
        ));
    }
    let magic = be_u32(bytes, 0);
    if magic != IMAGES_MAGIC {
        return Err(data_err(
            path,
            format!(
                "not an IDX image file: magic is {magic:#010x}, expected {IMAGES_MAGIC:#010x} (2051)"
            ),
        ));
    }
    let count = be_u32(bytes, 4) as usize;
    let (r, c) = (be_u32(bytes, 8) as usize, be_u32(bytes, 12) as usize);
    if (r, c) != (rows, cols) {
        return Err(data_err(
            path,
            format!("images are {r}×{c}, expected {rows}×{cols}"),
        ));
    }
    let expected = 16 + count * rows * cols;
    if bytes.len() != expected {
        let what = if bytes.len() < expected {
            "truncated"
        } else {
            "has trailing bytes"
        };
        return Err(data_err(
            path,
            format!(
                "{what}: header says {count} images of {rows}×{cols} = {expected} bytes, file has {}",
                bytes.len()
            ),
        ));
    }
    Ok(Images {
        count,
        rows,
        cols,
        pixels: bytes[16..].to_vec(),
    })
}

/// Parses an IDX label file (magic 2049) of digit labels 0–9.
pub fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u8>, Ex2Error> {
    if bytes.len() < 8 {
        return Err(data_err(
            path,
            format!(
                "truncated IDX label file: {} bytes, the header alone is 8",
                bytes.len()
            ),
        ));
    }
    let magic = be_u32(bytes, 0);
    if magic != LABELS_MAGIC {
        return Err(data_err(
            path,
            format!(
                "not an IDX label file: magic is {magic:#010x}, expected {LABELS_MAGIC:#010x} (2049)"
            ),
        ));
    }
    let count = be_u32(bytes, 4) as usize;
    let expected = 8 + count;
    if bytes.len() != expected {
        let what = if bytes.len() < expected {
            "truncated"
        } else {
            "has trailing bytes"
        };
        return Err(data_err(
            path,
            format!(
                "{what}: header says {count} labels = {expected} bytes, file has {}",
                bytes.len()
            ),
        ));
    }
    let labels = bytes[8..].to_vec();
    if let Some((i, l)) = labels.iter().enumerate().find(|(_, l)| **l > 9) {
        return Err(data_err(
            path,
            format!("label {i} is {l}, expected a digit 0–9"),
        ));
    }
    Ok(labels)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn image_file(count: u32, rows: u32, cols: u32, body: usize) -> Vec<u8> {
        let mut v = Vec::new();
        for x in [IMAGES_MAGIC, count, rows, cols] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v.extend((0..body).map(|i| (i % 251) as u8));
        v
    }

    pub fn label_file(count: u32, labels: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
        v.extend_from_slice(&count.to_be_bytes());
        v.extend_from_slice(labels);
        v
    }

    fn p() -> &'static Path {
        Path::new("x-idx-ubyte")
    }

    #[test]
    fn good_image_file_parses() {
        let f = image_file(3, 28, 28, 3 * 784);
        let im = parse_images(p(), &f, 28, 28).unwrap();
        assert_eq!((im.count, im.rows, im.cols), (3, 28, 28));
        assert_eq!(im.image(1)[0], (784 % 251) as u8);
        assert_eq!(im.truncated(2).pixels.len(), 2 * 784);
    }

    #[test]
    fn good_label_file_parses() {
        assert_eq!(
            parse_labels(p(), &label_file(3, &[5, 0, 4])).unwrap(),
            vec![5, 0, 4]
        );
    }

    #[test]
    fn truncated_image_file_is_an_error() {
        let f = image_file(3, 28, 28, 3 * 784 - 1);
        let e = parse_images(p(), &f, 28, 28).unwrap_err().to_string();
        assert!(e.contains("x-idx-ubyte") && e.contains("truncated"), "{e}");
        let e = parse_images(p(), &f[..10], 28, 28).unwrap_err().to_string();
        assert!(e.contains("header"), "{e}");
    }

    #[test]
    fn trailing_bytes_are_an_error() {
        let f = image_file(1, 28, 28, 785);
        let e = parse_images(p(), &f, 28, 28).unwrap_err().to_string();
        assert!(e.contains("trailing"), "{e}");
    }

    #[test]
    fn wrong_magic_is_an_error() {
        let f = label_file(10, &[1; 10]);
        let e = parse_images(p(), &f, 28, 28).unwrap_err().to_string();
        assert!(e.contains("magic") && e.contains("2051"), "{e}");
        let f = image_file(1, 28, 28, 784);
        let e = parse_labels(p(), &f).unwrap_err().to_string();
        assert!(e.contains("magic") && e.contains("2049"), "{e}");
    }

    #[test]
    fn wrong_dimensions_are_an_error() {
        let f = image_file(1, 32, 32, 1024);
        let e = parse_images(p(), &f, 28, 28).unwrap_err().to_string();
        assert!(e.contains("32×32") && e.contains("28×28"), "{e}");
    }

    #[test]
    fn bad_labels_are_errors() {
        let e = parse_labels(p(), &label_file(3, &[1, 2]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated"), "{e}");
        let e = parse_labels(p(), &label_file(2, &[1, 12]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("label 1 is 12"), "{e}");
        let e = parse_labels(p(), &[0, 0]).unwrap_err().to_string();
        assert!(e.contains("header"), "{e}");
    }

    #[test]
    fn gzip_is_detected_and_corrupt_gzip_is_an_error() {
        use std::io::Write;
        let raw = label_file(2, &[7, 2]);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(&raw).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(decompress_if_gzip(p(), gz.clone()).unwrap(), raw);
        let cut = gz[..gz.len() - 6].to_vec();
        let e = decompress_if_gzip(p(), cut).unwrap_err().to_string();
        assert!(e.contains("gzip"), "{e}");
    }
}

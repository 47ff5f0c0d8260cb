//! MNIST: where it lives, its pinned checksums, loading and subsetting.

pub mod fetch;
pub mod idx;
pub mod noise;
pub mod split;
pub mod training_set;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Serialize};

use crate::base::error::Ex2Error;
use crate::base::hash::sha256_hex;
pub use idx::Images;
pub use split::Split;
pub use training_set::TrainingSet;

/// Where a profile's images come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetSource {
    /// The full MNIST set in the data directory, fetched when missing.
    Mnist,
    /// The small real MNIST sample shipped in `tests/fixtures/mnist-small`.
    Fixture,
}

/// One IDX file with the size and SHA-256 of its *decompressed* bytes, so any
/// mirror or compression verifies the same way.
#[derive(Debug, Clone, Copy)]
pub struct DataFile {
    pub name: &'static str,
    pub bytes: usize,
    pub sha256: &'static str,
}

/// The original MNIST files (docs/facts.md, "MNIST").
pub const MNIST_FILES: [DataFile; 4] = [
    DataFile {
        name: "train-images-idx3-ubyte",
        bytes: 47_040_016,
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    DataFile {
        name: "train-labels-idx1-ubyte",
        bytes: 60_008,
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    DataFile {
        name: "t10k-images-idx3-ubyte",
        bytes: 7_840_016,
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    DataFile {
        name: "t10k-labels-idx1-ubyte",
        bytes: 10_008,
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
];

/// The first 3,000 training and 1,000 test images of MNIST, shipped gzipped in
/// `tests/fixtures/mnist-small` (made by `tests/fixtures/make_fixture.py`).
pub const FIXTURE_FILES: [DataFile; 4] = [
    DataFile {
        name: "train-images-idx3-ubyte",
        bytes: 2_352_016,
        sha256: "fc10080e92e48998cf561522ec74cfcd9fdc1d3eb6d815e4b8d6392c71460463",
    },
    DataFile {
        name: "train-labels-idx1-ubyte",
        bytes: 3_008,
        sha256: "fb68983ef4dddd9fd08a65eeffd7110e567eb77e5ef20f1b57f69a7269e7d425",
    },
    DataFile {
        name: "t10k-images-idx3-ubyte",
        bytes: 784_016,
        sha256: "de7c252b04f05e1f8309634180ccdf286dc6dbac8c579b74e76e02ae0331ca52",
    },
    DataFile {
        name: "t10k-labels-idx1-ubyte",
        bytes: 1_008,
        sha256: "832c0d20f0dc42e575488c75a83a970787d4c8d4d05831b2ef03701b4a478a90",
    },
];

pub const FIXTURE_DIR: &str = "tests/fixtures/mnist-small";

pub fn files_of(source: DatasetSource) -> &'static [DataFile; 4] {
    match source {
        DatasetSource::Mnist => &MNIST_FILES,
        DatasetSource::Fixture => &FIXTURE_FILES,
    }
}

/// A loaded, verified dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub source: DatasetSource,
    pub dir: PathBuf,
    pub train: Arc<Split>,
    pub test: Split,
    /// File name → SHA-256 of the decompressed bytes.
    pub checksums: BTreeMap<String, String>,
    /// `train` as a training set, hashed on first use.
    train_set: OnceLock<TrainingSet>,
}

impl Dataset {
    /// The first `train` training and `test` test images (the profile's
    /// sizes; the caller checks they exist).
    pub fn cut(self, train: usize, test: usize) -> Dataset {
        Dataset {
            train: Arc::new(self.train.truncated(train)),
            test: self.test.truncated(test),
            train_set: OnceLock::new(),
            ..self
        }
    }

    /// The whole training split as a training set: what the models trained
    /// on "the profile's images" train on.
    pub fn training_set(&self) -> &TrainingSet {
        self.train_set
            .get_or_init(|| TrainingSet::shared("profile", self.train.clone()))
    }
}

/// The file for `name` in `dir`: the raw file, or its `.gz`.
pub fn locate(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

/// Checks decompressed bytes against a pinned size and checksum.
pub fn check(file: &DataFile, path: &Path, bytes: &[u8]) -> Result<(), Ex2Error> {
    if bytes.len() != file.bytes {
        return Err(Ex2Error::Data {
            file: path.to_path_buf(),
            message: format!(
                "is {} bytes decompressed, expected {} for {}",
                bytes.len(),
                file.bytes,
                file.name
            ),
        });
    }
    let sum = sha256_hex(bytes);
    if sum != file.sha256 {
        return Err(Ex2Error::Data {
            file: path.to_path_buf(),
            message: format!(
                "checksum mismatch: SHA-256 {sum}, expected {} — the file is corrupt or not MNIST; \
                 delete it and run `ex2 data fetch`",
                file.sha256
            ),
        });
    }
    Ok(())
}

/// Reads and verifies one file; `None` when it is absent.
pub fn read_verified(dir: &Path, file: &DataFile) -> Result<Option<Vec<u8>>, Ex2Error> {
    let Some(path) = locate(dir, file.name) else {
        return Ok(None);
    };
    let bytes = idx::read_decompressed(&path)?;
    check(file, &path, &bytes)?;
    Ok(Some(bytes))
}

pub fn missing_files(dir: &Path, source: DatasetSource) -> Vec<&'static str> {
    files_of(source)
        .iter()
        .filter(|f| locate(dir, f.name).is_none())
        .map(|f| f.name)
        .collect()
}

/// Loads and verifies the four files of `source` from `dir`.
pub fn load(source: DatasetSource, dir: &Path) -> Result<Dataset, Ex2Error> {
    let files = files_of(source);
    let mut checksums = BTreeMap::new();
    let mut raw = Vec::new();
    for f in files {
        let bytes = read_verified(dir, f)?.ok_or_else(|| Ex2Error::Data {
            file: dir.join(f.name),
            message: format!(
                "missing (neither {0} nor {0}.gz exists); run `ex2 data fetch` or point --data-dir at a copy of MNIST",
                f.name
            ),
        })?;
        checksums.insert(f.name.to_string(), f.sha256.to_string());
        raw.push((locate(dir, f.name).expect("located above"), bytes));
    }
    let split = |images: usize, labels: usize| -> Result<Split, Ex2Error> {
        let (ip, ib) = &raw[images];
        let (lp, lb) = &raw[labels];
        let images = idx::parse_images(ip, ib, 28, 28)?;
        let labels = idx::parse_labels(lp, lb)?;
        if images.count != labels.len() {
            return Err(Ex2Error::Data {
                file: lp.clone(),
                message: format!(
                    "has {} labels but {} has {} images",
                    labels.len(),
                    ip.display(),
                    images.count
                ),
            });
        }
        Ok(Split { images, labels })
    };
    Ok(Dataset {
        source,
        dir: dir.to_path_buf(),
        train: Arc::new(split(0, 1)?),
        test: split(2, 3)?,
        checksums,
        train_set: OnceLock::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE_DIR)
    }

    #[test]
    fn fixture_loads_and_is_real_mnist() {
        let m = load(DatasetSource::Fixture, &fixture_dir()).unwrap();
        assert_eq!(m.train.len(), 3000);
        assert_eq!(m.test.len(), 1000);
        // First labels of MNIST (docs/facts.md, "MNIST").
        assert_eq!(&m.train.labels[..10], &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
        assert_eq!(&m.test.labels[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
        let mean = m.train.mean_pixel();
        assert!((mean - 0.1307).abs() < 0.01, "mean pixel {mean}");
        assert_eq!(m.train.truncated(10).images.count, 10);
    }

    #[test]
    fn checksum_mismatch_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        for f in &FIXTURE_FILES {
            let src = locate(&fixture_dir(), f.name).unwrap();
            std::fs::copy(&src, dir.path().join(src.file_name().unwrap())).unwrap();
        }
        // Flip one pixel in the decompressed training labels.
        let p = dir.path().join("train-labels-idx1-ubyte.gz");
        let mut raw = idx::read_decompressed(&p).unwrap();
        raw[100] = (raw[100] + 1) % 10;
        std::fs::remove_file(&p).unwrap();
        std::fs::write(dir.path().join("train-labels-idx1-ubyte"), &raw).unwrap();
        let e = load(DatasetSource::Fixture, dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("train-labels-idx1-ubyte") && e.contains("checksum mismatch"),
            "{e}"
        );
    }

    #[test]
    fn missing_files_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(missing_files(dir.path(), DatasetSource::Mnist).len(), 4);
        let e = load(DatasetSource::Mnist, dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing") && e.contains("--data-dir"), "{e}");
    }
}

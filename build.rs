//! Hashes the source of everything that decides what a trained model is
//! (the networks, their training loops, the data pipeline, the model
//! specs), so that the artifact cache's keys change when that code does,
//! and only then: editing a plot or a template keeps every model cached.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Files and directories whose source a trained model depends on: the
/// hashing and seeding of `base`, the code that turns a dataset's bytes into
/// the examples a model sees (IDX parsing, splits and subsets, noise,
/// training sets), the networks and their training loops, the model specs
/// and the backend selection. Where the bytes come from (the dataset
/// catalogue, fetching, verification) is not here: the keys hold the
/// checksums of the bytes themselves. Nor is the classic-ML code
/// (`CLASSIC_CODE`): no model depends on it.
const TRAINING_CODE: &[&str] = &[
    "src/base",
    "src/data/idx.rs",
    "src/data/split.rs",
    "src/data/noise.rs",
    "src/data/training_set.rs",
    "src/nn",
    "src/experiment/mod.rs",
    "src/experiment/models.rs",
    "src/experiment/sections.rs",
    "src/app/backend.rs",
];

/// What a cached classic-ML result (an SVM's predictions, a t-SNE
/// embedding) depends on besides the models its recipe names by key: the
/// algorithms, the recipes and the chapter code that makes their inputs
/// (feature sets, probe codes, plotted points).
const CLASSIC_CODE: &[&str] = &[
    "src/base",
    "src/ml",
    "src/experiment/classic.rs",
    "src/chapters/baselines",
    "src/chapters/denoising/codes.rs",
    "src/chapters/center_loss",
    // The patched implementations of t-SNE and the SVMs' kernel (vendor/README.md).
    "vendor/bhtsne/src",
    "vendor/linfa-kernel/src",
    "vendor/linfa-svm/src",
];

fn files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .expect("readable source directory")
            .map(|e| e.expect("directory entry").path())
            .collect();
        entries.sort();
        for e in entries {
            files(&e, out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// A short SHA-256 of the Rust source under `paths`.
fn source_hash(paths: &[&str]) -> String {
    let mut all = Vec::new();
    for p in paths {
        println!("cargo:rerun-if-changed={p}");
        files(Path::new(p), &mut all);
    }
    let mut h = Sha256::new();
    for f in &all {
        h.update(f.to_string_lossy().as_bytes());
        h.update(std::fs::read(f).expect("readable source file"));
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn main() {
    println!(
        "cargo:rustc-env=EX2_TRAINING_CODE={}",
        source_hash(TRAINING_CODE)
    );
    println!(
        "cargo:rustc-env=EX2_CLASSIC_CODE={}",
        source_hash(CLASSIC_CODE)
    );
    // All of the source: a chapter's stored results stand for a later
    // build only if the code that computed them is the same (`ex2 chapter`).
    println!("cargo:rustc-env=EX2_SOURCE={}", source_hash(&["src"]));
}

//! Datasets as configuration: the smoke book on Fashion-MNIST, a user's
//! own entry, and the errors a bad entry or bad files give.

mod common;

use std::path::Path;

use common::{Book, pdf_text, stderr};
use sha2::{Digest, Sha256};

fn sha256_of_decompressed(path: &Path) -> (usize, String) {
    use std::io::Read;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    let sum = Sha256::digest(&bytes);
    (
        bytes.len(),
        sum.iter().map(|b| format!("{b:02x}")).collect(),
    )
}

const FILES: [(&str, &str); 4] = [
    ("train-images", "train-images-idx3-ubyte"),
    ("train-labels", "train-labels-idx1-ubyte"),
    ("test-images", "t10k-images-idx3-ubyte"),
    ("test-labels", "t10k-labels-idx1-ubyte"),
];

/// `[dataset.<name>]` for the four files in `dir` (relative to the book),
/// with the checksums they have now, and `classes` class names.
fn entry(book: &Book, name: &str, dir: &str, classes: usize) -> String {
    let mut t = format!(
        "\n[dataset.{name}]\ntitle = \"My digits\"\nitem = \"digit\"\nitems = \"digits\"\n\
         class-noun = \"digit\"\nclass-nouns = \"digits\"\ndir = \"{dir}\"\nclasses = [{}]\n",
        (0..classes)
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (role, file) in FILES {
        let (bytes, sha) =
            sha256_of_decompressed(&book.path().join(dir).join(format!("{file}.gz")));
        t.push_str(&format!(
            "[dataset.{name}.files.{role}]\nname = \"{file}\"\nbytes = {bytes}\nsha256 = \"{sha}\"\n"
        ));
    }
    t
}

/// The book with a copy of the MNIST fixture in `mine/` and an entry for it.
fn book_with_own_dataset(classes: usize, edit: impl FnOnce(&Path)) -> Book {
    let book = Book::new();
    let mine = book.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    for (_, f) in FILES {
        let name = format!("{f}.gz");
        std::fs::copy(
            book.path().join("tests/fixtures/mnist-small").join(&name),
            mine.join(&name),
        )
        .unwrap();
    }
    edit(&mine);
    let toml_path = book.path().join("book.toml");
    let mut toml = std::fs::read_to_string(&toml_path).unwrap();
    toml.push_str(&entry(&book, "mine", "mine", classes));
    std::fs::write(&toml_path, toml).unwrap();
    book
}

/// Rewrites a gzipped IDX file in place after `f` edits its bytes.
fn edit_gz(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    use std::io::{Read, Write};
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut bytes)
        .unwrap();
    f(&mut bytes);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    std::fs::write(path, gz.finish().unwrap()).unwrap();
}

#[test]
fn the_smoke_book_on_fashion_mnist_names_garments_and_their_classes_never_digits() {
    let book = Book::new().with_profile("smoke-fashion");
    let out = book.ex2(&["build-report"]);
    assert!(
        out.status.success(),
        "build-report failed:\n{}",
        stderr(&out)
    );
    let text = pdf_text(&book.path().join("ex2.pdf"));
    for needle in [
        "Deep Learning on Fashion-MNIST",
        "A Garment Classifier",
        "Ankle boot",
        "T-shirt/top",
        "garment class",
        "test garments",
    ] {
        assert!(text.contains(needle), "the PDF lacks {needle:?}");
    }
    // Not one "digit" anywhere: every such word is computed from the entry.
    let lower = text.text.to_lowercase();
    if let Some(at) = lower.find("digit") {
        panic!(
            "the Fashion-MNIST book says \"digit\": …{}…",
            &text.text[at.saturating_sub(80)..(at + 40).min(text.text.len())]
        );
    }
    // The published Fashion-MNIST baselines sit beside the book's.
    assert!(
        text.contains("89.1%"),
        "the published polynomial SVM figure"
    );

    // Run ids name the dataset; diff refuses to compare across datasets.
    let runs = book.runs();
    let run = runs.last().unwrap();
    let id = run.file_name().unwrap().to_string_lossy().into_owned();
    assert!(id.ends_with("-smoke-fashion-fashion-mnist-fixture"), "{id}");
    let other = run.with_file_name(format!("{id}-as-mnist"));
    common::copy_dir(run, &other);
    let mpath = other.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&mpath).unwrap()).unwrap();
    m["dataset"]["name"] = "fixture".into();
    m["dataset"]["title"] = "MNIST".into();
    std::fs::write(&mpath, serde_json::to_vec(&m).unwrap()).unwrap();
    let out = book.ex2(&["diff", run.to_str().unwrap(), other.to_str().unwrap()]);
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(
        e.contains("different datasets")
            && e.contains("`fashion-mnist-fixture`")
            && e.contains("`fixture`"),
        "{e}"
    );
}

#[test]
fn a_users_own_dataset_entry_is_verified_and_used() {
    let book = book_with_own_dataset(10, |_| {});
    let out = book.ex2(&["--dataset", "mine", "data", "verify"]);
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}{so}", stderr(&out));
    assert!(
        so.contains("dataset `mine` (My digits)") && so.matches("ok ").count() == 4,
        "{so}"
    );
    // The plan loads it: its models are keyed by its own files.
    let out = book.ex2(&["--dataset", "mine", "plan"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // `data fetch` has nowhere to fetch from, and says so once files are gone.
    std::fs::remove_file(book.path().join("mine/t10k-labels-idx1-ubyte.gz")).unwrap();
    let out = book.ex2(&["--dataset", "mine", "data", "fetch"]);
    let e = stderr(&out);
    assert!(!out.status.success());
    assert!(
        e.contains("t10k-labels-idx1-ubyte") && e.contains("`mine`"),
        "{e}"
    );
}

#[test]
fn a_wrong_checksum_names_the_file_and_the_entry() {
    let book = book_with_own_dataset(10, |_| {});
    // Changed after the entry pinned it.
    edit_gz(&book.path().join("mine/train-labels-idx1-ubyte.gz"), |b| {
        b[20] = (b[20] + 1) % 10
    });
    for args in [&["data", "verify"][..], &["plan"][..]] {
        let mut a = vec!["--dataset", "mine"];
        a.extend_from_slice(args);
        let out = book.ex2(&a);
        let e = stderr(&out);
        assert!(!out.status.success());
        assert!(
            e.contains("train-labels-idx1-ubyte")
                && e.contains("checksum mismatch")
                && e.contains("`mine`"),
            "{args:?}: {e}"
        );
    }
}

#[test]
fn images_that_are_not_28_by_28_name_the_file_and_the_entry() {
    // Pinned after the edit: the checksums hold, the shape does not.
    let book = book_with_own_dataset(10, |dir| {
        edit_gz(&dir.join("t10k-images-idx3-ubyte.gz"), |b| {
            b[8..12].copy_from_slice(&32u32.to_be_bytes());
            b[12..16].copy_from_slice(&(28u32 * 28 / 32).to_be_bytes());
        })
    });
    let out = book.ex2(&["--dataset", "mine", "plan"]);
    let e = stderr(&out);
    assert!(!out.status.success());
    assert!(
        e.contains("t10k-images-idx3-ubyte")
            && e.contains("32×24")
            && e.contains("`mine`")
            && e.contains("28×28"),
        "{e}"
    );
}

#[test]
fn more_classes_in_the_labels_than_names_name_the_file_and_the_entry() {
    let book = book_with_own_dataset(10, |dir| {
        edit_gz(&dir.join("train-labels-idx1-ubyte.gz"), |b| b[8] = 12)
    });
    let out = book.ex2(&["--dataset", "mine", "plan"]);
    let e = stderr(&out);
    assert!(!out.status.success());
    assert!(
        e.contains("train-labels-idx1-ubyte")
            && e.contains("is 12")
            && e.contains("dataset.mine.classes"),
        "{e}"
    );
    // An entry must name exactly ten classes: the networks have ten outputs.
    let book = book_with_own_dataset(9, |_| {});
    let out = book.ex2(&["--dataset", "mine", "plan"]);
    let e = stderr(&out);
    assert!(!out.status.success());
    assert!(
        e.contains("dataset.mine.classes") && e.contains("9 class names"),
        "{e}"
    );
}

#[test]
fn an_unknown_dataset_lists_the_known_ones() {
    let out = Book::new().ex2(&["--dataset", "kmnist", "plan"]);
    let e = stderr(&out);
    assert!(!out.status.success());
    assert!(
        e.contains("no dataset named `kmnist`")
            && e.contains("fashion-mnist")
            && e.contains("[dataset.kmnist]"),
        "{e}"
    );
}

#[test]
fn data_fetch_copies_from_an_entrys_local_directories_or_says_what_to_install() {
    let book = book_with_own_dataset(10, |_| {});
    let toml_path = book.path().join("book.toml");
    let toml = std::fs::read_to_string(&toml_path).unwrap();
    // The entry's files now come from `mine/` as a local directory, into
    // the default `<data-dir>/<name>`.
    let local = book.path().join("mine");
    let toml = toml.replace(
        "dir = \"mine\"\n",
        &format!(
            "local-dirs = [\"/nonexistent/ex2\", {:?}]\nsystem-package = \"dataset-mine\"\n",
            local.display().to_string()
        ),
    );
    std::fs::write(&toml_path, &toml).unwrap();
    let out = book.ex2(&["--dataset", "mine", "data", "fetch"]);
    let so = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}{so}", stderr(&out));
    assert!(so.matches(local.to_str().unwrap()).count() == 4, "{so}");
    assert!(so.matches("ok ").count() == 4, "{so}");
    for (_, f) in FILES {
        assert!(
            book.path().join("data/mine").join(f).is_file(),
            "{f} copied"
        );
    }
    // Nowhere left to get them from: the message names the package.
    std::fs::remove_dir_all(book.path().join("data/mine")).unwrap();
    std::fs::remove_dir_all(&local).unwrap();
    let out = book.ex2(&["--dataset", "mine", "data", "fetch"]);
    let e = stderr(&out);
    assert!(!out.status.success());
    assert!(
        e.contains("could not fetch dataset `mine`")
            && e.contains("apt-get install dataset-mine")
            && e.contains("--data-dir"),
        "{e}"
    );
}

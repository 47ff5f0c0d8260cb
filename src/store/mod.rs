//! The run store: `runs/<run-id>/` with the manifest, each chapter's tables,
//! figures and facts. A run counts as complete once its `manifest.json`
//! exists; it is written last.

pub mod artifacts;
pub mod lock;
pub mod manifest;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::base::atomic::write_atomic;
use crate::book::table::TableSchema;
use crate::book::{ChapterId, ChapterOutput};

pub use manifest::Manifest;

/// What a chapter left in a run, enough to render it again without rerunning.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredChapter {
    pub id: ChapterId,
    pub facts: serde_json::Map<String, serde_json::Value>,
    /// Table name → rows, as in the CSV.
    pub tables: std::collections::BTreeMap<String, Vec<serde_json::Map<String, serde_json::Value>>>,
    pub schemas: Vec<TableSchema>,
    pub figures: Vec<String>,
}

/// One run directory.
#[derive(Debug, Clone)]
pub struct Run {
    pub id: String,
    pub dir: PathBuf,
}

impl Run {
    /// Creates `runs/<timestamp>-<profile>` (suffixed when taken).
    pub fn create(runs_dir: &Path, profile: &str) -> Result<Self> {
        std::fs::create_dir_all(runs_dir)
            .with_context(|| format!("creating {}", runs_dir.display()))?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        for n in 0.. {
            let id = if n == 0 {
                format!("{stamp}-{profile}")
            } else {
                format!("{stamp}-{profile}-{n}")
            };
            let dir = runs_dir.join(&id);
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(Self { id, dir }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
            }
        }
        unreachable!("some suffix is free")
    }

    pub fn chapter_dir(&self, id: ChapterId) -> PathBuf {
        self.dir.join("chapters").join(id.as_str())
    }

    pub fn tables_dir(&self, id: ChapterId) -> PathBuf {
        self.dir.join("tables").join(id.as_str())
    }

    pub fn figures_dir(&self, id: ChapterId) -> PathBuf {
        self.dir.join("figures").join(id.as_str())
    }

    /// Writes a chapter's tables (CSV), figures and facts into the run.
    pub fn store_chapter(&self, id: ChapterId, output: &ChapterOutput) -> Result<StoredChapter> {
        let mut tables = std::collections::BTreeMap::new();
        let mut schemas = Vec::new();
        for t in &output.tables {
            t.write_csv(&self.tables_dir(id).join(format!("{}.csv", t.name)))?;
            tables.insert(t.name.clone(), t.rows());
            schemas.push(t.schema());
        }
        write_atomic(
            &self.tables_dir(id).join("tables.json"),
            &serde_json::to_vec_pretty(&schemas)?,
        )?;
        for f in &output.figures {
            write_atomic(&self.figures_dir(id).join(&f.file), &f.bytes)?;
        }
        let stored = StoredChapter {
            id,
            facts: output.facts.clone(),
            tables,
            schemas,
            figures: output.figures.iter().map(|f| f.file.clone()).collect(),
        };
        write_atomic(
            &self.chapter_dir(id).join("output.json"),
            &serde_json::to_vec_pretty(&stored)?,
        )?;
        Ok(stored)
    }

    pub fn write_manifest(&self, manifest: &Manifest) -> Result<()> {
        write_atomic(
            &self.dir.join("manifest.json"),
            &serde_json::to_vec_pretty(manifest)?,
        )
    }
}

/// Copies a chapter's figures to the book's `figures/<chapter>/`, the
/// figures of the latest build.
pub fn publish_figures(run: &Run, id: ChapterId, figures_dir: &Path) -> Result<()> {
    let src = run.figures_dir(id);
    let dst = figures_dir.join(id.as_str());
    if !src.is_dir() {
        return Ok(());
    }
    for entry in std::fs::read_dir(&src)? {
        let p = entry?.path();
        if let Some(name) = p.file_name() {
            let bytes = std::fs::read(&p)?;
            write_atomic(&dst.join(name), &bytes)?;
        }
    }
    Ok(())
}

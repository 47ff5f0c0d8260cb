//! `manifest.json`: what produced a run, on what, and how long each chapter took.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::config::Profile;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub run_id: String,
    pub ex2_version: String,
    pub git_commit: Option<String>,
    pub command_line: Vec<String>,
    pub backend: String,
    pub device: String,
    pub profile: String,
    pub profile_config: Profile,
    pub seed: u64,
    pub dataset: DatasetRecord,
    pub host: HostRecord,
    pub started: String,
    pub finished: String,
    pub chapters: Vec<ChapterRecord>,
    /// `--set` overrides of book.toml this run used.
    #[serde(default)]
    pub overrides: Vec<String>,
    /// Trained models loaded from the cache (hits) or trained (misses).
    #[serde(default)]
    pub model_cache: crate::store::artifacts::CacheStats,
    /// Trainings at a time and threads each (`--jobs`); absent in runs
    /// older than the scheduler.
    #[serde(default)]
    pub scheduler: Option<crate::runtime::scheduler::Budget>,
    /// Seconds from the templates to the PDF's bytes (figures excluded:
    /// the chapters draw them).
    #[serde(default)]
    pub render_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// The dataset's name in the catalogue (`mnist`, `fashion-mnist`, …);
    /// runs written before datasets were configuration say `source`.
    #[serde(alias = "source")]
    pub name: String,
    /// What the book calls it; empty in runs written before.
    #[serde(default)]
    pub title: String,
    pub dir: String,
    pub train_images: usize,
    pub test_images: usize,
    /// File → SHA-256 of its decompressed bytes.
    pub checksums: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostRecord {
    pub os: String,
    pub arch: String,
    pub cores: usize,
    pub memory_gib: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChapterRecord {
    pub id: String,
    /// `ok`, `failed` or `reused`.
    pub status: String,
    pub error: Option<String>,
    pub wall_seconds: f64,
    /// Thread-seconds by kind of work (see `timing`); absent for reused
    /// chapters and in runs older than the phase clock.
    #[serde(default)]
    pub phases: Option<crate::runtime::timing::PhaseSeconds>,
    pub seeds: BTreeMap<String, u64>,
    /// Run whose results were reused instead of recomputing (`ex2 chapter`).
    pub reused_from: Option<String>,
    /// A hash of `inputs`.
    #[serde(default)]
    pub config_hash: String,
    /// Everything the chapter's results depend on, as `setting → value`
    /// (see `runner::chapter_inputs`): a later `ex2 chapter` reuses them
    /// only while every entry still holds. Absent in older runs.
    #[serde(default)]
    pub inputs: BTreeMap<String, serde_json::Value>,
}

/// The commit of the checkout at `root`, with `-dirty` when it has changes.
pub fn git_commit(root: &Path) -> Option<String> {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_string();
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(root)
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

pub fn host() -> HostRecord {
    let memory_gib = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        m.lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| (kb / 1024.0 / 1024.0 * 10.0).round() / 10.0)
    });
    HostRecord {
        os: std::env::consts::OS.into(),
        arch: std::env::consts::ARCH.into(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gib,
    }
}

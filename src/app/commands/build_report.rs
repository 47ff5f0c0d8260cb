//! `ex2 build-report`: every chapter (computed, or reused where an earlier
//! run computed it from the same inputs), then the PDF.

use anyhow::{Context, Result, bail};

use super::Exit;
use crate::app::cli::{BookArgs, BuildArgs, BuildReportArgs, Executor};
use crate::app::commands::plan::plan_entries;
use crate::app::runner::{self, BuildOptions};
use crate::app::slurm;
use crate::book::ChapterId;
use crate::config::Config;

pub fn run(book: &BookArgs, args: &BuildReportArgs) -> Result<Exit> {
    let config = load_config(book, &args.build)?;
    // Chapters not asked for are reused where their inputs still hold.
    let asked: Vec<ChapterId> = if args.recompute {
        config.book.book.chapters.clone()
    } else {
        Vec::new()
    };
    build(book, &args.build, &config, asked, false)
}

/// book.toml, with `--seeds` applied to the profile.
pub(crate) fn load_config(book: &BookArgs, args: &BuildArgs) -> Result<Config> {
    let mut config = super::load_config(book)?;
    if let Some(n) = args.seeds {
        config.profile.seeds = n;
    }
    Ok(config)
}

pub(crate) fn build(
    book: &BookArgs,
    args: &BuildArgs,
    config: &Config,
    run_chapters: Vec<ChapterId>,
    force: bool,
) -> Result<Exit> {
    let trained_elsewhere = match args.executor.executor {
        Executor::Local => {
            if args.executor.no_wait || !args.executor.slurm_options.is_empty() {
                bail!("--no-wait and --slurm-opt go with --executor slurm");
            }
            None
        }
        Executor::Slurm => {
            if force {
                bail!(
                    "--force retrains in this process; with --executor slurm, remove the \
                     models' cache entries instead (`ex2 plan` lists their keys)"
                );
            }
            let outcome = on_slurm(book, args, config)?;
            if args.executor.no_wait {
                eprintln!(
                    "submitted {} training{}; `ex2 build-report` renders the book once they are stored",
                    outcome.submitted,
                    if outcome.submitted == 1 { "" } else { "s" }
                );
                return Ok(Exit::Success);
            }
            Some(outcome.failed)
        }
    };
    let opts = BuildOptions {
        run_chapters,
        backend: args.backend.backend,
        data_dir: args.data.data_dir.clone(),
        out: args.out.clone(),
        command_line: std::env::args().collect(),
        lock_wait: std::time::Duration::from_secs(args.lock_wait),
        force,
        budget: crate::runtime::scheduler::Budget::with_jobs(args.jobs),
        trained_elsewhere,
    };
    let summary = runner::build(config, &opts)?;
    eprintln!(
        "wrote {} (run {})",
        summary.pdf.display(),
        summary.run.dir.display()
    );
    Ok(if summary.failed.is_empty() {
        Exit::Success
    } else {
        Exit::ChaptersFailed(summary.failed)
    })
}

/// Trains the models the store lacks as Slurm jobs that run `ex2 train`
/// with this book's options.
fn on_slurm(book: &BookArgs, args: &BuildArgs, config: &Config) -> Result<slurm::Outcome> {
    let absolute = |p: &std::path::Path| {
        std::path::absolute(p).with_context(|| format!("resolving {}", p.display()))
    };
    let mut book_args = vec![
        "--book".to_string(),
        absolute(&book.book)?.display().to_string(),
        "--profile".to_string(),
        config.profile_name.clone(),
        "--dataset".to_string(),
        config.profile.dataset.clone(),
    ];
    for s in &book.set {
        book_args.push("--set".into());
        book_args.push(s.clone());
    }
    if let Some(n) = args.seeds {
        book_args.push("--set".into());
        book_args.push(format!("profile.{}.seeds={n}", config.profile_name));
    }
    let data_dir = args.data.data_dir.as_deref().map(absolute).transpose()?;
    let plan = plan_entries(config, args.backend.backend, data_dir.as_deref())?;
    let command = slurm::JobCommand {
        exe: std::env::current_exe().context("locating the ex2 binary")?,
        book_args,
        backend: args.backend.backend,
        data_dir,
    };
    let runs = crate::store::Runs::of(config);
    slurm::train(
        &plan,
        runs.dir(),
        &command,
        &slurm::SlurmOptions {
            sbatch_options: args.executor.slurm_options.clone(),
            wait: !args.executor.no_wait,
        },
    )
}

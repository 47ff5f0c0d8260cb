//! `ex2 build-report`: every chapter, then the PDF.

use anyhow::Result;

use super::Exit;
use crate::app::cli::{BookArgs, BuildArgs};
use crate::app::runner::{self, BuildOptions};
use crate::book::ChapterId;
use crate::config::Config;

pub fn run(book: &BookArgs, args: &BuildArgs) -> Result<Exit> {
    let config = load_config(book, args)?;
    let chapters: Vec<ChapterId> = config.book.book.chapters.clone();
    build(args, &config, chapters, false)
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
    args: &BuildArgs,
    config: &Config,
    run_chapters: Vec<ChapterId>,
    force: bool,
) -> Result<Exit> {
    let opts = BuildOptions {
        run_chapters,
        backend: args.backend.backend,
        data_dir: args.data.data_dir.clone(),
        out: args.out.clone(),
        command_line: std::env::args().collect(),
        lock_wait: std::time::Duration::from_secs(args.lock_wait),
        force,
        budget: crate::runtime::scheduler::Budget::with_jobs(args.jobs),
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

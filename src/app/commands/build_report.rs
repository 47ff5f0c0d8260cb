//! `ex2 build-report`: every chapter, then the PDF.

use anyhow::Result;

use crate::app::cli::GlobalArgs;
use crate::app::runner::{self, BuildOptions, BuildSummary};
use crate::book::ChapterId;

pub fn run(global: &GlobalArgs) -> Result<BuildSummary> {
    let config = super::load_config(global)?;
    let chapters: Vec<ChapterId> = config.book.book.chapters.clone();
    build(global, &config, chapters, false)
}

pub(crate) fn build(
    global: &GlobalArgs,
    config: &crate::config::Config,
    run_chapters: Vec<ChapterId>,
    force: bool,
) -> Result<BuildSummary> {
    let opts = BuildOptions {
        run_chapters,
        backend: global.backend,
        data_dir: global.data_dir.clone(),
        out: global.out.clone(),
        command_line: std::env::args().collect(),
        lock_wait: std::time::Duration::from_secs(global.lock_wait),
        force,
        budget: crate::runtime::scheduler::Budget::with_jobs(global.jobs),
    };
    let summary = runner::build(config, &opts)?;
    eprintln!(
        "wrote {} (run {})",
        summary.pdf.display(),
        summary.run.dir.display()
    );
    Ok(summary)
}

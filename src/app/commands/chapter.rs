//! `ex2 chapter <id>…`: re-run some chapters, re-render the whole book.

use anyhow::Result;

use crate::app::cli::GlobalArgs;
use crate::app::runner::BuildSummary;
use crate::base::error::Ex2Error;
use crate::book::ChapterId;

pub fn run(global: &GlobalArgs, ids: &[ChapterId], force: bool) -> Result<BuildSummary> {
    let config = super::load_config(global)?;
    if let Some(id) = ids
        .iter()
        .find(|id| !config.book.book.chapters.contains(id))
    {
        return Err(Ex2Error::Config {
            file: global.book.clone(),
            message: format!(
                "chapter `{id}` is not in book.chapters ({})",
                config
                    .book
                    .book
                    .chapters
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
        .into());
    }
    super::build_report::build(global, &config, ids.to_vec(), force)
}

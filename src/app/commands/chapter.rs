//! `ex2 chapter <id>…`: re-run some chapters, re-render the whole book.

use anyhow::Result;

use super::Exit;
use crate::app::cli::{BookArgs, ChapterArgs};
use crate::base::error::Ex2Error;

pub fn run(book: &BookArgs, args: &ChapterArgs) -> Result<Exit> {
    let config = super::build_report::load_config(book, &args.build)?;
    if let Some(id) = args
        .ids
        .iter()
        .find(|id| !config.book.book.chapters.contains(id))
    {
        return Err(Ex2Error::Config {
            file: book.book.clone(),
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
    super::build_report::build(book, &args.build, &config, args.ids.clone(), args.force)
}

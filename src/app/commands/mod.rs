//! One module per subcommand, one dispatch, one way out: every command
//! returns how it ended (`Exit`), and `finish` turns that or its error into
//! a message and the process's exit status.

pub mod bench;
pub mod build_report;
pub mod chapter;
pub mod data;
pub mod diff;
pub mod list;
pub mod plan;
pub mod train;

use std::process::ExitCode;

use anyhow::Result;

use crate::app::cli::{BookArgs, Cli, Command};
use crate::base::error::Ex2Error;
use crate::book::ChapterId;
use crate::config::Config;

/// How a command ended.
#[derive(Debug)]
pub enum Exit {
    /// Exit status 0.
    Success,
    /// `diff`: the runs differ beyond tolerance (1).
    Differs,
    /// Some chapters failed; the book marks them and names the error (4).
    ChaptersFailed(Vec<(ChapterId, String)>),
}

/// Runs the command the user asked for.
pub fn dispatch(cli: &Cli) -> Result<Exit> {
    let book = &cli.book;
    match &cli.command {
        Command::BuildReport(args) => build_report::run(book, args),
        Command::Chapter(args) => chapter::run(book, args),
        Command::List(args) => list::run(book, args),
        Command::Plan(args) => plan::run(book, args),
        Command::Train(args) => train::run(book, args),
        Command::Diff(args) => diff::run(book, args),
        Command::Bench(args) => bench::run(book, args),
        Command::Data(args) => data::run(book, args),
    }
}

/// The message and exit status of a command's end. Errors: 2 for bad
/// input, 3 for an unavailable backend, 4 for a failed training, 1 for
/// anything else; `diff` says 2 for every error, so that a grader's CI can
/// tell "differs" (1) from "could not compare".
pub fn finish(command: &Command, result: Result<Exit>) -> ExitCode {
    match result {
        Ok(Exit::Success) => ExitCode::SUCCESS,
        Ok(Exit::Differs) => ExitCode::from(1),
        Ok(Exit::ChaptersFailed(failed)) => {
            for (id, e) in &failed {
                eprintln!("error: chapter `{id}` failed (the book marks it): {e}");
            }
            ExitCode::from(4)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            let code = match command {
                Command::Diff(_) => 2,
                _ => e
                    .chain()
                    .find_map(|c| c.downcast_ref::<Ex2Error>())
                    .map_or(1, Ex2Error::exit_code),
            };
            ExitCode::from(code as u8)
        }
    }
}

/// book.toml with the profile and `--set` overrides applied, every
/// chapter's section checked. `--dataset NAME` is the override
/// `profile.<profile>.dataset = "NAME"`, recorded like the others.
pub fn load_config(book: &BookArgs) -> Result<Config> {
    let config = crate::chapters::load_config(&book.book, book.profile.as_deref(), &book.set)?;
    let Some(dataset) = &book.dataset else {
        return Ok(config);
    };
    let mut set = book.set.clone();
    set.push(format!(
        "profile.{}.dataset=\"{dataset}\"",
        config.profile_name
    ));
    Ok(crate::chapters::load_config(
        &book.book,
        Some(&config.profile_name),
        &set,
    )?)
}

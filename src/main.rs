//! Command line entry: parse, dispatch, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use ex2::app::cli::Cli;
use ex2::app::commands;

/// Training allocates and frees tensors of megabytes every step; glibc's
/// malloc returns them to the OS each time, so every step page-faults them
/// back in (about a tenth of a step, measured with perf). mimalloc keeps them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = commands::dispatch(&cli);
    commands::finish(&cli.command, result)
}

//! The application: backend selection, the build runner, the command
//! line and one module per subcommand. Nothing below imports from here.

pub mod backend;
pub mod bench;
pub mod cli;
pub mod commands;
pub mod runner;
pub mod slurm;

#[cfg(test)]
mod key_coverage;

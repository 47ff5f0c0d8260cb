//! Errors a user can act on. Everything else travels as `anyhow::Error` with
//! context; `main` maps both to a message and an exit code.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Ex2Error {
    /// book.toml (or a command-line override) is unreadable or invalid.
    #[error("{}: {message}", file.display())]
    Config { file: PathBuf, message: String },

    /// A data file is missing, truncated, corrupt or fails its checksum.
    #[error("{}: {message}", file.display())]
    Data { file: PathBuf, message: String },

    /// The requested backend is not compiled in or has no device.
    #[error("backend `{backend}` is not available: {message}")]
    Backend { backend: String, message: String },

    /// A training run produced a non-finite loss.
    #[error("training of {model} diverged: {what} is {value} in epoch {epoch} (batch {batch})")]
    Diverged {
        model: String,
        what: String,
        value: f64,
        epoch: usize,
        batch: usize,
    },

    /// A trained model ended on a trivial solution (the all-black image,
    /// chance accuracy): a failed experiment, not a result.
    #[error("training of {model} ended on a trivial solution: {message}")]
    TrivialSolution { model: String, message: String },
}

impl Ex2Error {
    /// Exit codes: 2 bad input (config, data), 3 backend, 4 training.
    pub fn exit_code(&self) -> i32 {
        match self {
            Ex2Error::Config { .. } | Ex2Error::Data { .. } => 2,
            Ex2Error::Backend { .. } => 3,
            Ex2Error::Diverged { .. } | Ex2Error::TrivialSolution { .. } => 4,
        }
    }
}

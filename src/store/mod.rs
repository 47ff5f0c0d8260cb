//! What ex2 keeps on disk: the runs directory and its run directories
//! (`runs`, the one owner of their layout), the model cache (`artifacts`),
//! each run's manifest and the lock that keeps two processes apart.

pub mod artifacts;
pub mod lock;
pub mod manifest;
pub mod runs;

pub use manifest::Manifest;
pub use runs::{Run, Runs, Stored, StoredChapter};

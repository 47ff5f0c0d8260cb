//! What ex2 keeps on disk: the runs directory and its run directories
//! (`runs`, the one owner of their layout), the model cache (`artifacts`),
//! each run's manifest, the lock that keeps two builds apart
//! and the per-key claims that let processes share one cache.

pub mod artifacts;
pub mod claim;
pub mod lock;
pub mod manifest;
pub mod runs;

pub use manifest::Manifest;
pub use runs::{Run, Runs, Stored, StoredChapter};

//! ex2: a reproducible research book. One binary trains every model of the
//! MNIST exercise, measures it, draws it and typesets `ex2.pdf`.
//!
//! Layers, lowest first; a module imports only from layers below its own
//! (the test `layering` in this file checks every `crate::` path):
//!
//! | layer | modules | what it holds |
//! |---|---|---|
//! | 0 | `base` | errors, hashing and derived seeds, atomic writes |
//! | 1 | `runtime` | training slots, the phase clock, progress |
//! | 2 | `book` | chapter ids, chapter output, figures, metric tables |
//! | 3 | `data` | IDX files, datasets, fetching, noise |
//! | 4 | `config` | book.toml: book, build, profiles, diff, chapter sections, `--set` |
//! | 5 | `nn` | burn models, seeded init, training loops, lowered convolution |
//! | 6 | `ml`, `plot` | classic algorithms; charts and image grids |
//! | 7 | `store` | the run directories, the model cache, manifests, the lock |
//! | 8 | `experiment` | `Ctx`, the model specs, typed training sets |
//! | 9 | `chapters` | the registry and one folder per chapter |
//! | 10 | `report`, `diff` | the typeset book; comparing two runs |
//! | 11 | `app` | backend selection, the runner, the CLI, the commands |

pub mod app;
pub mod base;
pub mod book;
pub mod chapters;
pub mod config;
pub mod data;
pub mod diff;
pub mod experiment;
pub mod ml;
pub mod nn;
pub mod plot;
pub mod report;
pub mod runtime;
pub mod store;

#[cfg(test)]
mod layering;

//! ex2: a reproducible research book. One binary trains every model of the
//! MNIST exercise, measures it, draws it and typesets `ex2.pdf`.

pub mod backend;
pub mod chapters;
pub mod cli;
pub mod commands;
pub mod config;
pub mod data;
pub mod diff;
pub mod error;
pub mod ml;
pub mod models;
pub mod nn;
pub mod plot;
pub mod progress;
pub mod report;
pub mod runner;
pub mod scheduler;
pub mod store;
pub mod tables;
pub mod timing;

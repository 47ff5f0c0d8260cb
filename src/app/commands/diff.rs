//! `ex2 diff <a> <b>`: compares two runs' metric tables (see `crate::diff`).

use anyhow::Result;

use super::Exit;
use crate::app::cli::{BookArgs, DiffArgs};
use crate::config::Tolerance;
use crate::diff::{Tolerances, diff_runs, render};
use crate::store::Runs;

/// Success when the runs agree within tolerance.
pub fn run(book: &BookArgs, args: &DiffArgs) -> Result<Exit> {
    let config = super::load_config(book)?;
    let runs = Runs::of(&config);
    let (a, b) = (runs.resolve(&args.a)?, runs.resolve(&args.b)?);
    let section = &config.book.diff;
    let tolerances = Tolerances {
        default: Tolerance {
            abs: args.tol_abs.unwrap_or(section.tol_abs),
            rel: args.tol_rel.unwrap_or(section.tol_rel),
        },
        specific: section.tolerance.clone(),
        sigma: args.tol_sigma,
    };
    let chapters: Vec<String> = args
        .chapters
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    let report = diff_runs(&a, &b, &tolerances, args.include_volatile, &chapters)?;
    print!("{}", render(&report, args.format, args.all)?);
    Ok(if report.failures() == 0 {
        Exit::Success
    } else {
        Exit::Differs
    })
}

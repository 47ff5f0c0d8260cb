//! `ex2 diff <a> <b>`: compares two runs' metric tables (see `crate::diff`).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::app::cli::{DiffArgs, GlobalArgs};
use crate::app::runner::complete_runs;
use crate::config::Tolerance;
use crate::diff::{Tolerances, diff_runs, render};

/// A run named by id, path, `latest` or `previous`.
pub fn resolve_run(runs_dir: &Path, name: &str) -> Result<PathBuf> {
    let complete = complete_runs(runs_dir)?;
    let from_end = match name {
        "latest" => Some(1),
        "previous" => Some(2),
        _ => None,
    };
    if let Some(k) = from_end {
        return match complete.len().checked_sub(k) {
            Some(i) => Ok(runs_dir.join(&complete[i])),
            None => bail!(
                "`{name}` needs {k} complete run{} in {}, which has {}",
                if k == 1 { "" } else { "s" },
                runs_dir.display(),
                complete.len()
            ),
        };
    }
    let by_id = runs_dir.join(name);
    if by_id.join("manifest.json").is_file() {
        return Ok(by_id);
    }
    let as_path = PathBuf::from(name);
    if as_path.join("manifest.json").is_file() {
        return Ok(as_path);
    }
    let known = if complete.is_empty() {
        "there are none".to_string()
    } else {
        complete.join(", ")
    };
    bail!(
        "no complete run `{name}`: not an id in {} nor a run directory (complete runs: {known}; or say `latest`, `previous`)",
        runs_dir.display()
    )
}

/// Returns whether the runs agree within tolerance.
pub fn run(global: &GlobalArgs, args: &DiffArgs) -> Result<bool> {
    let config = super::load_config(global)?;
    let runs_dir = config.runs_dir();
    let (a, b) = (
        resolve_run(&runs_dir, &args.a)?,
        resolve_run(&runs_dir, &args.b)?,
    );
    let section = &config.book.diff;
    let tolerances = Tolerances {
        default: Tolerance {
            abs: args.tol_abs.unwrap_or(section.tol_abs),
            rel: args.tol_rel.unwrap_or(section.tol_rel),
        },
        specific: section.tolerance.clone(),
        sigma: args.tol_sigma,
    };
    for (flag, v) in [
        ("--tol-abs", args.tol_abs),
        ("--tol-rel", args.tol_rel),
        ("--tol-sigma", args.tol_sigma),
    ] {
        if let Some(v) = v.filter(|v| !(v.is_finite() && *v >= 0.0)) {
            bail!("{flag} must be a number ≥ 0 (got {v})");
        }
    }
    let chapters: Vec<String> = args
        .chapters
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    let report = diff_runs(&a, &b, &tolerances, args.include_volatile, &chapters)?;
    print!("{}", render(&report, args.format, args.all)?);
    Ok(report.failures() == 0)
}

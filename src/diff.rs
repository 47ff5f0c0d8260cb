//! Comparing the metric tables of two runs (`ex2 diff`): tables joined on
//! their declared key columns, numbers compared within tolerances, and
//! added or removed tables, rows and columns listed rather than fatal.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Result, bail};
use polars::prelude::*;
use serde::Serialize;

use crate::book::table::TableSchema;
use crate::config::Tolerance;
use crate::store::runs::{ChapterTables, Run};

/// Tolerances: a default, and overrides per `chapter/table` or
/// `chapter/table.column` (the most specific wins).
#[derive(Debug, Clone, Default)]
pub struct Tolerances {
    pub default: Tolerance,
    pub specific: BTreeMap<String, Tolerance>,
    /// Multi-seed runs: a difference within k·√(σa² + σb²) of the
    /// `<column>_std` columns is within tolerance too (`--tol-sigma k`).
    pub sigma: Option<f64>,
}

impl Tolerances {
    pub fn of(&self, table: &str, column: &str) -> Tolerance {
        self.specific
            .get(&format!("{table}.{column}"))
            .or_else(|| self.specific.get(table))
            .copied()
            .unwrap_or(self.default)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Same value.
    Equal,
    /// Different, within tolerance.
    Within,
    /// Different beyond tolerance.
    Changed,
    /// Only in run b.
    Added,
    /// Only in run a.
    Removed,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Equal => "equal",
            Change::Within => "within",
            Change::Changed => "changed",
            Change::Added => "added",
            Change::Removed => "removed",
        }
    }

    /// Whether this makes the runs differ (exit status 1).
    pub fn is_failure(self) -> bool {
        matches!(self, Change::Changed | Change::Added | Change::Removed)
    }
}

/// One compared cell, or an added/removed table, row or column (then
/// `key` and/or `column` are empty).
#[derive(Debug, Clone, Serialize)]
pub struct DiffRow {
    pub table: String,
    pub key: String,
    pub column: String,
    pub a: Option<String>,
    pub b: Option<String>,
    pub abs_delta: Option<f64>,
    pub rel_delta: Option<f64>,
    pub change: Change,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub run_a: String,
    pub run_b: String,
    pub rows: Vec<DiffRow>,
    /// Volatile tables (wall times) that were not compared.
    pub skipped_volatile: Vec<String>,
}

impl DiffReport {
    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|r| r.change.is_failure()).count()
    }
}

/// A run's tables: `chapter/table` → (schema, rows as strings keyed by the
/// key columns' values).
struct RunTables {
    tables: BTreeMap<String, (TableSchema, Rows, Vec<String>)>,
}

/// Rows of a table by their key; each row maps column → cell. (The keys in
/// file order travel beside it, so output follows the table, not the
/// alphabet: d=2, 5, 10 rather than d=10, 2, 5.)
type Rows = BTreeMap<String, BTreeMap<String, Option<String>>>;

fn read_csv(path: &Path) -> Result<DataFrame> {
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .and_then(|r| r.finish())
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))
}

/// Runs on different datasets (by name or by the files' checksums) do not
/// compare number by number: say so instead of listing every number.
fn same_dataset(a: &Run, b: &Run) -> Result<()> {
    let (ma, mb) = match (a.manifest(), b.manifest()) {
        (Ok(x), Ok(y)) => (x, y),
        // An incomplete run is reported by `load_run`.
        _ => return Ok(()),
    };
    let (da, db) = (&ma.dataset, &mb.dataset);
    if da.name != db.name || da.checksums != db.checksums {
        let describe = |d: &crate::store::manifest::DatasetRecord| {
            if d.title.is_empty() {
                format!("`{}`", d.name)
            } else {
                format!("`{}` ({})", d.name, d.title)
            }
        };
        bail!(
            "{} and {} ran on different datasets: {} and {}{}; their metric tables do not compare \
             number by number (diff two runs of one dataset)",
            a.id,
            b.id,
            describe(da),
            describe(db),
            if da.name == db.name {
                ", whose files' checksums differ"
            } else {
                ""
            }
        );
    }
    Ok(())
}

fn load_run(run: &Run) -> Result<RunTables> {
    if !run.is_complete() {
        bail!(
            "{} is not a complete run (it has no manifest)",
            run.dir.display()
        );
    }
    let mut tables = BTreeMap::new();
    for ChapterTables {
        chapter,
        tables: schemas,
    } in run.tables()?
    {
        for (schema, csv) in schemas {
            let frame = read_csv(&csv)?;
            let mut rows = BTreeMap::new();
            let mut order = Vec::new();
            let columns: Vec<&Column> = frame.columns().iter().collect();
            for i in 0..frame.height() {
                let mut row = BTreeMap::new();
                for c in &columns {
                    let v = c.str()?.get(i).map(str::to_string);
                    row.insert(c.name().to_string(), v);
                }
                let key = schema
                    .keys
                    .iter()
                    .map(|k| format!("{k}={}", row.get(k).cloned().flatten().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(", ");
                let key = if key.is_empty() {
                    format!("row {}", i + 1)
                } else {
                    key
                };
                order.push(key.clone());
                rows.insert(key, row);
            }
            tables.insert(format!("{chapter}/{}", schema.name), (schema, rows, order));
        }
    }
    Ok(RunTables { tables })
}

fn compare_cell(
    a: &Option<String>,
    b: &Option<String>,
    tol: Tolerance,
) -> (Change, Option<f64>, Option<f64>) {
    let num = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<f64>().ok());
    match (num(a), num(b)) {
        (Some(x), Some(y)) => {
            let d = y - x;
            let rel = if x != 0.0 { Some(d / x.abs()) } else { None };
            let change = if x == y || (x.is_nan() && y.is_nan()) {
                Change::Equal
            } else if tol.allows(x, y) {
                Change::Within
            } else {
                Change::Changed
            };
            (change, Some(d), rel)
        }
        _ if a == b => (Change::Equal, None, None),
        _ => (Change::Changed, None, None),
    }
}

/// Compares every table of run `a` with run `b`.
/// `chapters` (if not empty) limits the comparison to those chapters' tables.
pub fn diff_runs(
    a: &Run,
    b: &Run,
    tolerances: &Tolerances,
    include_volatile: bool,
    chapters: &[String],
) -> Result<DiffReport> {
    same_dataset(a, b)?;
    let (mut ta, mut tb) = (load_run(a)?, load_run(b)?);
    if !chapters.is_empty() {
        let keep = |name: &String| chapters.iter().any(|c| name.starts_with(&format!("{c}/")));
        ta.tables.retain(|name, _| keep(name));
        tb.tables.retain(|name, _| keep(name));
    }
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let names: BTreeSet<&String> = ta.tables.keys().chain(tb.tables.keys()).collect();
    let whole = |table: &str, change, a: Option<String>, b: Option<String>| DiffRow {
        table: table.to_string(),
        key: String::new(),
        column: String::new(),
        a,
        b,
        abs_delta: None,
        rel_delta: None,
        change,
    };
    for name in names {
        let (sa, sb) = (ta.tables.get(name), tb.tables.get(name));
        let volatile = sa.or(sb).is_some_and(|(s, _, _)| s.volatile);
        if volatile && !include_volatile {
            skipped.push(name.clone());
            continue;
        }
        let ((schema_a, rows_a, order_a), (schema_b, rows_b, order_b)) = match (sa, sb) {
            (Some(x), Some(y)) => (x, y),
            (Some(_), None) => {
                rows.push(whole(name, Change::Removed, Some("table".into()), None));
                continue;
            }
            (None, Some(_)) => {
                rows.push(whole(name, Change::Added, None, Some("table".into())));
                continue;
            }
            (None, None) => unreachable!("the name came from one of the runs"),
        };
        if schema_a.keys != schema_b.keys {
            // Rows cannot be matched: say so, and compare nothing else.
            rows.push(DiffRow {
                column: "(key columns)".into(),
                ..whole(
                    name,
                    Change::Changed,
                    Some(schema_a.keys.join(", ")),
                    Some(schema_b.keys.join(", ")),
                )
            });
            continue;
        }
        let cols_a: BTreeSet<&String> = schema_a.columns.iter().collect();
        let cols_b: BTreeSet<&String> = schema_b.columns.iter().collect();
        for c in cols_a.difference(&cols_b) {
            rows.push(DiffRow {
                column: c.to_string(),
                ..whole(name, Change::Removed, Some("column".into()), None)
            });
        }
        for c in cols_b.difference(&cols_a) {
            rows.push(DiffRow {
                column: c.to_string(),
                ..whole(name, Change::Added, None, Some("column".into()))
            });
        }
        let shared: Vec<&String> = schema_a
            .columns
            .iter()
            .filter(|c| cols_b.contains(c) && !schema_a.keys.contains(c))
            .collect();
        let mut seen = BTreeSet::new();
        let keys: Vec<&String> = order_a
            .iter()
            .chain(order_b.iter())
            .filter(|k| seen.insert(*k))
            .collect();
        for key in keys {
            match (rows_a.get(key), rows_b.get(key)) {
                (Some(ra), Some(rb)) => {
                    let num = |r: &BTreeMap<String, Option<String>>, c: &str| {
                        r.get(c)
                            .cloned()
                            .flatten()
                            .and_then(|v| v.parse::<f64>().ok())
                    };
                    for c in &shared {
                        let std_column = format!("{c}_std");
                        if tolerances.sigma.is_some()
                            && c.strip_suffix("_std")
                                .is_some_and(|base| cols_a.contains(&base.to_string()))
                        {
                            continue; // the spread is the tolerance, not a result
                        }
                        let (va, vb) = (ra[*c].clone(), rb[*c].clone());
                        let (mut change, abs_delta, rel_delta) =
                            compare_cell(&va, &vb, tolerances.of(name, c));
                        if let (Some(k), Change::Changed, Some(d), Some(sa), Some(sb)) = (
                            tolerances.sigma,
                            change,
                            abs_delta,
                            num(ra, &std_column),
                            num(rb, &std_column),
                        ) && d.abs() <= k * (sa * sa + sb * sb).sqrt()
                        {
                            change = Change::Within;
                        }
                        rows.push(DiffRow {
                            table: name.clone(),
                            key: key.clone(),
                            column: c.to_string(),
                            a: va,
                            b: vb,
                            abs_delta,
                            rel_delta,
                            change,
                        });
                    }
                }
                (Some(_), None) => rows.push(DiffRow {
                    key: key.clone(),
                    ..whole(name, Change::Removed, Some("row".into()), None)
                }),
                (None, Some(_)) => rows.push(DiffRow {
                    key: key.clone(),
                    ..whole(name, Change::Added, None, Some("row".into()))
                }),
                (None, None) => unreachable!("the key came from one of the tables"),
            }
        }
    }
    Ok(DiffReport {
        run_a: a.dir.display().to_string(),
        run_b: b.dir.display().to_string(),
        rows,
        skipped_volatile: skipped,
    })
}

/// Output formats of `ex2 diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    Text,
    Csv,
    Markdown,
    Json,
}

const HEADER: [&str; 8] = [
    "table",
    "key",
    "column",
    "a",
    "b",
    "delta",
    "rel_delta",
    "change",
];

fn cells(r: &DiffRow) -> [String; 8] {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    [
        r.table.clone(),
        r.key.clone(),
        r.column.clone(),
        opt(&r.a),
        opt(&r.b),
        r.abs_delta.map_or("-".into(), |d| format!("{d:+.6}")),
        r.rel_delta
            .map_or("-".into(), |d| format!("{:+.2}%", d * 100.0)),
        r.change.as_str().into(),
    ]
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Renders the rows to show (`all`: every compared cell; otherwise only
/// what differs beyond tolerance, and added or removed parts).
pub fn render(report: &DiffReport, format: DiffFormat, all: bool) -> Result<String> {
    let shown: Vec<&DiffRow> = report
        .rows
        .iter()
        .filter(|r| all || r.change.is_failure())
        .collect();
    let failures = report.failures();
    let summary = if failures == 0 {
        format!(
            "{} and {} agree within tolerance ({} values compared)",
            report.run_a,
            report.run_b,
            report.rows.len()
        )
    } else {
        format!(
            "{failures} of {} compared values or parts differ beyond tolerance between {} and {}",
            report.rows.len(),
            report.run_a,
            report.run_b
        )
    };
    Ok(match format {
        DiffFormat::Json => {
            #[derive(Serialize)]
            struct Json<'a> {
                run_a: &'a str,
                run_b: &'a str,
                failures: usize,
                compared: usize,
                skipped_volatile: &'a [String],
                rows: Vec<&'a DiffRow>,
            }
            serde_json::to_string_pretty(&Json {
                run_a: &report.run_a,
                run_b: &report.run_b,
                failures,
                compared: report.rows.len(),
                skipped_volatile: &report.skipped_volatile,
                rows: shown,
            })? + "\n"
        }
        DiffFormat::Csv => {
            let mut s = HEADER.join(",") + "\n";
            for r in shown {
                s += &cells(r)
                    .iter()
                    .map(|c| csv_field(c))
                    .collect::<Vec<_>>()
                    .join(",");
                s.push('\n');
            }
            s
        }
        DiffFormat::Markdown => {
            let mut s = format!("{summary}\n\n| {} |\n|", HEADER.join(" | "));
            s += &"---|".repeat(HEADER.len());
            s.push('\n');
            for r in shown {
                let c = cells(r).map(|c| c.replace('|', "\\|"));
                s += &format!("| {} |\n", c.join(" | "));
            }
            s
        }
        DiffFormat::Text => {
            let body: Vec<[String; 8]> = shown.iter().map(|r| cells(r)).collect();
            let mut width = HEADER.map(|h| h.chars().count());
            for row in &body {
                for (w, c) in width.iter_mut().zip(row) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let line = |cols: Vec<&str>| {
                cols.iter()
                    .zip(width)
                    .enumerate()
                    .map(|(i, (c, w))| {
                        // Numbers right-aligned, names left-aligned.
                        if (3..7).contains(&i) {
                            format!("{c:>w$}")
                        } else {
                            format!("{c:<w$}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            let mut s = String::new();
            if !body.is_empty() {
                s += &line(HEADER.to_vec());
                s.push('\n');
                for row in &body {
                    s += &line(row.iter().map(String::as_str).collect());
                    s.push('\n');
                }
                s.push('\n');
            }
            if !report.skipped_volatile.is_empty() {
                s += &format!(
                    "not compared (volatile: wall times): {}\n",
                    report.skipped_volatile.join(", ")
                );
            }
            s + &summary + "\n"
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerance_is_absolute_or_relative() {
        let t = Tolerance {
            abs: 0.01,
            rel: 0.0,
        };
        assert!(t.allows(1.0, 1.005) && !t.allows(1.0, 1.02));
        let t = Tolerance { abs: 0.0, rel: 0.1 };
        assert!(t.allows(100.0, 109.0) && !t.allows(100.0, 120.0));
        assert!(Tolerance::default().allows(0.5, 0.5));
    }

    #[test]
    fn the_most_specific_tolerance_wins() {
        let mut t = Tolerances::default();
        t.specific
            .insert("latent/sweep".into(), Tolerance { abs: 1.0, rel: 0.0 });
        t.specific.insert(
            "latent/sweep.test_l1".into(),
            Tolerance { abs: 2.0, rel: 0.0 },
        );
        assert_eq!(t.of("latent/sweep", "test_l1").abs, 2.0);
        assert_eq!(t.of("latent/sweep", "test_mse").abs, 1.0);
        assert_eq!(t.of("other/x", "y").abs, 0.0);
    }

    #[test]
    fn cells_compare_numbers_and_text() {
        let s = |v: &str| Some(v.to_string());
        let tol = Tolerance { abs: 0.1, rel: 0.0 };
        assert_eq!(
            compare_cell(&s("1.0"), &s("1.000000"), tol).0,
            Change::Equal
        );
        let (c, d, r) = compare_cell(&s("1.0"), &s("1.05"), tol);
        assert_eq!(c, Change::Within);
        assert!((d.unwrap() - 0.05).abs() < 1e-12 && (r.unwrap() - 0.05).abs() < 1e-12);
        assert_eq!(compare_cell(&s("1.0"), &s("2.0"), tol).0, Change::Changed);
        assert_eq!(compare_cell(&s("mse"), &s("l1"), tol).0, Change::Changed);
        assert_eq!(compare_cell(&None, &None, tol).0, Change::Equal);
    }
}

//! Metric tables: polars data frames with declared key columns, written as
//! CSV with a fixed column order and a fixed float format so that `ex2 diff`
//! and plain `git diff` both read them.

use std::path::Path;

use anyhow::{Result, ensure};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Decimal places of every float in a CSV.
pub const FLOAT_DECIMALS: usize = 6;

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    /// Columns that identify a row (joined on by `diff`).
    pub keys: Vec<String>,
    pub frame: DataFrame,
    /// Wall times and the like: differ between identical runs, so `diff`
    /// and the determinism test skip them.
    pub volatile: bool,
}

/// What is stored about a table beside its CSV.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableSchema {
    pub name: String,
    pub keys: Vec<String>,
    pub columns: Vec<String>,
    #[serde(default)]
    pub volatile: bool,
}

impl Table {
    pub fn new(name: &str, keys: &[&str], columns: Vec<Column>) -> Result<Self> {
        let frame = anyhow::Context::with_context(DataFrame::new_infer_height(columns), || {
            format!("building table `{name}`")
        })?;
        for k in keys {
            ensure!(
                frame.column(k).is_ok(),
                "table `{name}` declares key column `{k}` it does not have"
            );
        }
        Ok(Self {
            name: name.to_string(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            frame,
            volatile: false,
        })
    }

    /// A table from rows of a `#[derive(Serialize)]` struct: one column per
    /// field, in declaration order, named as serde names the field.
    pub fn from_rows<R: Serialize>(name: &str, keys: &[&str], rows: &[R]) -> Result<Self> {
        ensure!(!rows.is_empty(), "table `{name}` has no rows");
        let columns = anyhow::Context::with_context(super::rows::columns(rows), || {
            format!("building table `{name}`")
        })?;
        Self::new(name, keys, columns)
    }

    /// A table of measurements that vary between identical runs (times).
    pub fn volatile(mut self) -> Self {
        self.volatile = true;
        self
    }

    pub fn schema(&self) -> TableSchema {
        TableSchema {
            name: self.name.clone(),
            keys: self.keys.clone(),
            columns: self
                .frame
                .get_column_names()
                .iter()
                .map(|c| c.to_string())
                .collect(),
            volatile: self.volatile,
        }
    }

    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let mut frame = self.frame.clone();
        let result = CsvWriter::new(&mut out)
            .include_header(true)
            .with_float_scientific(Some(false))
            .with_float_precision(Some(FLOAT_DECIMALS))
            .finish(&mut frame);
        anyhow::Context::with_context(result, || format!("writing table `{}` as CSV", self.name))?;
        Ok(out)
    }

    pub fn write_csv(&self, path: &Path) -> Result<()> {
        crate::base::atomic::write_atomic(path, &self.to_csv()?)
    }

    /// Rows as JSON objects (column → value), for the templates. Values
    /// are those of the CSV: floats rounded to [`FLOAT_DECIMALS`].
    pub fn rows(&self) -> Vec<serde_json::Map<String, Value>> {
        let names: Vec<String> = self
            .frame
            .get_column_names()
            .iter()
            .map(|c| c.to_string())
            .collect();
        (0..self.frame.height())
            .map(|i| {
                names
                    .iter()
                    .map(|n| {
                        let v = self.frame.column(n).and_then(|c| c.get(i)).ok();
                        (n.clone(), any_to_json(v))
                    })
                    .collect()
            })
            .collect()
    }
}

fn round(v: f64) -> f64 {
    let p = 10f64.powi(FLOAT_DECIMALS as i32);
    (v * p).round() / p
}

fn any_to_json(v: Option<AnyValue>) -> Value {
    match v {
        None | Some(AnyValue::Null) => Value::Null,
        Some(AnyValue::Boolean(b)) => Value::Bool(b),
        Some(AnyValue::String(s)) => Value::String(s.to_string()),
        Some(AnyValue::StringOwned(s)) => Value::String(s.to_string()),
        Some(AnyValue::Float64(f)) => serde_json::Number::from_f64(round(f))
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Some(AnyValue::Float32(f)) => serde_json::Number::from_f64(round(f as f64))
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Some(AnyValue::Int32(x)) => Value::from(x),
        Some(AnyValue::Int64(x)) => Value::from(x),
        Some(AnyValue::UInt32(x)) => Value::from(x),
        Some(AnyValue::UInt64(x)) => Value::from(x),
        Some(other) => Value::String(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table::new(
            "history",
            &["epoch"],
            vec![
                Column::new("epoch".into(), [1u32, 2]),
                Column::new("loss".into(), ["mse", "l1"]),
                Column::new("test_l1".into(), [0.123_456_789f64, 1e-9]),
            ],
        )
        .unwrap()
    }

    #[test]
    fn csv_has_fixed_columns_and_float_format() {
        let csv = String::from_utf8(table().to_csv().unwrap()).unwrap();
        assert_eq!(csv, "epoch,loss,test_l1\n1,mse,0.123457\n2,l1,0.000000\n");
    }

    #[test]
    fn rows_match_the_csv_values() {
        let rows = table().rows();
        assert_eq!(rows[0]["epoch"], Value::from(1));
        assert_eq!(rows[0]["loss"], Value::from("mse"));
        assert_eq!(rows[0]["test_l1"], Value::from(0.123457));
        assert_eq!(table().schema().columns, ["epoch", "loss", "test_l1"]);
    }

    #[test]
    fn rows_of_a_struct_write_the_same_csv_as_columns() {
        #[derive(Serialize)]
        struct Row {
            epoch: u32,
            loss: &'static str,
            test_l1: f64,
        }
        let rows = [
            Row {
                epoch: 1,
                loss: "mse",
                test_l1: 0.123_456_789,
            },
            Row {
                epoch: 2,
                loss: "l1",
                test_l1: 1e-9,
            },
        ];
        let t = Table::from_rows("history", &["epoch"], &rows).unwrap();
        assert_eq!(t.to_csv().unwrap(), table().to_csv().unwrap());
        assert_eq!(t.rows(), table().rows());
    }

    #[test]
    fn unknown_key_column_is_an_error() {
        let e = Table::new("t", &["nope"], vec![Column::new("a".into(), [1u32])]);
        assert!(e.unwrap_err().to_string().contains("nope"));
    }
}

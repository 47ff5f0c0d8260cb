//! Multi-seed runs (`--seeds N`): a chapter runs once per seed and its
//! outputs are folded into one — numbers become means, each numeric table
//! column gains a `<column>_std` (sample standard deviation), numeric facts
//! gain `<fact>_std`; figures and texts come from the first seed.

use anyhow::{Result, bail, ensure};
use polars::prelude::*;
use serde_json::Value;

use super::ChapterOutput;
use crate::book::table::Table;

/// The base seed of repetition `i`: the book's own seed first, so a
/// one-seed run is the ordinary run (and shares its cache).
pub fn repetition_seed(base: u64, i: usize) -> u64 {
    if i == 0 {
        base
    } else {
        crate::base::hash::derive_seed(base, &format!("repetition-{i}"))
    }
}

/// The book's configuration for repetition `i` (its base seed
/// [`repetition_seed`]): what the runner runs and the plan lists.
pub fn repetition_config(config: &crate::config::Config, i: usize) -> crate::config::Config {
    let mut c = config.clone();
    c.book.build.seed = repetition_seed(config.book.build.seed, i);
    c
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (mean, var.sqrt())
}

/// Mean of JSON values of the same shape; numbers that agree everywhere
/// (counts, sizes) stay as they are, anything else non-numeric is the first.
fn mean_value(values: &[&Value]) -> Value {
    let first = values[0];
    match first {
        Value::Number(_) => {
            let xs: Option<Vec<f64>> = values.iter().map(|v| v.as_f64()).collect();
            match xs {
                Some(_) if values.iter().all(|v| *v == first) => first.clone(),
                Some(xs) => serde_json::Number::from_f64(mean_std(&xs).0)
                    .map(Value::Number)
                    .unwrap_or(Value::Null),
                None => first.clone(),
            }
        }
        Value::Array(a)
            if values
                .iter()
                .all(|v| v.as_array().is_some_and(|b| b.len() == a.len())) =>
        {
            Value::Array(
                (0..a.len())
                    .map(|i| {
                        let items: Vec<&Value> = values.iter().map(|v| &v[i]).collect();
                        mean_value(&items)
                    })
                    .collect(),
            )
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let items: Vec<&Value> = values.iter().map(|x| x.get(k).unwrap_or(v)).collect();
                    (k.clone(), mean_value(&items))
                })
                .collect(),
        ),
        _ => first.clone(),
    }
}

fn float_values(c: &Column) -> Option<Vec<Option<f64>>> {
    c.dtype()
        .is_float()
        .then(|| c.f64().ok().map(|ca| ca.iter().collect()))
        .flatten()
}

/// Folds one table's versions from every seed into means and deviations.
fn aggregate_table(versions: &[&Table]) -> Result<Table> {
    let first = versions[0];
    let height = first.frame.height();
    for t in versions {
        ensure!(
            t.frame.height() == height,
            "table `{}` has {} rows with one seed and {height} with another",
            first.name,
            t.frame.height()
        );
        for k in &first.keys {
            ensure!(
                t.frame.column(k)?.as_materialized_series()
                    == first.frame.column(k)?.as_materialized_series(),
                "table `{}`: the key column `{k}` differs between seeds",
                first.name
            );
        }
    }
    let mut columns = Vec::new();
    for c in first.frame.columns() {
        let name = c.name().to_string();
        let Some(_) = float_values(c).filter(|_| !first.keys.contains(&name)) else {
            columns.push(c.clone());
            continue;
        };
        let per_seed: Vec<Vec<Option<f64>>> = versions
            .iter()
            .map(|t| float_values(t.frame.column(&name).expect("same schema")).expect("float"))
            .collect();
        let (mut means, mut stds) = (Vec::with_capacity(height), Vec::with_capacity(height));
        for row in 0..height {
            let xs: Option<Vec<f64>> = per_seed.iter().map(|v| v[row]).collect();
            match xs {
                Some(xs) => {
                    let (m, s) = mean_std(&xs);
                    means.push(Some(m));
                    stds.push(Some(s));
                }
                None => {
                    means.push(None);
                    stds.push(None);
                }
            }
        }
        columns.push(Column::new(name.as_str().into(), means));
        columns.push(Column::new(format!("{name}_std").as_str().into(), stds));
    }
    let keys: Vec<&str> = first.keys.iter().map(String::as_str).collect();
    let table = Table::new(&first.name, &keys, columns)?;
    Ok(if first.volatile {
        table.volatile()
    } else {
        table
    })
}

/// One chapter output from the outputs of several seeds.
pub fn aggregate(outputs: Vec<ChapterOutput>) -> Result<ChapterOutput> {
    if outputs.len() <= 1 {
        return outputs
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("no output"));
    }
    let first = &outputs[0];
    let mut tables = Vec::new();
    for t in &first.tables {
        let versions: Vec<&Table> = outputs
            .iter()
            .map(|o| o.tables.iter().find(|x| x.name == t.name))
            .collect::<Option<_>>()
            .ok_or_else(|| anyhow::anyhow!("table `{}` is missing with one seed", t.name))?;
        tables.push(aggregate_table(&versions)?);
    }
    let mut facts = serde_json::Map::new();
    for (name, v) in &first.facts {
        let values: Vec<&Value> = outputs
            .iter()
            .map(|o| o.facts.get(name).unwrap_or(v))
            .collect();
        facts.insert(name.clone(), mean_value(&values));
        if v.is_f64() {
            let xs: Vec<f64> = values.iter().filter_map(|v| v.as_f64()).collect();
            if let Some(s) = serde_json::Number::from_f64(mean_std(&xs).1) {
                facts.insert(format!("{name}_std"), Value::Number(s));
            }
        }
    }
    let mut seeds = std::collections::BTreeMap::new();
    for (i, o) in outputs.iter().enumerate() {
        for (k, v) in &o.seeds {
            seeds.insert(format!("seed{}/{k}", i + 1), *v);
        }
    }
    facts.insert("seeds".into(), Value::from(outputs.len()));
    let figures = outputs.into_iter().next().expect("one output").figures;
    if tables.is_empty() && facts.is_empty() {
        bail!("nothing to aggregate");
    }
    Ok(ChapterOutput {
        tables,
        figures,
        facts,
        seeds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(l1: [f64; 2], params: u64, fact: f64) -> ChapterOutput {
        let mut o = ChapterOutput::default();
        o.tables.push(
            Table::new(
                "sweep",
                &["d"],
                vec![
                    Column::new("d".into(), [2u32, 5]),
                    Column::new("parameters".into(), [params, params]),
                    Column::new("test_l1".into(), l1),
                ],
            )
            .unwrap(),
        );
        o.set_facts(&serde_json::json!({
            "best": fact,
            "n": 3,
            "levels": [{"f": 0.5, "l1": fact}],
        }))
        .unwrap();
        o.seeds.insert("ae".into(), 1);
        o
    }

    #[test]
    fn tables_get_means_and_deviations_facts_get_means() {
        let a = aggregate(vec![output([0.1, 0.2], 7, 1.0), output([0.3, 0.2], 7, 3.0)]).unwrap();
        let t = &a.tables[0];
        let cols: Vec<&str> = t
            .frame
            .columns()
            .iter()
            .map(|c| c.name().as_str())
            .collect();
        assert_eq!(cols, ["d", "parameters", "test_l1", "test_l1_std"]);
        let mean: Vec<f64> = t
            .frame
            .column("test_l1")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        let std: Vec<f64> = t
            .frame
            .column("test_l1_std")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert!((mean[0] - 0.2).abs() < 1e-12 && (mean[1] - 0.2).abs() < 1e-12);
        // Sample deviation of {0.1, 0.3}: √(2 · 0.1² / 1) = 0.1414…
        assert!((std[0] - 0.02f64.sqrt()).abs() < 1e-12, "{}", std[0]);
        assert_eq!(std[1], 0.0);
        assert_eq!(a.facts["best"], 2.0);
        assert_eq!(a.facts["n"], 3);
        assert_eq!(a.facts["levels"][0]["l1"], 2.0);
        assert_eq!(a.facts["seeds"], 2);
        assert!(a.seeds.contains_key("seed2/ae"));
    }

    #[test]
    fn differing_keys_are_an_error() {
        let mut b = output([0.1, 0.2], 7, 1.0);
        b.tables[0] = Table::new(
            "sweep",
            &["d"],
            vec![
                Column::new("d".into(), [2u32, 6]),
                Column::new("parameters".into(), [7u64, 7]),
                Column::new("test_l1".into(), [0.1, 0.2]),
            ],
        )
        .unwrap();
        let e = aggregate(vec![output([0.1, 0.2], 7, 1.0), b])
            .unwrap_err()
            .to_string();
        assert!(e.contains("key column `d`"), "{e}");
    }

    #[test]
    fn one_seed_is_the_plain_run() {
        assert_eq!(repetition_seed(2026, 0), 2026);
        assert_ne!(repetition_seed(2026, 1), 2026);
    }
}

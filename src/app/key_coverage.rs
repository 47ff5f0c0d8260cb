//! Which setting changes which model, checked: `key_coverage.toml` beside
//! this file is the one statement of it, and the test below plans the smoke
//! book once per setting to hold the code to it. It lives in `app` because
//! it plans the whole book with the build's real key context.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::app::backend::BackendKind;
use crate::app::runner::key_context;
use crate::data::{Catalog, Dataset};
use crate::experiment::Ctx;
use crate::store::artifacts::ArtifactStore;

type B = burn::backend::Autodiff<burn::backend::Flex>;

fn fixture() -> Dataset {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalog = Catalog::built_in();
    let entry = catalog.get("fixture").unwrap();
    let dir = root.join(entry.dir.as_ref().unwrap());
    crate::data::load("fixture", entry, &dir).unwrap()
}

/// The planned models of book.toml's smoke book with `overrides`: name → key.
fn plan(full: &Dataset, overrides: &[String]) -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = crate::chapters::load_config(&root.join("book.toml"), Some("smoke"), overrides)
        .unwrap_or_else(|e| panic!("{overrides:?}: {e}"));
    let data = full
        .clone()
        .cut(config.profile.train_size, config.profile.test_size);
    let dir = tempfile::tempdir().unwrap();
    let context = key_context(BackendKind::Cpu, &data);
    let store = ArtifactStore::new(dir.path().into(), context);
    let ctx = Ctx::<B> {
        device: Default::default(),
        config: &config,
        data: &data,
        artifacts: &store,
    };
    let planned = crate::chapters::book_models(&ctx).unwrap();
    let n = planned.len();
    let map: BTreeMap<_, _> = planned.into_iter().map(|m| (m.name, m.key)).collect();
    assert_eq!(map.len(), n, "model names are unique");
    map
}

/// Leaf settings of a serialised book.toml, as `a.b.c` paths; `profile`
/// only for `profile`, tables of user-chosen keys as one setting.
fn settings(value: &serde_json::Value, path: &str, profile: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(fields) if path != "diff.tolerance" => {
            for (k, v) in fields {
                if path == "profile" && k != profile {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                settings(v, &p, profile, out);
            }
        }
        _ => out.push(path.to_string()),
    }
}

/// For every setting of book.toml, changing it changes exactly the keys
/// of the models `key_coverage.toml` says it affects and leaves every
/// other model cached. The table is the only statement of which setting
/// affects which model.
#[test]
fn every_setting_changes_exactly_its_models() {
    let table: toml::Table = toml::from_str(include_str!("key_coverage.toml")).unwrap();
    let groups = table["groups"].as_table().unwrap();
    let rows = table["setting"].as_table().unwrap();

    let full = fixture();
    let base = plan(&full, &[]);
    // Every setting of book.toml is in the table, and nothing else.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = crate::chapters::load_config(&root.join("book.toml"), Some("smoke"), &[]).unwrap();
    let mut all = Vec::new();
    settings(
        &serde_json::to_value(&config.book).unwrap(),
        "",
        "smoke",
        &mut all,
    );
    let listed: BTreeSet<&String> = rows.keys().collect();
    let present: BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        present.difference(&listed).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "settings missing from key_coverage.toml"
    );
    assert_eq!(
        listed.difference(&present).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "key_coverage.toml lists settings book.toml does not have"
    );

    let names = |v: Option<&toml::Value>, planned: &BTreeMap<String, String>| {
        let mut out = BTreeSet::new();
        for n in v.and_then(|v| v.as_array()).into_iter().flatten() {
            let n = n.as_str().unwrap();
            if n == "*" {
                out.extend(base.keys().chain(planned.keys()).cloned());
            } else if let Some(g) = n.strip_prefix('@') {
                let group = groups[g].as_array().unwrap_or_else(|| panic!("group {g}"));
                out.extend(group.iter().map(|m| m.as_str().unwrap().to_string()));
            } else {
                out.insert(n.to_string());
            }
        }
        out
    };
    let mut failures = Vec::new();
    for (setting, row) in rows {
        if row.get("skip").is_some() {
            continue;
        }
        let value = &row["value"];
        let changed_plan = plan(&full, &[format!("{setting}={value}")]);
        let mut expected = names(row.get("models"), &changed_plan);
        for n in names(row.get("except"), &changed_plan) {
            expected.remove(&n);
        }
        let changed: BTreeSet<String> = base
            .keys()
            .chain(changed_plan.keys())
            .filter(|n| base.get(*n) != changed_plan.get(*n))
            .cloned()
            .collect();
        if changed != expected {
            failures.push(format!(
                "{setting} = {value}: changed {:?}, expected {:?}",
                changed.difference(&expected).collect::<Vec<_>>(),
                expected.difference(&changed).collect::<Vec<_>>(),
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    // The groups name real models.
    for (g, members) in groups {
        for m in members.as_array().unwrap() {
            assert!(base.contains_key(m.as_str().unwrap()), "group {g}: {m}");
        }
    }
}

/// A training set is known by its examples: the few-shot models change
/// with the labelled subset, and two selections of the same size differ.
#[test]
fn training_sets_are_keyed_by_their_examples() {
    let full = fixture();
    let base = plan(&full, &[]);
    let other_seed = plan(&full, &["build.seed=1".into()]);
    assert_ne!(base["few-shot/scratch/1"], other_seed["few-shot/scratch/1"]);
    // Each draw has its own labelled images: five different models.
    let draws: std::collections::BTreeSet<_> = (1..=5)
        .map(|r| &base[&format!("few-shot/scratch/{r}")])
        .collect();
    assert_eq!(draws.len(), 5);
    // The sweep's d=12 is the book's AE: one model, trained once.
    assert_eq!(base["latent/d12"], base["autoencoder/conv-ae"]);
}

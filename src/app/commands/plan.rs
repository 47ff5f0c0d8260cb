//! `ex2 plan`: every cached model the book needs, its key, its cost, the
//! models it is built from, and whether the cache has it (if not, why),
//! without training anything. `--format json` is the job graph.

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::Exit;
use crate::app::backend::{BackendKind, BackendTask, dispatch};
use crate::app::cli::{BookArgs, PlanArgs, PlanFormat};
use crate::app::runner::{key_context, load_data};
use crate::chapters::book_models;
use crate::config::Config;
use crate::data::Dataset;
use crate::experiment::models::PlannedModel;
use crate::experiment::{Ctx, classic};
use crate::store::artifacts::ArtifactStore;

/// One job of the plan: a model to load or train. The JSON form
/// (`--format json`) is the job graph, in the order a build requests the
/// models; keys are content hashes, so the graph is stable across runs.
#[derive(Debug, Clone, Serialize)]
pub struct PlanEntry {
    pub name: String,
    pub kind: String,
    pub key: String,
    pub cached: bool,
    /// For a model that is not cached: how it differs from the nearest
    /// cached model of its kind.
    pub why: Option<String>,
    /// Keys of the planned models this one is built from (its spec names
    /// them): transfer's encoder is the book AE, the decoder's encoder the
    /// classifier's, the latent map's classifier reads the d=2 AE's codes.
    pub depends_on: Vec<String>,
    /// What training it costs: training images × epochs.
    pub cost: Option<Cost>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Cost {
    pub images: u64,
    pub epochs: u64,
    pub image_epochs: u64,
}

/// A classic-ML result (an SVM's predictions, a t-SNE), not a model.
fn is_classic(kind: &str) -> bool {
    [classic::CLASSIC_FIT, classic::TSNE].contains(&kind)
}

/// Every string in `value`, recursively.
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(fields) => fields.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// The planned models whose keys `m`'s spec mentions.
pub(crate) fn dependencies(m: &PlannedModel, keys: &[String]) -> Vec<String> {
    let mut mentioned = Vec::new();
    strings(&m.described["spec"], &mut mentioned);
    // A model several chapters request is planned once per request: one
    // dependency per key.
    let mut found: Vec<String> = Vec::new();
    for k in keys {
        if *k != m.key && !found.contains(k) && mentioned.iter().any(|s| s.contains(k.as_str())) {
            found.push(k.clone());
        }
    }
    found
}

/// Training images × epochs, from the spec's training set and training config.
fn cost(m: &PlannedModel) -> Option<Cost> {
    let spec = &m.described["spec"];
    let images = spec["train_set"]["examples"].as_u64()?;
    let epochs = spec["training"]["epochs"].as_u64()?;
    Some(Cost {
        images,
        epochs,
        image_epochs: images * epochs,
    })
}

/// Why a model is not cached, in the words of what changed: the nearest
/// cached model of the same kind and the settings that differ from it.
fn why_not_cached(artifacts: &ArtifactStore, m: &PlannedModel) -> String {
    let Some((nearest, differences)) = artifacts.nearest(&m.kind, &m.described) else {
        return format!("no cached {} model", m.kind);
    };
    let mut reasons: Vec<String> = Vec::new();
    let mut push = |r: String| {
        if !reasons.contains(&r) {
            reasons.push(r);
        }
    };
    for d in &differences {
        let path = d.split(':').next().unwrap_or_default();
        match path {
            "context.training_code" => push("training code changed".into()),
            "context.ex2_version" => push("ex2 version changed".into()),
            "context.backend" | "context.kernels" => push("backend or its kernels differ".into()),
            p if p.starts_with("context.dataset_checksums") => push("data checksum differs".into()),
            p if p.starts_with("spec.train_set") => push("training examples differ".into()),
            _ => push(d.clone()),
        }
    }
    const SHOWN: usize = 4;
    let more = reasons.len().saturating_sub(SHOWN);
    reasons.truncate(SHOWN);
    let mut why = format!("vs {nearest}: {}", reasons.join("; "));
    if more > 0 {
        why.push_str(&format!("; {more} more"));
    }
    why
}

/// What a plan is made from: the book's model cache, and the book's
/// configuration once per seed.
pub(crate) struct PlanInputs<'a> {
    pub artifacts: ArtifactStore,
    configs: Vec<Config>,
    data: &'a Dataset,
}

impl<'a> PlanInputs<'a> {
    pub fn new(config: &Config, data: &'a Dataset, backend: BackendKind) -> Self {
        Self {
            artifacts: ArtifactStore::new(
                crate::store::Runs::of(config).cache_dir(),
                key_context(backend, data),
            ),
            // One per seed of the profile (`--seeds`), as the runner repeats
            // the chapters; the first is `config` itself.
            configs: (0..config.profile.seeds.max(1))
                .map(|i| crate::chapters::seeds::repetition_config(config, i))
                .collect(),
            data,
        }
    }

    /// One experiment context per seed, on `device`.
    pub fn contexts<B: AutodiffBackend>(&self, device: &B::Device) -> Vec<Ctx<'_, B>> {
        self.configs
            .iter()
            .map(|config| Ctx::<B> {
                device: device.clone(),
                config,
                data: self.data,
                artifacts: &self.artifacts,
            })
            .collect()
    }
}

/// Every model the book needs over all its seeds, each key once, in the
/// order a build requests them; a repetition's models are named
/// `<name>@seed<k>`.
pub(crate) fn planned_models<'a, B: AutodiffBackend>(
    ctxs: &'a [Ctx<'a, B>],
) -> Result<Vec<PlannedModel<'a>>> {
    let mut planned: Vec<PlannedModel<'a>> = Vec::new();
    for (i, ctx) in ctxs.iter().enumerate() {
        for mut m in book_models(ctx)? {
            if planned.iter().any(|p| p.key == m.key) {
                continue;
            }
            if i > 0 {
                m.name = format!("{}@seed{}", m.name, i + 1);
            }
            planned.push(m);
        }
    }
    Ok(planned)
}

struct Plan<'a> {
    config: &'a Config,
    data: &'a Dataset,
    backend: BackendKind,
}

impl BackendTask for Plan<'_> {
    type Output = Vec<PlanEntry>;

    fn run<B: AutodiffBackend>(
        self,
        device: B::Device,
        _device_name: String,
    ) -> Result<Vec<PlanEntry>> {
        let inputs = PlanInputs::new(self.config, self.data, self.backend);
        let ctxs = inputs.contexts::<B>(&device);
        let planned = planned_models(&ctxs)?;
        let artifacts = &inputs.artifacts;
        let keys: Vec<String> = planned.iter().map(|m| m.key.clone()).collect();
        Ok(planned
            .into_iter()
            .map(|m| {
                let cached = artifacts.is_cached(&m.key);
                PlanEntry {
                    why: (!cached).then(|| why_not_cached(artifacts, &m)),
                    cached,
                    depends_on: dependencies(&m, &keys),
                    cost: cost(&m),
                    name: m.name,
                    kind: m.kind,
                    key: m.key,
                }
            })
            .collect())
    }
}

/// The plan of the book as configured, over all its seeds.
pub fn plan(book: &BookArgs, args: &PlanArgs) -> Result<Vec<PlanEntry>> {
    let config = super::load_config(book)?;
    plan_entries(&config, args.backend.backend, args.data.data_dir.as_deref())
}

/// The plan of `config` on `backend` with the data in `data_dir`.
pub fn plan_entries(
    config: &Config,
    backend: BackendKind,
    data_dir: Option<&std::path::Path>,
) -> Result<Vec<PlanEntry>> {
    crate::app::backend::ensure_compiled(backend)?;
    let data = load_data(config, data_dir)?;
    dispatch(
        backend,
        Plan {
            config,
            data: &data,
            backend,
        },
    )
}

pub fn run(book: &BookArgs, args: &PlanArgs) -> Result<Exit> {
    let entries = plan(book, args)?;
    match args.format {
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&entries)?),
        PlanFormat::Text => {
            let name_of = |key: &str| {
                entries
                    .iter()
                    .find(|e| e.key == key)
                    .map_or(key.to_string(), |e| e.name.clone())
            };
            for e in &entries {
                let cost = e
                    .cost
                    .map_or("-".to_string(), |c| format!("{}×{}", c.images, c.epochs));
                let after = if e.depends_on.is_empty() {
                    String::new()
                } else {
                    let names: Vec<String> = e.depends_on.iter().map(|k| name_of(k)).collect();
                    format!("after {}; ", names.join(", "))
                };
                let verb = if is_classic(&e.kind) {
                    "to compute"
                } else {
                    "to train"
                };
                let status = match &e.why {
                    None => "cached".to_string(),
                    Some(why) => format!("{verb} ({why})"),
                };
                println!("{:<30} {:<36} {cost:>9}  {after}{status}", e.name, e.key);
            }
            let missing: Vec<&PlanEntry> = entries.iter().filter(|e| !e.cached).collect();
            let work: u64 = missing
                .iter()
                .filter_map(|e| e.cost.map(|c| c.image_epochs))
                .sum();
            let count = |classic: bool, of: &[&PlanEntry]| {
                of.iter().filter(|e| is_classic(&e.kind) == classic).count()
            };
            let all: Vec<&PlanEntry> = entries.iter().collect();
            println!(
                "{} models, {} cached, {} to train ({work} image-epochs; cost = training images × epochs); \
                 {} classic-ML results, {} cached, {} to compute",
                count(false, &all),
                count(false, &all) - count(false, &missing),
                count(false, &missing),
                count(true, &all),
                count(true, &all) - count(true, &missing),
                count(true, &missing),
            );
        }
    }
    Ok(Exit::Success)
}

//! `ex2 plan`: every cached model the book needs, its key, and whether the
//! cache has it, without training anything.

use anyhow::Result;
use serde::Serialize;

use super::Exit;
use crate::app::backend::{BackendKind, BackendTask, dispatch};
use crate::app::cli::{BookArgs, PlanArgs, PlanFormat};
use crate::app::runner::{key_context, load_data};
use crate::chapters::book_models;
use crate::config::Config;
use crate::data::Mnist;
use crate::experiment::Ctx;
use crate::store::artifacts::ArtifactStore;

/// One line of the plan.
#[derive(Debug, Serialize)]
pub struct PlanEntry {
    pub name: String,
    pub key: String,
    pub cached: bool,
    /// For a model that is not cached: how it differs from the nearest
    /// cached model of its kind.
    pub why: Option<String>,
}

/// Why a model is not cached, in the words of what changed: the nearest
/// cached model of the same kind and the settings that differ from it.
fn why_not_cached(
    artifacts: &ArtifactStore,
    m: &crate::experiment::models::PlannedModel,
) -> String {
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

struct Plan<'a> {
    config: &'a Config,
    data: &'a Mnist,
    backend: BackendKind,
}

impl BackendTask for Plan<'_> {
    type Output = Vec<PlanEntry>;

    fn run<B: burn::tensor::backend::AutodiffBackend>(
        self,
        device: B::Device,
        _device_name: String,
    ) -> Result<Vec<PlanEntry>> {
        let artifacts = ArtifactStore::new(
            crate::store::Runs::of(self.config).cache_dir(),
            key_context(self.backend, self.data),
        );
        let ctx = Ctx::<B> {
            device,
            config: self.config,
            data: self.data,
            artifacts: &artifacts,
        };
        Ok(book_models(&ctx)?
            .into_iter()
            .map(|m| {
                let cached = artifacts.is_cached(&m.key);
                PlanEntry {
                    why: (!cached).then(|| why_not_cached(&artifacts, &m)),
                    cached,
                    name: m.name,
                    key: m.key,
                }
            })
            .collect())
    }
}

/// The plan of the book as configured (the first seed's models).
pub fn plan(book: &BookArgs, args: &PlanArgs) -> Result<Vec<PlanEntry>> {
    let config = super::load_config(book)?;
    let backend = args.backend.backend;
    crate::app::backend::ensure_compiled(backend)?;
    let data = load_data(&config, args.data.data_dir.as_deref())?;
    dispatch(
        backend,
        Plan {
            config: &config,
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
            for e in &entries {
                match &e.why {
                    None => println!("{:<30} {:<36} cached", e.name, e.key),
                    Some(why) => println!("{:<30} {:<36} to train ({why})", e.name, e.key),
                }
            }
            let missing = entries.iter().filter(|e| !e.cached).count();
            println!(
                "{} models, {} cached, {missing} to train",
                entries.len(),
                entries.len() - missing
            );
        }
    }
    Ok(Exit::Success)
}

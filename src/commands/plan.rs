//! `ex2 plan`: every cached model the book needs, its key, and whether the
//! cache has it, without training anything.

use anyhow::Result;
use serde::Serialize;

use crate::backend::{BackendTask, dispatch};
use crate::chapters::{Ctx, book_models};
use crate::cli::{GlobalArgs, PlanArgs, PlanFormat};
use crate::config::Config;
use crate::data::Mnist;
use crate::runner::{key_context, load_data};
use crate::store::artifacts::ArtifactStore;

/// One line of the plan.
#[derive(Debug, Serialize)]
pub struct PlanEntry {
    pub name: String,
    pub key: String,
    pub cached: bool,
}

struct Plan<'a> {
    config: &'a Config,
    data: &'a Mnist,
    global: &'a GlobalArgs,
}

impl BackendTask for Plan<'_> {
    type Output = Vec<PlanEntry>;

    fn run<B: burn::tensor::backend::AutodiffBackend>(
        self,
        device: B::Device,
        _device_name: String,
    ) -> Result<Vec<PlanEntry>> {
        let artifacts = ArtifactStore::new(
            self.config.runs_dir().join("cache"),
            key_context(self.global.backend, self.data),
        );
        let ctx = Ctx::<B> {
            device,
            config: self.config,
            data: self.data,
            artifacts: &artifacts,
        };
        Ok(book_models(&ctx)?
            .into_iter()
            .map(|m| PlanEntry {
                cached: artifacts.is_cached(&m.key),
                name: m.name,
                key: m.key,
            })
            .collect())
    }
}

/// The plan of the book as `global` configures it (the first seed's models).
pub fn plan(global: &GlobalArgs) -> Result<Vec<PlanEntry>> {
    let config = super::load_config(global)?;
    crate::backend::ensure_compiled(global.backend)?;
    let data = load_data(&config, global.data_dir.as_deref())?;
    dispatch(
        global.backend,
        Plan {
            config: &config,
            data: &data,
            global,
        },
    )
}

pub fn run(global: &GlobalArgs, args: &PlanArgs) -> Result<()> {
    let entries = plan(global)?;
    match args.format {
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&entries)?),
        PlanFormat::Text => {
            for e in &entries {
                let state = if e.cached { "cached" } else { "to train" };
                println!("{:<32} {:<30} {state}", e.name, e.key);
            }
            let missing = entries.iter().filter(|e| !e.cached).count();
            println!(
                "{} models, {} cached, {missing} to train",
                entries.len(),
                entries.len() - missing
            );
        }
    }
    Ok(())
}

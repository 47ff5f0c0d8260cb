//! `ex2 train <key>`: trains exactly one planned model into the store (the
//! plumbing a cluster job runs). Idempotent: a cached key does nothing. Safe
//! when processes on several hosts run it on one shared store at once: the
//! store claims the key (`store::claim`), so one trains and the others
//! wait for it and load its model.

use std::time::Instant;

use anyhow::{Result, bail};

use super::Exit;
use crate::app::backend::{BackendKind, BackendTask, dispatch};
use crate::app::cli::{BookArgs, TrainArgs};
use crate::app::commands::plan::{PlanInputs, dependencies, planned_models};
use crate::app::runner::load_data;
use crate::base::error::Ex2Error;
use crate::config::Config;
use crate::data::Dataset;

/// What a `train` call did.
#[derive(Debug, PartialEq, Eq)]
pub enum Trained {
    /// The store had it already.
    Cached,
    /// This process trained and stored it.
    Here,
    /// Another process was training it; this one waited and loaded it.
    Elsewhere,
}

struct Train<'a> {
    config: &'a Config,
    data: &'a Dataset,
    backend: BackendKind,
    /// A cache key or a plan name (`latent/d5`).
    model: &'a str,
}

impl BackendTask for Train<'_> {
    type Output = (String, String, Trained);

    fn run<B: burn::tensor::backend::AutodiffBackend>(
        self,
        device: B::Device,
        _device_name: String,
    ) -> Result<Self::Output> {
        let inputs = PlanInputs::new(self.config, self.data, self.backend);
        let ctxs = inputs.contexts::<B>(&device);
        let planned = planned_models(&ctxs)?;
        let artifacts = &inputs.artifacts;
        let keys: Vec<String> = planned.iter().map(|m| m.key.clone()).collect();
        let Some(index) = planned
            .iter()
            .position(|m| m.key == self.model || m.name == self.model)
        else {
            return Err(Ex2Error::Config {
                file: self.config.root.join("book.toml"),
                message: format!(
                    "no model of this book (profile `{}`) is `{}`; `ex2 plan` lists their keys and names",
                    self.config.profile_name, self.model
                ),
            }
            .into());
        };
        let missing: Vec<String> = dependencies(&planned[index], &keys)
            .into_iter()
            .filter(|k| !artifacts.is_cached(k))
            .map(|k| {
                let name = planned.iter().find(|m| m.key == k).map(|m| m.name.as_str());
                format!("{} ({k})", name.unwrap_or("?"))
            })
            .collect();
        let m = planned.into_iter().nth(index).expect("found above");
        if artifacts.is_cached(&m.key) {
            return Ok((m.name, m.key, Trained::Cached));
        }
        if !missing.is_empty() {
            bail!(
                "{} ({}) is built from models the store does not have yet: {}; train those first",
                m.name,
                m.key,
                missing.join(", ")
            );
        }
        (m.obtain)()?;
        if !artifacts.is_cached(&m.key) {
            bail!(
                "{} ({}) was obtained but the store has no entry under its key: the plan and the chapter disagree on its spec",
                m.name,
                m.key
            );
        }
        let stats = artifacts.stats();
        let here = stats.misses.contains(&m.key) || stats.result_misses.contains(&m.key);
        let trained = if here {
            Trained::Here
        } else {
            Trained::Elsewhere
        };
        Ok((m.name, m.key, trained))
    }
}

pub fn run(book: &BookArgs, args: &TrainArgs) -> Result<Exit> {
    let config = super::load_config(book)?;
    let backend = args.backend.backend;
    crate::app::backend::ensure_compiled(backend)?;
    let data = load_data(&config, args.data.data_dir.as_deref())?;
    // One training, one thread: its numbers are the same as in a build.
    crate::runtime::scheduler::configure(crate::runtime::scheduler::Budget::with_jobs(1));
    let started = Instant::now();
    let (name, key, trained) = dispatch(
        backend,
        Train {
            config: &config,
            data: &data,
            backend,
            model: &args.model,
        },
    )?;
    match trained {
        Trained::Cached => println!("{name} ({key}) is cached: nothing to train"),
        Trained::Here => println!(
            "{name} ({key}) trained and stored in {:.1} s",
            started.elapsed().as_secs_f64()
        ),
        Trained::Elsewhere => println!(
            "{name} ({key}) was being trained by another process; loaded it after {:.1} s",
            started.elapsed().as_secs_f64()
        ),
    }
    Ok(Exit::Success)
}

//! Content-addressed cache of trained models and of the heavy classic-ML
//! results (SVM and logistic fits, t-SNE embeddings): `runs/cache/<key>/`.
//!
//! The key hashes everything that changes a trained model: its kind and spec
//! (model, training config, seed, and the hash of the very examples it
//! trains on), the dataset checksums and test size, the backend and its
//! numeric kernels, the crate version and a hash of the
//! training code's source (see build.rs). An artifact is written
//! into a temporary directory and renamed into place, so a killed process
//! leaves either a whole artifact or none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::Backend;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::base::hash::sha256_hex;
use crate::store::claim::{Claim, Claimed};

/// The file of a computed (non-model) entry.
const RESULT: &str = "result.json";

/// Inputs common to every key of one run.
#[derive(Debug, Clone, Serialize)]
pub struct KeyContext {
    pub ex2_version: String,
    /// Hash of the training code's source (build.rs), so a change to a
    /// network or a training loop retrains instead of reusing stale models.
    pub training_code: String,
    pub backend: String,
    /// The backend's numeric kernels (gemm's AVX-512 and AVX2 kernels give
    /// results that differ in the last bits), as the manifest names them.
    pub kernels: String,
    pub dataset_checksums: BTreeMap<String, String>,
    /// Test images each training evaluates on (its history holds the test
    /// errors the chapters print). The training images are in each spec.
    pub test_size: usize,
}

/// Counts for the manifest: the models (what `ex2 plan` lists), and the
/// classic-ML results computed from them.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct CacheStats {
    pub hits: Vec<String>,
    pub misses: Vec<String>,
    #[serde(default)]
    pub result_hits: Vec<String>,
    #[serde(default)]
    pub result_misses: Vec<String>,
}

pub struct ArtifactStore {
    dir: PathBuf,
    context: KeyContext,
    stats: Mutex<CacheStats>,
    /// `--force`: ignore cached entries, retraining each model once.
    force: bool,
    trained: Mutex<std::collections::BTreeSet<String>>,
    /// One lock per key being loaded or trained: a second request for the
    /// same model (another chapter, running at the same time) waits for the
    /// first and then loads it, instead of training it twice.
    in_flight: Mutex<BTreeMap<String, Arc<Mutex<()>>>>,
    /// Set when another executor (Slurm jobs) trained the models: a model
    /// the cache lacks is an error, with its failed job's message if any.
    elsewhere: Option<BTreeMap<String, String>>,
}

/// The file whose presence marks a model entry as complete.
const MODEL: &str = "model.mpk";

/// What the cache holds for a key: its entry, or this process's claim to
/// make it.
enum Lookup<T> {
    Cached(T),
    Claimed { claim: Claim, replace: bool },
}

/// A computed result (not a model) from the store.
pub struct Computed<R> {
    pub value: R,
    pub key: String,
    pub cached: bool,
}

/// A model from the store and how it was trained.
pub struct Artifact<M, H> {
    pub model: M,
    pub history: H,
    pub key: String,
    pub cached: bool,
}

impl ArtifactStore {
    pub fn new(dir: PathBuf, context: KeyContext) -> Self {
        Self {
            dir,
            context,
            stats: Mutex::default(),
            force: false,
            trained: Mutex::default(),
            in_flight: Mutex::default(),
            elsewhere: None,
        }
    }

    /// The models were trained elsewhere (cluster jobs): a model the cache
    /// lacks fails its chapter with `failed[key]` (the job's error) instead
    /// of training here.
    pub fn trained_elsewhere(mut self, failed: BTreeMap<String, String>) -> Self {
        self.elsewhere = Some(failed);
        self
    }

    /// With `force`, every model is retrained (once per process) even when
    /// the cache has it; the new artifact replaces the old.
    pub fn retraining(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    pub fn stats(&self) -> CacheStats {
        self.stats.lock().expect("stats lock").clone()
    }

    /// The cache key of a model of `kind` trained as `spec` says.
    pub fn key(&self, kind: &str, spec: &impl Serialize) -> String {
        #[derive(Serialize)]
        struct Keyed<'a, S> {
            kind: &'a str,
            spec: &'a S,
            context: &'a KeyContext,
        }
        let json = serde_json::to_vec(&Keyed {
            kind,
            spec,
            context: &self.context,
        })
        .expect("specs serialise");
        format!("{kind}-{}", &sha256_hex(&json)[..16])
    }

    /// The spec and context a key hashes, as the cache's `spec.json`
    /// records them: what `nearest` compares.
    pub fn described(&self, spec: &impl Serialize) -> serde_json::Value {
        serde_json::json!({ "spec": spec, "context": &self.context })
    }

    /// The cached model of `kind` whose spec and context differ least from
    /// `described`, and the settings that differ (`spec.training.epochs: 2
    /// → 3`). `None` when the cache has no model of that kind.
    pub fn nearest(
        &self,
        kind: &str,
        described: &serde_json::Value,
    ) -> Option<(String, Vec<String>)> {
        let mut want = BTreeMap::new();
        crate::config::flatten_settings(described, "", &mut want);
        let mut best: Option<(String, Vec<String>)> = None;
        for entry in std::fs::read_dir(&self.dir).ok()?.flatten() {
            let key = entry.file_name().to_string_lossy().into_owned();
            // `<kind>-<16 hex digits>`: the prefix alone would also match
            // `classifier-decoder-…` for `classifier`.
            let Some(hash) = key.strip_prefix(kind).and_then(|r| r.strip_prefix('-')) else {
                continue;
            };
            if hash.len() != 16 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
                continue;
            }
            let Ok(bytes) = std::fs::read(entry.path().join("spec.json")) else {
                continue;
            };
            let Ok(stored) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                continue;
            };
            let mut have = BTreeMap::new();
            crate::config::flatten_settings(
                &serde_json::json!({ "spec": stored["spec"], "context": stored["context"] }),
                "",
                &mut have,
            );
            let show =
                |v: Option<&serde_json::Value>| v.map_or("absent".to_string(), |v| v.to_string());
            let differences: Vec<String> = have
                .keys()
                .chain(want.keys())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter(|k| have.get(*k) != want.get(*k))
                .map(|k| {
                    format!(
                        "{}: {} → {}",
                        k.trim_start_matches('.'),
                        show(have.get(k)),
                        show(want.get(k))
                    )
                })
                .collect();
            if best
                .as_ref()
                .is_none_or(|(_, d)| differences.len() < d.len())
            {
                best = Some((key, differences));
            }
        }
        best
    }

    /// Whether the cache holds a model under `key`.
    pub fn is_cached(&self, key: &str) -> bool {
        let dir = self.path(key);
        dir.join("model.mpk").is_file() || dir.join(RESULT).is_file()
    }

    /// The result of `kind`/`spec` if cached, else `compute`s and stores it
    /// (`result.json` beside `spec.json`). Like a model, single-flight per
    /// key, and recomputed once under `--force`.
    pub fn load_or_compute<R, S>(
        &self,
        kind: &str,
        spec: &S,
        compute: impl FnOnce() -> Result<R>,
    ) -> Result<Computed<R>>
    where
        R: Serialize + DeserializeOwned,
        S: Serialize,
    {
        let key = self.key(kind, spec);
        let flight = self
            .in_flight
            .lock()
            .expect("in-flight lock")
            .entry(key.clone())
            .or_default()
            .clone();
        let waiting = std::time::Instant::now();
        let _one_at_a_time = flight.lock().unwrap_or_else(|e| e.into_inner());
        crate::runtime::timing::record(crate::runtime::timing::Phase::Waiting, waiting.elapsed());
        let dir = self.path(&key);
        let skip_cache = self.force && !self.trained.lock().expect("trained lock").contains(&key);
        let read = || {
            std::fs::read(dir.join(RESULT))
                .map_err(anyhow::Error::from)
                .and_then(|b| Ok(serde_json::from_slice::<R>(&b)?))
        };
        let (_claim, replace) = match self.cached_or_claimed(&key, RESULT, !skip_cache, read)? {
            Lookup::Cached(value) => {
                self.stats
                    .lock()
                    .expect("stats lock")
                    .result_hits
                    .push(key.clone());
                return Ok(Computed {
                    value,
                    key,
                    cached: true,
                });
            }
            Lookup::Claimed { claim, replace } => (claim, replace),
        };
        // A cluster job that was to compute it failed: its error, not a
        // silent recomputation here.
        if let Some(message) = self.elsewhere.as_ref().and_then(|failed| failed.get(&key)) {
            anyhow::bail!("{message}");
        }
        let value = compute()?;
        let spec_json = serde_json::to_vec_pretty(&serde_json::json!({
            "key": key,
            "spec": spec,
            "context": &self.context,
        }))?;
        self.store(
            &key,
            replace,
            &[
                (RESULT, serde_json::to_vec_pretty(&value)?),
                ("spec.json", spec_json),
            ],
        )?;
        self.trained
            .lock()
            .expect("trained lock")
            .insert(key.clone());
        self.stats
            .lock()
            .expect("stats lock")
            .result_misses
            .push(key.clone());
        Ok(Computed {
            value,
            key,
            cached: false,
        })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(key)
    }

    /// `key`'s entry read by `read` if the cache has a readable one (marked
    /// by its file `marker`; `use_cache` false under `--force`), else the
    /// key's claim to make it, taken after waiting for any other process
    /// that holds it and checking once more under the claim. `replace`:
    /// an existing entry (unreadable, or forced) is to be replaced.
    fn cached_or_claimed<T>(
        &self,
        key: &str,
        marker: &str,
        mut use_cache: bool,
        mut read: impl FnMut() -> Result<T>,
    ) -> Result<Lookup<T>> {
        let dir = self.path(key);
        let mut claim = None;
        loop {
            if use_cache && dir.join(marker).is_file() {
                match read() {
                    Ok(value) => return Ok(Lookup::Cached(value)),
                    Err(e) => {
                        eprintln!(
                            "cache entry {} is unreadable ({e:#}); making it again",
                            dir.display()
                        );
                        use_cache = false;
                    }
                }
            }
            if let Some(claim) = claim {
                return Ok(Lookup::Claimed {
                    claim,
                    replace: !use_cache,
                });
            }
            // Another process (a second build, a cluster job) may be making
            // it: wait for it, outside any training slot.
            match Claim::acquire(&self.dir, key, || use_cache && dir.join(marker).is_file())? {
                Claimed::Held(c) => claim = Some(c),
                Claimed::Done => {}
            }
        }
    }

    /// Loads the model of `kind`/`spec` if cached, else trains it in a
    /// training slot (see `scheduler`) and stores it. `init` builds an
    /// untrained model of the right shape to load into.
    pub fn load_or_train<B, M, H, S>(
        &self,
        kind: &str,
        spec: &S,
        device: &B::Device,
        init: impl FnOnce() -> M,
        train: impl FnOnce() -> Result<(M, H)> + Send,
    ) -> Result<Artifact<M, H>>
    where
        B: Backend,
        M: Module<B>,
        H: Serialize + DeserializeOwned + Send,
        S: Serialize,
    {
        let key = self.key(kind, spec);
        let flight = self
            .in_flight
            .lock()
            .expect("in-flight lock")
            .entry(key.clone())
            .or_default()
            .clone();
        // Waiting here means another chapter is training this model.
        let waiting = std::time::Instant::now();
        let _one_at_a_time = flight.lock().unwrap_or_else(|e| e.into_inner());
        crate::runtime::timing::record(crate::runtime::timing::Phase::Waiting, waiting.elapsed());
        let dir = self.path(&key);
        let skip_cache = self.force && !self.trained.lock().expect("trained lock").contains(&key);
        let mut init = Some(init);
        let load = || {
            // An untrained model's parameters are lazy: building and loading
            // it may draw from the backend's global generator, which a model
            // being seeded in another thread is using. Hold the init lock so
            // a cache hit never shifts another model's initial weights.
            let _guard = crate::nn::init::init_lock();
            let untrained = init.take().expect("loaded at most once")();
            load::<B, M, H>(&dir, untrained, device)
        };
        let (_claim, replace) = match self.cached_or_claimed(&key, MODEL, !skip_cache, load)? {
            Lookup::Cached((model, history)) => {
                self.stats
                    .lock()
                    .expect("stats lock")
                    .hits
                    .push(key.clone());
                return Ok(Artifact {
                    model,
                    history,
                    key,
                    cached: true,
                });
            }
            Lookup::Claimed { claim, replace } => (claim, replace),
        };
        if let Some(failed) = &self.elsewhere {
            anyhow::bail!(
                "{}",
                failed.get(&key).cloned().unwrap_or_else(|| format!(
                    "model {key} is not in the store, and this build trains nothing itself \
                     (its models were trained by cluster jobs)"
                ))
            );
        }
        let (model, history) = crate::runtime::scheduler::in_training_slot(train)?;
        let model = self.save(&key, replace, spec, model, &history)?;
        self.trained
            .lock()
            .expect("trained lock")
            .insert(key.clone());
        self.stats
            .lock()
            .expect("stats lock")
            .misses
            .push(key.clone());
        Ok(Artifact {
            model,
            history,
            key,
            cached: false,
        })
    }

    fn save<B: Backend, M: Module<B>, H: Serialize, S: Serialize>(
        &self,
        key: &str,
        replace: bool,
        spec: &S,
        model: M,
        history: &H,
    ) -> Result<M> {
        let record = model.clone().into_record();
        let bytes = NamedMpkBytesRecorder::<FullPrecisionSettings>::new()
            .record(record, ())
            .map_err(|e| anyhow::anyhow!("serialising model {key}: {e}"))?;
        let spec_json = serde_json::to_vec_pretty(&serde_json::json!({
            "key": key,
            "spec": spec,
            "context": &self.context,
            "model_sha256": sha256_hex(&bytes),
        }))?;
        let history_json = serde_json::to_vec_pretty(history)?;
        self.store(
            key,
            replace,
            &[
                ("model.mpk", bytes),
                ("spec.json", spec_json),
                ("history.json", history_json),
            ],
        )?;
        Ok(model)
    }

    /// Writes an entry's files into a temporary directory and renames it
    /// into place, so a killed process leaves a whole entry or none. The
    /// first file is the one whose presence marks the entry as there.
    /// `replace` (under `--force`, or for an unreadable entry) moves an
    /// existing entry aside instead of keeping it.
    fn store(&self, key: &str, replace: bool, files: &[(&str, Vec<u8>)]) -> Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".tmp-{key}-"))
            .tempdir_in(&self.dir)?;
        for (name, bytes) in files {
            std::fs::write(tmp.path().join(name), bytes)?;
        }
        let complete = files[0].0;
        let dst = self.path(key);
        let tmp = tmp.keep();
        if replace && dst.exists() {
            // Replacing on purpose: move the old entry aside first.
            let old = self.dir.join(format!(".old-{key}-{}", std::process::id()));
            std::fs::rename(&dst, &old).with_context(|| format!("replacing {}", dst.display()))?;
            let _ = std::fs::remove_dir_all(&old);
        }
        if let Err(e) = std::fs::rename(&tmp, &dst) {
            let _ = std::fs::remove_dir_all(&tmp);
            // Another process stored the same artifact first: theirs is as good.
            if !dst.join(complete).is_file() {
                return Err(e).with_context(|| format!("storing {}", dst.display()));
            }
        }
        Ok(())
    }
}

fn load<B: Backend, M: Module<B>, H: DeserializeOwned>(
    dir: &Path,
    empty: M,
    device: &B::Device,
) -> Result<(M, H)> {
    let bytes = std::fs::read(dir.join("model.mpk"))?;
    let spec: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("spec.json"))?)?;
    anyhow::ensure!(
        spec["model_sha256"] == sha256_hex(&bytes).as_str(),
        "model.mpk does not match its recorded checksum"
    );
    let record = NamedMpkBytesRecorder::<FullPrecisionSettings>::new()
        .load(bytes, device)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let history = serde_json::from_slice(&std::fs::read(dir.join("history.json"))?)?;
    Ok((empty.load_record(record), history))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> ArtifactStore {
        ArtifactStore::new(
            dir.to_path_buf(),
            KeyContext {
                ex2_version: "0".into(),
                training_code: "t".into(),
                backend: "cpu".into(),
                kernels: "k".into(),
                dataset_checksums: BTreeMap::new(),
                test_size: 1,
            },
        )
    }

    #[test]
    fn a_result_is_computed_once_then_loaded_and_forced_once() {
        let dir = tempfile::tempdir().unwrap();
        let calls = std::cell::Cell::new(0);
        let compute = || {
            calls.set(calls.get() + 1);
            Ok(vec![0.25f64, 1.0 / 3.0])
        };
        let first = store(dir.path())
            .load_or_compute("tsne", &"spec", compute)
            .unwrap();
        assert!(!first.cached);
        assert!(store(dir.path()).is_cached(&first.key));
        let again = store(dir.path());
        let second = again.load_or_compute("tsne", &"spec", compute).unwrap();
        assert!(second.cached);
        assert_eq!(second.value, first.value, "floats round-trip exactly");
        assert_eq!(calls.get(), 1);
        assert_eq!(again.stats().result_hits, vec![first.key.clone()]);
        assert!(again.stats().hits.is_empty(), "results are not models");
        let forced = store(dir.path()).retraining(true);
        assert!(
            !forced
                .load_or_compute("tsne", &"spec", compute)
                .unwrap()
                .cached
        );
        assert!(
            forced
                .load_or_compute("tsne", &"spec", compute)
                .unwrap()
                .cached
        );
        assert_eq!(calls.get(), 2, "--force recomputes once per process");
        let other = store(dir.path()).load_or_compute("tsne", &"other", compute);
        assert!(!other.unwrap().cached, "another spec is another entry");
    }
}

//! Runs a book: data → chapters (on the chosen backend) → run store →
//! rendered PDF. `build-report` runs every chapter; `chapter` runs some and
//! takes the others from the latest run that has them.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};

use crate::app::backend::{BackendKind, BackendTask, dispatch};
use crate::base::atomic::write_atomic;
use crate::base::error::Ex2Error;
use crate::book::ChapterId;
use crate::chapters::{run_chapter, seeds};
use crate::config::Config;
use crate::data::{self, Dataset};
use crate::experiment::Ctx;
use crate::report::{self, ChapterContent, ChapterView};
use crate::store::artifacts::{ArtifactStore, CacheStats, KeyContext};
use crate::store::manifest::{self, ChapterRecord, DatasetRecord, Manifest};
use crate::store::{Run, Runs, StoredChapter};

pub struct BuildOptions {
    /// Chapters to compute in this run; the rest of the book is reused.
    pub run_chapters: Vec<ChapterId>,
    pub backend: BackendKind,
    pub data_dir: Option<PathBuf>,
    pub out: PathBuf,
    pub command_line: Vec<String>,
    /// How long to wait for another ex2 process using the same runs directory.
    pub lock_wait: std::time::Duration,
    /// Retrain the models the computed chapters use, once each, instead of
    /// loading them from the cache.
    pub force: bool,
    /// How many trainings run at once (`scheduler::Budget`).
    pub budget: crate::runtime::scheduler::Budget,
    /// Set when cluster jobs trained the models: this build trains none, and
    /// a missing model fails its chapters with its job's error (by key).
    pub trained_elsewhere: Option<std::collections::BTreeMap<String, String>>,
}

pub struct BuildSummary {
    pub run: Run,
    pub pdf: PathBuf,
    pub failed: Vec<(ChapterId, String)>,
}

/// Where the profile's dataset lives: `--data-dir`, else its entry's `dir`
/// (relative to the book), else `<build.data-dir>/<name>`.
pub fn dataset_dir(config: &Config, data_dir: Option<&Path>) -> PathBuf {
    if let Some(d) = data_dir {
        return d.to_path_buf();
    }
    match &config.dataset().dir {
        Some(d) => config.resolve(d),
        None => config
            .resolve(&config.book.build.data_dir)
            .join(&config.profile.dataset),
    }
}

/// Loads the profile's dataset (fetching it when files are absent and its
/// entry says where from) and cuts it to the profile's sizes.
pub fn load_data(config: &Config, data_dir: Option<&Path>) -> Result<Dataset> {
    let dir = dataset_dir(config, data_dir);
    let name = config.profile.dataset.as_str();
    let entry = config.dataset();
    if entry.has_sources() && !data::missing_files(&dir, entry).is_empty() {
        eprintln!(
            "dataset `{name}` ({}) is not in {}; fetching it",
            entry.title,
            dir.display()
        );
        data::fetch::fetch(name, entry, &dir)?;
    }
    let full = data::load(name, entry, &dir)?;
    let p = &config.profile;
    let name = &config.profile_name;
    for (key, want, have) in [
        ("train-size", p.train_size, full.train.len()),
        ("test-size", p.test_size, full.test.len()),
    ] {
        if want > have {
            return Err(Ex2Error::Config {
                file: config.root.join("book.toml"),
                message: format!(
                    "profile.{name}.{key} = {want}, but {} has only {have} images",
                    dir.display()
                ),
            }
            .into());
        }
    }
    Ok(full.cut(p.train_size, p.test_size))
}

/// What every cache key of a build on `backend` with `data` shares.
pub fn key_context(backend: BackendKind, data: &Dataset) -> KeyContext {
    KeyContext {
        ex2_version: env!("CARGO_PKG_VERSION").into(),
        training_code: env!("EX2_TRAINING_CODE").into(),
        backend: backend.as_str().into(),
        kernels: backend.kernels().into(),
        dataset_checksums: data.checksums.clone(),
        test_size: data.test.len(),
    }
}

struct BookTask<'a> {
    config: &'a Config,
    runs: &'a Runs,
    data: &'a Dataset,
    run: &'a Run,
    run_chapters: &'a [ChapterId],
    backend: BackendKind,
    force: bool,
    trained_elsewhere: Option<&'a std::collections::BTreeMap<String, String>>,
}

struct Computed {
    cache: CacheStats,
    device: String,
    records: Vec<ChapterRecord>,
    views: Vec<ChapterView>,
}

impl BackendTask for BookTask<'_> {
    type Output = Computed;

    fn run<B: burn::tensor::backend::AutodiffBackend>(
        self,
        device: B::Device,
        device_name: String,
    ) -> Result<Computed> {
        let mut artifacts =
            ArtifactStore::new(self.runs.cache_dir(), key_context(self.backend, self.data))
                .retraining(self.force);
        if let Some(failed) = self.trained_elsewhere {
            artifacts = artifacts.trained_elsewhere(failed.clone());
        }
        let ctx = Ctx::<B> {
            device,
            config: self.config,
            data: self.data,
            artifacts: &artifacts,
        };
        // Chapters run side by side (see `scheduler`); each one's trainings
        // take training slots, and a model two chapters need is trained once.
        let chapter_jobs: Vec<crate::runtime::scheduler::Job<(ChapterContent, ChapterRecord)>> =
            self.config
                .book
                .book
                .chapters
                .iter()
                .map(|&id| {
                    let ctx = &ctx;
                    let task = &self;
                    Box::new(move || task.chapter(id, ctx)) as crate::runtime::scheduler::Job<_>
                })
                .collect();
        let mut records = Vec::new();
        let mut views = Vec::new();
        for (&id, done) in self
            .config
            .book
            .book
            .chapters
            .iter()
            .zip(crate::runtime::scheduler::parallel_results(chapter_jobs))
        {
            let (content, record) = done?;
            records.push(record);
            views.push(ChapterView { id, content });
        }
        Ok(Computed {
            device: device_name,
            records,
            views,
            cache: artifacts.stats(),
        })
    }
}

impl BookTask<'_> {
    /// Whether chapter `id` can be taken from an earlier run: the newest
    /// complete run that stored it with every input it recorded still
    /// holding; otherwise the reason it must run, from the newest run that
    /// has it (what a user changed last).
    fn decide(&self, id: ChapterId, inputs: &Inputs) -> Result<Decision> {
        if self.run_chapters.contains(&id) {
            return Ok(Decision::Run("asked for".into()));
        }
        let mut why_not_newest = None;
        for found in self.runs.stored_versions(id, &self.run.id)? {
            // An earlier run that cannot be read is not a reason to stop
            // this build: the chapter is computed instead, and it says why.
            let found = match found {
                Ok(found) => found,
                Err(e) => {
                    eprintln!("{id}: not reusing an earlier run: {e:#}");
                    why_not_newest.get_or_insert(format!("an earlier run is unreadable: {e:#}"));
                    continue;
                }
            };
            let why_not = match &found.record {
                None => Some(format!("run {} records no inputs for it", found.run)),
                Some(record) if record.inputs.is_empty() => {
                    Some(format!("run {} predates recorded inputs", found.run))
                }
                Some(record) => {
                    let changed = changed_inputs(&record.inputs, inputs);
                    (!changed.is_empty())
                        .then(|| format!("{} changed since run {}", changed.join(", "), found.run))
                }
            };
            match why_not {
                Some(why) => {
                    why_not_newest.get_or_insert(why);
                }
                None => {
                    let record = found.record.expect("inputs were compared");
                    return Ok(Decision::Reuse(Reuse {
                        // The run that computed it, through earlier reuses.
                        computed_in: record.reused_from.unwrap_or_else(|| found.run.clone()),
                        from: found.run,
                        stored: found.stored,
                        seeds: record.seeds,
                    }));
                }
            }
        }
        Ok(Decision::Run(why_not_newest.unwrap_or_else(|| {
            "no earlier complete run has it".into()
        })))
    }

    /// Runs (or reuses) one chapter; a chapter's own failure is its
    /// record's, only a storage error is the build's.
    fn chapter<B: burn::tensor::backend::AutodiffBackend>(
        &self,
        id: ChapterId,
        ctx: &Ctx<B>,
    ) -> Result<(ChapterContent, ChapterRecord)> {
        let inputs = chapter_inputs(self.config, self.data, self.backend, id);
        let config_hash = crate::base::hash::sha256_hex(
            serde_json::to_string(&inputs)
                .expect("inputs serialise")
                .as_bytes(),
        )[..16]
            .to_string();
        let started = Instant::now();
        let record = |status: &str| ChapterRecord {
            id: id.as_str().into(),
            status: status.into(),
            error: None,
            wall_seconds: 0.0,
            phases: None,
            seeds: Default::default(),
            reused_from: None,
            config_hash: config_hash.clone(),
            inputs: inputs.clone(),
        };
        let (content, record) = match self.decide(id, &inputs)? {
            Decision::Reuse(reuse) => {
                eprintln!(
                    "{id}: reused from run {} (computed in {}; same settings, data, backend and ex2 build)",
                    reuse.from, reuse.computed_in
                );
                self.run.copy_chapter(&self.runs.run(&reuse.from), id)?;
                let record = ChapterRecord {
                    reused_from: Some(reuse.computed_in),
                    // The seeds its results were computed with.
                    seeds: reuse.seeds,
                    ..record("reused")
                };
                (ChapterContent::Done(reuse.stored), record)
            }
            Decision::Run(why) => {
                if self.run_chapters.len() == self.config.book.book.chapters.len() {
                    eprintln!("{id}: running");
                } else {
                    eprintln!("{id}: running ({why})");
                }
                let (result, phases) = crate::runtime::timing::chapter(|| run_seeds(id, ctx));
                match result {
                    Ok(output) => {
                        let stored = self.run.store_chapter(id, &output)?;
                        let secs = started.elapsed().as_secs_f64();
                        eprintln!("{id}: done in {secs:.1} s");
                        let record = ChapterRecord {
                            wall_seconds: secs,
                            phases: Some(phases),
                            seeds: output.seeds.clone(),
                            ..record("ok")
                        };
                        (ChapterContent::Done(stored), record)
                    }
                    Err(e) => {
                        let message = format!("{e:#}");
                        eprintln!("{id}: FAILED: {message}");
                        let record = ChapterRecord {
                            error: Some(message.clone()),
                            wall_seconds: started.elapsed().as_secs_f64(),
                            phases: Some(phases),
                            ..record("failed")
                        };
                        (ChapterContent::Failed(message), record)
                    }
                }
            }
        };
        Ok((content, record))
    }
}

/// What a build does with one chapter.
enum Decision {
    Reuse(Reuse),
    /// Compute it, for this reason.
    Run(String),
}

/// An earlier run's results that stand for a chapter.
struct Reuse {
    /// The run they are copied from.
    from: String,
    /// The run that computed them (`from`, or the run `from` reused).
    computed_in: String,
    stored: StoredChapter,
    /// The seeds the chapter's experiments were computed with.
    seeds: std::collections::BTreeMap<String, u64>,
}

/// What a chapter's results depend on, `name → value`.
pub type Inputs = std::collections::BTreeMap<String, serde_json::Value>;

/// Everything chapter `id`'s results depend on: the settings of its
/// sections (`ChapterId::sections`), the profile and the base seed, the
/// data, the backend and its kernels, and the ex2 build (version and a
/// hash of its source). Two runs with equal inputs compute the same
/// chapter.
pub fn chapter_inputs(
    config: &Config,
    data: &Dataset,
    backend: BackendKind,
    id: ChapterId,
) -> Inputs {
    let mut inputs = Inputs::new();
    let chapter = serde_json::to_value(&config.book.chapter).expect("config serialises");
    for section in crate::chapters::sections(id) {
        crate::config::flatten_settings(
            &chapter[section],
            &format!("chapter.{section}"),
            &mut inputs,
        );
    }
    let profile = serde_json::to_value(&config.profile).expect("config serialises");
    crate::config::flatten_settings(&profile, "profile", &mut inputs);
    inputs.insert("build.seed".into(), config.book.build.seed.into());
    for (file, sum) in &data.checksums {
        inputs.insert(format!("data {file}"), sum.clone().into());
    }
    // The entry's class names, words and published figures reach the
    // chapter's facts and text.
    let entry = serde_json::to_value(&data.entry).expect("entries serialise");
    crate::config::flatten_settings(&entry, &format!("dataset.{}", data.name), &mut inputs);
    inputs.insert("backend".into(), backend.as_str().into());
    inputs.insert("backend kernels".into(), backend.kernels().into());
    inputs.insert("ex2 version".into(), env!("CARGO_PKG_VERSION").into());
    inputs.insert("ex2 source".into(), env!("EX2_SOURCE").into());
    inputs
}

/// The names of the inputs that differ between `old` and `new`, in the
/// words a user knows them by (`chapter.latent.dims`, `profile.epochs`).
pub fn changed_inputs(old: &Inputs, new: &Inputs) -> Vec<String> {
    old.keys()
        .chain(new.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .cloned()
        .collect()
}

/// Runs a chapter once per seed of the profile (`--seeds`) and folds the
/// outputs into means and deviations (see `chapters::seeds`).
fn run_seeds<B: burn::tensor::backend::AutodiffBackend>(
    id: ChapterId,
    ctx: &Ctx<B>,
) -> Result<crate::book::ChapterOutput> {
    let n = ctx.config.profile.seeds.max(1);
    let mut outputs = vec![run_chapter(id, ctx)?];
    for i in 1..n {
        let config = seeds::repetition_config(ctx.config, i);
        eprintln!(
            "{id}: seed {} of {n} (base seed {})",
            i + 1,
            config.book.build.seed
        );
        let repeat = Ctx::<B> {
            device: ctx.device.clone(),
            config: &config,
            data: ctx.data,
            artifacts: ctx.artifacts,
        };
        outputs.push(run_chapter(id, &repeat)?);
    }
    seeds::aggregate(outputs)
}

pub fn build(config: &Config, opts: &BuildOptions) -> Result<BuildSummary> {
    let started = chrono::Utc::now();
    crate::app::backend::ensure_compiled(opts.backend)?;
    let sources = report::BookSources::load(config)?;
    let data = load_data(config, opts.data_dir.as_deref())?;
    eprintln!(
        "profile `{}`: {} training and {} test images from {}",
        config.profile_name,
        data.train.len(),
        data.test.len(),
        data.dir.display()
    );
    let runs = Runs::of(config);
    // The store's lock is held while a run directory is created and while
    // the finished run is written, not while models train: processes that
    // share the cache (another build, cluster jobs) train each model once
    // through its per-key claim (`store::claim`), not one after another.
    let run = {
        let _lock = runs.lock(opts.lock_wait)?;
        runs.create(&format!(
            "{}-{}",
            config.profile_name, config.profile.dataset
        ))?
    };
    crate::runtime::scheduler::configure(opts.budget);
    eprintln!(
        "up to {} trainings at a time, {} thread(s) each",
        opts.budget.jobs, opts.budget.threads_per_job
    );
    eprintln!("run {} in {}", run.id, run.dir.display());

    let computed = dispatch(
        opts.backend,
        BookTask {
            config,
            runs: &runs,
            data: &data,
            run: &run,
            run_chapters: &opts.run_chapters,
            backend: opts.backend,
            force: opts.force,
            trained_elsewhere: opts.trained_elsewhere.as_ref(),
        },
    )?;

    let mut manifest = Manifest {
        run_id: run.id.clone(),
        ex2_version: env!("CARGO_PKG_VERSION").into(),
        git_commit: manifest::git_commit(&config.root),
        command_line: opts.command_line.clone(),
        backend: opts.backend.as_str().into(),
        device: computed.device.clone(),
        profile: config.profile_name.clone(),
        profile_config: config.profile.clone(),
        seed: config.book.build.seed,
        dataset: DatasetRecord {
            name: data.name.clone(),
            title: data.entry.title.clone(),
            dir: data.dir.display().to_string(),
            train_images: data.train.len(),
            test_images: data.test.len(),
            checksums: data.checksums.clone(),
        },
        host: manifest::host(),
        started: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        finished: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        chapters: computed.records.clone(),
        overrides: config.overrides.clone(),
        model_cache: computed.cache.clone(),
        scheduler: Some(opts.budget),
        render_seconds: None,
    };

    // Render before the manifest lands: a run whose book cannot be built
    // does not count as complete. The rendering time (templates, Typst,
    // PDF) goes to the manifest only: a book cannot state its own.
    let rendering = Instant::now();
    let source = report::render_book(config, &sources, &computed.views, &manifest)?;
    let mut files = vec![("references.yml".to_string(), sources.references.clone())];
    for &id in &config.book.book.chapters {
        for (name, bytes) in run.figures(id)? {
            files.push((format!("figures/{id}/{name}"), bytes));
        }
    }
    let pdf = report::typst::compile_pdf(&source, files)?;
    manifest.render_seconds = Some(rendering.elapsed().as_secs_f64());
    let _lock = runs.lock(opts.lock_wait)?;
    run.write_book(&source, &pdf)?;
    write_atomic(&opts.out, &pdf)?;
    run.write_manifest(&manifest)?;
    for id in &config.book.book.chapters {
        run.publish_figures(*id, &config.figures_dir())?;
    }

    let failed: Vec<_> = computed
        .views
        .iter()
        .filter_map(|v| match &v.content {
            ChapterContent::Failed(e) => Some((v.id, e.clone())),
            ChapterContent::Done(_) => None,
        })
        .collect();
    if failed.is_empty() && computed.views.is_empty() {
        bail!("the book has no chapters");
    }
    Ok(BuildSummary {
        run,
        pdf: opts.out.clone(),
        failed,
    })
}

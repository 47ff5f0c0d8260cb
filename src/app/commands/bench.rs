//! `ex2 bench`: training and inference throughput of the book's models on
//! the selected backend, measured the way the book trains them (the same
//! loops, batch size and data), repeated, reported as medians. Not a test:
//! timings on a shared machine are noisy, so they live here.

use std::time::Instant;

use anyhow::{Context, Result};
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;

use crate::app::backend::{BackendTask, dispatch};
use crate::app::cli::{BenchArgs, GlobalArgs};
use crate::app::runner::{complete_runs, load_data};
use crate::base::atomic::write_atomic;
use crate::config::Config;
use crate::data::{Mnist, Split};
use crate::nn::autoencoder::{Autoencoder, evaluate};
use crate::nn::classify::{ClassifierTrainingConfig, train_classifier};
use crate::nn::init::seeded_init;
use crate::nn::lowered_conv::{self, ConvStrategy};
use crate::nn::mlp_ae::MlpAutoencoderConfig;
use crate::nn::train::{ReconstructionTrainingConfig, train_reconstruction};
use crate::runtime::scheduler::{self, Budget};
use crate::store::Manifest;
use crate::store::manifest::ChapterRecord;

/// One measured quantity over the repeats.
struct Measurement {
    name: String,
    unit: &'static str,
    values: Vec<f64>,
}

impl Measurement {
    fn sorted(&self) -> Vec<f64> {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        v
    }
    fn median(&self) -> f64 {
        let v = self.sorted();
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    }
}

struct Bench<'a> {
    config: &'a Config,
    data: &'a Mnist,
    args: &'a BenchArgs,
}

/// Seconds one epoch of `train_reconstruction` takes for `model`.
fn reconstruction_seconds<B, M>(
    model: M,
    train: &Split,
    test: &Split,
    config: &ReconstructionTrainingConfig,
    device: &B::Device,
) -> Result<f64>
where
    B: AutodiffBackend,
    M: AutodiffModule<B> + Autoencoder<B>,
    M::InnerModule: Autoencoder<B::InnerBackend>,
{
    let (_, h) = train_reconstruction("bench", model, &train.images, &test.images, config, device)?;
    Ok(h[0].train_seconds)
}

/// Images/s of `train` (which returns the seconds its training took).
fn repeat(n: usize, images: usize, mut train: impl FnMut(u64) -> Result<f64>) -> Result<Vec<f64>> {
    // One unmeasured round first: allocator and thread-pool warm-up.
    train(0)?;
    (1..=n as u64)
        .map(|seed| train(seed).map(|s| images as f64 / s))
        .collect()
}

impl BackendTask for Bench<'_> {
    type Output = (String, Vec<Measurement>);

    fn run<B: AutodiffBackend>(
        self,
        device: B::Device,
        device_name: String,
    ) -> Result<Self::Output> {
        let profile = &self.config.profile;
        let c = &self.config.book.chapter;
        let batch = profile.batch_size;
        let n_images = (self.args.batches * batch).min(self.data.train.len());
        let train: Split = self.data.train.truncated(n_images);
        let tiny_test = self.data.test.truncated(batch);
        let repeats = self.args.repeats;
        let mut out = Vec::new();

        let ae_config = crate::experiment::models::conv_ae_config(c);
        let training = |seed| ReconstructionTrainingConfig::new(1, batch, 1e-3, seed);
        // Every training runs in a training slot, as in the book; one job
        // alone gets all the cores.
        let cores = scheduler::cores();
        scheduler::configure(Budget::with_jobs(1));
        let conv_run = |seed: u64| -> Result<f64> {
            scheduler::in_training_slot(|| {
                let model = seeded_init::<B, _>(&device, seed, || ae_config.init::<B>(&device));
                reconstruction_seconds(model, &train, &tiny_test, &training(seed), &device)
            })
        };
        eprintln!("bench: conv AE training, {n_images} images × {repeats}");
        out.push(Measurement {
            name: format!("conv AE training (batch {batch})"),
            unit: "images/s",
            values: repeat(repeats, n_images, conv_run)?,
        });

        // The same training under the strategy this backend does not use
        // (on the CPU: burn's own convolution kernels), so the choice in
        // `BackendKind::conv_strategy` stays a measured one.
        let chosen = lowered_conv::strategy();
        let other = match chosen {
            ConvStrategy::Lowered => ConvStrategy::Native,
            ConvStrategy::Native => ConvStrategy::Lowered,
        };
        lowered_conv::set_strategy(other);
        eprintln!("bench: conv AE training, {}", other.describe());
        let measured = repeat(repeats, n_images, conv_run);
        lowered_conv::set_strategy(chosen);
        out.push(Measurement {
            name: format!(
                "conv AE training, {} convolutions",
                match other {
                    ConvStrategy::Lowered => "lowered",
                    ConvStrategy::Native => "burn's own",
                }
            ),
            unit: "images/s",
            values: measured?,
        });

        let mlp_config = MlpAutoencoderConfig::new(c.autoencoder.latent_dim)
            .with_hidden(c.autoencoder.mlp_hidden);
        eprintln!("bench: fully connected AE training");
        out.push(Measurement {
            name: format!("fully connected AE training (batch {batch})"),
            unit: "images/s",
            values: repeat(repeats, n_images, |seed| {
                scheduler::in_training_slot(|| {
                    let model =
                        seeded_init::<B, _>(&device, seed, || mlp_config.init::<B>(&device));
                    reconstruction_seconds(model, &train, &tiny_test, &training(seed), &device)
                })
            })?,
        });

        let clf_config = crate::experiment::models::classifier_config(c, c.classifier.hidden_dim);
        eprintln!("bench: classifier training");
        out.push(Measurement {
            name: format!("classifier training (batch {batch})"),
            unit: "images/s",
            values: repeat(repeats, n_images, |seed| {
                scheduler::in_training_slot(|| {
                    let model =
                        seeded_init::<B, _>(&device, seed, || clf_config.init::<B>(&device));
                    let cfg = ClassifierTrainingConfig::new(1, batch, 1e-3, seed);
                    let (_, h) = train_classifier(
                        "bench classifier",
                        model,
                        &train,
                        &tiny_test,
                        &cfg,
                        &device,
                    )?;
                    Ok(h.last().map_or(f64::NAN, |e| e.elapsed_seconds))
                })
            })?,
        });

        // Two trainings at once, as the book's scheduler runs them: each
        // with its own share of the cores, and each with all of them.
        for threads in [1, cores] {
            scheduler::configure(Budget {
                jobs: 2,
                threads_per_job: threads,
            });
            eprintln!("bench: two conv AE trainings at the same time, {threads} thread(s) each");
            out.push(Measurement {
                name: format!("2 concurrent conv AE trainings, {threads} thread(s) each"),
                unit: "images/s",
                values: repeat(repeats, 2 * n_images, |seed| {
                    let started = Instant::now();
                    std::thread::scope(|s| {
                        let a = s.spawn(|| conv_run(seed));
                        let b = s.spawn(|| conv_run(seed + 1000));
                        a.join().expect("bench thread")?;
                        b.join().expect("bench thread")
                    })?;
                    Ok(started.elapsed().as_secs_f64())
                })?,
            });
        }
        scheduler::configure(Budget::with_jobs(1));

        eprintln!("bench: conv AE inference on the test set");
        let model = ae_config.init::<B>(&device).valid();
        let test = &self.data.test.images;
        out.push(Measurement {
            name: format!("conv AE inference ({} test images)", test.count),
            unit: "images/s",
            values: repeat(repeats, test.count, |_| {
                let started = Instant::now();
                let _ = evaluate(&model, test, &device);
                Ok(started.elapsed().as_secs_f64())
            })?,
        });
        Ok((device_name, out))
    }
}

/// A run's manifest.
fn read_manifest(runs_dir: &std::path::Path, id: &str) -> Result<Manifest> {
    let path = runs_dir.join(id).join("manifest.json");
    serde_json::from_slice(&std::fs::read(&path)?)
        .with_context(|| format!("reading {}", path.display()))
}

/// The record of the run that computed chapter `c`, following `ex2
/// chapter`'s chain of reuse (each hop names an older run), and a status
/// that says where it came from.
fn computed_record(runs_dir: &std::path::Path, c: &ChapterRecord) -> (ChapterRecord, String) {
    let mut record = c.clone();
    let mut from = None;
    while let Some(run) = record.reused_from.clone() {
        let Some(older) = read_manifest(runs_dir, &run)
            .ok()
            .and_then(|m| m.chapters.into_iter().find(|r| r.id == c.id))
        else {
            break;
        };
        record = older;
        from = Some(run);
    }
    let status = match from {
        Some(run) if record.reused_from.is_none() => format!("reused, computed in {run}"),
        _ => record.status.clone(),
    };
    (record, status)
}

/// The latest run's chapters: wall time and thread-seconds by phase. A
/// chapter the run reused (`ex2 chapter`) shows the record of the run that
/// computed it.
fn print_chapter_times(runs_dir: &std::path::Path, id: &str, manifest: &Manifest) {
    println!(
        "\nchapters of the latest run ({id}, profile `{}`{}), seconds; phases are thread-seconds:",
        manifest.profile,
        manifest.scheduler.map_or(String::new(), |b| format!(
            ", {} slot(s) × {} thread(s)",
            b.jobs, b.threads_per_job
        )),
    );
    println!(
        "  {:<20} {:>8} {:>9} {:>10} {:>9} {:>11}  status",
        "chapter", "wall", "training", "classic ML", "waiting", "evaluation"
    );
    let mut sum = crate::runtime::timing::PhaseSeconds::default();
    for c in &manifest.chapters {
        let (c, status) = computed_record(runs_dir, c);
        let p = c.phases.unwrap_or_default();
        println!(
            "  {:<20} {:>8.1} {:>9.1} {:>10.1} {:>9.1} {:>11.1}  {}",
            c.id, c.wall_seconds, p.training, p.classic_ml, p.waiting, p.evaluation, status
        );
        sum.training += p.training;
        sum.classic_ml += p.classic_ml;
        sum.waiting += p.waiting;
        sum.evaluation += p.evaluation;
    }
    println!(
        "  {:<20} {:>8} {:>9.1} {:>10.1} {:>9.1} {:>11.1}",
        "all chapters", "", sum.training, sum.classic_ml, sum.waiting, sum.evaluation
    );
    let span = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    if let (Some(a), Some(b)) = (span(&manifest.started), span(&manifest.finished)) {
        println!(
            "  the latest run itself: {} s until rendering{}",
            (b - a).num_seconds(),
            manifest
                .render_seconds
                .map_or(String::new(), |r| format!("; rendering {r:.2} s"))
        );
    }
}

pub fn run(global: &GlobalArgs, args: &BenchArgs) -> Result<()> {
    let config = super::load_config(global)?;
    crate::app::backend::ensure_compiled(global.backend)?;
    let data = load_data(&config, global.data_dir.as_deref())?;
    let (device, results) = dispatch(
        global.backend,
        Bench {
            config: &config,
            data: &data,
            args,
        },
    )?;

    println!(
        "ex2 bench: {device}, profile `{}`, {} repeats (+1 warm-up)",
        config.profile_name, args.repeats
    );
    let width = results.iter().map(|m| m.name.len()).max().unwrap_or(0);
    println!(
        "{:<width$}  {:>10}  {:>10}  {:>10}  unit",
        "measurement", "median", "min", "max"
    );
    let mut csv = String::from("measurement,unit,median,min,max,values\n");
    for m in &results {
        let v = m.sorted();
        println!(
            "{:<width$}  {:>10.0}  {:>10.0}  {:>10.0}  {}",
            m.name,
            m.median(),
            v[0],
            v[v.len() - 1],
            m.unit
        );
        csv += &format!(
            "\"{}\",{},{:.3},{:.3},{:.3},\"{}\"\n",
            m.name,
            m.unit,
            m.median(),
            v[0],
            v[v.len() - 1],
            m.values
                .iter()
                .map(|x| format!("{x:.1}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let median = |prefix: &str| {
        results
            .iter()
            .find(|m| m.name.starts_with(prefix))
            .map(Measurement::median)
    };
    if let Some(alone) = median("conv AE training (") {
        let ratio = |prefix: &str| median(prefix).map_or(f64::NAN, |m| m / alone);
        println!(
            "two concurrent trainings / one alone: {:.2}× (own threads), {:.2}× (all threads each)",
            ratio("2 concurrent conv AE trainings, 1 "),
            ratio(&format!(
                "2 concurrent conv AE trainings, {} ",
                scheduler::cores()
            )),
        );
        println!(
            "this backend's convolutions / the other strategy's: {:.2}×",
            1.0 / ratio("conv AE training, ")
        );
    }

    // Where the latest complete run spent its time, per chapter.
    let runs_dir = config.runs_dir();
    if let Some(id) = complete_runs(&runs_dir)?.pop() {
        let manifest = read_manifest(&runs_dir, &id)?;
        print_chapter_times(&runs_dir, &id, &manifest);
    }

    let out = args.csv.clone().unwrap_or_else(|| {
        runs_dir.join("bench").join(format!(
            "{}-{}.csv",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
            global.backend.as_str()
        ))
    });
    write_atomic(&out, csv.as_bytes())?;
    println!("\nwrote {}", out.display());
    Ok(())
}

//! Benchmarks (`ex2 bench`): training and inference throughput of the
//! book's models on the selected backend, measured the way the book trains
//! them (the same loops, configs, batch size and data), repeated, reported
//! as medians. Not a test: timings on a shared machine are noisy, so they
//! live here. The command (`commands::bench`) prints and writes them.

use std::time::Instant;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;

use serde::Serialize;

use crate::app::backend::{BackendKind, BackendTask, dispatch};
use crate::book::Table;
use crate::chapters::baselines::BaselinesSection;
use crate::config::Config;
use crate::data::{Dataset, Split};
use crate::experiment::sections::{AutoencoderSection, ClassifierSection};
use crate::ml::baselines::{Model, Settings, fit_predict, pixel_features};
use crate::nn::autoencoder::{Autoencoder, evaluate};
use crate::nn::classify::{ClassifierTrainingConfig, train_classifier};
use crate::nn::init::seeded_init;
use crate::nn::lowered_conv::{self, ConvStrategy};
use crate::nn::mlp_ae::MlpAutoencoderConfig;
use crate::nn::train::{ReconstructionTrainingConfig, train_reconstruction};
use crate::runtime::scheduler::{self, Budget};
use crate::store::Runs;
use crate::store::manifest::ChapterRecord;

/// What is measured; ratios between measurements find them by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    ConvAeTraining,
    /// The conv AE under the convolution strategy this backend does not use.
    ConvAeOtherStrategy,
    MlpAeTraining,
    ClassifierTraining,
    /// Two conv AE trainings at once, one thread each.
    ConcurrentOneThread,
    /// Two conv AE trainings at once, all cores each.
    ConcurrentAllThreads,
    ConvAeInference,
    /// The ten binary linear SVMs on raw pixels, fit seconds summed.
    LinearSvmFit,
    /// The same with the polynomial kernel.
    PolySvmFit,
}

/// One measured quantity over the repeats.
pub struct Measurement {
    pub kind: Kind,
    /// What it is, in words (with the batch size, thread counts, …).
    pub name: String,
    pub unit: &'static str,
    pub values: Vec<f64>,
}

/// A bench run's results.
pub struct BenchReport {
    pub device: String,
    pub measurements: Vec<Measurement>,
}

/// How much to measure.
pub struct BenchOptions {
    /// Training batches per measurement (at the profile's batch size).
    pub batches: usize,
    /// Measured repeats of each measurement (after one warm-up).
    pub repeats: usize,
    /// Only these measurements (all when empty), e.g. to profile one.
    pub only: Vec<Kind>,
}

impl BenchOptions {
    fn wants(&self, kind: Kind) -> bool {
        self.only.is_empty() || self.only.contains(&kind)
    }
}

impl BenchReport {
    /// The median of the measurement of this kind.
    pub fn median(&self, kind: Kind) -> Option<f64> {
        self.measurements
            .iter()
            .find(|m| m.kind == kind)
            .map(Measurement::median)
    }

    /// The measurements as a CSV table: median, min, max and every value.
    pub fn csv(&self) -> Result<Vec<u8>> {
        #[derive(Serialize)]
        struct Row<'a> {
            measurement: &'a str,
            kind: Kind,
            unit: &'a str,
            median: f64,
            min: f64,
            max: f64,
            values: String,
        }
        let rows: Vec<Row> = self
            .measurements
            .iter()
            .map(|m| {
                let v = m.sorted();
                Row {
                    measurement: &m.name,
                    kind: m.kind,
                    unit: m.unit,
                    median: m.median(),
                    min: v[0],
                    max: v[v.len() - 1],
                    // Rates to a tenth of an image, durations to the millisecond.
                    values: m
                        .values
                        .iter()
                        .map(|x| {
                            if m.unit == "s" {
                                format!("{x:.3}")
                            } else {
                                format!("{x:.1}")
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(" "),
                }
            })
            .collect();
        Table::from_rows("bench", &["kind"], &rows)?.to_csv()
    }
}

impl Measurement {
    pub fn sorted(&self) -> Vec<f64> {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    pub fn median(&self) -> f64 {
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
    data: &'a Dataset,
    options: &'a BenchOptions,
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
        let ae = self.config.section::<AutoencoderSection>();
        let classifier = self.config.section::<ClassifierSection>();
        let batch = profile.batch_size;
        let n_images = (self.options.batches * batch).min(self.data.train.len());
        let train: Split = self.data.train.truncated(n_images);
        let tiny_test = self.data.test.truncated(batch);
        let repeats = self.options.repeats;
        let mut out = Vec::new();

        let ae_config = crate::experiment::models::conv_ae_config(self.config);
        let training = |seed| {
            ReconstructionTrainingConfig::new(1, batch, ae.learning_rate, seed)
                .with_adam_epsilon(ae.adam_epsilon)
                .with_output_bias_at_mean(ae.output_bias_at_mean)
        };
        // Every training runs in a training slot, as in the book; one job
        // alone gets all the cores.
        let cores = scheduler::cores();
        scheduler::configure(Budget::wide());
        let conv_run = |seed: u64| -> Result<f64> {
            scheduler::in_training_slot(|| {
                let model = seeded_init::<B, _>(&device, seed, || ae_config.init::<B>(&device));
                reconstruction_seconds(model, &train, &tiny_test, &training(seed), &device)
            })
        };
        let wants = |kind| self.options.wants(kind);
        if wants(Kind::ConvAeTraining) {
            eprintln!("bench: conv AE training, {n_images} images × {repeats}");
            out.push(Measurement {
                kind: Kind::ConvAeTraining,
                name: format!("conv AE training (batch {batch})"),
                unit: "images/s",
                values: repeat(repeats, n_images, conv_run)?,
            });
        }

        // The same training under the strategy this backend does not use
        // (on the CPU: burn's own convolution kernels), so the choice in
        // `BackendKind::conv_strategy` stays a measured one.
        if wants(Kind::ConvAeOtherStrategy) {
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
                kind: Kind::ConvAeOtherStrategy,
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
        }

        if wants(Kind::MlpAeTraining) {
            let mlp_config = MlpAutoencoderConfig::new(ae.latent_dim).with_hidden(ae.mlp_hidden);
            eprintln!("bench: fully connected AE training");
            out.push(Measurement {
                kind: Kind::MlpAeTraining,
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
        }

        if wants(Kind::ClassifierTraining) {
            let clf_config =
                crate::experiment::models::classifier_config(self.config, classifier.hidden_dim);
            eprintln!("bench: classifier training");
            out.push(Measurement {
                kind: Kind::ClassifierTraining,
                name: format!("classifier training (batch {batch})"),
                unit: "images/s",
                values: repeat(repeats, n_images, |seed| {
                    scheduler::in_training_slot(|| {
                        let model =
                            seeded_init::<B, _>(&device, seed, || clf_config.init::<B>(&device));
                        let cfg =
                            ClassifierTrainingConfig::new(1, batch, classifier.learning_rate, seed);
                        let (_, h) = train_classifier(
                            "bench classifier",
                            model,
                            &train,
                            None,
                            &tiny_test,
                            &cfg,
                            &device,
                        )?;
                        Ok(h.last().map_or(f64::NAN, |e| e.elapsed_seconds))
                    })
                })?,
            });
        }

        // Two trainings at once, as the book's scheduler runs them: each
        // with its own share of the cores, and each with all of them.
        let thread_counts: &[usize] = if cores > 1 { &[1, cores] } else { &[1] };
        for &threads in thread_counts {
            let kind = if threads == 1 {
                Kind::ConcurrentOneThread
            } else {
                Kind::ConcurrentAllThreads
            };
            if !wants(kind) {
                continue;
            }
            scheduler::configure(Budget {
                jobs: 2,
                threads_per_job: threads,
            });
            eprintln!("bench: two conv AE trainings at the same time, {threads} thread(s) each");
            out.push(Measurement {
                kind,
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
        scheduler::configure(Budget::wide());

        out.extend(svm_fits(self.config, self.data, self.options)?);

        if wants(Kind::ConvAeInference) {
            eprintln!("bench: conv AE inference on the test set");
            let model = ae_config.init::<B>(&device).valid();
            let test = &self.data.test.images;
            out.push(Measurement {
                kind: Kind::ConvAeInference,
                name: format!("conv AE inference ({} test images)", test.count),
                unit: "images/s",
                values: repeat(repeats, test.count, |_| {
                    let started = Instant::now();
                    let _ = evaluate(&model, test, &device);
                    Ok(started.elapsed().as_secs_f64())
                })?,
            });
        }
        Ok((device_name, out))
    }
}

/// The baselines chapter's two SVMs on raw pixels, fitted as the book fits
/// them (the profile's first `svm-train-size` training images, its test
/// set, the chapter's C and degree): the ten binary fits' seconds summed,
/// each fit on one thread, as libsvm's are (`bench/reference/libsvm_reference.py`
/// fits the same images).
fn svm_fits(config: &Config, data: &Dataset, options: &BenchOptions) -> Result<Vec<Measurement>> {
    let repeats = options.repeats;
    let models: Vec<(Kind, Model)> = [
        (Kind::LinearSvmFit, Model::LinearSvm),
        (Kind::PolySvmFit, Model::PolySvm),
    ]
    .into_iter()
    .filter(|(kind, _)| options.wants(*kind))
    .collect();
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let section = config.section::<BaselinesSection>();
    let settings = Settings {
        svm_c: section.svm_c,
        poly_c: section.poly_c,
        poly_degree: section.poly_degree as f64,
        logistic_iterations: section.logistic_iterations,
    };
    let n = config.profile.svm_train_size.min(data.train.len());
    let per_image = data.train.images.pixels_per_image();
    let train = pixel_features(
        &data.train.images.pixels[..n * per_image],
        &data.train.labels[..n],
    )?;
    let test = pixel_features(&data.test.images.pixels, &data.test.labels)?;
    scheduler::configure(Budget {
        jobs: 1,
        threads_per_job: 1,
    });
    let mut out = Vec::new();
    for (kind, model) in models {
        eprintln!("bench: {} fit, {n} images × {repeats}", model.name());
        let mut values = Vec::new();
        for _ in 0..repeats {
            let outcome = fit_predict(model, &train, &test, &settings)?;
            eprintln!(
                "bench:   {:.2} s fit, {:.2} s predicting {} test images, accuracy {:.2} %",
                outcome.fit_seconds,
                outcome.predict_seconds,
                test.y.len(),
                outcome.accuracy * 100.0
            );
            values.push(outcome.fit_seconds);
        }
        out.push(Measurement {
            kind,
            name: format!("{} fit, raw pixels ({n} images)", model.name()),
            unit: "s",
            values,
        });
    }
    scheduler::configure(Budget::wide());
    Ok(out)
}

/// The record of the run that computed chapter `c`, following `ex2
/// chapter`'s chain of reuse (each hop names an older run), and a status
/// that says where it came from.
pub fn computed_record(runs: &Runs, c: &ChapterRecord) -> (ChapterRecord, String) {
    let mut record = c.clone();
    let mut from = None;
    while let Some(run) = record.reused_from.clone() {
        let Some(older) = runs
            .run(&run)
            .manifest()
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

/// Measures every benchmark on `backend` with the profile's data and settings.
pub fn measure(
    config: &Config,
    data: &Dataset,
    backend: BackendKind,
    options: &BenchOptions,
) -> Result<BenchReport> {
    let (device, measurements) = dispatch(
        backend,
        Bench {
            config,
            data,
            options,
        },
    )?;
    Ok(BenchReport {
        device,
        measurements,
    })
}

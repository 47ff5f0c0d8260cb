//! Chapter `denoising`: autoencoders trained to map noisy digits to clean
//! ones, one per noise level, against the plain AE on the same noisy input;
//! and whether the denoising objective makes better codes.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use polars::prelude::Column;
use serde::Serialize;

use super::final_test_error;
use super::{classify_digits, parallel};
use crate::book::table::Table;
use crate::book::{ChapterOutput, Figure};
use crate::config::Config;
use crate::data::Images;
use crate::data::noise::noisy_images;
use crate::experiment::Ctx;
use crate::experiment::models::{self, AutoencoderSpec, PlannedModel, TrainedAe};
use crate::ml::baselines::{Features, Model, Settings, fit_predict, standardise};
use crate::ml::confusion::confusion_counts;
use crate::ml::tsne::tsne_2d;
use crate::nn::autoencoder::{Autoencoder, evaluate_against, image_error};
use crate::nn::conv_ae::ConvAutoencoderConfig;
use crate::nn::conv_ae::SIDE;
use crate::plot::{Panel, digit_grid_png, scatter_svg};

pub const TABLES: &[&str] = &["denoising", "recognition", "probe", "timing"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &["autoencoder", "denoising", "classifier", "baselines"];

pub fn title(_config: &Config) -> String {
    "Denoising Autoencoders".into()
}

/// A noise level as it appears in names: 0.5 → "0.5".
fn level_name(f: f64) -> String {
    format!("{f}")
}

/// The denoising AE of level `f`: the book AE's spec and seed, only the
/// input noise differs.
fn dae_spec<B: AutodiffBackend>(ctx: &Ctx<B>, f: f64) -> AutoencoderSpec<ConvAutoencoderConfig> {
    let mut spec = models::book_autoencoder_spec(ctx);
    spec.training.noise_factor = f;
    spec
}

/// The models the chapter loads or trains.
pub fn models<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Vec<PlannedModel>> {
    let mut planned = vec![
        models::planned_book_autoencoder(ctx),
        models::planned_book_classifier(ctx),
    ];
    for &f in &ctx.config.book.chapter.denoising.noise_factors {
        planned.push(PlannedModel::new(
            ctx.artifacts,
            format!("denoising/f{f}"),
            models::CONV_AE,
            &dae_spec(ctx, f),
        ));
    }
    Ok(planned)
}

/// One noise level, measured.
#[derive(Clone, Serialize)]
struct Level {
    f: f64,
    noisy_recognised: f64,
    ae_recognised: f64,
    dae_recognised: f64,
    noisy_l1: f64,
    ae_l1: f64,
    dae_l1: f64,
    dae_clean_l1: f64,
    figure: String,
}

/// What the chapter's text reasons with, each computed once.
#[derive(Serialize)]
struct Facts {
    train_size: usize,
    test_size: usize,
    ae_clean_l1: f64,
    clean_recognised: f64,
    /// Levels whose DAE reconstructs clean input worse than the plain AE.
    dae_clean_worse_levels: usize,
    levels: Vec<Level>,
    /// The levels of the smallest and the largest f.
    weakest: Level,
    strongest: Level,
    /// The worst (level, digit) across all levels: the DAE's
    /// reconstructions least often read as their digit.
    failure_noise: f64,
    failure_digit: usize,
    failure_recall: f64,
    /// The same digit's noisy images, as the classifier reads them.
    failure_noisy_recall: f64,
    failure_into: usize,
    failure_into_share: f64,
    probe_ae: f64,
    probe_dae_mean: f64,
    probe_best: String,
    probe_best_accuracy: f64,
    probe_train_size: usize,
    tsne_noise: f64,
    tsne_points: usize,
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let section = &ctx.config.book.chapter.denoising;
    let (train, test) = (&ctx.data.train, &ctx.data.test);
    let device = &ctx.device;
    let mut out = ChapterOutput::default();

    // The book AE and one denoising AE per level: the same spec and seed,
    // only the input noise differs.
    type Job<'a, B> = Box<dyn FnOnce() -> Result<TrainedAe<B>> + Send + 'a>;
    let mut jobs: Vec<Job<B>> = vec![Box::new(|| models::book_autoencoder(ctx))];
    for &f in &section.noise_factors {
        jobs.push(Box::new(move || {
            models::autoencoder(ctx, &format!("denoising AE f={f}"), dae_spec(ctx, f))
        }));
    }
    let trained = parallel(jobs)?;
    let (ae, daes) = trained.split_first().expect("the book AE");
    let ae_model = ae.model.valid();
    out.seeds
        .insert("conv-ae".into(), ctx.seed("autoencoder/conv-ae"));

    // The ten digits 0–9 shown per level: the first test image of each.
    let shown: Vec<usize> = (0..10u8)
        .filter_map(|c| test.labels.iter().position(|&l| l == c))
        .collect();
    let clean_shown: Vec<Vec<u8>> = shown
        .iter()
        .map(|&i| test.images.image(i).to_vec())
        .collect();

    // The digit classifier judges whether a reconstruction is still the
    // digit it was: where denoising fails, it shows as a wrong digit.
    let clf = models::book_classifier(ctx)?.model.valid();
    let recognised = |images: Vec<Vec<u8>>| classify_digits(&clf, &images, device);
    let accuracy = |p: &[u8]| {
        p.iter().zip(&test.labels).filter(|(a, b)| a == b).count() as f64 / test.len() as f64
    };
    let all: Vec<usize> = (0..test.len()).collect();
    let clean_accuracy = accuracy(&recognised(
        all.iter().map(|&i| test.images.image(i).to_vec()).collect(),
    ));
    let (mut rec_f, mut rec_input, mut rec_acc) = (Vec::new(), Vec::new(), Vec::new());
    // Per level: the classifier's reading of the noisy images and of the
    // DAE's reconstructions, for the worst case across levels.
    let mut readings: Vec<(f64, Vec<u8>, Vec<u8>)> = Vec::new();

    let (mut col_f, mut col_method, mut col_l1, mut col_mse) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut levels = Vec::new();
    let ae_clean = final_test_error(&ae.history);
    for (&f, dae) in section.noise_factors.iter().zip(daes) {
        let seed = ctx.seed(&format!("denoising/noise-{}", level_name(f)));
        out.seeds.insert(format!("noise-{}", level_name(f)), seed);
        let noisy = noisy_images(&test.images, f, seed);
        let dae_model = dae.model.valid();
        let input = image_error(&noisy, &test.images);
        let by_ae = evaluate_against(&ae_model, &noisy, &test.images, device);
        let by_dae = evaluate_against(&dae_model, &noisy, &test.images, device);
        let dae_clean = final_test_error(&dae.history);
        for (method, e) in [
            ("noisy input", input),
            ("autoencoder", by_ae),
            ("denoising AE", by_dae),
            ("denoising AE, clean input", dae_clean),
        ] {
            col_f.push(f);
            col_method.push(method.to_string());
            col_l1.push(e.l1);
            col_mse.push(e.mse);
        }
        // Recognition of the noisy images and of both reconstructions.
        let reconstruct_all = |m: &dyn Fn(&[usize]) -> Vec<Vec<u8>>| -> Vec<Vec<u8>> {
            all.chunks(1000).flat_map(m).collect()
        };
        let noisy_pred = recognised(all.iter().map(|&i| noisy.image(i).to_vec()).collect());
        let ae_pred = recognised(reconstruct_all(&|c| {
            ae_model.reconstruct(&noisy, c, device)
        }));
        let dae_pred = recognised(reconstruct_all(&|c| {
            dae_model.reconstruct(&noisy, c, device)
        }));
        for (input, p) in [
            ("noisy input", &noisy_pred),
            ("autoencoder", &ae_pred),
            ("denoising AE", &dae_pred),
        ] {
            rec_f.push(f);
            rec_input.push(input.to_string());
            rec_acc.push(accuracy(p));
        }
        levels.push(Level {
            f,
            noisy_recognised: accuracy(&noisy_pred),
            ae_recognised: accuracy(&ae_pred),
            dae_recognised: accuracy(&dae_pred),
            noisy_l1: input.l1,
            ae_l1: by_ae.l1,
            dae_l1: by_dae.l1,
            dae_clean_l1: dae_clean.l1,
            figure: format!("denoise_{}.png", level_name(f).replace('.', "_")),
        });
        readings.push((f, noisy_pred, dae_pred));

        let noisy_shown: Vec<Vec<u8>> = shown.iter().map(|&i| noisy.image(i).to_vec()).collect();
        let rows = vec![
            clean_shown.clone(),
            noisy_shown,
            ae_model.reconstruct(&noisy, &shown, device),
            dae_model.reconstruct(&noisy, &shown, device),
        ];
        out.figures.push(Figure {
            file: levels.last().expect("this level").figure.clone(),
            bytes: digit_grid_png(&rows, SIDE, 2)?,
        });
    }
    out.tables.push(Table::new(
        "denoising",
        &["noise", "method"],
        vec![
            Column::new("noise".into(), col_f),
            Column::new("method".into(), col_method),
            Column::new("l1".into(), col_l1),
            Column::new("mse".into(), col_mse),
        ],
    )?);
    out.tables.push(Table::new(
        "recognition",
        &["noise", "input"],
        vec![
            Column::new("noise".into(), rec_f),
            Column::new("input".into(), rec_input),
            Column::new("recognised".into(), rec_acc),
        ],
    )?);
    // Where the DAE fails worst, across every level: the (level, digit)
    // whose reconstructions are least often read as that digit.
    let recall = |pred: &[u8], c: usize| {
        let counts = confusion_counts(&test.labels, pred);
        counts[c][c] as f64 / counts[c].iter().sum::<u64>().max(1) as f64
    };
    let (failure_level, failure_digit) = readings
        .iter()
        .enumerate()
        .flat_map(|(l, _)| (0..10).map(move |c| (l, c)))
        .min_by(|&(la, ca), &(lb, cb)| {
            recall(&readings[la].2, ca).total_cmp(&recall(&readings[lb].2, cb))
        })
        .expect("a level and ten digits");
    let (failure_noise, noisy_pred, dae_pred) = &readings[failure_level];
    let counts = confusion_counts(&test.labels, dae_pred);
    let failure_into = (0..10)
        .filter(|&j| j != failure_digit)
        .max_by_key(|&j| counts[failure_digit][j])
        .expect("nine others");

    // Linear probe: logistic regression on the codes of clean images.
    let linear_n = ctx.config.profile.linear_train_size();
    let probe_train = train.truncated(linear_n);
    let b = &ctx.config.book.chapter.baselines;
    let settings = Settings {
        svm_c: b.svm_c,
        poly_c: b.poly_c,
        poly_degree: b.poly_degree as f64,
        logistic_iterations: section.probe_iterations,
    };
    let probe = |codes_of: &dyn Fn(&Images) -> (Vec<f32>, usize)| -> Result<f64> {
        let (tr, d) = codes_of(&probe_train.images);
        let (te, _) = codes_of(&test.images);
        let to_f64 = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<_>>();
        let (ftr, fte) = standardise(
            &Features::new(to_f64(tr), d, &probe_train.labels)?,
            &Features::new(to_f64(te), d, &test.labels)?,
        );
        Ok(fit_predict(Model::Logistic, &ftr, &fte, &settings)?.accuracy)
    };
    let mut probe_names = vec!["autoencoder".to_string()];
    let mut probe_noise = vec![0.0];
    let mut probe_acc = vec![probe(&|i| ae_model.encode_images(i, device))?];
    for (&f, dae) in section.noise_factors.iter().zip(daes) {
        let m = dae.model.valid();
        probe_names.push(format!("denoising AE, f = {f}"));
        probe_noise.push(f);
        probe_acc.push(probe(&|i| m.encode_images(i, device))?);
    }
    let (best_i, best_acc) = probe_acc
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, a)| (i, *a))
        .expect("probes");
    let probe_best = probe_names[best_i].clone();
    let probe_ae = probe_acc[0];
    let probe_dae_mean = probe_acc[1..].iter().sum::<f64>() / (probe_acc.len() - 1) as f64;
    out.tables.push(Table::new(
        "probe",
        &["model"],
        vec![
            Column::new("model".into(), probe_names),
            Column::new("noise".into(), probe_noise),
            Column::new("accuracy".into(), probe_acc),
        ],
    )?);

    // t-SNE of the codes of clean test images: AE and the DAE of the
    // strongest noise, side by side.
    let (f_max, dae_max) = section
        .noise_factors
        .iter()
        .zip(daes)
        .max_by(|a, b| a.0.total_cmp(b.0))
        .expect("a noise level");
    let n_plot = section.plot_points.min(test.len());
    let plot_images = test.truncated(n_plot);
    let dae_max_model = dae_max.model.valid();
    let (ae_codes, d) = ae_model.encode_images(&plot_images.images, device);
    let (dae_codes, _) = dae_max_model.encode_images(&plot_images.images, device);
    let perplexity = section
        .tsne_perplexity
        .min((n_plot as f64 - 1.0) / 3.0 - 1.0);
    let seed = ctx.seed("denoising/tsne");
    out.seeds.insert("tsne".into(), seed);
    type TsneJob = Box<dyn FnOnce() -> Result<Vec<(f64, f64)>> + Send>;
    let tsne_job = |codes: Vec<f32>| -> TsneJob {
        let iterations = section.tsne_iterations;
        Box::new(move || tsne_2d(&codes, d, perplexity, iterations, seed))
    };
    let mut embedded = parallel(vec![tsne_job(ae_codes), tsne_job(dae_codes)])?.into_iter();
    let panels = [
        Panel {
            title: "autoencoder".into(),
            points: embedded.next().expect("AE t-SNE"),
            labels: plot_images.labels.clone(),
        },
        Panel {
            title: format!("denoising AE, f = {f_max}"),
            points: embedded.next().expect("DAE t-SNE"),
            labels: plot_images.labels.clone(),
        },
    ];
    out.figures.push(Figure {
        file: "tsne.svg".into(),
        bytes: scatter_svg(&panels, ("t-SNE 1", "t-SNE 2"))?.into_bytes(),
    });

    out.tables.push(
        Table::new(
            "timing",
            &["model"],
            vec![
                Column::new(
                    "model".into(),
                    std::iter::once("autoencoder".to_string())
                        .chain(
                            section
                                .noise_factors
                                .iter()
                                .map(|f| format!("denoising AE, f = {f}")),
                        )
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "train_seconds".into(),
                    trained
                        .iter()
                        .map(|a| a.history.iter().map(|r| r.train_seconds).sum::<f64>())
                        .collect::<Vec<_>>(),
                ),
                Column::new(
                    "from_cache".into(),
                    trained.iter().map(|a| a.cached).collect::<Vec<_>>(),
                ),
            ],
        )?
        .volatile(),
    );

    let by_f = |a: &&Level, b: &&Level| a.f.total_cmp(&b.f);
    let weakest = levels.iter().min_by(by_f).expect("a level").clone();
    let strongest = levels.iter().max_by(by_f).expect("a level").clone();
    out.set_facts(&Facts {
        train_size: train.len(),
        test_size: test.len(),
        ae_clean_l1: ae_clean.l1,
        clean_recognised: clean_accuracy,
        dae_clean_worse_levels: levels
            .iter()
            .filter(|l| l.dae_clean_l1 > ae_clean.l1)
            .count(),
        weakest,
        strongest,
        levels,
        failure_noise: *failure_noise,
        failure_digit,
        failure_recall: recall(dae_pred, failure_digit),
        failure_noisy_recall: recall(noisy_pred, failure_digit),
        failure_into,
        failure_into_share: counts[failure_digit][failure_into] as f64
            / counts[failure_digit].iter().sum::<u64>().max(1) as f64,
        probe_ae,
        probe_dae_mean,
        probe_best,
        probe_best_accuracy: best_acc,
        probe_train_size: linear_n,
        tsne_noise: *f_max,
        tsne_points: n_plot,
    })?;
    Ok(out)
}

//! Whether the denoising objective makes better codes: a linear probe on
//! each model's codes of clean digits, and t-SNE of the AE's and the
//! strongest DAE's codes.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::dae_name;
use crate::book::Figure;
use crate::chapters::baselines::BaselinesSection;
use crate::chapters::denoising::DenoisingSection;
use crate::chapters::parallel;
use crate::data::Images;
use crate::experiment::Ctx;
use crate::experiment::classic;
use crate::experiment::models::TrainedAe;
use crate::ml::baselines::{Features, Model, Settings, standardise};
use crate::ml::stats::{Difference, hits, paired_difference};
use crate::nn::autoencoder::Autoencoder;
use crate::nn::conv_ae::ConvAutoencoder;
use crate::plot::{Panel, scatter_svg};

/// One model's row of the `probe` table.
#[derive(Serialize)]
pub(super) struct ProbeRow {
    model: String,
    noise: f64,
    accuracy: f64,
}

/// One DAE's probe accuracy minus the AE's, paired by test image.
#[derive(Serialize)]
pub(super) struct ProbeComparison {
    model: String,
    difference: Difference,
}

/// The probe's accuracy on every model's codes.
pub(super) struct Probe {
    pub(super) dae_vs_ae: Vec<ProbeComparison>,
    pub(super) rows: Vec<ProbeRow>,
    pub(super) ae: f64,
    pub(super) dae_mean: f64,
    /// The model of the highest accuracy (the last of equals).
    pub(super) best: String,
    pub(super) best_accuracy: f64,
    pub(super) train_size: usize,
}

/// Linear probe: logistic regression on the codes of clean images.
pub(super) fn probe_study<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    ae: &ConvAutoencoder<B::InnerBackend>,
    daes: &[TrainedAe<B>],
) -> Result<Probe> {
    let (train, test, device) = (&ctx.data.train, &ctx.data.test, &ctx.device);
    let section = &ctx.config.section::<DenoisingSection>();
    let linear_n = ctx.config.profile.linear_train_size();
    let probe_train = train.truncated(linear_n);
    let b = &ctx.config.section::<BaselinesSection>();
    let settings = Settings {
        svm_c: b.svm_c,
        poly_c: b.poly_c,
        poly_degree: b.poly_degree as f64,
        logistic_iterations: section.probe_iterations,
    };
    // Per test image, 1 where the probe reads it right: what pairs the probes.
    let probe = |codes_of: &dyn Fn(&Images) -> (Vec<f32>, usize)| -> Result<(f64, Vec<f64>)> {
        let (tr, d) = codes_of(&probe_train.images);
        let (te, _) = codes_of(&test.images);
        let to_f64 = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<_>>();
        let (ftr, fte) = standardise(
            &Features::new(to_f64(tr), d, &probe_train.labels)?,
            &Features::new(to_f64(te), d, &test.labels)?,
        );
        let out = classic::fit_predict(ctx, Model::Logistic, &ftr, &fte, &settings)?.value;
        Ok((out.accuracy, hits(&out.predictions, &test.labels)))
    };
    let (ae_accuracy, ae_correct) = probe(&|i| ae.encode_images(i, device))?;
    let mut rows = vec![ProbeRow {
        model: "autoencoder".into(),
        noise: 0.0,
        accuracy: ae_accuracy,
    }];
    let mut dae_vs_ae = Vec::new();
    for (&f, dae) in section.noise_factors.iter().zip(daes) {
        let m = dae.model.valid();
        let (accuracy, correct) = probe(&|i| m.encode_images(i, device))?;
        dae_vs_ae.push(ProbeComparison {
            model: dae_name(f),
            difference: paired_difference(&correct, &ae_correct),
        });
        rows.push(ProbeRow {
            model: dae_name(f),
            noise: f,
            accuracy,
        });
    }
    let best = rows
        .iter()
        .max_by(|a, b| a.accuracy.total_cmp(&b.accuracy))
        .expect("probes");
    let dae_mean = rows[1..].iter().map(|r| r.accuracy).sum::<f64>() / (rows.len() - 1) as f64;
    Ok(Probe {
        dae_vs_ae,
        ae: rows[0].accuracy,
        dae_mean,
        best: best.model.clone(),
        best_accuracy: best.accuracy,
        train_size: linear_n,
        rows,
    })
}

/// The t-SNE figure, its seed, the noise level of its DAE and how many
/// points each panel has.
pub(super) struct Tsne {
    pub(super) figure: Figure,
    pub(super) seed: u64,
    pub(super) noise: f64,
    pub(super) points: usize,
}

/// t-SNE of the codes of clean test images: AE and the DAE of the
/// strongest noise, side by side.
pub(super) fn tsne_study<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    ae: &ConvAutoencoder<B::InnerBackend>,
    daes: &[TrainedAe<B>],
) -> Result<Tsne> {
    let (test, device) = (&ctx.data.test, &ctx.device);
    let section = &ctx.config.section::<DenoisingSection>();
    let (&f_max, dae_max) = section
        .noise_factors
        .iter()
        .zip(daes)
        .max_by(|a, b| a.0.total_cmp(b.0))
        .expect("a noise level");
    let n_plot = section.plot_points.min(test.len());
    let plot_images = test.truncated(n_plot);
    let dae_max_model = dae_max.model.valid();
    let (ae_codes, d) = ae.encode_images(&plot_images.images, device);
    let (dae_codes, _) = dae_max_model.encode_images(&plot_images.images, device);
    let perplexity = section
        .tsne_perplexity
        .min((n_plot as f64 - 1.0) / 3.0 - 1.0);
    let seed = ctx.seed("denoising/tsne");
    type TsneJob<'a> = Box<dyn FnOnce() -> Result<Vec<(f64, f64)>> + Send + 'a>;
    let tsne_job = |codes: Vec<f32>| -> TsneJob<'_> {
        let iterations = section.tsne_iterations;
        Box::new(move || classic::tsne_2d(ctx, &codes, d, perplexity, iterations, seed))
    };
    let mut embedded = parallel(vec![tsne_job(ae_codes), tsne_job(dae_codes)])?.into_iter();
    let panels = [
        Panel {
            title: "autoencoder".into(),
            points: embedded.next().expect("AE t-SNE"),
            labels: plot_images.labels.clone(),
        },
        Panel {
            title: dae_name(f_max),
            points: embedded.next().expect("DAE t-SNE"),
            labels: plot_images.labels.clone(),
        },
    ];
    Ok(Tsne {
        figure: Figure {
            file: "tsne.svg".into(),
            bytes: scatter_svg(&panels, ("t-SNE 1", "t-SNE 2"), &ctx.data.entry.classes)?
                .into_bytes(),
        },
        seed,
        noise: f_max,
        points: n_plot,
    })
}

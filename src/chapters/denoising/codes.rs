//! Whether the denoising objective makes better codes: a linear probe on
//! each model's codes of clean digits, and t-SNE of the AE's and the
//! strongest DAE's codes.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::{dae, dae_name, dae_spec};
use crate::book::Figure;
use crate::chapters::baselines::BaselinesSection;
use crate::chapters::denoising::DenoisingSection;
use crate::chapters::parallel;
use crate::experiment::Ctx;
use crate::experiment::classic::{
    FeatureRecipe, FitJob, LazyFeatures, PointsRecipe, TsneJob, code_features, test_codes,
};
use crate::experiment::models::{self, PlannedModel, TrainedAe};
use crate::ml::baselines::{Model, Settings};
use crate::ml::stats::{Difference, hits, paired_difference};
use crate::plot::{Panel, scatter_svg};

/// A model whose codes the chapter studies: its name in the plan (as the
/// chapter's model names have it), its cache key, and how to load it.
struct Coder<'a, B: AutodiffBackend> {
    id: String,
    key: String,
    load: Box<dyn Fn() -> Result<TrainedAe<B>> + 'a>,
}

/// The book AE and the DAE of each level.
fn coders<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> Vec<Coder<'a, B>> {
    let key = |spec| ctx.artifacts.key(models::CONV_AE, &spec);
    let mut coders = vec![Coder {
        id: "autoencoder".into(),
        key: key(models::book_autoencoder_spec(ctx)),
        load: Box::new(move || models::book_autoencoder(ctx)),
    }];
    for &f in &ctx.config.section::<DenoisingSection>().noise_factors {
        coders.push(Coder {
            id: format!("f{f}"),
            key: key(dae_spec(ctx, f)),
            load: Box::new(move || dae(ctx, f)),
        });
    }
    coders
}

/// The probe's training images: the first `linear_n`.
fn probe_images<B: AutodiffBackend>(ctx: &Ctx<B>) -> usize {
    ctx.config.profile.linear_train_size()
}

/// The probe of the model of cache key `key`, and its features (made by
/// `encoder` only if the fit is not cached).
fn probe_job<'a, B: AutodiffBackend>(
    ctx: &'a Ctx<B>,
    key: &str,
    encoder: impl Fn() -> Result<crate::nn::conv_ae::ConvEncoder<B::InnerBackend>> + 'a,
) -> (FitJob, LazyFeatures<'a>) {
    let section = &ctx.config.section::<DenoisingSection>();
    let b = &ctx.config.section::<BaselinesSection>();
    let settings = Settings {
        svm_c: b.svm_c,
        poly_c: b.poly_c,
        poly_degree: b.poly_degree as f64,
        logistic_iterations: section.probe_iterations,
    };
    let images = probe_images(ctx);
    let recipe = FeatureRecipe::Codes {
        images,
        autoencoder: key.into(),
    };
    let features = LazyFeatures::new(recipe.clone(), move || {
        code_features(ctx, &encoder()?, images)
    });
    (
        FitJob::new(Model::Logistic, recipe, images, &settings),
        features,
    )
}

/// The t-SNE of the codes of the model of cache key `key`.
fn tsne_job<B: AutodiffBackend>(ctx: &Ctx<B>, key: &str) -> TsneJob {
    let section = &ctx.config.section::<DenoisingSection>();
    let n_plot = section.plot_points.min(ctx.data.test.len());
    let perplexity = section
        .tsne_perplexity
        .min((n_plot as f64 - 1.0) / 3.0 - 1.0);
    let points = PointsRecipe::Codes {
        autoencoder: key.into(),
        images: n_plot,
    };
    TsneJob::new(
        points,
        perplexity,
        section.tsne_iterations,
        ctx.seed("denoising/tsne"),
    )
}

/// The level of the strongest noise: its DAE's codes are embedded.
fn strongest<B: AutodiffBackend>(ctx: &Ctx<B>) -> (usize, f64) {
    let section = &ctx.config.section::<DenoisingSection>();
    section
        .noise_factors
        .iter()
        .copied()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("a noise level")
}

/// The probes and t-SNEs as jobs of the plan.
pub(super) fn planned<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>) -> Vec<PlannedModel<'a>> {
    let mut planned = Vec::new();
    let (level, _) = strongest(ctx);
    for (i, coder) in coders(ctx).into_iter().enumerate() {
        let Coder { id, key, load } = coder;
        let load: std::rc::Rc<dyn Fn() -> Result<TrainedAe<B>> + 'a> = load.into();
        let encoder = {
            let load = load.clone();
            move || Ok(load()?.model.valid().encoder)
        };
        let (job, features) = probe_job(ctx, &key, encoder);
        planned.push(job.planned(ctx, format!("denoising/probe/{id}"), features));
        if i == 0 || i == level + 1 {
            let n = tsne_job(ctx, &key);
            planned.push(n.planned(ctx, format!("denoising/tsne/{id}"), move || {
                let images = ctx
                    .config
                    .section::<DenoisingSection>()
                    .plot_points
                    .min(ctx.data.test.len());
                Ok(test_codes(ctx, &load()?.model.valid().encoder, images))
            }));
        }
    }
    planned
}

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
    ae: &TrainedAe<B>,
    daes: &[TrainedAe<B>],
) -> Result<Probe> {
    let test = &ctx.data.test;
    // Per test image, 1 where the probe reads it right: what pairs the probes.
    let probe = |model: &TrainedAe<B>| -> Result<(f64, Vec<f64>)> {
        let (job, features) = probe_job(ctx, &model.key, || Ok(model.model.valid().encoder));
        let out = job.run(ctx, &features)?.value;
        Ok((out.accuracy, hits(&out.predictions, &test.labels)))
    };
    let (ae_accuracy, ae_correct) = probe(ae)?;
    let mut rows = vec![ProbeRow {
        model: "autoencoder".into(),
        noise: 0.0,
        accuracy: ae_accuracy,
    }];
    let section = &ctx.config.section::<DenoisingSection>();
    let mut dae_vs_ae = Vec::new();
    for (&f, dae) in section.noise_factors.iter().zip(daes) {
        let (accuracy, correct) = probe(dae)?;
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
        train_size: probe_images(ctx),
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
pub(super) fn tsne_study<'a, B: AutodiffBackend>(
    ctx: &'a Ctx<B>,
    ae: &'a TrainedAe<B>,
    daes: &'a [TrainedAe<B>],
) -> Result<Tsne> {
    let section = &ctx.config.section::<DenoisingSection>();
    let (level, f_max) = strongest(ctx);
    let n_plot = section.plot_points.min(ctx.data.test.len());
    let plot_images = ctx.data.test.truncated(n_plot);
    type Job<'a> = Box<dyn FnOnce() -> Result<Vec<(f64, f64)>> + Send + 'a>;
    fn boxed<'a, F>(f: F) -> Job<'a>
    where
        F: FnOnce() -> Result<Vec<(f64, f64)>> + Send + 'a,
    {
        Box::new(f)
    }
    let embed = |model: &'a TrainedAe<B>| {
        boxed(move || {
            tsne_job(ctx, &model.key).run(ctx, || {
                Ok(test_codes(ctx, &model.model.valid().encoder, n_plot))
            })
        })
    };
    let seed = ctx.seed("denoising/tsne");
    let mut embedded = parallel(vec![embed(ae), embed(&daes[level])])?.into_iter();
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

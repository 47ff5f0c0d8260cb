//! The d=2 map: the test codes of the d=2 AE over the regions a small
//! classifier, fitted on the training codes, assigns to each digit.

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use serde::Serialize;

use super::trained::Trained;
use super::{CODE_CLASSIFIER, MAP_CLASSIFIER, Study, map_classifier_spec};
use crate::book::Figure;
use crate::chapters::final_test_error;
use crate::chapters::latent::LatentSection;
use crate::experiment::Ctx;
use crate::experiment::models::TrainedAe;
use crate::nn::autoencoder::Autoencoder;
use crate::nn::code_classifier::{CodeClassifier, FittedCodeClassifier, fit_code_classifier};
use crate::plot::scatter::bounds;
use crate::plot::{ClassMap, latent_map_svg};

/// The map classifier's experiment name: its seed's and its plan entry's.
pub(super) const SEED_NAME: &str = "latent/map-classifier";

#[derive(Serialize)]
pub(super) struct MapFacts {
    map_accuracy: f64,
    map_hidden: usize,
    map_epochs: usize,
    map_points: usize,
    d2_test_l1: f64,
}

pub(super) fn map<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    trained: &Trained<B>,
) -> Result<Study<MapFacts>> {
    let section = &ctx.config.section::<LatentSection>();
    let (test, device) = (&ctx.data.test, &ctx.device);
    let d2 = trained.at(2).model.valid();
    let (test_codes, _) = d2.encode_images(&test.images, device);
    let classifier = map_classifier(ctx, trained.at(2))?;
    let map_predictions = classifier.predict(&test_codes, device);
    let map_accuracy = map_predictions
        .iter()
        .zip(&test.labels)
        .filter(|(p, l)| p == l)
        .count() as f64
        / test.len() as f64;
    let shown = section.plot_points.min(test.len());
    let points: Vec<(f64, f64)> = test_codes[..2 * shown]
        .chunks(2)
        .map(|c| (c[0] as f64, c[1] as f64))
        .collect();
    let map = class_map(&classifier, &points, section.map_resolution, device);
    let figure = Figure {
        file: "latent_map.svg".into(),
        bytes: latent_map_svg(
            &points,
            &test.labels[..shown],
            &map,
            ("z₁", "z₂"),
            &ctx.data.entry.classes,
        )?
        .into_bytes(),
    };
    Ok(Study {
        tables: Vec::new(),
        figures: vec![figure],
        facts: MapFacts {
            map_accuracy,
            map_hidden: MAP_CLASSIFIER.hidden,
            map_epochs: MAP_CLASSIFIER.epochs,
            map_points: shown,
            d2_test_l1: final_test_error(&trained.at(2).history).l1,
        },
    })
}

/// The map's classifier, loaded or fitted on the codes `d2` (the d=2 AE)
/// gives the training images.
pub(super) fn map_classifier<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    d2: &TrainedAe<B>,
) -> Result<FittedCodeClassifier<B::InnerBackend>> {
    let device = &ctx.device;
    let spec = map_classifier_spec(ctx, &d2.key, ctx.seed(SEED_NAME));
    let fitted = ctx.artifacts.load_or_train::<B::InnerBackend, _, _, _>(
        CODE_CLASSIFIER,
        &spec,
        device,
        || CodeClassifier::init(2, spec.training.hidden, device),
        || {
            let (train_codes, _) = d2
                .model
                .valid()
                .encode_images(&ctx.data.train.images, device);
            let f = fit_code_classifier::<B>(
                &train_codes,
                2,
                &spec.train_set.split().labels,
                &spec.training,
                device,
            );
            Ok((f.model, f.standardisation))
        },
    )?;
    Ok(FittedCodeClassifier {
        model: fitted.model,
        standardisation: fitted.history,
    })
}

/// The most probable digit, and its probability, at the centre of each of
/// `r`×`r` cells spanning the points' bounds.
fn class_map<B: Backend>(
    classifier: &FittedCodeClassifier<B>,
    points: &[(f64, f64)],
    r: usize,
    device: &B::Device,
) -> ClassMap {
    let (x, y) = bounds(points);
    let mut cells = Vec::with_capacity(2 * r * r);
    for row in 0..r {
        for col in 0..r {
            cells.push((x.0 + (col as f64 + 0.5) * (x.1 - x.0) / r as f64) as f32);
            cells.push((y.0 + (row as f64 + 0.5) * (y.1 - y.0) / r as f64) as f32);
        }
    }
    let probabilities = classifier.probabilities(&cells, device);
    let (classes, best_p): (Vec<u8>, Vec<f32>) = probabilities
        .chunks(10)
        .map(|p| {
            let c = (0..10).max_by(|&a, &b| p[a].total_cmp(&p[b])).expect("ten");
            (c as u8, p[c])
        })
        .unzip();
    ClassMap {
        x,
        y,
        resolution: r,
        classes,
        probabilities: best_p,
    }
}

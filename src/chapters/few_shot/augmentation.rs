//! Augmentation, measured (the exercise's data-augmentation question): each
//! draw's training images plus digits generated from a Gaussian per class
//! in the book AE's code space — fitted on the codes of the draw's own
//! training images, the only labels the setting has — against the same
//! draw's from-scratch model, paired by draw.

use std::sync::Arc;

use anyhow::Result;
use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;

use super::{Draw, FewShotSection, OverDraws, Scores, model_name, scratch_spec};
use crate::book::Figure;
use crate::book::table::Table;
use crate::data::{Images, Split};
use crate::experiment::Ctx;
use crate::experiment::models::{
    self, Augmentation, ClassifierSpec, PlannedModel, TrainedAe, TrainedClassifier,
};
use crate::ml::latent::sample_class_gaussian;
use crate::ml::stats::{self, Difference};
use crate::nn::autoencoder::Autoencoder;
use crate::nn::conv_ae::SIDE;
use crate::plot::digit_grid_png;

/// The augmented models' names in the plan: `few-shot/augmented/<draw>`.
pub const MODEL: &str = "few-shot/augmented";

/// Draw `r`'s generated digits derive their seed from `<name>/<r>`.
const GENERATION_SEED: &str = "few-shot/generated";

/// Generated digits per class shown in the figure.
const SHOWN: usize = 10;

/// The augmented classifier's spec for one draw: the scratch model's, with
/// `per_class` generated digits of each class the draw has added by the AE
/// of key `ae_key` (the examples themselves are made by [`generate`]).
pub fn spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    draw: &Draw,
    ae_key: &str,
    per_class: usize,
) -> ClassifierSpec {
    ClassifierSpec {
        augmentation: Some(Augmentation {
            generator: format!(
                "autoencoder {ae_key}: a Gaussian per class of the training images' codes"
            ),
            per_class,
            seed: ctx.seed(&format!("{GENERATION_SEED}/{}", draw.number)),
            examples: None,
        }),
        ..scratch_spec(ctx, draw)
    }
}

/// The models the study adds to the plan (none when it is switched off).
pub fn models<'a, B: AutodiffBackend>(ctx: &'a Ctx<B>, draws: &[Draw]) -> Vec<PlannedModel<'a>> {
    let per_class = ctx.config.section::<FewShotSection>().generated_per_class;
    if per_class == 0 {
        return Vec::new();
    }
    let ae = ctx
        .artifacts
        .key(models::CONV_AE, &models::book_autoencoder_spec(ctx));
    let mut planned = vec![models::planned_book_autoencoder(ctx)];
    planned.extend(draws.iter().map(|d| {
        let d = d.clone();
        PlannedModel::new(
            ctx.artifacts,
            model_name(MODEL, &d),
            models::CLASSIFIER,
            &spec(ctx, &d, &ae, per_class),
            move || {
                let ae = models::book_autoencoder(ctx)?;
                let spec = generated_spec(ctx, &d, &ae, per_class);
                classifier(ctx, &d, spec).map(drop)
            },
        )
    }));
    planned
}

/// Draw `draw`'s classifier on its real and generated digits (`spec` from
/// [`generated_spec`]), loaded or trained.
pub fn classifier<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    draw: &Draw,
    spec: ClassifierSpec,
) -> Result<TrainedClassifier<B>> {
    let name = format!("few-shot, augmented, draw {}", draw.number);
    models::classifier(ctx, &name, spec, None)
}

/// `per_class` digits for every class among `train`'s labels, decoded by
/// `ae` from codes drawn from that class's Gaussian (mean and covariance of
/// the class's codes), labelled with the class, in class order. A class
/// `train` lacks gets none.
pub fn generate<B: AutodiffBackend>(
    ae: &TrainedAe<B>,
    train: &Split,
    per_class: usize,
    seed: u64,
    device: &B::Device,
) -> Split {
    let model = ae.model.valid();
    let (codes, dim) = model.encode_images(&train.images, device);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for class in 0..10u8 {
        if !train.labels.contains(&class) {
            continue;
        }
        let z = sample_class_gaussian(&codes, dim, &train.labels, class, per_class, &mut rng);
        for image in model.decode_codes(&z, dim, device) {
            pixels.extend(image);
            labels.push(class);
        }
    }
    Split {
        images: Images {
            count: labels.len(),
            rows: train.images.rows,
            cols: train.images.cols,
            pixels,
        },
        labels,
    }
}

/// One draw's augmented spec with its generated digits attached.
pub fn generated_spec<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    draw: &Draw,
    ae: &TrainedAe<B>,
    per_class: usize,
) -> ClassifierSpec {
    let mut s = spec(ctx, draw, &ae.key, per_class);
    if let Some(a) = &mut s.augmentation {
        a.examples = Some(Arc::new(generate(
            ae,
            draw.train.split(),
            per_class,
            a.seed,
            &ctx.device,
        )));
    }
    s
}

/// What the text reasons with.
#[derive(Serialize)]
pub struct AugmentationFacts {
    pub per_class: usize,
    /// Generated digits of the first draw, and classes it has none of.
    pub generated: usize,
    pub missing_classes: Vec<u8>,
    pub augmented: OverDraws,
    /// Augmented minus scratch, paired by draw: at the chosen and the last epoch.
    pub selected: Difference,
    pub last: Difference,
    /// Gradient steps of one scratch and one augmented training (first draw).
    pub scratch_steps: usize,
    pub augmented_steps: usize,
    pub t_quantile: f64,
}

#[derive(Serialize)]
struct AugmentationRow {
    draw: u64,
    real: u64,
    generated: u64,
    scratch_selected: f64,
    augmented_selected: f64,
    scratch_last: f64,
    augmented_last: f64,
}

/// The study's table, figure and facts from each draw's two trainings.
pub fn study(
    draws: &[Draw],
    specs: &[ClassifierSpec],
    scratch: &[Scores],
    augmented: &[Scores],
    batch_size: usize,
) -> Result<(Table, Figure, AugmentationFacts)> {
    let generated = |s: &ClassifierSpec| -> Arc<Split> {
        s.augmentation
            .as_ref()
            .and_then(|a| a.examples.clone())
            .expect("augmented specs carry their generated digits")
    };
    let rows: Vec<AugmentationRow> = draws
        .iter()
        .zip(specs)
        .zip(scratch.iter().zip(augmented))
        .map(|((d, s), (a, b))| AugmentationRow {
            draw: d.number as u64,
            real: d.train.len() as u64,
            generated: generated(s).len() as u64,
            scratch_selected: a.selected_test_accuracy,
            augmented_selected: b.selected_test_accuracy,
            scratch_last: a.last_test_accuracy,
            augmented_last: b.last_test_accuracy,
        })
        .collect();
    let by = |xs: &[Scores], f: fn(&Scores) -> f64| xs.iter().map(f).collect::<Vec<_>>();
    let first = generated(&specs[0]);
    let per_class = specs[0].augmentation.as_ref().expect("augmented").per_class;
    let missing_classes = (0..10u8)
        .filter(|c| !draws[0].train.split().labels.contains(c))
        .collect();
    // Whole batches only, as the training takes them.
    let steps = |n: usize| specs[0].training.epochs * (n / batch_size.min(n)).max(1);
    let facts = AugmentationFacts {
        per_class,
        generated: first.len(),
        missing_classes,
        augmented: OverDraws::of(augmented),
        selected: stats::paired_difference(
            &by(augmented, |s| s.selected_test_accuracy),
            &by(scratch, |s| s.selected_test_accuracy),
        ),
        last: stats::paired_difference(
            &by(augmented, |s| s.last_test_accuracy),
            &by(scratch, |s| s.last_test_accuracy),
        ),
        scratch_steps: steps(draws[0].train.len()),
        augmented_steps: steps(draws[0].train.len() + first.len()),
        t_quantile: stats::t_quantile(draws.len() - 1),
    };
    // One row per class of the first draw's generated digits.
    let grid: Vec<Vec<Vec<u8>>> = (0..10u8)
        .map(|c| {
            (0..first.len())
                .filter(|&i| first.labels[i] == c)
                .take(SHOWN)
                .map(|i| first.images.image(i).to_vec())
                .collect::<Vec<_>>()
        })
        .filter(|row| !row.is_empty())
        .collect();
    let figure = Figure {
        file: "augmented-digits.png".into(),
        bytes: digit_grid_png(&grid, SIDE, 2)?,
    };
    Ok((
        Table::from_rows("augmentation", &["draw"], &rows)?,
        figure,
        facts,
    ))
}

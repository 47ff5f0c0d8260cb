//! The chapter's trainings, side by side: the book's conv AE, the fully
//! connected AE with the same loss and budget, and (optionally) the conv
//! AE, same seed, trained on plain L1 from the first step: the control for
//! the plateau.

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;

use super::plain_l1_spec;
use crate::experiment::Ctx;
use crate::experiment::models::{self, Outcome, TrainedAe, TrainedMlpAe};
use crate::experiment::sections::AutoencoderSection;

pub(super) struct Trained<B: AutodiffBackend> {
    /// The model of the chapter (MSE warm-up, then L1).
    pub main: TrainedAe<B>,
    pub mlp: TrainedMlpAe<B>,
    /// The plain-L1 control, if the section asks for it.
    pub control: Option<TrainedAe<B>>,
}

/// One training's result, whichever kind of AE it trains.
enum Job<B: AutodiffBackend> {
    Conv(Box<TrainedAe<B>>),
    Mlp(Box<TrainedMlpAe<B>>),
}

/// The plain-L1 control, loaded or trained: it may end on the plateau
/// (that is what it measures).
pub(super) fn plain_l1<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<TrainedAe<B>> {
    models::autoencoder(
        ctx,
        "conv AE (plain L1)",
        plain_l1_spec(ctx),
        Outcome::MayPlateau,
    )
}

pub(super) fn train<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Trained<B>> {
    type Run<'a, B> = Box<dyn FnOnce() -> Result<Job<B>> + Send + 'a>;
    let mut jobs: Vec<Run<B>> = vec![
        Box::new(|| models::book_autoencoder(ctx).map(|a| Job::Conv(Box::new(a)))),
        Box::new(|| models::mlp_autoencoder(ctx).map(|a| Job::Mlp(Box::new(a)))),
    ];
    if ctx
        .config
        .section::<AutoencoderSection>()
        .train_plain_l1_control
    {
        jobs.push(Box::new(|| plain_l1(ctx).map(|a| Job::Conv(Box::new(a)))));
    }
    let (mut main, mut mlp, mut control) = (None, None, None);
    for t in crate::chapters::parallel(jobs)? {
        match t {
            Job::Conv(a) if main.is_none() => main = Some(*a),
            Job::Conv(a) => control = Some(*a),
            Job::Mlp(a) => mlp = Some(*a),
        }
    }
    Ok(Trained {
        main: main.expect("main model"),
        mlp: mlp.expect("MLP model"),
        control,
    })
}

//! The chapter's trainings: one AE per d of the sweep, the book AE when
//! the sweep lacks its d, and one AE per draw of each small training set;
//! their timing.

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use super::{small_draws, small_spec, sweep_spec};
use crate::book::table::Table;
use crate::chapters::latent::LatentSection;
use crate::experiment::Ctx;
use crate::experiment::models::{self, AutoencoderSpec, Outcome, TrainedAe};
use crate::experiment::sections::AutoencoderSection;
use crate::nn::conv_ae::ConvAutoencoderConfig;

/// An AE trained on draw `draw` (1-based) of `n` class-balanced images.
pub(super) struct SmallAe<B: AutodiffBackend> {
    pub n: usize,
    pub draw: usize,
    pub spec: AutoencoderSpec<ConvAutoencoderConfig>,
    pub ae: TrainedAe<B>,
}

pub(super) struct Trained<B: AutodiffBackend> {
    /// The sweep's d, in the section's order.
    pub dims: Vec<usize>,
    /// The book AE's d.
    pub book_d: usize,
    /// One AE per d of `dims`, then the book AE if `dims` lacks `book_d`.
    sweep: Vec<TrainedAe<B>>,
    /// In the order of the section's `small_train_sizes`, draws in order.
    pub small: Vec<SmallAe<B>>,
}

/// The sweep's AE with latent size `d`, loaded or trained.
pub(super) fn sweep_ae<B: AutodiffBackend>(ctx: &Ctx<B>, d: usize) -> Result<TrainedAe<B>> {
    let name = format!("conv AE d={d}");
    models::autoencoder(ctx, &name, sweep_spec(ctx, d), Outcome::MustLearn)
}

/// The AE of draw `r` of `n` images (`spec` from `small_spec`), loaded or
/// trained: it must learn its training images.
pub(super) fn small_ae<B: AutodiffBackend>(
    ctx: &Ctx<B>,
    n: usize,
    r: usize,
    spec: AutoencoderSpec<ConvAutoencoderConfig>,
) -> Result<TrainedAe<B>> {
    let name = format!("conv AE on {n} images, draw {r}");
    models::autoencoder(ctx, &name, spec, Outcome::MustLearnTrainingSet)
}

/// Trains (or loads) every AE of the chapter, side by side, in the order
/// the chapter has always requested them.
pub(super) fn train<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<Trained<B>> {
    let section = &ctx.config.section::<LatentSection>();
    let book_d = ctx.config.section::<AutoencoderSection>().latent_dim;
    let small_specs: Vec<(usize, usize, AutoencoderSpec<ConvAutoencoderConfig>)> =
        small_draws(section)
            .into_iter()
            .map(|(n, r)| Ok((n, r, small_spec(ctx, n, r)?)))
            .collect::<Result<_>>()?;
    type Job<'a, B> = Box<dyn FnOnce() -> Result<TrainedAe<B>> + Send + 'a>;
    let mut jobs: Vec<Job<B>> = Vec::new();
    for &d in &section.dims {
        jobs.push(Box::new(move || sweep_ae(ctx, d)));
    }
    if !section.dims.contains(&book_d) {
        jobs.push(Box::new(|| models::book_autoencoder(ctx)));
    }
    for (n, r, spec) in &small_specs {
        let (n, r, spec) = (*n, *r, spec.clone());
        jobs.push(Box::new(move || small_ae(ctx, n, r, spec)));
    }
    let mut sweep = crate::chapters::parallel(jobs)?;
    let small = sweep
        .split_off(sweep.len() - small_specs.len())
        .into_iter()
        .zip(small_specs)
        .map(|(ae, (n, draw, spec))| SmallAe { n, draw, spec, ae })
        .collect();
    Ok(Trained {
        dims: section.dims.clone(),
        book_d,
        sweep,
        small,
    })
}

#[derive(Serialize)]
struct TimingRow {
    model: String,
    train_seconds: f64,
    from_cache: bool,
}

impl<B: AutodiffBackend> Trained<B> {
    fn book_in_sweep(&self) -> bool {
        self.dims.contains(&self.book_d)
    }

    /// The sweep's AE with latent size `d` (a d of the sweep).
    pub fn at(&self, d: usize) -> &TrainedAe<B> {
        let i = self.dims.iter().position(|&x| x == d).expect("d in sweep");
        &self.sweep[i]
    }

    /// The book's AE: the sweep's at its d, or the one trained beside it.
    pub fn book(&self) -> &TrainedAe<B> {
        if self.book_in_sweep() {
            self.at(self.book_d)
        } else {
            self.sweep.last().expect("book AE")
        }
    }

    /// The small sets' AEs grouped by size, in the section's order.
    pub fn small_sets(&self) -> Vec<(usize, Vec<&SmallAe<B>>)> {
        let mut sets: Vec<(usize, Vec<&SmallAe<B>>)> = Vec::new();
        for s in &self.small {
            match sets.last_mut() {
                Some((n, draws)) if *n == s.n => draws.push(s),
                _ => sets.push((s.n, vec![s])),
            }
        }
        sets
    }

    /// Training time of every AE (volatile).
    pub fn timing(&self) -> Result<Table> {
        let mut names: Vec<String> = self.dims.iter().map(|d| format!("d={d}")).collect();
        if !self.book_in_sweep() {
            names.push(format!("d={} (book)", self.book_d));
        }
        names.extend(
            self.small
                .iter()
                .map(|s| format!("{} images, draw {}", s.n, s.draw)),
        );
        let all = self.sweep.iter().chain(self.small.iter().map(|s| &s.ae));
        let rows: Vec<TimingRow> = names
            .into_iter()
            .zip(all)
            .map(|(model, a)| TimingRow {
                model,
                train_seconds: a.history.iter().map(|r| r.train_seconds).sum(),
                from_cache: a.cached,
            })
            .collect();
        Ok(Table::from_rows("timing", &["model"], &rows)?.volatile())
    }
}

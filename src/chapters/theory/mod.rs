//! Chapter `theory`: the exercise's theoretical claims, each checked
//! numerically with burn tensors in the run — shift equivariance of
//! convolution, bias, ReLU, strided pooling and a small CNN; linearity and
//! zero padding's borders; the book's own encoder; and the Jacobians of a
//! bias, a fully connected and a convolution layer in their inputs and
//! parameters.

mod encoder;
mod jacobian;
mod linearity;
mod shift;

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use serde::Serialize;

use crate::book::ChapterOutput;
use crate::book::table::Table;
use crate::config::{BookConfig, Config};
use crate::experiment::Ctx;

pub use jacobian::{Jacobian, autodiff_jacobian, toeplitz};
pub use shift::{Op, best_shift_error, circular_conv, shift_error};

pub const TABLES: &[&str] = &["checks"];

/// The `[chapter.*]` sections this chapter's results depend on.
pub const SECTIONS: &[&str] = &[];

pub fn title(_config: &Config) -> String {
    "Theory, Checked Numerically".into()
}

/// The chapter has no `[chapter.theory]` section of its own.
pub fn check_section(book: &mut BookConfig) -> Result<(), String> {
    crate::config::section::none(book, "theory")
}

/// Errors below this are floating-point noise: the claim holds.
pub const HOLDS_BELOW: f64 = 1e-4;
/// Errors above this are real: the operation is not equivariant.
pub const FAILS_ABOVE: f64 = 1e-2;

/// The largest absolute element: the error every check measures.
fn max_abs<B: burn::tensor::backend::Backend, const D: usize>(
    t: burn::tensor::Tensor<B, D>,
) -> f64 {
    use burn::tensor::ElementConversion;
    t.abs().max().into_scalar().elem::<f64>()
}

/// Length of the 1-D test signals.
const LEN: usize = 32;

/// What a claim says the two sides of its check are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Expected {
    Equal,
    Different,
}

/// What a check found, against what its claim says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
enum Verdict {
    #[serde(rename = "holds")]
    Holds,
    #[serde(rename = "FAILS")]
    Fails,
    #[serde(rename = "fails, as stated")]
    FailsAsStated,
    #[serde(rename = "UNEXPECTEDLY HOLDS")]
    UnexpectedlyHolds,
}

impl Verdict {
    /// The check came out as its claim says.
    fn as_stated(self) -> bool {
        matches!(self, Verdict::Holds | Verdict::FailsAsStated)
    }
}

/// One claim, checked: the error its test measured.
struct Check {
    claim: String,
    test: String,
    expected: Expected,
    error: f64,
}

impl Check {
    fn verdict(&self) -> Verdict {
        match (self.expected, self.error) {
            (Expected::Equal, e) if e < HOLDS_BELOW => Verdict::Holds,
            (Expected::Equal, _) => Verdict::Fails,
            (Expected::Different, e) if e > FAILS_ABOVE => Verdict::FailsAsStated,
            (Expected::Different, _) => Verdict::UnexpectedlyHolds,
        }
    }
}

/// What the chapter's text reasons with, each computed once.
#[derive(Serialize)]
struct Facts {
    all_as_stated: bool,
    worst_holding: f64,
    smallest_failing: f64,
    holds_below: f64,
    fails_above: f64,
    len: usize,
    kernel: Vec<f64>,
    /// The book encoder's convolution stride, and both convolutions' together.
    encoder_stride: usize,
    encoder_total_stride: usize,
}

/// The chapter trains no cached model.
pub fn models<'a, B: AutodiffBackend>(
    _: &'a Ctx<B>,
) -> Result<Vec<crate::experiment::models::PlannedModel<'a>>> {
    Ok(Vec::new())
}

pub fn run<B: AutodiffBackend>(ctx: &Ctx<B>) -> Result<ChapterOutput> {
    let mut out = ChapterOutput::default();
    let device = &ctx.device;
    let seed = ctx.seed("theory/signals");
    out.seeds.insert("signals".into(), seed);
    // Every random tensor of both studies is drawn under one seed, in order.
    let guard = crate::nn::init::init_lock();
    B::seed(device, seed);
    let mut checks = shift::equivariance::<B>(device);
    let jacobians = jacobian::jacobians::<B>(device);
    checks.extend(linearity::checks::<B>(device));
    // The book's encoder architecture, with weights from the same seed:
    // the property is the architecture's, whatever the weights.
    let encoder = crate::experiment::models::conv_ae_config(ctx.config)
        .init::<B>(device)
        .encoder;
    let digit = encoder::unclipped_digit(&ctx.data.test.images);
    let encoder_checks = encoder::checks(&encoder, &ctx.data.test.select(&[digit]).images, device);
    drop(guard);
    checks.extend(encoder_checks);
    checks.extend(jacobians.checks);

    out.tables.push(checks_table(&checks)?);
    out.set_facts(&facts(&checks, jacobians.kernel))?;
    Ok(out)
}

#[derive(Serialize)]
struct CheckRow<'a> {
    claim: &'a str,
    check: &'a str,
    expected: Expected,
    max_abs_error: f64,
    verdict: Verdict,
}

fn checks_table(checks: &[Check]) -> Result<Table> {
    let rows: Vec<CheckRow> = checks
        .iter()
        .map(|c| CheckRow {
            claim: &c.claim,
            check: &c.test,
            expected: c.expected,
            max_abs_error: c.error,
            verdict: c.verdict(),
        })
        .collect();
    Table::from_rows("checks", &["claim", "check"], &rows)
}

/// `kernel`: the convolution kernel of the Jacobian check.
fn facts(checks: &[Check], kernel: Vec<f64>) -> Facts {
    let all_as_stated = checks.iter().all(|c| c.verdict().as_stated());
    let worst_holding = checks
        .iter()
        .filter(|c| c.expected == Expected::Equal)
        .map(|c| c.error)
        .fold(0.0, f64::max);
    let smallest_failing = checks
        .iter()
        .filter(|c| c.expected == Expected::Different)
        .map(|c| c.error)
        .fold(f64::INFINITY, f64::min);
    Facts {
        all_as_stated,
        worst_holding,
        smallest_failing,
        holds_below: HOLDS_BELOW,
        fails_above: FAILS_ABOVE,
        len: LEN,
        encoder_stride: crate::nn::conv_ae::STRIDE,
        encoder_total_stride: crate::nn::conv_ae::STRIDE * crate::nn::conv_ae::STRIDE,
        // Toeplitz example for the text: the kernel actually used.
        kernel: kernel
            .iter()
            .map(|v| (v * 1000.0).round() / 1000.0)
            .collect(),
    }
}

//! `ex2 bench`: runs the benchmarks (`app::bench`), prints medians and
//! ratios, where the latest run spent its time, and writes a CSV.

use anyhow::Result;

use super::Exit;
use crate::app::bench::{self, BenchOptions, BenchReport, Kind, computed_record};
use crate::app::cli::{BenchArgs, BookArgs};
use crate::app::runner::load_data;
use crate::base::atomic::write_atomic;
use crate::runtime::scheduler;
use crate::store::{Run, Runs};

pub fn run(book: &BookArgs, args: &BenchArgs) -> Result<Exit> {
    let config = super::load_config(book)?;
    let backend = args.backend.backend;
    crate::app::backend::ensure_compiled(backend)?;
    let data = load_data(&config, args.data.data_dir.as_deref())?;
    let options = BenchOptions {
        batches: args.batches,
        repeats: args.repeats,
        only: args.only.clone(),
    };
    let report = bench::measure(&config, &data, backend, &options)?;

    println!(
        "ex2 bench: {}, profile `{}`, {} repeats (+1 warm-up)",
        report.device, config.profile_name, args.repeats
    );
    print_measurements(&report);

    // Where the latest complete run spent its time, per chapter.
    let runs = Runs::of(&config);
    if let Some(latest) = runs.latest()? {
        print_chapter_times(&runs, &latest)?;
    }

    let out = args.csv.clone().unwrap_or_else(|| {
        runs.bench_dir().join(format!(
            "{}-{}.csv",
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ"),
            backend.as_str()
        ))
    });
    write_atomic(&out, &report.csv()?)?;
    println!("\nwrote {}", out.display());
    Ok(Exit::Success)
}

fn print_measurements(report: &BenchReport) {
    let width = report
        .measurements
        .iter()
        .map(|m| m.name.len())
        .max()
        .unwrap_or(0);
    println!(
        "{:<width$}  {:>10}  {:>10}  {:>10}  unit",
        "measurement", "median", "min", "max"
    );
    for m in &report.measurements {
        let v = m.sorted();
        // Rates in whole images, durations to the hundredth of a second.
        let digits = if m.unit == "s" { 2 } else { 0 };
        println!(
            "{:<width$}  {:>10.digits$}  {:>10.digits$}  {:>10.digits$}  {}",
            m.name,
            m.median(),
            v[0],
            v[v.len() - 1],
            m.unit
        );
    }
    // The ratios of what was measured (`--only` may leave some out).
    let Some(alone) = report.median(Kind::ConvAeTraining) else {
        return;
    };
    if let (Some(one), Some(all)) = (
        report.median(Kind::ConcurrentOneThread),
        report.median(Kind::ConcurrentAllThreads),
    ) {
        println!(
            "two concurrent trainings / one alone: {:.2}× (one thread each), {:.2}× ({} threads each)",
            one / alone,
            all / alone,
            scheduler::cores()
        );
    }
    if let Some(other) = report.median(Kind::ConvAeOtherStrategy) {
        println!(
            "this backend's convolutions / the other strategy's: {:.2}×",
            alone / other
        );
    }
}

/// The latest run's chapters: wall time and thread-seconds by phase. A
/// chapter the run reused (`ex2 chapter`) shows the record of the run that
/// computed it.
fn print_chapter_times(runs: &Runs, latest: &Run) -> Result<()> {
    let manifest = latest.manifest()?;
    let id = &latest.id;
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
        let (c, status) = computed_record(runs, c);
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
    Ok(())
}

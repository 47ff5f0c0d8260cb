//! `ex2 list`: chapters in book order, their tables, and the latest run's state.

use anyhow::Result;

use crate::app::cli::GlobalArgs;
use crate::app::runner::complete_runs;
use crate::book::ChapterId;
use crate::store::Manifest;

pub fn run(global: &GlobalArgs) -> Result<()> {
    let config = super::load_config(global)?;
    let runs_dir = config.runs_dir();
    let latest = complete_runs(&runs_dir)?.pop();
    let manifest: Option<Manifest> = latest.as_ref().and_then(|id| {
        let bytes = std::fs::read(runs_dir.join(id).join("manifest.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    });
    match &latest {
        Some(id) => println!("latest run: {id} ({})", runs_dir.join(id).display()),
        None => println!("no complete run in {}", runs_dir.display()),
    }
    println!(
        "{:<20} {:<37} {:<8} {:>8}  tables",
        "chapter", "title", "latest", "seconds"
    );
    for id in &config.book.book.chapters {
        let record = manifest
            .as_ref()
            .and_then(|m| m.chapters.iter().find(|c| c.id == id.as_str()));
        let (state, secs) = match record {
            Some(r) => (r.status.clone(), format!("{:.1}", r.wall_seconds)),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:<20} {:<37} {:<8} {:>8}  {}",
            id.as_str(),
            crate::chapters::title(*id, &config),
            state,
            secs,
            crate::chapters::tables(*id).join(", ")
        );
    }
    let unused: Vec<_> = ChapterId::ALL
        .iter()
        .filter(|id| !config.book.book.chapters.contains(id))
        .map(|id| id.as_str())
        .collect();
    if !unused.is_empty() {
        println!("known but not in book.chapters: {}", unused.join(", "));
    }
    Ok(())
}

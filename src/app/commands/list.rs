//! `ex2 list`: chapters in book order, their tables, and the latest run's state.

use anyhow::Result;

use super::Exit;
use crate::app::cli::BookArgs;
use crate::book::ChapterId;
use crate::store::Runs;

pub fn run(book: &BookArgs) -> Result<Exit> {
    let config = super::load_config(book)?;
    let runs = Runs::of(&config);
    let latest = runs.latest()?;
    let manifest = latest.as_ref().map(|run| run.manifest()).transpose()?;
    match &latest {
        Some(run) => println!("latest run: {} ({})", run.id, run.dir.display()),
        None => println!("no complete run in {}", runs.dir().display()),
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
    Ok(Exit::Success)
}

//! `ex2 list`: chapters in book order, their tables, and the latest run's state.

use anyhow::Result;
use serde::Serialize;

use super::Exit;
use crate::app::cli::{BookArgs, ListArgs, PlanFormat};
use crate::book::ChapterId;
use crate::store::Runs;

/// What `list` shows, also as JSON.
#[derive(Debug, Serialize)]
struct Listing {
    runs_dir: String,
    latest_run: Option<String>,
    chapters: Vec<ChapterLine>,
    /// Chapters the binary knows that book.chapters leaves out.
    unused: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
struct ChapterLine {
    id: &'static str,
    title: String,
    tables: &'static [&'static str],
    /// In the latest run: ok, failed or reused (absent: not in it).
    status: Option<String>,
    seconds: Option<f64>,
}

pub fn run(book: &BookArgs, args: &ListArgs) -> Result<Exit> {
    let config = super::load_config(book)?;
    let runs = Runs::of(&config);
    let latest = runs.latest()?;
    let manifest = latest.as_ref().map(|run| run.manifest()).transpose()?;
    let chapters = config
        .book
        .book
        .chapters
        .iter()
        .map(|&id| {
            let record = manifest
                .as_ref()
                .and_then(|m| m.chapters.iter().find(|c| c.id == id.as_str()));
            ChapterLine {
                id: id.as_str(),
                title: crate::chapters::title(id, &config),
                tables: crate::chapters::tables(id),
                status: record.map(|r| r.status.clone()),
                seconds: record.map(|r| r.wall_seconds),
            }
        })
        .collect();
    let listing = Listing {
        runs_dir: runs.dir().display().to_string(),
        latest_run: latest.as_ref().map(|r| r.id.clone()),
        chapters,
        unused: ChapterId::ALL
            .iter()
            .filter(|id| !config.book.book.chapters.contains(id))
            .map(|id| id.as_str())
            .collect(),
    };
    match args.format {
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&listing)?),
        PlanFormat::Text => print_text(&listing, latest.as_ref().map(|r| &r.dir)),
    }
    Ok(Exit::Success)
}

fn print_text(listing: &Listing, latest_dir: Option<&std::path::PathBuf>) {
    match (&listing.latest_run, latest_dir) {
        (Some(id), Some(dir)) => println!("latest run: {id} ({})", dir.display()),
        _ => println!("no complete run in {}", listing.runs_dir),
    }
    println!(
        "{:<20} {:<37} {:<8} {:>8}  tables",
        "chapter", "title", "latest", "seconds"
    );
    for c in &listing.chapters {
        println!(
            "{:<20} {:<37} {:<8} {:>8}  {}",
            c.id,
            c.title,
            c.status.as_deref().unwrap_or("-"),
            c.seconds.map_or("-".to_string(), |s| format!("{s:.1}")),
            c.tables.join(", ")
        );
    }
    if !listing.unused.is_empty() {
        println!(
            "known but not in book.chapters: {}",
            listing.unused.join(", ")
        );
    }
}

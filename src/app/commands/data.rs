//! `ex2 data fetch|verify`: for the profile's dataset (or `--dataset`).

use anyhow::Result;

use super::Exit;
use crate::app::cli::{BookArgs, DataAction, DataCommand};
use crate::app::runner::dataset_dir;
use crate::data::{self, DatasetEntry};

pub fn run(book: &BookArgs, args: &DataCommand) -> Result<Exit> {
    let config = super::load_config(book)?;
    let dir = dataset_dir(&config, args.data.data_dir.as_deref());
    let name = config.profile.dataset.as_str();
    let entry = config.dataset();
    match args.action {
        DataAction::Fetch => {
            if !entry.has_sources() {
                println!(
                    "dataset `{name}` ({}) lives in {}; its entry names nowhere to fetch it from",
                    entry.title,
                    dir.display()
                );
                return verify(name, entry, &dir);
            }
            for f in data::fetch::fetch(name, entry, &dir)? {
                println!("{:<26} {}", f.name, f.from);
            }
            verify(name, entry, &dir)
        }
        DataAction::Verify => verify(name, entry, &dir),
    }
}

fn verify(name: &str, entry: &DatasetEntry, dir: &std::path::Path) -> Result<Exit> {
    println!("dataset `{name}` ({}) in {}", entry.title, dir.display());
    let mut first_error = None;
    for f in entry.files.all() {
        match data::read_verified(dir, f, name, entry) {
            Ok(Some(_)) => println!(
                "ok       {} ({} bytes, sha256 {})",
                f.name, f.bytes, f.sha256
            ),
            Ok(None) => {
                println!("missing  {}", f.name);
                first_error.get_or_insert_with(|| {
                    anyhow::anyhow!(
                        "{} of dataset `{name}` is missing from {}; run `ex2 data fetch`",
                        f.name,
                        dir.display()
                    )
                });
            }
            Err(e) => {
                println!("BAD      {e}");
                first_error.get_or_insert(e.into());
            }
        }
    }
    match first_error {
        None => Ok(Exit::Success),
        Some(e) => Err(e),
    }
}

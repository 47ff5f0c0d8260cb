//! `ex2 data fetch|verify`.

use anyhow::Result;

use super::Exit;
use crate::app::cli::{BookArgs, DataAction, DataCommand};
use crate::app::runner::dataset_dir;
use crate::data;
use crate::data::DatasetSource;

pub fn run(book: &BookArgs, args: &DataCommand) -> Result<Exit> {
    let config = super::load_config(book)?;
    let dir = dataset_dir(&config, args.data.data_dir.as_deref());
    match args.action {
        DataAction::Fetch => {
            if config.profile.dataset == DatasetSource::Fixture {
                println!(
                    "profile `{}` uses the shipped fixture in {}; nothing to fetch",
                    config.profile_name,
                    dir.display()
                );
                return verify(config.profile.dataset, &dir);
            }
            for f in data::fetch::fetch_mnist(&dir)? {
                println!("{:<26} {}", f.name, f.from);
            }
            verify(DatasetSource::Mnist, &dir)
        }
        DataAction::Verify => verify(config.profile.dataset, &dir),
    }
}

fn verify(source: DatasetSource, dir: &std::path::Path) -> Result<Exit> {
    let mut first_error = None;
    for f in data::files_of(source) {
        match data::read_verified(dir, f) {
            Ok(Some(_)) => println!(
                "ok       {} ({} bytes, sha256 {})",
                f.name, f.bytes, f.sha256
            ),
            Ok(None) => {
                println!("missing  {}", f.name);
                first_error.get_or_insert_with(|| {
                    anyhow::anyhow!(
                        "{} is missing from {}; run `ex2 data fetch`",
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

//! `ex2 data fetch|verify`.

use anyhow::Result;

use crate::app::cli::{DataAction, GlobalArgs};
use crate::app::runner::dataset_dir;
use crate::data;
use crate::data::DatasetSource;

pub fn run(global: &GlobalArgs, action: &DataAction) -> Result<()> {
    let config = super::load_config(global)?;
    let dir = dataset_dir(&config, global.data_dir.as_deref());
    match action {
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

fn verify(source: DatasetSource, dir: &std::path::Path) -> Result<()> {
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
        None => Ok(()),
        Some(e) => Err(e),
    }
}

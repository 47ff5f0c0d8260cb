//! One module per subcommand.

pub mod bench;
pub mod build_report;
pub mod chapter;
pub mod data;
pub mod diff;
pub mod list;
pub mod plan;

use anyhow::Result;

use crate::app::cli::GlobalArgs;
use crate::config::Config;

pub fn load_config(global: &GlobalArgs) -> Result<Config> {
    let mut config = Config::load_with(&global.book, global.profile.as_deref(), &global.set)?;
    if let Some(n) = global.seeds {
        if n == 0 {
            return Err(crate::base::error::Ex2Error::Config {
                file: global.book.clone(),
                message: "--seeds must be at least 1 (got 0)".into(),
            }
            .into());
        }
        config.profile.seeds = n;
    }
    Ok(config)
}

//! One module per subcommand.

pub mod bench;
pub mod build_report;
pub mod chapter;
pub mod data;
pub mod diff;
pub mod list;

use anyhow::Result;

use crate::cli::GlobalArgs;
use crate::config::Config;

pub fn load_config(global: &GlobalArgs) -> Result<Config> {
    Ok(Config::load_with(
        &global.book,
        global.profile.as_deref(),
        &global.set,
    )?)
}

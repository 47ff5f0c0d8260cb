//! What a chapter produces: its metric tables, figures, facts and seeds.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use serde_json::Value;

use super::table::Table;

/// A figure file of a chapter (SVG or PNG bytes).
#[derive(Debug, Clone)]
pub struct Figure {
    pub file: String,
    pub bytes: Vec<u8>,
}

/// What a chapter hands to the store and the template.
#[derive(Debug, Clone, Default)]
pub struct ChapterOutput {
    pub tables: Vec<Table>,
    pub figures: Vec<Figure>,
    /// Named measured values the template reasons with.
    pub facts: serde_json::Map<String, Value>,
    /// Experiment name → seed it ran with.
    pub seeds: BTreeMap<String, u64>,
}

impl ChapterOutput {
    /// Sets the facts from the chapter's typed facts (a struct: one field a
    /// fact; non-finite numbers become null).
    pub fn set_facts(&mut self, facts: &impl Serialize) -> Result<()> {
        match serde_json::to_value(facts)? {
            Value::Object(map) => {
                self.facts.extend(map);
                Ok(())
            }
            other => anyhow::bail!("a chapter's facts are a struct, not {other}"),
        }
    }
}

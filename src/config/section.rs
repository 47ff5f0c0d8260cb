//! `[chapter.<id>]` sections: each is a typed struct that lives with the
//! code it configures (the chapter's folder, or `experiment` for the shared
//! models' `autoencoder` and `classifier`). book.toml keeps them as values
//! until the chapters' registry checks each against its type
//! ([`complete`]): unknown keys and wrong types are errors naming the key,
//! `validate` checks the rest, and the section goes back with its defaults
//! filled in.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::BookConfig;

/// A `[chapter.<id>]` section of book.toml.
pub trait Section: Serialize + DeserializeOwned + Default {
    /// The `<id>` of `[chapter.<id>]`.
    const ID: &'static str;

    /// Checks values serde cannot; every message names the key
    /// (`chapter.<id>.<key>`). `book` for checks against other sections.
    fn validate(&self, book: &BookConfig) -> Result<(), String> {
        let _ = book;
        Ok(())
    }
}

/// `chapter.<id>.<key>`, as error messages name a setting.
pub fn key(id: &str, key: &str) -> String {
    format!("chapter.{id}.{key}")
}

/// Parses and checks section `S` of `book`, and stores it back with its
/// defaults (a section book.toml leaves out is all defaults).
pub fn complete<S: Section>(book: &mut BookConfig) -> Result<(), String> {
    let raw = book
        .chapter
        .remove(S::ID)
        .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
    // The path names the setting a type error is in (serde alone names
    // only the section).
    let section: S = serde_path_to_error::deserialize(raw).map_err(|e| {
        let path = e.path().to_string();
        if path == "." {
            format!("[chapter.{}]: {}", S::ID, e.inner())
        } else {
            format!("chapter.{}.{path}: {}", S::ID, e.inner())
        }
    })?;
    section.validate(book)?;
    let value = serde_json::to_value(&section).expect("a section serialises");
    book.chapter.insert(S::ID.to_string(), value);
    Ok(())
}

/// Chapter `id` has no section: `[chapter.<id>]` in book.toml is an error.
pub fn none(book: &BookConfig, id: &str) -> Result<(), String> {
    match book.chapter.get(id) {
        None => Ok(()),
        Some(_) => Err(format!(
            "[chapter.{id}]: the {id} chapter has no settings of its own"
        )),
    }
}

/// The section `id` of `book` as type `S` (its defaults when absent).
pub(super) fn read<S: Section>(book: &BookConfig, id: &str) -> S {
    match book.chapter.get(id) {
        None => S::default(),
        Some(value) => serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("[chapter.{id}] was checked at load: {e}")),
    }
}

pub fn positive(key: &str, value: usize) -> Result<(), String> {
    if value == 0 {
        Err(format!("{key} must be at least 1 (got 0)"))
    } else {
        Ok(())
    }
}

pub fn positive_rate(key: &str, v: f64) -> Result<(), String> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(format!("{key} must be a positive number (got {v})"))
    }
}

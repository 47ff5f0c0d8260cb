//! The vocabulary every layer shares: which chapters exist, what a chapter
//! produces, and the metric tables it fills.

pub mod output;
pub mod rows;
pub mod table;

use std::fmt;

use serde::{Deserialize, Serialize};

pub use output::{ChapterOutput, Figure};
pub use table::{Table, TableSchema};

/// The chapter registry: every chapter the binary knows, one line each, as
/// `Variant => module "id"`. This list is the order of `ChapterId::ALL`
/// (the order `ex2 list` shows chapters a book leaves out, and the order of
/// ids when sorted); a book's own order is its book.toml `chapters` list.
///
/// `ChapterId` is generated from it below, and `chapters` generates its
/// dispatch from it, so adding a chapter is one line here, its folder
/// under `src/chapters/` (declared there) and its template.
#[macro_export]
macro_rules! for_each_chapter {
    ($callback:ident) => {
        $callback! {
            Autoencoder => autoencoder "autoencoder",
            Latent => latent "latent",
            Denoising => denoising "denoising",
            Classifier => classifier "classifier",
            CenterLoss => center_loss "center-loss",
            ClassifierDecoding => classifier_decoding "classifier-decoding",
            FewShot => few_shot "few-shot",
            Transfer => transfer "transfer",
            Baselines => baselines "baselines",
            Theory => theory "theory",
        }
    };
}

macro_rules! define_chapter_ids {
    ($($variant:ident => $module:ident $id:literal),* $(,)?) => {
        /// A chapter of the book, named in book.toml and on the command
        /// line by its kebab-case id.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            Serialize, Deserialize, clap::ValueEnum,
        )]
        pub enum ChapterId {
            $(
                #[serde(rename = $id)]
                #[value(name = $id)]
                $variant,
            )*
        }

        impl ChapterId {
            /// Every chapter, in registry order.
            pub const ALL: &'static [ChapterId] = &[$(ChapterId::$variant),*];

            /// The id as book.toml and the run directories spell it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ChapterId::$variant => $id,)*
                }
            }
        }
    };
}

for_each_chapter!(define_chapter_ids);

impl fmt::Display for ChapterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_names() {
        for &id in ChapterId::ALL {
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(json, format!("\"{}\"", id.as_str()));
            assert_eq!(serde_json::from_str::<ChapterId>(&json).unwrap(), id);
            let parsed = <ChapterId as clap::ValueEnum>::from_str(id.as_str(), false).unwrap();
            assert_eq!(parsed, id);
        }
    }
}

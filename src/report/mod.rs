//! The book: minijinja renders `templates/book.typ.j2` and each
//! `chapters/<id>.typ.j2` into one Typst document, which Typst compiles to PDF.

pub mod filters;
pub mod typst;

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use minijinja::value::Serde;
use minijinja::{Environment, Value, context};
use serde::Serialize;

use crate::book::ChapterId;
use crate::config::Config;
use crate::store::{Manifest, StoredChapter};

pub const BOOK_TEMPLATE: &str = "templates/book.typ.j2";
/// The bibliography (hayagriva YAML), relative to the book root.
pub const REFERENCES: &str = "templates/references.yml";

/// A chapter as the book shows it: its stored results, or why it failed.
pub enum ChapterContent {
    Done(StoredChapter),
    Failed(String),
}

pub struct ChapterView {
    pub id: ChapterId,
    pub content: ChapterContent,
}

#[derive(Serialize)]
struct RenderedChapter {
    id: String,
    title: String,
    body: String,
    failed: Option<String>,
}

/// The book's templates and bibliography, read (and parsed) when a build
/// starts: a broken template fails before any training, and editing the
/// files during a long run does not change the book it renders.
#[derive(Debug, Clone)]
pub struct BookSources {
    templates: BTreeMap<String, String>,
    pub references: Vec<u8>,
}

impl BookSources {
    pub fn load(config: &Config) -> Result<Self> {
        let mut names = vec![BOOK_TEMPLATE.to_string()];
        names.extend(
            config
                .book
                .book
                .chapters
                .iter()
                .map(|&id| crate::chapters::template(id)),
        );
        let mut templates = BTreeMap::new();
        for name in names {
            let path = config.root.join(&name);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the template {}", path.display()))?;
            templates.insert(name, text);
        }
        let references = config.root.join(REFERENCES);
        let references = std::fs::read(&references)
            .with_context(|| format!("reading {}", references.display()))?;
        let sources = Self {
            templates,
            references,
        };
        // Parse every template now: a syntax error names its file and line.
        let env = environment(&sources);
        for name in sources.templates.keys() {
            env.get_template(name)
                .map_err(|e| anyhow::anyhow!("template {name}: {e:#}"))?;
        }
        Ok(sources)
    }
}

fn environment(sources: &BookSources) -> Environment<'static> {
    let mut env = Environment::new();
    // Typst is not HTML: never HTML-escape. Text is escaped with `| typst`.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .expect("default delimiters are valid"),
    );
    let templates = sources.templates.clone();
    env.set_loader(move |name| Ok(templates.get(name).cloned()));
    env.add_filter("typst", |s: String| filters::typst_escape(&s));
    env.add_filter("tstr", |s: String| filters::typst_string(&s));
    env.add_filter("num", filters::num);
    env.add_filter("pct", filters::pct);
    env.add_filter("int", filters::int);
    env.add_filter("sci", filters::sci);
    env.add_filter("signed", filters::signed);
    env.add_filter("and_list", filters::and_list);
    env
}

/// `value` with every object key's dashes turned into underscores, so a
/// template reads `poly_degree` where book.toml says `poly-degree`.
fn snake_case_keys(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(fields) => fields
            .into_iter()
            .map(|(k, v)| (k.replace('-', "_"), snake_case_keys(v)))
            .collect(),
        serde_json::Value::Array(items) => items.into_iter().map(snake_case_keys).collect(),
        v => v,
    }
}

/// The dataset as the templates name it: `data.title` ("MNIST"),
/// `data.item`/`data.items` ("digit"/"digits", "garment"/"garments"),
/// `data.class_noun` ("digit", "garment class"), `data.classes` (names by
/// label), with capitalised forms for the start of a sentence.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DataView {
    pub name: String,
    pub title: String,
    pub description: String,
    pub citation: Option<String>,
    pub item: String,
    pub items: String,
    pub item_cap: String,
    pub items_cap: String,
    pub class_noun: String,
    pub class_nouns: String,
    pub class_noun_cap: String,
    pub classes: Vec<String>,
    /// Whether the class names are the labels themselves (MNIST's "0"–"9"):
    /// then "the 8s" reads right, else the text says "the class Shirt".
    pub classes_are_labels: bool,
}

impl DataView {
    pub fn of(config: &Config) -> DataView {
        let e = config.dataset();
        DataView {
            name: config.profile.dataset.clone(),
            title: e.title.clone(),
            description: e.description.clone(),
            citation: e.citation.clone(),
            item: e.item.clone(),
            items: e.items.clone(),
            item_cap: e.item_capitalised(),
            items_cap: crate::data::catalog::capitalised(&e.items),
            class_noun: e.class_noun.clone(),
            class_nouns: e.class_nouns.clone(),
            class_noun_cap: crate::data::catalog::capitalised(&e.class_noun),
            classes: e.classes.clone(),
            classes_are_labels: e
                .classes
                .iter()
                .enumerate()
                .all(|(i, c)| *c == i.to_string()),
        }
    }
}

/// Renders the whole book to Typst source.
pub fn render_book(
    config: &Config,
    sources: &BookSources,
    chapters: &[ChapterView],
    manifest: &Manifest,
) -> Result<String> {
    let mut env = environment(sources);
    // `chref("id")`: a cross-reference to another chapter when the book has
    // it, its title in italics otherwise (a Typst reference to a missing
    // label would not compile).
    let in_book: Vec<ChapterId> = config.book.book.chapters.clone();
    let titles: Vec<(ChapterId, String)> = ChapterId::ALL
        .iter()
        .map(|&c| (c, crate::chapters::title(c, config)))
        .collect();
    env.add_function(
        "chref",
        move |id: String| -> Result<String, minijinja::Error> {
            let (chapter, title) =
                titles
                    .iter()
                    .find(|(c, _)| c.as_str() == id)
                    .ok_or_else(|| {
                        minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("chref: unknown chapter `{id}`"),
                        )
                    })?;
            Ok(if in_book.contains(chapter) {
                format!("@ch:{id}")
            } else {
                format!("the chapter _{}_", filters::typst_escape(title))
            })
        },
    );
    let profile = &config.profile;
    let data = DataView::of(config);
    // `cls(label)`: a class's name ("8", "Shirt"); `cls_items(label)`: its
    // images in a sentence ("8s", "Shirt images"). Both escaped for Typst.
    // A multi-seed run averages numeric facts, labels included: a label that
    // is not a whole number differs between the seeds and names no class.
    let names = data.classes.clone();
    let labels = data.classes_are_labels;
    let name_of = move |label: f64| -> Option<String> {
        (label.fract() == 0.0 && label >= 0.0)
            .then(|| names.get(label as usize))
            .flatten()
            .map(|n| filters::typst_escape(n))
    };
    let name_of2 = name_of.clone();
    const VARIES: &str = "(a different class in each seed)";
    env.add_function("cls", move |label: f64| {
        name_of(label).unwrap_or_else(|| VARIES.into())
    });
    env.add_function("cls_items", move |label: f64| match name_of2(label) {
        Some(n) if labels => format!("{n}s"),
        Some(n) => format!("{n} images"),
        None => VARIES.into(),
    });
    // The title and subtitle may name the dataset (`{{ data.title }}`).
    let book_text = |text: &str| -> Result<String> {
        env.render_str(text, context! { data => Value::from(Serde(&data)) })
            .map_err(|e| anyhow::anyhow!("rendering book.title or book.subtitle: {e:#}"))
    };
    let mut book = config.book.book.clone();
    book.title = book_text(&book.title)?;
    book.subtitle = book_text(&book.subtitle)?;
    // book.toml as the templates read it: `settings.chapter.latent.dims`,
    // `settings.profile.full.epochs` (keys in snake case).
    let settings = snake_case_keys(serde_json::to_value(&config.book)?);
    let mut rendered = Vec::new();
    for view in chapters {
        let id = view.id;
        let (body, failed) = match &view.content {
            ChapterContent::Done(stored) => {
                let template = env
                    .get_template(&crate::chapters::template(id))
                    .with_context(|| format!("loading {}", crate::chapters::template(id)))?;
                let body = template
                    .render(context! {
                        chapter => context! { id => id.as_str(), title => crate::chapters::title(id, config) },
                        facts => Value::from(Serde(&stored.facts)),
                        tables => Value::from(Serde(&stored.tables)),
                        figdir => format!("figures/{}", id.as_str()),
                        profile => Value::from(Serde(profile)),
                        profile_name => &config.profile_name,
                        data => Value::from(Serde(&data)),
                        settings => Value::from(Serde(&settings)),
                        manifest => Value::from(Serde(manifest)),
                    })
                    .map_err(|e| anyhow::anyhow!("rendering {}: {e:#}", crate::chapters::template(id)))?;
                (body, None)
            }
            ChapterContent::Failed(error) => (String::new(), Some(error.clone())),
        };
        rendered.push(RenderedChapter {
            id: id.as_str().into(),
            title: crate::chapters::title(id, config),
            body,
            failed,
        });
    }
    env.get_template(BOOK_TEMPLATE)
        .with_context(|| format!("loading {BOOK_TEMPLATE}"))?
        .render(context! {
            book => Value::from(Serde(&book)),
            data => Value::from(Serde(&data)),
            chapters => Value::from(Serde(&rendered)),
            manifest => Value::from(Serde(manifest)),
            profile => Value::from(Serde(profile)),
            profile_name => &config.profile_name,
        })
        .map_err(|e| anyhow::anyhow!("rendering {BOOK_TEMPLATE}: {e:#}"))
}

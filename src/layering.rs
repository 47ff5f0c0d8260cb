//! The layering of the crate (see the table in `lib.rs`), checked: every
//! `crate::<module>` path in a file must name its own top-level module or
//! one of a lower layer. Reads the source, so it holds for test code too.

use std::path::{Path, PathBuf};

/// Top-level modules by layer, lowest first. Modules of one layer do not
/// import each other.
const LAYERS: &[&[&str]] = &[
    &["base"],
    &["runtime"],
    &["book"],
    &["data"],
    &["config"],
    &["nn"],
    &["ml", "plot"],
    &["store"],
    &["experiment"],
    &["chapters"],
    &["report", "diff"],
    &["app"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules named by `crate::` paths in `code` (comments
/// stripped), with the line they are on. A grouped `crate::{a, b}` is
/// returned as `{` so the check can ask for one path per import.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            // `$crate::` inside a macro is the crate root, like `crate::`.
            let name: String = if after.starts_with('{') {
                "{".into()
            } else {
                after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect()
            };
            found.push((n + 1, name));
            rest = after;
        }
    }
    found
}

#[test]
fn every_import_points_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut violations = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let own = first.trim_end_matches(".rs").to_string();
        if own == "lib" || own == "main" || own == "layering" {
            continue;
        }
        let Some(own_layer) = layer_of(&own) else {
            violations.push(format!(
                "{}: module `{own}` has no layer in LAYERS",
                rel.display()
            ));
            continue;
        };
        let code = std::fs::read_to_string(file).unwrap();
        for (line, target) in crate_paths(&code) {
            if target == "{" {
                violations.push(format!(
                    "{}:{line}: a grouped `crate::{{…}}` import; write one path per module",
                    rel.display()
                ));
                continue;
            }
            if target == own {
                continue;
            }
            match layer_of(&target) {
                // A macro exported at the crate root (`crate::for_each_chapter!`).
                None if code.contains(&format!("crate::{target}!")) => {}
                None => violations.push(format!(
                    "{}:{line}: `crate::{target}` is not a module in LAYERS",
                    rel.display()
                )),
                Some(l) if l >= own_layer => violations.push(format!(
                    "{}:{line}: `{own}` (layer {own_layer}) imports `{target}` (layer {l})",
                    rel.display()
                )),
                Some(_) => {}
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layering:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_sees_upward_and_grouped_imports() {
    let code = "use crate::store::Run; // crate::app in a comment\nuse crate::{a, b};\n";
    assert_eq!(
        crate_paths(code),
        vec![(1, "store".to_string()), (2, "{".to_string())]
    );
    assert!(layer_of("store") > layer_of("nn"));
    assert_eq!(layer_of("ml"), layer_of("plot"));
}

//! Typst → PDF, in-process, with embedded fonts only (no system fonts), so
//! the PDF does not depend on the machine that built it.

use anyhow::{Result, anyhow};
use typst::diag::SourceDiagnostic;
use typst::layout::{Frame, FrameItem};
use typst::syntax::{DiagSpanKind, RootedPath, Source, VirtualPath, VirtualRoot};
use typst_as_lib::{TypstAsLibError, TypstEngine};
use typst_layout::PagedDocument;

pub const MAIN: &str = "main.typ";

fn compile(source: &str, files: Vec<(String, Vec<u8>)>) -> Result<PagedDocument> {
    let engine = TypstEngine::builder()
        .fonts(typst_assets::fonts())
        .with_static_source_file_resolver([(MAIN, source)])
        .with_static_file_resolver(
            files
                .iter()
                .map(|(path, bytes)| (path.as_str(), bytes.clone())),
        )
        .build();
    let warned = engine.compile::<_, PagedDocument>(MAIN);
    warned.output.map_err(|e| match e {
        TypstAsLibError::TypstSource(diags) => {
            anyhow!(
                "Typst could not compile the book:\n{}",
                describe(source, &diags)
            )
        }
        other => anyhow!("Typst could not compile the book: {other}"),
    })
}

/// Diagnostics with the line of the generated `main.typ` they point at.
fn describe(source: &str, diags: &[SourceDiagnostic]) -> String {
    // The same file id typst-as-lib gives the main source, so spans resolve.
    let id = RootedPath::new(
        VirtualRoot::Project,
        VirtualPath::new(MAIN).expect("valid virtual path"),
    )
    .intern();
    let src = Source::new(id, source.to_string());
    diags
        .iter()
        .map(|d| {
            let range = match d.span.get() {
                DiagSpanKind::Number { num, sub_range, .. } => src.range(num, sub_range),
                DiagSpanKind::Range { range, .. } => Some(range),
                DiagSpanKind::Detached => None,
            };
            let at = range
                .and_then(|r| src.lines().byte_to_line(r.start))
                .map(|line| {
                    let text = source.lines().nth(line).unwrap_or("").trim();
                    format!(" (main.typ line {}: `{text}`)", line + 1)
                })
                .unwrap_or_default();
            let hints: String = d
                .hints
                .iter()
                .map(|h| format!("\n    hint: {}", h.v))
                .collect();
            format!("  error: {}{at}{hints}", d.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compiles a Typst document (plus the files it reads, by virtual path) to PDF.
pub fn compile_pdf(source: &str, files: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>> {
    let doc = compile(source, files)?;
    typst_pdf::pdf(&doc, &typst_pdf::PdfOptions::default())
        .map_err(|d| anyhow!("PDF export failed:\n{}", describe(source, &d)))
}

/// The text of a compiled document, page by page (for tests).
pub fn plain_text(source: &str) -> Result<String> {
    let doc = compile(source, Vec::new())?;
    let mut out = String::new();
    for page in doc.pages() {
        collect_text(&page.frame, &mut out);
        out.push('\n');
    }
    Ok(out)
}

fn collect_text(frame: &Frame, out: &mut String) {
    for (_, item) in frame.items() {
        match item {
            FrameItem::Group(g) => collect_text(&g.frame, out),
            FrameItem::Text(t) => {
                out.push_str(&t.text);
                out.push(' ');
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_a_pdf_with_embedded_fonts() {
        let pdf = compile_pdf(
            "#set text(font: \"New Computer Modern\")\nHello $x^2$",
            vec![],
        )
        .unwrap();
        assert!(pdf.starts_with(b"%PDF"));
    }

    #[test]
    fn errors_name_the_line() {
        let e = compile_pdf("fine\n#nosuchfunction()\n", vec![])
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2"), "{e}");
    }
}

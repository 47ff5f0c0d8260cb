//! The real binary on the real MNIST fixture: `build-report --profile smoke`.

mod common;

use common::{Book, pdf_text, stderr};

#[test]
fn smoke_build_report_writes_a_pdf_with_the_measured_numbers() {
    let book = Book::new();
    let out = book.ex2(&["build-report"]);
    assert!(
        out.status.success(),
        "build-report failed:\n{}",
        stderr(&out)
    );

    let runs = book.runs();
    assert_eq!(runs.len(), 1, "one run directory");
    let run = &runs[0];
    for f in ["manifest.json", "ex2.pdf", "book.typ"] {
        assert!(run.join(f).is_file(), "run lacks {f}");
    }

    // The per-epoch table: fixed columns, one row per epoch of the smoke profile.
    let tables = run.join("tables/autoencoder");
    let history = std::fs::read_to_string(tables.join("history.csv")).unwrap();
    let mut lines = history.lines();
    assert_eq!(lines.next(), Some("epoch,loss,train_l1,test_l1,test_mse"));
    let rows: Vec<_> = lines.collect();
    assert_eq!(rows.len(), 2, "smoke profile trains 2 epochs:\n{history}");
    assert!(
        rows[0].starts_with("1,mse,"),
        "first epoch is the MSE warm-up"
    );
    assert!(rows[1].starts_with("2,l1,"));

    // The PDF shows the chapter and the test L1 from the summary table.
    let summary = std::fs::read_to_string(tables.join("summary.csv")).unwrap();
    let warm = summary
        .lines()
        .find(|l| {
            l.starts_with("conv AE, MSE warm-up") || l.starts_with("\"conv AE, MSE warm-up\"")
        })
        .unwrap_or_else(|| panic!("no model row in\n{summary}"));
    let test_l1: f64 = warm.rsplit(',').nth(1).unwrap().parse().unwrap();
    assert!(test_l1 > 0.0 && test_l1 < 0.2, "test L1 {test_l1}");

    let text = pdf_text(&book.path().join("ex2.pdf"));
    assert!(
        text.contains("A Convolutional Autoencoder"),
        "chapter title missing"
    );
    assert!(text.contains("Reproducibility"), "appendix missing");
    let shown = format!("{test_l1:.4}");
    assert!(text.contains(&shown), "PDF lacks the CSV's test L1 {shown}");

    // The PDF in the run is the same document.
    assert_eq!(
        std::fs::read(run.join("ex2.pdf")).unwrap(),
        std::fs::read(book.path().join("ex2.pdf")).unwrap()
    );
    // Figures of the latest build are published per chapter.
    for f in ["loss.svg", "reconstructions.png"] {
        assert!(
            book.path().join("figures/autoencoder").join(f).is_file(),
            "{f}"
        );
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["profile"], "smoke");
    assert_eq!(manifest["chapters"][0]["status"], "ok");
    assert_eq!(
        manifest["dataset"]["checksums"]["train-images-idx3-ubyte"],
        "fc10080e92e48998cf561522ec74cfcd9fdc1d3eb6d815e4b8d6392c71460463"
    );

    // `ex2 list` sees the run.
    let out = book.ex2(&["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("autoencoder") && listing.contains("ok"),
        "{listing}"
    );
}

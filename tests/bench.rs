//! `ex2 bench` on the MNIST fixture: the measurements `--only` names, in
//! its CSV, and the SVM fits as the baselines chapter fits them.

mod common;

use common::{Book, stderr};

#[test]
fn bench_measures_what_only_names_and_writes_it_as_csv() {
    let book = Book::new();
    let csv = book.path().join("bench.csv");
    let out = book.ex2(&[
        "bench",
        "--only",
        "poly-svm-fit,linear-svm-fit,conv-ae-training",
        "--batches",
        "2",
        "--repeats",
        "2",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("measurement,kind,unit,median,min,max,values")
    );
    let rows: Vec<&str> = lines.collect();
    // In the bench's order, and nothing that was not asked for.
    let kinds: Vec<&str> = ["conv-ae-training", "linear-svm-fit", "poly-svm-fit"]
        .into_iter()
        .filter(|k| rows.iter().any(|r| r.contains(&format!(",{k},"))))
        .collect();
    assert_eq!(kinds.len(), 3, "{text}");
    assert_eq!(rows.len(), 3, "{text}");
    for (row, unit) in rows.iter().zip(["images/s", "s", "s"]) {
        assert!(row.contains(&format!(",{unit},")), "{row}");
        // Two repeats: two positive values after the median, min and max.
        let values = row.rsplit(',').next().unwrap();
        let values: Vec<f64> = values
            .split(' ')
            .map(|v| v.parse().unwrap_or_else(|_| panic!("{row}")))
            .collect();
        assert_eq!(values.len(), 2, "{row}");
        assert!(values.iter().all(|v| *v > 0.0), "{row}");
    }
    // The smoke profile's `svm-train-size` images, and an accuracy far
    // from chance (10 %) on the fixture's 1,000 test images.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("SVM, polynomial kernel fit, raw pixels (500 images)"),
        "{stdout}"
    );
    let e = stderr(&out);
    let accuracies: Vec<f64> = e
        .lines()
        .filter_map(|l| l.split("accuracy ").nth(1))
        .map(|a| a.trim_end_matches(" %").parse().unwrap())
        .collect();
    assert_eq!(accuracies.len(), 4, "{e}");
    assert!(accuracies.iter().all(|a| *a > 70.0), "{e}");
    // The ratio lines need measurements that were left out.
    assert!(!stdout.contains("two concurrent trainings"), "{stdout}");
}

#[test]
fn an_unknown_measurement_is_an_error_listing_the_known_ones() {
    let book = Book::new();
    let out = book.ex2(&["bench", "--only", "svm"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("svm") && e.contains("poly-svm-fit") && e.contains("conv-ae-training"),
        "{e}"
    );
    assert!(book.runs().is_empty());
}

//! The reproducibility contract: `ex2 diff`, the store lock, kill -9, and
//! training that diverges.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Book, manifest, stderr};

/// A hand-made complete run with one chapter's tables, for `diff`.
fn fake_run(book: &Book, id: &str, sweep: &str, extra_table: bool) {
    let run = book.path().join("runs").join(id);
    let tables = run.join("tables/latent");
    std::fs::create_dir_all(&tables).unwrap();
    let mut schemas = vec![
        serde_json::json!({"name": "sweep", "keys": ["d"], "columns": ["d", "test_l1", "note"], "volatile": false}),
        serde_json::json!({"name": "timing", "keys": ["model"], "columns": ["model", "train_seconds"], "volatile": true}),
    ];
    std::fs::write(tables.join("sweep.csv"), sweep).unwrap();
    std::fs::write(
        tables.join("timing.csv"),
        format!("model,train_seconds\nd=2,{}\n", id.len()),
    )
    .unwrap();
    if extra_table {
        schemas.push(
            serde_json::json!({"name": "extra", "keys": [], "columns": ["x"], "volatile": false}),
        );
        std::fs::write(tables.join("extra.csv"), "x\n1\n").unwrap();
    }
    std::fs::write(
        tables.join("tables.json"),
        serde_json::to_vec(&schemas).unwrap(),
    )
    .unwrap();
    std::fs::write(run.join("manifest.json"), "{}").unwrap();
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn diff_joins_on_keys_applies_tolerances_and_sets_the_exit_status() {
    let book = Book::new();
    fake_run(
        &book,
        "run-a",
        "d,test_l1,note\n2,0.100000,x\n5,0.080000,y\n",
        false,
    );
    // Rows in another order: the join is on `d`, not on the line number.
    fake_run(
        &book,
        "run-b",
        "d,test_l1,note\n5,0.080000,y\n2,0.100000,x\n",
        false,
    );
    let out = book.ex2(&["diff", "run-a", "run-b"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("agree within tolerance"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("latent/timing"),
        "volatile tables are named as skipped"
    );

    fake_run(
        &book,
        "run-c",
        "d,test_l1,note\n2,0.103000,x\n5,0.080000,z\n10,0.070000,w\n",
        true,
    );
    let out = book.ex2(&["diff", "run-a", "run-c"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "test_l1",
        "0.100000",
        "0.103000",
        "+0.003000",
        "d=10",
        "added",
        "latent/extra",
        "note",
    ] {
        assert!(text.contains(needle), "`{needle}` missing from:\n{text}");
    }
    // Unchanged cells are hidden unless --all.
    assert!(!text.contains("0.080000"), "{text}");
    let all = stdout(&book.ex2(&["diff", "run-a", "run-c", "--all"]));
    assert!(all.contains("0.080000"), "{all}");
    // Limited to a chapter the runs do not differ in: nothing to report.
    let out = book.ex2(&["diff", "run-a", "run-c", "--chapter", "theory"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // A tolerance of 0.005 absorbs the L1 change, not the added parts.
    let out = book.ex2(&[
        "diff",
        "run-a",
        "run-c",
        "--tol-abs",
        "0.005",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    let rows = json["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["column"] != "test_l1"), "{json}");
    assert!(rows.iter().any(|r| r["change"] == "added"), "{json}");

    // Other formats, and `latest`/`previous` (ids sort by time; here by name).
    let csv = stdout(&book.ex2(&["diff", "previous", "latest", "--format", "csv"]));
    assert!(
        csv.starts_with("table,key,column,a,b,delta,rel_delta,change\n"),
        "{csv}"
    );
    let md = stdout(&book.ex2(&["diff", "run-a", "run-c", "--format", "markdown"]));
    assert!(md.contains("| table | key |"), "{md}");

    // Per-column tolerance from book.toml.
    let tolerant =
        Book::with_toml(|t| t + "\n[diff]\ntolerance.\"latent/sweep.test_l1\" = { abs = 0.01 }\n");
    fake_run(&tolerant, "run-a", "d,test_l1,note\n2,0.100000,x\n", false);
    fake_run(&tolerant, "run-b", "d,test_l1,note\n2,0.105000,x\n", false);
    let out = tolerant.ex2(&["diff", "run-a", "run-b"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // Errors: exit 2 with a message naming the run.
    let out = book.ex2(&["diff", "run-a", "no-such-run"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no-such-run") && stderr(&out).contains("run-a"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn diff_tol_sigma_uses_the_seed_spread() {
    let book = Book::new();
    for (id, l1) in [("run-a", "0.100000"), ("run-b", "0.115000")] {
        let tables = book.path().join("runs").join(id).join("tables/latent");
        std::fs::create_dir_all(&tables).unwrap();
        std::fs::write(
            tables.join("tables.json"),
            r#"[{"name": "sweep", "keys": ["d"], "columns": ["d", "test_l1", "test_l1_std"], "volatile": false}]"#,
        )
        .unwrap();
        std::fs::write(
            tables.join("sweep.csv"),
            format!("d,test_l1,test_l1_std\n2,{l1},0.010000\n"),
        )
        .unwrap();
        std::fs::write(
            book.path().join("runs").join(id).join("manifest.json"),
            "{}",
        )
        .unwrap();
    }
    // |Δ| = 0.015 ≤ 2·√(0.01² + 0.01²) = 0.028, but > 1·0.014.
    assert_eq!(book.ex2(&["diff", "run-a", "run-b"]).status.code(), Some(1));
    assert_eq!(
        book.ex2(&["diff", "run-a", "run-b", "--tol-sigma", "2"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        book.ex2(&["diff", "run-a", "run-b", "--tol-sigma", "1"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn diff_of_runs_with_different_keys_reports_instead_of_crashing() {
    let book = Book::new();
    fake_run(&book, "run-a", "d,test_l1,note\n2,0.1,x\n", false);
    fake_run(&book, "run-b", "d,test_l1,note\n2,0.1,x\n", false);
    let schema = book.path().join("runs/run-b/tables/latent/tables.json");
    let text = std::fs::read_to_string(&schema)
        .unwrap()
        .replace("[\"d\"]", "[\"note\"]");
    std::fs::write(&schema, text).unwrap();
    let out = book.ex2(&["diff", "run-a", "run-b"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("(key columns)"), "{}", stdout(&out));
}

#[test]
fn a_second_process_on_the_same_store_waits_then_errors_without_touching_it() {
    let book = Book::with_chapters(&["theory"], |t| t);
    // Hold the lock as another ex2 would.
    std::fs::create_dir_all(book.path().join("runs")).unwrap();
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(book.path().join("runs/.lock"))
        .unwrap();
    lock.lock().unwrap();
    let out = book.ex2(&["build-report", "--lock-wait", "1"]);
    assert_ne!(out.status.code(), Some(0));
    let e = stderr(&out);
    assert!(
        e.contains("another ex2 process") && e.contains("waiting"),
        "{e}"
    );
    assert!(book.runs().is_empty(), "no run was started");
    lock.unlock().unwrap();
    let out = book.ex2(&["build-report"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

fn complete_cache_entries(cache: &Path) -> Vec<String> {
    std::fs::read_dir(cache)
        .map(|d| {
            d.map(|e| e.unwrap().path())
                // A `.tmp-…` directory is an entry being written (renamed
                // into place when complete), not a stored model.
                .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
                .filter(|p| p.join("model.mpk").is_file())
                .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn kill_9_mid_training_loses_at_most_the_model_in_training() {
    let book = Book::with_chapters(&["autoencoder"], |t| t);
    let mut child = book.spawn(&["build-report"]);
    // Wait until the first model is stored, then kill while the others train.
    let cache = book.path().join("runs/cache");
    let started = Instant::now();
    while complete_cache_entries(&cache).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "no model was stored"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ex2 ended before the kill: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let stored = complete_cache_entries(&cache);
    assert!(!stored.is_empty());
    // The interrupted run is not complete, so nothing takes it for one.
    for run in book.runs() {
        assert!(
            !run.join("manifest.json").exists(),
            "{} looks complete",
            run.display()
        );
    }
    // Re-run: the stored models are reused, the rest trained; the book is whole.
    let out = book.ex2(&["build-report"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = book.runs().pop().unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    let hits: Vec<&str> = manifest["model_cache"]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    for key in &stored {
        assert!(
            hits.contains(&key.as_str()),
            "{key} was retrained: {manifest}"
        );
    }
    // What the killed process was writing is gone, not left as litter.
    let staging: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-") || n.starts_with(".old-"))
        .collect();
    assert!(staging.is_empty(), "staging left behind: {staging:?}");
    // The killed process's claim (on the model it was training, or had
    // just stored) was taken over or swept (its pid is gone).
    let claims: Vec<_> = std::fs::read_dir(cache.join(".claims"))
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(claims.is_empty(), "claims left behind: {claims:?}");

    // `chapter --force` retrains what the chapter uses, under the same keys.
    let out = book.ex2(&["chapter", "autoencoder", "--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = book.runs().pop().unwrap();
    let forced: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    assert!(
        forced["model_cache"]["hits"].as_array().unwrap().is_empty(),
        "{forced}"
    );
    let misses = forced["model_cache"]["misses"].as_array().unwrap();
    for key in &stored {
        assert!(
            misses.iter().any(|m| m == key.as_str()),
            "{key} not retrained: {forced}"
        );
    }
    assert_eq!(
        complete_cache_entries(&cache).len(),
        misses.len(),
        "replaced, not duplicated"
    );
}

/// Builds `book` (its chapter under test and `theory`), which must fail that
/// chapter with exit code 4 and an error containing every one of `error`,
/// while the other chapter is typeset and the book says `because` where
/// the failed one would be.
fn fails_one_chapter_and_builds_the_rest(book: &Book, error: &[&str], because: &str) {
    let out = book.ex2(&["build-report"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(error.iter().all(|n| e.contains(n)), "{e}");
    let pdf = common::pdf_text(&book.path().join("ex2.pdf"));
    assert!(
        pdf.contains("Theory, Checked Numerically"),
        "the other chapter is in the book"
    );
    assert!(
        pdf.contains(because),
        "the book says why the chapter is missing"
    );
}

#[test]
fn diverging_training_fails_its_chapter_and_the_book_still_builds() {
    let book = Book::with_chapters(&["classifier", "theory"], |t| {
        t.replace(
                "[chapter.classifier]\nhidden-dim = 64          # width of the two-layer MLP head\nlearning-rate = 1e-3",
                "[chapter.classifier]\nhidden-dim = 64\nlearning-rate = 1e30",
            )
    });
    fails_one_chapter_and_builds_the_rest(&book, &["diverged", "epoch"], "diverged");
}

/// An AE trained on plain L1 from the first step stays on the all-black
/// plateau: a failed experiment, reported as such, not a row of the book.
#[test]
fn a_model_on_the_all_black_plateau_fails_its_chapter() {
    let book = Book::with_chapters(&["autoencoder", "theory"], |t| {
        t.replace(
            "mse-warmup-epochs = 1\ntrain-plain-l1-control = true",
            "mse-warmup-epochs = 0\ntrain-plain-l1-control = true",
        )
    });
    fails_one_chapter_and_builds_the_rest(
        &book,
        &["ended on a trivial solution", "all-black image"],
        "trivial solution",
    );
}

#[test]
fn several_seeds_report_means_and_deviations() {
    let book = Book::with_chapters(&["classifier", "theory"], |t| t);
    let out = book.ex2(&["build-report", "--seeds", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = book.runs().pop().unwrap();
    let history = std::fs::read_to_string(run.join("tables/classifier/history.csv")).unwrap();
    let header = history.lines().next().unwrap();
    assert!(
        header.contains("test_accuracy,test_accuracy_std"),
        "{header}"
    );
    // The two seeds trained different models: some deviation is not zero.
    let std_column = header
        .split(',')
        .position(|c| c == "test_accuracy_std")
        .unwrap();
    assert!(
        history
            .lines()
            .skip(1)
            .any(|l| l.split(',').nth(std_column) != Some("0.000000")),
        "{history}"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["profile_config"]["seeds"], 2);
    let seeds = manifest["chapters"][0]["seeds"].as_object().unwrap();
    assert!(seeds.keys().any(|k| k.starts_with("seed2/")), "{seeds:?}");
    let text = common::pdf_text(&book.path().join("ex2.pdf"));
    assert!(text.contains("2 seeds"), "the book says how many seeds");
    // A run compared with itself under --tol-sigma: the deviations are not compared.
    let out = book.ex2(&["diff", "latest", "latest", "--tol-sigma", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let out = book.ex2(&["build-report", "--seeds", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("must be at least 1"),
        "{}",
        stderr(&out)
    );
}

/// The plan's entries by name: (key, keys it depends on).
fn plan_keys(book: &Book) -> std::collections::BTreeMap<String, (String, Vec<String>)> {
    let out = book.ex2(&["plan", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    plan.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let deps = e["depends_on"].as_array().unwrap();
            (
                e["name"].as_str().unwrap().to_string(),
                (
                    e["key"].as_str().unwrap().to_string(),
                    deps.iter()
                        .map(|d| d.as_str().unwrap().to_string())
                        .collect(),
                ),
            )
        })
        .collect()
}

/// What an entry's training measured, epoch by epoch, timings left out
/// (the model file's bytes hold random parameter ids, not only weights).
fn measured_history(cache: &Path, key: &str) -> Vec<serde_json::Value> {
    let history: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cache.join(key).join("history.json")).unwrap())
            .unwrap();
    history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            let fields = r.as_object_mut().unwrap();
            fields.retain(|k, _| !k.contains("seconds"));
            r
        })
        .collect()
}

/// `ex2 train job` fails, naming the planned `dependency` it needs first.
fn refused_before(book: &Book, job: &str, dependency: &str) {
    let out = book.ex2(&["train", job]);
    assert_ne!(out.status.code(), Some(0), "{job}");
    assert!(
        stderr(&out).contains(dependency) && stderr(&out).contains("train those first"),
        "{job}: {}",
        stderr(&out)
    );
}

#[test]
fn train_stores_one_planned_model_once_and_says_what_it_cannot_train() {
    let book = Book::with_chapters(&["classifier-decoding"], |t| t);
    let plan = plan_keys(&book);
    let (classifier, _) = &plan["classifier/classifier"];
    let (decoder, decoder_deps) = &plan["classifier-decoding/decoder"];
    assert_eq!(decoder_deps, std::slice::from_ref(classifier));

    let out = book.ex2(&["train", "no-such-model"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no model of this book") && stderr(&out).contains("ex2 plan"),
        "{}",
        stderr(&out)
    );
    // The decoder is built on the classifier's encoder: not before it.
    refused_before(&book, "classifier-decoding/decoder", classifier);

    // Two processes at once on one store: one trains, the other waits for
    // it (or finds it stored) and trains nothing.
    let start = || {
        book.command(&["train", classifier])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    let outs = [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()];
    for o in &outs {
        assert!(o.status.success(), "{}", stderr(o));
    }
    let said: Vec<String> = outs.iter().map(stdout).collect();
    assert_eq!(
        said.iter()
            .filter(|s| s.contains("trained and stored"))
            .count(),
        1,
        "{said:?}"
    );
    let out = book.ex2(&["train", classifier]);
    assert!(
        stdout(&out).contains("is cached: nothing to train"),
        "{}",
        stdout(&out)
    );
    let out = book.ex2(&["train", decoder]);
    assert!(out.status.success(), "{}", stderr(&out));

    // A build uses what `train` stored, and the same spec trained by a
    // build measures the same losses to the last bit: the job and the
    // build are one training.
    let out = book.ex2(&["build-report"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let run = book.runs().pop().unwrap();
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("manifest.json")).unwrap()).unwrap();
    let hits = m["model_cache"]["hits"].as_array().unwrap();
    for key in [classifier, decoder] {
        assert!(hits.iter().any(|h| h == key.as_str()), "{key}: {m}");
    }
    let built = Book::with_chapters(&["classifier"], |t| t);
    let out = built.ex2(&["build-report"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        measured_history(&built.path().join("runs/cache"), classifier),
        measured_history(&book.path().join("runs/cache"), classifier)
    );
}

/// The classic-ML results are jobs of the plan too: a fit on the AE's
/// codes waits for the AE, a fit on pixels for nothing; `train` computes
/// each once, and the build then computes none of them.
#[test]
fn train_computes_a_planned_classic_result_after_the_model_it_reads() {
    let book = Book::with_chapters(&["baselines"], |t| t);
    let plan = plan_keys(&book);
    let (ae, _) = &plan["autoencoder/conv-ae"];
    let (on_codes, deps) = &plan["baselines/logistic/ae-codes"];
    assert_eq!(deps, std::slice::from_ref(ae));
    let (on_pixels, deps) = &plan["baselines/naive-bayes/pixels"];
    assert!(deps.is_empty(), "{deps:?}");
    assert!(on_codes.starts_with("classic-fit-") && on_pixels.starts_with("classic-fit-"));

    refused_before(&book, "baselines/logistic/ae-codes", ae);
    for job in [
        "baselines/naive-bayes/pixels",
        "autoencoder/conv-ae",
        "baselines/logistic/ae-codes",
    ] {
        let out = book.ex2(&["train", job]);
        assert!(out.status.success(), "{job}: {}", stderr(&out));
        assert!(
            stdout(&out).contains("trained and stored"),
            "{job}: {}",
            stdout(&out)
        );
    }
    let out = book.ex2(&["train", on_pixels]);
    assert!(stdout(&out).contains("is cached"), "{}", stdout(&out));

    let out = book.ex2(&["build-report"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = manifest(&book.runs().pop().unwrap());
    let hits: Vec<&str> = m["model_cache"]["result_hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(
        hits.contains(&on_codes.as_str()) && hits.contains(&on_pixels.as_str()),
        "the build used the results `train` stored: {m}"
    );
}

//! The real binary on the real MNIST fixture: `build-report --profile smoke`.

mod common;

use std::path::Path;

use common::{Book, assert_same_tables, manifest, pdf_text, stable_tables, stderr};

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(split_csv_line)
        .collect()
}

/// Fields of one CSV line, with double-quoted fields (which may hold commas).
fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            _ => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[test]
fn smoke_build_report_writes_the_book_caches_models_and_is_deterministic() {
    let book = Book::new();
    let out = book.ex2(&["build-report"]);
    assert!(
        out.status.success(),
        "build-report failed:\n{}",
        stderr(&out)
    );

    let runs = book.runs();
    assert_eq!(runs.len(), 1, "one run directory");
    let run = runs[0].clone();
    for f in ["manifest.json", "ex2.pdf", "book.typ"] {
        assert!(run.join(f).is_file(), "run lacks {f}");
    }

    // Where the time went: every computed chapter's phases, in the manifest
    // and the appendix; trainings and classic ML land in their own phases.
    let m = manifest(&run);
    assert!(m["render_seconds"].as_f64().unwrap() > 0.0);
    let phases = |id: &str| {
        let c = m["chapters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("chapter {id} in the manifest"));
        let p = &c["phases"];
        let get = |k: &str| p[k].as_f64().unwrap_or_else(|| panic!("{id}: phase {k}"));
        (
            get("training"),
            get("classic_ml"),
            get("waiting"),
            get("evaluation"),
        )
    };
    let (training, ..) = phases("latent");
    assert!(training > 0.0, "the latent sweep trains");
    assert!(phases("baselines").1 > 0.0, "baselines fits SVMs");
    assert!(
        phases("denoising").1 > 0.0,
        "denoising runs t-SNE and probes"
    );

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

    // The PDF shows every chapter and numbers from their CSVs.
    let text = pdf_text(&book.path().join("ex2.pdf"));
    // The titles as the binary names them (`ex2 list --format json`).
    let listing: serde_json::Value =
        serde_json::from_slice(&book.ex2(&["list", "--format", "json"]).stdout).unwrap();
    let chapters = listing["chapters"].as_array().unwrap();
    assert_eq!(chapters.len(), 10, "the smoke book has every chapter");
    for c in chapters {
        // Typst sets a straight apostrophe as a typographic one, which the
        // PDF's text may spell either way: the parts around it must be there.
        let title = c["title"].as_str().unwrap();
        for part in title.split('\'') {
            assert!(text.contains(part), "chapter `{title}` missing ({part})");
        }
    }
    assert!(
        text.contains("Learning from 100 Labels"),
        "the few-shot title has its labels"
    );
    assert!(text.contains("Reproducibility"), "appendix missing");
    assert!(
        text.contains("Where each chapter"),
        "the appendix's table of phases"
    );
    let latent_training = phases("latent").0;
    assert!(
        text.contains(&format!("{latent_training:.1} s")),
        "the appendix shows latent's training time {latent_training:.1} s"
    );
    let summary = csv_rows(&tables.join("summary.csv"));
    let warm = summary
        .iter()
        .find(|r| r[0] == "conv AE, MSE warm-up")
        .unwrap();
    let test_l1: f64 = warm[4].parse().unwrap();
    assert!(test_l1 > 0.0 && test_l1 < 0.2, "test L1 {test_l1}");
    assert!(
        text.contains(&format!("{test_l1:.4}")),
        "PDF lacks the AE's test L1 {test_l1:.4}"
    );
    let mlp = summary
        .iter()
        .find(|r| r[0].starts_with("fully connected AE"))
        .expect("the fully connected AE's row");
    let mlp_l1: f64 = mlp[4].parse().unwrap();
    assert!(
        text.contains(&format!("{mlp_l1:.4}")),
        "PDF lacks the MLP AE's L1"
    );

    // `latent`: every swept d has a row, and the d=2 error is in the PDF.
    let sweep = csv_rows(&run.join("tables/latent/sweep.csv"));
    assert_eq!(
        sweep[0],
        ["d", "parameters", "test_l1", "test_mse", "l1_gain_per_dim"]
    );
    let dims: Vec<&str> = sweep[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(dims, ["2", "5", "10", "12", "15", "20", "25", "30"]);
    let d2_l1: f64 = sweep[1][2].parse().unwrap();
    assert!(
        text.contains(&format!("{d2_l1:.4}")),
        "PDF lacks the d=2 L1"
    );
    let d12 = sweep.iter().find(|r| r[0] == "12").unwrap();
    assert_eq!(
        d12[2].parse::<f64>().unwrap(),
        test_l1,
        "the sweep's d=12 model is the book's AE"
    );
    let generation = csv_rows(&run.join("tables/latent/generation_summary.csv"));
    assert_eq!(generation.len(), 4, "the full set and two small ones");
    assert_eq!(generation[0][2..5], ["draws", "test_l1", "recognised"]);
    for r in &generation[1..] {
        let recognised: f64 = r[4].parse().unwrap();
        assert!((0.0..=1.0).contains(&recognised));
    }
    // Each small set is drawn five times by default, each draw its own AE
    // on its own images; the summary's small rows are the draws' means.
    let full = generation.iter().find(|r| r[0] == "all training images");
    assert_eq!(full.unwrap()[2], "1", "one full AE");
    let per_draw = csv_rows(&run.join("tables/latent/generation_draws.csv"));
    assert_eq!(per_draw.len(), 1 + 2 * 5, "{per_draw:?}");
    for n in ["10", "100"] {
        let l1: Vec<f64> = per_draw[1..]
            .iter()
            .filter(|r| r[1] == n)
            .map(|r| r[3].parse().unwrap())
            .collect();
        let summary = generation.iter().find(|r| r[1] == n).unwrap();
        assert_eq!(summary[2], "5");
        let mean = l1.iter().sum::<f64>() / l1.len() as f64;
        // The CSV rounds to six decimals.
        assert!((summary[3].parse::<f64>().unwrap() - mean).abs() < 2e-6);
        assert!(
            l1.iter().any(|&x| x != l1[0]),
            "the draws of {n} images trained different AEs: {l1:?}"
        );
    }

    // `denoising`: per level the noisy input, AE, DAE and DAE-on-clean rows.
    let den = csv_rows(&run.join("tables/denoising/denoising.csv"));
    assert_eq!(den.len(), 1 + 3 * 4);
    let noisy: f64 = den[1][2].parse().unwrap();
    let dae: f64 = den
        .iter()
        .find(|r| r[0].parse::<f64>() == Ok(0.5) && r[1] == "denoising AE")
        .unwrap()[2]
        .parse()
        .unwrap();
    assert!(
        dae < noisy,
        "the DAE ({dae}) must beat its noisy input ({noisy})"
    );
    assert!(
        text.contains(&format!("{dae:.4}")),
        "PDF lacks the DAE's L1"
    );

    // The strongest level's DAE, trained for 1× and 3× the epochs.
    let budget = csv_rows(&run.join("tables/denoising/budget.csv"));
    assert_eq!(budget[0][..2], ["multiple", "epochs"]);
    let epochs: Vec<&str> = budget[1..].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(epochs, ["2", "6"], "{budget:?}");

    let clf = csv_rows(&run.join("tables/classifier/history.csv"));
    let acc: f64 = clf.last().unwrap()[4].parse().unwrap();
    assert!(acc > 0.5, "classifier test accuracy {acc}");
    assert!(
        text.contains(&format!("{:.2}%", acc * 100.0)),
        "PDF lacks the classifier's accuracy"
    );
    let variants = csv_rows(&run.join("tables/center-loss/variants.csv"));
    assert_eq!(variants.len(), 5, "header + k ∈ {{2, 12}} × 2 variants");
    let transfer = csv_rows(&run.join("tables/transfer/comparison.csv"));
    let best: f64 = transfer[1][1].parse().unwrap();
    assert!(
        text.contains(&format!("{:.1}%", best * 100.0)),
        "PDF lacks transfer's numbers"
    );
    // Transfer is measured over the few-shot draws, each difference paired
    // by draw, with a verdict only the interval decides.
    let draws = csv_rows(&run.join("tables/few-shot/repetitions.csv"));
    assert_eq!(draws.len(), 1 + 5, "five draws by default");
    let per_draw = csv_rows(&run.join("tables/transfer/repetitions.csv"));
    assert_eq!(per_draw.len(), 1 + 7 * 5, "seven starts on five draws");
    let differences = csv_rows(&run.join("tables/transfer/differences.csv"));
    assert_eq!(
        differences[0][2..],
        ["mean_difference", "se", "ci_low", "ci_high", "verdict"]
    );
    for r in &differences[1..] {
        let (low, high): (f64, f64) = (r[4].parse().unwrap(), r[5].parse().unwrap());
        let expected = if low > 0.0 {
            "higher"
        } else if high < 0.0 {
            "lower"
        } else {
            "no-measurable-difference"
        };
        assert_eq!(r[6], expected, "{r:?}");
    }
    // The latent adversary walks every AE's codes: all images, and every
    // draw of 10 and 100.
    let adversary = csv_rows(&run.join("tables/latent/adversary.csv"));
    assert_eq!(adversary.len(), 1 + 3, "{adversary:?}");
    assert_eq!(
        adversary[0][2..6],
        ["draws", "digits", "read_right", "flipped"]
    );
    for r in &adversary[1..] {
        let [draws, digits, right, flipped]: [u32; 4] = [2, 3, 4, 5].map(|i| r[i].parse().unwrap());
        assert_eq!(digits, 50 * draws, "{r:?}");
        assert!(flipped <= right && right <= digits && right > 0, "{r:?}");
    }
    let counts = csv_rows(&run.join("tables/few-shot/class_counts.csv"));
    let total: u32 = counts[1..]
        .iter()
        .map(|r| r[1].parse::<u32>().unwrap())
        .sum();
    assert_eq!(total, 100, "few-shot trains on 100 labels");

    // The PDF in the run is the same document; figures are published.
    assert_eq!(
        std::fs::read(run.join("ex2.pdf")).unwrap(),
        std::fs::read(book.path().join("ex2.pdf")).unwrap()
    );
    for f in [
        "autoencoder/loss.svg",
        "autoencoder/reconstructions.png",
        "classifier/confusion.svg",
        "center-loss/features-2d.svg",
    ] {
        assert!(book.path().join("figures").join(f).is_file(), "{f}");
    }
    let m = manifest(&run);
    assert_eq!(m["profile"], "smoke");
    assert!(
        m["chapters"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "ok"),
        "{}",
        m["chapters"]
    );
    assert_eq!(
        m["dataset"]["checksums"]["train-images-idx3-ubyte"],
        "fc10080e92e48998cf561522ec74cfcd9fdc1d3eb6d815e4b8d6392c71460463"
    );
    assert!(!m["model_cache"]["misses"].as_array().unwrap().is_empty());
    let checks = csv_rows(&run.join("tables/theory/checks.csv"));
    assert!(checks.len() > 10, "theory checks");
    assert!(
        checks[1..]
            .iter()
            .all(|r| r.last().unwrap() == "holds" || r.last().unwrap() == "fails, as stated"),
        "a theory check disagrees: {checks:?}"
    );
    let baselines = csv_rows(&run.join("tables/baselines/accuracy.csv"));
    assert_eq!(
        baselines.len(),
        1 + 12 + 1,
        "4 models × 3 feature sets + the deep classifier"
    );

    // `ex2 plan` names exactly the models the build loaded or trained, and
    // now finds every one of them cached.
    let out = book.ex2(&["plan", "--format", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let planned: std::collections::BTreeSet<String> = plan
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert_eq!(e["cached"], true, "{e}");
            e["key"].as_str().unwrap().to_string()
        })
        .collect();
    let used: std::collections::BTreeSet<String> =
        ["hits", "misses", "result_hits", "result_misses"]
            .iter()
            .flat_map(|k| m["model_cache"][k].as_array().unwrap())
            .map(|k| k.as_str().unwrap().to_string())
            .collect();
    // Models and classic-ML results alike (SVM fits, t-SNEs).
    assert_eq!(planned, used, "the plan is what the build used");
    // The plan is a job graph: dependencies by key, and a cost per job.
    let jobs = plan.as_array().unwrap();
    let key_of = |name: &str| {
        jobs.iter()
            .find(|j| j["name"] == name)
            .unwrap_or_else(|| panic!("{name} not planned"))["key"]
            .clone()
    };
    let deps_of = |name: &str| {
        jobs.iter().find(|j| j["name"] == name).unwrap()["depends_on"]
            .as_array()
            .unwrap()
            .clone()
    };
    assert_eq!(
        deps_of("transfer/fine-tuned/1"),
        [key_of("autoencoder/conv-ae")]
    );
    assert_eq!(
        deps_of("classifier-decoding/decoder"),
        [key_of("classifier/classifier")]
    );
    assert!(deps_of("autoencoder/conv-ae").is_empty());
    assert_eq!(
        deps_of("baselines/poly-svm/ae-codes"),
        [key_of("autoencoder/conv-ae")]
    );
    assert!(deps_of("baselines/poly-svm/pixels").is_empty());
    for j in jobs {
        let kind = j["kind"].as_str().unwrap();
        if kind == "classic-fit" || kind == "tsne" {
            // A classic-ML result trains nothing: no image-epochs.
            assert!(j["cost"].is_null(), "{j}");
        } else {
            assert!(j["cost"]["image_epochs"].as_u64().unwrap() > 0, "{j}");
        }
    }

    // `ex2 list` sees the run.
    let out = book.ex2(&["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        listing.contains("center-loss") && listing.contains("ok"),
        "{listing}"
    );

    // Again, unchanged: every chapter is taken from that run, nothing is
    // loaded or computed, and the book is typeset from the same tables.
    let out = book.ex2(&["build-report"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let reused = book.runs().pop().unwrap();
    assert_ne!(reused, run);
    let m = manifest(&reused);
    let run_id = run.file_name().unwrap().to_str().unwrap();
    for c in m["chapters"].as_array().unwrap() {
        assert_eq!(c["status"], "reused", "{c}");
        assert_eq!(c["reused_from"], run_id, "{c}");
    }
    for list in ["hits", "misses", "result_hits", "result_misses"] {
        assert!(
            m["model_cache"][list].as_array().unwrap().is_empty(),
            "{list}: {}",
            m["model_cache"]
        );
    }
    assert_same_tables(
        &stable_tables(&run),
        &stable_tables(&reused),
        "a reused chapter's tables differ from the run that computed them",
    );
    assert!(pdf_text(&book.path().join("ex2.pdf")).contains(run_id));

    // Recomputed: every model comes from the cache, and the tables are the same.
    let out = book.ex2(&["build-report", "--recompute"]);
    assert!(
        out.status.success(),
        "cached build-report failed:\n{}",
        stderr(&out)
    );
    let second = book.runs().pop().unwrap();
    assert_ne!(second, run);
    let m2 = manifest(&second);
    assert_eq!(
        m2["model_cache"]["misses"].as_array().unwrap().len(),
        0,
        "{}",
        m2["model_cache"]
    );
    for c in m2["chapters"].as_array().unwrap() {
        assert_eq!(c["status"], "ok", "{c}");
    }
    assert_same_tables(
        &stable_tables(&run),
        &stable_tables(&second),
        "the cached rebuild gave different tables",
    );
    // Nor any classic-ML result: the SVM, logistic and naive Bayes fits and
    // the t-SNE embeddings come from the cache too, so the t-SNE figures are
    // the same bytes.
    assert!(
        m2["model_cache"]["result_misses"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{}",
        m2["model_cache"]
    );
    assert!(
        !m2["model_cache"]["result_hits"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    for fig in ["center-loss/tsne.svg", "denoising/tsne.svg"] {
        assert_eq!(
            std::fs::read(run.join("figures").join(fig)).unwrap(),
            std::fs::read(second.join("figures").join(fig)).unwrap(),
            "{fig} differs between the cold and the cached build"
        );
    }

    // From scratch in another directory (no cache), one training at a time
    // instead of the default slots: byte-identical metric
    // tables, so neither the cache nor the schedule changes a number.
    let other = Book::new();
    let out = other.ex2(&["build-report", "--jobs", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("up to 1 trainings at a time"),
        "{}",
        stderr(&out)
    );
    let fresh = other.runs().remove(0);
    assert_eq!(manifest(&fresh)["scheduler"]["jobs"], 1);
    // Every table byte for byte: until 2026-12-04 a classifier's training
    // (a transfer fine-tuning, a few-shot or center-loss model) differed
    // between the two schedules in about a third of the books, from its
    // second step on (see `train_classifier`'s feature-size probe).
    assert_same_tables(
        &stable_tables(&run),
        &stable_tables(&fresh),
        "the same book with --jobs 1 gave different tables",
    );
}

/// `build-report` reuses a chapter from the newest run with the same
/// inputs, looking past a newer run with other settings; a chapter whose
/// earlier output cannot be read is computed again, with a warning, and
/// the unreadable run is left as it was.
#[test]
fn build_report_reuses_the_newest_run_with_the_same_inputs() {
    let book = Book::with_chapters(&["theory"], |t| t);
    let status = |out: &std::process::Output| {
        assert!(out.status.success(), "{}", stderr(out));
        let m = manifest(book.runs().last().unwrap());
        (
            m["chapters"][0]["status"].as_str().unwrap().to_string(),
            m["chapters"][0]["reused_from"].as_str().map(String::from),
        )
    };
    let first = status(&book.ex2(&["build-report"]));
    assert_eq!(first, ("ok".into(), None));
    let first_id = book.runs()[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();

    let out = book.ex2(&["--set", "build.seed=7", "build-report"]);
    assert!(
        stderr(&out).contains(&format!(
            "theory: running (build.seed changed since run {first_id})"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(status(&out), ("ok".into(), None));

    // Back to the default seed: the first run has it, the newer one not.
    let out = book.ex2(&["build-report"]);
    assert_eq!(status(&out), ("reused".into(), Some(first_id.clone())));

    // Every earlier run that has it unreadable: computed, and says why.
    for run in book.runs() {
        std::fs::write(run.join("chapters/theory/output.json"), b"{ not json").unwrap();
    }
    let out = book.ex2(&["build-report"]);
    let e = stderr(&out);
    assert!(e.contains("theory: not reusing an earlier run"), "{e}");
    assert!(e.contains("output.json"), "{e}");
    assert_eq!(status(&out), ("ok".into(), None));
    assert_eq!(
        std::fs::read(book.runs()[0].join("chapters/theory/output.json")).unwrap(),
        b"{ not json"
    );
}

#[test]
fn chapter_command_reruns_one_chapter_and_reuses_the_rest() {
    let book = Book::with_chapters(&["autoencoder", "few-shot"], |t| t);
    let out = book.ex2(&["build-report"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = book.ex2(&["chapter", "few-shot"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("autoencoder: reused from run"),
        "{}",
        stderr(&out)
    );
    let runs = book.runs();
    assert_eq!(runs.len(), 2);
    let m = manifest(&runs[1]);
    let chapters = m["chapters"].as_array().unwrap();
    assert_eq!(chapters[0]["status"], "reused");
    assert_eq!(
        chapters[0]["reused_from"],
        runs[0].file_name().unwrap().to_str().unwrap()
    );
    assert_eq!(chapters[1]["status"], "ok");
    // The reused chapter's tables were carried into the new run.
    assert!(runs[1].join("tables/autoencoder/history.csv").is_file());
    let text = pdf_text(&book.path().join("ex2.pdf"));
    assert!(
        text.contains("A Convolutional Autoencoder") && text.contains("Learning from 100 Labels")
    );
    let computed_in = runs[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        text.contains(&computed_in),
        "the appendix names the run the reused chapter came from"
    );

    // Another chapter's settings change: `ex2 chapter few-shot` re-runs
    // autoencoder too (from the cache) and says why; nothing is mixed.
    let toml = std::fs::read_to_string(book.path().join("book.toml")).unwrap();
    std::fs::write(
        book.path().join("book.toml"),
        toml.replacen("grid-digits = 16", "grid-digits = 8", 1),
    )
    .unwrap();
    let out = book.ex2(&["chapter", "few-shot"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("autoencoder: running (chapter.autoencoder.grid-digits changed since run"),
        "{}",
        stderr(&out)
    );
    let m = manifest(book.runs().last().unwrap());
    assert_eq!(m["chapters"][0]["status"], "ok");
    assert_eq!(
        m["chapters"][0]["inputs"]["chapter.autoencoder.grid-digits"],
        8
    );
    assert!(m["model_cache"]["misses"].as_array().unwrap().is_empty());

    // `ex2 plan` says why a model would be trained: what differs from the
    // nearest cached model of its kind.
    let out = book.ex2(&["--set", "chapter.few-shot.epochs=30", "plan"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan = String::from_utf8_lossy(&out.stdout);
    let line = plan
        .lines()
        .find(|l| l.starts_with("few-shot/scratch"))
        .unwrap_or_else(|| panic!("{plan}"));
    assert!(
        line.contains("to train") && line.contains("spec.training.epochs: 60 → 30"),
        "{plan}"
    );
    assert!(
        plan.lines()
            .filter(|l| l.starts_with("autoencoder/"))
            .all(|l| l.ends_with("cached")),
        "{plan}"
    );
}

/// Every changed setting reaches the text where the default stood, and no
/// old default survives.
#[test]
fn changed_settings_appear_in_the_book_and_old_defaults_do_not() {
    let book = Book::with_chapters(
        &[
            "autoencoder",
            "denoising",
            "classifier",
            "few-shot",
            "baselines",
        ],
        |t| t,
    );
    let sets = [
        "chapter.autoencoder.latent-dim=16",
        "chapter.autoencoder.channels=[16,32]",
        "chapter.baselines.poly-degree=2",
        "chapter.few-shot.labels=50",
        "chapter.denoising.noise-factors=[0.3,0.6]",
        "profile.smoke.svm-train-size=400",
        "profile.smoke.epochs=3",
    ];
    let mut args = Vec::new();
    for s in sets {
        args.extend(["--set", s]);
    }
    args.push("build-report");
    let out = book.ex2(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = pdf_text(&book.path().join("ex2.pdf"));
    for new in [
        // Typst's math italic letters are their own code points.
        "code of only \u{1d451} = 16 numbers",
        "16 and 32 channels",
        "32 × 7 × 7",
        "degree 2",
        "16-dimensional codes",
        "Learning from 50 Labels",
        "With only 50 labelled images",
        "\u{1d453} = 0.3 and 0.6",
        "on the first 400 images",
        "for 3 epochs",
    ] {
        assert!(text.contains(new), "`{new}` missing from the book:\n{text}");
    }
    for old in [
        "12 numbers",
        "degree 3",
        "64 × 7 × 7",
        "12-dimensional",
        "100 Labels",
        "100 labelled",
        "\u{1d453} = 0.5",
        "first 500 images",
        "for 2 epochs",
    ] {
        assert!(!text.contains(old), "`{old}` survives in the book:\n{text}");
    }
}

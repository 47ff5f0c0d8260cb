//! Bad input gets a clear error and a non-zero exit, and touches no run.

mod common;

use common::{Book, stderr};

#[test]
fn unknown_chapter_id_lists_the_valid_ones() {
    let book = Book::new();
    let out = book.ex2(&["chapter", "autoencodr"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("autoencodr") && e.contains("autoencoder"), "{e}");
    assert!(book.runs().is_empty());
}

#[test]
fn invalid_book_toml_value_names_the_key() {
    let book = Book::with_toml(|t| t.replace("latent-dim = 12", "latent-dim = 0"));
    let out = book.ex2(&["build-report"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("chapter.autoencoder.latent-dim"), "{e}");
    assert!(book.runs().is_empty());
}

#[test]
fn a_non_positive_adam_epsilon_names_the_key() {
    let book = Book::with_toml(|t| t.replace("adam-epsilon = 1e-8", "adam-epsilon = 0.0"));
    let out = book.ex2(&["build-report"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("chapter.autoencoder.adam-epsilon") && e.contains("positive"),
        "{e}"
    );
    assert!(book.runs().is_empty());
}

/// Settings that would leave a comparison without its uncertainty, or
/// transfer's probe without epochs to fine-tune, are refused by name.
#[test]
fn settings_that_break_a_comparison_name_their_key() {
    for (from, to, key, says) in [
        (
            "\nseeds = 5 ",
            "\nseeds = 1 ",
            "chapter.few-shot.seeds",
            "at least 2",
        ),
        (
            "validation = 20 ",
            "validation = 95 ",
            "chapter.few-shot.validation",
            "leave at least 10",
        ),
        (
            "probe-fraction = 0.5 ",
            "probe-fraction = 1.0 ",
            "chapter.transfer.probe-fraction",
            "between 0 and 1",
        ),
        (
            "encoder-learning-rate-factor = 0.1 ",
            "encoder-learning-rate-factor = 1.5 ",
            "chapter.transfer.encoder-learning-rate-factor",
            "below 1",
        ),
    ] {
        let book = Book::with_toml(|t| {
            assert!(t.contains(from), "book.toml has `{from}`");
            t.replace(from, to)
        });
        let out = book.ex2(&["plan"]);
        assert_eq!(out.status.code(), Some(2), "{key}");
        let e = stderr(&out);
        assert!(e.contains(key) && e.contains(says), "{key}: {e}");
    }
    // One epoch leaves probe-then-fine-tune nothing to fine-tune: the plan
    // says so by name (transfer checks it against few-shot's epochs).
    let book = Book::new();
    let out = book.ex2(&["--set", "chapter.few-shot.epochs=1", "plan"]);
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("chapter.few-shot.epochs = 1") && e.contains("at least 2"),
        "{e}"
    );
}

#[test]
fn unknown_book_toml_key_is_rejected() {
    let book = Book::with_toml(|t| {
        t.replace(
            "[chapter.autoencoder]",
            "[chapter.autoencoder]\nlatent-dims = 3",
        )
    });
    let out = book.ex2(&["list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("latent-dims"), "{}", stderr(&out));
}

#[test]
fn corrupt_data_file_is_named_and_nothing_runs() {
    let book = Book::new();
    let p = book
        .path()
        .join("tests/fixtures/mnist-small/t10k-labels-idx1-ubyte.gz");
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    let out = book.ex2(&["build-report"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("t10k-labels-idx1-ubyte"), "{e}");
    assert!(book.runs().is_empty());
    let out = book.ex2(&["data", "verify"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn profile_larger_than_the_data_is_an_error() {
    let book = Book::with_toml(|t| t.replacen("train-size = 3000", "train-size = 5000", 1));
    let out = book.ex2(&["build-report"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("profile.smoke.train-size"),
        "{}",
        stderr(&out)
    );
}

/// Settings this book checks beyond their type: each `--set` is refused
/// before anything runs, with a message that names the key.
#[test]
fn out_of_range_settings_name_their_key() {
    let book = Book::new();
    for (set, says) in [
        (
            "profile.smoke.svm-train-size=5000",
            "profile.smoke.svm-train-size = 5000 asks for more images than profile.smoke.train-size = 3000",
        ),
        (
            "profile.smoke.linear-train-size=4000",
            "profile.smoke.linear-train-size = 4000 asks for more images",
        ),
        (
            "profile.smoke.target-classifier-accuracy=1.5",
            "profile.smoke.target-classifier-accuracy must be in (0, 1]",
        ),
        (
            "profile.smoke.target-ae-test-l1=-0.1",
            "profile.smoke.target-ae-test-l1 must be a positive number",
        ),
        (
            "chapter.latent.gain-threshold=0",
            "chapter.latent.gain-threshold must be a positive number",
        ),
        (
            "chapter.latent.small-seeds=1",
            "chapter.latent.small-seeds must be at least 2",
        ),
        (
            "chapter.latent.small-step-share=0",
            "chapter.latent.small-step-share must be a positive number",
        ),
        (
            "chapter.latent.small-train-sizes=[10, 10]",
            "chapter.latent.small-train-sizes lists 10 twice",
        ),
        (
            "chapter.denoising.budget-multiples=[1]",
            "chapter.denoising.budget-multiples holds 1",
        ),
        (
            "chapter.transfer.code-head-epoch-factor=0",
            "chapter.transfer.code-head-epoch-factor",
        ),
        (
            "chapter.few-shot.generated-per-class=-3",
            "chapter.few-shot.generated-per-class: invalid value: integer `-3`",
        ),
    ] {
        let out = book.ex2(&["--set", set, "build-report"]);
        assert_eq!(out.status.code(), Some(2), "--set {set}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "--set {set}: {}", stderr(&out));
        assert!(book.runs().is_empty(), "--set {set} started a run");
    }
}

#[test]
fn executor_options_that_do_not_go_together_are_refused_before_anything_runs() {
    let book = Book::new();
    for (args, says) in [
        (
            &["build-report", "--no-wait"][..],
            "--no-wait and --slurm-opt go with --executor slurm",
        ),
        (
            &["build-report", "--slurm-opt=--partition=gpu"],
            "--no-wait and --slurm-opt go with --executor slurm",
        ),
        (
            &["chapter", "theory", "--force", "--executor", "slurm"],
            "--force retrains in this process",
        ),
    ] {
        let out = book.ex2(args);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(book.runs().is_empty(), "{args:?} started a run");
    }
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_backend_without_the_feature_is_a_clear_error() {
    let book = Book::new();
    let out = book.ex2(&["build-report", "--backend", "cuda"]);
    assert_eq!(out.status.code(), Some(3));
    let e = stderr(&out);
    assert!(e.contains("--features cuda"), "{e}");
}

#[test]
fn negative_noise_and_empty_lists_name_their_key() {
    let book = Book::with_toml(|t| {
        t.replace(
            "noise-factors = [0.5, 0.7, 0.9]",
            "noise-factors = [0.5, -0.7]",
        )
    });
    let out = book.ex2(&["build-report"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("chapter.denoising.noise-factors"),
        "{}",
        stderr(&out)
    );
    let book = Book::new();
    let out = book.ex2(&["--set", "chapter.latent.dims=[]", "build-report"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("chapter.latent.dims must not be empty"),
        "{}",
        stderr(&out)
    );
    let out = book.ex2(&["--set", "chapter.latent.interpolation-dims=[7]", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("shares no d"), "{}", stderr(&out));
    assert!(book.runs().is_empty());
}

#[test]
fn a_broken_template_fails_before_anything_trains() {
    let book = Book::new();
    std::fs::write(
        book.path().join("chapters/latent.typ.j2"),
        "{% if facts.x %}never closed\n",
    )
    .unwrap();
    let out = book.ex2(&["build-report"]);
    assert_ne!(out.status.code(), Some(0));
    let e = stderr(&out);
    assert!(e.contains("chapters/latent.typ.j2"), "{e}");
    assert!(!e.contains("autoencoder: running"), "nothing ran: {e}");
    assert!(book.runs().is_empty());
}

#[test]
fn more_labels_than_training_images_fails_the_chapter_and_says_why() {
    let book = Book::with_chapters(&["few-shot", "theory"], |t| t);
    let out = book.ex2(&["--set", "chapter.few-shot.labels=5000", "build-report"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(
            "chapter.few-shot.labels = 5000, but the profile's training split has only 3000 images"
        ),
        "{}",
        stderr(&out)
    );
}

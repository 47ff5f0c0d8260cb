//! Training progress: an indicatif bar on a terminal, plain lines otherwise
//! (CI logs, pipes), so logs stay readable.

use std::io::IsTerminal;
use std::sync::LazyLock;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// One set of bars for the whole process: concurrent trainings each get a line.
static BARS: LazyLock<MultiProgress> = LazyLock::new(MultiProgress::new);

pub struct TrainProgress {
    label: String,
    epochs: usize,
    bar: Option<ProgressBar>,
}

impl TrainProgress {
    pub fn new(label: &str, epochs: usize, batches_per_epoch: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = BARS.add(ProgressBar::new((epochs * batches_per_epoch) as u64));
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix:>28} {msg:<30} [{bar:30}] {pos}/{len} batches, ETA {eta}",
                )
                .expect("static template")
                .progress_chars("=> "),
            );
            bar.set_prefix(label.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            label: label.to_string(),
            epochs,
            bar,
        }
    }

    /// After each batch; `loss` is shown when it was read back.
    pub fn batch(&self, epoch: usize, loss: Option<f64>) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if let Some(loss) = loss {
                bar.set_message(format!("epoch {epoch}/{} loss {loss:.4}", self.epochs));
            }
        }
    }

    /// After each epoch: a permanent line in both modes.
    pub fn epoch(&self, line: &str) {
        let text = format!("{}: {line}", self.label);
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// Ends the bar and names what diverged: `what` of `model` reached
    /// `value` at `epoch`, batch `batch`.
    pub fn diverged(
        &self,
        model: &str,
        what: &str,
        value: f64,
        epoch: usize,
        batch: usize,
    ) -> crate::base::error::Ex2Error {
        self.finish();
        crate::base::error::Ex2Error::Diverged {
            model: model.to_string(),
            what: what.into(),
            value,
            epoch,
            batch,
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

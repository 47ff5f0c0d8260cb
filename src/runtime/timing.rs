//! Where a chapter's time goes: training, classic ML (t-SNE, SVMs,
//! logistic regression, naive Bayes, PCA), waiting (for a free slot, or for
//! a model another chapter is training), and the rest — evaluation passes,
//! figures and tables.
//!
//! A chapter runs on several threads at once (its work queue, the training
//! slots), so its phases are *thread-seconds*: each is the summed duration
//! of that kind of work on any of the chapter's threads, and together they
//! can exceed the chapter's wall time. The clock follows the work across
//! threads because the scheduler, which starts every thread a chapter
//! uses, hands the caller's clock to it.
//!
//! Process-wide state: none. The clock is a thread-local that the chapter
//! sets for its own threads ([`chapter`]) and the scheduler carries to the
//! threads it starts; the code that times a phase needs no handle.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// A kind of work that is timed where it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Training,
    ClassicMl,
    Waiting,
}

/// The thread-seconds of one chapter, by phase.
#[derive(Debug, Default)]
pub struct PhaseClock {
    training: AtomicI64,
    classic_ml: AtomicI64,
    waiting: AtomicI64,
    /// Time any of the chapter's threads was running (not blocked on
    /// its own workers).
    active: AtomicI64,
}

/// A chapter's phases in seconds, as the manifest records them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseSeconds {
    pub training: f64,
    pub classic_ml: f64,
    pub waiting: f64,
    /// Everything else the chapter's threads did: evaluation passes,
    /// figures, tables.
    pub evaluation: f64,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl PhaseClock {
    fn counter(&self, phase: Phase) -> &AtomicI64 {
        match phase {
            Phase::Training => &self.training,
            Phase::ClassicMl => &self.classic_ml,
            Phase::Waiting => &self.waiting,
        }
    }

    pub fn add(&self, phase: Phase, d: Duration) {
        self.counter(phase).fetch_add(nanos(d), Ordering::Relaxed);
    }

    /// A thread of the chapter ran for `d`.
    pub fn add_active(&self, d: Duration) {
        self.active.fetch_add(nanos(d), Ordering::Relaxed);
    }

    /// A thread of the chapter was blocked on its own workers for `d` (they
    /// count their own time).
    pub fn sub_active(&self, d: Duration) {
        self.active.fetch_sub(nanos(d), Ordering::Relaxed);
    }

    pub fn seconds(&self) -> PhaseSeconds {
        let s = |a: &AtomicI64| a.load(Ordering::Relaxed) as f64 / 1e9;
        let (training, classic_ml, waiting) =
            (s(&self.training), s(&self.classic_ml), s(&self.waiting));
        PhaseSeconds {
            training,
            classic_ml,
            waiting,
            evaluation: (s(&self.active) - training - classic_ml - waiting).max(0.0),
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<PhaseClock>>> = const { RefCell::new(None) };
}

/// The clock of the chapter this thread works for, if any.
pub fn current() -> Option<Arc<PhaseClock>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Runs `f` with `clock` as this thread's clock, then restores the old one.
pub fn with_clock<R>(clock: Option<Arc<PhaseClock>>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<PhaseClock>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let old = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = old);
        }
    }
    let old = CURRENT.with(|c| std::mem::replace(&mut *c.borrow_mut(), clock));
    let _restore = Restore(old);
    f()
}

/// Runs `f` as a chapter's top-level work with a fresh clock; returns its
/// result and the chapter's phases.
pub fn chapter<R>(f: impl FnOnce() -> R) -> (R, PhaseSeconds) {
    let clock = Arc::new(PhaseClock::default());
    let started = Instant::now();
    let result = with_clock(Some(clock.clone()), f);
    clock.add_active(started.elapsed());
    (result, clock.seconds())
}

/// Adds `d` to `phase` of this thread's clock (none: nothing to do).
pub fn record(phase: Phase, d: Duration) {
    if let Some(clock) = current() {
        clock.add(phase, d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_follow_the_clock_and_the_rest_is_evaluation() {
        let ((), phases) = chapter(|| {
            std::thread::sleep(Duration::from_millis(30));
            record(Phase::Training, Duration::from_millis(10));
            record(Phase::Waiting, Duration::from_millis(5));
            // A worker thread that was handed the clock counts for the chapter.
            let clock = current();
            std::thread::scope(|s| {
                s.spawn(|| {
                    with_clock(clock, || record(Phase::ClassicMl, Duration::from_millis(7)))
                });
            });
        });
        assert!((phases.training - 0.010).abs() < 1e-9);
        assert!((phases.waiting - 0.005).abs() < 1e-9);
        assert!((phases.classic_ml - 0.007).abs() < 1e-9);
        assert!(phases.evaluation >= 0.030 - 0.022 - 1e-3, "{phases:?}");
        // Outside a chapter nothing is recorded, and the clock was restored.
        assert!(current().is_none());
        record(Phase::Training, Duration::from_secs(1));
    }
}

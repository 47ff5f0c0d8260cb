//! Where the book's work runs: chapters side by side, and every heavy job —
//! a training, a t-SNE, an SVM, a logistic regression — in one of a fixed
//! number of *slots*, each with its own thread budget, so the cores stay
//! busy without being oversubscribed.
//!
//! A training job is described by data: the model kind and its spec, which
//! serialise to the artifact cache key and are stored as the entry's
//! `spec.json`. Chapters ask the artifact store for models; the store trains
//! a missing one in a slot ([`in_training_slot`]) and is single-flight per
//! key, so two chapters that need the same model (transfer and the book AE,
//! classifier-decoding and the classifier) share one training instead of a
//! hand-written dependency graph. Every model's numbers depend only on its
//! spec and seed (`crate::nn::init::seeded_init`), so the schedule changes no result.
//!
//! Process-wide state, kept global on purpose: the slot pool. Every heavy
//! job anywhere — a training in `experiment`, an SVM or a t-SNE in `ml`, a
//! probe in a chapter — must draw from the *same* pool, or two pools would
//! oversubscribe the cores; a handle would have to travel through every
//! training loop and classic-ML call only to reach the one pool there is.
//! Only the runner (once per build, before any chapter starts) and `bench`
//! (between its measurements, never during one) call [`configure`].

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use anyhow::Result;
use serde::{Deserialize, Serialize};

use crate::runtime::timing::{self, Phase};

/// How many heavy jobs (trainings, t-SNE, SVMs, …) run at once, and how
/// many threads each may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    pub jobs: usize,
    pub threads_per_job: usize,
}

impl Budget {
    /// One training per core, one thread each: on 2 cores two one-thread
    /// trainings together do more than two sharing both threads (measured
    /// with `ex2 bench`, see README).
    pub fn auto() -> Self {
        let cores = cores();
        Budget {
            jobs: cores,
            threads_per_job: 1,
        }
    }

    /// `jobs` heavy jobs at once (0: auto), one thread each whatever the
    /// number of cores: a job's numbers must not depend on thread timing.
    /// burn-flex sums a tensor of 4M floats or more over rayon's
    /// work-stealing splits, so with two threads the summation order follows
    /// the stealing (300 sums of one 5M-element tensor in a 2-thread pool
    /// beside a busy thread gave 4 different results). That is the only
    /// timing-dependent reduction found in burn-flex, and the likely cause of
    /// the smoke classifier's loss once differing in the 4th digit between
    /// `--jobs 1` (then two threads) and the default (1 of 7 test runs).
    /// A one-thread pool runs the splits in a fixed order. `ex2 bench` still
    /// measures wider budgets for speed ([`Budget::wide`]).
    pub fn with_jobs(jobs: usize) -> Self {
        if jobs == 0 {
            return Self::auto();
        }
        Budget {
            jobs,
            threads_per_job: 1,
        }
    }
}

impl Budget {
    /// One job with every core: what `ex2 bench` compares with a PyTorch
    /// job of as many threads. Not for the book (see [`Budget::with_jobs`]).
    pub fn wide() -> Self {
        Budget {
            jobs: 1,
            threads_per_job: cores(),
        }
    }
}

/// The cores this process may use (`RAYON_NUM_THREADS` narrows it).
pub fn cores() -> usize {
    let available = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(available)
}

struct Slots {
    budget: Budget,
    /// One thread pool per free slot; a training takes one and gives it back.
    free: Mutex<Vec<rayon::ThreadPool>>,
    returned: Condvar,
}

impl Slots {
    fn new(budget: Budget) -> Self {
        let free = (0..budget.jobs)
            .map(|i| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(budget.threads_per_job)
                    .thread_name(move |t| format!("ex2-slot{i}-{t}"))
                    .build()
                    .expect("a thread pool")
            })
            .collect();
        Slots {
            budget,
            free: Mutex::new(free),
            returned: Condvar::new(),
        }
    }
}

static SLOTS: Mutex<Option<Arc<Slots>>> = Mutex::new(None);

fn slots() -> Arc<Slots> {
    let mut current = SLOTS.lock().unwrap_or_else(|e| e.into_inner());
    current
        .get_or_insert_with(|| Arc::new(Slots::new(Budget::auto())))
        .clone()
}

/// Sets the budget for the trainings that start from now on (a build sets
/// it once; `ex2 bench` compares budgets).
pub fn configure(budget: Budget) {
    assert!(budget.jobs > 0 && budget.threads_per_job > 0);
    *SLOTS.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(Slots::new(budget)));
}

/// The budget trainings run under.
pub fn budget() -> Budget {
    slots().budget
}

/// Runs one training: waits for a free slot, then runs `job` on that slot's
/// threads (burn's CPU kernels parallelise over the current rayon pool).
pub fn in_training_slot<R: Send>(job: impl FnOnce() -> R + Send) -> R {
    in_slot(Phase::Training, job)
}

/// Runs one heavy job of kind `phase` in a slot, as [`in_training_slot`]
/// does a training; the wait and the job are timed on the chapter's clock.
/// A job that asks for a slot while it holds one runs in place (waiting for
/// a second slot could wait forever).
pub fn in_slot<R: Send>(phase: Phase, job: impl FnOnce() -> R + Send) -> R {
    if IN_SLOT.get() {
        return job();
    }
    slots().run(phase, job)
}

thread_local! {
    /// Set on a slot's threads while they run a job.
    static IN_SLOT: Cell<bool> = const { Cell::new(false) };
}

impl Slots {
    fn run<R: Send>(&self, phase: Phase, job: impl FnOnce() -> R + Send) -> R {
        let clock = timing::current();
        let waiting = Instant::now();
        let pool = {
            let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some(pool) = free.pop() {
                    break pool;
                }
                free = self.returned.wait(free).unwrap_or_else(|e| e.into_inner());
            }
        };
        timing::record(Phase::Waiting, waiting.elapsed());
        let running = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            pool.install(|| {
                timing::with_clock(clock, || {
                    IN_SLOT.set(true);
                    let result = catch_unwind(AssertUnwindSafe(job));
                    IN_SLOT.set(false);
                    result.unwrap_or_else(|panic| resume_unwind(panic))
                })
            })
        }));
        timing::record(phase, running.elapsed());
        self.free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(pool);
        self.returned.notify_one();
        outcome.unwrap_or_else(|panic| resume_unwind(panic))
    }
}

/// A job for [`parallel`].
pub type Job<'a, T> = Box<dyn FnOnce() -> Result<T> + Send + 'a>;

/// Runs independent jobs (chapters, or a chapter's trainings) at the same
/// time, at most as many as the budget has slots, and returns their results
/// in order. A worker takes the next job as soon as its last one ends, so a
/// short job never leaves a slot idle while a long one finishes.
pub fn parallel<T: Send>(jobs: Vec<Job<'_, T>>) -> Result<Vec<T>> {
    parallel_results(jobs).into_iter().collect()
}

/// [`parallel`], keeping every job's own result (a failed chapter must not
/// hide the others).
pub fn parallel_results<T: Send>(jobs: Vec<Job<'_, T>>) -> Vec<Result<T>> {
    let width = budget().jobs.clamp(1, jobs.len().max(1));
    let count = jobs.len();
    let queue = Mutex::new(jobs.into_iter().enumerate());
    let mut slots: Vec<Option<Result<T>>> = (0..count).map(|_| None).collect();
    // The workers work for the caller's chapter: they get its clock and
    // count their own time, while the caller, blocked here, does not.
    let clock = timing::current();
    let blocked = Instant::now();
    let done: Vec<(usize, Result<T>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..width)
            .map(|_| {
                let clock = clock.clone();
                let queue = &queue;
                s.spawn(move || {
                    timing::with_clock(clock.clone(), || {
                        let mut finished = Vec::new();
                        loop {
                            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                            let Some((i, job)) = next else { break };
                            let started = Instant::now();
                            let result = catch_unwind(AssertUnwindSafe(job))
                                .unwrap_or_else(|_| Err(anyhow::anyhow!("a job panicked")));
                            if let Some(clock) = &clock {
                                clock.add_active(started.elapsed());
                            }
                            finished.push((i, result));
                        }
                        finished
                    })
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("workers catch panics"))
            .collect()
    });
    if let Some(clock) = &clock {
        clock.sub_active(blocked.elapsed());
    }
    for (i, r) in done {
        slots[i] = Some(r);
    }
    slots
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn parallel_keeps_the_order_and_reports_the_first_error() {
        let jobs: Vec<Job<usize>> = (0..7)
            .map(|i| {
                Box::new(move || {
                    std::thread::sleep(Duration::from_millis((7 - i) * 5));
                    Ok(i as usize)
                }) as Job<usize>
            })
            .collect();
        assert_eq!(parallel(jobs).unwrap(), (0..7).collect::<Vec<_>>());
        let jobs: Vec<Job<usize>> = vec![
            Box::new(|| Ok(1)),
            Box::new(|| anyhow::bail!("second")),
            Box::new(|| panic!("third")),
        ];
        assert_eq!(parallel(jobs).unwrap_err().to_string(), "second");
    }

    /// Never more trainings at once than slots, each on its slot's threads,
    /// and a panicking training gives its slot back.
    #[test]
    fn training_slots_bound_concurrency_and_thread_budget() {
        let budget = Budget {
            jobs: 2,
            threads_per_job: 1,
        };
        let slots = Slots::new(budget);
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..6 {
                s.spawn(|| {
                    slots.run(Phase::Training, || {
                        assert_eq!(rayon::current_num_threads(), 1);
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 2);
        let caught = catch_unwind(AssertUnwindSafe(|| {
            slots.run(Phase::Training, || panic!("diverged"))
        }));
        assert!(caught.is_err());
        assert_eq!(slots.free.lock().unwrap().len(), 2, "the slot came back");
        assert_eq!(slots.run(Phase::Training, || 7), 7);
        // A job in a slot that asks for another runs in place, and the
        // chapter's clock sees the job's time under its phase.
        let ((), phases) = timing::chapter(|| {
            slots.run(Phase::ClassicMl, || {
                assert_eq!(in_slot(Phase::Training, rayon::current_num_threads), 1);
                std::thread::sleep(Duration::from_millis(20));
            })
        });
        assert!(
            phases.classic_ml >= 0.02 && phases.training == 0.0,
            "{phases:?}"
        );
    }

    #[test]
    fn book_budgets_give_each_job_one_thread() {
        for jobs in [1, 2, 64] {
            let b = Budget::with_jobs(jobs);
            assert_eq!((b.jobs, b.threads_per_job), (jobs, 1));
        }
        assert_eq!(Budget::with_jobs(0), Budget::auto());
        assert_eq!(Budget::auto().threads_per_job, 1);
        assert_eq!(Budget::wide().threads_per_job, cores());
    }

    /// The reason for one thread per job: in a book slot, a sum large
    /// enough for burn-flex's parallel path (4M floats or more) comes out
    /// bit-identical every time, even while another thread competes for
    /// the cores (which is what makes a 2-thread pool's splits vary).
    #[test]
    fn a_large_sum_in_a_slot_is_reproducible() {
        use burn::backend::Flex;
        use burn::tensor::{Tensor, TensorData};
        use std::sync::atomic::AtomicBool;
        let n = 5_000_000;
        let values: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 * 1e-3).collect();
        let device = Default::default();
        let x = Tensor::<Flex, 1>::from_data(TensorData::new(values, [n]), &device);
        let slots = Slots::new(Budget::with_jobs(1));
        let stop = AtomicBool::new(false);
        let sums: std::collections::BTreeSet<u32> = std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
            let sums = (0..300)
                .map(|_| slots.run(Phase::Training, || x.clone().sum().into_scalar().to_bits()))
                .collect();
            stop.store(true, Ordering::Relaxed);
            sums
        });
        assert_eq!(sums.len(), 1, "{} different sums", sums.len());
    }
}

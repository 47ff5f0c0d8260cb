//! Seeded, deterministic initialisation of burn modules.
//!
//! Process-wide state, kept global on purpose: burn's `B::seed` sets one
//! generator per device, so the lock that orders seeding and initialising
//! must be shared by every thread that creates a model. A handle passed
//! down would have to reach every caller anyway and could not prevent a
//! second one from being made.

use std::sync::Mutex;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// `B::seed` sets one generator per device: seeding and initialising under
/// this lock keeps a model's initial weights a function of its own seed when
/// several models are trained at once.
static INIT_LOCK: Mutex<()> = Mutex::new(());

/// Hold this while seeding the device and initialising a model.
pub fn init_lock() -> std::sync::MutexGuard<'static, ()> {
    INIT_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// burn initialises parameters lazily, on first use; this visitor forces
/// every parameter into existence while the lock is held.
struct Materialise;

impl<B: Backend> ModuleVisitor<B> for Materialise {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let _ = param.val();
    }
}

/// Seeds the device and initialises a model, deterministically even while
/// other models train in other threads.
pub fn seeded_init<B: Backend, M: Module<B>>(
    device: &B::Device,
    seed: u64,
    init: impl FnOnce() -> M,
) -> M {
    let _guard = init_lock();
    B::seed(device, seed);
    let model = init();
    model.visit(&mut Materialise);
    model
}

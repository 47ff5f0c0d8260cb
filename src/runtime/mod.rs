//! How work runs in this process: the training slots (scheduler), the
//! phase clock (timing) and progress lines.

pub mod progress;
pub mod scheduler;
pub mod timing;

//! One ex2 process at a time creates or writes a run directory and sweeps
//! the cache's staging: an advisory lock on `<runs>/.lock`, held for those
//! steps only (models train under per-key claims, `store::claim`). A
//! second process waits with a message (up to a limit), then errors. The
//! OS drops the lock when the holder exits, even on kill -9.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub struct StoreLock {
    file: File,
    path: PathBuf,
}

impl StoreLock {
    /// Takes the lock of `runs_dir`, waiting at most `wait` for another
    /// process to release it.
    pub fn acquire(runs_dir: &Path, wait: Duration) -> Result<Self> {
        std::fs::create_dir_all(runs_dir)
            .with_context(|| format!("creating {}", runs_dir.display()))?;
        let path = runs_dir.join(".lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        let started = Instant::now();
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.rewind().and_then(|_| file.read_to_string(&mut holder));
                    let holder = holder.trim();
                    let who = if holder.is_empty() {
                        "another ex2 process".to_string()
                    } else {
                        format!("another ex2 process ({holder})")
                    };
                    if started.elapsed() >= wait {
                        bail!(
                            "{who} is using {}; gave up after {} s (--lock-wait)",
                            runs_dir.display(),
                            wait.as_secs()
                        );
                    }
                    if !told {
                        eprintln!(
                            "waiting for {who} to finish with {} (at most {} s)…",
                            runs_dir.display(),
                            wait.as_secs()
                        );
                        told = true;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("locking {}", path.display()));
                }
            }
        }
        // Who holds it, for the message another process prints.
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "pid {}", std::process::id())?;
        file.flush()?;
        Ok(Self { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StoreLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_store_waits_then_errors() {
        let dir = tempfile::tempdir().unwrap();
        let held = StoreLock::acquire(dir.path(), Duration::ZERO).unwrap();
        let e = StoreLock::acquire(dir.path(), Duration::from_millis(300))
            .err()
            .expect("the store is locked");
        let msg = format!("{e:#}");
        assert!(
            msg.contains("another ex2 process") && msg.contains("pid"),
            "{msg}"
        );
        drop(held);
        StoreLock::acquire(dir.path(), Duration::ZERO).expect("free again");
    }
}

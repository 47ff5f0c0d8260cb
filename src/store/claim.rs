//! Per-key claims on the model cache, so that processes sharing one store
//! (two builds, or `ex2 train` jobs on the hosts of a cluster) train each
//! model once. A claim is a file `<cache>/.claims/<key>` created with an
//! atomic exclusive create, which works on every filesystem a cluster
//! shares (NFS included) where advisory locks may not. It names its holder
//! (host, pid) and the holder refreshes its modification time while it
//! trains, so a claim whose holder died is recognised: at once on the same
//! host (the pid is gone), after [`STALE_AFTER`] without a refresh from
//! another host.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};

/// How often a holder refreshes its claim.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// A claim not refreshed for this long is a dead holder's.
pub const STALE_AFTER: Duration = Duration::from_secs(120);
/// How often a waiter looks again.
const POLL: Duration = Duration::from_millis(250);

/// Who holds a claim, as its file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
}

impl Holder {
    fn this_process() -> Self {
        Self {
            host: this_host(),
            pid: std::process::id(),
        }
    }

    fn parse(text: &str) -> Option<Self> {
        let mut host = None;
        let mut pid = None;
        for line in text.lines() {
            if let Some(h) = line.strip_prefix("host ") {
                host = Some(h.trim().to_string());
            } else if let Some(p) = line.strip_prefix("pid ") {
                pid = p.trim().parse().ok();
            }
        }
        Some(Self {
            host: host?,
            pid: pid?,
        })
    }

    /// Whether the holder is known to be gone: only decidable on its own
    /// host (Linux: its `/proc` entry).
    fn is_gone_here(&self) -> bool {
        self.host == this_host()
            && cfg!(target_os = "linux")
            && !Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pid {} on {}", self.pid, self.host)
    }
}

fn this_host() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// A held claim. Dropping it stops the heartbeat and removes the file.
pub struct Claim {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    heartbeat: Option<std::thread::JoinHandle<()>>,
}

/// What trying to claim a key came to.
pub enum Claimed {
    /// This process holds the key: it may train it.
    Held(Claim),
    /// Another process finished it while this one waited.
    Done,
}

/// Who holds the claim at `path`, and whether the holder is gone.
fn inspect(path: &Path) -> (Option<Holder>, bool) {
    let holder = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| Holder::parse(&t));
    let age = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok());
    let stale = match &holder {
        Some(h) => h.is_gone_here() || age.is_some_and(|a| a > STALE_AFTER),
        // Half-written by a holder that died between create and write, or
        // unreadable: stale once old.
        None => age.is_some_and(|a| a > STALE_AFTER),
    };
    (holder, stale)
}

/// Whether a live process holds `key` in `cache` (and so may be writing
/// its entry's staging directory).
pub fn is_held(cache: &Path, key: &str) -> bool {
    let path = Claim::path(cache, key);
    path.exists() && !inspect(&path).1
}

/// Removes the claims in `cache` whose holders are gone (a process killed
/// after storing its entry, before releasing the key, leaves one).
pub fn remove_stale(cache: &Path) {
    let Ok(entries) = std::fs::read_dir(cache.join(".claims")) else {
        return;
    };
    for e in entries.filter_map(|e| e.ok()) {
        if inspect(&e.path()).1 {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

impl Claim {
    fn path(cache: &Path, key: &str) -> PathBuf {
        cache.join(".claims").join(key)
    }

    /// Claims `key` in `cache`, waiting while a live process holds it.
    /// `done` says whether the key's entry is complete (checked before each
    /// try, so a waiter stops as soon as the holder has stored it).
    pub fn acquire(cache: &Path, key: &str, done: impl Fn() -> bool) -> Result<Claimed> {
        let path = Self::path(cache, key);
        let dir = path.parent().expect("a claims directory");
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let me = Holder::this_process();
        let mut told = false;
        loop {
            if done() {
                return Ok(Claimed::Done);
            }
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    write!(file, "host {}\npid {}\n", me.host, me.pid)
                        .and_then(|_| file.sync_all())
                        .with_context(|| format!("writing {}", path.display()))?;
                    return Ok(Claimed::Held(Self::start(path)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
            let (holder, stale) = inspect(&path);
            if stale {
                let who = holder.map_or("an unknown process".into(), |h| h.to_string());
                eprintln!(
                    "{key}: removing the claim of {who}, which is gone ({})",
                    path.display()
                );
                // Another waiter may remove it first: that is fine.
                let _ = std::fs::remove_file(&path);
                continue;
            }
            if !told {
                let who = holder.map_or("another process".into(), |h| h.to_string());
                eprintln!("{key}: {who} is training it; waiting for it to finish");
                told = true;
            }
            std::thread::sleep(POLL);
        }
    }

    fn start(path: PathBuf) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let heartbeat = {
            let (path, stop) = (path.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut last = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(POLL);
                    if last.elapsed() >= HEARTBEAT {
                        if let Ok(f) = OpenOptions::new().write(true).open(&path) {
                            let _ = f.set_modified(SystemTime::now());
                        }
                        last = Instant::now();
                    }
                }
            })
        };
        Self {
            path,
            stop,
            heartbeat: Some(heartbeat),
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.heartbeat.take() {
            let _ = h.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn one_of_two_claimants_trains_the_other_waits_until_it_is_done() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().to_path_buf();
        let entry = cache.join("k");
        let trained = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(
                    || match Claim::acquire(&cache, "k", || entry.is_dir()).unwrap() {
                        Claimed::Held(_claim) => {
                            std::thread::sleep(Duration::from_millis(600));
                            std::fs::create_dir_all(&entry).unwrap();
                            trained.fetch_add(1, Ordering::SeqCst);
                        }
                        Claimed::Done => {}
                    },
                );
            }
        });
        assert_eq!(trained.load(Ordering::SeqCst), 1);
        assert!(!Claim::path(&cache, "k").exists(), "the claim is released");
    }

    #[test]
    fn a_dead_holders_claim_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = Claim::path(dir.path(), "k");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // A pid that is not running on this host (above Linux's pid_max).
        std::fs::write(&path, format!("host {}\npid 4194399\n", this_host())).unwrap();
        match Claim::acquire(dir.path(), "k", || false).unwrap() {
            Claimed::Held(c) => drop(c),
            Claimed::Done => panic!("nothing was stored"),
        }
        // Another host's claim, not refreshed for longer than STALE_AFTER.
        std::fs::write(&path, "host elsewhere\npid 1\n").unwrap();
        let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(5);
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert!(matches!(
            Claim::acquire(dir.path(), "k", || false).unwrap(),
            Claimed::Held(_)
        ));
    }

    #[test]
    fn a_holder_is_read_back_from_its_file() {
        let h = Holder::parse("host node7\npid 42\n").unwrap();
        assert_eq!(
            h,
            Holder {
                host: "node7".into(),
                pid: 42
            }
        );
        assert!(Holder::parse("garbage").is_none());
    }
}

//! The Slurm executor: each model the store lacks becomes an `sbatch` job
//! that runs `ex2 train <key>`, with `--dependency=afterok:` edges from the
//! plan and one job array per group of jobs that share a kind and their
//! dependencies. The build then waits for the jobs (from `squeue`), and
//! renders the book from the store; a failed job fails only the chapters
//! that need its model, with the job and its log named.
//!
//! The store must be on a filesystem every node shares: each job first
//! reads a probe file this process wrote there, and fails with a message
//! saying so when it cannot.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::app::backend::BackendKind;
use crate::app::commands::plan::PlanEntry;

/// How the jobs are submitted.
pub struct SlurmOptions {
    /// Extra `sbatch` options (partition, account, time, GPUs), passed as given.
    pub sbatch_options: Vec<String>,
    /// Wait for the jobs (else submit and return).
    pub wait: bool,
}

/// What `ex2 train` needs to find the same plan on a node.
pub struct JobCommand {
    /// The ex2 binary (on a filesystem the nodes share).
    pub exe: PathBuf,
    /// Global options: `--book`, `--profile`, `--set …`.
    pub book_args: Vec<String>,
    pub backend: BackendKind,
    pub data_dir: Option<PathBuf>,
}

/// One submitted job: a single model, or an array over models.
struct Submitted {
    id: String,
    /// The keys in array-task order (one for a plain job).
    keys: Vec<String>,
    log_pattern: String,
}

/// How the jobs ended: the keys whose job failed, with the message the
/// chapters that need them report.
pub struct Outcome {
    pub submitted: usize,
    pub failed: BTreeMap<String, String>,
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// The plan's models the store lacks, in waves: every model's
/// dependencies come in an earlier wave or are cached.
fn waves(plan: &[PlanEntry]) -> Result<Vec<Vec<&PlanEntry>>> {
    let mut left: Vec<&PlanEntry> = plan.iter().filter(|e| !e.cached).collect();
    let mut placed: Vec<&str> = plan
        .iter()
        .filter(|e| e.cached)
        .map(|e| e.key.as_str())
        .collect();
    let mut waves = Vec::new();
    while !left.is_empty() {
        let (ready, rest): (Vec<&PlanEntry>, Vec<&PlanEntry>) = left
            .into_iter()
            .partition(|e| e.depends_on.iter().all(|d| placed.contains(&d.as_str())));
        if ready.is_empty() {
            let names: Vec<&str> = rest.iter().map(|e| e.name.as_str()).collect();
            bail!(
                "the plan's dependencies form a cycle among {}",
                names.join(", ")
            );
        }
        placed.extend(ready.iter().map(|e| e.key.as_str()));
        waves.push(ready);
        left = rest;
    }
    Ok(waves)
}

fn run_command(cmd: &mut Command, what: &str) -> Result<String> {
    let out = cmd.output().with_context(|| {
        format!("running {what}: is Slurm installed and on PATH (sbatch, squeue, scancel)?")
    })?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Submits a job per model the plan lacks (an array per group that shares
/// kind and dependencies), waits for them unless told not to, and says
/// which failed. `store` is the runs directory; logs go to `<store>/slurm`.
pub fn train(
    plan: &[PlanEntry],
    store: &Path,
    command: &JobCommand,
    options: &SlurmOptions,
) -> Result<Outcome> {
    let logs = store.join("slurm");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let logs = logs
        .canonicalize()
        .with_context(|| format!("resolving {}", logs.display()))?;
    // The probe every job reads first: a node that cannot see it does not
    // share the store.
    let probe = logs.join(format!("probe-{}", std::process::id()));
    crate::base::atomic::write_atomic(&probe, b"ex2 store probe\n")?;

    let gpu = command.backend == BackendKind::Cuda
        && !options
            .sbatch_options
            .iter()
            .any(|o| o.starts_with("--gres") || o.starts_with("--gpus"));
    let mut train_args: Vec<String> = command.book_args.clone();
    train_args.push("train".into());
    let mut tail = vec![
        "--backend".to_string(),
        command.backend.as_str().to_string(),
    ];
    if let Some(d) = &command.data_dir {
        tail.push("--data-dir".into());
        tail.push(d.display().to_string());
    }

    let mut job_of: BTreeMap<String, String> = BTreeMap::new();
    let mut submitted: Vec<Submitted> = Vec::new();
    // Models an earlier build (`--no-wait`, or a build on another host)
    // submitted and that are still queued: waited for, not submitted again.
    let mut recorded = Recorded::read(&logs);
    let candidates: Vec<(&PlanEntry, RecordedJob)> = plan
        .iter()
        .filter(|e| !e.cached)
        .filter_map(|e| recorded.jobs.get(&e.key).map(|j| (e, j.clone())))
        .collect();
    let ids: Vec<String> = candidates.iter().map(|(_, j)| j.id.clone()).collect();
    let queued = queued(&ids)?;
    let mut plan: Vec<PlanEntry> = plan.to_vec();
    for (e, job) in candidates {
        if !queued.contains(&job.id) {
            continue;
        }
        job_of.insert(e.key.clone(), job.id.clone());
        if let Some(p) = plan.iter_mut().find(|p| p.key == e.key) {
            // Placed: its dependants wait for its job.
            p.cached = true;
        }
        submitted.push(Submitted {
            id: job.id,
            keys: vec![e.key.clone()],
            log_pattern: job.log,
        });
    }
    let adopted = submitted.len();
    if adopted > 0 {
        eprintln!(
            "slurm: {adopted} model{} already queued by an earlier build: waiting for {}",
            if adopted == 1 { "" } else { "s" },
            if adopted == 1 { "it" } else { "them" }
        );
    }
    for wave in waves(&plan)? {
        // Jobs of one kind with the same dependencies run as one array.
        let mut groups: BTreeMap<(String, Vec<String>), Vec<&PlanEntry>> = BTreeMap::new();
        for e in wave {
            let mut after: Vec<String> = e
                .depends_on
                .iter()
                .filter_map(|d| job_of.get(d).cloned())
                .collect();
            after.sort();
            after.dedup();
            groups.entry((e.kind.clone(), after)).or_default().push(e);
        }
        for ((kind, after), entries) in groups {
            let keys: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
            let array = keys.len() > 1;
            let log_pattern = if array {
                logs.join(format!("{kind}-%A_%a.log"))
            } else {
                logs.join(format!("{kind}-%j.log"))
            };
            // `--wrap` runs /bin/sh: the task's key by position, no arrays.
            let key_expr = if array {
                format!(
                    "set -- {}\nshift \"$SLURM_ARRAY_TASK_ID\"\nkey=$1",
                    keys.iter().map(|k| quote(k)).collect::<Vec<_>>().join(" ")
                )
            } else {
                format!("key={}", quote(&keys[0]))
            };
            let script = format!(
                "{key_expr}\n\
                 if ! test -r {probe}; then echo \"error: the ex2 store {store} is not visible on $(hostname): it must be on a filesystem every node shares\" >&2; exit 3; fi\n\
                 exec {exe} {args} \"$key\" {tail}",
                probe = quote(&probe.display().to_string()),
                store = store.display(),
                exe = quote(&command.exe.display().to_string()),
                args = train_args
                    .iter()
                    .map(|a| quote(a))
                    .collect::<Vec<_>>()
                    .join(" "),
                tail = tail.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "),
            );
            let mut sbatch = Command::new("sbatch");
            sbatch
                .arg("--parsable")
                .arg(format!("--job-name=ex2-{kind}"))
                .arg(format!("--output={}", log_pattern.display()))
                // One training, one thread (its numbers do not depend on the host).
                .arg("--cpus-per-task=1");
            if array {
                sbatch.arg(format!("--array=0-{}", keys.len() - 1));
            }
            if !after.is_empty() {
                sbatch.arg(format!("--dependency=afterok:{}", after.join(":")));
            }
            if gpu {
                sbatch.arg("--gres=gpu:1");
            }
            sbatch.args(&options.sbatch_options);
            sbatch.arg("--wrap").arg(script);
            let out = run_command(&mut sbatch, "sbatch")?;
            // --parsable: `<id>` or `<id>;<cluster>`.
            let id = out.trim().split(';').next().unwrap_or_default().to_string();
            if id.is_empty() {
                bail!("sbatch printed no job id");
            }
            for k in &keys {
                job_of.insert(k.clone(), id.clone());
            }
            let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
            eprintln!("slurm: job {id}: {}", names.join(", "));
            submitted.push(Submitted {
                id,
                keys,
                log_pattern: log_pattern.display().to_string(),
            });
        }
    }
    for job in &submitted[adopted..] {
        for (t, key) in job.keys.iter().enumerate() {
            let task = (job.keys.len() > 1).then_some(t);
            let id = task.map_or(job.id.clone(), |t| format!("{}_{t}", job.id));
            let log = log_file(job, task);
            recorded.jobs.insert(key.clone(), RecordedJob { id, log });
        }
    }
    recorded.write(&logs)?;
    let count: usize = submitted[adopted..].iter().map(|s| s.keys.len()).sum();
    let jobs = submitted.len() - adopted;
    eprintln!(
        "slurm: {count} model{} in {jobs} job{}; logs in {}",
        if count == 1 { "" } else { "s" },
        if jobs == 1 { "" } else { "s" },
        logs.display()
    );
    if submitted.is_empty() {
        let _ = std::fs::remove_file(&probe);
    }
    // Without waiting the probe stays: the jobs still have to read it.
    if !options.wait || submitted.is_empty() {
        return Ok(Outcome {
            submitted: count,
            failed: BTreeMap::new(),
        });
    }
    let failed = wait(&submitted, &store.join("cache"))?;
    let _ = std::fs::remove_file(&probe);
    Ok(Outcome {
        submitted: count,
        failed,
    })
}

/// The jobs builds submitted on this store (`runs/slurm/jobs.json`), by
/// key: a later build waits for those still queued instead of submitting
/// them again.
#[derive(Default, Serialize, Deserialize)]
struct Recorded {
    jobs: BTreeMap<String, RecordedJob>,
}

#[derive(Clone, Serialize, Deserialize)]
struct RecordedJob {
    /// The job, or the array task (`<job>_<task>`).
    id: String,
    log: String,
}

impl Recorded {
    const FILE: &'static str = "jobs.json";

    /// What earlier builds recorded; nothing when the file is absent or
    /// unreadable (then every missing model is submitted).
    fn read(dir: &Path) -> Self {
        std::fs::read(dir.join(Self::FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    fn write(&self, dir: &Path) -> Result<()> {
        crate::base::atomic::write_atomic(&dir.join(Self::FILE), &serde_json::to_vec_pretty(self)?)
    }
}

/// Which of `ids` (jobs or array tasks) are still queued or running.
fn queued(ids: &[String]) -> Result<std::collections::BTreeSet<String>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let out = Command::new("squeue")
        .args(["-h", "-r", "-o", "%i", "--jobs"])
        .arg(ids.join(","))
        .output()
        .context("running squeue: is Slurm installed and on PATH?")?;
    // Jobs long gone are not an error: none of them is queued.
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| ids.contains(l))
        .collect())
}

/// One task's log file, from its job's `--output` pattern.
fn log_file(job: &Submitted, task: Option<usize>) -> String {
    match task {
        Some(t) => job
            .log_pattern
            .replace("%A", &job.id)
            .replace("%a", &t.to_string()),
        None => job.log_pattern.replace("%j", &job.id),
    }
}

/// The last non-empty line of a log that starts with `error`, or its last line.
fn log_error(path: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines
        .iter()
        .rev()
        .find(|l| l.starts_with("error"))
        .or(lines.last())
        .map_or("(the log is empty)".to_string(), |l| l.trim().to_string())
}

/// Waits until no submitted job is queued or running, showing how many
/// are pending, running, done and failed; returns the failed keys with
/// their messages. A job whose dependency failed never starts: it is
/// cancelled and reported with it.
fn wait(jobs: &[Submitted], cache: &Path) -> Result<BTreeMap<String, String>> {
    let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    let total: usize = jobs.iter().map(|j| j.keys.len()).sum();
    let terminal = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last_line = String::new();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    loop {
        // `-r`: one line per array task (`<id>_<task>`).
        let out = Command::new("squeue")
            .args(["-h", "-r", "-o", "%i|%T|%r", "--jobs"])
            .arg(ids.join(","))
            .output()
            .context("running squeue")?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            let e = String::from_utf8_lossy(&out.stderr);
            // Every job finished and left the queue.
            if !e.contains("Invalid job id") {
                bail!("squeue failed: {}", e.trim());
            }
        }
        let mut queued: BTreeMap<String, (String, String)> = BTreeMap::new();
        for line in text.lines() {
            let mut parts = line.split('|');
            let (Some(id), Some(state), Some(reason)) = (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            queued.insert(
                id.trim().to_string(),
                (state.to_string(), reason.to_string()),
            );
        }
        let (mut pending, mut running, mut done) = (0, 0, 0);
        let mut never: Vec<String> = Vec::new();
        for job in jobs {
            for (t, key) in job.keys.iter().enumerate() {
                let task = (job.keys.len() > 1).then_some(t);
                let id = match task {
                    Some(t) => format!("{}_{t}", job.id),
                    None => job.id.clone(),
                };
                // A pending array's tasks may show as one line `<id>_[0-4]`.
                let entry = queued.get(&id).or_else(|| {
                    queued
                        .iter()
                        .find(|(q, _)| q.starts_with(&format!("{}_[", job.id)))
                        .map(|(_, v)| v)
                });
                match entry {
                    Some((state, reason)) if state == "PENDING" => {
                        if reason.contains("DependencyNeverSatisfied") {
                            never.push(id.clone());
                            failed.entry(key.clone()).or_insert_with(|| {
                                format!(
                                    "Slurm job {id} never ran: a job it depends on failed (log {})",
                                    log_file(job, task)
                                )
                            });
                        }
                        pending += 1;
                    }
                    Some(_) => running += 1,
                    None => {
                        if cache.join(key).join("model.mpk").is_file()
                            || cache.join(key).join("result.json").is_file()
                        {
                            done += 1;
                        } else {
                            let log = log_file(job, task);
                            failed.entry(key.clone()).or_insert_with(|| {
                                format!(
                                    "Slurm job {id} ended without storing the model: {} (log {log})",
                                    log_error(&log)
                                )
                            });
                        }
                    }
                }
            }
        }
        if !never.is_empty() {
            let _ = Command::new("scancel").args(&never).output();
        }
        let line = format!(
            "slurm: {pending} pending, {running} running, {done} done, {} failed of {total} ({:.0} s)",
            failed.len(),
            started.elapsed().as_secs_f64()
        );
        if terminal {
            eprint!("\r{line}");
        } else if line.split(" (").next() != last_line.split(" (").next() {
            eprintln!("{line}");
        }
        last_line = line;
        if pending + running == 0 {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    if terminal {
        eprintln!();
    }
    Ok(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, cached: bool, deps: &[&str]) -> PlanEntry {
        PlanEntry {
            name: name.into(),
            kind: "k".into(),
            key: format!("key-{name}"),
            cached,
            why: None,
            depends_on: deps.iter().map(|d| format!("key-{d}")).collect(),
            cost: None,
        }
    }

    #[test]
    fn a_model_waits_for_the_wave_of_its_dependencies() {
        let plan = [
            entry("transfer", false, &["ae"]),
            entry("ae", false, &[]),
            entry("clf", true, &[]),
            entry("decoder", false, &["clf"]),
        ];
        let w = waves(&plan).unwrap();
        let names: Vec<Vec<&str>> = w
            .iter()
            .map(|w| w.iter().map(|e| e.name.as_str()).collect())
            .collect();
        assert_eq!(names, vec![vec!["ae", "decoder"], vec!["transfer"]]);
        let cycle = [entry("a", false, &["b"]), entry("b", false, &["a"])];
        assert!(waves(&cycle).unwrap_err().to_string().contains("cycle"));
    }

    #[test]
    fn arguments_reach_the_shell_as_they_are() {
        assert_eq!(
            quote("chapter.latent.dims=[2,8]"),
            "'chapter.latent.dims=[2,8]'"
        );
        assert_eq!(quote("--profile"), "--profile");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}

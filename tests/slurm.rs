//! `build-report --executor slurm` against a real single-node Slurm
//! (Debian's `slurm-wlm` and `munge`), which each test starts in a
//! temporary directory and stops by pid. Where Slurm is not installed the
//! tests say so and pass, unless `EX2_REQUIRE_SLURM=1` (set by `.ci/run`,
//! which installs it), so CI can never skip them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Book, assert_same_tables, manifest, stable_tables, stderr};

/// munged, slurmctld and slurmd of a one-node cluster, private to a test:
/// its own munge socket and key, state and spool directories and ports.
struct Cluster {
    dir: tempfile::TempDir,
    daemons: Vec<(String, Child)>,
}

fn installed(program: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| Path::new(d).join(program).is_file())
}

/// A free TCP port on this host.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// The cluster, or `None` when Slurm is not installed and not required.
    fn start() -> Option<Self> {
        let missing: Vec<&str> = ["munged", "slurmctld", "slurmd", "sbatch", "squeue"]
            .into_iter()
            .filter(|p| !installed(p))
            .collect();
        if !missing.is_empty() {
            let message = format!(
                "Slurm is not installed here ({} missing): apt-get install slurm-wlm munge \
                 (.ci/run does)",
                missing.join(", ")
            );
            if std::env::var("EX2_REQUIRE_SLURM").is_ok_and(|v| v == "1") {
                panic!("{message}");
            }
            eprintln!("skipped: {message}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["state", "spool", "munge"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let key: Vec<u8> = (0..1024u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        let key_file = d.join("munge/munge.key");
        std::fs::write(&key_file, key).unwrap();
        chmod(&key_file, 0o600);
        chmod(&d.join("munge"), 0o700);
        let socket = d.join("munge/munge.socket");
        let host = hostname();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let conf = format!(
            "ClusterName=ex2test\n\
             SlurmctldHost={host}\n\
             SlurmUser=root\n\
             SlurmdUser=root\n\
             SlurmctldPort={ctld}\n\
             SlurmdPort={slurmd}\n\
             AuthType=auth/munge\n\
             CredType=cred/munge\n\
             AuthInfo=socket={socket}\n\
             StateSaveLocation={d}/state\n\
             SlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\n\
             SlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/slurmctld.log\n\
             SlurmdLogFile={d}/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU\n\
             SchedulerType=sched/backfill\n\
             ReturnToService=2\n\
             MpiDefault=none\n\
             JobCompType=jobcomp/none\n\
             AccountingStorageType=accounting_storage/none\n\
             JobAcctGatherType=jobacct_gather/none\n\
             MinJobAge=600\n\
             NodeName={host} CPUs={cpus} State=UNKNOWN\n\
             PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n",
            ctld = free_port(),
            slurmd = free_port(),
            socket = socket.display(),
            d = d.display(),
        );
        std::fs::write(d.join("slurm.conf"), conf).unwrap();
        let mut cluster = Cluster {
            dir,
            daemons: Vec::new(),
        };
        let d = cluster.dir.path().to_path_buf();
        let log = |name: &str| std::fs::File::create(d.join(format!("{name}.out"))).unwrap();
        let spawn = |program: &str, args: &[&str], name: &str| {
            Command::new(program)
                .args(args)
                .env("SLURM_CONF", d.join("slurm.conf"))
                .stdout(log(name))
                .stderr(log(name))
                .spawn()
                .unwrap_or_else(|e| panic!("starting {program}: {e}"))
        };
        let munged = spawn(
            "munged",
            &[
                "--foreground",
                "--force",
                &format!("--socket={}", socket.display()),
                &format!("--key-file={}", key_file.display()),
                &format!("--pid-file={}", d.join("munge/munged.pid").display()),
                &format!("--log-file={}", d.join("munge/munged.log").display()),
                &format!("--seed-file={}", d.join("munge/munged.seed").display()),
            ],
            "munged",
        );
        cluster.daemons.push(("munged".into(), munged));
        cluster.wait_for("munged", || socket.exists());
        let conf = d.join("slurm.conf").display().to_string();
        let ctld = spawn("slurmctld", &["-D", "-i", "-f", &conf], "slurmctld");
        cluster.daemons.push(("slurmctld".into(), ctld));
        let slurmd = spawn("slurmd", &["-D", "-f", &conf], "slurmd");
        cluster.daemons.push(("slurmd".into(), slurmd));
        cluster.wait_for("the node to be idle", || {
            Command::new("sinfo")
                .args(["-h", "-o", "%t"])
                .env("SLURM_CONF", &conf)
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
        });
        Some(cluster)
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("slurm.conf")
    }

    /// Waits for `ready`, failing with the daemons' logs after a minute.
    fn wait_for(&mut self, what: &str, ready: impl Fn() -> bool) {
        let started = Instant::now();
        while !ready() {
            let exited = self
                .daemons
                .iter_mut()
                .find_map(|(name, child)| Some((name.clone(), child.try_wait().unwrap()?)));
            if let Some((name, status)) = exited {
                panic!("{name} exited ({status}):\n{}", self.logs());
            }
            if started.elapsed() > Duration::from_secs(60) {
                panic!("waited a minute for {what}:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn logs(&self) -> String {
        let mut out = String::new();
        for name in [
            "munged.out",
            "munge/munged.log",
            "slurmctld.out",
            "slurmctld.log",
            "slurmd.out",
            "slurmd.log",
        ] {
            let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            out.push_str(&format!("--- {name}\n"));
            for l in tail.into_iter().rev() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// `ex2 <args>` on `book`, with this cluster's configuration.
    fn ex2(&self, book: &Book, args: &[&str]) -> Command {
        let mut c = book.command(args);
        c.env("SLURM_CONF", self.conf());
        c
    }

    /// `ex2 <args>` on `book` started in the background, its stderr kept.
    fn spawn(&self, book: &Book, args: &[&str]) -> Child {
        self.ex2(book, args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn squeue(&self) -> String {
        let out = Command::new("squeue")
            .args(["-h", "-o", "%i|%j|%T"])
            .env("SLURM_CONF", self.conf())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Cluster {
    /// Stops the daemons it started, by pid, slurmd first.
    fn drop(&mut self) {
        for (_, child) in self.daemons.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let started = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if started.elapsed() > Duration::from_secs(10) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

fn run(mut c: Command) -> Output {
    c.output().expect("running ex2")
}

/// The `ex2 train` logs of a store's Slurm jobs, concatenated.
fn job_logs(book: &Book) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(book.path().join("runs/slurm")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "log") {
            all.push_str(&std::fs::read_to_string(&p).unwrap());
        }
    }
    all
}

/// A book's text without what identifies its run: the run id, the command
/// line, the start and end, and durations (`1.4 s`).
fn run_independent(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.starts_with("Command line") && !l.starts_with("Started / finished"))
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words
                .iter()
                .enumerate()
                .map(|(i, w)| {
                    let seconds = words
                        .get(i + 1)
                        .is_some_and(|n| n.trim_end_matches([')', ',', '.', ';']) == "s")
                        && w.trim_start_matches('(').parse::<f64>().is_ok();
                    // `20261203T123229Z-smoke`, `runs/20261203T123229Z-smoke`
                    let run_id = w.as_bytes().windows(16).any(|b| {
                        b[..8].iter().all(u8::is_ascii_digit)
                            && b[8] == b'T'
                            && b[9..15].iter().all(u8::is_ascii_digit)
                            && b[15] == b'Z'
                    });
                    if seconds {
                        "<seconds>"
                    } else if run_id {
                        "<run>"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

const CHAPTERS: &[&str] = &["autoencoder", "classifier", "classifier-decoding"];

#[test]
fn a_book_trained_by_slurm_jobs_is_the_book_trained_here() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let local = Book::with_chapters(CHAPTERS, |t| t);
    let started = Instant::now();
    let out = local.ex2(&["build-report"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let local_seconds = started.elapsed().as_secs_f64();

    let book = Book::with_chapters(CHAPTERS, |t| t);
    let started = Instant::now();
    let out = run(cluster.ex2(&book, &["build-report", "--executor", "slurm"]));
    assert!(out.status.success(), "{}\n{}", stderr(&out), cluster.logs());
    eprintln!(
        "local build {local_seconds:.1} s, through Slurm {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let e = stderr(&out);
    // The decoder is built on the classifier: its job waits for it.
    assert!(e.contains("slurm: job"), "{e}");
    let run_dir = book.runs().pop().unwrap();
    let m = manifest(&run_dir);
    assert!(
        m["model_cache"]["misses"].as_array().unwrap().is_empty(),
        "the render trained nothing: {m}"
    );
    assert_same_tables(
        &stable_tables(&run_dir),
        &stable_tables(&local.runs().pop().unwrap()),
        "the metric tables of the Slurm and the local build differ",
    );
    let logs = job_logs(&book);
    assert!(logs.contains("trained and stored"), "{logs}");
    // The PDF says which run it is, how it was started and how long each
    // part took; the rest is the same book as a local build from the same
    // store renders.
    let through_slurm = run_independent(&common::pdf_text(&book.path().join("ex2.pdf")).text);
    let out = book.ex2(&["build-report", "--recompute"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let here = run_independent(&common::pdf_text(&book.path().join("ex2.pdf")).text);
    let differ: Vec<(&String, &String)> = through_slurm
        .iter()
        .zip(&here)
        .filter(|(a, b)| a != b)
        .collect();
    assert!(
        differ.is_empty() && through_slurm.len() == here.len(),
        "the books differ beyond run ids and durations: {differ:#?}"
    );

    // Nothing missing: a second build submits nothing.
    let out = run(cluster.ex2(&book, &["build-report", "--executor", "slurm"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("slurm: 0 models in 0 jobs"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_cancelled_job_fails_only_its_chapter_and_a_rerun_submits_only_it() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let book = Book::with_chapters(CHAPTERS, |t| t);
    let build = cluster.spawn(&book, &["build-report", "--executor", "slurm"]);
    // The decoder's job waits for the classifier's: cancel it while it waits.
    let started = Instant::now();
    let id = loop {
        let queue = cluster.squeue();
        if let Some(line) = queue.lines().find(|l| l.contains("ex2-classifier-decoder")) {
            break line.split('|').next().unwrap().to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no decoder job: {queue}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let status = Command::new("scancel")
        .arg(&id)
        .env("SLURM_CONF", cluster.conf())
        .status()
        .unwrap();
    assert!(status.success());
    let out = build.wait_with_output().unwrap();
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{e}");
    assert!(
        e.contains("chapter `classifier-decoding` failed") && e.contains(&format!("job {id}")),
        "{e}"
    );
    assert!(!e.contains("chapter `classifier` failed"), "{e}");
    assert!(!e.contains("chapter `autoencoder` failed"), "{e}");
    let pdf = common::pdf_text(&book.path().join("ex2.pdf"));
    assert!(pdf.contains(&format!("job {id}")), "the book names the job");

    let out = run(cluster.ex2(&book, &["build-report", "--executor", "slurm"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("slurm: 1 model in 1 job"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn two_builds_at_once_on_one_store_train_each_model_once() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let book = Book::with_chapters(&["autoencoder", "classifier"], |t| t);
    let start = || cluster.spawn(&book, &["build-report", "--executor", "slurm"]);
    let (a, b) = (start(), start());
    for o in [a.wait_with_output().unwrap(), b.wait_with_output().unwrap()] {
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let logs = job_logs(&book);
    let out = book.ex2(&["plan", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for e in plan.as_array().unwrap() {
        let key = e["key"].as_str().unwrap();
        let trained = logs
            .lines()
            .filter(|l| l.contains(key) && l.contains("trained and stored"))
            .count();
        assert_eq!(trained, 1, "{key} trained {trained} times:\n{logs}");
    }
}

#[test]
fn no_wait_submits_and_a_later_build_waits_for_those_jobs_instead_of_resubmitting() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let book = Book::with_chapters(&["classifier", "classifier-decoding"], |t| t);
    let out = run(cluster.ex2(&book, &["build-report", "--executor", "slurm", "--no-wait"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("submitted 3 trainings"),
        "{}",
        stderr(&out)
    );
    assert!(book.runs().is_empty(), "nothing rendered yet");
    // At once, while those jobs are queued or running: the build submits
    // nothing new, waits for them and renders the book.
    let out = run(cluster.ex2(&book, &["build-report", "--executor", "slurm"]));
    let e = stderr(&out);
    assert!(out.status.success(), "{e}");
    assert!(e.contains("slurm: 0 models in 0 jobs"), "{e}");
    eprintln!(
        "{}",
        e.lines()
            .filter(|l| l.starts_with("slurm:"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let m = manifest(&book.runs().pop().unwrap());
    assert!(
        m["model_cache"]["misses"].as_array().unwrap().is_empty(),
        "{m}"
    );
    let logs = job_logs(&book);
    assert_eq!(
        logs.matches("trained and stored").count(),
        3,
        "each model trained once:\n{logs}"
    );
    // With the jobs gone, a local build that computes every chapter again
    // finds every model stored too.
    let out = book.ex2(&["build-report", "--recompute"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let m = manifest(&book.runs().pop().unwrap());
    assert!(
        m["model_cache"]["misses"].as_array().unwrap().is_empty(),
        "{m}"
    );
}

#[test]
fn a_node_that_cannot_see_the_store_fails_its_jobs_with_a_message_that_says_so() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let book = Book::with_chapters(&["classifier"], |t| t);
    // The job starts 10 s after submission; meanwhile the probe file
    // disappears, as it would be missing on a node with its own disk.
    let build = cluster.spawn(
        &book,
        &[
            "build-report",
            "--executor",
            "slurm",
            "--slurm-opt=--begin=now+10",
        ],
    );
    let slurm_dir = book.path().join("runs/slurm");
    let started = Instant::now();
    let probe = loop {
        let found = std::fs::read_dir(&slurm_dir).ok().and_then(|d| {
            d.map(|e| e.unwrap().path()).find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("probe-")
            })
        });
        if let Some(p) = found {
            break p;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no probe file");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::fs::remove_file(&probe).unwrap();
    let out = build.wait_with_output().unwrap();
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{e}");
    assert!(
        e.contains("is not visible on") && e.contains("filesystem every node shares"),
        "{e}"
    );
}

//! The built binaries as processes a chaos test starts, kills with SIGKILL, stops with SIGTERM and
//! restarts; each writes its log to a file of its own (named on stderr, so a failed test shows
//! where to look). The producer runs `--once` under a supervisor that reruns a failed pass, as
//! systemd or cron would: a full pass resumes from its open cursor.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use crate::{TestEnv, binary};

/// One running binary.
pub struct Proc {
    pub label: String,
    pub log: PathBuf,
    child: Child,
}

impl Proc {
    /// Starts `binary` with `args` and extra environment `vars`, logging (JSON lines) to `log`
    /// at `RUST_LOG=info`, or at the level in `K3SYNC_CHAOS_LOG` when set (for digging into a
    /// failure: `K3SYNC_CHAOS_LOG=info,lapin=trace`).
    pub fn spawn(
        label: &str,
        binary_name: &str,
        args: &[String],
        vars: &[(String, String)],
        log: PathBuf,
    ) -> Self {
        let path = binary(binary_name);
        assert!(
            path.exists(),
            "build the binaries first (cargo build --workspace --bins): {path:?}"
        );
        let file = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(path);
        command
            .args(args)
            .env(
                "RUST_LOG",
                std::env::var("K3SYNC_CHAOS_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::null())
            .stderr(file)
            .kill_on_drop(true);
        for (key, value) in vars {
            command.env(key, value);
        }
        let child = command.spawn().expect("spawn");
        eprintln!(
            "{} {label}: pid {:?}, log {}",
            chrono::Utc::now().format("%H:%M:%S%.3f"),
            child.id(),
            log.display()
        );
        Self {
            label: label.to_owned(),
            log,
            child,
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// `kill -9`, and reaps the process.
    pub async fn kill9(&mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGTERM, then waits up to `timeout` for the exit; `None` if it did not exit in time.
    pub async fn terminate(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        self.wait(timeout).await
    }

    /// Waits up to `timeout` for the process to exit.
    pub async fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        tokio::time::timeout(timeout, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }

    /// The exit status if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `lines` lines of the log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// The log folder of a test.
pub fn log_dir(env: &TestEnv) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("k3sync-{}", env.id));
    std::fs::create_dir_all(&dir).expect("log folder");
    dir
}

/// Removes the test's log folder: a test that passed has nothing to show in it.
pub fn remove_logs(env: &TestEnv) {
    let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("k3sync-{}", env.id)));
}

/// Workers started by this test process, for their labels and log names.
static SPAWNED: AtomicUsize = AtomicUsize::new(0);

/// Worker processes of one job, any of which a test may kill and restart.
pub struct Workers {
    args: Vec<String>,
    vars: Vec<(String, String)>,
    dir: PathBuf,
    procs: Vec<Proc>,
    started: usize,
}

impl Workers {
    /// Starts `count` `worker --config <config> --job <job>` processes.
    pub fn start(env: &TestEnv, config: &Path, count: usize, vars: &[(String, String)]) -> Self {
        let args = vec![
            "--config".to_owned(),
            config.display().to_string(),
            "--job".to_owned(),
            env.job().to_owned(),
        ];
        let mut workers = Self {
            args,
            vars: vars.to_vec(),
            dir: log_dir(env),
            procs: Vec::new(),
            started: 0,
        };
        for _ in 0..count {
            let next = workers.spawn_one();
            workers.procs.push(next);
        }
        workers
    }

    fn spawn_one(&mut self) -> Proc {
        self.started += 1;
        // Numbered across every `Workers` of the test process, so no log overwrites another.
        let n = SPAWNED.fetch_add(1, Ordering::Relaxed) + 1;
        let label = format!("worker #{n}");
        let log = self.dir.join(format!("worker-{n}.log"));
        Proc::spawn(&label, "worker", &self.args, &self.vars, log)
    }

    /// Processes started so far, restarts included.
    pub fn started(&self) -> usize {
        self.started
    }

    /// `kill -9` of worker `index` and a new one in its place.
    pub async fn kill_and_restart(&mut self, index: usize) {
        self.procs[index].kill9().await;
        self.procs[index] = self.spawn_one();
    }

    /// The last `lines` log lines of every running worker, for a failure message.
    pub fn log_tails(&self, lines: usize) -> String {
        self.procs
            .iter()
            .map(|p| format!("{} ({}):\n{}", p.label, p.log.display(), p.log_tail(lines)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The process ids of the running workers.
    pub fn pids(&self) -> Vec<u32> {
        self.procs.iter().filter_map(Proc::pid).collect()
    }

    /// Fails if a worker exited that no one killed.
    pub fn assert_running(&mut self) {
        for p in &mut self.procs {
            if let Some(status) = p.exited() {
                panic!(
                    "{} exited on its own ({status}):\n{}",
                    p.label,
                    p.log_tail(30)
                );
            }
        }
    }

    /// SIGTERM to every worker; each must exit 0 within the grace period.
    pub async fn stop(mut self) {
        self.assert_running();
        for p in &mut self.procs {
            let status = p.terminate(Duration::from_secs(30)).await;
            assert!(
                status.is_some_and(|s| s.success()),
                "{} did not stop cleanly on SIGTERM ({status:?}):\n{}",
                p.label,
                p.log_tail(30)
            );
        }
    }
}

/// What it took the producer to finish its full pass.
#[derive(Debug)]
pub struct ProducerRuns {
    /// Processes started (1 when the first pass succeeded).
    pub attempts: u32,
    /// The last log line of each pass that failed (its error).
    pub failures: Vec<String>,
}

/// Runs `producer sync --mode full --once` until a pass succeeds, starting it again a second
/// after each failure; fails the test after `timeout`.
pub async fn run_producer_until_done(
    env: &TestEnv,
    config: &Path,
    vars: &[(String, String)],
    timeout: Duration,
) -> ProducerRuns {
    let args = producer_args(env, config);
    let dir = log_dir(env);
    // The harness may build the binaries on first use: not part of the pass's time.
    let _ = binary("producer");
    let started = Instant::now();
    let mut runs = ProducerRuns {
        attempts: 0,
        failures: Vec::new(),
    };
    loop {
        runs.attempts += 1;
        let label = format!("producer #{}", runs.attempts);
        let log = dir.join(format!("producer-{}.log", runs.attempts));
        let mut producer = Proc::spawn(&label, "producer", &args, vars, log);
        let left = timeout.saturating_sub(started.elapsed());
        match producer.wait(left).await {
            Some(status) if status.success() => return runs,
            // The binary's last words: `producer: <the error and its causes>`.
            Some(_) => runs.failures.push(producer.log_tail(1)),
            None => panic!(
                "the producer did not finish a full pass within {timeout:?}:\n{}",
                producer.log_tail(30)
            ),
        }
        assert!(
            started.elapsed() < timeout,
            "the producer did not finish a full pass within {timeout:?}: {:#?}",
            runs.failures
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// `--config <config> sync --job <job> --mode full --once`.
pub fn producer_args(env: &TestEnv, config: &Path) -> Vec<String> {
    sync_args(env, config, Some("full"), true)
}

/// `--config <config> sync --job <job> [--mode <mode>] [--once]`: without `--once` the
/// producer runs scheduled.
pub fn sync_args(env: &TestEnv, config: &Path, mode: Option<&str>, once: bool) -> Vec<String> {
    let mut args: Vec<String> = [
        "--config",
        &config.display().to_string(),
        "sync",
        "--job",
        env.job(),
    ]
    .map(str::to_owned)
    .to_vec();
    if let Some(mode) = mode {
        args.extend(["--mode".to_owned(), mode.to_owned()]);
    }
    if once {
        args.push("--once".to_owned());
    }
    args
}

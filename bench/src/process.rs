//! The processes a benchmark measures (the release `kingdee-mock`, `producer` and `worker`):
//! spawned with their output in a log file, their peak RSS (`VmHWM`) read from
//! `/proc/<pid>/status` while they run, stopped with SIGTERM, and always waited for with a timeout.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// How often the memory of a child is read; the last reading before exit stands for the peak.
const MEMORY_EVERY: Duration = Duration::from_millis(50);

/// A release binary of the workspace, next to the running bench binary.
pub fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("path of the bench binary")?;
    let dir = exe.parent().context("folder of the bench binary")?;
    let path = dir.join(name);
    if !path.exists() {
        bail!(
            "{} is missing: build it first with \
             `cargo build --release -p k3sync-bench -p producer -p worker -p kingdee-mock`",
            path.display()
        );
    }
    Ok(path)
}

/// Peak resident memory of a process (KiB) and the CPU time it has used.
#[derive(Debug, Default)]
pub struct Memory {
    hwm_kib: AtomicU64,
    cpu_ticks: AtomicU64,
}

impl Memory {
    /// `VmHWM`: the largest resident set the process has had.
    pub fn peak_mib(&self) -> f64 {
        self.hwm_kib.load(Ordering::Relaxed) as f64 / 1024.0
    }

    /// User plus system CPU time at the last reading, in clock ticks (1/100 s).
    pub fn cpu_ticks(&self) -> u64 {
        self.cpu_ticks.load(Ordering::Relaxed)
    }

    /// Reads `/proc/<pid>/status` and `/proc/<pid>/stat`; false once the process is gone.
    fn read(&self, pid: u32) -> bool {
        if let Some(ticks) = crate::cpu::process_ticks(pid) {
            self.cpu_ticks.store(ticks, Ordering::Relaxed);
        }
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return false;
        };
        if let Some(v) = text.lines().find_map(|l| l.strip_prefix("VmHWM:")) {
            self.hwm_kib.fetch_max(kib(v), Ordering::Relaxed);
        }
        true
    }
}

fn kib(field: &str) -> u64 {
    field
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A running child process under observation.
pub struct Spawned {
    pub name: String,
    pub pid: u32,
    pub started: Instant,
    pub memory: Arc<Memory>,
    child: Child,
    sampler: JoinHandle<()>,
}

impl Spawned {
    /// Starts `program` with `args` and extra environment; stdout and stderr go to `log`.
    pub fn start(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        log: &Path,
    ) -> anyhow::Result<Self> {
        let out = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let err = out.try_clone()?;
        let child = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", program.display()))?;
        let pid = child.id().context("the child has no pid")?;
        let memory = Arc::new(Memory::default());
        let watched = Arc::clone(&memory);
        let sampler = tokio::spawn(async move {
            while watched.read(pid) {
                tokio::time::sleep(MEMORY_EVERY).await;
            }
        });
        Ok(Self {
            name: name.to_owned(),
            pid,
            started: Instant::now(),
            memory,
            child,
            sampler,
        })
    }

    /// Fails if the process has already exited (it should still be running).
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited early with {status}", self.name);
        }
        Ok(())
    }

    /// Waits for the process to exit by itself.
    pub async fn wait(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let status = tokio::time::timeout(timeout, self.child.wait())
            .await
            .with_context(|| format!("{} did not finish within {timeout:?}", self.name))??;
        self.sampler.abort();
        Ok(status)
    }

    /// SIGTERM, then waits up to `timeout` (SIGKILL after that, reported as an error).
    pub async fn stop(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        if let Some(status) = self.child.try_wait()? {
            self.sampler.abort();
            return Ok(status);
        }
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .context("cannot run kill")?;
        if !sent.success() {
            bail!("kill -TERM {} failed", self.pid);
        }
        match tokio::time::timeout(timeout, self.child.wait()).await {
            Ok(status) => {
                self.sampler.abort();
                Ok(status?)
            }
            Err(_) => {
                self.child.kill().await?;
                self.sampler.abort();
                bail!("{} ignored SIGTERM for {timeout:?}; killed", self.name)
            }
        }
    }
}

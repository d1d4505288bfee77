//! The worker: consumes a job's work queue, maps each record with the job's declarative mapping,
//! upserts batches into MySQL and acknowledges only what is committed (or safely handed on to a
//! retry tier or the dead-letter queue).

mod consume;
mod held;
mod plan;
mod settle;
mod setup;
mod write;

pub use consume::run_job;
pub use settle::{BatchOutcome, process_batch};
pub use setup::{JobContext, prepare};

/// `host-pid`: which worker process did it (for `x-k3sync-worker` and `error_log.worker`).
pub fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "worker".into());
    format!("{host}-{}", std::process::id())
}

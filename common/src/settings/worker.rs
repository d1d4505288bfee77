//! `[worker]`: how the worker batches its writes, retries a failed one, and shuts down.

use serde::Deserialize;

use super::SettingsError;
use super::validate::at_least_one;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerSettings {
    /// Records written in one transaction (at least 1).
    pub batch_size: usize,
    /// Longest wait before a partial batch is written, milliseconds.
    pub flush_interval_ms: u64,
    /// In-process attempts of a transient database failure before the retry tier takes over.
    pub retry_attempts: usize,
    /// Time allowed to write the batch in hand after SIGTERM, seconds.
    pub shutdown_grace_secs: u64,
    /// Address of `/metrics`, `/healthz`, `/readyz` (empty = not served).
    pub listen: String,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            flush_interval_ms: 100,
            retry_attempts: 3,
            shutdown_grace_secs: 20,
            listen: "127.0.0.1:9102".into(),
        }
    }
}

impl WorkerSettings {
    pub(super) fn validate(&self) -> Result<(), SettingsError> {
        at_least_one("worker.batch_size", self.batch_size)
    }
}

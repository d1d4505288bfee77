//! `[producer]`: how the producer paces itself against the work queue and other producers.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProducerSettings {
    /// Pause paging while a job's work queue holds more messages than this.
    pub max_queue_depth: u32,
    /// Address of `/metrics`, `/healthz`, `/readyz` (empty = not served).
    pub listen: String,
    /// How long a producer waits for another one that is paging the same job, seconds;
    /// after that it skips the pass (logged, and recorded in `sync_runs` as `skipped`).
    pub lock_wait_secs: u64,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            max_queue_depth: 100_000,
            listen: "127.0.0.1:9101".into(),
            lock_wait_secs: 600,
        }
    }
}

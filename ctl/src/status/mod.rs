//! `ctl status`: per job, where the records are. Queue depths and consumers come from passive
//! declares (no management plugin); runs, target rows and unresolved dead letters from MySQL.
//! The types below are the `--json` document; docs/ctl.md describes it field by field, and it
//! only changes compatibly (new fields) unless [`SCHEMA`] is bumped.

mod collect;
mod database;
mod render;
mod watch;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k3sync_common::monitoring::JobHealth;
use serde::Serialize;

pub use collect::StatusSource;
pub use render::render;
pub use watch::watch;

/// Version of the `--json` document.
pub const SCHEMA: u32 = 1;

/// What to show.
#[derive(Debug, Clone)]
pub struct StatusOptions {
    /// Only this job (default: every job).
    pub job: Option<String>,
    /// How many of each job's latest runs.
    pub runs: u32,
}

impl Default for StatusOptions {
    fn default() -> Self {
        Self { job: None, runs: 5 }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub schema: u32,
    pub generated_at: DateTime<Utc>,
    /// Why RabbitMQ could not be read; queue fields are then `unknown`/null.
    pub broker_error: Option<String>,
    /// Why MySQL could not be read; runs, target and dead-letter counts are then empty/null.
    pub database_error: Option<String>,
    pub jobs: Vec<JobStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub job: String,
    /// The work queue `k3sync.<job>`.
    pub work: QueueStatus,
    /// The retry tiers `k3sync.<job>.retry.<n>`, tier 1 first.
    pub retry: Vec<RetryStatus>,
    /// The dead queue `k3sync.<job>.dead`.
    pub dead: QueueStatus,
    /// The latest runs from `sync_runs`, newest first.
    pub runs: Vec<RunView>,
    pub target: TargetStatus,
    /// `error_log` rows neither replayed nor purged, by class.
    pub unresolved_dead_letters: Option<BTreeMap<String, i64>>,
    /// Whether the job is failing (the rule of `/readyz`: `monitoring.failed_passes` failed in a
    /// row, or no success for `monitoring.stale_schedules` schedules), with the last error's
    /// class and text; null when MySQL could not be read.
    pub health: Option<JobHealth>,
}

/// Whether a queue could be looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueHealth {
    /// Declared; the counts are real.
    Ok,
    /// Not declared yet (the producer and worker declare on start).
    Missing,
    /// The broker could not be asked (see `broker_error`).
    Unknown,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueStatus {
    pub name: String,
    pub state: QueueHealth,
    /// Messages ready for delivery.
    pub ready: Option<u32>,
    /// Always null: AMQP reports no unacked count, and ctl needs no management plugin.
    pub unacked: Option<u32>,
    pub consumers: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetryStatus {
    pub tier: usize,
    pub delay_secs: u64,
    #[serde(flatten)]
    pub queue: QueueStatus,
}

/// One `sync_runs` row.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    pub run_id: String,
    pub mode: String,
    pub status: String,
    pub pages: i64,
    pub records: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Finished minus started; for a running pass, so far.
    pub duration_secs: Option<f64>,
    pub error: Option<String>,
}

/// The job's target table.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetStatus {
    pub table: Option<String>,
    pub rows: Option<i64>,
    /// The version column (`modify_date`) of the newest row, as stored (Kingdee's local time).
    pub newest_version: Option<String>,
    /// Seconds from `newest_version` to the database's clock.
    pub newest_age_secs: Option<f64>,
    /// A converging job: rows that left the target — marked (mark mode, counted in `rows`) or
    /// deleted (delete mode: the keys k3sync keeps a tombstone of). Null for other jobs.
    pub left: Option<i64>,
    /// A converging job's latest reconciliation (`sync_runs` with mode `reconcile`).
    pub last_reconciliation: Option<RunView>,
    /// Why the table could not be read (mapping does not compile, table missing, …).
    pub error: Option<String>,
}

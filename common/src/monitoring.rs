//! When a job is failing, decided once for `/readyz`, the producer's pass gauges and
//! `ctl status`: from the job's pass history in `sync_runs`, a job fails when its last `N`
//! finished passes failed, or when its last success is older than `M` schedules.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::MySqlPool;

/// `[monitoring]`: how soon a job counts as failing, and how often the producer samples queues.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringSettings {
    /// A job whose last this-many passes failed is failing (readiness, `ctl status`).
    pub failed_passes: u32,
    /// A job without a successful pass for this many `schedule_secs` is failing.
    pub stale_schedules: u32,
    /// Seconds between two samples of every queue's depth and consumers by the producer.
    pub queue_sample_secs: u64,
}

impl Default for MonitoringSettings {
    fn default() -> Self {
        Self {
            failed_passes: 3,
            stale_schedules: 3,
            queue_sample_secs: 15,
        }
    }
}

/// What `sync_runs` says about a job's passes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassHistory {
    /// When the last successful pass finished.
    pub last_success_at: Option<DateTime<Utc>>,
    /// Seconds since then (by the database's clock), or since the first pass when none succeeded.
    pub since_success_secs: Option<f64>,
    /// Finished passes (succeeded or failed) that failed since the last success, newest first:
    /// (error_class, error). At most [`HISTORY`] of them.
    pub failures: Vec<(Option<String>, Option<String>)>,
}

/// Failed passes read back at most; a longer streak reads as this many.
pub const HISTORY: u32 = 100;

/// The verdict on a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobHealth {
    /// True when a rule below says so.
    pub failing: bool,
    /// Why, in words an operator can act on (empty when not failing).
    pub reasons: Vec<String>,
    /// Finished passes that failed since the last success.
    pub failed_in_a_row: u32,
    pub last_success_at: Option<DateTime<Utc>>,
    /// Class of the newest failure (`authentication`, `configuration`, `transient`, …).
    pub last_error_class: Option<String>,
    /// Text of the newest failure.
    pub last_error: Option<String>,
}

/// Reads the job's pass history.
pub async fn history(pool: &MySqlPool, job: &str) -> Result<PassHistory, sqlx::Error> {
    let success: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT CAST(UNIX_TIMESTAMP(finished_at) * 1000 AS SIGNED), \
         TIMESTAMPDIFF(MICROSECOND, finished_at, NOW(3)) \
         FROM sync_runs WHERE job = ? AND status = 'succeeded' \
         ORDER BY started_at DESC, id DESC LIMIT 1",
    )
    .bind(job)
    .fetch_optional(pool)
    .await?;
    let (last_success_at, since_success) = match success {
        Some((at, micros)) => (at.and_then(DateTime::from_timestamp_millis), micros),
        None => {
            let first: Option<i64> = sqlx::query_scalar(
                "SELECT TIMESTAMPDIFF(MICROSECOND, MIN(started_at), NOW(3)) \
                 FROM sync_runs WHERE job = ?",
            )
            .bind(job)
            .fetch_one(pool)
            .await?;
            (None, first)
        }
    };
    let recent: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT status, error_class, error FROM sync_runs \
         WHERE job = ? AND status IN ('succeeded', 'failed') \
         ORDER BY started_at DESC, id DESC LIMIT ?",
    )
    .bind(job)
    .bind(HISTORY)
    .fetch_all(pool)
    .await?;
    let failures = recent
        .into_iter()
        .take_while(|(status, _, _)| status == "failed")
        .map(|(_, class, error)| (class, error))
        .collect();
    Ok(PassHistory {
        last_success_at,
        since_success_secs: since_success.map(|m| m as f64 / 1e6),
        failures,
    })
}

/// Judges `history` for a job that runs every `schedule_secs`.
pub fn assess(
    history: &PassHistory,
    schedule_secs: u64,
    settings: &MonitoringSettings,
) -> JobHealth {
    let failed_in_a_row = u32::try_from(history.failures.len()).unwrap_or(u32::MAX);
    let mut reasons = Vec::new();
    if settings.failed_passes > 0 && failed_in_a_row >= settings.failed_passes {
        reasons.push(format!("{failed_in_a_row} passes failed in a row"));
    }
    let limit = schedule_secs as f64 * f64::from(settings.stale_schedules);
    if let Some(age) = history.since_success_secs
        && settings.stale_schedules > 0
        && age > limit
    {
        let what = if history.last_success_at.is_some() {
            "no successful pass"
        } else {
            "no successful pass ever, first pass"
        };
        reasons.push(format!(
            "{what} for {age:.0} s (more than {} schedules of {schedule_secs} s)",
            settings.stale_schedules
        ));
    }
    let newest = history.failures.first();
    JobHealth {
        failing: !reasons.is_empty(),
        reasons,
        failed_in_a_row,
        last_success_at: history.last_success_at,
        last_error_class: newest.and_then(|(class, _)| class.clone()),
        last_error: newest.and_then(|(_, error)| error.clone()),
    }
}

impl JobHealth {
    /// One line: `3 passes failed in a row; last error (authentication): …`.
    pub fn summary(&self) -> String {
        let mut text = self.reasons.join("; ");
        if let Some(error) = &self.last_error {
            let class = self.last_error_class.as_deref().unwrap_or("unclassified");
            text.push_str(&format!("; last error ({class}): {error}"));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(n: usize) -> Vec<(Option<String>, Option<String>)> {
        (0..n)
            .map(|i| (Some("authentication".into()), Some(format!("refused {i}"))))
            .collect()
    }

    #[test]
    fn a_job_fails_after_the_set_number_of_failed_passes_in_a_row() {
        let settings = MonitoringSettings::default();
        let recent = PassHistory {
            since_success_secs: Some(10.0),
            failures: failures(2),
            ..PassHistory::default()
        };
        let health = assess(&recent, 60, &settings);
        assert!(!health.failing);
        assert_eq!(health.failed_in_a_row, 2);
        assert_eq!(health.last_error.as_deref(), Some("refused 0"));
        let three = PassHistory {
            failures: failures(3),
            ..recent
        };
        let health = assess(&three, 60, &settings);
        assert!(health.failing);
        assert_eq!(health.reasons, ["3 passes failed in a row"]);
        assert_eq!(
            health.summary(),
            "3 passes failed in a row; last error (authentication): refused 0"
        );
    }

    #[test]
    fn a_job_fails_when_its_last_success_is_older_than_the_set_schedules() {
        let settings = MonitoringSettings::default();
        let at = |secs: f64| PassHistory {
            last_success_at: Some(Utc::now()),
            since_success_secs: Some(secs),
            failures: Vec::new(),
        };
        assert!(
            !assess(&at(180.0), 60, &settings).failing,
            "exactly 3 schedules"
        );
        let stale = assess(&at(181.0), 60, &settings);
        assert!(stale.failing);
        assert_eq!(
            stale.reasons,
            ["no successful pass for 181 s (more than 3 schedules of 60 s)"]
        );
        assert_eq!(stale.last_error, None);
    }

    #[test]
    fn a_job_that_never_succeeded_counts_from_its_first_pass_and_a_new_job_is_fine() {
        let settings = MonitoringSettings::default();
        let never = PassHistory {
            last_success_at: None,
            since_success_secs: Some(400.0),
            failures: failures(1),
        };
        let health = assess(&never, 60, &settings);
        assert!(health.failing);
        assert!(
            health.reasons[0].starts_with("no successful pass ever"),
            "{health:?}"
        );
        assert!(!assess(&PassHistory::default(), 60, &settings).failing);
    }
}

//! Every Prometheus series k3sync exports: its name, its HELP text and its labels, in one place.
//! Recording sites use these constants; [`describe`] gives each series its HELP line when the
//! exporter is installed, and the README's Metrics section lists the same table.
//!
//! The job label is `sync_job`, not `job`: Prometheus owns `job` (the scrape job) and would
//! rename ours to `exported_job` on every scrape.

use crate::dlq::DeadClass;
use crate::settings::SyncMode;

/// The label naming a k3sync job (`jobs[].name`).
pub const JOB: &str = "sync_job";

// Producer: passes.
pub const PASSES: &str = "k3sync_passes_total";
pub const LAST_SUCCESS: &str = "k3sync_last_success_timestamp_seconds";
pub const FAILED_IN_A_ROW: &str = "k3sync_passes_failed_in_a_row";
pub const SCHEDULE: &str = "k3sync_pass_schedule_seconds";
pub const PAGES_FETCHED: &str = "k3sync_pages_fetched_total";
pub const RECORDS_PUBLISHED: &str = "k3sync_records_published_total";
// Producer: the queues, sampled all the time.
pub const QUEUE_DEPTH: &str = "k3sync_queue_depth";
pub const QUEUE_CONSUMERS: &str = "k3sync_queue_consumers";
// Worker.
pub const RECORDS_WRITTEN: &str = "k3sync_records_written_total";
pub const RECORDS_LEFT: &str = "k3sync_records_left_total";
pub const RECORDS_RETRIED: &str = "k3sync_records_retried_total";
pub const RECORDS_DEAD_LETTERED: &str = "k3sync_records_dead_lettered_total";
pub const BATCH_RECORDS: &str = "k3sync_batch_records";
pub const WRITE_SECONDS: &str = "k3sync_write_seconds";
pub const WRITE_RETRIES: &str = "k3sync_write_retries_total";
pub const RECONNECTS: &str = "k3sync_reconnects_total";
pub const RECORD_LAG: &str = "k3sync_record_lag_seconds";
// Kingdee client.
pub const KINGDEE_REQUESTS: &str = "k3sync_kingdee_requests_total";
pub const KINGDEE_REQUEST_SECONDS: &str = "k3sync_kingdee_request_seconds";
pub const KINGDEE_RETRIES: &str = "k3sync_kingdee_retries_total";
pub const KINGDEE_AUTH_BACKOFF: &str = "k3sync_kingdee_auth_backoff_seconds";
pub const KINGDEE_AUTH_HELD: &str = "k3sync_kingdee_auth_held_total";
// Every long-running binary.
pub const BUILD_INFO: &str = "k3sync_build_info";
pub const READY: &str = "k3sync_ready";
pub const UP_SINCE: &str = "k3sync_up_since_timestamp_seconds";
pub const QUEUE_SAMPLE_FAILURES: &str = "k3sync_queue_sample_failures_total";

/// (name, HELP) of every series; the kind is in the name's use (counters end in `_total`).
pub const CATALOGUE: [(&str, &str); 26] = [
    (
        PASSES,
        "Producer passes by sync_job, mode and result (succeeded, failed, skipped, cancelled).",
    ),
    (
        LAST_SUCCESS,
        "Unix time the sync_job's last successful pass finished (from sync_runs).",
    ),
    (
        FAILED_IN_A_ROW,
        "Passes of the sync_job that failed since its last successful one (from sync_runs).",
    ),
    (
        SCHEDULE,
        "Seconds between two scheduled passes of the sync_job (jobs[].schedule_secs).",
    ),
    (PAGES_FETCHED, "Kingdee pages fetched and published."),
    (
        RECORDS_PUBLISHED,
        "Records published and confirmed by the broker.",
    ),
    (
        QUEUE_DEPTH,
        "Messages ready in a queue of the sync_job (kind work, retry or dead), sampled by the producer.",
    ),
    (
        QUEUE_CONSUMERS,
        "Consumers of a queue of the sync_job (kind work, retry or dead), sampled by the producer.",
    ),
    (
        RECORDS_WRITTEN,
        "Records written to the target table (leaves included, see k3sync_records_left_total).",
    ),
    (
        RECORDS_LEFT,
        "Leave records written for a converging sync_job (tombstone kept; the row deleted or marked unless newer); counted in k3sync_records_written_total too.",
    ),
    (
        RECORDS_RETRIED,
        "Records sent to a retry tier after a transient database failure.",
    ),
    (
        RECORDS_DEAD_LETTERED,
        "Records dead-lettered, by class (see ctl dlq list --class).",
    ),
    (
        BATCH_RECORDS,
        "Records written per batch (leaves included).",
    ),
    (WRITE_SECONDS, "Seconds to write one batch."),
    (
        WRITE_RETRIES,
        "In-process retries of a batch after a transient database failure.",
    ),
    (
        RECONNECTS,
        "Broker sessions of a worker that ended and were reopened.",
    ),
    (
        RECORD_LAG,
        "Seconds from a record's FModifyDate to its write (sampled per batch).",
    ),
    (
        KINGDEE_REQUESTS,
        "Kingdee requests by service, outcome (ok, error) and error_class.",
    ),
    (KINGDEE_REQUEST_SECONDS, "Seconds per Kingdee request."),
    (
        KINGDEE_RETRIES,
        "Kingdee requests retried (transient errors, a refused session once).",
    ),
    (
        KINGDEE_AUTH_BACKOFF,
        "Pause before the next Kingdee call after authentication refusals; 0 once a call authenticates.",
    ),
    (
        KINGDEE_AUTH_HELD,
        "Kingdee calls not sent because authentication is paused after refusals.",
    ),
    (
        BUILD_INFO,
        "Always 1; the labels name the binary and its version.",
    ),
    (
        READY,
        "1 while /readyz answers 200 (MySQL, the broker and the watched jobs are fine), else 0.",
    ),
    (UP_SINCE, "Unix time the process started serving metrics."),
    (
        QUEUE_SAMPLE_FAILURES,
        "Queue samples the producer could not take (broker unreachable).",
    ),
];

/// Gives every series its HELP text; called once the recorder is installed.
pub fn describe() {
    for (name, help) in CATALOGUE {
        if name.ends_with("_total") {
            metrics::describe_counter!(name, help);
        } else if is_histogram(name) {
            metrics::describe_histogram!(name, help);
        } else {
            metrics::describe_gauge!(name, help);
        }
    }
}

fn is_histogram(name: &str) -> bool {
    [
        BATCH_RECORDS,
        WRITE_SECONDS,
        RECORD_LAG,
        KINGDEE_REQUEST_SECONDS,
    ]
    .contains(&name)
}

/// `k3sync_build_info{binary, version} 1` and the start time.
pub fn build_info(binary: &'static str) {
    metrics::gauge!(BUILD_INFO, "binary" => binary, "version" => env!("CARGO_PKG_VERSION"))
        .set(1.0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    metrics::gauge!(UP_SINCE, "binary" => binary).set(now);
}

/// The pass outcomes (`result` label of [`PASSES`]).
pub const PASS_RESULTS: [&str; 4] = ["succeeded", "failed", "skipped", "cancelled"];

/// Registers the producer's counters of `job` at 0, so that the first failure is an increase
/// that `increase()` and `rate()` can see (a counter born at 1 shows no increase).
pub fn register_producer_job(job: &str, mode: SyncMode, schedule_secs: u64) {
    for result in PASS_RESULTS {
        metrics::counter!(PASSES, JOB => job.to_owned(), "mode" => mode.as_str(), "result" => result)
            .increment(0);
    }
    metrics::counter!(RECORDS_PUBLISHED, JOB => job.to_owned()).increment(0);
    metrics::gauge!(SCHEDULE, JOB => job.to_owned()).set(schedule_secs as f64);
}

/// Registers the worker's counters of `job` at 0 (see [`register_producer_job`]); `converges`:
/// the job has `[jobs.leave]`, so its leaves are counted too.
pub fn register_worker_job(job: &str, converges: bool) {
    metrics::counter!(RECORDS_WRITTEN, JOB => job.to_owned()).increment(0);
    if converges {
        metrics::counter!(RECORDS_LEFT, JOB => job.to_owned()).increment(0);
    }
    for class in DeadClass::ALL {
        metrics::counter!(RECORDS_DEAD_LETTERED, JOB => job.to_owned(), "class" => class.as_str())
            .increment(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_prefixed_and_described() {
        let mut names: Vec<&str> = CATALOGUE.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len());
        for (name, help) in CATALOGUE {
            assert!(name.starts_with("k3sync_"), "{name}");
            assert!(help.ends_with('.') && help.len() > 20, "{name}: {help}");
        }
    }
}

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

/// Each series' name constant and its HELP text, written once; [`CATALOGUE`] lists them all.
macro_rules! series {
    ($($name:ident = $series:literal, $help:literal;)*) => {
        $(pub const $name: &str = $series;)*
        /// (name, HELP) of every series; the kind is in the name's use (counters end in `_total`).
        pub const CATALOGUE: &[(&str, &str)] = &[$(($name, $help)),*];
    };
}

series! {
    // Producer: passes.
    PASSES = "k3sync_passes_total",
        "Producer passes by sync_job, mode and result (succeeded, failed, skipped, cancelled).";
    LAST_SUCCESS = "k3sync_last_success_timestamp_seconds",
        "Unix time the sync_job's last successful pass finished (from sync_runs).";
    FAILED_IN_A_ROW = "k3sync_passes_failed_in_a_row",
        "Passes of the sync_job that failed since its last successful one (from sync_runs).";
    SCHEDULE = "k3sync_pass_schedule_seconds",
        "Seconds between two scheduled passes of the sync_job (jobs[].schedule_secs).";
    PAGES_FETCHED = "k3sync_pages_fetched_total",
        "Kingdee pages fetched and published.";
    RECORDS_PUBLISHED = "k3sync_records_published_total",
        "Records published and confirmed by the broker.";
    // Producer: the queues, sampled all the time.
    QUEUE_DEPTH = "k3sync_queue_depth",
        "Messages ready in a queue of the sync_job (kind work, retry or dead), sampled by the producer.";
    QUEUE_CONSUMERS = "k3sync_queue_consumers",
        "Consumers of a queue of the sync_job (kind work, retry or dead), sampled by the producer.";
    // Worker.
    RECORDS_WRITTEN = "k3sync_records_written_total",
        "Records written to the target table (leaves included, see k3sync_records_left_total).";
    RECORDS_LEFT = "k3sync_records_left_total",
        "Leave records written for a converging sync_job (tombstone kept; the row deleted or marked unless newer); counted in k3sync_records_written_total too.";
    RECORDS_RETRIED = "k3sync_records_retried_total",
        "Records sent to a retry tier after a transient database failure.";
    RECORDS_DEAD_LETTERED = "k3sync_records_dead_lettered_total",
        "Records dead-lettered, by class (see ctl dlq list --class).";
    BATCH_RECORDS = "k3sync_batch_records",
        "Records written per batch (leaves included).";
    WRITE_SECONDS = "k3sync_write_seconds",
        "Seconds to write one batch.";
    WRITE_RETRIES = "k3sync_write_retries_total",
        "In-process retries of a batch after a transient database failure.";
    RECONNECTS = "k3sync_reconnects_total",
        "Broker sessions of a worker that ended and were reopened.";
    RECORD_LAG = "k3sync_record_lag_seconds",
        "Seconds from a record's FModifyDate to its write (sampled per batch).";
    // Kingdee client.
    KINGDEE_REQUESTS = "k3sync_kingdee_requests_total",
        "Kingdee requests by service, outcome (ok, error) and error_class.";
    KINGDEE_REQUEST_SECONDS = "k3sync_kingdee_request_seconds",
        "Seconds per Kingdee request.";
    KINGDEE_RETRIES = "k3sync_kingdee_retries_total",
        "Kingdee requests retried (transient errors, a refused session once).";
    KINGDEE_AUTH_BACKOFF = "k3sync_kingdee_auth_backoff_seconds",
        "Pause before the next Kingdee call after authentication refusals; 0 once a call authenticates.";
    KINGDEE_AUTH_HELD = "k3sync_kingdee_auth_held_total",
        "Kingdee calls not sent because authentication is paused after refusals.";
    // Every long-running binary.
    BUILD_INFO = "k3sync_build_info",
        "Always 1; the labels name the binary and its version.";
    READY = "k3sync_ready",
        "1 while /readyz answers 200 (MySQL, the broker and the watched jobs are fine), else 0.";
    UP_SINCE = "k3sync_up_since_timestamp_seconds",
        "Unix time the process started serving metrics.";
    QUEUE_SAMPLE_FAILURES = "k3sync_queue_sample_failures_total",
        "Queue samples the producer could not take (broker unreachable).";
}

/// Gives every series its HELP text; called once the recorder is installed.
pub fn describe() {
    for &(name, help) in CATALOGUE {
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
    matches!(
        name,
        BATCH_RECORDS | WRITE_SECONDS | RECORD_LAG | KINGDEE_REQUEST_SECONDS
    )
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

//! The write of a batch's leaves and mapped rows: transient failures are retried in process
//! (bounded), and while the database is unreachable the batch is held until it is back instead
//! of spending retry tiers. What the database refuses for good comes back as [`Refusal`]s.

use std::time::Duration;

use backon::Retryable;
use k3sync_common::backoff::{self, Backoff};
use k3sync_common::dlq::DeadClass;
use k3sync_common::sink::{Leave, MappedRow, RowFailure, WriteError, is_unavailable};
use k3sync_common::telemetry::series;
use tokio_util::sync::CancellationToken;

use crate::plan::{Refusal, Written};
use crate::setup::JobContext;

/// Writes `leaves` and `rows`; `None` when cancelled while the database was unavailable.
pub async fn write_when_available(
    ctx: &JobContext,
    rows: &[MappedRow],
    leaves: &[Leave],
    cancel: &CancellationToken,
) -> Option<Written> {
    let mut wait = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        match write_with_retries(ctx, rows, leaves).await {
            Err(WriteError(error)) if is_unavailable(&error) => {
                let delay = wait.next_delay();
                tracing::warn!(job = %ctx.job.name, error = %error, delay_ms = delay.as_millis() as u64,
                    "Database unavailable, holding the batch until it is back");
                tokio::select! {
                    () = cancel.cancelled() => return None,
                    () = tokio::time::sleep(delay) => {}
                }
            }
            Err(WriteError(error)) => {
                tracing::warn!(job = %ctx.job.name, error = %error, rows = rows.len(),
                    "Batch failed after in-process retries, handing it to the retry tiers");
                return Some(Written::Transient(error.to_string()));
            }
            Ok(failures) => return Some(Written::Committed(refusals(&failures))),
        }
    }
}

/// Leaves first, then the rows: the sink takes back, after the upserts, any row older than its
/// key's tombstone, this batch's leaves included. Either write may run again (retry, redelivery).
async fn write_with_retries(
    ctx: &JobContext,
    rows: &[MappedRow],
    leaves: &[Leave],
) -> Result<Vec<RowFailure>, WriteError> {
    let retries = ctx.worker.retry_attempts.saturating_sub(1);
    let policy = backoff::exponential(
        Duration::from_millis(200),
        Duration::from_secs(5),
        Some(retries),
    );
    (|| async {
        ctx.sink.write_leaves(leaves).await?;
        ctx.sink.write_isolating(rows).await
    })
    .retry(policy)
    .notify(|error, delay| {
        metrics::counter!(series::WRITE_RETRIES, series::JOB => ctx.job.name.clone()).increment(1);
        tracing::warn!(job = %ctx.job.name, error = %error.0, delay_ms = delay.as_millis() as u64,
                "Transient database failure, retrying the batch");
    })
    .await
}

/// The sink's row failures in the plan's terms: a row too large for any statement, or the
/// server's own words for a row it refused.
fn refusals(failures: &[RowFailure]) -> Vec<Refusal> {
    failures
        .iter()
        .map(|f| Refusal {
            row: f.index,
            class: if f.is_too_large() {
                DeadClass::TooLarge
            } else {
                DeadClass::Data
            },
            reason: f.reason(),
        })
        .collect()
}

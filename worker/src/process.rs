//! One batch, start to finish (its records were decoded and mapped on receipt): upsert the
//! rows (retrying transient failures in process), dead-letter what can never be written, hand
//! what cannot be written yet to the next retry tier, and acknowledge every delivery only after
//! all of that is durable.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use backon::{ExponentialBuilder, Retryable};
use k3sync_common::amqp::{Envelope, Outgoing, Publisher, headers};
use k3sync_common::sink::{MappedRow, RowFailure, WriteError, is_unavailable};
use lapin::options::BasicAckOptions;
use lapin::types::{AMQPValue, FieldTable};
use tokio_util::sync::CancellationToken;

use crate::dead_letter::{self, DeadClass, DeadLetter};
use crate::held::Held;
use crate::setup::JobContext;

/// Longest wait for one broker call (publish confirms, ack) before the session is torn down.
const BROKER_CALL: Duration = Duration::from_secs(10);

/// What happened to a batch's records.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    pub written: usize,
    pub retried: usize,
    pub dead_lettered: usize,
}

/// Processes a batch and acks its deliveries. An error means the broker could not take a retry
/// or dead letter (or an ack): the caller reconnects and the unacked deliveries come back.
pub async fn process_batch(
    ctx: &JobContext,
    publisher: &Publisher,
    mut batch: Vec<Held>,
    cancel: &CancellationToken,
) -> anyhow::Result<BatchOutcome> {
    let mut outcome = BatchOutcome::default();
    let mut letters = Vec::new();
    let mut rows: Vec<MappedRow> = Vec::new();
    // For every row: (delivery, record) it came from.
    let mut origin: Vec<(usize, usize)> = Vec::new();
    for (h, held) in batch.iter_mut().enumerate() {
        let mapped = std::mem::take(&mut held.mapped);
        match &held.envelope {
            Err(error) => letters.push(DeadLetter::undecodable(held, error.to_string())),
            Ok(_) => {
                for (r, result) in mapped.into_iter().enumerate() {
                    match result {
                        Ok(row) => {
                            rows.push(row);
                            origin.push((h, r));
                        }
                        Err(error) => {
                            letters.push(DeadLetter::of(held, r, DeadClass::Mapping, error));
                        }
                    }
                }
            }
        }
    }

    let mut retries = Vec::new();
    if !rows.is_empty() {
        let started = Instant::now();
        let Some(written) = write_when_available(ctx, &rows, cancel).await else {
            anyhow::bail!(
                "stopped while the database was unavailable; the batch stays unacked and comes back"
            );
        };
        match written {
            Ok(failures) => {
                outcome.written = rows.len() - failures.len();
                for failure in failures {
                    let (h, r) = origin[failure.index];
                    let error = failure.reason();
                    letters.push(DeadLetter::of(&batch[h], r, DeadClass::Data, error));
                }
                record_write_metrics(ctx, &batch, &origin, outcome.written, started.elapsed());
            }
            Err(WriteError(error)) => {
                tracing::warn!(job = %ctx.job.name, error = %error, rows = rows.len(),
                    "Batch failed after in-process retries, handing it to the retry tiers");
                let (to_retry, exhausted) = plan_retries(ctx, &batch, &origin, &error);
                outcome.retried = to_retry.iter().map(|(_, n)| n).sum();
                retries = to_retry.into_iter().map(|(m, _)| m).collect();
                letters.extend(exhausted);
            }
        }
    }

    // Broker calls are bounded: lapin can leave a call unanswered when its connection dies at
    // that moment, and a worker stuck there would look healthy while doing nothing.
    tokio::time::timeout(BROKER_CALL, publisher.publish_confirmed(&retries))
        .await
        .context("the broker did not confirm the retries in time")??;
    outcome.dead_lettered = letters.len();
    tokio::time::timeout(BROKER_CALL * 6, dead_letter::send(ctx, publisher, &letters))
        .await
        .context("dead letters were not stored in time")??;
    // One ack for the whole batch: every delivery of this channel up to the highest tag is in
    // this batch (earlier batches are acked already, later deliveries are not in hand yet).
    if let Some(last) = batch.iter().max_by_key(|h| h.delivery.delivery_tag) {
        let ack = last.delivery.acker.ack(BasicAckOptions { multiple: true });
        tokio::time::timeout(BROKER_CALL, ack)
            .await
            .context("the broker did not take the ack in time")??;
    }
    Ok(outcome)
}

/// Writes with in-process retries; while the database is unreachable, holds the batch and waits
/// for it (with backoff) instead of spending retry tiers. `None` when cancelled while waiting.
async fn write_when_available(
    ctx: &JobContext,
    rows: &[MappedRow],
    cancel: &CancellationToken,
) -> Option<Result<Vec<RowFailure>, WriteError>> {
    let mut delay = Duration::from_millis(500);
    loop {
        match write_with_retries(ctx, rows).await {
            Err(WriteError(error)) if is_unavailable(&error) => {
                tracing::warn!(job = %ctx.job.name, error = %error, delay_ms = delay.as_millis() as u64,
                    "Database unavailable, holding the batch until it is back");
                tokio::select! {
                    () = cancel.cancelled() => return None,
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
            other => return Some(other),
        }
    }
}

async fn write_with_retries(
    ctx: &JobContext,
    rows: &[MappedRow],
) -> Result<Vec<RowFailure>, WriteError> {
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(ctx.worker.retry_attempts.saturating_sub(1))
        .with_jitter();
    (|| ctx.sink.write_isolating(rows))
        .retry(backoff)
        .notify(|error, delay| {
            metrics::counter!("k3sync_write_retries_total", "job" => ctx.job.name.clone()).increment(1);
            tracing::warn!(job = %ctx.job.name, error = %error.0, delay_ms = delay.as_millis() as u64,
                "Transient database failure, retrying the batch");
        })
        .await
}

/// For each delivery that had rows: the next retry tier, or dead letters once the tiers are used up.
fn plan_retries(
    ctx: &JobContext,
    batch: &[Held],
    origin: &[(usize, usize)],
    error: &sqlx::Error,
) -> (Vec<(Outgoing, usize)>, Vec<DeadLetter>) {
    let mut by_delivery: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (h, r) in origin {
        by_delivery.entry(*h).or_default().push(*r);
    }
    let mut retries = Vec::new();
    let mut letters = Vec::new();
    let tiers = ctx.topology.tier_delays_ms.len();
    for (h, records) in by_delivery {
        let held = &batch[h];
        let next = held.attempt + 1;
        if next as usize > tiers {
            for r in records {
                let reason = format!("gave up after {tiers} retry tiers: {error}");
                letters.push(DeadLetter::of(held, r, DeadClass::Exhausted, reason));
            }
            continue;
        }
        let Some(envelope) = held.full() else {
            // Decoded on receipt, so the body is an envelope; should it not read a second time,
            // the message is kept whole as a dead letter rather than lost.
            letters.push(DeadLetter::of(
                held,
                0,
                DeadClass::Decode,
                "body no longer decodes".into(),
            ));
            continue;
        };
        let subset: Vec<_> = records
            .iter()
            .map(|r| envelope.records[*r].clone())
            .collect();
        let count = subset.len();
        let retry = Envelope::new(&envelope.job, &envelope.form_id, envelope.run_id, subset);
        let mut table = FieldTable::default();
        table.insert(
            headers::JOB.into(),
            AMQPValue::LongString(envelope.job.as_str().into()),
        );
        table.insert(
            headers::RUN.into(),
            AMQPValue::LongString(envelope.run_id.to_string().into()),
        );
        table.insert(headers::ATTEMPT.into(), AMQPValue::LongLongInt(next.into()));
        table.insert(
            headers::ERROR.into(),
            AMQPValue::LongString(error.to_string().into()),
        );
        metrics::counter!("k3sync_retries_total", "job" => ctx.job.name.clone(), "tier" => next.to_string())
            .increment(count as u64);
        retries.push((
            Outgoing {
                // The default exchange routes by queue name straight into the tier.
                exchange: String::new(),
                routing_key: ctx.topology.retry_queue(next as usize),
                message_id: retry.message_id().to_string(),
                headers: table,
                body: retry.to_json(),
            },
            count,
        ));
    }
    (retries, letters)
}

fn record_write_metrics(
    ctx: &JobContext,
    batch: &[Held],
    origin: &[(usize, usize)],
    written: usize,
    took: Duration,
) {
    let job = ctx.job.name.clone();
    metrics::counter!("k3sync_records_written_total", "job" => job.clone())
        .increment(written as u64);
    metrics::histogram!("k3sync_batch_records", "job" => job.clone()).record(written as f64);
    metrics::histogram!("k3sync_write_seconds", "job" => job.clone()).record(took.as_secs_f64());
    // Lag from Kingdee's modification time to the write, sampled on the batch's last record.
    if let Some((h, r)) = origin.last()
        && let Ok(envelope) = &batch[*h].envelope
        && let Some(lag) = record_lag(
            &envelope.records[*r].modified,
            ctx.kingdee_offset,
            chrono::Utc::now(),
        )
    {
        metrics::histogram!("k3sync_record_lag_seconds", "job" => job).record(lag);
    }
}

/// Seconds from a Kingdee modification time (`2024-03-12T09:32:21.125`, the server's wall clock
/// at `offset` from UTC) to `now`; 0 for a time ahead of `now` (clocks drift), `None` for text
/// that is not such a time.
pub fn record_lag(
    modified: &str,
    offset: chrono::FixedOffset,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<f64> {
    let local = chrono::NaiveDateTime::parse_from_str(modified, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    let at = local.and_local_timezone(offset).single()?;
    Some(
        (now - at.with_timezone(&chrono::Utc))
            .as_seconds_f64()
            .max(0.0),
    )
}

#[cfg(test)]
mod tests {
    use super::record_lag;
    use chrono::{FixedOffset, TimeZone, Utc};

    #[test]
    fn the_lag_reads_kingdee_times_at_the_servers_offset() {
        let china = FixedOffset::east_opt(8 * 3600).unwrap();
        let now = Utc.with_ymd_and_hms(2024, 3, 12, 1, 32, 31).unwrap();
        // 09:32:21.125 in Beijing is 01:32:21.125 UTC: 9.875 s before `now`.
        let lag = record_lag("2024-03-12T09:32:21.125", china, now).unwrap();
        assert!((lag - 9.875).abs() < 1e-9, "{lag}");
        // Read as UTC the same text would be 8 hours in the future: no negative lag.
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(record_lag("2024-03-12T09:32:21.125", utc, now), Some(0.0));
        assert_eq!(record_lag("12/03/2024", china, now), None);
    }
}

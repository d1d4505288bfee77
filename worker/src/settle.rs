//! One batch, start to finish (its records were decoded and mapped on receipt): write the rows,
//! decide with [`plan`] what becomes of every record, then carry the plan out — retries to their
//! tiers and dead letters to the dead queue, both under publisher confirms, dead letters recorded
//! in `error_log` — and only then acknowledge the batch's deliveries.

use std::time::{Duration, Instant};

use anyhow::Context;
use backon::Retryable;
use k3sync_common::amqp::{Outgoing, Publisher};
use k3sync_common::backoff;
use k3sync_common::dlq::{DeadClass, DeadLetter, Headers, error_log};
use k3sync_common::record::parse_datetime;
use k3sync_common::sink::{WriteErrorClass, classify};
use k3sync_common::telemetry::series;
use lapin::options::BasicAckOptions;
use tokio_util::sync::CancellationToken;

use crate::held::Held;
use crate::plan::{Plan, Received, Written, plan};
use crate::setup::JobContext;
use crate::write::write_when_available;

/// Longest wait for one broker call (publish confirms, ack) before the session is torn down.
const BROKER_CALL: Duration = Duration::from_secs(10);

/// What happened to a batch's records.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Records committed, leaves included.
    pub written: usize,
    /// Of `written`, the leaves.
    pub left: usize,
    pub retried: usize,
    pub dead_lettered: usize,
}

/// Processes a batch and acks its deliveries. An error means the database stayed away until
/// shutdown, or the broker could not take a retry, a dead letter or the ack: the deliveries stay
/// unacked and come back.
pub async fn process_batch(
    ctx: &JobContext,
    publisher: &Publisher,
    mut batch: Vec<Held>,
    cancel: &CancellationToken,
) -> anyhow::Result<BatchOutcome> {
    // Rows leave their deliveries in batch order, the order the plan numbers them in; a leave
    // message's records are leaves, none of them refused.
    let mut rows = Vec::new();
    let mut leaves = Vec::new();
    let mut refused: Vec<Vec<Option<(DeadClass, String)>>> = Vec::with_capacity(batch.len());
    for held in &mut batch {
        let states = if held.is_leave() {
            let left = held.leaves();
            let states = vec![None; left.len()];
            leaves.extend(left);
            states
        } else {
            std::mem::take(&mut held.mapped)
                .into_iter()
                .map(|mapped| mapped.map(|row| rows.push(row)).err())
                .collect()
        };
        refused.push(states);
    }
    let received: Vec<Received<'_>> = batch
        .iter()
        .zip(&refused)
        .map(|(held, states)| Received {
            attempt: held.headers.attempt,
            leaves: held.is_leave(),
            records: match &held.body {
                Ok(_) => Ok(states
                    .iter()
                    .map(|s| s.as_ref().map(|(class, reason)| (*class, reason.as_str())))
                    .collect()),
                Err((class, reason)) => Err((*class, reason.as_str())),
            },
        })
        .collect();

    let started = Instant::now();
    let nothing_to_write = rows.is_empty() && leaves.is_empty();
    let written = if nothing_to_write {
        Written::Committed(Vec::new())
    } else {
        write_when_available(ctx, &rows, &leaves, cancel).await.context(
            "stopped while the database was unavailable; the batch stays unacked and comes back",
        )?
    };
    let plan = plan(&received, &written, ctx.topology.tier_delays_ms.len());
    if !nothing_to_write && matches!(written, Written::Committed(_)) {
        record_write_metrics(ctx, &batch, &plan, started.elapsed());
    }
    settle(ctx, publisher, &batch, &plan).await?;
    Ok(BatchOutcome {
        written: plan.written,
        left: plan.left,
        retried: plan.retried(),
        dead_lettered: plan.dead.len(),
    })
}

/// Carries out `plan`: retries, then dead letters, then one ack for the whole batch.
async fn settle(
    ctx: &JobContext,
    publisher: &Publisher,
    batch: &[Held],
    plan: &Plan,
) -> anyhow::Result<()> {
    let headers = |held: &Held| Headers {
        job: Some(ctx.job.name.clone()),
        ..held.headers.clone()
    };
    let mut retries = Vec::with_capacity(plan.retries.len());
    for retry in &plan.retries {
        let held = &batch[retry.delivery];
        let Ok(envelope) = &held.body else { continue };
        let subset = envelope.subset(&retry.records);
        let headers = Headers {
            run: Some(envelope.run_id.to_string()),
            ..headers(held)
        };
        metrics::counter!(series::RECORDS_RETRIED, series::JOB => ctx.job.name.clone(), "tier" => retry.tier.to_string())
            .increment(retry.records.len() as u64);
        retries.push(Outgoing::new(
            ctx.topology.retry_route(retry.tier as usize),
            subset.message_id().to_string(),
            headers.retried(retry.tier, &retry.reason).to_table(),
            subset.to_json(),
        ));
    }
    let letters: Vec<DeadLetter> = plan
        .dead
        .iter()
        .map(|dead| {
            let held = &batch[dead.delivery];
            let reason = dead.reason.clone();
            match (&held.body, dead.record) {
                (Ok(envelope), Some(record)) => {
                    DeadLetter::record(envelope, record, &headers(held), dead.class, reason)
                }
                _ => DeadLetter::verbatim(
                    &held.delivery.data,
                    held.delivery
                        .properties
                        .message_id()
                        .as_ref()
                        .map(|m| m.as_str()),
                    &headers(held),
                    dead.class,
                    reason,
                ),
            }
        })
        .collect();

    // Broker calls are bounded: lapin can leave a call unanswered when its connection dies at
    // that moment, and a worker stuck there would look healthy while doing nothing.
    tokio::time::timeout(BROKER_CALL, publisher.publish_confirmed(&retries))
        .await
        .context("the broker did not confirm the retries in time")??;
    tokio::time::timeout(BROKER_CALL * 6, send_dead_letters(ctx, publisher, &letters))
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
    Ok(())
}

/// Publishes the letters under confirms, then records them in `error_log`.
async fn send_dead_letters(
    ctx: &JobContext,
    publisher: &Publisher,
    letters: &[DeadLetter],
) -> anyhow::Result<()> {
    if letters.is_empty() {
        return Ok(());
    }
    let failed_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let messages: Vec<Outgoing> = letters
        .iter()
        .map(|l| l.outgoing(&ctx.topology, &failed_at, &ctx.worker_id))
        .collect();
    publisher.publish_confirmed(&messages).await?;
    // The letters are already confirmed: a MySQL hiccup here must not fail the batch, or its
    // redelivery would dead-letter the same records a second time.
    let policy = backoff::exponential(Duration::from_millis(200), Duration::from_secs(5), Some(10));
    (|| error_log::insert(&ctx.pool, &ctx.job.name, &ctx.worker_id, letters))
        .retry(policy)
        .when(|e| classify(e) == WriteErrorClass::Transient)
        .notify(|e, _| tracing::warn!(job = %ctx.job.name, error = %e, "error_log insert failed, retrying"))
        .await?;
    for letter in letters {
        metrics::counter!(series::RECORDS_DEAD_LETTERED, series::JOB => ctx.job.name.clone(), "class" => letter.class.as_str())
            .increment(1);
        tracing::warn!(job = %ctx.job.name, key = ?letter.key, class = letter.class.as_str(),
            error = %letter.error, "Record dead-lettered");
    }
    Ok(())
}

fn record_write_metrics(ctx: &JobContext, batch: &[Held], plan: &Plan, took: Duration) {
    let job = ctx.job.name.clone();
    metrics::counter!(series::RECORDS_WRITTEN, series::JOB => job.clone())
        .increment(plan.written as u64);
    if plan.left > 0 {
        metrics::counter!(series::RECORDS_LEFT, series::JOB => job.clone())
            .increment(plan.left as u64);
    }
    metrics::histogram!(series::BATCH_RECORDS, series::JOB => job.clone())
        .record(plan.written as f64);
    metrics::histogram!(series::WRITE_SECONDS, series::JOB => job.clone())
        .record(took.as_secs_f64());
    // Lag from Kingdee's modification time to the write, sampled on the batch's last record.
    let last = batch
        .iter()
        .rev()
        .filter(|h| !h.is_leave())
        .find_map(|h| h.body.as_ref().ok()?.records.last());
    if let Some(lag) =
        last.and_then(|r| record_lag(&r.modified, ctx.kingdee_offset, chrono::Utc::now()))
    {
        metrics::histogram!(series::RECORD_LAG, series::JOB => job).record(lag);
    }
}

/// Seconds from a Kingdee modification time (any shape [`parse_datetime`] reads, the server's
/// wall clock at `offset` from UTC) to `now`; 0 for a time ahead of `now` (clocks drift), `None`
/// for text that is not such a time.
pub fn record_lag(
    modified: &str,
    offset: chrono::FixedOffset,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<f64> {
    let at = parse_datetime(modified)?
        .and_local_timezone(offset)
        .single()?;
    let lag = now - at.with_timezone(&chrono::Utc);
    Some(lag.as_seconds_f64().max(0.0))
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
        // Without a fraction, and in the .NET form, the same instant is read.
        assert_eq!(record_lag("2024-03-12T09:32:21", china, now), Some(10.0));
        let dotnet = record_lag("/Date(1710207141125+0800)/", china, now).unwrap();
        assert!((dotnet - 9.875).abs() < 1e-9, "{dotnet}");
        // Read as UTC the same text would be 8 hours in the future: no negative lag.
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(record_lag("2024-03-12T09:32:21.125", utc, now), Some(0.0));
        assert_eq!(record_lag("12/03/2024", china, now), None);
    }
}

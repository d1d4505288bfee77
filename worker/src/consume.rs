//! The consumer loop of one job: connect, declare, set the prefetch, then gather deliveries into
//! batches of `batch_size` records or `flush_interval`, whichever comes first. The connection is
//! never assumed to heal itself: on any broker error the loop reconnects with backoff, and the
//! broker redelivers what was not acked (the upsert makes redeliveries harmless).

use std::time::Duration;

use futures_util::StreamExt;
use k3sync_common::amqp::{self, Publisher};
use lapin::options::{BasicCancelOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::FieldTable;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::held::Held;
use crate::process::process_batch;
use crate::setup::JobContext;

/// Runs until `cancel`: consumes, reconnecting as often as needed.
pub async fn run_job(ctx: JobContext, cancel: CancellationToken) -> anyhow::Result<()> {
    const FIRST_DELAY: Duration = Duration::from_millis(500);
    let mut delay = FIRST_DELAY;
    loop {
        let mut consumed = false;
        let result = session(&ctx, &cancel, &mut consumed).await;
        // A session that got as far as consuming was a success: the next outage starts the
        // backoff afresh instead of inheriting the last one's long delay.
        if consumed {
            delay = FIRST_DELAY;
        }
        ctx.readiness.set_broker_up(false);
        match result {
            Ok(()) => return Ok(()),
            Err(error) => {
                metrics::counter!("k3sync_reconnects_total", "job" => ctx.job.name.clone())
                    .increment(1);
                tracing::warn!(job = %ctx.job.name, error = format!("{error:#}"), delay_ms = delay.as_millis() as u64,
                    "Broker session ended, reconnecting");
                tokio::select! {
                    () = cancel.cancelled() => return Ok(()),
                    () = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// One connection's life. `Ok` only after a clean shutdown.
async fn session(
    ctx: &JobContext,
    cancel: &CancellationToken,
    consumed: &mut bool,
) -> anyhow::Result<()> {
    let connection = amqp::connect(&ctx.amqp, &format!("k3sync-worker {}", ctx.worker_id)).await?;
    let channel = amqp::open_channel(&connection, false).await?;
    let publisher = Publisher::new(amqp::open_channel(&connection, true).await?);
    amqp::declare(&channel, &ctx.topology).await?;
    channel
        .basic_qos(prefetch(ctx), BasicQosOptions::default())
        .await?;
    let mut consumer = channel
        .basic_consume(
            ctx.topology.work_queue().into(),
            ctx.worker_id.as_str().into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    tracing::info!(job = %ctx.job.name, queue = %ctx.topology.work_queue(), "Consuming");
    ctx.readiness.set_broker_up(true);
    *consumed = true;

    let flush_every = Duration::from_millis(ctx.worker.flush_interval_ms);
    let mut batch: Vec<Held> = Vec::new();
    let mut records = 0;
    let mut deadline = Instant::now() + flush_every;
    loop {
        tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            () = tokio::time::sleep_until(deadline), if !batch.is_empty() => {
                process_batch(ctx, &publisher, std::mem::take(&mut batch), cancel).await?;
                records = 0;
            }
            next = consumer.next() => {
                let delivery = match next {
                    Some(delivery) => delivery?,
                    None => anyhow::bail!("the broker closed the consumer"),
                };
                if batch.is_empty() {
                    deadline = Instant::now() + flush_every;
                }
                let held = Held::new(delivery);
                records += held.records();
                batch.push(held);
                if records >= ctx.worker.batch_size {
                    process_batch(ctx, &publisher, std::mem::take(&mut batch), cancel).await?;
                    records = 0;
                }
            }
        }
    }
    // Shutdown: stop deliveries, write the batch in hand, ack it, close.
    tracing::info!(job = %ctx.job.name, in_hand = batch.len(), "Stopping: writing the batch in hand");
    let _ = channel
        .basic_cancel(ctx.worker_id.as_str().into(), BasicCancelOptions::default())
        .await;
    if !batch.is_empty() {
        let grace = Duration::from_secs(ctx.worker.shutdown_grace_secs);
        tokio::time::timeout(grace, process_batch(ctx, &publisher, batch, cancel)).await??;
    }
    let _ = connection.close(200, "worker shutting down".into()).await;
    Ok(())
}

/// Messages in flight per consumer: two batches' worth, so the next batch is on its way while
/// the current one is written.
fn prefetch(ctx: &JobContext) -> u16 {
    let per_message = ctx.amqp.records_per_message.max(1);
    let messages = (2 * ctx.worker.batch_size).div_ceil(per_message).max(2);
    u16::try_from(messages).unwrap_or(u16::MAX)
}

//! Without `--once` the producer runs a job's pass every `schedule_secs` until SIGTERM, and a
//! reconciliation after it whenever the last successful one is older than `reconcile_secs`
//! (a converging job; 0: never). A failed
//! pass is logged and retried at the next tick (the cursor makes that safe); a dropped broker
//! connection is replaced before the next pass. Alongside, it samples the job's queues
//! ([`crate::sample`]) and keeps one Kingdee auth gate for its whole life, so that a reconnect
//! never forgets a pause after authentication refusals.

use std::sync::Arc;
use std::time::Duration;

use k3sync_common::health::Readiness;
use k3sync_common::kingdee::AuthGate;
use k3sync_common::settings::{Settings, SyncMode};
use k3sync_common::telemetry::series;
use tokio_util::sync::CancellationToken;

use crate::Producer;
use crate::outcome::refresh_gauges;
use crate::sample::sample_queues;

pub async fn run_scheduled(
    settings: Settings,
    job: &str,
    mode: SyncMode,
    readiness: Readiness,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let schedule_secs = settings.job(job)?.schedule_secs;
    let every = Duration::from_secs(schedule_secs);
    series::register_producer_job(job, mode, schedule_secs);
    let sampler = tokio::spawn(sample_queues(
        settings.clone(),
        job.to_owned(),
        cancel.child_token(),
    ));
    let gate = Arc::new(AuthGate::new(&settings.kingdee.auth_backoff));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut producer: Option<Producer> = None;
    let mut gauges_read = false;
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        if !producer.as_ref().is_some_and(Producer::is_connected) {
            readiness.set_broker_up(false);
            match Producer::connect(settings.clone()).await {
                Ok(connected) => producer = Some(connected.with_auth_gate(Arc::clone(&gate))),
                Err(error) => {
                    tracing::error!(
                        job,
                        error = format!("{error:#}"),
                        "Cannot connect, retrying at the next tick"
                    );
                    continue;
                }
            }
        }
        let Some(current) = &producer else { continue };
        readiness.set_broker_up(true);
        if !gauges_read {
            // The history before this process: a restart must not reset the gauges to "fine".
            refresh_gauges(current.pool(), job).await;
            gauges_read = true;
        }
        if let Err(error) = current.run_pass(job, mode, cancel).await {
            tracing::error!(
                job,
                error = format!("{error:#}"),
                "Pass failed, retrying at the next tick"
            );
        }
        if reconcile_due(current, job).await
            && !cancel.is_cancelled()
            && let Err(error) = current.run_pass(job, SyncMode::Reconcile, cancel).await
        {
            tracing::error!(
                job,
                error = format!("{error:#}"),
                "Reconciliation failed, retrying at the next tick"
            );
        }
    }
    sampler.abort();
    Ok(())
}

/// Whether the job reconciles on a schedule and its last successful reconciliation finished
/// `reconcile_secs` ago or more (before the first one: its first successful pass did — right
/// after the first load the listing would only find rows still on their way).
async fn reconcile_due(producer: &Producer, job: &str) -> bool {
    let Ok(settings) = producer.settings().job(job) else {
        return false;
    };
    if settings.reconcile_secs == 0 || !settings.converges() {
        return false;
    }
    let age: Result<Option<i64>, sqlx::Error> = sqlx::query_scalar(
        "SELECT TIMESTAMPDIFF(SECOND, COALESCE(MAX(CASE WHEN mode = 'reconcile' THEN finished_at END), \
         MIN(finished_at)), CURRENT_TIMESTAMP(3)) FROM sync_runs WHERE job = ? AND status = 'succeeded'",
    )
    .bind(job)
    .fetch_one(producer.pool())
    .await;
    match age {
        Ok(age) => age.is_some_and(|age| age >= settings.reconcile_secs as i64),
        Err(error) => {
            tracing::warn!(job, %error, "Cannot read the last reconciliation, skipping it this tick");
            false
        }
    }
}

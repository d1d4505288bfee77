//! Without `--once` the producer runs a job's pass every `schedule_secs` until SIGTERM. A failed
//! pass is logged and retried at the next tick (the cursor makes that safe); a dropped broker
//! connection is replaced before the next pass.

use std::time::Duration;

use k3sync_common::health::Readiness;
use k3sync_common::settings::{Settings, SyncMode};
use tokio_util::sync::CancellationToken;

use crate::Producer;

pub async fn run_scheduled(
    settings: Settings,
    job: &str,
    mode: SyncMode,
    readiness: Readiness,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let every = Duration::from_secs(settings.job(job)?.schedule_secs);
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut producer: Option<Producer> = None;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            _ = ticker.tick() => {}
        }
        if !producer.as_ref().is_some_and(Producer::is_connected) {
            readiness.set_broker_up(false);
            match Producer::connect(settings.clone()).await {
                Ok(connected) => producer = Some(connected),
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
        if let Err(error) = current.run_pass(job, mode, cancel).await {
            tracing::error!(
                job,
                error = format!("{error:#}"),
                "Pass failed, retrying at the next tick"
            );
        }
    }
}

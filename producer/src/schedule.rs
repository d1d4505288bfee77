//! Without `--once` the producer runs a job's pass every `schedule_secs` until SIGTERM. A failed
//! pass is logged and retried at the next tick: the cursor makes that safe.

use std::time::Duration;

use k3sync_common::settings::SyncMode;
use tokio_util::sync::CancellationToken;

use crate::Producer;

pub async fn run_scheduled(
    producer: &Producer,
    job: &str,
    mode: SyncMode,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let every = Duration::from_secs(producer.settings().job(job)?.schedule_secs);
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return Ok(()),
            _ = ticker.tick() => {}
        }
        if let Err(error) = producer.run_pass(job, mode, cancel).await {
            tracing::error!(
                job,
                error = format!("{error:#}"),
                "Pass failed, retrying at the next tick"
            );
        }
    }
}

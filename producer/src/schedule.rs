//! Without `--once` the producer runs each job's pass every `schedule_secs` until SIGTERM, and
//! a reconciliation after it whenever the last successful one is older than `reconcile_secs`
//! (a converging job; 0: never). Every job of the process has its own loop and shares one
//! connected [`Producer`]: one broker connection, one Kingdee client (one rate limit, one
//! session) and one Kingdee auth gate for the whole life of the process, so that a reconnect
//! never forgets a pause after authentication refusals. A failed pass is logged and retried at
//! the job's next tick (the cursor makes that safe); a dropped broker connection is replaced,
//! once, by the first job that needs it. Alongside, each job's queues are sampled
//! ([`crate::sample`]).

use std::sync::Arc;
use std::time::Duration;

use k3sync_common::health::Readiness;
use k3sync_common::kingdee::AuthGate;
use k3sync_common::settings::{Settings, SyncMode};
use k3sync_common::telemetry::series;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::Producer;
use crate::outcome::refresh_gauges;
use crate::sample::sample_queues;

/// The process's connected producer, replaced when its broker connection drops.
struct Shared {
    settings: Settings,
    gate: Arc<AuthGate>,
    current: tokio::sync::Mutex<Option<Arc<Producer>>>,
}

impl Shared {
    /// The connected producer, connecting (again) if there is none or its connection dropped.
    async fn connected(&self) -> anyhow::Result<Arc<Producer>> {
        let mut current = self.current.lock().await;
        if let Some(producer) = current.as_ref().filter(|p| p.is_connected()) {
            return Ok(Arc::clone(producer));
        }
        let producer = Producer::connect(self.settings.clone()).await?;
        let producer = Arc::new(producer.with_auth_gate(Arc::clone(&self.gate)));
        *current = Some(Arc::clone(&producer));
        Ok(producer)
    }
}

/// Runs every job of `jobs` on its own schedule until `cancel`; `mode` overrides each job's.
pub async fn run_scheduled(
    settings: Settings,
    jobs: &[String],
    mode: Option<SyncMode>,
    readiness: Readiness,
    cancel: &CancellationToken,
) -> anyhow::Result<()> {
    let shared = Arc::new(Shared {
        gate: Arc::new(AuthGate::new(&settings.kingdee.auth_backoff)),
        settings,
        current: tokio::sync::Mutex::default(),
    });
    let mut loops = JoinSet::new();
    for job in jobs {
        let mode = mode.unwrap_or(shared.settings.job(job)?.mode);
        loops.spawn(run_job(
            Arc::clone(&shared),
            job.clone(),
            mode,
            readiness.clone(),
            cancel.clone(),
        ));
    }
    while let Some(result) = loops.join_next().await {
        result??;
    }
    Ok(())
}

async fn run_job(
    shared: Arc<Shared>,
    job: String,
    mode: SyncMode,
    readiness: Readiness,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let job = job.as_str();
    let schedule_secs = shared.settings.job(job)?.schedule_secs;
    let every = Duration::from_secs(schedule_secs);
    series::register_producer_job(job, mode, schedule_secs);
    let sampler = tokio::spawn(sample_queues(
        shared.settings.clone(),
        job.to_owned(),
        cancel.child_token(),
    ));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut gauges_read = false;
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = ticker.tick() => {}
        }
        let current = match shared.connected().await {
            Ok(current) => current,
            Err(error) => {
                readiness.set_broker_up(false);
                let error = format!("{error:#}");
                tracing::error!(job, error, "Cannot connect, retrying at the next tick");
                continue;
            }
        };
        readiness.set_broker_up(true);
        if !gauges_read {
            // The history before this process: a restart must not reset the gauges to "fine".
            refresh_gauges(&current.pool, job).await;
            gauges_read = true;
        }
        if let Err(error) = current.run_pass(job, mode, &cancel).await {
            let error = format!("{error:#}");
            tracing::error!(job, error, "Pass failed, retrying at the next tick");
        }
        if reconcile_due(&current, job).await
            && !cancel.is_cancelled()
            && let Err(error) = current.run_pass(job, SyncMode::Reconcile, &cancel).await
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
    .fetch_one(&producer.pool)
    .await;
    match age {
        Ok(age) => age.is_some_and(|age| age >= settings.reconcile_secs as i64),
        Err(error) => {
            tracing::warn!(job, %error, "Cannot read the last reconciliation, skipping it this tick");
            false
        }
    }
}

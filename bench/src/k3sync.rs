//! Starting the release `producer` and `worker` binaries on a run's settings file, and reading
//! back what they did: the producer's `sync_runs` rows and the workers' written-records counter.

use std::time::{Duration, Instant};

use anyhow::bail;

use crate::metrics::counter;
use crate::process::{Spawned, binary};
use crate::sampler::WRITTEN;
use crate::world::World;

/// `producer --config <run> sync --job <job> --mode <mode> [--once]`, logging to `producer.log`.
pub fn producer(world: &World, mode: &str, once: bool) -> anyhow::Result<Spawned> {
    producer_logged(world, mode, once, "producer.log")
}

/// [`producer`] with its log in `log` (in the run's folder): one file per pass of a run.
pub fn producer_logged(
    world: &World,
    mode: &str,
    once: bool,
    log: &str,
) -> anyhow::Result<Spawned> {
    let mut args = vec![
        "--config".to_owned(),
        world.config.display().to_string(),
        "sync".to_owned(),
        "--job".to_owned(),
        world.job.clone(),
        "--mode".to_owned(),
        mode.to_owned(),
    ];
    if once {
        args.push("--once".to_owned());
    }
    Spawned::start(
        "producer",
        &binary("producer")?,
        &args,
        &[],
        &world.dir.join(log),
    )
}

/// `worker --config <run> --job <job>` serving `/metrics` on `listen`.
pub fn worker(world: &World, index: usize, listen: &str) -> anyhow::Result<Spawned> {
    let args = vec![
        "--config".to_owned(),
        world.config.display().to_string(),
        "--job".to_owned(),
        world.job.clone(),
    ];
    let env = vec![("K3SYNC__WORKER__LISTEN".to_owned(), listen.to_owned())];
    Spawned::start(
        &format!("worker {index}"),
        &binary("worker")?,
        &args,
        &env,
        &world.dir.join(format!("worker-{index}.log")),
    )
}

/// A producer pass as `sync_runs` recorded it.
#[derive(Debug, Clone)]
pub struct Pass {
    pub status: String,
    pub records: u64,
    pub pages: u64,
    /// From taking the job's lock to the last checkpoint (the producer's own clock in MySQL).
    pub seconds: f64,
}

/// The `index`-th pass of the run's job (0 = the first), once it has finished.
pub async fn pass(world: &World, index: u32) -> anyhow::Result<Option<Pass>> {
    let row: Option<(String, i64, i64, Option<f64>)> = sqlx::query_as(
        "SELECT CAST(status AS CHAR), records, pages, \
         CAST(TIMESTAMPDIFF(MICROSECOND, started_at, finished_at) AS DOUBLE) / 1e6 \
         FROM sync_runs WHERE job = ? ORDER BY id LIMIT 1 OFFSET ?",
    )
    .bind(&world.job)
    .bind(index)
    .fetch_optional(&world.pool)
    .await?;
    Ok(row.and_then(|(status, records, pages, seconds)| {
        Some(Pass {
            status,
            records: u64::try_from(records).ok()?,
            pages: u64::try_from(pages).ok()?,
            seconds: seconds?,
        })
        .filter(|p| p.status != "running")
    }))
}

/// Waits for the first pass of the job to finish; fails if it did not succeed.
pub async fn wait_first_pass(
    world: &World,
    producer: &mut Spawned,
    timeout: Duration,
) -> anyhow::Result<Pass> {
    let started = Instant::now();
    loop {
        if let Some(pass) = pass(world, 0).await? {
            if pass.status != "succeeded" {
                bail!("the producer's pass ended {}", pass.status);
            }
            return Ok(pass);
        }
        producer.check_running()?;
        if started.elapsed() > timeout {
            bail!("the producer's first pass did not finish within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls the workers' `k3sync_records_written_total` until it reaches `records`; returns the
/// moment it was seen (at most one poll, 50 ms, after the last commit).
pub async fn wait_written(
    workers: &mut [Spawned],
    addrs: &[String],
    records: u64,
    timeout: Duration,
) -> anyhow::Result<Instant> {
    let http = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let mut written = 0.0;
        for addr in addrs {
            written += counter(&http, addr, WRITTEN).await.unwrap_or(0.0);
        }
        if written >= records as f64 {
            return Ok(Instant::now());
        }
        for w in workers.iter_mut() {
            w.check_running()?;
        }
        if started.elapsed() > timeout {
            bail!("the workers wrote {written} of {records} records within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

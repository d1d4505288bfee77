//! The time series of the end-to-end run, every 250 ms: the work queue's depth (passive declare)
//! and the producer's and workers' counters (`/metrics`); the target table's row count every 2 s
//! only, because `COUNT(*)` costs MariaDB about 0.1 s of CPU at 800,000 rows and would take a
//! third of a core from the run it measures. It feeds the chart and is kept as CSV next to it.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::broker::Broker;
use crate::metrics::counter;
use crate::world::World;

pub const EVERY: Duration = Duration::from_millis(250);
/// The table is counted every this many samples (2 s).
const COUNT_EVERY: usize = 8;

/// One reading; `t` is seconds since the producer started.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub t: f64,
    pub queue_messages: u32,
    pub table_rows: Option<i64>,
    pub published: f64,
    pub written: f64,
}

/// Where the sampler looks.
pub struct Targets {
    pub broker: Broker,
    pub queue: String,
    pub table: String,
    pub producer_addr: String,
    pub worker_addrs: Vec<String>,
}

pub struct Sampler {
    stop: watch::Sender<bool>,
    task: JoinHandle<anyhow::Result<(Vec<Sample>, Broker)>>,
}

impl Sampler {
    pub fn start(world: &World, targets: Targets, t0: Instant) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let pool = world.pool.clone();
        let task = tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut samples = Vec::new();
            let mut ticker = tokio::time::interval(EVERY);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    _ = ticker.tick() => {}
                }
                let t = t0.elapsed().as_secs_f64();
                let (queue_messages, _) = targets.broker.depth(&targets.queue).await?;
                let table_rows = if samples.len() % COUNT_EVERY == 0 {
                    let sql = format!("SELECT COUNT(*) FROM `{}`", targets.table);
                    Some(
                        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                            .fetch_one(&pool)
                            .await?,
                    )
                } else {
                    None
                };
                let published = counter(&http, &targets.producer_addr, PUBLISHED)
                    .await
                    .unwrap_or(f64::NAN);
                let mut written = 0.0;
                for addr in &targets.worker_addrs {
                    written += counter(&http, addr, WRITTEN).await.unwrap_or(f64::NAN);
                }
                samples.push(Sample {
                    t,
                    queue_messages,
                    table_rows,
                    published,
                    written,
                });
            }
            Ok((samples, targets.broker))
        });
        Self { stop, task }
    }

    /// Stops sampling; returns the series and hands the broker connection back.
    pub async fn finish(self) -> anyhow::Result<(Vec<Sample>, Broker)> {
        let _ = self.stop.send(true);
        tokio::time::timeout(Duration::from_secs(30), self.task).await??
    }
}

pub const PUBLISHED: &str = "k3sync_records_published_total";
pub const WRITTEN: &str = "k3sync_records_written_total";

/// The series as CSV (`t_s,queue_messages,table_rows,published,written`).
pub fn write_csv(samples: &[Sample], path: &Path) -> anyhow::Result<()> {
    let mut text = String::from("t_s,queue_messages,table_rows,published,written\n");
    for s in samples {
        writeln!(
            text,
            "{:.3},{},{},{},{}",
            s.t,
            s.queue_messages,
            s.table_rows.map(|n| n.to_string()).unwrap_or_default(),
            s.published,
            s.written
        )?;
    }
    std::fs::write(path, text)?;
    Ok(())
}

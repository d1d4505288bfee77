//! Benchmark 2 (issue 4): one worker draining a full queue. A producer pass fills the job's
//! queue; then one `worker` process drains it into the empty target table (records/s from its
//! start to the last commit, peak RSS); then, in the same run, the raw reference upserts the same
//! mapped rows into an identical empty table over the same single connection.

use std::sync::Arc;
use std::time::Duration;

use anyhow::ensure;
use serde_json::{Value, json};

use crate::cpu::Ledger;
use crate::k3sync::{self, wait_written};
use crate::machine;
use crate::metrics;
use crate::mock::Mock;
use crate::report::{mib, rate, ratio, run_dir, save};
use crate::rows::fetch_mapped;
use crate::suite;
use crate::suite::producer;
use crate::world::{World, free_port};

/// Goals of issue 4.
const GOAL_RATIO: f64 = 0.6;
const GOAL_RSS_MIB: f64 = 100.0;
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1800);

pub async fn run(args: producer::Args, raw_connections: usize) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    let mut machine_info = Value::Null;
    for &size in &args.sizes {
        let dir = run_dir(&format!("worker-{size}"))?;
        let mock = Mock::start(&dir, size).await?;
        let world = World::create(&dir, &producer::knobs(&mock, &args)).await?;
        if machine_info.is_null() {
            machine_info = machine::describe(&world).await;
        }
        let (fill, pass) = producer::measure(&world, &mock).await?;
        let rows = Arc::new(fetch_mapped(&world.settings).await?);
        ensure!(
            rows.len() as u64 == pass.records,
            "the mock gave {} rows to the reference, {} to the producer",
            rows.len(),
            pass.records
        );
        mock.stop().await?;
        let worker = drain(&world, pass.records).await?;
        let (raw_secs, raw_cpu) =
            suite::raw_reference(&world, Arc::clone(&rows), raw_connections).await?;
        let worker_rate = worker["records_per_s"].as_f64().unwrap_or(0.0);
        let raw_rate = rate(pass.records, raw_secs);
        let rss = worker["peak_rss_mib"].as_f64().unwrap_or(f64::MAX);
        let r = ratio(worker_rate, raw_rate);
        let figures = json!({
            "records": pass.records,
            "queue_messages": pass.records.div_ceil(world.settings.amqp.records_per_message as u64),
            "worker": worker,
            "raw": {
                "connections": raw_connections,
                "statement_rows": suite::RAW_BATCH,
                "seconds": (raw_secs * 100.0).round() / 100.0,
                "records_per_s": raw_rate,
                "cpu": raw_cpu,
            },
            "ratio_worker_to_raw": r,
            "goal_ratio_met": r >= GOAL_RATIO,
            "goal_rss_met": rss < GOAL_RSS_MIB,
            "fill_by_producer": fill,
        });
        println!("worker: {figures}");
        runs.push(json!({ "mock_rows": size, "figures": figures }));
        world.cleanup().await?;
    }
    let mut settings = producer::settings_json(&args);
    settings["batch_size"] = json!(1000);
    settings["flush_interval_ms"] = json!(100);
    settings["prefetch_messages"] = json!(30);
    settings["mysql_max_connections"] = json!(4);
    save(
        "worker",
        &json!({
            "benchmark": "one worker draining a full queue vs raw multi-row upserts of the same rows",
            "machine": machine_info,
            "settings": settings,
            "goal": {"ratio_worker_to_raw": GOAL_RATIO, "peak_rss_mib_below": GOAL_RSS_MIB},
            "runs": runs,
        }),
    )?;
    Ok(())
}

/// One worker process drains `records` from the job's queue into the empty target table.
async fn drain(world: &World, records: u64) -> anyhow::Result<Value> {
    machine::settle("worker", Duration::from_secs(120)).await;
    let ledger = Ledger::open(&[]);
    let addr = format!("127.0.0.1:{}", free_port()?);
    let mut workers = vec![k3sync::worker(world, 1, &addr)?];
    let done = wait_written(
        &mut workers,
        std::slice::from_ref(&addr),
        records,
        DRAIN_TIMEOUT,
    )
    .await?;
    let seconds = done.duration_since(workers[0].started).as_secs_f64();
    // The worker's own account of its writes (BEGIN … COMMIT, retries included): how much of
    // the drain the database work takes, batch by batch.
    let http = reqwest::Client::new();
    let batches = metrics::counter(&http, &addr, "k3sync_write_seconds_count").await?;
    let write_seconds = metrics::counter(&http, &addr, "k3sync_write_seconds_sum").await?;
    let per_batch_ms = |s: f64| (s * 1000.0 / batches.max(1.0) * 100.0).round() / 100.0;
    let cpu = ledger.close(&[&workers[0]]);
    let rss = workers[0].memory.peak_mib();
    let status = workers[0].stop(Duration::from_secs(30)).await?;
    ensure!(status.success(), "the worker exited with {status}");
    let rows = world.count(world.table()).await?;
    Ok(json!({
        "seconds": (seconds * 100.0).round() / 100.0,
        "records_per_s": rate(records, seconds),
        "peak_rss_mib": mib(rss),
        "table_rows": rows,
        "batches": batches,
        "ms_per_batch": per_batch_ms(seconds),
        "write_ms_per_batch": per_batch_ms(write_seconds),
        "cpu": cpu,
    }))
}

//! Benchmark 3 (issue 6): end to end. The mock → a scheduled `producer` (incremental, empty
//! cursor, so its first pass is the full load) → RabbitMQ → 2 `worker`s → MySQL from an empty
//! table, sampled every 250 ms for the chart; then the incremental figure (rows touched in the
//! mock until visible in MySQL); then, in the same run, the raw reference over 2 connections and
//! the naive seed script on a sample.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use serde_json::{Value, json};

use crate::broker::Broker;
use crate::cpu::Ledger;
use crate::k3sync::{self, wait_first_pass, wait_written};
use crate::mock::Mock;
use crate::process::Spawned;
use crate::report::{mib, rate, ratio, results_dir, run_dir, save};
use crate::rows::fetch_mapped;
use crate::sampler::{Sampler, Targets, write_csv};
use crate::world::{Detection, Knobs, Rows, World, free_port};
use crate::{chart, machine, naive, raw, suite};

pub struct Args {
    pub size: usize,
    pub rows: Rows,
    pub workers: usize,
    pub naive_sample: usize,
    pub touches: usize,
    pub touch_count: usize,
    pub schedule_secs: u64,
    pub detection: Detection,
}

/// Goals of issue 6.
const GOAL_RAW: f64 = 0.4;
const GOAL_NAIVE: f64 = 15.0;
const GOAL_RSS_MIB: f64 = 100.0;
const RUN_TIMEOUT: Duration = Duration::from_secs(1800);

pub async fn run(args: Args) -> anyhow::Result<()> {
    let dir = run_dir(&format!("e2e-{}", args.size))?;
    let mock = Mock::start(&dir, args.size).await?;
    let knobs = Knobs {
        server_url: mock.server_url(),
        rows: args.rows,
        detection: args.detection,
        max_queue_depth: 100_000,
        schedule_secs: args.schedule_secs,
        producer_listen: format!("127.0.0.1:{}", free_port()?),
    };
    let world = World::create(&dir, &knobs).await?;
    let machine_info = machine::describe(&world).await;
    let broker = Broker::connect(&world.settings.amqp).await?;

    let addrs: Vec<String> = (0..args.workers)
        .map(|_| free_port().map(|p| format!("127.0.0.1:{p}")))
        .collect::<Result<_, _>>()?;
    let mut workers = Vec::new();
    for (i, addr) in addrs.iter().enumerate() {
        workers.push(k3sync::worker(&world, i + 1, addr)?);
    }
    broker
        .wait_consumers(
            &world.work_queue(),
            args.workers as u32,
            Duration::from_secs(60),
        )
        .await?;

    machine::settle("end to end", Duration::from_secs(120)).await;
    let ledger = Ledger::open(&processes(&mock, &workers, None));
    let t0 = Instant::now();
    let mut producer = k3sync::producer(&world, "incremental", false)?;
    let sampler = Sampler::start(
        &world,
        Targets {
            broker,
            queue: world.work_queue(),
            table: world.table().to_owned(),
            producer_addr: knobs.producer_listen.clone(),
            worker_addrs: addrs.clone(),
        },
        t0,
    );
    let pass = wait_first_pass(&world, &mut producer, RUN_TIMEOUT).await?;
    let published_at = t0.elapsed().as_secs_f64();
    let mut done = wait_written(&mut workers, &addrs, pass.records, RUN_TIMEOUT).await?;
    if args.rows == Rows::Job {
        // The scheduled second pass re-reads its overlap windows (the watched dates that started
        // at the newest row have no memory of the first pass): those upserts and leaves count in
        // the workers' metric too, so it can reach the first pass's total while a batch of it is
        // still being written. The table is the judge: done when every key is in it.
        done = wait_rows(&world, pass.records, done).await?;
    }
    let seconds = done.duration_since(t0).as_secs_f64();
    let cpu = ledger.close(&processes(&mock, &workers, Some(&producer)));
    let table_rows = world.count(world.table()).await?;
    let e2e_rate = rate(pass.records, seconds);
    println!(
        "end to end: {} records in {seconds:.2} s = {e2e_rate} records/s",
        pass.records
    );

    let incremental = incremental(&world, &mock, &args).await?;
    let (samples, broker) = sampler.finish().await?;
    broker.close().await;

    let mut rss = serde_json::Map::new();
    rss.insert("producer".into(), json!(mib(producer.memory.peak_mib())));
    for w in &workers {
        rss.insert(w.name.clone(), json!(mib(w.memory.peak_mib())));
    }
    rss.insert(
        "kingdee-mock (not k3sync)".into(),
        json!(mib(mock.process.memory.peak_mib())),
    );
    stop_all(&mut producer, &mut workers).await?;

    // References, same run, same rows; the pipeline's processes are stopped by now.
    let rows = Arc::new(fetch_mapped(&world.settings).await?);
    let (raw_secs, raw_cpu) = suite::raw_reference(&world, Arc::clone(&rows), args.workers).await?;
    let raw_rate = rate(rows.len() as u64, raw_secs);
    drop(rows);
    let naive_table = format!("{}_naive", world.table());
    raw::create_copy(&world.pool, &naive_table, world.table()).await?;
    machine::settle("naive script", Duration::from_secs(120)).await;
    let (naive_time, naive_rows) =
        naive::run(&world.settings, &naive_table, args.naive_sample).await?;
    let naive_rate = rate(naive_rows as u64, naive_time.as_secs_f64());
    mock.stop().await?;

    let results = results_dir()?;
    let csv = results.join("e2e-timeline.csv");
    write_csv(&samples, &csv)?;
    let png = results.join("e2e-timeline.png");
    let title = format!(
        "k3sync end to end: {} records, mock {} rows, {} workers — {e2e_rate} records/s",
        pass.records, args.size, args.workers
    );
    chart::render(&csv, &png, &title, published_at, seconds).await?;

    let max_rss = rss
        .iter()
        .filter(|(name, _)| !name.starts_with("kingdee-mock"))
        .filter_map(|(_, v)| v.as_f64())
        .fold(0.0, f64::max);
    let vs_raw = ratio(e2e_rate, raw_rate);
    let vs_naive = ratio(e2e_rate, naive_rate);
    save(
        "e2e",
        &json!({
            "benchmark": "mock -> producer -> RabbitMQ -> workers -> MySQL, full load from an empty table",
            "machine": machine_info,
            "settings": {
                "mock_rows": args.size,
                "rows": format!("{:?}", args.rows).to_lowercase(),
                "detection": format!("{:?}", args.detection),
                "workers": args.workers,
                "mode": "incremental (empty cursor: the first pass reads everything)",
                "schedule_secs": args.schedule_secs,
                "page_size": 2000, "records_per_message": 100, "batch_size": 1000,
                "flush_interval_ms": 100, "prefetch_messages": 30, "mysql_max_connections": 4,
                "max_queue_depth_messages": knobs.max_queue_depth, "requests_per_second": 0,
            },
            "end_to_end": {
                "records": pass.records,
                "pages": pass.pages,
                "table_rows": table_rows,
                "seconds": (seconds * 100.0).round() / 100.0,
                "producer_pass_done_s": (published_at * 100.0).round() / 100.0,
                "records_per_s": e2e_rate,
                "peak_rss_mib": rss,
                "cpu": cpu,
            },
            "raw_reference": {
                "connections": args.workers, "statement_rows": suite::RAW_BATCH,
                "seconds": (raw_secs * 100.0).round() / 100.0, "records_per_s": raw_rate,
                "cpu": raw_cpu,
            },
            "naive_reference": {
                "rows": naive_rows, "page_limit": 5000,
                "seconds": (naive_time.as_secs_f64() * 100.0).round() / 100.0,
                "records_per_s": naive_rate,
            },
            "ratios": {"e2e_to_raw": vs_raw, "e2e_to_naive": vs_naive},
            "goals": {
                "e2e_to_raw_at_least": GOAL_RAW, "met_raw": vs_raw >= GOAL_RAW,
                "e2e_to_naive_at_least": GOAL_NAIVE, "met_naive": vs_naive >= GOAL_NAIVE,
                "rss_mib_below": GOAL_RSS_MIB, "met_rss": max_rss < GOAL_RSS_MIB,
            },
            "incremental": incremental,
            "chart": "bench/results/e2e-timeline.png",
        }),
    )?;
    world.cleanup().await?;
    Ok(())
}

fn processes<'a>(
    mock: &'a Mock,
    workers: &'a [Spawned],
    producer: Option<&'a Spawned>,
) -> Vec<&'a Spawned> {
    let mut all: Vec<&Spawned> = workers.iter().collect();
    all.push(&mock.process);
    all.extend(producer);
    all
}

/// Polls the table's row count (after the workers' metric said `records`) until it holds
/// `records` rows; at most 30 s more. Returns `since` when the first count already does.
async fn wait_rows(world: &World, records: u64, since: Instant) -> anyhow::Result<Instant> {
    let started = Instant::now();
    let mut first = true;
    loop {
        let rows = world.count(world.table()).await? as u64;
        if rows == records {
            return Ok(if first { since } else { Instant::now() });
        }
        if rows > records || started.elapsed() > Duration::from_secs(30) {
            bail!("{rows} rows in the table for {records} records");
        }
        first = false;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Touches rows in the mock (the job's filter keeps one row per master, so one row per target
/// row) and times how long until all of them are in MySQL with their new version.
async fn incremental(world: &World, mock: &Mock, args: &Args) -> anyhow::Result<Value> {
    let filter = world.settings.jobs[0].matching();
    let filter = if filter.is_empty() {
        "FUseOrgId.FNumber = 'T00'".to_owned()
    } else {
        filter
    };
    let limit = Duration::from_secs(args.schedule_secs + 2);
    let mut seconds = Vec::new();
    for i in 0..args.touches {
        // Spread the touches over the schedule's cycle: the wait depends on where they fall.
        let offset = args.schedule_secs as f64 * (i as f64 + 0.5) / args.touches.max(1) as f64;
        tokio::time::sleep(Duration::from_secs_f64(offset.min(30.0))).await;
        let at = mock.touch(args.touch_count, &filter).await?;
        let touched = Instant::now();
        loop {
            let visible: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT COUNT(*) FROM `{}` WHERE modify_date = ?",
                world.table()
            )))
            .bind(&at)
            .fetch_one(&world.pool)
            .await?;
            if visible as usize >= args.touch_count {
                break;
            }
            if touched.elapsed() > limit * 5 {
                bail!("touched rows not visible after {:?}", limit * 5);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        seconds.push((touched.elapsed().as_secs_f64() * 100.0).round() / 100.0);
    }
    let worst = seconds.iter().copied().fold(0.0, f64::max);
    println!("incremental: {seconds:?} s (limit {limit:?})");
    Ok(json!({
        "touched_per_round": args.touch_count,
        "seconds_touch_to_visible": seconds,
        "worst_seconds": worst,
        "limit_seconds": limit.as_secs(),
        "goal_met": worst <= limit.as_secs_f64(),
    }))
}

async fn stop_all(producer: &mut Spawned, workers: &mut [Spawned]) -> anyhow::Result<()> {
    let status = producer.stop(Duration::from_secs(30)).await?;
    ensure!(
        status.success(),
        "the producer exited with {status} on SIGTERM"
    );
    for w in workers.iter_mut() {
        let status = w.stop(Duration::from_secs(30)).await?;
        ensure!(
            status.success(),
            "{} exited with {status} on SIGTERM",
            w.name
        );
    }
    Ok(())
}

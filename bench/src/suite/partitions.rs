//! Benchmark (issue 13): a full load against a slow Kingdee, by `kingdee.max_in_flight`. The mock
//! answers a page in a fixed part plus a part per row, with at most `cap` queries at once (more
//! wait for a slot); the producer reads the key range in partitions, as many at once as
//! `max_in_flight` allows. The ceiling Kingdee sets is streams × page / latency per page; the
//! pipeline's own rate is the same pass against the mock without latency, in the same run. Each
//! setting should reach the lower of the two within 10 %, and `max_in_flight` 4 at least 3.5
//! times the rate of 1.

use std::time::Duration;

use serde_json::{Value, json};

use crate::machine;
use crate::mock::Mock;
use crate::report::{run_dir, save};
use crate::suite::producer::measure;
use crate::world::{Detection, Knobs, Rows, World};

pub struct Args {
    pub size: usize,
    pub query_latency_ms: u64,
    pub row_latency_us: u64,
    pub cap: usize,
    pub in_flight: Vec<usize>,
}

const PAGE: f64 = 2000.0;

pub async fn run(args: Args) -> anyhow::Result<()> {
    let fast_dir = run_dir("partitions-fast")?;
    let fast = Mock::start(&fast_dir, args.size).await?;
    let most = args.in_flight.iter().copied().max().unwrap_or(4);
    let world = fresh_world(&fast_dir, &fast, most).await?;
    let machine_info = machine::describe(&world).await;
    let (baseline, _) = measure(&world, &fast).await?;
    let pipeline = baseline["records_per_s"].as_f64().unwrap_or(0.0);
    world.cleanup().await?;
    fast.stop().await?;

    let slow_dir = run_dir("partitions-slow")?;
    let latency = [
        "--query-latency-ms".to_owned(),
        args.query_latency_ms.to_string(),
        "--row-latency-us".to_owned(),
        args.row_latency_us.to_string(),
        "--max-concurrent-queries".to_owned(),
        args.cap.to_string(),
    ];
    let slow = Mock::start_with(&slow_dir, args.size, &latency).await?;
    let page_seconds = args.query_latency_ms as f64 / 1e3 + PAGE * args.row_latency_us as f64 / 1e6;
    let mut runs = Vec::new();
    let mut rates = Vec::new();
    for &n in &args.in_flight {
        let dir = slow_dir.join(format!("in-flight-{n}"));
        std::fs::create_dir_all(&dir)?;
        let world = fresh_world(&dir, &slow, n).await?;
        let (figures, _) = measure(&world, &slow).await?;
        world.cleanup().await?;
        let got = figures["records_per_s"].as_f64().unwrap_or(0.0);
        let ceiling = n.min(args.cap) as f64 * PAGE / page_seconds;
        let expected = ceiling.min(pipeline);
        let off = (got - expected) / expected;
        rates.push((n, got));
        runs.push(json!({
            "max_in_flight": n,
            "records_per_s": got,
            "kingdee_ceiling_records_per_s": ceiling.round(),
            "expected_records_per_s": expected.round(),
            "off_expected": (off * 1000.0).round() / 1000.0,
            "within_10_percent": off.abs() <= 0.10,
            "figures": figures,
        }));
    }
    slow.stop().await?;
    let rate_of = |n: usize| rates.iter().find(|(m, _)| *m == n).map(|(_, r)| *r);
    let speedup = match (rate_of(4), rate_of(1)) {
        (Some(four), Some(one)) if one > 0.0 => Some((four / one * 100.0).round() / 100.0),
        _ => None,
    };
    save(
        "partitions",
        &json!({
            "benchmark": "full load (producer into RabbitMQ) against a slow mock, by kingdee.max_in_flight",
            "machine": machine_info,
            "mock": {"rows": args.size, "query_latency_ms": args.query_latency_ms,
                "row_latency_us": args.row_latency_us, "max_concurrent_queries": args.cap,
                "page_seconds": page_seconds},
            "pipeline_records_per_s": pipeline,
            "pipeline": baseline,
            "runs": runs,
            "speedup_4_over_1": speedup,
            "goal": {"speedup_4_over_1_at_least": 3.5, "each_within": 0.10},
            "goal_met": speedup.is_some_and(|s| s >= 3.5)
                && runs.iter().all(|r| r["within_10_percent"] == Value::Bool(true)),
        }),
    )?;
    Ok(())
}

/// A fresh database and queue reading every mock row with `in_flight` requests at once.
async fn fresh_world(
    dir: &std::path::Path,
    mock: &Mock,
    in_flight: usize,
) -> anyhow::Result<World> {
    let knobs = Knobs {
        server_url: mock.server_url(),
        rows: Rows::All,
        detection: Detection::Demo,
        max_queue_depth: 100_000,
        schedule_secs: 60,
        producer_listen: String::new(),
    };
    let world = World::create(dir, &knobs).await?;
    let text = std::fs::read_to_string(&world.config)?;
    anyhow::ensure!(
        text.matches("max_in_flight = 4").count() == 1,
        "config/k3sync.toml changed: `max_in_flight = 4` is not there once"
    );
    std::fs::write(
        &world.config,
        text.replace("max_in_flight = 4", &format!("max_in_flight = {in_flight}")),
    )?;
    machine::settle("partitions", Duration::from_secs(60)).await;
    Ok(world)
}

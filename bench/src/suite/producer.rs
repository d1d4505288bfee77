//! Benchmark 1 (issue 3): the producer alone. For each mock size, one `producer --once --mode
//! full` process pages the mock (rate limit off) into an otherwise idle queue; the figure is
//! records confirmed by the broker per second and the producer's peak RSS.

use std::time::Duration;

use anyhow::ensure;
use serde_json::{Value, json};

use crate::cpu::Ledger;
use crate::k3sync::{self, Pass};
use crate::machine;
use crate::mock::Mock;
use crate::process::Spawned;
use crate::report::{mib, rate, run_dir, save};
use crate::world::{Detection, Knobs, Rows, World};

pub struct Args {
    pub sizes: Vec<usize>,
    pub rows: Rows,
    pub max_queue_depth: u32,
    pub detection: Detection,
}

/// Goals of issue 3.
const GOAL_RATE: f64 = 50_000.0;
const GOAL_RSS_MIB: f64 = 100.0;
const PASS_TIMEOUT: Duration = Duration::from_secs(900);

pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut runs = Vec::new();
    let mut machine_info = Value::Null;
    for &size in &args.sizes {
        let dir = run_dir(&format!("producer-{size}"))?;
        let mock = Mock::start(&dir, size).await?;
        let world = World::create(&dir, &knobs(&mock, &args)).await?;
        if machine_info.is_null() {
            machine_info = machine::describe(&world).await;
        }
        let (figures, _pass) = measure(&world, &mock).await?;
        runs.push(json!({ "mock_rows": size, "figures": figures }));
        world.cleanup().await?;
        mock.stop().await?;
    }
    save(
        "producer",
        &json!({
            "benchmark": "producer alone: mock (no rate limit) -> producer -> RabbitMQ, one full pass",
            "machine": machine_info,
            "settings": settings_json(&args),
            "goal": {"records_per_s": GOAL_RATE, "peak_rss_mib_below": GOAL_RSS_MIB},
            "runs": runs,
        }),
    )?;
    Ok(())
}

pub fn knobs(mock: &Mock, args: &Args) -> Knobs {
    Knobs {
        server_url: mock.server_url(),
        rows: args.rows,
        detection: args.detection,
        max_queue_depth: args.max_queue_depth,
        schedule_secs: 60,
        producer_listen: String::new(),
    }
}

pub fn settings_json(args: &Args) -> Value {
    json!({
        "rows": format!("{:?}", args.rows).to_lowercase(),
        "detection": format!("{:?}", args.detection),
        "page_size": 2000,
        "records_per_message": 100,
        "max_queue_depth_messages": args.max_queue_depth,
        "requests_per_second": 0,
        "max_in_flight": 4,
        "mode": "full",
    })
}

/// One `producer --once --mode full`: its figures and its pass.
pub async fn measure(world: &World, mock: &Mock) -> anyhow::Result<(Value, Pass)> {
    machine::settle("producer", Duration::from_secs(120)).await;
    let ledger = Ledger::open(&[&mock.process]);
    let mut producer: Spawned = k3sync::producer(world, "full", true)?;
    let status = producer.wait(PASS_TIMEOUT).await?;
    let wall = producer.started.elapsed().as_secs_f64();
    let cpu = ledger.close(&[&mock.process, &producer]);
    ensure!(
        status.success(),
        "the producer failed ({status}); see {}",
        world.dir.join("producer.log").display()
    );
    let pass = k3sync::pass(world, 0)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the producer left no finished sync_runs row"))?;
    ensure!(pass.status == "succeeded", "the pass ended {}", pass.status);
    let (messages, _) = {
        let broker = crate::broker::Broker::connect(&world.settings.amqp).await?;
        let depth = broker.depth(&world.work_queue()).await?;
        broker.close().await;
        depth
    };
    let per_message = world.settings.amqp.records_per_message as u64;
    // Pages of 2000 cut into messages of 100: every message is full but the last of a page
    // that came back short (one stream: only the very last page; partitions: each one's last).
    let full = pass.records.div_ceil(per_message);
    ensure!(
        (full..=full + pass.pages).contains(&u64::from(messages)),
        "the queue holds {messages} messages for {} records in {} pages",
        pass.records,
        pass.pages
    );
    let rss = producer.memory.peak_mib();
    let pass_rate = rate(pass.records, pass.seconds);
    let figures = json!({
        "records": pass.records,
        "pages": pass.pages,
        "queue_messages_after": messages,
        "pass_seconds": (pass.seconds * 100.0).round() / 100.0,
        "records_per_s": pass_rate,
        "process_wall_seconds": (wall * 100.0).round() / 100.0,
        "records_per_s_process_wall": rate(pass.records, wall),
        "producer_peak_rss_mib": mib(rss),
        "mock_peak_rss_mib": mib(mock.process.memory.peak_mib()),
        "cpu": cpu,
        "goal_rate_met": pass_rate >= GOAL_RATE,
        "goal_rss_met": rss < GOAL_RSS_MIB,
    });
    println!("producer: {figures}");
    Ok((figures, pass))
}

//! Benchmark 4 (issue 11): what convergence costs. One mock of `--size` rows, the demo job's
//! scope and filter. For the producer as it was (one `FModifyDate` stream, strict cursor, no
//! leaving) and as the demo runs it (three watched dates with their leave streams, a 300 s
//! overlap): a first incremental pass reads everything (its messages are purged), then an idle
//! incremental pass is measured — seconds, ExecuteBillQuery requests, records re-read. Then,
//! demo settings only, a reconciliation of a target that holds every listed key plus
//! `--extra-keys` keys Kingdee does not list: seconds, keys/s, peak RSS, and the leave messages
//! it sent (checked to name exactly the extra keys).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, ensure};
use k3sync_common::amqp::Kind;
use serde_json::{Value, json};
use sqlx::QueryBuilder;

use crate::broker::Broker;
use crate::cpu::Ledger;
use crate::k3sync::{self, Pass};
use crate::machine;
use crate::mock::Mock;
use crate::producer_log::{reconciliation_finished as finished, stream_seconds};
use crate::report::{mib, rate, ratio, run_dir, save, secs};
use crate::world::{Detection, Knobs, Rows, World};

pub struct Args {
    pub size: usize,
    pub extra_keys: usize,
}

/// Goals of issue 11.
const GOAL_IDLE_SECS: f64 = 2.0;
const GOAL_KEYS_PER_S: f64 = 50_000.0;
const GOAL_RSS_MIB: f64 = 100.0;
const PASS_TIMEOUT: Duration = Duration::from_secs(1800);
/// The extra target keys start here, above every FMasterId the mock makes.
const EXTRA_KEYS_FROM: i64 = 9_000_000_000_000;

pub async fn run(args: Args) -> anyhow::Result<()> {
    let dir = run_dir(&format!("converge-{}", args.size))?;
    let mock = Mock::start(&dir, args.size).await?;
    let mut machine_info = Value::Null;
    let mut idle = serde_json::Map::new();
    let mut reconciliation = Value::Null;
    for (label, detection) in [
        ("before", Detection::ModifyDateOnly),
        ("after", Detection::Demo),
    ] {
        let sub = dir.join(label);
        std::fs::create_dir_all(&sub)?;
        let world = World::create(&sub, &knobs(&mock, detection)).await?;
        if machine_info.is_null() {
            machine_info = machine::describe(&world).await;
        }
        let broker = Broker::connect(&world.settings.amqp).await?;
        let figures = idle_pass(&world, &mock, &broker).await?;
        println!("idle incremental pass, {label}: {figures}");
        idle.insert(label.to_owned(), figures);
        if detection == Detection::Demo {
            reconciliation = reconcile(&world, &mock, &broker, args.extra_keys).await?;
            println!("reconciliation: {reconciliation}");
        }
        broker.close().await;
        world.cleanup().await?;
    }
    let mock_rss = mib(mock.process.memory.peak_mib());
    mock.stop().await?;
    let figure = |label: &str, key: &str| idle[label]["idle_pass"][key].as_f64().unwrap_or(0.0);
    let after_secs = figure("after", "pass_seconds");
    let keys_per_s = reconciliation["measured"]["keys_per_s"]
        .as_f64()
        .unwrap_or(0.0);
    let rss = reconciliation["measured"]["producer_peak_rss_mib"]
        .as_f64()
        .unwrap_or(f64::MAX);
    save(
        "converge",
        &json!({
            "benchmark": "convergence: an idle incremental pass before and after, and a reconciliation",
            "machine": machine_info,
            "settings": {
                "mock_rows": args.size,
                "rows": "job (scope FUseOrgId.FNumber = 'T00', filter FDocumentStatus = 'C' AND FForbidStatus = 'A')",
                "before": "watch = [\"FModifyDate\"], overlap_secs = 0, no [jobs.leave]",
                "after": "the demo: watch = [\"FModifyDate\", \"FApproveDate\", \"FForbidDate\"], overlap_secs = 300, [jobs.leave] mark",
                "page_size": 2000,
                "requests_per_second": 0,
                "extra_keys": args.extra_keys,
                "mock_peak_rss_mib": mock_rss,
            },
            "goal": {
                "idle_pass_seconds_at_most": GOAL_IDLE_SECS,
                "reconcile_keys_per_s": GOAL_KEYS_PER_S,
                "reconcile_peak_rss_mib_below": GOAL_RSS_MIB,
            },
            "idle_incremental": idle,
            "after_vs_before": {
                "pass_seconds": ratio(after_secs, figure("before", "pass_seconds")),
                "requests": ratio(figure("after", "requests"), figure("before", "requests")),
            },
            "reconciliation": reconciliation,
            "goal_idle_met": after_secs <= GOAL_IDLE_SECS,
            "goal_reconcile_rate_met": keys_per_s >= GOAL_KEYS_PER_S,
            "goal_reconcile_rss_met": rss < GOAL_RSS_MIB,
        }),
    )?;
    Ok(())
}

fn knobs(mock: &Mock, detection: Detection) -> Knobs {
    Knobs {
        server_url: mock.server_url(),
        rows: Rows::Job,
        detection,
        max_queue_depth: 100_000,
        schedule_secs: 60,
        producer_listen: String::new(),
    }
}

/// One `producer --once` pass, measured.
struct Measured {
    pass: Pass,
    wall: f64,
    requests: u64,
    rss_mib: f64,
    cpu: Value,
    log: PathBuf,
}

impl Measured {
    fn json(&self) -> Value {
        json!({
            "pass_seconds": secs(self.pass.seconds),
            "process_wall_seconds": secs(self.wall),
            "requests": self.requests,
            "records": self.pass.records,
            "pages": self.pass.pages,
            // A pass of a few ms can end before the first reading (every 50 ms).
            "producer_peak_rss_mib": (self.rss_mib > 0.0).then(|| mib(self.rss_mib)),
            "cpu": self.cpu,
        })
    }
}

/// Runs the run's `index`-th pass (`sync_runs` order) in `mode`, logging to `log`.
async fn measure(
    world: &World,
    mock: &Mock,
    mode: &str,
    index: u32,
    log: &str,
) -> anyhow::Result<Measured> {
    machine::settle(log, Duration::from_secs(60)).await;
    let before = mock.queries().await?;
    let ledger = Ledger::open(&[&mock.process]);
    let mut producer = k3sync::producer_logged(world, mode, true, log)?;
    let status = producer.wait(PASS_TIMEOUT).await?;
    let wall = producer.started.elapsed().as_secs_f64();
    let cpu = ledger.close(&[&mock.process, &producer]);
    let log = world.dir.join(log);
    ensure!(
        status.success(),
        "the producer failed ({status}); see {}",
        log.display()
    );
    let requests = mock.queries().await? - before;
    let pass = k3sync::pass(world, index)
        .await?
        .with_context(|| format!("no finished sync_runs row {index}"))?;
    ensure!(pass.status == "succeeded", "the pass ended {}", pass.status);
    Ok(Measured {
        pass,
        wall,
        requests,
        rss_mib: producer.memory.peak_mib(),
        cpu,
        log,
    })
}

/// The first incremental pass (everything; its messages purged), then the idle one.
async fn idle_pass(world: &World, mock: &Mock, broker: &Broker) -> anyhow::Result<Value> {
    let first = measure(world, mock, "incremental", 0, "incremental-first.log").await?;
    let purged = broker.purge(&world.work_queue()).await?;
    let idle = measure(world, mock, "incremental", 1, "incremental-idle.log").await?;
    let streams: Vec<String> =
        sqlx::query_scalar("SELECT mode FROM sync_state WHERE job = ? ORDER BY mode")
            .bind(&world.job)
            .fetch_all(&world.pool)
            .await?;
    Ok(json!({
        "streams": streams,
        "first_pass": first.json(),
        "first_pass_messages_purged": purged,
        "idle_pass": idle.json(),
        "idle_pass_stream_seconds": stream_seconds(&idle.log)?,
        "idle_pass_messages": broker.depth(&world.work_queue()).await?.0,
        "goal_met": idle.pass.seconds <= GOAL_IDLE_SECS,
    }))
}

/// A cold reconciliation (empty target: every key is re-sent; purged), then the target filled
/// with every listed key plus `extra` unlisted ones, and the measured reconciliation.
async fn reconcile(
    world: &World,
    mock: &Mock,
    broker: &Broker,
    extra: usize,
) -> anyhow::Result<Value> {
    let queue = world.work_queue();
    let cold = measure(world, mock, "reconcile", 2, "reconcile-cold.log").await?;
    let cold_finished = finished(&cold.log)?;
    let purged = broker.purge(&queue).await?;
    let filled = fill_target(world, extra).await?;
    let warm = measure(world, mock, "reconcile", 3, "reconcile.log").await?;
    let warm_finished = finished(&warm.log)?;
    let envelopes = broker.take_all(&queue).await?;
    let mut left = BTreeSet::new();
    let mut upserts = 0;
    for envelope in &envelopes {
        match envelope.kind {
            Kind::Leave => left.extend(envelope.records.iter().map(|r| r.key)),
            Kind::Upsert => upserts += envelope.records.len(),
        }
    }
    let expected: BTreeSet<i64> = extra_keys(extra).collect();
    let leave_messages = envelopes.iter().filter(|e| e.kind == Kind::Leave).count();
    ensure!(
        left == expected,
        "the reconciliation made {} keys leave, {} of them extra keys; expected exactly the {} extra keys",
        left.len(),
        left.intersection(&expected).count(),
        expected.len()
    );
    ensure!(
        upserts == 0,
        "the reconciliation re-sent {upserts} rows the target holds"
    );
    let keys = warm.pass.records;
    let keys_per_s = rate(keys, warm.pass.seconds);
    Ok(json!({
        "cold": {
            "what": "empty target: every listed key is read again and re-sent",
            "figures": cold.json(),
            "log": cold_finished,
            "messages_purged": purged,
        },
        "target_rows_before": filled,
        "measured": {
            "figures": warm.json(),
            "log": warm_finished,
            "keys_listed": keys,
            "keys_per_s": keys_per_s,
            "listing_keys_per_s": rate(keys, warm_finished["listing_secs"].as_f64().unwrap_or(0.0)),
            "producer_peak_rss_mib": mib(warm.rss_mib),
            "leave_messages": leave_messages,
            "keys_left": left.len(),
            "left_are_exactly_the_extra_keys": true,
            "upserts_sent": upserts,
        },
        "goal_rate_met": keys_per_s >= GOAL_KEYS_PER_S,
        "goal_rss_met": warm.rss_mib < GOAL_RSS_MIB,
    }))
}

fn extra_keys(extra: usize) -> impl Iterator<Item = i64> {
    (0..extra as i64).map(|i| EXTRA_KEYS_FROM + i)
}

/// Writes a target row for every key the last listing holds and for `extra` keys it does not;
/// returns the rows the target then holds.
async fn fill_target(world: &World, extra: usize) -> anyhow::Result<i64> {
    let table = world.table();
    let listed = format!(
        "INSERT INTO `{table}` (data_id, code, name, sync_stamp) \
         SELECT target_key, CONCAT('K', target_key), 'bench', 1 FROM sync_reconcile WHERE job = ?"
    );
    sqlx::query(sqlx::AssertSqlSafe(listed))
        .bind(&world.job)
        .execute(&world.pool)
        .await?;
    let keys: Vec<i64> = extra_keys(extra).collect();
    for chunk in keys.chunks(1000) {
        let mut insert = QueryBuilder::new(format!(
            "INSERT INTO `{table}` (data_id, code, name, sync_stamp) "
        ));
        insert.push_values(chunk, |mut row, key| {
            row.push_bind(*key)
                .push_bind(format!("X{key}"))
                .push_bind("not in Kingdee")
                .push_bind(1_i64);
        });
        insert.build().execute(&world.pool).await?;
    }
    world.count(table).await
}

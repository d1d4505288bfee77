//! RabbitMQ going away mid-run: cut off through a proxy between the binaries and the broker
//! (always run, the shared broker stays up), and the real broker stopped and started with
//! `rabbitmqctl` (gated: it disconnects every test on the machine). Workers reconnect, the
//! producer's failed pass is run again and resumes, unacked deliveries come back.

use std::time::{Duration, Instant};

use k3sync_tests::chaos::{
    QueueWatch, Workers, assert_same_table, expected, poll, rabbitmq_start_app, rabbitmq_stop_app,
    remove_logs, require_restarts_allowed, row_count, run_producer_until_done, table,
};
use k3sync_tests::proxy::TcpProxy;
use k3sync_tests::{TestEnv, amqp_url};

use super::{ChaosRun, Letters, vars};

const WORKERS: usize = 2;
const CONSUMERS: u32 = WORKERS as u32;
/// Outages through the proxy in one run.
const OUTAGES: usize = 4;
/// How long the broker stays unreachable each time.
const DOWN_FOR: Duration = Duration::from_secs(3);
/// Longest a worker may take to consume again once the broker is back.
const BACK_WITHIN: Duration = Duration::from_secs(10);

/// A proxy to the broker, and the AMQP URL that goes through it.
async fn broker_proxy() -> (TcpProxy, String) {
    let proxy = TcpProxy::start("127.0.0.1:5672").await;
    let url = amqp_url().replace("127.0.0.1:5672", &proxy.addr().to_string());
    (proxy, url)
}

/// Waits until the work queue has `count` consumers; returns how long that took, or fails
/// with the workers' last log lines.
async fn consumers(
    watch: &mut QueueWatch,
    workers: &Workers,
    count: u32,
    timeout: Duration,
) -> Duration {
    let started = Instant::now();
    while watch.consumers().await != Some(count) {
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {count} consumers on the work queue; \
             the workers' last words:\n{}",
            workers.log_tails(6)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_cut_off_four_times_mid_run_loses_nothing_and_workers_consume_again_within_seconds()
 {
    let mut run = ChaosRun::start().await;
    let (proxy, url) = broker_proxy().await;
    let through_proxy = vars(&[("K3SYNC__AMQP__URL", url)]);
    let workers = Workers::start(&run.env, &run.config, WORKERS, &through_proxy);
    let mut watch = QueueWatch::new(&run.env);
    let chaos = async {
        consumers(&mut watch, &workers, CONSUMERS, Duration::from_secs(30)).await;
        run.wait_for_rows(2_000, Duration::from_secs(60)).await;
        run.publish_poison().await;
        let mut recoveries = Vec::new();
        for _ in 0..OUTAGES {
            proxy.set_up(false);
            consumers(&mut watch, &workers, 0, Duration::from_secs(10)).await;
            tokio::time::sleep(DOWN_FOR).await;
            proxy.set_up(true);
            recoveries
                .push(consumers(&mut watch, &workers, CONSUMERS, Duration::from_secs(45)).await);
            // Let the pipeline work a moment before the next outage.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        recoveries
    };
    let producing = run_producer_until_done(
        &run.env,
        &run.config,
        &through_proxy,
        Duration::from_secs(90),
    );
    let (producer, recoveries) = tokio::join!(producing, chaos);
    eprintln!("producer: {producer:?}; consuming again after {recoveries:?}");
    run.wait_until_synced(Duration::from_secs(60)).await;
    workers.stop().await;
    run.assert_exact(Letters::AtLeastOnce).await;
    watch.close().await;
    run.finish().await;
    assert!(
        recoveries.iter().all(|r| *r <= BACK_WITHIN),
        "after each outage the workers consume again within {BACK_WITHIN:?}: {recoveries:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts RabbitMQ/MariaDB; run with --run-ignored only"]
async fn a_rabbitmq_restart_mid_run_loses_nothing() {
    require_restarts_allowed("a_rabbitmq_restart_mid_run_loses_nothing");
    let mut run = ChaosRun::start().await;
    let workers = Workers::start(&run.env, &run.config, WORKERS, &[]);
    let mut watch = QueueWatch::new(&run.env);
    let chaos = async {
        run.wait_for_rows(2_000, Duration::from_secs(60)).await;
        run.publish_poison().await;
        rabbitmq_stop_app().await;
        tokio::time::sleep(DOWN_FOR).await;
        rabbitmq_start_app().await;
        consumers(&mut watch, &workers, CONSUMERS, Duration::from_secs(60)).await
    };
    let producing = run_producer_until_done(&run.env, &run.config, &[], Duration::from_secs(120));
    let (producer, back) = tokio::join!(producing, chaos);
    eprintln!("producer: {producer:?}; consuming again {back:?} after start_app");
    run.wait_until_synced(Duration::from_secs(60)).await;
    workers.stop().await;
    run.assert_exact(Letters::AtLeastOnce).await;
    watch.close().await;
    run.finish().await;
}

/// Cut-offs the moment a batch commits, each time with fresh workers (so reconnect backoff starts
/// from its first step): the batch's ack then meets a dead connection, and the worker must end
/// the session and reconnect. (lapin can leave an ack queued while its I/O loop shuts down
/// unresolved forever; with one ack per delivery this hung a worker in about half the cycles.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_cut_off_from_the_broker_as_a_batch_commits_reconnects_instead_of_hanging() {
    const CYCLES: usize = 6;
    let env = TestEnv::start(100_000).await;
    let want = expected(&env.mock_rows().await);
    let config = env.write_config();
    run_producer_until_done(&env, &config, &[], Duration::from_secs(60)).await;
    let (proxy, url) = broker_proxy().await;
    let through_proxy = vars(&[("K3SYNC__AMQP__URL", url)]);
    let mut watch = QueueWatch::new(&env);
    for cycle in 1..=CYCLES {
        let workers = Workers::start(&env, &config, WORKERS, &through_proxy);
        consumers(&mut watch, &workers, CONSUMERS, Duration::from_secs(30)).await;
        let before = row_count(&env.pool).await.unwrap_or(0);
        if before >= want.len() {
            workers.stop().await;
            break;
        }
        poll(
            "a batch to commit",
            Duration::from_secs(30),
            Duration::from_millis(1),
            || async { (row_count(&env.pool).await? > before).then_some(()) },
        )
        .await;
        proxy.set_up(false);
        consumers(&mut watch, &workers, 0, Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        proxy.set_up(true);
        let back = consumers(&mut watch, &workers, CONSUMERS, BACK_WITHIN).await;
        eprintln!("cycle {cycle}: consuming again after {back:?}");
        workers.stop().await;
    }
    if row_count(&env.pool).await.unwrap_or(0) < want.len() {
        let workers = Workers::start(&env, &config, WORKERS, &[]);
        poll(
            "every row written",
            Duration::from_secs(60),
            Duration::from_millis(250),
            || async { (row_count(&env.pool).await? >= want.len()).then_some(()) },
        )
        .await;
        workers.stop().await;
    }
    assert_same_table(&table(&env.pool).await.expect("table"), &want);
    watch.close().await;
    remove_logs(&env);
    env.cleanup().await;
}

//! Past one machine: full passes through the local three-node cluster of `scripts/cluster.sh`
//! (every process given all three nodes in `K3SYNC__AMQP__URL`) while nodes stop, come back and
//! die. Gated like the restart tests (`#[ignore]`, `K3SYNC_CHAOS_RESTARTS=1`): they run three
//! extra broker nodes, so CI runs them apart, one at a time (`-E 'test(/_cluster_/)'`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use k3sync_common::amqp;
use k3sync_tests::TestEnv;
use k3sync_tests::chaos::{
    Cluster, QueueWatch, Row, Workers, assert_same_table, drain_dead, expected, poll, remove_logs,
    require_restarts_allowed, row_count, run_producer_until_done, table,
};
use kingdee_mock::{Faults, MockConfig};

use super::vars;

/// Mock rows of the leader scenario (the 200,000; about 87,000 match the job's filter).
const ROWS: usize = 200_000;
const WORKERS: usize = 3;
const EVERY: Duration = Duration::from_millis(250);

/// A test's world on the cluster: the environment pointed at all three nodes, the rows it must
/// end with, and the settings file the binaries read.
struct ClusterRun {
    cluster: Cluster,
    env: TestEnv,
    want: BTreeMap<i64, Row>,
    config: PathBuf,
    started: Instant,
}

impl ClusterRun {
    async fn start(mock: MockConfig) -> Self {
        let _ = k3sync_tests::binary("worker");
        let cluster = Cluster::start();
        let mut env = TestEnv::with_mock(mock).await;
        env.settings.amqp.url = cluster.urls().into();
        // One stream, so that a pass takes as long as its pages (the mock's latency times their
        // number): with the default four partitions a CI machine finished the whole pass while
        // the leader was down, before the second failure. Partitioned passes through a
        // producer's death are `chaos::producer`'s.
        env.settings.kingdee.max_in_flight = 1;
        let want = expected(&env.mock_rows().await);
        let config = env.write_config();
        // Declared up front, so that the work queue's leader can be looked up.
        let connection = amqp::connect(&env.settings.amqp, "k3sync-test-cluster")
            .await
            .expect("a cluster node answers");
        amqp::declare(&connection, &env.topology())
            .await
            .expect("declare on the cluster");
        let _ = connection.close(200, "declared".into()).await;
        eprintln!("job {}: {} rows expected", env.job(), want.len());
        Self {
            cluster,
            env,
            want,
            config,
            started: Instant::now(),
        }
    }

    /// [`ClusterRun::start`] with a mock of `rows` whose pages each take `latency_ms` (so that a
    /// pass spans the failures a test causes); with the work queue's name and its leader's node.
    async fn with_slow_pages(rows: usize, latency_ms: u64) -> (Self, String, usize) {
        let run = Self::start(MockConfig {
            rows,
            faults: Faults {
                latency_ms,
                ..Faults::default()
            },
            ..MockConfig::default()
        })
        .await;
        let queue = run.env.topology().work_queue();
        let leader = run
            .cluster
            .wait_for_leader(&queue, &[1, 2, 3], Duration::from_secs(30))
            .await;
        (run, queue, leader)
    }

    /// The binaries' environment: every node, in `order`.
    fn vars(&self, order: &[usize]) -> Vec<(String, String)> {
        let urls: Vec<&str> = self.cluster.urls().split(',').collect();
        let ordered: Vec<&str> = order.iter().map(|n| urls[n - 1]).collect();
        vars(&[("K3SYNC__AMQP__URL", ordered.join(","))])
    }

    async fn written(&self) -> usize {
        row_count(&self.env.pool).await.unwrap_or(0)
    }

    /// Waits until more than `rows` rows are written; returns how long that took.
    async fn wait_past(&self, rows: usize, timeout: Duration) -> Duration {
        let started = Instant::now();
        poll(
            &format!("more than {rows} rows"),
            timeout,
            EVERY,
            || async { (self.written().await > rows).then_some(()) },
        )
        .await;
        started.elapsed()
    }

    /// Every expected row written, the work queue and the tiers empty, nothing dead-lettered.
    async fn wait_until_synced(&self, watch: &mut QueueWatch, timeout: Duration) {
        let rows = self.want.len();
        let started = Instant::now();
        while !(self.written().await >= rows && watch.backlog().await == Some(0)) {
            assert!(
                started.elapsed() < timeout,
                "timed out after {timeout:?}: {} of {rows} rows, backlog {:?}",
                self.written().await,
                watch.backlog().await
            );
            tokio::time::sleep(EVERY).await;
        }
    }

    async fn assert_exact(&self) {
        let got = table(&self.env.pool).await.expect("read the table");
        assert_same_table(&got, &self.want);
        let letters = drain_dead(&self.env).await;
        assert!(letters.is_empty(), "dead-lettered: {letters:#?}");
        let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM error_log WHERE job = ?")
            .bind(self.env.job())
            .fetch_one(&self.env.pool)
            .await
            .expect("error_log");
        assert_eq!(logged, 0, "nothing in error_log");
    }

    async fn finish(self) {
        eprintln!("scenario took {:?}", self.started.elapsed());
        remove_logs(&self.env);
        self.env.cleanup().await;
        drop(self.cluster);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs a three-node RabbitMQ cluster; run with --run-ignored only"]
async fn a_full_pass_through_the_cluster_survives_its_leader_stopping_and_another_node_dying() {
    require_restarts_allowed(
        "a_full_pass_through_the_cluster_survives_its_leader_stopping_and_another_node_dying",
    );
    // Slow pages (4 s a request, two requests in flight: about 90 s for the 45 pages of the
    // pass): the pass is still publishing, and the workers still writing, through every step
    // below. Restarting a node takes about 20 s of it; at 1.5 s a request the second failure
    // came with 434 of 88,493 rows left.
    let (run, queue, leader) = ClusterRun::with_slow_pages(ROWS, 4_000).await;
    let env_vars = run.vars(&[1, 2, 3]);
    let workers = Workers::start(&run.env, &run.config, WORKERS, &env_vars);
    let mut watch = QueueWatch::new(&run.env);
    let total = run.want.len();
    let chaos = async {
        run.wait_past(total / 10, Duration::from_secs(120)).await;
        eprintln!(
            "stopping node {leader}, the leader of {queue}, at {} rows",
            run.written().await
        );
        run.cluster.stop_node(leader);
        // The time from the leader's death to the first record written after it.
        let first_write = run
            .wait_past(run.written().await, Duration::from_secs(60))
            .await;
        run.wait_past(total * 4 / 10, Duration::from_secs(180))
            .await;
        run.cluster.start_node(leader);
        eprintln!(
            "node {leader} started again at {} rows",
            run.written().await
        );
        let others: Vec<usize> = (1..=3).filter(|n| *n != leader).collect();
        let new_leader = run
            .cluster
            .wait_for_leader(&queue, &others, Duration::from_secs(30))
            .await;
        run.wait_past(total * 6 / 10, Duration::from_secs(180))
            .await;
        let written = run.written().await;
        assert!(
            written < total,
            "the pass ended ({written} of {total} rows) before the second failure: slow the mock"
        );
        // Another node than the one restarted: the new leader, so that the leader moves twice.
        let victim = if new_leader != leader {
            new_leader
        } else {
            others[0]
        };
        eprintln!(
            "killing node {victim} (leader: node {new_leader}) at {} rows",
            run.written().await
        );
        run.cluster.kill_node(victim);
        let after_kill = run
            .wait_past(run.written().await, Duration::from_secs(60))
            .await;
        (first_write, after_kill, victim)
    };
    let producing =
        run_producer_until_done(&run.env, &run.config, &env_vars, Duration::from_secs(600));
    let (producer, (first_write, after_kill, victim)) = tokio::join!(producing, chaos);
    eprintln!(
        "producer: {producer:?}; first record written {first_write:?} after the leader stopped, \
         {after_kill:?} after the kill"
    );
    run.wait_until_synced(&mut watch, Duration::from_secs(300))
        .await;
    workers.stop().await;
    // Back, so the dead queue (a classic queue, on the node that declared it) can be read.
    run.cluster.start_node(victim);
    run.assert_exact().await;
    watch.close().await;
    run.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "runs a three-node RabbitMQ cluster; run with --run-ignored only"]
async fn a_producer_whose_cluster_node_dies_mid_pass_moves_to_another_and_loses_no_page() {
    require_restarts_allowed(
        "a_producer_whose_cluster_node_dies_mid_pass_moves_to_another_and_loses_no_page",
    );
    // Slow pages: the pass is still publishing when its node dies.
    let (run, _, leader) = ClusterRun::with_slow_pages(40_000, 1_000).await;
    // The producer connects to the leader's node first: its death takes the connection and the
    // confirms of the page in flight.
    let mut order = vec![leader];
    order.extend((1..=3).filter(|n| *n != leader));
    let env_vars = run.vars(&order);
    let mut watch = QueueWatch::new(&run.env);
    let chaos = async {
        let started = Instant::now();
        while watch.backlog().await.unwrap_or(0) < 20 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the pass published nothing"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        eprintln!("killing node {leader}, the producer's and the work queue's leader");
        run.cluster.kill_node(leader);
    };
    let producing =
        run_producer_until_done(&run.env, &run.config, &env_vars, Duration::from_secs(300));
    let (producer, ()) = tokio::join!(producing, chaos);
    eprintln!("producer: {producer:?}");
    assert!(
        producer.attempts >= 2,
        "the node died mid-pass, so the first pass failed: {producer:?}"
    );
    let workers = Workers::start(&run.env, &run.config, 2, &env_vars);
    run.wait_until_synced(&mut watch, Duration::from_secs(180))
        .await;
    workers.stop().await;
    // Back, so the dead queue (a classic queue, on the node that declared it) can be read.
    run.cluster.start_node(leader);
    run.assert_exact().await;
    watch.close().await;
    run.finish().await;
}

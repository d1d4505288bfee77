//! Chaos: full syncs of 100,000 rows through the real binaries while workers are killed, the
//! broker and the database go away, Kingdee misbehaves and the producer dies; each ends with the
//! table exactly as Kingdee's rows say and nothing in the dead queue but the poison we put there.
//! The scenarios that restart a shared server are named `…_restart_…`, are `#[ignore]`d (the main
//! suite reports them as skipped) and refuse to run without `K3SYNC_CHAOS_RESTARTS=1`; CI runs
//! them apart, one at a time: `--run-ignored only -j 1 -E 'test(/_restart_/)'`.
//! Each binary logs to `$TMPDIR/k3sync-<id>/`; `K3SYNC_CHAOS_LOG` sets their `RUST_LOG`.

mod broker;
mod cluster;
mod kingdee;
mod mysql;
mod producer;
mod workers;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use k3sync_tests::TestEnv;
use k3sync_tests::chaos::{
    Poison, QueueWatch, Row, assert_same_table, drain_dead, expected, poll, publish_raw,
    remove_logs, row_count, table,
};

/// Mock rows of every scenario: 230,000 give about 100,000 that match the job's filter (the issue
/// asks for a sync of at least 100,000).
const ROWS: usize = 230_000;
/// Retry tiers of the chaos runs: the default 5 s / 30 s / 300 s would outlast a test, while
/// the path through the tiers stays the same.
const TIER_SECS: [u64; 3] = [2, 5, 20];
/// How often the end conditions are polled.
const EVERY: Duration = Duration::from_millis(250);

/// One chaos scenario's world: the environment, the table it must end with, the poison.
struct ChaosRun {
    env: TestEnv,
    want: BTreeMap<i64, Row>,
    poison: Poison,
    config: PathBuf,
    watch: QueueWatch,
    started: Instant,
}

impl ChaosRun {
    async fn start() -> Self {
        // The harness builds the binaries on first use; not part of the scenario's time.
        let _ = k3sync_tests::binary("worker");
        let started = Instant::now();
        let mut env = TestEnv::start(ROWS).await;
        // The test's own declares must match the binaries' queue arguments.
        env.settings.amqp.retry_tiers_secs = TIER_SECS.to_vec();
        let mut want = expected(&env.mock_rows().await);
        let poison = Poison::new(env.job());
        want.extend(poison.good.clone());
        assert!(want.len() >= 100_000, "only {} rows to sync", want.len());
        let config = env.write_config();
        let text = std::fs::read_to_string(&config).expect("test config");
        assert!(text.contains("retry_tiers_secs = [5, 30, 300]"), "{text}");
        let tiers = format!("retry_tiers_secs = {TIER_SECS:?}");
        let text = text.replace("retry_tiers_secs = [5, 30, 300]", &tiers);
        std::fs::write(&config, text).expect("test config");
        let watch = QueueWatch::new(&env);
        eprintln!(
            "job {}: {} rows expected; mock and database ready after {:?}",
            env.job(),
            want.len(),
            started.elapsed()
        );
        Self {
            env,
            want,
            poison,
            config,
            watch,
            started: Instant::now(),
        }
    }

    /// Publishes the poison (and its good neighbours) straight to the work queue.
    async fn publish_poison(&self) {
        publish_raw(&self.env, self.poison.bodies.clone()).await;
    }

    /// Rows in the table now (0 while MySQL does not answer).
    async fn written(&self) -> usize {
        row_count(&self.env.pool).await.unwrap_or(0)
    }

    /// Waits until at least `rows` rows are written: the run is under way.
    async fn wait_for_rows(&self, rows: usize, timeout: Duration) {
        poll(&format!("{rows} rows written"), timeout, EVERY, || async {
            (self.written().await >= rows).then_some(())
        })
        .await;
    }

    /// Whether every expected row is in the table.
    async fn complete(&self) -> bool {
        self.written().await >= self.want.len()
    }

    /// Waits until every row is written, the work queue and the retry tiers are empty and the
    /// poison has reached the dead queue.
    async fn wait_until_synced(&mut self, timeout: Duration) {
        let (rows, letters) = (self.want.len(), self.poison.dead.len() as u32);
        let what = format!("{rows} rows, empty queues and {letters} dead letters");
        let started = Instant::now();
        loop {
            if self.written().await >= rows
                && self.watch.backlog().await == Some(0)
                && self.watch.dead().await.is_some_and(|n| n >= letters)
            {
                break;
            }
            assert!(
                started.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what}: {} rows, backlog {:?}, dead {:?}",
                self.written().await,
                self.watch.backlog().await,
                self.watch.dead().await
            );
            tokio::time::sleep(EVERY).await;
        }
        eprintln!(
            "{} synced, {:?} after the start",
            chrono::Utc::now().format("%H:%M:%S%.3f"),
            self.started.elapsed()
        );
    }

    /// The table holds exactly the expected rows; the dead queue and `error_log` hold exactly the
    /// poisoned records, with their class and reason, each letter once — or, with
    /// [`Letters::AtLeastOnce`], possibly twice, where a worker died or lost the broker between
    /// publishing a dead letter and acking its delivery (the same letter, never another one).
    async fn assert_exact(&self, repeats: Letters) {
        let got = table(&self.env.pool).await.expect("read the table");
        assert_same_table(&got, &self.want);

        let letters = drain_dead(&self.env).await;
        let want: BTreeSet<(String, i64)> = self
            .poison
            .dead
            .iter()
            .map(|d| (d.class.to_owned(), d.key))
            .collect();
        let seen: BTreeSet<(String, i64)> = letters
            .iter()
            .map(|l| (l.class.clone(), l.key.unwrap_or(-1)))
            .collect();
        assert_eq!(seen, want, "dead letters: {letters:#?}");
        for letter in &letters {
            let case = self
                .poison
                .dead
                .iter()
                .find(|d| Some(d.key) == letter.key)
                .expect("a poison case");
            assert!(
                letter.error.contains(case.error_contains),
                "letter for {} says `{}`, want `{}`",
                case.key,
                letter.error,
                case.error_contains
            );
        }
        if letters.len() > want.len() {
            eprintln!(
                "{} dead letters for {} poisoned records (redelivered poison)",
                letters.len(),
                want.len()
            );
            assert_eq!(
                repeats,
                Letters::AtLeastOnce,
                "no process died and the broker stayed, yet a record was dead-lettered twice: \
                 {letters:#?}"
            );
        }

        let logged: Vec<(String, Option<i64>)> =
            sqlx::query_as("SELECT class, record_key FROM error_log WHERE job = ?")
                .bind(self.env.job())
                .fetch_all(&self.env.pool)
                .await
                .expect("error_log");
        let logged: BTreeSet<(String, i64)> = logged
            .into_iter()
            .map(|(class, key)| (class, key.unwrap_or(-1)))
            .collect();
        assert_eq!(logged, want, "error_log holds the same facts");
    }

    async fn finish(self) {
        eprintln!("scenario took {:?} after the start", self.started.elapsed());
        remove_logs(&self.env);
        self.watch.close().await;
        self.env.cleanup().await;
    }
}

/// Whether a scenario may dead-letter a poisoned record more than once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Letters {
    /// Nothing died between a dead letter's publish and its delivery's ack.
    ExactlyOnce,
    /// A worker was killed or lost the broker: at-least-once delivery may repeat a letter.
    AtLeastOnce,
}

/// `(name, value)` pairs of environment overrides for the binaries.
/// The producer's environment for a scenario whose chaos must outlast the pass: one stream
/// (`max_in_flight` 1), so the pass takes as long as its pages at the mock's latency. With the
/// default four partitions a quiet machine read the 100,000 rows in about 4 s, before the chaos
/// had done its minimum.
fn one_stream() -> Vec<(String, String)> {
    vars(&[("K3SYNC__KINGDEE__MAX_IN_FLIGHT", "1".to_owned())])
}

fn vars(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

//! Leave and upsert messages, hand-built and published to the work queue, through in-process
//! workers. Each step waits until the workers have settled every record it sent (written, leaves
//! included, or dead-lettered, by their counters, which move only once a batch's writes are done).

use std::time::Duration;

use k3sync_common::amqp::Envelope;
use k3sync_common::settings::{LeaveMode, Settings};
use k3sync_common::telemetry::series;
use k3sync_tests::chaos::{drain_dead, publish_raw};
use k3sync_tests::envelopes::envelope_of;
use k3sync_tests::metrics::series_sum;
use k3sync_tests::{InProcessWorker, TestEnv, wait_for};
use serde_json::json;

use super::{State, converging, material_at, rows, seen, tombstones};

/// A message for the work queue and the records it carries.
struct Message {
    body: Vec<u8>,
    records: usize,
}

/// A test's job, its workers, and how many records they have settled so far.
struct Run {
    env: TestEnv,
    workers: Vec<InProcessWorker>,
    settled: usize,
}

impl Run {
    async fn start(settings: impl FnOnce(&TestEnv) -> Settings, workers: usize) -> Self {
        let env = TestEnv::start(0).await;
        // The counters the steps wait on.
        k3sync_common::health::install_metrics();
        let settings = settings(&env);
        let workers = (0..workers)
            .map(|_| InProcessWorker::start(&env, &settings))
            .collect();
        Self {
            env,
            workers,
            settled: 0,
        }
    }

    /// The material `key` as read at `stamp`.
    fn upsert(&self, key: i64, stamp: i64) -> Message {
        let envelope = envelope_of(self.env.job(), vec![material_at(key, stamp)]).seen_at(stamp);
        Message {
            body: envelope.to_json(),
            records: 1,
        }
    }

    /// The rows of `keys` leave, as of `stamp`.
    fn leave(&self, keys: &[i64], stamp: i64) -> Message {
        let envelope = Envelope::leave(
            self.env.job(),
            "BD_MATERIAL",
            uuid::Uuid::new_v4(),
            stamp,
            keys,
        );
        Message {
            body: envelope.to_json(),
            records: keys.len(),
        }
    }

    /// Publishes `messages` and waits until the workers have settled their records.
    async fn send(&mut self, messages: &[Message]) {
        self.settled += messages.iter().map(|m| m.records).sum::<usize>();
        publish_raw(&self.env, messages.iter().map(|m| m.body.clone()).collect()).await;
        let label = format!("sync_job=\"{}\"", self.env.job());
        let want = self.settled as f64;
        wait_for(
            &format!("{want} records settled"),
            Duration::from_secs(120),
            || async {
                let text = k3sync_common::health::install_metrics().render();
                let settled: f64 = [series::RECORDS_WRITTEN, series::RECORDS_DEAD_LETTERED]
                    .iter()
                    .map(|name| series_sum(&text, name, &[&label]))
                    .sum();
                (settled >= want).then_some(())
            },
        )
        .await;
    }

    fn left_total(&self) -> f64 {
        let label = format!("sync_job=\"{}\"", self.env.job());
        let text = k3sync_common::health::install_metrics().render();
        series_sum(&text, series::RECORDS_LEFT, &[&label])
    }

    async fn stop(self) -> TestEnv {
        for worker in self.workers {
            worker.stop().await;
        }
        self.env
    }
}

/// Keys 1 and 2 leave at 20 and have an upsert of 10, in either order; key 3 leaves while absent
/// and comes at 30; key 4 is written at 10, leaves at 20 and comes back at 30. Then everything is
/// sent again.
async fn either_order(mode: LeaveMode) {
    let mut run = Run::start(|env| converging(&env.settings, mode), 1).await;
    let job = run.env.job().to_owned();
    let pool = run.env.pool.clone();
    let mut text_key = material_at(5, 10);
    text_key.record.insert("FMasterId".into(), json!("M-5"));
    let refused = Message {
        body: envelope_of(&job, vec![text_key]).seen_at(10).to_json(),
        records: 1,
    };

    let first = [run.leave(&[1, 3], 20), run.upsert(2, 10), run.upsert(4, 10)];
    run.send(&first).await;
    run.send(&[refused]).await;
    assert_eq!(tombstones(&pool, &job).await, vec![(1, 20), (3, 20)]);
    assert_eq!(
        seen(&pool).await,
        vec![
            State::expected(2, 10, 10, false),
            State::expected(4, 10, 10, false)
        ]
    );

    let second = [run.upsert(1, 10), run.leave(&[2, 4], 20)];
    run.send(&second).await;
    let third = [run.upsert(3, 30), run.upsert(4, 30)];
    run.send(&third).await;
    let want = match mode {
        LeaveMode::Mark => vec![
            State::expected(1, 10, 20, true),
            State::expected(2, 10, 20, true),
            State::expected(3, 30, 30, false),
            State::expected(4, 30, 30, false),
        ],
        LeaveMode::Delete => vec![
            State::expected(3, 30, 30, false),
            State::expected(4, 30, 30, false),
        ],
    };
    assert_eq!(seen(&pool).await, want);
    let all_left = vec![(1, 20), (2, 20), (3, 20), (4, 20)];
    assert_eq!(tombstones(&pool, &job).await, all_left);
    assert_eq!(run.left_total(), 4.0);

    // Every message again, all at once: nothing moves, not even the time a row was marked.
    let before = rows(&pool).await;
    let replay: Vec<Message> = first
        .iter()
        .chain(&second)
        .chain(&third)
        .map(|m| Message {
            body: m.body.clone(),
            records: m.records,
        })
        .collect();
    run.send(&replay).await;
    assert_eq!(rows(&pool).await, before);
    assert_eq!(tombstones(&pool, &job).await, all_left);
    assert_eq!(run.left_total(), 8.0);

    let env = run.stop().await;
    let letters = drain_dead(&env).await;
    assert_eq!(letters.len(), 1, "{letters:#?}");
    assert_eq!(letters[0].class, "data");
    assert_eq!(letters[0].key, Some(5));
    assert_eq!(
        letters[0].error,
        "converging jobs need an integer target key; `data_id` is M-5"
    );
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_mode_a_leave_and_an_upsert_of_one_key_end_in_the_newer_state_in_either_order() {
    either_order(LeaveMode::Mark).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_mode_a_leave_and_an_upsert_of_one_key_end_in_the_newer_state_in_either_order() {
    either_order(LeaveMode::Delete).await;
}

/// 200 keys, each with two or three events sent at once to two workers taking small batches, so
/// that either worker may write any event of a key before or after the others:
/// `k % 4` 0: upsert 10, leave 20; 1: leave 20, upsert 10; 2: upsert 10, leave 20, upsert 30;
/// 3: leave 20, upsert 30, upsert 10. Keys 0 and 1 end left, 2 and 3 present at 30.
async fn two_workers(mode: LeaveMode) {
    let mut run = Run::start(
        |env| {
            let mut settings = converging(&env.settings, mode);
            settings.worker.batch_size = 20;
            // Messages of one record: a prefetch of three batches' worth (60), not of three.
            settings.amqp.records_per_message = 1;
            settings
        },
        2,
    )
    .await;
    let keys: Vec<i64> = (1..=200).collect();
    let events = |key: i64| -> &'static [i64] {
        // An upsert is its stamp; a leave is -20.
        match key % 4 {
            0 => &[10, -20],
            1 => &[-20, 10],
            2 => &[10, -20, 30],
            _ => &[-20, 30, 10],
        }
    };
    let mut messages = Vec::new();
    for round in 0..3 {
        let mut leaving = Vec::new();
        for &key in &keys {
            match events(key).get(round) {
                Some(-20) => leaving.push(key),
                Some(&stamp) => messages.push(run.upsert(key, stamp)),
                None => {}
            }
        }
        messages.extend(leaving.chunks(10).map(|chunk| run.leave(chunk, 20)));
    }
    run.send(&messages).await;

    let want: Vec<_> = keys
        .iter()
        .filter_map(|&key| match (key % 4, mode) {
            (0 | 1, LeaveMode::Mark) => Some(State::expected(key, 10, 20, true)),
            (0 | 1, LeaveMode::Delete) => None,
            _ => Some(State::expected(key, 30, 30, false)),
        })
        .collect();
    let pool = run.env.pool.clone();
    let job = run.env.job().to_owned();
    assert_eq!(seen(&pool).await, want);
    let all_left: Vec<(i64, i64)> = keys.iter().map(|&k| (k, 20)).collect();
    assert_eq!(tombstones(&pool, &job).await, all_left);
    assert_eq!(run.left_total(), 200.0);
    let label = format!("sync_job=\"{}\"", run.env.job());
    let text = k3sync_common::health::install_metrics().render();
    assert_eq!(
        series_sum(&text, series::WRITE_RETRIES, &[&label]),
        0.0,
        "leaves, upserts and their post-fixes on the same keys did not deadlock"
    );
    let env = run.stop().await;
    assert!(drain_dead(&env).await.is_empty());
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_mode_two_workers_end_in_the_newest_state_of_every_key() {
    two_workers(LeaveMode::Mark).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_mode_two_workers_end_in_the_newest_state_of_every_key() {
    two_workers(LeaveMode::Delete).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leave_for_a_job_that_does_not_converge_is_dead_lettered_and_its_batch_commits() {
    let without_leave = |env: &TestEnv| {
        let mut settings = env.settings.clone();
        settings.jobs[0].leave = None;
        settings.jobs[0].reconcile_secs = 0;
        settings
    };
    let mut run = Run::start(without_leave, 1).await;
    let messages = [run.leave(&[7], 20), run.upsert(8, 10)];
    run.send(&messages).await;
    assert_eq!(
        seen(&run.env.pool).await,
        vec![State::expected(8, 10, 0, false)]
    );
    let env = run.stop().await;
    let letters = drain_dead(&env).await;
    assert_eq!(letters.len(), 1, "{letters:#?}");
    assert_eq!(letters[0].class, "data");
    assert_eq!(
        letters[0].error,
        "a leave message for a job without [jobs.leave]: its rows cannot leave"
    );
    assert!(tombstones(&env.pool, env.job()).await.is_empty());
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stops_at_start_naming_the_leave_setting_whose_column_is_missing() {
    let env = TestEnv::start(0).await;
    let mut settings = converging(&env.settings, LeaveMode::Mark);
    let check = |settings: Settings| {
        let (job, pool) = (env.job().to_owned(), env.pool.clone());
        async move {
            match k3sync_worker::prepare(&settings, &job, pool).await {
                Ok(_) => panic!("the worker started"),
                Err(error) => format!("{error:#}"),
            }
        }
    };
    if let Some(leave) = settings.jobs[0].leave.as_mut() {
        leave.stamp_column = "stamped".into();
    }
    assert_eq!(
        check(settings.clone()).await,
        "jobs[0].leave.stamp_column: column `stamped` is not in table `wk_wodtop_product`"
    );
    if let Some(leave) = settings.jobs[0].leave.as_mut() {
        leave.stamp_column = "sync_stamp".into();
        leave.mark_column = "name".into();
    }
    assert_eq!(
        check(settings).await,
        "jobs[0].leave.mark_column: column `name` is also mapped; k3sync writes it itself, \
         remove it from the mapping"
    );
    env.cleanup().await;
}

//! The sink's leave statements on the real MariaDB, called directly: a leave keeps the newest
//! stamp of its key and deletes or marks the row only when the row is not newer; a mark keeps the
//! time the row first left; an upsert older than the tombstone (or as old: a leave wins a tie) is
//! taken back as it is written; a newer one brings the row back.

use std::sync::Arc;

use k3sync_common::mapping::{CompiledMapping, MappingSpec};
use k3sync_common::settings::LeaveMode;
use k3sync_common::sink::{Leave, MappedRow, MySqlSink};
use k3sync_tests::TestEnv;

use super::{State, converging, material_at, rows, seen, tombstones};

/// The demo job's sink, converging in `mode`.
fn sink(env: &TestEnv, mode: LeaveMode) -> MySqlSink {
    let settings = converging(&env.settings, mode);
    let job = &settings.jobs[0];
    let spec = MappingSpec::from_target(&job.target).expect("demo mapping");
    let mapping = CompiledMapping::compile(&spec).expect("demo mapping compiles");
    let leave = job.leave.as_ref().expect("converging");
    MySqlSink::new(env.pool.clone(), Arc::new(mapping))
        .converging(&job.name, leave)
        .expect("demo table converges")
}

/// The material `key` as read at `stamp`, as the worker hands it to the sink.
fn row(sink: &MySqlSink, key: i64, stamp: i64) -> MappedRow {
    let mapped = sink
        .mapping()
        .apply(&material_at(key, stamp).record)
        .expect("material maps");
    sink.prepare(mapped, stamp).expect("integer key")
}

async fn upsert(sink: &MySqlSink, key: i64, stamp: i64) {
    let failures = sink
        .write_isolating(&[row(sink, key, stamp)])
        .await
        .expect("no transient error");
    assert!(failures.is_empty(), "{failures:?}");
}

async fn leave(sink: &MySqlSink, leaves: &[(i64, i64)]) {
    let leaves: Vec<Leave> = leaves
        .iter()
        .map(|&(key, stamp)| Leave { key, stamp })
        .collect();
    sink.write_leaves(&leaves).await.expect("leaves written");
}

/// The `left_at` of `key`.
async fn marked_at(env: &TestEnv, key: i64) -> Option<String> {
    rows(&env.pool)
        .await
        .into_iter()
        .find(|r| r.key == key)
        .and_then(|r| r.left_at)
}

async fn leaves_rows_not_newer_than_their_tombstone(mode: LeaveMode) {
    let env = TestEnv::start(0).await;
    let sink = sink(&env, mode);
    let job = env.job().to_owned();
    let marks = mode == LeaveMode::Mark;
    // In delete mode a left row is gone; in mark mode it stays, marked.
    let left = |key, values, stamp| marks.then(|| State::expected(key, values, stamp, true));
    let present = |key, values, stamp| Some(State::expected(key, values, stamp, false));
    let table = |expected: Vec<Option<_>>| expected.into_iter().flatten().collect::<Vec<_>>();

    upsert(&sink, 1, 10).await;
    upsert(&sink, 2, 30).await;
    // 1 is older than its leave, 2 newer, 3 absent (only its tombstone is kept).
    leave(&sink, &[(3, 20), (2, 20), (1, 20)]).await;
    assert_eq!(
        seen(&env.pool).await,
        table(vec![left(1, 10, 20), present(2, 30, 30)])
    );
    assert_eq!(
        tombstones(&env.pool, &job).await,
        vec![(1, 20), (2, 20), (3, 20)]
    );

    // A later leave moves the stamp of a marked row, not its mark; an older one changes nothing.
    let first_mark = marked_at(&env, 1).await;
    assert_eq!(first_mark.is_some(), marks);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    leave(&sink, &[(1, 25), (1, 22)]).await;
    leave(&sink, &[(1, 21)]).await;
    assert_eq!(tombstones(&env.pool, &job).await[0], (1, 25));
    assert_eq!(
        seen(&env.pool).await,
        table(vec![left(1, 10, 25), present(2, 30, 30)])
    );
    assert_eq!(marked_at(&env, 1).await, first_mark);

    // An upsert older than the tombstone is taken back as it is written; so is one as old.
    upsert(&sink, 3, 15).await;
    assert_eq!(
        seen(&env.pool).await,
        table(vec![left(1, 10, 25), present(2, 30, 30), left(3, 15, 20)])
    );
    upsert(&sink, 3, 20).await;
    assert_eq!(
        seen(&env.pool).await,
        table(vec![left(1, 10, 25), present(2, 30, 30), left(3, 20, 20)])
    );
    // A newer one brings the row back; an older one than the row changes nothing.
    upsert(&sink, 1, 40).await;
    upsert(&sink, 2, 20).await;
    assert_eq!(
        seen(&env.pool).await,
        table(vec![
            present(1, 40, 40),
            present(2, 30, 30),
            left(3, 20, 20)
        ])
    );
    assert_eq!(
        tombstones(&env.pool, &job).await,
        vec![(1, 25), (2, 20), (3, 20)]
    );
    // Leaves are not upserts: the six upserts alone are counted, a statement each.
    assert_eq!(sink.stats().statements, 6);
    env.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mark_mode_the_sink_marks_rows_not_newer_than_their_tombstone_once() {
    leaves_rows_not_newer_than_their_tombstone(LeaveMode::Mark).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_mode_the_sink_deletes_rows_not_newer_than_their_tombstone() {
    leaves_rows_not_newer_than_their_tombstone(LeaveMode::Delete).await;
}

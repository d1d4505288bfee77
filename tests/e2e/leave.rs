//! Convergence (DESIGN §12) in the worker and the sink, against the real broker and database: a
//! leave and an upsert of one key end in the newer state whichever is written first, in delete
//! mode and in mark mode, with one worker or two; replays change nothing; the sink's leave
//! statements do exactly what they say. States are stamped by hand (10, 20, 30: as the producer
//! would have read them), so every expected row is known exactly.

mod sink;
mod worker;

use k3sync_common::settings::{LeaveMode, LeaveSettings, Settings};
use k3sync_tests::chaos::material;
use k3sync_tests::envelopes::EnvelopeRecord;
use serde_json::json;
use sqlx::MySqlPool;

/// The demo job converging in `mode` on the demo table's `left_at` and `sync_stamp`.
fn converging(settings: &Settings, mode: LeaveMode) -> Settings {
    let mut settings = settings.clone();
    settings.jobs[0].leave = Some(LeaveSettings {
        mode,
        mark_column: "left_at".into(),
        stamp_column: "sync_stamp".into(),
    });
    settings
}

/// The material `key` as read at `stamp`: its name and modification time tell the state apart.
fn material_at(key: i64, stamp: i64) -> EnvelopeRecord {
    material(
        key,
        &format!("M{key}"),
        json!(name(key, stamp)),
        &format!("2024-05-01T10:{:02}:{:02}.000", stamp / 60, stamp % 60),
    )
}

fn name(key: i64, stamp: i64) -> String {
    format!("物料{key}@{stamp}")
}

/// A row as the assertions compare it: key, name, `modify_date`, `sync_stamp`, marked or not.
type Seen = (i64, String, String, i64, bool);

/// A row as the assertions read it: key, name, `modify_date`, `sync_stamp`, `left_at`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct State {
    key: i64,
    name: String,
    modified: Option<String>,
    stamp: i64,
    left_at: Option<String>,
}

impl State {
    /// The row of `key` holding the values read at `values`, stamped `stamp`, marked or not
    /// (the mark's time is not known in advance: only whether there is one).
    fn expected(key: i64, values: i64, stamp: i64, marked: bool) -> Seen {
        (
            key,
            name(key, values),
            format!("2024-05-01 10:{:02}:{:02}.000000", values / 60, values % 60),
            stamp,
            marked,
        )
    }

    fn seen(&self) -> Seen {
        (
            self.key,
            self.name.clone(),
            self.modified.clone().unwrap_or_default(),
            self.stamp,
            self.left_at.is_some(),
        )
    }
}

/// Every row of the demo table, by key.
async fn rows(pool: &MySqlPool) -> Vec<State> {
    sqlx::query_as(
        "SELECT data_id AS `key`, name, \
         DATE_FORMAT(modify_date, '%Y-%m-%d %H:%i:%s.%f') AS modified, sync_stamp AS stamp, \
         DATE_FORMAT(left_at, '%Y-%m-%d %H:%i:%s.%f') AS left_at \
         FROM wk_wodtop_product ORDER BY data_id",
    )
    .fetch_all(pool)
    .await
    .expect("read the demo table")
}

/// The rows as [`State::expected`] gives them.
async fn seen(pool: &MySqlPool) -> Vec<Seen> {
    rows(pool).await.iter().map(State::seen).collect()
}

/// The job's tombstones: (target key, stamp), by key.
async fn tombstones(pool: &MySqlPool, job: &str) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT target_key, stamp FROM sync_tombstones WHERE job = ? ORDER BY target_key",
    )
    .bind(job)
    .fetch_all(pool)
    .await
    .expect("read sync_tombstones")
}

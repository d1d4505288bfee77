//! The dead letters' twin rows in MySQL `error_log`: marked `replayed_at` or `purged_at` when
//! ctl deals with a letter, and read back as a letter's failure history by `dlq show`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::MySqlPool;

use super::letter::Letter;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Replayed,
    Purged,
}

/// Marks one unresolved `error_log` row per letter (the oldest with the letter's message id):
/// a record that failed twice has two rows and two letters, each resolved on its own.
pub async fn mark(
    pool: &MySqlPool,
    job: &str,
    letters: &[Letter],
    resolution: Resolution,
) -> Result<u64, sqlx::Error> {
    let sql = match resolution {
        Resolution::Replayed => {
            "UPDATE error_log SET replayed_at = CURRENT_TIMESTAMP(3) \
             WHERE job = ? AND message_id = ? AND replayed_at IS NULL AND purged_at IS NULL \
             ORDER BY id LIMIT 1"
        }
        Resolution::Purged => {
            "UPDATE error_log SET purged_at = CURRENT_TIMESTAMP(3) \
             WHERE job = ? AND message_id = ? AND replayed_at IS NULL AND purged_at IS NULL \
             ORDER BY id LIMIT 1"
        }
    };
    let mut tx = pool.begin().await?;
    let mut marked = 0;
    for id in letters.iter().filter_map(|l| l.id.as_deref()) {
        marked += sqlx::query(sql)
            .bind(job)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(marked)
}

/// One recorded failure of a message.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub job: String,
    pub class: String,
    pub error: String,
    pub attempt: i64,
    pub worker: Option<String>,
    pub at: Option<DateTime<Utc>>,
    pub replayed_at: Option<DateTime<Utc>>,
    pub purged_at: Option<DateTime<Utc>>,
}

/// Every recorded failure of `message_id`, oldest first.
pub async fn history(pool: &MySqlPool, message_id: &str) -> Result<Vec<Failure>, sqlx::Error> {
    type Row = (
        String,
        String,
        String,
        i32,
        Option<String>,
        Option<i64>,
        Option<i64>,
        Option<i64>,
    );
    // Times as epoch milliseconds: UNIX_TIMESTAMP reads them in the session's zone, the zone
    // CURRENT_TIMESTAMP wrote them in, so they come out as true UTC instants.
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT job, class, error, attempt, worker, \
         CAST(UNIX_TIMESTAMP(created_at) * 1000 AS SIGNED), \
         CAST(UNIX_TIMESTAMP(replayed_at) * 1000 AS SIGNED), \
         CAST(UNIX_TIMESTAMP(purged_at) * 1000 AS SIGNED) \
         FROM error_log WHERE message_id = ? ORDER BY id",
    )
    .bind(message_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(job, class, error, attempt, worker, at, replayed, purged)| Failure {
                job,
                class,
                error,
                attempt: attempt.into(),
                worker,
                at: at.and_then(DateTime::from_timestamp_millis),
                replayed_at: replayed.and_then(DateTime::from_timestamp_millis),
                purged_at: purged.and_then(DateTime::from_timestamp_millis),
            },
        )
        .collect())
}

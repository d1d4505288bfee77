//! `error_log`, the table that records every dead letter next to the queue that holds it: the
//! worker inserts a row per letter once the letter is confirmed; ctl marks rows replayed or
//! purged, shows a letter's history and counts what is unresolved. All of its SQL lives here.
//!
//! Rows are bounded: the payload column keeps at most [`PAYLOAD_CAP`] bytes of the letter's body
//! (cut on a character boundary), with the body's full size and SHA-256. The dead letter in
//! RabbitMQ keeps the whole body, so nothing is lost, and a 40 MB record cannot make its own
//! `error_log` row too large to insert.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::MySqlPool;

use super::DeadLetter;

/// Bytes of a letter's body stored in `error_log.payload`.
pub const PAYLOAD_CAP: usize = 64 * 1024;

/// What an operator did with a dead letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Replayed,
    Purged,
}

/// One row per letter, in one transaction.
pub async fn insert(
    pool: &MySqlPool,
    job: &str,
    worker: &str,
    letters: &[DeadLetter],
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    for l in letters {
        sqlx::query(
            "INSERT INTO error_log (message_id, job, record_key, class, error, payload, \
             payload_bytes, payload_sha256, attempt, worker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&l.message_id)
        .bind(job)
        .bind(l.key)
        .bind(l.class.as_str())
        .bind(excerpt(&l.error, PAYLOAD_CAP))
        .bind(excerpt(&String::from_utf8_lossy(&l.body), PAYLOAD_CAP))
        .bind(l.body.len() as u64)
        .bind(sha256_hex(&l.body))
        .bind(l.headers.attempt)
        .bind(worker)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// At most `cap` bytes of `text`, cut on a character boundary.
pub fn excerpt(text: &str, cap: usize) -> &str {
    &text[..text.floor_char_boundary(cap)]
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Marks the oldest open row of each message id; returns how many were marked.
pub async fn mark<'a>(
    pool: &MySqlPool,
    job: &str,
    message_ids: impl IntoIterator<Item = &'a str>,
    resolution: Resolution,
) -> Result<u64, sqlx::Error> {
    let column = match resolution {
        Resolution::Replayed => "replayed_at",
        Resolution::Purged => "purged_at",
    };
    let sql = format!(
        "UPDATE error_log SET {column} = CURRENT_TIMESTAMP(3) \
         WHERE job = ? AND message_id = ? AND replayed_at IS NULL AND purged_at IS NULL \
         ORDER BY id LIMIT 1"
    );
    let mut tx = pool.begin().await?;
    let mut marked = 0;
    for id in message_ids {
        marked += sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
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
    /// The letter's full size in bytes (the stored payload may be an excerpt).
    pub payload_bytes: Option<i64>,
    pub at: Option<DateTime<Utc>>,
    pub replayed_at: Option<DateTime<Utc>>,
    pub purged_at: Option<DateTime<Utc>>,
}

/// Every row of `message_id`, oldest first.
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
        Option<i64>,
    );
    // Times as epoch milliseconds: UNIX_TIMESTAMP reads them in the session's zone, the zone
    // CURRENT_TIMESTAMP wrote them in, so they come out as true UTC instants.
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT job, class, error, attempt, worker, payload_bytes, \
         CAST(UNIX_TIMESTAMP(created_at) * 1000 AS SIGNED), \
         CAST(UNIX_TIMESTAMP(replayed_at) * 1000 AS SIGNED), \
         CAST(UNIX_TIMESTAMP(purged_at) * 1000 AS SIGNED) \
         FROM error_log WHERE message_id = ? ORDER BY id",
    )
    .bind(message_id)
    .fetch_all(pool)
    .await?;
    let millis = |t: Option<i64>| t.and_then(DateTime::from_timestamp_millis);
    Ok(rows
        .into_iter()
        .map(
            |(job, class, error, attempt, worker, payload_bytes, at, replayed, purged)| Failure {
                job,
                class,
                error,
                attempt: attempt.into(),
                worker,
                payload_bytes,
                at: millis(at),
                replayed_at: millis(replayed),
                purged_at: millis(purged),
            },
        )
        .collect())
}

/// Rows of `job` neither replayed nor purged, by class.
pub async fn unresolved(pool: &MySqlPool, job: &str) -> Result<BTreeMap<String, i64>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT class, COUNT(*) FROM error_log \
         WHERE job = ? AND replayed_at IS NULL AND purged_at IS NULL GROUP BY class",
    )
    .bind(job)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excerpt_is_cut_on_a_character_boundary() {
        assert_eq!(excerpt("螺丝M3", 100), "螺丝M3");
        // 螺 is three bytes: four bytes keep one character, not one and a third.
        assert_eq!(excerpt("螺丝M3", 4), "螺");
        assert_eq!(excerpt("螺丝M3", 6), "螺丝");
        assert_eq!(excerpt("", 0), "");
    }

    #[test]
    fn the_digest_is_sha256_in_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

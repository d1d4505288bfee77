//! What `ctl status` reads from MySQL: the latest `sync_runs` and the target table's size and
//! newest version (the unresolved `error_log` rows come from `k3sync_common::dlq::error_log`).

use chrono::DateTime;
use sqlx::MySqlPool;

use super::RunView;

/// The latest `limit` runs of `job` (of one `mode` if given), newest first. Times leave MySQL
/// as epoch milliseconds: UNIX_TIMESTAMP reads them in the session zone, the one
/// CURRENT_TIMESTAMP wrote them in.
pub async fn runs(
    pool: &MySqlPool,
    job: &str,
    mode: Option<&str>,
    limit: u32,
) -> Result<Vec<RunView>, sqlx::Error> {
    type Row = (
        String,
        String,
        String,
        i64,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT run_id, mode, status, pages, records, \
         CAST(UNIX_TIMESTAMP(started_at) * 1000 AS SIGNED), \
         CAST(UNIX_TIMESTAMP(finished_at) * 1000 AS SIGNED), \
         TIMESTAMPDIFF(MICROSECOND, started_at, COALESCE(finished_at, NOW(3))), \
         error \
         FROM sync_runs WHERE job = ? AND (? IS NULL OR mode = ?) \
         ORDER BY started_at DESC, id DESC LIMIT ?",
    )
    .bind(job)
    .bind(mode)
    .bind(mode)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(run_id, mode, status, pages, records, started, finished, micros, error)| RunView {
                run_id,
                mode,
                status,
                pages,
                records,
                started_at: started.and_then(DateTime::from_timestamp_millis),
                finished_at: finished.and_then(DateTime::from_timestamp_millis),
                duration_secs: micros.map(|m| m as f64 / 1e6),
                error,
            },
        )
        .collect())
}

/// Rows in the target, the newest version as stored, and its age in seconds.
pub struct TargetFacts {
    pub rows: i64,
    pub newest: Option<String>,
    pub age_secs: Option<f64>,
}

/// `table` and `version` come from a compiled mapping, whose identifiers are whitelisted.
pub async fn target(
    pool: &MySqlPool,
    table: &str,
    version: &str,
) -> Result<TargetFacts, sqlx::Error> {
    let sql = format!(
        "SELECT COUNT(*), CAST(MAX(`{version}`) AS CHAR), \
         TIMESTAMPDIFF(MICROSECOND, MAX(`{version}`), NOW(3)) FROM `{table}`"
    );
    let (rows, newest, micros): (i64, Option<String>, Option<i64>) =
        sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await?;
    Ok(TargetFacts {
        rows,
        newest: newest.map(|n| n.replacen(' ', "T", 1)),
        age_secs: micros.map(|m| m as f64 / 1e6),
    })
}

/// Rows that left a converging job's target: marked rows (`mark`: the mark column, a
/// whitelisted identifier), or in delete mode the keys with a tombstone.
pub async fn left(
    pool: &MySqlPool,
    job: &str,
    table: &str,
    mark: Option<&str>,
) -> Result<i64, sqlx::Error> {
    match mark {
        Some(mark) => {
            let sql = format!("SELECT COUNT(*) FROM `{table}` WHERE `{mark}` IS NOT NULL");
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
        }
        None => {
            sqlx::query_scalar("SELECT COUNT(*) FROM sync_tombstones WHERE job = ?")
                .bind(job)
                .fetch_one(pool)
                .await
        }
    }
}

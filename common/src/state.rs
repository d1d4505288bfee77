//! k3sync's own tables: the producer's cursor (`sync_state`), the pass history (`sync_runs`) and
//! the per-job named lock that keeps two producers from paging the same job at once.

use sqlx::MySql;
use sqlx::mysql::{MySqlConnection, MySqlPool};
use sqlx::pool::PoolConnection;
use uuid::Uuid;

use crate::record::Cursor;
use crate::settings::SyncMode;

impl SyncMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::Incremental => "incremental",
            SyncMode::Full => "full",
            SyncMode::New => "new",
            SyncMode::Reconcile => "reconcile",
        }
    }
}

/// Where the stream `name` of `job` stands (`full`, `new`, `watch:FModifyDate:enter`, … see
/// the producer's streams), and whether its last pass stopped before the end; `None` for a
/// stream that never stored a cursor.
pub async fn load_cursor(
    pool: &MySqlPool,
    job: &str,
    name: &str,
) -> Result<Option<(Cursor, bool)>, sqlx::Error> {
    let row: Option<(Option<String>, Option<i64>, bool)> = sqlx::query_as(
        "SELECT cursor_time, cursor_key, pass_open FROM sync_state WHERE job = ? AND mode = ?",
    )
    .bind(job)
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(time, key, open)| match (time, key) {
        (Some(at), Some(key)) => (Cursor::Timed { at, key }, open),
        (_, key) => (Cursor::after(key), open),
    }))
}

/// Stores the cursor of stream `name` after every confirm of a page has arrived (a partition's
/// `cursor_until` stays as it is).
pub async fn store_cursor(
    pool: &MySqlPool,
    job: &str,
    name: &str,
    cursor: &Cursor,
    pass_open: bool,
    run_id: Uuid,
) -> Result<(), sqlx::Error> {
    write_cursor(pool, job, name, cursor, None, pass_open, run_id).await
}

/// One partition of a partitioned full pass as stored: stream `name` reads the keys after
/// `cursor` up to `until` (inclusive; `None`: to the end); `open` until it has read them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPartition {
    pub name: String,
    pub cursor: Cursor,
    pub until: Option<i64>,
    pub open: bool,
}

/// The partitions of `job` whose names start with `prefix`, by name.
pub async fn load_partitions(
    pool: &MySqlPool,
    job: &str,
    prefix: &str,
) -> Result<Vec<StoredPartition>, sqlx::Error> {
    let rows: Vec<(String, Option<i64>, Option<i64>, bool)> = sqlx::query_as(
        "SELECT mode, cursor_key, cursor_until, pass_open FROM sync_state \
         WHERE job = ? AND mode LIKE CONCAT(?, '%') ORDER BY mode",
    )
    .bind(job)
    .bind(prefix)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, key, until, open)| StoredPartition {
            name,
            cursor: Cursor::after(key),
            until,
            open,
        })
        .collect())
}

/// Opens a partitioned pass in one transaction: the pass's own row `pass` (open, at `cursor`),
/// the new `partitions`, and none of the rows of an earlier pass under `prefix`.
pub async fn plan_partitions(
    pool: &MySqlPool,
    job: &str,
    pass: &str,
    cursor: &Cursor,
    prefix: &str,
    partitions: &[StoredPartition],
    run_id: Uuid,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("DELETE FROM sync_state WHERE job = ? AND mode LIKE CONCAT(?, '%')")
        .bind(job)
        .bind(prefix)
        .execute(&mut *tx)
        .await?;
    write_cursor(&mut *tx, job, pass, cursor, Some(None), true, run_id).await?;
    for part in partitions {
        write_partition(&mut tx, job, part, run_id).await?;
    }
    tx.commit().await
}

/// Hands the keys of partition `lower` after `at` to the new partition `upper`, in one
/// transaction: a crash leaves either both rows or the old one whole.
pub async fn split_partition(
    pool: &MySqlPool,
    job: &str,
    lower: &str,
    at: i64,
    upper: &StoredPartition,
    run_id: Uuid,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE sync_state SET cursor_until = ? WHERE job = ? AND mode = ?")
        .bind(at)
        .bind(job)
        .bind(lower)
        .execute(&mut *tx)
        .await?;
    write_partition(&mut tx, job, upper, run_id).await?;
    tx.commit().await
}

/// The row of a stored partition, its upper bound included.
async fn write_partition(
    conn: &mut MySqlConnection,
    job: &str,
    part: &StoredPartition,
    run_id: Uuid,
) -> Result<(), sqlx::Error> {
    let (name, until) = (&part.name, Some(part.until));
    write_cursor(conn, job, name, &part.cursor, until, part.open, run_id).await
}

/// Writes the row of stream `name`. `until` is a partition's upper bound (`Some(None)`: to the
/// end); `None` leaves the stored `cursor_until` as it is.
async fn write_cursor<'c>(
    db: impl sqlx::Executor<'c, Database = MySql>,
    job: &str,
    name: &str,
    cursor: &Cursor,
    until: Option<Option<i64>>,
    pass_open: bool,
    run_id: Uuid,
) -> Result<(), sqlx::Error> {
    let sql = match until {
        None => {
            "INSERT INTO sync_state (job, mode, cursor_time, cursor_key, pass_open, run_id) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE cursor_time = VALUES(cursor_time), cursor_key = VALUES(cursor_key), \
             pass_open = VALUES(pass_open), run_id = VALUES(run_id)"
        }
        Some(_) => {
            "INSERT INTO sync_state (job, mode, cursor_time, cursor_key, cursor_until, pass_open, run_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE cursor_time = VALUES(cursor_time), cursor_key = VALUES(cursor_key), \
             cursor_until = VALUES(cursor_until), pass_open = VALUES(pass_open), run_id = VALUES(run_id)"
        }
    };
    let (time, key) = columns(cursor);
    let mut query = sqlx::query(sql).bind(job).bind(name).bind(time).bind(key);
    if let Some(until) = until {
        query = query.bind(until);
    }
    query
        .bind(pass_open)
        .bind(run_id.to_string())
        .execute(db)
        .await?;
    Ok(())
}

/// A cursor's `(cursor_time, cursor_key)` columns.
fn columns(cursor: &Cursor) -> (Option<&str>, Option<i64>) {
    match cursor {
        Cursor::Start => (None, None),
        Cursor::Key { key } => (None, Some(*key)),
        Cursor::Timed { at, key } => (Some(at.as_str()), Some(*key)),
    }
}

/// Records of the job's last successful full pass: the fair total of the next one (for a
/// progress bar's ETA), `None` before the first.
pub async fn last_full_pass_records(
    pool: &MySqlPool,
    job: &str,
) -> Result<Option<u64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT CAST(records AS UNSIGNED) FROM sync_runs          WHERE job = ? AND mode = 'full' AND status = 'succeeded'          ORDER BY finished_at DESC, id DESC LIMIT 1",
    )
    .bind(job)
    .fetch_optional(pool)
    .await
}

/// How a pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    Skipped,
    /// Stopped by SIGTERM after a confirmed page; the next pass resumes from its cursor.
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// Opens the `sync_runs` row of a pass.
pub async fn start_run(
    pool: &MySqlPool,
    run_id: Uuid,
    job: &str,
    mode: SyncMode,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sync_runs (run_id, job, mode, status) VALUES (?, ?, ?, ?)")
        .bind(run_id.to_string())
        .bind(job)
        .bind(mode.as_str())
        .bind(RunStatus::Running.as_str())
        .execute(pool)
        .await?;
    Ok(())
}

/// Records progress (while running) or the outcome (when finished) of a pass.
pub async fn update_run(
    pool: &MySqlPool,
    run_id: Uuid,
    status: RunStatus,
    pages: u64,
    records: u64,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    let finished = status != RunStatus::Running;
    sqlx::query(
        "UPDATE sync_runs SET status = ?, pages = ?, records = ?, error = ?, \
         finished_at = IF(?, CURRENT_TIMESTAMP(3), NULL) WHERE run_id = ?",
    )
    .bind(status.as_str())
    .bind(pages)
    .bind(records)
    .bind(error)
    .bind(finished)
    .bind(run_id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

/// A MySQL named lock (`GET_LOCK`) held on its own connection; released on drop of the
/// connection or explicitly. Works across hosts, unlike an in-process lock.
pub struct JobLock {
    conn: PoolConnection<MySql>,
    name: String,
}

impl JobLock {
    /// Waits up to `wait_secs` for the job's lock; `None` when another producer holds it.
    pub async fn acquire(
        pool: &MySqlPool,
        job: &str,
        wait_secs: u64,
    ) -> Result<Option<Self>, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        // The lock lives as long as this session: never hand the connection back to the pool,
        // or a later borrower would silently hold the job's lock.
        conn.close_on_drop();
        let name = format!("k3sync.producer.{job}");
        let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK(?, ?)")
            .bind(&name)
            .bind(wait_secs)
            .fetch_one(&mut *conn)
            .await?;
        Ok((got == Some(1)).then_some(Self { conn, name }))
    }

    pub async fn release(mut self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT RELEASE_LOCK(?)")
            .bind(&self.name)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }
}

/// Records the class of a failed pass next to its error text (`sync_runs.error_class`).
pub async fn set_error_class(
    pool: &MySqlPool,
    run_id: Uuid,
    class: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sync_runs SET error_class = ? WHERE run_id = ?")
        .bind(class)
        .bind(run_id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

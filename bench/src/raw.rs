//! The raw reference: already-mapped rows upserted straight into an identical empty table with
//! multi-row `INSERT … ON DUPLICATE KEY UPDATE` statements (the sink's own statement text, stale
//! write guard included: for a converging job its stamp and mark columns too) of `batch` rows
//! each, autocommit, over `connections` connections. No broker, no decoding, no mapping, no
//! sorting: the most MySQL takes from one client this way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use k3sync_common::mapping::{CompiledMapping, SqlValue};
use k3sync_common::settings::{LeaveSettings, MySqlSettings};
use k3sync_common::sink::{Convergence, MappedRow, UpsertSql};
use sqlx::mysql::{MySql, MySqlArguments};
use sqlx::query::Query;
use sqlx::{ConnectOptions, Connection};

/// Creates `table` as an empty copy of `like` (same columns, keys and indexes).
pub async fn create_copy(pool: &sqlx::MySqlPool, table: &str, like: &str) -> anyhow::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE `{table}` LIKE `{like}`"
    )))
    .execute(pool)
    .await?;
    Ok(())
}

/// The statement the job's sink writes and `rows` as it writes them: a converging job's rows
/// (`leave` set) carry the stamp of one read and a cleared mark, as the producer's first pass
/// gives them; its upsert guards with the stamp and writes those columns. Other jobs' rows are
/// returned as they are, not copied.
pub fn as_the_sink_writes(
    job: &str,
    leave: Option<&LeaveSettings>,
    mapping: &CompiledMapping,
    rows: Arc<Vec<MappedRow>>,
) -> anyhow::Result<(UpsertSql, Arc<Vec<MappedRow>>)> {
    let Some(leave) = leave else {
        return Ok((UpsertSql::new(mapping), rows));
    };
    let convergence = Convergence::new(job, leave, mapping)?;
    let seen = chrono::Utc::now().timestamp_micros();
    let stamped = rows
        .iter()
        .map(|row| convergence.stamp(row.clone(), mapping, seen))
        .collect::<Result<_, _>>()?;
    Ok((
        UpsertSql::converging(mapping, &convergence),
        Arc::new(stamped),
    ))
}

/// Upserts every row into the table of `upsert`; returns the time from the first statement to
/// the last commit (connections are opened before the clock starts).
pub async fn upsert(
    mysql: &MySqlSettings,
    upsert: UpsertSql,
    rows: Arc<Vec<MappedRow>>,
    connections: usize,
    batch: usize,
) -> anyhow::Result<Duration> {
    let upsert = Arc::new(upsert);
    let chunks = rows.len().div_ceil(batch);
    let mut opened = Vec::with_capacity(connections);
    for _ in 0..connections {
        opened.push(mysql.connect_options()?.connect().await?);
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (lane, mut conn) in opened.into_iter().enumerate() {
        let rows = Arc::clone(&rows);
        let upsert = Arc::clone(&upsert);
        tasks.spawn(async move {
            // Batches are dealt round-robin: lane k writes batches k, k + C, k + 2C, …
            for chunk in (lane..chunks).step_by(connections) {
                let slice = &rows[chunk * batch..((chunk + 1) * batch).min(rows.len())];
                let sql = upsert.statement(slice.len());
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for row in slice {
                    for value in row {
                        query = bind(query, value);
                    }
                }
                query.execute(&mut conn).await?;
            }
            conn.close().await?;
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.context("a raw upsert lane panicked")??;
    }
    Ok(started.elapsed())
}

/// Binds one mapped value, as the sink does.
pub fn bind<'q>(
    query: Query<'q, MySql, MySqlArguments>,
    value: &SqlValue,
) -> Query<'q, MySql, MySqlArguments> {
    match value {
        SqlValue::Null => query.bind(None::<String>),
        SqlValue::Int(i) => query.bind(*i),
        SqlValue::Decimal(s) | SqlValue::Text(s) => query.bind(s.clone()),
        SqlValue::Bool(b) => query.bind(*b),
        SqlValue::DateTime(d) => query.bind(*d),
    }
}

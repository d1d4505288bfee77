//! The raw reference: already-mapped rows upserted straight into an identical empty table with
//! multi-row `INSERT … ON DUPLICATE KEY UPDATE` statements (the sink's own statement text, stale
//! write guard included) of `batch` rows each, autocommit, over `connections` connections. No
//! broker, no decoding, no mapping, no sorting: the most MySQL takes from one client this way.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use k3sync_common::mapping::{CompiledMapping, SqlValue};
use k3sync_common::settings::MySqlSettings;
use k3sync_common::sink::{MappedRow, UpsertSql};
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

/// Upserts every row into the mapping's table; returns the time from the first statement to
/// the last commit (connections are opened before the clock starts).
pub async fn upsert(
    mysql: &MySqlSettings,
    mapping: &CompiledMapping,
    rows: Arc<Vec<MappedRow>>,
    connections: usize,
    batch: usize,
) -> anyhow::Result<Duration> {
    let upsert = Arc::new(UpsertSql::new(mapping));
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

//! Writes mapped rows into the target table: one transaction per batch, rows in key order (so
//! concurrent workers lock in the same order and do not deadlock), statements chunked under the
//! placeholder limit. A permanent failure is narrowed down by halving until the bad rows are
//! found; everything else in the batch commits.

use std::cmp::Ordering;
use std::sync::Arc;

use sqlx::mysql::{MySql, MySqlArguments, MySqlPool};
use sqlx::query::Query;

use super::bind::bind_value;
use super::classify::{WriteErrorClass, classify};
use super::upsert::UpsertSql;
use crate::mapping::{CompiledMapping, SqlValue};

/// One row ready for the target table: a value per mapped column, in mapping order.
pub type MappedRow = Vec<SqlValue>;

/// A row the database will not take, with the server's reason.
#[derive(Debug)]
pub struct RowFailure {
    /// Position of the row in the slice given to [`MySqlSink::write_isolating`].
    pub index: usize,
    pub error: sqlx::Error,
}

/// A failure that is not the rows' fault; the whole batch should be tried again later.
#[derive(Debug, thiserror::Error)]
#[error("transient database failure")]
pub struct WriteError(#[source] pub sqlx::Error);

/// The target table of one job.
#[derive(Clone)]
pub struct MySqlSink {
    pool: MySqlPool,
    mapping: Arc<CompiledMapping>,
    upsert: Arc<UpsertSql>,
}

impl MySqlSink {
    pub fn new(pool: MySqlPool, mapping: Arc<CompiledMapping>) -> Self {
        let upsert = Arc::new(UpsertSql::new(&mapping));
        Self {
            pool,
            mapping,
            upsert,
        }
    }

    pub fn mapping(&self) -> &CompiledMapping {
        &self.mapping
    }

    /// The live table's columns (for [`CompiledMapping::check_columns`]).
    pub async fn table_columns(pool: &MySqlPool, table: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT CAST(COLUMN_NAME AS CHAR) FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
        )
        .bind(table)
        .fetch_all(pool)
        .await
    }

    /// Writes every row, committing what the database accepts. Returns the rows it refused
    /// (permanent errors); a transient error aborts with [`WriteError`] (rows already committed
    /// by then are harmless to write again: the upsert is idempotent).
    pub async fn write_isolating(&self, rows: &[MappedRow]) -> Result<Vec<RowFailure>, WriteError> {
        let key = self.mapping.key_index();
        let version = self.mapping.version_index();
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|a, b| {
            compare(&rows[*a][key], &rows[*b][key])
                .then_with(|| compare(&rows[*a][version], &rows[*b][version]))
        });
        let mut failures = Vec::new();
        let mut pending = vec![order];
        while let Some(group) = pending.pop() {
            if group.is_empty() {
                continue;
            }
            match self.write_group(rows, &group).await {
                Ok(()) => {}
                Err(error) if classify(&error) == WriteErrorClass::Permanent => {
                    if group.len() == 1 {
                        failures.push(RowFailure {
                            index: group[0],
                            error,
                        });
                    } else {
                        let (left, right) = group.split_at(group.len() / 2);
                        pending.push(right.to_vec());
                        pending.push(left.to_vec());
                    }
                }
                Err(error) => return Err(WriteError(error)),
            }
        }
        failures.sort_by_key(|f| f.index);
        Ok(failures)
    }

    /// One transaction for the rows at `indices`, in that order. Rows that fit in one statement
    /// (the usual batch) need no `BEGIN`/`COMMIT`: one statement under autocommit (which the
    /// pool sets on every connection) is atomic on its own, and two round trips shorter.
    async fn write_group(&self, rows: &[MappedRow], indices: &[usize]) -> Result<(), sqlx::Error> {
        let max_rows = self.upsert.max_rows();
        if indices.len() <= max_rows {
            self.statement(rows, indices).execute(&self.pool).await?;
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for chunk in indices.chunks(max_rows) {
            self.statement(rows, chunk).execute(&mut *tx).await?;
        }
        tx.commit().await
    }

    /// The upsert of the rows at `indices`, values bound.
    fn statement<'q>(
        &self,
        rows: &'q [MappedRow],
        indices: &[usize],
    ) -> Query<'q, MySql, MySqlArguments> {
        let sql = self.upsert.statement(indices.len());
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for &i in indices {
            for value in &rows[i] {
                query = bind_value(query, value);
            }
        }
        query
    }
}

/// Key order: numbers numerically, text lexicographically, nulls first.
fn compare(a: &SqlValue, b: &SqlValue) -> Ordering {
    match (a, b) {
        (SqlValue::Int(x), SqlValue::Int(y)) => x.cmp(y),
        (SqlValue::DateTime(x), SqlValue::DateTime(y)) => x.cmp(y),
        (SqlValue::Null, SqlValue::Null) => Ordering::Equal,
        (SqlValue::Null, _) => Ordering::Less,
        (_, SqlValue::Null) => Ordering::Greater,
        _ => a.as_text().cmp(&b.as_text()),
    }
}

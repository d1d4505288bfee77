//! Writes mapped rows into the target table: one transaction per batch, rows in key order (so
//! concurrent workers lock in the same order and do not deadlock), statements cut under the
//! placeholder limit and under the server's `max_allowed_packet`. A permanent failure (or a
//! statement the server still finds too big) is narrowed down by halving until the bad rows are
//! found; everything else in the batch commits. A row too big for any statement is never sent.
//! A converging job's sink also writes leaves and, after the upserts, takes back the rows older
//! than their key's tombstone (`leave.rs`).

use std::cmp::Ordering;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

use sqlx::Connection;
use sqlx::mysql::{MySqlConnection, MySqlPool};

use super::bind::bind_value;
use super::classify::{WriteErrorClass, classify_statement, is_unavailable};
use super::converge::{Convergence, ConvergenceError, NotIntegerKey, target_key};
use super::failure::{RowFailure, RowFailureKind};
use super::leave::{Leave, LeaveSql, in_key_order};
use super::session::Session;
use super::size::{self, ChunkLimits};
use super::upsert::UpsertSql;
use crate::mapping::{CompiledMapping, SqlValue};
use crate::settings::LeaveSettings;

/// One row ready for the target table: a value per mapped column, in mapping order (then, for a
/// converging job, the values [`MySqlSink::prepare`] appends).
pub type MappedRow = Vec<SqlValue>;

/// A failure that is not the rows' fault; the whole batch should be tried again later.
#[derive(Debug, thiserror::Error)]
#[error("transient database failure")]
pub struct WriteError(#[source] pub sqlx::Error);

/// Statements this sink (and its clones) sent since it was made.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SinkStats {
    /// Upserts sent to the server, refused ones included.
    pub statements: u64,
    /// Upserts the server refused as bigger than its `max_allowed_packet` (each cost a
    /// connection); 0 while the size estimate holds.
    pub refused_for_size: u64,
}

#[derive(Debug, Default)]
struct Counters {
    statements: AtomicU64,
    refused_for_size: AtomicU64,
}

/// The target table of one job.
#[derive(Clone)]
pub struct MySqlSink {
    pool: MySqlPool,
    mapping: Arc<CompiledMapping>,
    upsert: Arc<UpsertSql>,
    counters: Arc<Counters>,
    /// The server's `max_allowed_packet` as read last (0: to be read); see `session.rs`.
    packet_limit: Arc<AtomicUsize>,
    budget_override: Option<usize>,
    converging: Option<Arc<Converging>>,
}

/// `[jobs.leave]` of a converging job and the statements of its leaves.
struct Converging {
    rules: Convergence,
    leave: LeaveSql,
}

impl MySqlSink {
    pub fn new(pool: MySqlPool, mapping: Arc<CompiledMapping>) -> Self {
        let upsert = Arc::new(UpsertSql::new(&mapping));
        Self {
            pool,
            mapping,
            upsert,
            counters: Arc::default(),
            packet_limit: Arc::default(),
            budget_override: None,
            converging: None,
        }
    }

    /// The sink of a converging job: rows carry the stamp (and mark) columns of `leave`
    /// ([`MySqlSink::prepare`]) and leaves can be written. Fails on a column name of `leave`
    /// that is not a valid identifier or that the mapping writes too.
    pub fn converging(
        mut self,
        job: &str,
        leave: &LeaveSettings,
    ) -> Result<Self, ConvergenceError> {
        let rules = Convergence::new(job, leave, &self.mapping)?;
        self.upsert = Arc::new(UpsertSql::converging(&self.mapping, &rules));
        let leave = LeaveSql::new(&self.mapping, &rules);
        self.converging = Some(Arc::new(Converging { rules, leave }));
        Ok(self)
    }

    /// `[jobs.leave]` as checked, for a converging job.
    pub fn convergence(&self) -> Option<&Convergence> {
        self.converging.as_deref().map(|c| &c.rules)
    }

    /// A mapped row as this sink writes it, for a state read at `seen`: unchanged unless the job
    /// converges, then stamped ([`Convergence::stamp`]; its key must be an integer).
    pub fn prepare(&self, row: MappedRow, seen: i64) -> Result<MappedRow, NotIntegerKey> {
        match self.convergence() {
            Some(rules) => rules.stamp(row, &self.mapping, seen),
            None => Ok(row),
        }
    }

    /// For tests only: plan statements up to `bytes` whatever the server's limit. Above that
    /// limit it makes the server refuse statements for size, as it would were the estimate wrong.
    #[doc(hidden)]
    pub fn with_statement_budget(mut self, bytes: usize) -> Self {
        self.budget_override = Some(bytes);
        self
    }

    pub fn mapping(&self) -> &CompiledMapping {
        &self.mapping
    }

    pub fn stats(&self) -> SinkStats {
        SinkStats {
            statements: self.counters.statements.load(Relaxed),
            refused_for_size: self.counters.refused_for_size.load(Relaxed),
        }
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

    /// Upper bound, in bytes, of a statement carrying only `row`.
    pub fn single_row_bytes(&self, row: &[SqlValue]) -> usize {
        self.fixed_bytes() + size::row_bytes(row)
    }

    /// Writes every row, committing what the database accepts. Returns the rows it refused
    /// (permanent errors) and the rows too big to send; a transient error aborts with
    /// [`WriteError`] (rows already committed by then are harmless to write again: the upsert is
    /// idempotent).
    pub async fn write_isolating(&self, rows: &[MappedRow]) -> Result<Vec<RowFailure>, WriteError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let sizes: Vec<usize> = rows.iter().map(|r| size::row_bytes(r)).collect();
        let fixed = self.fixed_bytes();
        let mut failures = Vec::new();
        let mut pending = vec![self.key_order(rows)];
        let mut session: Option<Session> = None;
        while let Some(group) = pending.pop() {
            let open = self.session(session.take()).await?;
            let current = session.insert(open);
            let limit = current.limit();
            // Measured, not tried: the server would answer such a row by closing the connection.
            let (group, too_large): (Vec<usize>, Vec<usize>) =
                group.into_iter().partition(|&i| fixed + sizes[i] <= limit);
            failures.extend(too_large.into_iter().map(|index| RowFailure {
                index,
                kind: RowFailureKind::TooLarge {
                    bytes: fixed + sizes[index],
                    limit,
                },
            }));
            if group.is_empty() {
                continue;
            }
            let Err((class, error)) = self.write_group(current, rows, &sizes, &group).await else {
                continue;
            };
            if class == WriteErrorClass::TooLarge {
                self.counters.refused_for_size.fetch_add(1, Relaxed);
            }
            if class == WriteErrorClass::TooLarge || is_unavailable(&error) {
                // The server closed it; the next group starts on a fresh connection and reads
                // that connection's limit.
                if let Some(s) = session.take() {
                    s.discard(&self.packet_limit);
                }
            }
            match class {
                WriteErrorClass::Transient => return Err(WriteError(error)),
                WriteErrorClass::Permanent | WriteErrorClass::TooLarge if group.len() == 1 => {
                    failures.push(RowFailure {
                        index: group[0],
                        kind: RowFailureKind::Refused(error),
                    });
                }
                WriteErrorClass::Permanent | WriteErrorClass::TooLarge => {
                    let (left, right) = group.split_at(group.len() / 2);
                    pending.push(right.to_vec());
                    pending.push(left.to_vec());
                }
            }
        }
        if let Some(converging) = &self.converging {
            // Rows that were refused are harmless to take back: whatever is there stays unless
            // it is older than the key's tombstone.
            let key = self.mapping.key_index();
            let mut keys: Vec<i64> = rows.iter().filter_map(|r| target_key(&r[key])).collect();
            keys.sort_unstable();
            keys.dedup();
            let mut current = self.session(session).await?;
            if let Err(error) = converging.leave.settle(current.conn(), &keys).await {
                return Err(self.failed(current, error));
            }
        }
        failures.sort_by_key(|f| f.index);
        Ok(failures)
    }

    /// Writes the leaves of a converging job in one transaction (see `leave.rs`); any failure
    /// is the whole batch's to retry (keys and stamps are integers: no value of a leave can be
    /// refused). A sink that does not converge has none to write: the worker refuses leave
    /// messages of such a job.
    pub async fn write_leaves(&self, leaves: &[Leave]) -> Result<(), WriteError> {
        let Some(converging) = self.converging.as_deref() else {
            debug_assert!(leaves.is_empty(), "leaves for a job that does not converge");
            return Ok(());
        };
        if leaves.is_empty() {
            return Ok(());
        }
        let leaves = in_key_order(leaves);
        let mut session = self.session(None).await?;
        let result = converging.leave.leave(session.conn(), &leaves).await;
        result.map_err(|error| self.failed(session, error))
    }

    /// `session`, or a new one.
    async fn session(&self, session: Option<Session>) -> Result<Session, WriteError> {
        match session {
            Some(session) => Ok(session),
            None => Session::open(&self.pool, &self.packet_limit)
                .await
                .map_err(WriteError),
        }
    }

    /// A failure that is not the rows' fault; a connection the server is gone from is given up.
    fn failed(&self, session: Session, error: sqlx::Error) -> WriteError {
        if is_unavailable(&error) {
            session.discard(&self.packet_limit);
        }
        WriteError(error)
    }

    /// Row indices in key order, then in the order of the guard column (the version, or the
    /// stamp of a converging job, which follows the mapped columns).
    fn key_order(&self, rows: &[MappedRow]) -> Vec<usize> {
        let key = self.mapping.key_index();
        let version = match self.converging {
            Some(_) => self.mapping.columns().len(),
            None => self.mapping.version_index(),
        };
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by(|a, b| {
            compare(&rows[*a][key], &rows[*b][key])
                .then_with(|| compare(&rows[*a][version], &rows[*b][version]))
        });
        order
    }

    /// Bytes of any statement apart from its rows.
    fn fixed_bytes(&self) -> usize {
        size::STATEMENT_OVERHEAD + self.upsert.text_bytes()
    }

    /// One transaction for the rows at `indices`, in that order; a failure comes classified.
    async fn write_group(
        &self,
        session: &mut Session,
        rows: &[MappedRow],
        sizes: &[usize],
        indices: &[usize],
    ) -> Result<(), (WriteErrorClass, sqlx::Error)> {
        let limit = session.limit();
        let limits = ChunkLimits {
            fixed: self.fixed_bytes(),
            max_rows: self.upsert.max_rows(),
            budget: self.budget_override.unwrap_or_else(|| size::budget(limit)),
        };
        let cuts = size::chunks(indices.iter().map(|&i| sizes[i]), limits);
        let bytes = |cut: &Range<usize>| {
            let rows: usize = indices[cut.clone()].iter().map(|&i| sizes[i]).sum();
            limits.fixed + rows
        };
        let classified = |bytes| move |error| (classify_statement(&error, bytes, limit), error);
        let conn = session.conn();
        // Rows that fit in one statement (the usual batch) need no `BEGIN`/`COMMIT`: one
        // statement under autocommit (which the pool sets on every connection) is atomic on its
        // own, and two round trips shorter.
        if let [only] = cuts.as_slice() {
            return self
                .execute(conn, rows, &indices[only.clone()])
                .await
                .map_err(classified(bytes(only)));
        }
        let mut tx = conn.begin().await.map_err(classified(0))?;
        for cut in &cuts {
            self.execute(&mut tx, rows, &indices[cut.clone()])
                .await
                .map_err(classified(bytes(cut)))?;
        }
        tx.commit().await.map_err(classified(0))
    }

    /// Sends the upsert of the rows at `indices`, values bound.
    async fn execute(
        &self,
        conn: &mut MySqlConnection,
        rows: &[MappedRow],
        indices: &[usize],
    ) -> Result<(), sqlx::Error> {
        self.counters.statements.fetch_add(1, Relaxed);
        let sql = self.upsert.statement(indices.len());
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in indices.iter().flat_map(|&i| &rows[i]) {
            query = bind_value(query, value);
        }
        query.execute(conn).await.map(|_| ())
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

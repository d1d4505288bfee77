//! Leaves of a converging job in SQL. A leave keeps its key's tombstone (the newest stamp the key
//! left at, in `sync_tombstones`) and then deletes or marks the row unless the row is newer. The
//! same statement runs again for the keys of every batch of upserts once they are written: an
//! upsert of a state older than the key's tombstone is taken back before its batch is acked, so
//! a leave and an upsert of one key end in the newer state whichever is written first.

use sqlx::Connection;
use sqlx::mysql::MySqlConnection;

use super::converge::Convergence;
use super::upsert::quote;
use crate::mapping::CompiledMapping;
use crate::settings::LeaveMode;

/// One key leaving the target: a target key (the value of the table's key column) and the stamp
/// of the state in which it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leave {
    pub key: i64,
    pub stamp: i64,
}

/// Keys per statement: 3,000 placeholders and some 150 KB at most, far under any server's limits.
const KEYS_PER_STATEMENT: usize = 1_000;

const TOMBSTONES_HEAD: &str = "INSERT INTO sync_tombstones (job, target_key, stamp) VALUES ";
const TOMBSTONES_TAIL: &str = " ON DUPLICATE KEY UPDATE stamp = GREATEST(stamp, VALUES(stamp))";

/// The statements of one job's leaves; identifiers from the mapping and `[jobs.leave]`.
#[derive(Debug, Clone)]
pub struct LeaveSql {
    job: String,
    /// The delete or update up to its `WHERE`.
    apply_head: String,
    /// The condition after the key list: ` AND …`.
    apply_tail: String,
}

impl LeaveSql {
    pub fn new(mapping: &CompiledMapping, convergence: &Convergence) -> Self {
        let table = quote(mapping.table());
        let key = format!("t.{}", quote(mapping.key_column()));
        let stamp = format!("t.{}", quote(convergence.stamp_column()));
        // The tombstones first, by their primary key, then the rows by their key: the plan is the
        // same whatever the tables' statistics say, so a statement reads (and locks) the rows
        // of its keys only. Left to itself the server may scan a new table whole, locking rows
        // that concurrent workers write, and deadlock with them.
        let join = format!(
            "sync_tombstones s FORCE INDEX (PRIMARY) STRAIGHT_JOIN {table} t \
             ON {key} = s.target_key"
        );
        // Rows newer than the tombstone stay: they came back after leaving.
        let (apply_head, apply_tail) = match (convergence.mode(), convergence.mark_column()) {
            (LeaveMode::Mark, Some(mark)) => {
                let mark = format!("t.{}", quote(mark));
                (
                    format!(
                        "UPDATE {join} SET {mark} = COALESCE({mark}, UTC_TIMESTAMP(3)), \
                         {stamp} = s.stamp"
                    ),
                    // A row marked already keeps the time it first left; only its stamp moves.
                    format!(" AND {stamp} <= s.stamp AND ({mark} IS NULL OR {stamp} < s.stamp)"),
                )
            }
            _ => (
                format!("DELETE t FROM {join}"),
                format!(" AND {stamp} <= s.stamp"),
            ),
        };
        Self {
            job: convergence.job().to_owned(),
            apply_head,
            apply_tail,
        }
    }

    /// Keeps the newest stamp of each of `rows` keys.
    pub fn tombstones(&self, rows: usize) -> String {
        let values = vec!["(?, ?, ?)"; rows].join(", ");
        format!("{TOMBSTONES_HEAD}{values}{TOMBSTONES_TAIL}")
    }

    /// Deletes or marks the rows of `keys` keys that are not newer than their tombstone.
    pub fn apply(&self, keys: usize) -> String {
        let list = vec!["?"; keys].join(", ");
        format!(
            "{} WHERE s.job = ? AND s.target_key IN ({list}){}",
            self.apply_head, self.apply_tail
        )
    }

    /// Writes `leaves` (in key order, one per key: `in_key_order`) in one transaction: every
    /// tombstone first, then the rows, each in key order, so that concurrent workers lock in one
    /// order.
    pub async fn leave(
        &self,
        conn: &mut MySqlConnection,
        leaves: &[Leave],
    ) -> Result<(), sqlx::Error> {
        let mut tx = conn.begin().await?;
        for chunk in leaves.chunks(KEYS_PER_STATEMENT) {
            let sql = self.tombstones(chunk.len());
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for leave in chunk {
                query = query.bind(&self.job).bind(leave.key).bind(leave.stamp);
            }
            query.execute(&mut *tx).await?;
        }
        let keys: Vec<i64> = leaves.iter().map(|l| l.key).collect();
        self.run_apply(&mut tx, &keys).await?;
        tx.commit().await
    }

    /// After upserts of `keys` (sorted, written already): takes back the rows older than their
    /// key's tombstone. One transaction that first locks the tombstones of `keys` (shared, in
    /// key order) and then applies them to the keys that have one (usually none: then nothing
    /// more is sent). Locking the tombstones before the rows is the order of a leave's
    /// transaction too, so a leave and this cannot deadlock each other.
    pub async fn settle(
        &self,
        conn: &mut MySqlConnection,
        keys: &[i64],
    ) -> Result<(), sqlx::Error> {
        let mut tx = conn.begin().await?;
        let mut left = Vec::new();
        for chunk in keys.chunks(KEYS_PER_STATEMENT) {
            let padded = padded(chunk);
            let sql = self.lock_tombstones(padded.len());
            let mut query = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql)).bind(&self.job);
            for key in padded {
                query = query.bind(key);
            }
            left.extend(query.fetch_all(&mut *tx).await?);
        }
        self.run_apply(&mut tx, &left).await?;
        tx.commit().await
    }

    /// The tombstones among `keys` keys, locked against a leave until the transaction ends.
    pub fn lock_tombstones(&self, keys: usize) -> String {
        let list = vec!["?"; keys].join(", ");
        format!(
            "SELECT target_key FROM sync_tombstones WHERE job = ? AND target_key IN ({list}) \
             ORDER BY target_key LOCK IN SHARE MODE"
        )
    }

    /// [`LeaveSql::apply`] for `keys` (sorted), a statement per chunk.
    async fn run_apply(&self, conn: &mut MySqlConnection, keys: &[i64]) -> Result<(), sqlx::Error> {
        for chunk in keys.chunks(KEYS_PER_STATEMENT) {
            let padded = padded(chunk);
            let mut query =
                sqlx::query(sqlx::AssertSqlSafe(self.apply(padded.len()))).bind(&self.job);
            for key in padded {
                query = query.bind(key);
            }
            query.execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// `keys` (sorted) padded with their last key to the next power of two (at most
/// [`KEYS_PER_STATEMENT`]), so that eleven statement texts serve every key count: the server
/// prepares each once per connection, not once for nearly every batch (whose count of distinct
/// keys varies). A key twice in an `IN` list is the same as once.
fn padded(keys: &[i64]) -> Vec<i64> {
    let size = keys.len().next_power_of_two().min(KEYS_PER_STATEMENT);
    let mut padded = keys.to_vec();
    if let Some(&last) = keys.last() {
        padded.resize(size, last);
    }
    padded
}

/// `leaves` sorted by key, one per key with its newest stamp.
pub fn in_key_order(leaves: &[Leave]) -> Vec<Leave> {
    let mut sorted = leaves.to_vec();
    sorted.sort_unstable_by_key(|l| (l.key, std::cmp::Reverse(l.stamp)));
    sorted.dedup_by_key(|l| l.key);
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::fixtures::{leave, mapping};

    fn sql(mode: LeaveMode) -> LeaveSql {
        let mapping = mapping();
        let leave = leave(mode, "left_at", "sync_stamp");
        LeaveSql::new(
            &mapping,
            &Convergence::new("materials", &leave, &mapping).unwrap(),
        )
    }

    #[test]
    fn key_lists_are_padded_with_their_last_key_to_a_power_of_two() {
        assert_eq!(padded(&[]), Vec::<i64>::new());
        assert_eq!(padded(&[7]), vec![7]);
        assert_eq!(padded(&[1, 2, 3]), vec![1, 2, 3, 3]);
        assert_eq!(padded(&[1, 2, 3, 4]), vec![1, 2, 3, 4]);
        let many: Vec<i64> = (0..KEYS_PER_STATEMENT as i64).collect();
        let list = padded(&many[..600]);
        assert_eq!(list.len(), KEYS_PER_STATEMENT);
        assert_eq!(&list[..600], &many[..600]);
        assert!(list[600..].iter().all(|&k| k == 599));
        let lengths: std::collections::BTreeSet<usize> = (1..=KEYS_PER_STATEMENT)
            .map(|n| padded(&many[..n]).len())
            .collect();
        assert_eq!(lengths.len(), 11, "{lengths:?}");
    }

    #[test]
    fn a_tombstone_keeps_the_newest_stamp_of_its_key() {
        assert_eq!(
            sql(LeaveMode::Mark).tombstones(2),
            "INSERT INTO sync_tombstones (job, target_key, stamp) VALUES (?, ?, ?), (?, ?, ?) \
             ON DUPLICATE KEY UPDATE stamp = GREATEST(stamp, VALUES(stamp))"
        );
    }

    #[test]
    fn after_upserts_the_tombstones_of_their_keys_are_locked_in_key_order() {
        assert_eq!(
            sql(LeaveMode::Delete).lock_tombstones(2),
            "SELECT target_key FROM sync_tombstones WHERE job = ? AND target_key IN (?, ?) \
             ORDER BY target_key LOCK IN SHARE MODE"
        );
    }

    #[test]
    fn delete_mode_deletes_the_rows_not_newer_than_their_tombstone() {
        assert_eq!(
            sql(LeaveMode::Delete).apply(2),
            "DELETE t FROM sync_tombstones s FORCE INDEX (PRIMARY) STRAIGHT_JOIN \
             `wk_wodtop_product` t ON t.`data_id` = s.target_key \
             WHERE s.job = ? AND s.target_key IN (?, ?) AND t.`sync_stamp` <= s.stamp"
        );
    }

    #[test]
    fn mark_mode_marks_once_and_moves_the_stamp_of_rows_not_newer_than_their_tombstone() {
        assert_eq!(
            sql(LeaveMode::Mark).apply(1),
            "UPDATE sync_tombstones s FORCE INDEX (PRIMARY) STRAIGHT_JOIN \
             `wk_wodtop_product` t ON t.`data_id` = s.target_key \
             SET t.`left_at` = COALESCE(t.`left_at`, UTC_TIMESTAMP(3)), t.`sync_stamp` = s.stamp \
             WHERE s.job = ? AND s.target_key IN (?) AND t.`sync_stamp` <= s.stamp \
             AND (t.`left_at` IS NULL OR t.`sync_stamp` < s.stamp)"
        );
    }

    #[test]
    fn leaves_go_in_key_order_one_per_key_with_the_newest_stamp() {
        let leave = |key, stamp| Leave { key, stamp };
        assert_eq!(
            in_key_order(&[leave(9, 1), leave(3, 5), leave(9, 7), leave(3, 2)]),
            vec![leave(3, 5), leave(9, 7)]
        );
    }
}

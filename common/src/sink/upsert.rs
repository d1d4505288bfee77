//! Builds the multi-row `INSERT … ON DUPLICATE KEY UPDATE` for a mapping. Identifiers come from
//! the compiled mapping and `[jobs.leave]` (both whitelisted) and are quoted; values are always
//! placeholders.
//! The `VALUES(col)` form works on MariaDB and MySQL alike (MariaDB lacks MySQL 8's row alias).

use super::converge::Convergence;
use crate::mapping::CompiledMapping;

/// An identifier (whitelisted already) as it goes into SQL text.
pub(super) fn quote(name: &str) -> String {
    format!("`{name}`")
}

/// MySQL's limit on placeholders in one statement.
pub const MAX_PLACEHOLDERS: usize = 65_535;

/// The statement text for a table.
#[derive(Debug, Clone)]
pub struct UpsertSql {
    head: String,
    row: String,
    tail: String,
    columns: usize,
}

impl UpsertSql {
    pub fn new(mapping: &CompiledMapping) -> Self {
        Self::build(mapping, None)
    }

    /// The upsert of a converging job: its rows carry [`Convergence::columns`] after the mapped
    /// ones, and the stamp, not the mapping's version, guards every column (so a leave, which
    /// moves only the stamp, orders against upserts).
    pub fn converging(mapping: &CompiledMapping, convergence: &Convergence) -> Self {
        Self::build(mapping, Some(convergence))
    }

    fn build(mapping: &CompiledMapping, convergence: Option<&Convergence>) -> Self {
        let mut columns: Vec<&str> = mapping.columns().iter().map(String::as_str).collect();
        if let Some(c) = convergence {
            columns.extend(c.columns());
        }
        let table = quote(mapping.table());
        let quoted: Vec<String> = columns.iter().map(|c| quote(c)).collect();
        let head = format!("INSERT INTO {table} ({}) VALUES ", quoted.join(", "));
        let row = format!("({})", vec!["?"; columns.len()].join(", "));
        // Stale-write guard: a row changes only when the incoming version is not older than the
        // stored one — for a converging job, the stamp, and between equal stamps (messages the
        // producer did not stamp: hand-made, or older than stamps) the version. MySQL assigns
        // left to right, so the guard columns go last (the version, then the stamp): the other
        // columns still compare against the old values.
        let version = quote(mapping.version_column());
        let condition = match convergence {
            Some(c) => {
                let stamp = quote(c.stamp_column());
                format!(
                    "VALUES({stamp}) > {stamp} OR (VALUES({stamp}) = {stamp} AND VALUES({version}) >= {version})"
                )
            }
            None => format!("VALUES({version}) >= {version}"),
        };
        let guard = |c: &str| {
            let c = quote(c);
            format!("{c} = IF({condition}, VALUES({c}), {c})")
        };
        let last: Vec<&str> = std::iter::once(mapping.version_column())
            .chain(convergence.map(|c| c.stamp_column()))
            .collect();
        let mut updates: Vec<String> = columns
            .iter()
            .filter(|c| **c != mapping.key_column() && !last.contains(c))
            .map(|c| guard(c))
            .collect();
        updates.extend(last.iter().map(|c| guard(c)));
        let tail = format!(" ON DUPLICATE KEY UPDATE {}", updates.join(", "));
        Self {
            head,
            row,
            tail,
            columns: columns.len(),
        }
    }

    /// Most rows one statement may carry.
    pub fn max_rows(&self) -> usize {
        (MAX_PLACEHOLDERS / self.columns.max(1)).max(1)
    }

    /// Bytes of the statement text apart from its rows (whose `(?, …)` the per-value overhead of
    /// [`super::size::VALUE_OVERHEAD`] counts).
    pub fn text_bytes(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// The statement for `rows` rows.
    pub fn statement(&self, rows: usize) -> String {
        let rows = vec![self.row.as_str(); rows].join(", ");
        format!("{}{rows}{}", self.head, self.tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::LeaveMode;
    use crate::sink::fixtures::{leave, mapping};

    #[test]
    fn the_version_column_is_assigned_last_and_the_key_never() {
        let sql = UpsertSql::new(&mapping()).statement(2);
        assert_eq!(
            sql,
            "INSERT INTO `wk_wodtop_product` (`data_id`, `modify_date`, `name`) VALUES (?, ?, ?), (?, ?, ?) \
             ON DUPLICATE KEY UPDATE \
             `name` = IF(VALUES(`modify_date`) >= `modify_date`, VALUES(`name`), `name`), \
             `modify_date` = IF(VALUES(`modify_date`) >= `modify_date`, VALUES(`modify_date`), `modify_date`)"
        );
    }

    #[test]
    fn a_converging_job_guards_every_column_with_the_stamp_then_the_version_and_clears_the_mark() {
        let mark = leave(LeaveMode::Mark, "left_at", "sync_stamp");
        let convergence = Convergence::new("materials", &mark, &mapping()).unwrap();
        let sql = UpsertSql::converging(&mapping(), &convergence).statement(1);
        assert_eq!(
            sql,
            "INSERT INTO `wk_wodtop_product` (`data_id`, `modify_date`, `name`, `sync_stamp`, `left_at`) \
             VALUES (?, ?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE \
             `name` = IF(VALUES(`sync_stamp`) > `sync_stamp` OR (VALUES(`sync_stamp`) = `sync_stamp` AND VALUES(`modify_date`) >= `modify_date`), VALUES(`name`), `name`), \
             `left_at` = IF(VALUES(`sync_stamp`) > `sync_stamp` OR (VALUES(`sync_stamp`) = `sync_stamp` AND VALUES(`modify_date`) >= `modify_date`), VALUES(`left_at`), `left_at`), \
             `modify_date` = IF(VALUES(`sync_stamp`) > `sync_stamp` OR (VALUES(`sync_stamp`) = `sync_stamp` AND VALUES(`modify_date`) >= `modify_date`), VALUES(`modify_date`), `modify_date`), \
             `sync_stamp` = IF(VALUES(`sync_stamp`) > `sync_stamp` OR (VALUES(`sync_stamp`) = `sync_stamp` AND VALUES(`modify_date`) >= `modify_date`), VALUES(`sync_stamp`), `sync_stamp`)"
        );
        // Delete mode: the stamp alone is added.
        let delete = leave(LeaveMode::Delete, "", "sync_stamp");
        let convergence = Convergence::new("materials", &delete, &mapping()).unwrap();
        let upsert = UpsertSql::converging(&mapping(), &convergence);
        assert!(
            upsert
                .statement(1)
                .contains("`name`, `sync_stamp`) VALUES (?, ?, ?, ?) ")
        );
        assert_eq!(upsert.max_rows(), 16_383);
    }

    #[test]
    fn a_statement_stays_under_the_placeholder_limit() {
        let upsert = UpsertSql::new(&mapping());
        assert_eq!(upsert.max_rows(), 21_845);
        assert!(upsert.max_rows() * 3 <= MAX_PLACEHOLDERS);
    }
}

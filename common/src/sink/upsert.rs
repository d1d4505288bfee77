//! Builds the multi-row `INSERT … ON DUPLICATE KEY UPDATE` for a mapping. Identifiers come from
//! the compiled mapping (already whitelisted) and are quoted; values are always placeholders.
//! The `VALUES(col)` form works on MariaDB and MySQL alike (MariaDB lacks MySQL 8's row alias).

use crate::mapping::CompiledMapping;

/// MySQL's limit on placeholders in one statement.
pub const MAX_PLACEHOLDERS: usize = 65_535;

/// The statement text for a table, cached per row count by the caller.
#[derive(Debug, Clone)]
pub struct UpsertSql {
    head: String,
    row: String,
    tail: String,
    columns: usize,
}

impl UpsertSql {
    pub fn new(mapping: &CompiledMapping) -> Self {
        let quote = |c: &str| format!("`{c}`");
        let columns = mapping.columns();
        let head = format!(
            "INSERT INTO {} ({}) VALUES ",
            quote(mapping.table()),
            columns
                .iter()
                .map(|c| quote(c))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let row = format!("({})", vec!["?"; columns.len()].join(", "));
        // Stale-write guard: a row changes only when the incoming version is not older than the
        // stored one. MySQL assigns left to right, so the version column goes last: the other
        // columns still compare against the old version.
        let version = quote(mapping.version_column());
        let guard = |c: &str| {
            let c = quote(c);
            format!("{c} = IF(VALUES({version}) >= {version}, VALUES({c}), {c})")
        };
        let mut updates: Vec<String> = columns
            .iter()
            .filter(|c| *c != mapping.key_column() && *c != mapping.version_column())
            .map(|c| guard(c))
            .collect();
        updates.push(guard(mapping.version_column()));
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
        let mut sql =
            String::with_capacity(self.head.len() + rows * (self.row.len() + 2) + self.tail.len());
        sql.push_str(&self.head);
        for i in 0..rows {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&self.row);
        }
        sql.push_str(&self.tail);
        sql
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::MappingSpec;

    fn mapping() -> CompiledMapping {
        let spec = MappingSpec {
            table: "wk_wodtop_product".into(),
            key: "data_id".into(),
            version: "modify_date".into(),
            columns: vec![
                ("data_id".into(), "{FMasterId}".into()),
                ("modify_date".into(), "{FModifyDate}".into()),
                ("name".into(), "{FName}".into()),
            ],
        };
        CompiledMapping::compile(&spec).unwrap()
    }

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
    fn a_statement_stays_under_the_placeholder_limit() {
        let upsert = UpsertSql::new(&mapping());
        assert_eq!(upsert.max_rows(), 21_845);
        assert!(upsert.max_rows() * 3 <= MAX_PLACEHOLDERS);
    }
}

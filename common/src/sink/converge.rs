//! What a converging job (`[jobs.leave]`) adds to its sink: two columns of the target that
//! k3sync owns, checked once at start — the stamp (when the producer read the row's state, the
//! stale-write guard of upserts and leaves alike) and, in mark mode, the mark (NULL while the row
//! is present) — and the rule that its target keys are integers (tombstones key on `BIGINT`).

use super::writer::MappedRow;
use crate::mapping::{CompiledMapping, SqlValue, is_sql_identifier};
use crate::settings::{LeaveMode, LeaveSettings};

/// `[jobs.leave]` of one job, its identifiers checked against the whitelist and the mapping.
#[derive(Debug, Clone)]
pub struct Convergence {
    job: String,
    mode: LeaveMode,
    stamp: String,
    /// Mark mode only.
    mark: Option<String>,
}

/// Why `[jobs.leave]` does not fit the job's target; [`ConvergenceError::setting`] names the
/// setting at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConvergenceError {
    #[error("`{column}` is not a valid column name")]
    InvalidIdentifier {
        setting: &'static str,
        column: String,
    },
    #[error(
        "column `{column}` is also mapped; k3sync writes it itself, remove it from the mapping"
    )]
    Mapped {
        setting: &'static str,
        column: String,
    },
    #[error("column `{column}` is the stamp_column too; the mark needs a column of its own")]
    MarkIsStamp {
        setting: &'static str,
        column: String,
    },
    #[error("column `{column}` is not in table `{table}`")]
    Missing {
        setting: &'static str,
        column: String,
        table: String,
    },
}

impl ConvergenceError {
    /// The setting under `[jobs.leave]`: `stamp_column` or `mark_column`.
    pub fn setting(&self) -> &'static str {
        match self {
            Self::InvalidIdentifier { setting, .. }
            | Self::Mapped { setting, .. }
            | Self::MarkIsStamp { setting, .. }
            | Self::Missing { setting, .. } => setting,
        }
    }
}

/// A mapped record of a converging job whose target key is not an integer.
#[derive(Debug, thiserror::Error)]
#[error("converging jobs need an integer target key; `{column}` is {value}")]
pub struct NotIntegerKey {
    pub column: String,
    pub value: String,
}

const STAMP: &str = "stamp_column";
const MARK: &str = "mark_column";

impl Convergence {
    pub fn new(
        job: &str,
        leave: &LeaveSettings,
        mapping: &CompiledMapping,
    ) -> Result<Self, ConvergenceError> {
        let checked = |setting: &'static str, column: &str| {
            if !is_sql_identifier(column) {
                return Err(ConvergenceError::InvalidIdentifier {
                    setting,
                    column: column.to_owned(),
                });
            }
            if mapping
                .columns()
                .iter()
                .any(|c| c.eq_ignore_ascii_case(column))
            {
                return Err(ConvergenceError::Mapped {
                    setting,
                    column: column.to_owned(),
                });
            }
            Ok(column.to_owned())
        };
        let stamp = checked(STAMP, &leave.stamp_column)?;
        let mark = leave.mark().map(|m| checked(MARK, m)).transpose()?;
        if let Some(mark) = mark.as_ref().filter(|m| m.eq_ignore_ascii_case(&stamp)) {
            return Err(ConvergenceError::MarkIsStamp {
                setting: MARK,
                column: mark.clone(),
            });
        }
        Ok(Self {
            job: job.to_owned(),
            mode: leave.mode,
            stamp,
            mark,
        })
    }

    /// The job whose tombstones these are (`sync_tombstones.job`).
    pub fn job(&self) -> &str {
        &self.job
    }

    pub fn mode(&self) -> LeaveMode {
        self.mode
    }

    pub fn stamp_column(&self) -> &str {
        &self.stamp
    }

    /// The mark column (mark mode), `None` in delete mode.
    pub fn mark_column(&self) -> Option<&str> {
        self.mark.as_deref()
    }

    /// The columns [`Convergence::stamp`] appends to every row, in that order.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.stamp.as_str()).chain(self.mark.as_deref())
    }

    /// `row` as the sink writes it for a state read at `seen`: the stamp, then (mark mode) a NULL
    /// mark, so that a row that comes back is present again. Its key must be an integer.
    pub fn stamp(
        &self,
        mut row: MappedRow,
        mapping: &CompiledMapping,
        seen: i64,
    ) -> Result<MappedRow, NotIntegerKey> {
        let key = &row[mapping.key_index()];
        if target_key(key).is_none() {
            return Err(NotIntegerKey {
                column: mapping.key_column().to_owned(),
                value: key.to_string(),
            });
        }
        row.push(SqlValue::Int(seen));
        if self.mark.is_some() {
            row.push(SqlValue::Null);
        }
        Ok(row)
    }

    /// Fails on the first of the columns missing from the live table (`table_columns`, from
    /// `information_schema`, compared ignoring case).
    pub fn check_columns(
        &self,
        table: &str,
        table_columns: &[String],
    ) -> Result<(), ConvergenceError> {
        let settings = std::iter::once(STAMP).chain(self.mark.as_ref().map(|_| MARK));
        let present = |c: &str| table_columns.iter().any(|t| t.eq_ignore_ascii_case(c));
        match self.columns().zip(settings).find(|(c, _)| !present(c)) {
            Some((column, setting)) => Err(ConvergenceError::Missing {
                setting,
                column: column.to_owned(),
                table: table.to_owned(),
            }),
            None => Ok(()),
        }
    }
}

/// A target key as `sync_tombstones.target_key` holds it: an integer, or the text of one.
pub fn target_key(value: &SqlValue) -> Option<i64> {
    match value {
        SqlValue::Int(i) => Some(*i),
        SqlValue::Text(s) | SqlValue::Decimal(s) => s.parse().ok(),
        SqlValue::Null | SqlValue::Bool(_) | SqlValue::DateTime(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::fixtures::{leave, mapping};
    use crate::sink::size;

    #[test]
    fn a_mark_mode_row_gets_the_stamp_then_a_cleared_mark() {
        let c = Convergence::new(
            "materials",
            &leave(LeaveMode::Mark, "left_at", "sync_stamp"),
            &mapping(),
        )
        .unwrap();
        let row = vec![SqlValue::Int(7), SqlValue::Null, SqlValue::Text("x".into())];
        let stamped = c.stamp(row.clone(), &mapping(), 42).unwrap();
        assert_eq!(stamped[..3], row[..]);
        assert_eq!(stamped[3..], [SqlValue::Int(42), SqlValue::Null]);
        // The sink measures rows as they are sent: the stamp's 8 bytes and both overheads count.
        assert_eq!(
            size::row_bytes(&stamped),
            size::row_bytes(&row) + 8 + 2 * size::VALUE_OVERHEAD
        );
        assert_eq!(c.columns().collect::<Vec<_>>(), ["sync_stamp", "left_at"]);
    }

    #[test]
    fn a_delete_mode_row_gets_only_the_stamp_and_ignores_the_mark_setting() {
        let c = Convergence::new(
            "materials",
            &leave(LeaveMode::Delete, "not a column", "sync_stamp"),
            &mapping(),
        )
        .unwrap();
        let stamped = c.stamp(vec![SqlValue::Text("7".into())], &mapping(), 1);
        assert_eq!(stamped.unwrap()[1..], [SqlValue::Int(1)]);
        assert_eq!(c.mark_column(), None);
    }

    #[test]
    fn a_key_that_is_no_integer_is_refused_with_the_rule_in_its_words() {
        let c = Convergence::new(
            "materials",
            &leave(LeaveMode::Delete, "", "sync_stamp"),
            &mapping(),
        )
        .unwrap();
        let err = c
            .stamp(vec![SqlValue::Text("M-7".into())], &mapping(), 1)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "converging jobs need an integer target key; `data_id` is M-7"
        );
        assert_eq!(target_key(&SqlValue::Null), None);
        assert_eq!(target_key(&SqlValue::Decimal("7.5".into())), None);
        assert_eq!(target_key(&SqlValue::Int(-3)), Some(-3));
    }

    #[test]
    fn columns_are_whitelisted_kept_out_of_the_mapping_and_found_in_the_table() {
        let bad = Convergence::new(
            "m",
            &leave(LeaveMode::Mark, "left_at; DROP", "sync_stamp"),
            &mapping(),
        )
        .unwrap_err();
        assert_eq!(bad.setting(), "mark_column");
        let mapped = Convergence::new("m", &leave(LeaveMode::Mark, "left_at", "NAME"), &mapping())
            .unwrap_err();
        assert_eq!(mapped.setting(), "stamp_column");
        assert!(mapped.to_string().contains("also mapped"), "{mapped}");
        let twice = Convergence::new("m", &leave(LeaveMode::Mark, "Stamp", "stamp"), &mapping());
        assert_eq!(twice.unwrap_err().setting(), "mark_column");

        let c = Convergence::new(
            "m",
            &leave(LeaveMode::Mark, "left_at", "sync_stamp"),
            &mapping(),
        )
        .unwrap();
        let live = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert!(
            c.check_columns("t", &live(&["SYNC_STAMP", "left_at"]))
                .is_ok()
        );
        let missing = c.check_columns("t", &live(&["sync_stamp"])).unwrap_err();
        assert_eq!(missing.setting(), "mark_column");
        assert_eq!(missing.to_string(), "column `left_at` is not in table `t`");
        let missing = c.check_columns("t", &live(&["left_at"])).unwrap_err();
        assert_eq!(missing.setting(), "stamp_column");
    }
}

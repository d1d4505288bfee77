//! How many bytes a statement puts on the wire, so that none goes past the server's
//! `max_allowed_packet`: rows are measured before anything is sent, statements are cut by bytes
//! as well as by placeholders, and a row too big for any statement is never sent at all.

use std::ops::Range;

use crate::mapping::SqlValue;

/// What one bound value costs beyond its own bytes, as an upper bound: in `COM_STMT_EXECUTE` 2
/// bytes of type, a bit of the null bitmap (counted as a byte) and up to 9 bytes of length
/// prefix; in the statement text (a packet of its own, counted here too to stay on the safe
/// side) its `?, `.
pub const VALUE_OVERHEAD: usize = 15;

/// What a statement costs beyond its rows and its SQL text: `COM_STMT_EXECUTE`'s fixed fields
/// (11 bytes) and the 4-byte header of every 16 MiB physical packet a big statement is cut into
/// (64 of them for the largest limit, 1 GiB), rounded up.
pub const STATEMENT_OVERHEAD: usize = 512;

/// Bytes of one value as sqlx encodes it in the binary protocol (text goes as UTF-8, the
/// connection's charset being utf8mb4).
pub fn value_bytes(value: &SqlValue) -> usize {
    match value {
        SqlValue::Null => 0,
        SqlValue::Int(_) => 8,
        SqlValue::Bool(_) => 1,
        // Length byte, then date and time with microseconds at most.
        SqlValue::DateTime(_) => 12,
        SqlValue::Decimal(s) | SqlValue::Text(s) => s.len(),
    }
}

/// Upper bound of what one row adds to a statement.
pub fn row_bytes(row: &[SqlValue]) -> usize {
    row.iter().map(|v| value_bytes(v) + VALUE_OVERHEAD).sum()
}

/// The bytes a statement may be planned to: the server's limit less 1/16, a margin for whatever
/// the estimate does not see. A row above this budget still goes alone in its own statement as
/// long as that statement is within the limit itself.
pub fn budget(limit: usize) -> usize {
    limit - limit / 16
}

/// How to cut a group of rows into statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    /// Bytes of a statement apart from its rows (the SQL text around them and
    /// [`STATEMENT_OVERHEAD`]).
    pub fixed: usize,
    /// Most rows one statement may carry (the placeholder limit).
    pub max_rows: usize,
    /// Most bytes one statement should carry ([`budget`]).
    pub budget: usize,
}

/// Cuts rows of the given sizes (in write order) into consecutive statements, each within
/// `max_rows` and, unless it is a single row, within `budget` bytes. Greedy: order is kept, which
/// keeps the key order that spares concurrent workers deadlocks.
pub fn chunks(sizes: impl IntoIterator<Item = usize>, limits: ChunkLimits) -> Vec<Range<usize>> {
    let max_rows = limits.max_rows.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let mut end = 0;
    let mut bytes = limits.fixed;
    for size in sizes {
        let rows = end - start;
        if rows > 0 && (rows == max_rows || bytes.saturating_add(size) > limits.budget) {
            out.push(start..end);
            start = end;
            bytes = limits.fixed;
        }
        bytes = bytes.saturating_add(size);
        end += 1;
    }
    if end > start {
        out.push(start..end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn limits(max_rows: usize, budget: usize) -> ChunkLimits {
        ChunkLimits {
            fixed: 100,
            max_rows,
            budget,
        }
    }

    #[test]
    fn a_value_counts_its_encoded_bytes() {
        assert_eq!(value_bytes(&SqlValue::Null), 0);
        assert_eq!(value_bytes(&SqlValue::Int(-1)), 8);
        assert_eq!(value_bytes(&SqlValue::Bool(true)), 1);
        let at = NaiveDate::from_ymd_opt(2024, 3, 12)
            .and_then(|d| d.and_hms_milli_opt(9, 32, 21, 125))
            .unwrap();
        assert_eq!(value_bytes(&SqlValue::DateTime(at)), 12);
        assert_eq!(value_bytes(&SqlValue::Decimal("-12.50".into())), 6);
        // UTF-8 bytes, not characters: each of these Chinese characters takes 3.
        assert_eq!(value_bytes(&SqlValue::Text("螺丝钉".into())), 9);
    }

    #[test]
    fn a_row_adds_the_overhead_of_every_value() {
        let row = vec![
            SqlValue::Int(7),
            SqlValue::Text("x".repeat(20 * 1024 * 1024)),
            SqlValue::Null,
        ];
        assert_eq!(row_bytes(&row), 8 + 20 * 1024 * 1024 + 3 * VALUE_OVERHEAD);
    }

    #[test]
    fn the_budget_keeps_a_sixteenth_of_the_limit_free() {
        assert_eq!(budget(16 * 1024 * 1024), 15 * 1024 * 1024);
        assert_eq!(budget(0), 0);
    }

    #[test]
    fn small_rows_are_cut_by_the_placeholder_limit() {
        assert_eq!(
            chunks([10; 7], limits(3, 1_000_000)),
            vec![0..3, 3..6, 6..7]
        );
    }

    #[test]
    fn wide_rows_are_cut_by_bytes_with_every_statement_within_budget() {
        // A wide form: 1,000 rows of about 50 KB against a 16 MiB server.
        let sizes = vec![50_000; 1_000];
        let limits = ChunkLimits {
            fixed: 2_000,
            max_rows: 5_041,
            budget: budget(16 * 1024 * 1024),
        };
        let cut = chunks(sizes.iter().copied(), limits);
        assert_eq!(cut.len(), 4);
        assert_eq!(cut.iter().map(|c| c.len()).sum::<usize>(), 1_000);
        for c in &cut {
            assert!(limits.fixed + c.len() * 50_000 <= limits.budget, "{c:?}");
        }
        // Consecutive and in order.
        assert!(cut.windows(2).all(|w| w[0].end == w[1].start));
    }

    #[test]
    fn a_row_above_the_budget_goes_alone() {
        assert_eq!(
            chunks([10, 950, 10, 10], limits(100, 1_000)),
            vec![0..1, 1..2, 2..4]
        );
        assert_eq!(chunks([2_000], limits(100, 1_000)), vec![0..1]);
    }

    #[test]
    fn no_rows_make_no_statement() {
        assert!(chunks([], limits(10, 1_000)).is_empty());
    }
}

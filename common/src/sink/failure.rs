//! What the sink says about a row it could not write: the database refused it, or it is bigger
//! than the server takes in one statement (then it was never sent). Either way the row is
//! dead-lettered and the rest of its batch commits.

use super::classify::{WriteErrorClass, classify};

/// A row that will not be written as it is.
#[derive(Debug)]
pub struct RowFailure {
    /// Position of the row in the slice given to [`super::MySqlSink::write_isolating`].
    pub index: usize,
    pub kind: RowFailureKind,
}

/// Why a row was not written.
#[derive(Debug)]
pub enum RowFailureKind {
    /// The server refused the row alone (a value too long for its column, a bad date, a
    /// constraint, or a statement the server found too big for its `max_allowed_packet`).
    Refused(sqlx::Error),
    /// The row alone would make a statement of `bytes` bytes, more than the server's
    /// `max_allowed_packet` of `limit` bytes; it was not sent.
    TooLarge { bytes: usize, limit: usize },
}

impl RowFailure {
    /// One line for the dead letter and `error_log`: the server's own words after the SQLSTATE
    /// (`22001: Data too long for column 'code' at row 1`, the text the worker always wrote) or
    /// the size sentence.
    pub fn reason(&self) -> String {
        match &self.kind {
            RowFailureKind::Refused(sqlx::Error::Database(db)) => match db.code() {
                Some(code) => format!("{code}: {}", db.message()),
                None => db.message().to_owned(),
            },
            RowFailureKind::Refused(other) => other.to_string(),
            RowFailureKind::TooLarge { bytes, limit } => format!(
                "row of {bytes} bytes exceeds the server's max_allowed_packet of {limit} bytes"
            ),
        }
    }

    /// The row is bigger than the server takes in one statement, by our measure or by the
    /// server's refusal: no retry and no fix of a value will get it in.
    pub fn is_too_large(&self) -> bool {
        match &self.kind {
            RowFailureKind::TooLarge { .. } => true,
            RowFailureKind::Refused(error) => classify(error) == WriteErrorClass::TooLarge,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_too_large_names_its_size_and_the_limit() {
        let failure = RowFailure {
            index: 3,
            kind: RowFailureKind::TooLarge {
                bytes: 20_971_620,
                limit: 16_777_216,
            },
        };
        assert_eq!(
            failure.reason(),
            "row of 20971620 bytes exceeds the server's max_allowed_packet of 16777216 bytes"
        );
        assert!(failure.is_too_large());
    }

    #[test]
    fn a_refusal_that_is_not_a_database_error_keeps_its_own_text() {
        let failure = RowFailure {
            index: 0,
            kind: RowFailureKind::Refused(sqlx::Error::InvalidArgument("bad value".into())),
        };
        assert_eq!(
            failure.reason(),
            sqlx::Error::InvalidArgument("bad value".into()).to_string()
        );
        assert!(!failure.is_too_large());
    }
}
